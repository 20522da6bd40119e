//! Builds the application: settings → database, store, clock, gateways → an HTTP server bound to
//! its own listener (port 0 in tests).
use crate::clock::{ManualClock, SharedClock, SystemClock};
use crate::config::Settings;
use crate::crypto::DataCipher;
use crate::gateways::{http_client, wechat::WechatClient};
use crate::routes;
use crate::services::access::staff;
use crate::services::demo;
use crate::state::AppState;
use crate::store::{MemoryStore, RedisStore, Store};
use crate::telemetry::{self, Metrics};
use actix_web::middleware::from_fn;
use actix_web::{dev::Server, web, App, HttpServer};
use anyhow::Context;
use secrecy::ExposeSecret;
use std::net::TcpListener;
use std::sync::Arc;
use tracing_actix_web::TracingLogger;
use utoipa::OpenApi;
use utoipa_swagger_ui::SwaggerUi;

/// What tests (or embedders) may inject instead of building from settings.
#[derive(Default)]
pub struct Overrides {
    pub clock: Option<SharedClock>,
    /// Share one in-process store between two instances (embedded-default tests).
    pub store: Option<Store>,
    /// Run as `serve --demo`.
    pub demo: bool,
}

/// A built, bound, not yet awaited server (and its metrics listener, if any).
pub struct Application {
    port: u16,
    server: Server,
    metrics: Option<(u16, Server)>,
    pub state: AppState,
}

/// Where the demo data key lives.
const DEMO_KEY_PATH: &str = "data/demo.key";

fn demo_key() -> anyhow::Result<String> {
    if let Ok(k) = std::fs::read_to_string(DEMO_KEY_PATH) {
        return Ok(k.trim().to_string());
    }
    std::fs::create_dir_all("data").context("creating ./data")?;
    let k = DataCipher::generate_key_b64()?;
    std::fs::write(DEMO_KEY_PATH, &k).context("writing data/demo.key")?;
    tracing::info!(path = DEMO_KEY_PATH, "generated demo data key");
    Ok(k)
}

/// Builds the shared state: connects, migrates, bootstraps, seeds the demo.
pub async fn build_state(mut settings: Settings, overrides: Overrides) -> anyhow::Result<AppState> {
    settings.demo |= overrides.demo;
    if !settings.demo {
        let missing = settings.missing_required_keys();
        if !missing.is_empty() {
            anyhow::bail!(
                "missing required configuration keys: {} (set them in config/ or as WUYE__SECTION__KEY)",
                missing.join(", ")
            );
        }
    }
    let data_key = match settings
        .security
        .data_key
        .as_ref()
        .map(|k| k.expose_secret().to_string())
    {
        Some(k) if !k.is_empty() => k,
        _ => demo_key()?,
    };
    let cipher = Arc::new(DataCipher::from_base64_key(&data_key)?);
    let clock: SharedClock = match (overrides.clock, &settings.testing.now) {
        (Some(c), _) => c,
        (None, Some(now)) => Arc::new(ManualClock::new(
            chrono::DateTime::parse_from_rfc3339(now)
                .context("testing.now must be RFC 3339")?
                .with_timezone(&chrono::Utc),
        )),
        (None, None) => Arc::new(SystemClock),
    };
    let store: Store = match (overrides.store, &settings.redis.url) {
        (Some(s), _) => s,
        (None, Some(url)) if !url.is_empty() => Arc::new(RedisStore::new(url, &settings.redis.key_prefix)?),
        _ => Arc::new(MemoryStore::new()),
    };
    let acquire = std::time::Duration::from_millis(settings.database.acquire_timeout_ms);
    let db = crate::db::connect(&settings.database.url, settings.database.max_connections, acquire)
        .await
        .with_context(|| "connecting to database.url")?;
    crate::db::migrate(&db).await.context("running migrations")?;
    let tz: chrono_tz::Tz = settings
        .app
        .timezone
        .parse()
        .map_err(|_| anyhow::anyhow!("app.timezone"))?;
    let wechat = WechatClient::new(
        http_client()?,
        &settings.wechat.api_base,
        settings.wechat.appid.clone(),
        settings.wechat.secret.clone(),
        store.clone(),
        clock.clone(),
    );
    let wechatpay = crate::gateways::wechatpay_from(&settings, http_client()?, clock.clone())?.map(Arc::new);
    let alipay = crate::gateways::alipay_from(&settings, http_client()?, clock.clone())?.map(Arc::new);
    let sms = crate::gateways::sms::SmsClient::from_settings(http_client()?, &settings.sms).map(Arc::new);
    let base_url = settings
        .server
        .public_url
        .clone()
        .filter(|u| !u.is_empty())
        .unwrap_or_else(|| local_url(&settings.server.host, settings.server.port));
    // The sandbox gateway exists only in the demo; its key is accepted nowhere else.
    let sandbox = if settings.demo {
        Some(Arc::new(crate::gateways::sandbox::Sandbox::new(
            http_client()?,
            &base_url,
        )?))
    } else {
        None
    };
    if settings.demo && settings.reminders.pay_url.as_deref().is_none_or(str::is_empty) {
        // In the demo a paper notice's code leads to the sandbox's notice page.
        settings.reminders.pay_url = Some(format!("{base_url}/sandbox/notices/{{notice}}"));
    }
    let state = AppState {
        db,
        store,
        clock,
        cipher,
        wechat,
        wechatpay,
        alipay,
        sms,
        sandbox,
        base_url,
        settings: Arc::new(settings),
        tz,
        zones: Default::default(),
        dep_hints: Default::default(),
        cache_stats: Default::default(),
        dated_terms: Default::default(),
    };

    let boot = &state.settings.bootstrap;
    let demo_admin = state
        .settings
        .demo
        .then(|| ("admin".to_string(), "wuye-demo-2026".to_string()));
    let admin = match (&boot.admin_username, &boot.admin_password) {
        (Some(u), Some(p)) => Some((u.clone(), p.expose_secret().to_string())),
        _ => demo_admin,
    };
    if let Some((u, p)) = admin {
        staff::ensure_bootstrap_admin(&state, &u, &p)
            .await
            .map_err(|e| anyhow::anyhow!("bootstrap admin: {e}"))?;
    }
    if !state.wechat.configured() && state.settings.reminders.pay_url.as_deref().is_none_or(str::is_empty) {
        tracing::warn!(
            "no mini-program codes (wechat.appid/secret unset) and no reminders.pay_url: printed notices will carry no code, only how to pay"
        );
    }
    if state.settings.demo
        && demo::seed_if_empty(&state)
            .await
            .map_err(|e| anyhow::anyhow!("demo seed: {e}"))?
    {
        tracing::info!("demo company seeded");
    }
    Ok(state)
}

