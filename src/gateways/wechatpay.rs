//! WeChat Pay API v3 (public-key mode): signed requests, verified answers and notifications,
//! AES-256-GCM resource decryption, JSAPI prepay and mini-program pay parameters, order query.
//! Protocol facts: `../shared/gateways.md`.
use super::rsa_keys::{Signer, Verifier};
use crate::clock::SharedClock;
use ring::aead;
use serde::{Deserialize, Serialize};

/// What went wrong with WeChat Pay.
#[derive(Debug, thiserror::Error)]
pub enum WxPayError {
    #[error("wechat pay unreachable: {0}")]
    Transport(String),
    #[error("wechat pay answered {status}: {body}")]
    Status { status: u16, body: String },
    #[error("wechat pay answer is not signed by the platform key")]
    Forged,
    #[error("wechat pay answer malformed: {0}")]
    Malformed(String),
    #[error("signing failed: {0}")]
    Sign(String),
}

/// Why a notification was refused before it was parsed.
#[derive(Debug, PartialEq, Eq)]
pub enum NotifyRejection {
    /// Missing headers, unknown key id, or a signature that does not verify (probes included).
    BadSignature,
    /// |now − Wechatpay-Timestamp| ≥ 300 s.
    Stale,
}

/// Merchant configuration (`wechatpay.*`).
pub struct WechatPayConfig {
    pub api_base: String,
    pub mchid: String,
    pub appid: String,
    pub apiv3_key: Vec<u8>,
    pub merchant_serial_no: String,
    pub signer: Signer,
    pub platform: Verifier,
    pub platform_public_key_id: String,
    pub notify_url: String,
}

/// The WeChat Pay client.
pub struct WechatPay {
    http: reqwest::Client,
    pub cfg: WechatPayConfig,
    clock: SharedClock,
}

/// Headers of a signed message from WeChat Pay.
#[derive(Debug, Default, Clone)]
pub struct SignedHeaders {
    pub timestamp: String,
    pub nonce: String,
    pub serial: String,
    pub signature: String,
}

/// `wx.requestPayment` parameters.
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct PayParams {
    pub app_id: String,
    pub time_stamp: String,
    pub nonce_str: String,
    pub package: String,
    pub sign_type: String,
    pub pay_sign: String,
}

/// A notification envelope (before decryption).
#[derive(Debug, Clone, Deserialize)]
pub struct Envelope {
    pub id: String,
    pub event_type: String,
    pub resource: Resource,
}

/// The encrypted resource of a notification.
#[derive(Debug, Clone, Deserialize)]
pub struct Resource {
    pub algorithm: String,
    pub ciphertext: String,
    #[serde(default)]
    pub associated_data: String,
    pub nonce: String,
}

/// A transaction (notification resource or query answer).
#[derive(Debug, Clone, Deserialize)]
pub struct Transaction {
    #[serde(default)]
    pub appid: String,
    #[serde(default)]
    pub mchid: String,
    pub out_trade_no: String,
    #[serde(default)]
    pub transaction_id: Option<String>,
    pub trade_state: String,
    #[serde(default)]
    pub success_time: Option<String>,
    #[serde(default)]
    pub amount: Option<TxAmount>,
}

/// `amount` of a transaction.
#[derive(Debug, Clone, Deserialize)]
pub struct TxAmount {
    pub total: i64,
}

fn nonce() -> String {
    crate::crypto::new_token()
        .map(|t| t.chars().filter(char::is_ascii_alphanumeric).take(32).collect())
        .unwrap_or_default()
}

impl WechatPay {
    pub fn new(http: reqwest::Client, cfg: WechatPayConfig, clock: SharedClock) -> Self {
        Self { http, cfg, clock }
    }

    /// `Authorization` for a request: SHA256withRSA over `METHOD\nPATH?QUERY\ntimestamp\nnonce\nBODY\n`.
    fn authorization(&self, method: &str, path_query: &str, body: &str) -> Result<String, WxPayError> {
        let ts = self.clock.now().timestamp().to_string();
        let nonce = nonce();
        let message = format!("{method}\n{path_query}\n{ts}\n{nonce}\n{body}\n");
        let signature = self
            .cfg
            .signer
            .sign_b64(message.as_bytes())
            .map_err(|e| WxPayError::Sign(e.to_string()))?;
        Ok(format!(
            r#"WECHATPAY2-SHA256-RSA2048 mchid="{}",nonce_str="{nonce}",timestamp="{ts}",serial_no="{}",signature="{signature}""#,
            self.cfg.mchid, self.cfg.merchant_serial_no
        ))
    }

