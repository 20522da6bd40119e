//! `spawn_app()`: the real app on port 0 with its own database (SQLite temp file, or a fresh
//! PostgreSQL database cloned from a migrated template when `TEST_DATABASE_URL` is set), its own
//! Redis key prefix when `TEST_REDIS_URL` is set, a steppable clock and a fake WeChat server.
use chrono::{DateTime, TimeZone, Utc};
use reqwest::Response;
use sea_orm::{ConnectionTrait, Database, DatabaseConnection};
use serde_json::{json, Value};
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::Arc;
use tokio::sync::{Mutex, OnceCell};
use wiremock::matchers::{body_partial_json, method, path, query_param};
use wiremock::{Mock, MockServer, ResponseTemplate};
use wuye::clock::ManualClock;
use wuye::config::Settings;
use wuye::startup::{Application, Overrides};
use wuye::store::Store;

pub const ADMIN_USER: &str = "admin";
pub const ADMIN_PASSWORD: &str = "correct-horse-battery";
pub const APPID: &str = "wxtestappid";

static COUNTER: AtomicU32 = AtomicU32::new(0);
static PG_TEMPLATE: OnceCell<String> = OnceCell::const_new();
static PG_CREATE: Mutex<()> = Mutex::const_new(());

fn unique() -> u32 {
    COUNTER.fetch_add(1, Ordering::SeqCst)
}

fn require_external() -> bool {
    std::env::var("WUYE_REQUIRE_EXTERNAL").is_ok_and(|v| v == "1")
}

/// `TEST_DATABASE_URL`, if set (required under `WUYE_REQUIRE_EXTERNAL=1`).
pub fn test_database_url() -> Option<String> {
    let url = std::env::var("TEST_DATABASE_URL").ok().filter(|s| !s.is_empty());
    if url.is_none() && require_external() {
        panic!("WUYE_REQUIRE_EXTERNAL=1 but TEST_DATABASE_URL is not set");
    }
    url
}

/// `TEST_REDIS_URL`, if set (required under `WUYE_REQUIRE_EXTERNAL=1`).
pub fn test_redis_url() -> Option<String> {
    let url = std::env::var("TEST_REDIS_URL").ok().filter(|s| !s.is_empty());
    if url.is_none() && require_external() {
        panic!("WUYE_REQUIRE_EXTERNAL=1 but TEST_REDIS_URL is not set");
    }
    url
}

fn with_db(base: &str, db: &str) -> String {
    let (head, _) = base
        .rsplit_once('/')
        .expect("TEST_DATABASE_URL must end with /<database>");
    format!("{head}/{db}")
}

/// Makes (once per test process) a migrated template database, then clones it for this test.
async fn fresh_pg_database(base: &str) -> String {
    let pid = std::process::id();
    let template = PG_TEMPLATE
        .get_or_init(|| async {
            let name = format!("wuye_tpl_{pid}");
            let admin = Database::connect(base).await.expect("TEST_DATABASE_URL unreachable");
            admin
                .execute_unprepared(&format!("DROP DATABASE IF EXISTS {name}"))
                .await
                .expect("drop template");
            admin
                .execute_unprepared(&format!("CREATE DATABASE {name}"))
                .await
                .expect("create template");
            admin.close().await.ok();
            let tpl = Database::connect(with_db(base, &name)).await.expect("connect template");
            wuye::db::migrate(&tpl).await.expect("migrate template");
            tpl.close().await.ok();
            name
        })
        .await;
    let name = format!("wuye_t_{pid}_{}", unique());
    let _guard = PG_CREATE.lock().await;
    let admin = Database::connect(base).await.expect("TEST_DATABASE_URL unreachable");
    admin
        .execute_unprepared(&format!("CREATE DATABASE {name} TEMPLATE {template}"))
        .await
        .expect("clone template");
    admin.close().await.ok();
    with_db(base, &name)
}

/// A fixed start instant for the injected clock: a Tuesday morning in Shanghai.
pub fn t0() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 10, 20, 2, 0, 0)
        .single()
        .expect("valid instant")
}

