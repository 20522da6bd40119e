//! Typed settings: `config/default.toml` → `config/{app.environment}.toml` → `WUYE__SECTION__KEY`.
//!
//! Every key has a default or a start-up error naming it; secrets are `SecretString` so they never
//! reach `Debug` output or logs.
use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;
use std::path::PathBuf;

/// All settings of one process.
#[derive(Debug, Clone, Deserialize)]
pub struct Settings {
    pub app: AppSettings,
    pub server: ServerSettings,
    pub database: DatabaseSettings,
    pub redis: RedisSettings,
    pub security: SecuritySettings,
    pub sessions: SessionSettings,
    pub rate_limits: RateLimitSettings,
    #[serde(default)]
    pub bootstrap: BootstrapSettings,
    pub wechat: WechatSettings,
    pub wechatpay: WechatpaySettings,
    pub alipay: AlipaySettings,
    pub payments: PaymentSettings,
    #[serde(default)]
    pub testing: TestingSettings,
    pub billing: BillingSettings,
    pub scheduler: SchedulerSettings,
    pub cache: CacheSettings,
    pub sms: SmsSettings,
    pub reminders: ReminderSettings,
    #[serde(default)]
    pub autodebit: AutodebitSettings,
    #[serde(default)]
    pub installments: InstallmentSettings,
    #[serde(default)]
    pub arrears_notice: ArrearsNoticeSettings,
    /// Set by `serve --demo`, never from files.
    #[serde(skip)]
    pub demo: bool,
}

#[derive(Debug, Clone, Deserialize)]
pub struct AppSettings {
    pub environment: String,
    pub timezone: String,
}