    /// True when `headers` carry a valid platform signature over `timestamp\nnonce\nbody\n` made
    /// with the configured platform key.
    pub fn signature_ok(&self, h: &SignedHeaders, body: &[u8]) -> bool {
        if h.serial != self.cfg.platform_public_key_id || h.signature.is_empty() {
            return false;
        }
        let mut message = format!("{}\n{}\n", h.timestamp, h.nonce).into_bytes();
        message.extend_from_slice(body);
        message.push(b'\n');
        self.cfg.platform.verify_b64(&message, &h.signature)
    }

    /// Checks a notification's signature and its 300-second timestamp window (API v3 rules).
    pub fn check_notification(&self, h: &SignedHeaders, body: &[u8]) -> Result<(), NotifyRejection> {
        if !self.signature_ok(h, body) {
            return Err(NotifyRejection::BadSignature);
        }
        let ts: i64 = h.timestamp.parse().map_err(|_| NotifyRejection::BadSignature)?;
        if (self.clock.now().timestamp() - ts).abs() >= 300 {
            return Err(NotifyRejection::Stale);
        }
        Ok(())
    }

    /// Decrypts a notification resource: AES-256-GCM, key = the APIv3 key's 32 bytes.
    pub fn decrypt(&self, r: &Resource) -> Result<Vec<u8>, WxPayError> {
        use base64::{engine::general_purpose::STANDARD, Engine};
        if r.algorithm != "AEAD_AES_256_GCM" {
            return Err(WxPayError::Malformed(format!("algorithm {}", r.algorithm)));
        }
        let key = aead::UnboundKey::new(&aead::AES_256_GCM, &self.cfg.apiv3_key)
            .map_err(|_| WxPayError::Malformed("apiv3_key must be 32 bytes".into()))?;
        let nonce = aead::Nonce::try_assume_unique_for_key(r.nonce.as_bytes())
            .map_err(|_| WxPayError::Malformed("nonce must be 12 bytes".into()))?;
        let mut data = STANDARD
            .decode(&r.ciphertext)
            .map_err(|_| WxPayError::Malformed("ciphertext".into()))?;
        let plain = aead::LessSafeKey::new(key)
            .open_in_place(nonce, aead::Aad::from(r.associated_data.as_bytes()), &mut data)
            .map_err(|_| WxPayError::Malformed("resource does not decrypt".into()))?;
        Ok(plain.to_vec())
    }

    fn headers_of(resp: &reqwest::Response) -> SignedHeaders {
        let get = |n: &str| {
            resp.headers()
                .get(n)
                .and_then(|v| v.to_str().ok())
                .unwrap_or_default()
                .to_string()
        };
        SignedHeaders {
            timestamp: get("Wechatpay-Timestamp"),
            nonce: get("Wechatpay-Nonce"),
            serial: get("Wechatpay-Serial"),
            signature: get("Wechatpay-Signature"),
        }
    }

    /// Sends a signed request; a 2xx answer must carry a valid platform signature.
    async fn call(
        &self,
        method: reqwest::Method,
        path_query: &str,
        body: Option<&serde_json::Value>,
    ) -> Result<(u16, String), WxPayError> {
        let body_text = body.map(|b| b.to_string()).unwrap_or_default();
        let auth = self.authorization(method.as_str(), path_query, &body_text)?;
        let mut req = self
            .http
            .request(
                method,
                format!("{}{}", self.cfg.api_base.trim_end_matches('/'), path_query),
            )
            .header("Authorization", auth)
            .header("Accept", "application/json");
        if body.is_some() {
            req = req.header("Content-Type", "application/json").body(body_text);
        }
        let resp = req
            .send()
            .await
            .map_err(|e| WxPayError::Transport(e.without_url().to_string()))?;
        let status = resp.status().as_u16();
        let headers = Self::headers_of(&resp);
        let text = resp
            .text()
            .await
            .map_err(|e| WxPayError::Transport(e.without_url().to_string()))?;
        if (200..300).contains(&status) && !self.signature_ok(&headers, text.as_bytes()) {
            return Err(WxPayError::Forged);
        }
        Ok((status, text))
    }