impl Application {
    /// Builds from settings alone.
    pub async fn build(settings: Settings) -> anyhow::Result<Self> {
        Self::build_with(settings, Overrides::default()).await
    }

    /// Builds with injected parts, binding `server.host:server.port` (0 = any free port).
    pub async fn build_with(settings: Settings, overrides: Overrides) -> anyhow::Result<Self> {
        let addr = format!("{}:{}", settings.server.host, settings.server.port);
        let listener = TcpListener::bind(&addr).with_context(|| format!("binding {addr}"))?;
        let port = listener.local_addr()?.port();
        // The bound port (port 0 picks one), so links the app makes point at itself.
        let mut settings = settings;
        settings.server.port = port;
        let metrics_listener = match settings.server.metrics_bind.as_str() {
            "" => None,
            bind => Some(TcpListener::bind(bind).with_context(|| format!("binding server.metrics_bind {bind}"))?),
        };
        let state = build_state(settings, overrides).await?;
        // Built once, outside the worker factories, so every worker and both listeners share them.
        let metrics = web::Data::new(Metrics::new()?);
        let server = run(listener, state.clone(), metrics.clone())?;
        let metrics = match metrics_listener {
            Some(l) => Some((l.local_addr()?.port(), run_metrics(l, metrics)?)),
            None => None,
        };
        crate::scheduler::spawn(state.clone());
        Ok(Self {
            port,
            server,
            metrics,
            state,
        })
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    /// The port of the separate `/metrics` listener (`server.metrics_bind`), if there is one.
    pub fn metrics_port(&self) -> Option<u16> {
        self.metrics.as_ref().map(|(p, _)| *p)
    }

    /// Serves until stopped; SIGTERM/SIGINT drain in-flight requests (actix's graceful shutdown).
    pub async fn run_until_stopped(self) -> std::io::Result<()> {
        match self.metrics {
            Some((_, m)) => tokio::try_join!(self.server, m).map(|_| ()),
            None => self.server.await,
        }
    }
}

/// This process's own address, for links and the banner: a wildcard bind is reached on loopback.
fn local_url(host: &str, port: u16) -> String {
    let host = match host {
        "0.0.0.0" | "::" => "127.0.0.1",
        h => h,
    };
    format!("http://{host}:{port}")
}

/// The start-up banner: API, docs and metrics addresses, demo logins, and each gateway and channel
/// with what happens without it — for a person reading the terminal (logs are JSON).
pub fn banner(state: &AppState, port: u16, metrics_port: Option<u16>) -> String {
    let s = &state.settings;
    let base = local_url(&s.server.host, port);
    let on = |yes: bool, what: &str, without: &str| {
        if yes {
            format!("  ✓ {what}")
        } else {
            format!("  – {what}: 未配置，{without}")
        }
    };
    let mut lines = vec![
        format!("wuye 物业缴费 {}", if s.demo { "（演示模式 --demo）" } else { "" }),
        format!("  API      {base}/api/v1"),
        format!("  文档     {base}/docs/"),
        format!("  控制台   {base}/console/（员工用浏览器登录）"),
        match metrics_port {
            Some(p) => format!(
                "  指标     http://{}:{p}/metrics（仅本机）",
                s.server.metrics_bind.split(':').next().unwrap_or("127.0.0.1")
            ),
            None if s.server.metrics_token.is_some() => format!("  指标     {base}/metrics（需 Bearer 令牌）"),
            None => "  指标     关闭".into(),
        },
        format!(
            "  数据库   {}，会话{}",
            if s.is_sqlite() { "SQLite" } else { "PostgreSQL" },
            if state.store.kind() == "redis" {
                "在 Redis"
            } else {
                "在数据库（缓存与限流在进程内，仅单实例）"
            }
        ),
        "渠道：".into(),
        on(
            state.wechat.configured(),
            "微信登录与订阅消息",
            "业主无法用微信登录，提醒不走微信",
        ),
        on(state.wechatpay.is_some(), "微信支付", "业主下单选微信支付会得到 503"),
        on(state.alipay.is_some(), "支付宝当面付", "下单选支付宝会得到 503"),
        on(
            state.sms.is_some(),
            "腾讯云短信",
            "提醒无其他渠道时：书面催告转工作人员，友情提醒跳过",
        ),
        on(
            s.reminders.pay_url.as_deref().is_some_and(|u| !u.is_empty()) || state.wechat.configured(),
            "书面通知书上的缴费码",
            "通知书只印缴费方式，不印码",
        ),
    ];
    if s.demo {
        lines.push("演示登录：".into());
        lines.push(format!(
            "  业主  POST {base}/api/v1/auth/demo/login {{\"phone\":\"{}\"}}",
            crate::services::demo::DEMO_OWNER_PHONE
        ));
        lines.push(format!(
            "  员工  POST {base}/api/v1/auth/staff/login {{\"username\":\"admin\",\"password\":\"wuye-demo-2026\"}}"
        ));
    }
    lines.join("\n")
}

/// The metrics listener: `/metrics` only, for Prometheus on a private address.
fn run_metrics(listener: TcpListener, metrics: web::Data<Metrics>) -> anyhow::Result<Server> {
    let server = HttpServer::new(move || {
        App::new().app_data(metrics.clone()).route(
            "/metrics",
            web::get().to(|m: web::Data<Metrics>| async move { routes::health::render(&m) }),
        )
    })
    .workers(1)
    .listen(listener)?
    .shutdown_timeout(5)
    .run();
    Ok(server)
}

fn run(listener: TcpListener, state: AppState, metrics: web::Data<Metrics>) -> anyhow::Result<Server> {
    let demo = state.settings.demo;
    let data = web::Data::new(state);
    let openapi = routes::ApiDoc::openapi();
    let server = HttpServer::new(move || {
        App::new()
            .wrap(from_fn(telemetry::track_metrics))
            .wrap(from_fn(telemetry::echo_request_id))
            .wrap(TracingLogger::<telemetry::MaskedRootSpan>::new())
            .app_data(data.clone())
            .app_data(metrics.clone())
            // `/docs` (no slash) is what people type: send them to the UI.
            .route(
                "/docs",
                web::get().to(|| async {
                    actix_web::HttpResponse::PermanentRedirect()
                        .insert_header((actix_web::http::header::LOCATION, "/docs/"))
                        .finish()
                }),
            )
            .service(SwaggerUi::new("/docs/{_:.*}").url("/api-docs/openapi.json", openapi.clone()))
            .configure(|cfg| routes::configure(cfg, demo))
    })
    .listen(listener)?
    .shutdown_timeout(20)
    .run();
    Ok(server)
}