#[derive(Debug, Clone, Deserialize)]
pub struct ServerSettings {
    pub host: String,
    pub port: u16,
    pub json_limit_bytes: usize,
    pub import_limit_bytes: usize,
    /// Peers (addresses or CIDR blocks) whose `X-Forwarded-For` is believed for the client address.
    #[serde(default, deserialize_with = "list_or_commas")]
    pub trusted_proxies: Vec<String>,
    /// `trusted_proxies`, parsed at load.
    #[serde(skip)]
    pub trusted: Vec<ipnet::IpNet>,
    /// The address owners and staff reach (links, QR fallbacks); unset = `http://host:port`.
    #[serde(default)]
    pub public_url: Option<String>,
    /// Where the separate `/metrics` listener binds (empty: no listener).
    pub metrics_bind: String,
    /// When set, `/metrics` is served on the API port to `Authorization: Bearer <token>` only.
    #[serde(default)]
    pub metrics_token: Option<SecretString>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct DatabaseSettings {
    pub url: String,
    pub max_connections: u32,
    /// Longest a request waits for a pooled connection before answering 503.
    pub acquire_timeout_ms: u64,
}

#[derive(Debug, Clone, Deserialize)]
pub struct RedisSettings {
    pub url: Option<String>,
    pub key_prefix: String,
}

#[derive(Debug, Clone, Deserialize)]
pub struct SecuritySettings {
    pub data_key: Option<SecretString>,
    /// Days the bounded record of rejected notifications is kept.
    pub rejected_retention_days: u32,
}

#[derive(Debug, Clone, Deserialize)]
pub struct SessionSettings {
    pub owner_ttl_days: i64,
    pub staff_ttl_hours: i64,
}

#[derive(Debug, Clone, Deserialize)]
pub struct RateLimitSettings {
    pub login_per_ip_per_minute: i64,
    /// Failed logins one client may make for one username in 15 minutes before it gets 429.
    pub login_failures_per_client_per_15_minutes: i64,
    /// Failed logins for one username (from anywhere) in 15 minutes after which every attempt
    /// for it is slowed down (never locked: a client that has not failed still gets in).
    pub login_failures_before_slowdown: i64,
    /// The slow-down, in milliseconds.
    pub login_slowdown_ms: u64,
    /// Notifications one source address may post per minute per provider.
    pub notify_per_source_per_minute: i64,
}

#[derive(Debug, Clone, Default, Deserialize)]
pub struct BootstrapSettings {
    pub admin_username: Option<String>,
    pub admin_password: Option<SecretString>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct WechatSettings {
    pub api_base: String,
    pub appid: Option<String>,
    pub secret: Option<SecretString>,
    /// Subscribe-message template id per reminder stage; a stage without one skips WeChat.
    #[serde(default)]
    pub templates: std::collections::HashMap<String, String>,
    /// The wording registered with WeChat for each stage's template (what evidence records as sent).
    #[serde(default)]
    pub template_texts: std::collections::HashMap<String, String>,
}

/// `reminders.*`: company-wide defaults that community policies may override.
#[derive(Debug, Clone, Deserialize)]
pub struct ReminderSettings {
    pub quiet_hours: String,
    #[serde(default)]
    pub no_send_dates: Vec<chrono::NaiveDate>,
    /// How long a claimed reminder is held before another sender may take it over.
    pub lease_seconds: i64,
    /// Reminders claimed per batch.
    pub batch_size: u64,
    /// Messages of a batch sent at once.
    pub send_concurrency: usize,
    /// The company named in notices and receipts, with its address and phone when set.
    pub company_name: String,
    #[serde(default)]
    pub company_address: Option<String>,
    #[serde(default)]
    pub company_phone: Option<String>,
    /// Where a printed notice's QR code leads; `{unit}` is replaced by the unit id.
    #[serde(default)]
    pub pay_url: Option<String>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct BillingSettings {
    /// Day of the month by which each community's next-period bills are created by the scheduler
    /// (earlier when a fee item's due day needs `min_notice_days` of notice).
    pub auto_run_day: u32,
    /// A bill is never due sooner than this many days after it was issued.
    pub min_notice_days: u32,
}

#[derive(Debug, Clone, Deserialize)]
pub struct CacheSettings {
    /// Cache owner bill look-ups (off only to measure the uncached path).
    pub enabled: bool,
}

#[derive(Debug, Clone, Deserialize)]
pub struct SchedulerSettings {
    /// Run background jobs in this process.
    pub enabled: bool,
    /// How often the scheduler wakes up.
    pub interval_seconds: u64,
}

/// WeChat Pay API v3, public-key mode. The channel is off until every key below is set.
#[derive(Debug, Clone, Deserialize)]
pub struct WechatpaySettings {
    pub api_base: String,
    pub mchid: Option<String>,
    /// Defaults to `wechat.appid`.
    pub appid: Option<String>,
    pub apiv3_key: Option<SecretString>,
    pub merchant_serial_no: Option<String>,
    pub merchant_private_key_path: Option<String>,
    pub platform_public_key_path: Option<String>,
    pub platform_public_key_id: Option<String>,
    pub notify_url: Option<String>,
    /// The 委托代扣 template (plan) contracts are signed under; auto-debit through WeChat Pay is off
    /// without it.
    #[serde(default)]
    pub papay_plan_id: Option<String>,
    /// Where contract (sign, terminate) notifications go; defaults to `notify_url`.
    #[serde(default)]
    pub papay_contract_notify_url: Option<String>,
    /// Mini-program pre-sign path.
    #[serde(default = "papay_presign_path")]
    pub papay_presign_path: String,
    /// Termination by our contract code; `{plan_id}` and `{out_contract_code}` are replaced. Kept
    /// in config: the direct-merchant path is unconfirmed (gateways.md).
    #[serde(default = "papay_terminate_path")]
    pub papay_terminate_path: String,
    /// Debit (deduct) path.
    #[serde(default = "papay_apply_path")]
    pub papay_apply_path: String,
}

fn papay_presign_path() -> String {
    "/v3/papay/scheduled-deduct-sign/contracts/pre-entrust-sign/mini-program".into()
}

fn papay_terminate_path() -> String {
    "/v3/papay/sign/contracts/plan-id/{plan_id}/out-contract-code/{out_contract_code}/terminate".into()
}

fn papay_apply_path() -> String {
    "/v3/papay/pay/transactions/apply".into()
}

fn alipay_agreement_product_code() -> String {
    "GENERAL_WITHHOLDING".into()
}

fn alipay_agreement_personal_product_code() -> String {
    "GENERAL_WITHHOLDING_P".into()
}

fn alipay_agreement_sign_scene() -> String {
    "DEFAULT|DEFAULT".into()
}

/// Auto-debit: the notice before each debit, the hours debits run, retries and suspension.
#[derive(Debug, Clone, Deserialize)]
#[serde(default)]
pub struct AutodebitSettings {
    /// Days before a debit the owner is told (amount, date, how to stop it).
    pub notice_lead_days: i64,
    /// Days after a failed try that the next one runs.
    pub retry_days: Vec<i64>,
    /// Community time when debits may run (WeChat Pay: 07:00–22:00).
    pub window: String,
    /// Debit cycles failing in a row before a mandate is suspended.
    pub suspend_after_failed_cycles: i32,
    /// Notices or debits handled at once (each waits mostly on a gateway or SMS answer).
    pub concurrency: usize,
}

impl Default for AutodebitSettings {
    fn default() -> Self {
        Self {
            notice_lead_days: 3,
            retry_days: vec![1, 3, 7],
            window: "07:00-22:00".into(),
            suspend_after_failed_cycles: 3,
            concurrency: 8,
        }
    }
}

/// Installment plans.
#[derive(Debug, Clone, Deserialize)]
#[serde(default)]
pub struct InstallmentSettings {
    /// Days an instalment may be late before the plan defaults.
    pub default_after_days: i64,
    /// Days an owner has to accept an approved plan before it lapses (its bills are chased again).
    pub accept_within_days: i64,
}

impl Default for InstallmentSettings {
    fn default() -> Self {
        Self {
            default_after_days: 15,
            accept_within_days: 15,
        }
    }
}

/// The public arrears notice (欠费公示).
#[derive(Debug, Clone, Deserialize)]
#[serde(default)]
pub struct ArrearsNoticeSettings {
    /// Only arrears due more than this many days ago are listed.
    pub min_days: i64,
}

impl Default for ArrearsNoticeSettings {
    fn default() -> Self {
        Self { min_days: 90 }
    }
}

/// Alipay open platform (RSA2). The channel is off until every key below but `seller_id` is set.
#[derive(Debug, Clone, Deserialize)]
pub struct AlipaySettings {
    pub gateway_url: String,
    pub app_id: Option<String>,
    pub private_key_path: Option<String>,
    pub alipay_public_key_path: Option<String>,
    pub notify_url: Option<String>,
    pub seller_id: Option<String>,
    /// 商家扣款 agreement codes for `alipay.user.agreement.page.sign` (set per the company's
    /// Alipay contract).
    #[serde(default = "alipay_agreement_product_code")]
    pub agreement_product_code: String,
    #[serde(default = "alipay_agreement_personal_product_code")]
    pub agreement_personal_product_code: String,
    #[serde(default = "alipay_agreement_sign_scene")]
    pub agreement_sign_scene: String,
}

#[derive(Debug, Clone, Deserialize)]
pub struct PaymentSettings {
    /// How long an order holds its bills (also passed to the gateway as its expiry).
    pub order_expiry_minutes: i64,
}

#[derive(Debug, Clone, Default, Deserialize)]
pub struct TestingSettings {
    /// RFC 3339 instant that fixes the clock; honoured only in the `test` environment.
    pub now: Option<String>,
}

/// A list, or one comma-separated string (as an override or a single env value gives it).
fn list_or_commas<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Vec<String>, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Either {
        List(Vec<String>),
        One(String),
    }
    Ok(match Either::deserialize(d)? {
        Either::List(v) => v,
        Either::One(s) => s
            .split(',')
            .map(str::trim)
            .filter(|p| !p.is_empty())
            .map(String::from)
            .collect(),
    })
}

/// `server.trusted_proxies`: addresses (`10.0.0.5`) or blocks (`10.0.0.0/8`).
fn parse_proxies(raw: &[String]) -> Result<Vec<ipnet::IpNet>, SettingsError> {
    raw.iter()
        .map(|p| {
            let p = p.trim();
            p.parse::<ipnet::IpNet>()
                .or_else(|_| p.parse::<std::net::IpAddr>().map(ipnet::IpNet::from))
                .map_err(|_| {
                    SettingsError::Invalid(format!("server.trusted_proxies: {p:?} is not an address or CIDR block"))
                })
        })
        .collect()
}

/// Why settings could not be loaded.
#[derive(Debug, thiserror::Error)]
pub enum SettingsError {
    #[error("configuration error: {0}")]
    Invalid(String),
    #[error("missing required configuration keys: {}", .0.join(", "))]
    Missing(Vec<String>),
}

/// `config/default.toml`, compiled in so the binary starts from any folder.
const EMBEDDED_DEFAULTS: &str = include_str!("../config/default.toml");

/// Where the config files live: `WUYE_CONFIG_DIR`, else `./config`.
fn config_dir() -> PathBuf {
    std::env::var_os("WUYE_CONFIG_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("config"))
}

impl Settings {
    /// Loads the layered settings (compiled-in defaults, then the files, then the environment);
    /// `overrides` (used by tests) win over everything.
    pub fn load(overrides: &[(&str, String)]) -> Result<Settings, SettingsError> {
        let dir = config_dir();
        let env_layer = || {
            config::Environment::with_prefix("WUYE")
                .prefix_separator("__")
                .separator("__")
                .try_parsing(true)
                .list_separator(",")
                .with_list_parse_key("reminders.no_send_dates")
                .with_list_parse_key("server.trusted_proxies")
                .with_list_parse_key("autodebit.retry_days")
        };
        let invalid = |e: config::ConfigError| SettingsError::Invalid(e.to_string());
        // The environment name may itself come from the env layer or an override.
        let defaults = || config::File::from_str(EMBEDDED_DEFAULTS, config::FileFormat::Toml);
        let on_disk = |name: &str| config::File::from(dir.join(name)).required(false);
        let mut first = config::Config::builder()
            .add_source(defaults())
            .add_source(on_disk("default.toml"))
            .add_source(env_layer());
        for (k, v) in overrides {
            first = first.set_override(*k, v.clone()).map_err(invalid)?;
        }
        let environment: String = first
            .build()
            .map_err(invalid)?
            .get_string("app.environment")
            .map_err(invalid)?;

        let mut builder = config::Config::builder()
            .add_source(defaults())
            .add_source(on_disk("default.toml"))
            .add_source(on_disk(&format!("{environment}.toml")))
            .add_source(env_layer());
        for (k, v) in overrides {
            builder = builder.set_override(*k, v.clone()).map_err(invalid)?;
        }
        let mut settings: Settings = builder.build().map_err(invalid)?.try_deserialize().map_err(invalid)?;
        settings.server.trusted = parse_proxies(&settings.server.trusted_proxies)?;
        // An empty template id (a variable set to nothing) means no template, not one named "".
        for ids in [&mut settings.wechat.templates, &mut settings.sms.templates] {
            ids.retain(|_, id| !id.trim().is_empty());
        }
        settings.check_values()?;
        Ok(settings)
    }

    fn check_values(&self) -> Result<(), SettingsError> {
        if !(100..=60_000).contains(&self.database.acquire_timeout_ms) {
            return Err(SettingsError::Invalid(
                "database.acquire_timeout_ms must be between 100 and 60000".into(),
            ));
        }
        if !self.server.metrics_bind.is_empty() && self.server.metrics_bind.parse::<std::net::SocketAddr>().is_err() {
            return Err(SettingsError::Invalid(format!(
                "server.metrics_bind: {:?} is not an address like 127.0.0.1:9100 (empty turns the listener off)",
                self.server.metrics_bind
            )));
        }
        if self.testing.now.is_some() && self.app.environment != "test" {
            return Err(SettingsError::Invalid(
                "testing.now is refused unless app.environment = \"test\"".into(),
            ));
        }
        if self.billing.min_notice_days > 90 {
            return Err(SettingsError::Invalid(
                "billing.min_notice_days must be between 0 and 90".into(),
            ));
        }
        if !(1..=28).contains(&self.billing.auto_run_day) {
            return Err(SettingsError::Invalid(
                "billing.auto_run_day must be between 1 and 28".into(),
            ));
        }
        if crate::domain::reminders::QuietHours::parse(&self.reminders.quiet_hours).is_none() {
            return Err(SettingsError::Invalid(
                "reminders.quiet_hours must look like \"21:00-08:00\"".into(),
            ));
        }
        let a = &self.autodebit;
        if let Err(e) = crate::domain::debits::Window::parse(&a.window) {
            return Err(SettingsError::Invalid(format!(
                "autodebit.window must look like \"07:00-22:00\": {e}"
            )));
        }
        if !(1..=30).contains(&a.notice_lead_days) {
            return Err(SettingsError::Invalid(
                "autodebit.notice_lead_days must be between 1 and 30".into(),
            ));
        }
        if a.retry_days.iter().any(|d| !(1..=60).contains(d)) || a.retry_days.windows(2).any(|w| w[0] >= w[1]) {
            return Err(SettingsError::Invalid(
                "autodebit.retry_days must rise, each between 1 and 60 days after the debit day".into(),
            ));
        }
        if a.suspend_after_failed_cycles < 1 {
            return Err(SettingsError::Invalid(
                "autodebit.suspend_after_failed_cycles must be at least 1".into(),
            ));
        }
        if !(1..=60).contains(&self.installments.default_after_days) {
            return Err(SettingsError::Invalid(
                "installments.default_after_days must be between 1 and 60".into(),
            ));
        }
        if !(30..=1095).contains(&self.arrears_notice.min_days) {
            return Err(SettingsError::Invalid(
                "arrears_notice.min_days must be between 30 and 1095".into(),
            ));
        }
        if !(1..=60).contains(&self.installments.accept_within_days) {
            return Err(SettingsError::Invalid(
                "installments.accept_within_days must be between 1 and 60".into(),
            ));
        }
        if self.app.timezone.parse::<chrono_tz::Tz>().is_err() {
            return Err(SettingsError::Invalid(format!(
                "app.timezone: unknown zone {}",
                self.app.timezone
            )));
        }
        Ok(())
    }

    /// Keys that a non-demo process cannot run without, named so the operator can fix them all at once.
    pub fn missing_required_keys(&self) -> Vec<String> {
        let mut missing = Vec::new();
        if self
            .security
            .data_key
            .as_ref()
            .is_none_or(|k| k.expose_secret().is_empty())
        {
            missing.push("security.data_key".to_string());
        }
        if self.wechat.appid.as_deref().is_none_or(str::is_empty) {
            missing.push("wechat.appid".to_string());
        }
        if self.wechat.secret.as_ref().is_none_or(|s| s.expose_secret().is_empty()) {
            missing.push("wechat.secret".to_string());
        }
        missing
    }

    /// True when the database URL names SQLite (the embedded default).
    pub fn is_sqlite(&self) -> bool {
        self.database.url.starts_with("sqlite:")
    }
}

/// `sms.*` settings.
#[derive(Debug, Clone, Deserialize, Default)]
pub struct SmsSettings {
    pub api_base: String,
    pub secret_id: Option<String>,
    pub secret_key: Option<SecretString>,
    pub sdk_app_id: Option<String>,
    pub sign_name: Option<String>,
    #[serde(default = "default_region")]
    pub region: String,
    /// Template id per reminder stage.
    #[serde(default)]
    pub templates: std::collections::HashMap<String, String>,
    /// The wording registered with Tencent for each stage's template (what evidence records as sent).
    #[serde(default)]
    pub template_texts: std::collections::HashMap<String, String>,
}

fn default_region() -> String {
    "ap-guangzhou".into()
}