/// How to build a test app.
#[derive(Default)]
pub struct TestOptions {
    /// Share another app's database (two replicas).
    pub database_url: Option<String>,
    /// Share another app's fake WeChat.
    pub wechat: Option<Arc<MockServer>>,
    /// Share an in-process store (replicas on the embedded default).
    pub store: Option<Store>,
    /// Share a Redis key prefix (replicas on Redis).
    pub redis_prefix: Option<String>,
    /// Point Redis somewhere else (outage tests).
    pub redis_url: Option<String>,
    pub overrides: Vec<(&'static str, String)>,
    /// Run as `serve --demo`.
    pub demo: bool,
}

pub struct TestApp {
    pub address: String,
    pub db: DatabaseConnection,
    pub database_url: String,
    pub redis_prefix: String,
    pub clock: ManualClock,
    pub wechat: Arc<MockServer>,
    pub state: wuye::state::AppState,
    pub http: reqwest::Client,
    /// The separate `/metrics` listener (`server.metrics_bind`), if any.
    pub metrics_port: Option<u16>,
    _dir: Option<Arc<tempfile::TempDir>>,
}

pub async fn spawn_app() -> TestApp {
    spawn_app_with(TestOptions::default()).await
}

pub async fn spawn_app_with(opts: TestOptions) -> TestApp {
    // `TEST_LOG=1` shows the app's logs (errors with their causes) while debugging a test.
    if std::env::var_os("TEST_LOG").is_some() {
        wuye::telemetry::init_tracing();
    }
    let wechat = match opts.wechat {
        Some(w) => w,
        None => Arc::new(MockServer::start().await),
    };
    let mut dir = None;
    let database_url = match opts.database_url {
        Some(u) => u,
        None => match test_database_url() {
            Some(base) => fresh_pg_database(&base).await,
            None => {
                let d = tempfile::tempdir().expect("tempdir");
                let url = format!("sqlite://{}?mode=rwc", d.path().join("wuye.db").display());
                dir = Some(Arc::new(d));
                url
            }
        },
    };
    let redis_prefix = opts
        .redis_prefix
        .unwrap_or_else(|| format!("wuye-test:{}:{}:", std::process::id(), unique()));
    let redis_url = opts
        .redis_url
        .or_else(|| if opts.store.is_some() { None } else { test_redis_url() });
    let mut overrides: Vec<(&str, String)> = vec![
        ("app.environment", "test".into()),
        ("server.host", "127.0.0.1".into()),
        ("server.port", "0".into()),
        ("database.url", database_url.clone()),
        ("database.max_connections", "5".into()),
        ("redis.key_prefix", redis_prefix.clone()),
        (
            "security.data_key",
            "dGVzdC1vbmx5LWRhdGEta2V5LTMyLWJ5dGVzLWxvbmc=".into(),
        ),
        ("bootstrap.admin_username", ADMIN_USER.into()),
        ("bootstrap.admin_password", ADMIN_PASSWORD.into()),
        ("wechat.api_base", wechat.uri()),
        ("wechat.appid", APPID.into()),
        ("wechat.secret", "test-secret".into()),
        // Tests call scheduler ticks themselves, on the injected clock.
        ("scheduler.enabled", "false".into()),
        // Printed notices' fallback code leads to the company's page.
        ("reminders.pay_url", "https://pay.example.test/notice/{notice}".into()),
        // The private metrics listener on a free port.
        ("server.metrics_bind", "127.0.0.1:0".into()),
    ];
    if let Some(url) = &redis_url {
        overrides.push(("redis.url", url.clone()));
    }
    // WeChat Pay and Alipay point at fakes on the same local server as WeChat.
    overrides.extend(crate::fake_pay::settings(&wechat));
    overrides.extend(opts.overrides);
    let settings = Settings::load(&overrides).expect("settings");
    let clock = ManualClock::new(t0());
    let app = Application::build_with(
        settings,
        Overrides {
            clock: Some(Arc::new(clock.clone())),
            store: opts.store,
            demo: opts.demo,
        },
    )
    .await
    .expect("app builds");
    let address = format!("http://127.0.0.1:{}", app.port());
    let metrics_port = app.metrics_port();
    let state = app.state.clone();
    let db = state.db.clone();
    tokio::spawn(app.run_until_stopped());
    TestApp {
        address,
        db,
        database_url,
        redis_prefix,
        clock,
        wechat,
        state,
        http: reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .expect("client"),
        metrics_port,
        _dir: dir,
    }
}

impl TestApp {
    /// A second replica sharing this app's database, store (Redis prefix or in-process store) and WeChat.
    pub async fn replica(&self) -> TestApp {
        self.replica_with(Vec::new()).await
    }

