//! WeChat mini-program server API: `jscode2session`, the access token, phone numbers and
//! subscribe messages.
//!
//! Every access-token fetch invalidates the previous token, so across replicas exactly one process
//! refreshes it (a lock in the shared store) and the others wait for the cached value.
use crate::clock::SharedClock;
use crate::store::Store;
use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;
use std::time::Duration;

const TOKEN_KEY: &str = "wechat:access_token";
const TOKEN_LOCK: &str = "wechat:access_token:lock";

/// What went wrong talking to WeChat.
#[derive(Debug, thiserror::Error)]
pub enum WechatError {
    /// WeChat answered with an errcode.
    #[error("wechat errcode {0}: {1}")]
    Code(i64, String),
    #[error("wechat unreachable: {0}")]
    Transport(String),
    #[error("wechat login is not configured")]
    NotConfigured,
    #[error("store: {0}")]
    Store(#[from] crate::store::StoreError),
}

/// The identity `jscode2session` gives. The `session_key` is never kept or returned.
#[derive(Debug, Clone)]
pub struct WechatIdentity {
    pub openid: String,
    pub unionid: Option<String>,
}

#[derive(Deserialize)]
struct CodeAnswer {
    #[serde(default)]
    errcode: i64,
    #[serde(default)]
    errmsg: String,
    openid: Option<String>,
    unionid: Option<String>,
}

#[derive(Deserialize)]
struct TokenAnswer {
    #[serde(default)]
    errcode: i64,
    #[serde(default)]
    errmsg: String,
    access_token: Option<String>,
    expires_in: Option<u64>,
}

#[derive(Deserialize)]
struct PhoneAnswer {
    #[serde(default)]
    errcode: i64,
    #[serde(default)]
    errmsg: String,
    phone_info: Option<PhoneInfo>,
}

trait HasErrcode {
    fn errcode(&self) -> i64;
}

impl HasErrcode for PhoneAnswer {
    fn errcode(&self) -> i64 {
        self.errcode
    }
}

#[derive(Deserialize)]
struct SendAnswer {
    #[serde(default)]
    errcode: i64,
    #[serde(default)]
    errmsg: String,
}

impl HasErrcode for SendAnswer {
    fn errcode(&self) -> i64 {
        self.errcode
    }
}

/// A subscribe message: `data` maps template keys (`thing1`, `amount2`…) to `{"value": …}`.
#[derive(Debug, Clone, serde::Serialize)]
pub struct SubscribeMessage {
    pub touser: String,
    pub template_id: String,
    pub page: String,
    pub data: serde_json::Value,
    pub miniprogram_state: String,
    pub lang: String,
}

#[derive(Deserialize)]
struct PhoneInfo {
    #[serde(rename = "purePhoneNumber")]
    pure_phone_number: String,
}

#[derive(Deserialize, serde::Serialize)]
struct CachedToken {
    token: String,
    /// Unix seconds after which the token is refreshed (a margin before WeChat's expiry).
    refresh_after: i64,
}

/// Client for `wechat.api_base`.
#[derive(Clone)]
pub struct WechatClient {
    http: reqwest::Client,
    base: String,
    appid: Option<String>,
    secret: Option<SecretString>,
    store: Store,
    clock: SharedClock,
}

impl WechatClient {
    pub fn new(
        http: reqwest::Client,
        base: &str,
        appid: Option<String>,
        secret: Option<SecretString>,
        store: Store,
        clock: SharedClock,
    ) -> Self {
        Self {
            http,
            base: base.trim_end_matches('/').to_string(),
            appid,
            secret,
            store,
            clock,
        }
    }

    fn creds(&self) -> Result<(&str, &str), WechatError> {
        match (&self.appid, &self.secret) {
            (Some(a), Some(s)) if !a.is_empty() => Ok((a.as_str(), s.expose_secret())),
            _ => Err(WechatError::NotConfigured),
        }
    }