    /// JSAPI prepay (`POST /v3/pay/transactions/jsapi`) → `prepay_id`.
    pub async fn jsapi_prepay(
        &self,
        out_trade_no: &str,
        description: &str,
        total_fen: i64,
        openid: &str,
        time_expire: chrono::DateTime<chrono::FixedOffset>,
    ) -> Result<String, WxPayError> {
        let body = serde_json::json!({
            "appid": self.cfg.appid,
            "mchid": self.cfg.mchid,
            "description": description,
            "out_trade_no": out_trade_no,
            "time_expire": time_expire.to_rfc3339_opts(chrono::SecondsFormat::Secs, false),
            "notify_url": self.cfg.notify_url,
            "amount": {"total": total_fen, "currency": "CNY"},
            "payer": {"openid": openid},
        });
        let (status, text) = self
            .call(reqwest::Method::POST, "/v3/pay/transactions/jsapi", Some(&body))
            .await?;
        if !(200..300).contains(&status) {
            return Err(WxPayError::Status { status, body: text });
        }
        #[derive(Deserialize)]
        struct Answer {
            prepay_id: String,
        }
        serde_json::from_str::<Answer>(&text)
            .map(|a| a.prepay_id)
            .map_err(|e| WxPayError::Malformed(e.to_string()))
    }

    /// What `wx.requestPayment` takes: paySign over `appId\ntimeStamp\nnonceStr\npackage\n`.
    pub fn pay_params(&self, prepay_id: &str) -> Result<PayParams, WxPayError> {
        let ts = self.clock.now().timestamp().to_string();
        let nonce = nonce();
        let package = format!("prepay_id={prepay_id}");
        let message = format!("{}\n{ts}\n{nonce}\n{package}\n", self.cfg.appid);
        let pay_sign = self
            .cfg
            .signer
            .sign_b64(message.as_bytes())
            .map_err(|e| WxPayError::Sign(e.to_string()))?;
        Ok(PayParams {
            app_id: self.cfg.appid.clone(),
            time_stamp: ts,
            nonce_str: nonce,
            package,
            sign_type: "RSA".into(),
            pay_sign,
        })
    }

    /// Queries an order by our number; `None` when WeChat Pay does not know it.
    pub async fn query(&self, out_trade_no: &str) -> Result<Option<Transaction>, WxPayError> {
        let path = format!(
            "/v3/pay/transactions/out-trade-no/{out_trade_no}?mchid={}",
            self.cfg.mchid
        );
        let (status, text) = self.call(reqwest::Method::GET, &path, None).await?;
        match status {
            200..=299 => serde_json::from_str(&text)
                .map(Some)
                .map_err(|e| WxPayError::Malformed(e.to_string())),
            404 => Ok(None),
            _ => Err(WxPayError::Status { status, body: text }),
        }
    }

    /// Closes an unpaid order (`POST /v3/pay/transactions/out-trade-no/{no}/close`, answered 204).
    pub async fn close(&self, out_trade_no: &str) -> Result<(), WxPayError> {
        let path = format!("/v3/pay/transactions/out-trade-no/{out_trade_no}/close");
        let body = serde_json::json!({ "mchid": self.cfg.mchid });
        let (status, text) = self.call(reqwest::Method::POST, &path, Some(&body)).await?;
        if (200..300).contains(&status) {
            Ok(())
        } else {
            Err(WxPayError::Status { status, body: text })
        }
    }

    /// Domestic refund (`POST /v3/refund/domestic/refunds`) → (refund_id, status).
    pub async fn refund(
        &self,
        out_trade_no: &str,
        out_refund_no: &str,
        refund_fen: i64,
        total_fen: i64,
        reason: &str,
    ) -> Result<(String, String), WxPayError> {
        let body = serde_json::json!({
            "out_trade_no": out_trade_no,
            "out_refund_no": out_refund_no,
            "reason": reason,
            "notify_url": self.cfg.notify_url,
            "amount": {"refund": refund_fen, "total": total_fen, "currency": "CNY"},
        });
        let (status, text) = self
            .call(reqwest::Method::POST, "/v3/refund/domestic/refunds", Some(&body))
            .await?;
        if !(200..300).contains(&status) {
            return Err(WxPayError::Status { status, body: text });
        }
        #[derive(Deserialize)]
        struct Answer {
            refund_id: String,
            status: String,
        }
        serde_json::from_str::<Answer>(&text)
            .map(|a| (a.refund_id, a.status))
            .map_err(|e| WxPayError::Malformed(e.to_string()))
    }
}

/// A refund notification's resource (`REFUND.SUCCESS|ABNORMAL|CLOSED`).
#[derive(Debug, Clone, Deserialize)]
pub struct RefundResource {
    #[serde(default)]
    pub mchid: String,
    pub out_trade_no: String,
    pub out_refund_no: String,
    #[serde(default)]
    pub refund_id: Option<String>,
    pub refund_status: String,
}