    /// A replica with extra settings (those this app was built with, e.g. its gateways).
    pub async fn replica_with(&self, overrides: Vec<(&'static str, String)>) -> TestApp {
        let shared_store = if self.state.store.kind() == "memory" {
            Some(self.state.store.clone())
        } else {
            None
        };
        let mut r = spawn_app_with(TestOptions {
            database_url: Some(self.database_url.clone()),
            wechat: Some(self.wechat.clone()),
            store: shared_store,
            redis_prefix: Some(self.redis_prefix.clone()),
            overrides,
            ..Default::default()
        })
        .await;
        r._dir = self._dir.clone();
        r
    }

    /// The metrics page from the separate listener.
    pub async fn metrics(&self) -> String {
        let port = self.metrics_port.expect("metrics listener");
        let r = self
            .http
            .get(format!("http://127.0.0.1:{port}/metrics"))
            .send()
            .await
            .expect("metrics");
        assert_eq!(r.status(), 200);
        r.text().await.expect("text")
    }

    pub fn url(&self, p: &str) -> String {
        format!("{}{}", self.address, p)
    }

    fn auth(rb: reqwest::RequestBuilder, token: Option<&str>) -> reqwest::RequestBuilder {
        match token {
            Some(t) => rb.bearer_auth(t),
            None => rb,
        }
    }

    pub async fn get(&self, p: &str, token: Option<&str>) -> Response {
        Self::auth(self.http.get(self.url(p)), token)
            .send()
            .await
            .expect("request")
    }

    /// GET and decode the JSON answer (whatever its status; error answers are JSON too).
    pub async fn get_json<T: serde::de::DeserializeOwned>(&self, p: &str, token: Option<&str>) -> T {
        self.get(p, token).await.json().await.expect("JSON answer")
    }

    pub async fn post(&self, p: &str, token: Option<&str>, body: &Value) -> Response {
        Self::auth(self.http.post(self.url(p)), token)
            .json(body)
            .send()
            .await
            .expect("request")
    }

    pub async fn post_raw(
        &self,
        p: &str,
        token: Option<&str>,
        content_type: &str,
        body: impl Into<reqwest::Body>,
    ) -> Response {
        Self::auth(self.http.post(self.url(p)), token)
            .header("content-type", content_type)
            .body(body)
            .send()
            .await
            .expect("request")
    }

    pub async fn patch(&self, p: &str, token: Option<&str>, body: &Value) -> Response {
        Self::auth(self.http.patch(self.url(p)), token)
            .json(body)
            .send()
            .await
            .expect("request")
    }

    pub async fn put(&self, p: &str, token: Option<&str>, body: &Value) -> Response {
        Self::auth(self.http.put(self.url(p)), token)
            .json(body)
            .send()
            .await
            .expect("request")
    }

    pub async fn delete(&self, p: &str, token: Option<&str>, body: &Value) -> Response {
        Self::auth(self.http.delete(self.url(p)), token)
            .json(body)
            .send()
            .await
            .expect("request")
    }

    /// A billing run that must succeed (201): the bills of `period` as if issued on `issued_on`.
    pub async fn billing_run(&self, admin: &str, community: i64, period: &str, issued_on: &str) -> Value {
        let r = self
            .post(
                "/api/v1/staff/billing-runs",
                Some(admin),
                &json!({"community_id": community, "period": period, "issued_on": issued_on}),
            )
            .await;
        assert_eq!(r.status(), 201, "{}", r.text().await.unwrap_or_default());
        r.json().await.unwrap()
    }

    pub async fn staff_login(&self, username: &str, password: &str) -> Response {
        self.post(
            "/api/v1/auth/staff/login",
            None,
            &json!({"username": username, "password": password}),
        )
        .await
    }

    pub async fn admin_token(&self) -> String {
        let r = self.staff_login(ADMIN_USER, ADMIN_PASSWORD).await;
        assert_eq!(r.status(), 200);
        r.json::<Value>().await.expect("json")["token"]
            .as_str()
            .expect("token")
            .to_string()
    }

    /// The id of a unit's bill for a period (its one fee item's), found through the staff API.
    pub async fn bill_of(&self, admin: &str, community: i64, unit: i64, period: &str) -> i64 {
        let url = format!("/api/v1/staff/bills?community_id={community}&unit_id={unit}&period={period}");
        let v: Value = self.get_json(&url, Some(admin)).await;
        let items = v["items"].as_array().expect("a page of bills");
        assert_eq!(items.len(), 1, "one bill of unit {unit} for {period}: {v}");
        items[0]["id"].as_i64().expect("id")
    }

    /// Creates a staff member with a role and communities, returns (id, token).
    pub async fn staff_member(&self, admin: &str, username: &str, role: &str, communities: &[i64]) -> (i64, String) {
        let r = self
            .post(
                "/api/v1/staff/staff-users",
                Some(admin),
                &json!({"username": username, "password": "long-enough-pw", "role": role, "community_ids": communities}),
            )
            .await;
        assert_eq!(r.status(), 201, "{}", r.text().await.unwrap_or_default());
        let id = r.json::<Value>().await.expect("json")["id"].as_i64().expect("id");
        let r = self.staff_login(username, "long-enough-pw").await;
        assert_eq!(r.status(), 200);
        (
            id,
            r.json::<Value>().await.expect("json")["token"]
                .as_str()
                .expect("token")
                .to_string(),
        )
    }

    /// The fake WeChat accepts `code` for `openid`.
    pub async fn wechat_accepts_code(&self, code: &str, openid: &str) {
        Mock::given(method("GET"))
            .and(path("/sns/jscode2session"))
            .and(query_param("js_code", code))
            .and(query_param("appid", APPID))
            .respond_with(
                ResponseTemplate::new(200)
                    .set_body_json(json!({"openid": openid, "session_key": "SECRET-SESSION-KEY"})),
            )
            .mount(&self.wechat)
            .await;
    }

    /// The fake WeChat rejects `code` with `errcode`.
    pub async fn wechat_rejects_code(&self, code: &str, errcode: i64) {
        Mock::given(method("GET"))
            .and(path("/sns/jscode2session"))
            .and(query_param("js_code", code))
            .respond_with(ResponseTemplate::new(200).set_body_json(json!({"errcode": errcode, "errmsg": "rejected"})))
            .mount(&self.wechat)
            .await;
    }

    /// The fake WeChat hands out `token` from `/cgi-bin/token`.
    pub async fn wechat_token(&self, token: &str) {
        Mock::given(method("GET"))
            .and(path("/cgi-bin/token"))
            .respond_with(
                ResponseTemplate::new(200)
                    .set_body_json(json!({"access_token": token, "expires_in": 7200}))
                    .set_delay(std::time::Duration::from_millis(100)),
            )
            .mount(&self.wechat)
            .await;
    }

    /// The fake WeChat resolves phone `code` to `phone` (under any access token).
    pub async fn wechat_phone(&self, code: &str, phone: &str) {
        Mock::given(method("POST"))
            .and(path("/wxa/business/getuserphonenumber"))
            .and(body_partial_json(json!({"code": code})))
            .respond_with(ResponseTemplate::new(200).set_body_json(json!({
                "errcode": 0, "errmsg": "ok",
                "phone_info": {"phoneNumber": phone, "purePhoneNumber": phone, "countryCode": "86"}
            })))
            .mount(&self.wechat)
            .await;
    }

    /// Posts a WeChat Pay notification with its headers.
    pub async fn notify_wechat(&self, headers: &[(String, String)], body: &str) -> Response {
        let mut rb = self
            .http
            .post(self.url("/api/v1/notify/wechatpay"))
            .header("content-type", "application/json");
        for (k, v) in headers {
            rb = rb.header(k.as_str(), v.as_str());
        }
        rb.body(body.to_string()).send().await.expect("request")
    }

    /// Posts an Alipay notification form.
    pub async fn notify_alipay(&self, form: &str) -> Response {
        self.post_raw(
            "/api/v1/notify/alipay",
            None,
            "application/x-www-form-urlencoded",
            form.to_string(),
        )
        .await
    }

    /// Number of requests the fake WeChat got on `p`.
    pub async fn wechat_calls(&self, p: &str) -> usize {
        self.wechat
            .received_requests()
            .await
            .unwrap_or_default()
            .iter()
            .filter(|r| r.url.path() == p)
            .count()
    }

    /// Logs an owner in through the fake WeChat; returns (token, owner id).
    pub async fn owner_login(&self, openid: &str) -> (String, i64) {
        let code = format!("code-{openid}-{}", unique());
        self.wechat_accepts_code(&code, openid).await;
        let r = self
            .post("/api/v1/auth/wechat/login", None, &json!({"code": code}))
            .await;
        assert_eq!(r.status(), 200);
        let v: Value = r.json().await.expect("json");
        (
            v["token"].as_str().expect("token").to_string(),
            v["owner"]["id"].as_i64().expect("id"),
        )
    }

    /// Binds `phone` to the owner's WeChat account; returns the answer.
    pub async fn bind_phone(&self, token: &str, phone: &str) -> Value {
        let code = format!("phone-{phone}-{}", unique());
        self.wechat_phone(&code, phone).await;
        if self.wechat_calls("/cgi-bin/token").await == 0 {
            self.wechat_token("access-1").await;
        }
        let r = self.post("/api/v1/me/phone", Some(token), &json!({"code": code})).await;
        assert_eq!(r.status(), 200);
        r.json().await.expect("json")
    }

    /// Creates a community; returns its id.
    pub async fn community(&self, admin: &str, code: &str) -> i64 {
        let r = self
            .post(
                "/api/v1/staff/communities",
                Some(admin),
                &json!({"name": format!("小区{code}"), "code": code,
                        "late_fee": {"daily_rate": "0.0005", "grace_days": 15, "cap_ratio": "1.00"}}),
            )
            .await;
        assert_eq!(r.status(), 201, "{}", r.text().await.unwrap_or_default());
        r.json::<Value>().await.expect("json")["id"].as_i64().expect("id")
    }

    /// Creates a unit; returns its id.
    pub async fn unit(&self, admin: &str, community: i64, code: &str) -> i64 {
        let r = self
            .post(
                "/api/v1/staff/units",
                Some(admin),
                &json!({"community_id": community, "building": "A", "code": code, "area_m2": "89.50"}),
            )
            .await;
        assert_eq!(r.status(), 201, "{}", r.text().await.unwrap_or_default());
        r.json::<Value>().await.expect("json")["id"].as_i64().expect("id")
    }

    /// Creates an owner record for units; returns its id.
    pub async fn owner(&self, admin: &str, name: &str, phone: &str, units: &[i64]) -> i64 {
        let r = self
            .post(
                "/api/v1/staff/owners",
                Some(admin),
                &json!({"name": name, "phone": phone, "unit_ids": units}),
            )
            .await;
        assert_eq!(r.status(), 201, "{}", r.text().await.unwrap_or_default());
        r.json::<Value>().await.expect("json")["id"].as_i64().expect("id")
    }

    /// Creates an owner record with no unit yet (e.g. the buyer of a transfer); returns its id.
    pub async fn owner_in(&self, admin: &str, community: i64, name: &str, phone: &str) -> i64 {
        let body = json!({"name": name, "phone": phone, "unit_ids": [], "community_id": community});
        let r = self.post("/api/v1/staff/owners", Some(admin), &body).await;
        assert_eq!(r.status(), 201, "{}", r.text().await.unwrap_or_default());
        r.json::<Value>().await.expect("json")["id"].as_i64().expect("id")
    }

    /// A monthly property fee of 2.50/m² due on the 10th; returns its id.
    pub async fn property_fee(&self, admin: &str, community: i64) -> i64 {
        let r = self
            .post(
                "/api/v1/staff/fee-items",
                Some(admin),
                &json!({"community_id": community, "name": "物业服务费",
                        "kind": "per_area", "unit_price": "2.50", "cycle": "monthly", "due_day": 10}),
            )
            .await;
        assert_eq!(r.status(), 201, "{}", r.text().await.unwrap_or_default());
        r.json::<Value>().await.expect("json")["id"].as_i64().expect("id")
    }

    /// Counts rows of a table (or of `table WHERE …`).
    pub async fn count(&self, table: &str) -> i64 {
        let row = self
            .db
            .query_one_raw(sea_orm::Statement::from_string(
                self.db.get_database_backend(),
                format!("SELECT COUNT(*) AS n FROM {table}"),
            ))
            .await
            .expect("query")
            .expect("row");
        row.try_get::<i64>("", "n").expect("count")
    }
}

/// Asserts an error answer: status, code, and a Chinese message.
pub async fn assert_error(r: Response, status: u16, code: &str) -> Value {
    assert_eq!(r.status().as_u16(), status);
    let v: Value = r.json().await.expect("error body is JSON");
    assert_eq!(v["code"], code, "{v}");
    let msg = v["message"].as_str().expect("message");
    assert!(
        msg.chars().any(|c| ('\u{4e00}'..='\u{9fff}').contains(&c)),
        "message should be Chinese: {msg}"
    );
    v
}