    async fn get_json<T: for<'de> Deserialize<'de>>(&self, req: reqwest::RequestBuilder) -> Result<T, WechatError> {
        let resp = req
            .send()
            .await
            .map_err(|e| WechatError::Transport(e.without_url().to_string()))?;
        if !resp.status().is_success() {
            return Err(WechatError::Transport(format!("http {}", resp.status())));
        }
        resp.json::<T>()
            .await
            .map_err(|e| WechatError::Transport(e.without_url().to_string()))
    }

    /// Exchanges a `wx.login` code for the user's openid.
    #[tracing::instrument(skip_all)]
    pub async fn code_to_session(&self, code: &str) -> Result<WechatIdentity, WechatError> {
        let (appid, secret) = self.creds()?;
        let req = self.http.get(format!("{}/sns/jscode2session", self.base)).query(&[
            ("appid", appid),
            ("secret", secret),
            ("js_code", code),
            ("grant_type", "authorization_code"),
        ]);
        let a: CodeAnswer = self.get_json(req).await?;
        match (a.errcode, a.openid) {
            (0, Some(openid)) if !openid.is_empty() => Ok(WechatIdentity {
                openid,
                unionid: a.unionid,
            }),
            (0, _) => Err(WechatError::Code(-1, "no openid".into())),
            (code, _) => Err(WechatError::Code(code, a.errmsg)),
        }
    }

    /// Resolves a `getPhoneNumber` code to the verified mainland number (`purePhoneNumber`).
    #[tracing::instrument(skip_all)]
    pub async fn phone_number(&self, code: &str) -> Result<String, WechatError> {
        let body = serde_json::json!({ "code": code });
        let a: PhoneAnswer = self.post_with_token("/wxa/business/getuserphonenumber", &body).await?;
        match (a.errcode, a.phone_info) {
            (0, Some(info)) => Ok(info.pure_phone_number),
            (code, _) => Err(WechatError::Code(code, a.errmsg)),
        }
    }

    /// Sends one subscribe message (spending one of the owner's grants). Ok(()) on errcode 0;
    /// `Code(43101, …)` when the owner has no grant left for the template.
    #[tracing::instrument(skip_all)]
    pub async fn send_subscribe(&self, msg: &SubscribeMessage) -> Result<(), WechatError> {
        let a: SendAnswer = self.post_with_token("/cgi-bin/message/subscribe/send", msg).await?;
        match a.errcode {
            0 => Ok(()),
            code => Err(WechatError::Code(code, a.errmsg)),
        }
    }

    /// Whether app id and secret are set (otherwise every call answers `NotConfigured`).
    pub fn configured(&self) -> bool {
        self.creds().is_ok()
    }

    /// A mini-program code (小程序码) opening `page` with `scene` (`POST /wxa/getwxacodeunlimit`):
    /// the image bytes, or WeChat's errcode (41030 page not published, 45009 rate limit). Codes
    /// never expire, so callers make one per notice and keep it.
    pub async fn mini_program_code(&self, scene: &str, page: &str) -> Result<Vec<u8>, WechatError> {
        let body = serde_json::json!({"scene": scene, "page": page, "check_path": false, "width": 280});
        let mut token = self.access_token().await?;
        for attempt in 0..2 {
            let resp = self
                .http
                .post(format!("{}/wxa/getwxacodeunlimit", self.base))
                .query(&[("access_token", token.as_str())])
                .json(&body)
                .send()
                .await
                .map_err(|e| WechatError::Transport(e.without_url().to_string()))?;
            let is_image = resp
                .headers()
                .get(reqwest::header::CONTENT_TYPE)
                .and_then(|v| v.to_str().ok())
                .is_some_and(|t| t.starts_with("image/"));
            let bytes = resp
                .bytes()
                .await
                .map_err(|e| WechatError::Transport(e.without_url().to_string()))?;
            if is_image {
                return Ok(bytes.to_vec());
            }
            let a: SendAnswer = serde_json::from_slice(&bytes)
                .map_err(|e| WechatError::Transport(format!("neither an image nor an error: {e}")))?;
            match a.errcode {
                40001 | 42001 if attempt == 0 => token = self.refresh_token(Some(&token)).await?,
                code => return Err(WechatError::Code(code, a.errmsg)),
            }
        }
        Err(WechatError::Code(40001, "access token rejected twice".into()))
    }

    /// POSTs with the access token, refetching it once when WeChat says it is no longer valid.
    async fn post_with_token<B, T>(&self, path: &str, body: &B) -> Result<T, WechatError>
    where
        B: serde::Serialize + ?Sized,
        T: for<'de> Deserialize<'de> + HasErrcode,
    {
        let mut token = self.access_token().await?;
        for attempt in 0..2 {
            let req = self
                .http
                .post(format!("{}{path}", self.base))
                .query(&[("access_token", token.as_str())])
                .json(body);
            let a: T = self.get_json(req).await?;
            match a.errcode() {
                // The token was invalidated (another fetch, or expiry): refetch once.
                40001 | 42001 if attempt == 0 => token = self.refresh_token(Some(&token)).await?,
                _ => return Ok(a),
            }
        }
        Err(WechatError::Code(40001, "access token rejected twice".into()))
    }

    /// The cached access token, fetched by exactly one refresher when missing or due.
    pub async fn access_token(&self) -> Result<String, WechatError> {
        if let Some(t) = self.cached_token().await? {
            if t.refresh_after > self.clock.now().timestamp() {
                return Ok(t.token);
            }
        }
        self.refresh_token(None).await
    }

    async fn cached_token(&self) -> Result<Option<CachedToken>, WechatError> {
        Ok(self
            .store
            .get(TOKEN_KEY)
            .await?
            .and_then(|s| serde_json::from_str(&s).ok()))
    }

    /// The cached token if it is still good: not the `stale` one we saw rejected, or (with `None`)
    /// not yet due for refresh.
    async fn usable_cached(&self, stale: Option<&str>) -> Result<Option<String>, WechatError> {
        Ok(self.cached_token().await?.and_then(|t| {
            let fresh = match stale {
                Some(s) => t.token != s,
                None => t.refresh_after > self.clock.now().timestamp(),
            };
            fresh.then_some(t.token)
        }))
    }

    /// Fetches a new token unless another refresher already replaced `stale` (or, with `None`,
    /// unless a fresh token appeared meanwhile). Waits for the lock holder rather than fetching too.
    async fn refresh_token(&self, stale: Option<&str>) -> Result<String, WechatError> {
        let lock_value = crate::crypto::new_token().map_err(|e| WechatError::Transport(e.to_string()))?;
        for _ in 0..60 {
            if let Some(t) = self.usable_cached(stale).await? {
                return Ok(t);
            }
            if self
                .store
                .set_nx(TOKEN_LOCK, &lock_value, Duration::from_secs(10))
                .await?
            {
                let result = self.fetch_and_cache(stale).await;
                self.store.del_if_eq(TOKEN_LOCK, &lock_value).await?;
                return result;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        Err(WechatError::Transport(
            "timed out waiting for the access-token refresher".into(),
        ))
    }

    async fn fetch_and_cache(&self, stale: Option<&str>) -> Result<String, WechatError> {
        // Re-check under the lock: the previous holder may have just stored a new token.
        if let Some(t) = self.usable_cached(stale).await? {
            return Ok(t);
        }
        let (appid, secret) = self.creds()?;
        let req = self.http.get(format!("{}/cgi-bin/token", self.base)).query(&[
            ("grant_type", "client_credential"),
            ("appid", appid),
            ("secret", secret),
        ]);
        let a: TokenAnswer = self.get_json(req).await?;
        let token = match (a.errcode, a.access_token) {
            (0, Some(t)) => t,
            (code, _) => return Err(WechatError::Code(code, a.errmsg)),
        };
        let expires_in = a.expires_in.unwrap_or(7200);
        // Refresh five minutes early so no request carries a token about to expire.
        let margin = expires_in.saturating_sub(300).max(60);
        let cached = CachedToken {
            token: token.clone(),
            refresh_after: self.clock.now().timestamp() + margin as i64,
        };
        let json = serde_json::to_string(&cached).map_err(|e| WechatError::Transport(e.to_string()))?;
        self.store
            .set(TOKEN_KEY, &json, Duration::from_secs(expires_in))
            .await?;
        tracing::info!("wechat access token refreshed");
        Ok(token)
    }
}
