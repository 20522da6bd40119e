//! Alipay open platform (RSA2): signed gateway calls whose answers are verified over the exact
//! text of the `<method>_response` value, `alipay.trade.precreate` (当面付 QR) and `.query`, and
//! asynchronous-notification verification. Protocol facts: `../shared/gateways.md`.
use super::rsa_keys::{Signer, Verifier};
use crate::clock::SharedClock;
use serde::Deserialize;
use std::collections::BTreeMap;

/// What went wrong with Alipay.
#[derive(Debug, thiserror::Error)]
pub enum AlipayError {
    #[error("alipay unreachable: {0}")]
    Transport(String),
    #[error("alipay answer is not signed by the Alipay key")]
    Forged,
    #[error("alipay answer malformed: {0}")]
    Malformed(String),
    #[error("alipay refused: {code} {msg}")]
    Refused {
        code: String,
        msg: String,
        sub_code: Option<String>,
    },
    #[error("signing failed: {0}")]
    Sign(String),
}

/// App configuration (`alipay.*`).
pub struct AlipayConfig {
    pub gateway_url: String,
    pub app_id: String,
    pub signer: Signer,
    pub alipay_public: Verifier,
    pub notify_url: String,
    pub seller_id: Option<String>,
}

/// The Alipay client.
pub struct Alipay {
    http: reqwest::Client,
    pub cfg: AlipayConfig,
    clock: SharedClock,
}

/// `alipay.trade.query` answer fields wuye uses.
#[derive(Debug, Clone, Deserialize)]
pub struct TradeQuery {
    pub out_trade_no: Option<String>,
    pub trade_no: Option<String>,
    pub trade_status: Option<String>,
    pub total_amount: Option<String>,
}

/// The string Alipay signs: keys sorted, `sign` and `sign_type` and empty values left out, `k=v`
/// joined with `&` (values as they are, not URL-encoded).
pub fn signing_string<'a>(params: impl IntoIterator<Item = (&'a str, &'a str)>) -> String {
    let sorted: BTreeMap<&str, &str> = params
        .into_iter()
        .filter(|(k, v)| !v.is_empty() && *k != "sign" && *k != "sign_type")
        .collect();
    sorted
        .iter()
        .map(|(k, v)| format!("{k}={v}"))
        .collect::<Vec<_>>()
        .join("&")
}

impl Alipay {
    pub fn new(http: reqwest::Client, cfg: AlipayConfig, clock: SharedClock) -> Self {
        Self { http, cfg, clock }
    }

    /// Verifies a notification's form fields (RSA2 over the signing string).
    pub fn notification_ok(&self, form: &[(String, String)]) -> bool {
        let sign = form
            .iter()
            .find(|(k, _)| k == "sign")
            .map(|(_, v)| v.as_str())
            .unwrap_or_default();
        let sign_type = form
            .iter()
            .find(|(k, _)| k == "sign_type")
            .map(|(_, v)| v.as_str())
            .unwrap_or("RSA2");
        if sign.is_empty() || sign_type != "RSA2" {
            return false;
        }
        let s = signing_string(form.iter().map(|(k, v)| (k.as_str(), v.as_str())));
        self.cfg.alipay_public.verify_b64(s.as_bytes(), sign)
    }

    /// Calls `method` with `biz_content`; returns the verified `<method>_response` object.
    async fn call(
        &self,
        method: &str,
        biz: serde_json::Value,
        with_notify: bool,
    ) -> Result<serde_json::Value, AlipayError> {
        // Alipay's timestamps are Beijing time.
        let timestamp = self
            .clock
            .now()
            .with_timezone(&chrono_tz::Asia::Shanghai)
            .format("%Y-%m-%d %H:%M:%S")
            .to_string();
        let biz = biz.to_string();
        let mut params: Vec<(&str, String)> = vec![
            ("app_id", self.cfg.app_id.clone()),
            ("method", method.to_string()),
            ("format", "JSON".into()),
            ("charset", "utf-8".into()),
            ("sign_type", "RSA2".into()),
            ("timestamp", timestamp),
            ("version", "1.0".into()),
            ("biz_content", biz),
        ];
        if with_notify {
            params.push(("notify_url", self.cfg.notify_url.clone()));
        }
        let s = signing_string(params.iter().map(|(k, v)| (*k, v.as_str())));
        let sign = self
            .cfg
            .signer
            .sign_b64(s.as_bytes())
            .map_err(|e| AlipayError::Sign(e.to_string()))?;
        params.push(("sign", sign));
        let resp = self
            .http
            .post(&self.cfg.gateway_url)
            .form(&params)
            .send()
            .await
            .map_err(|e| AlipayError::Transport(e.without_url().to_string()))?;
        let text = resp
            .text()
            .await
            .map_err(|e| AlipayError::Transport(e.without_url().to_string()))?;
        let node = format!("{}_response", method.replace('.', "_"));
        let envelope: std::collections::HashMap<String, &serde_json::value::RawValue> =
            serde_json::from_str(&text).map_err(|e| AlipayError::Malformed(e.to_string()))?;
        let raw = envelope
            .get(&node)
            .ok_or_else(|| AlipayError::Malformed(format!("no {node}")))?;
        let sign: String = envelope
            .get("sign")
            .and_then(|s| serde_json::from_str(s.get()).ok())
            .ok_or(AlipayError::Forged)?;
        // Alipay signs the exact text of the response node as it appears in the body.
        if !self.cfg.alipay_public.verify_b64(raw.get().as_bytes(), &sign) {
            return Err(AlipayError::Forged);
        }
        let value: serde_json::Value =
            serde_json::from_str(raw.get()).map_err(|e| AlipayError::Malformed(e.to_string()))?;
        if value.get("code").and_then(|c| c.as_str()) != Some("10000") {
            return Err(AlipayError::Refused {
                code: value
                    .get("code")
                    .and_then(|c| c.as_str())
                    .unwrap_or_default()
                    .to_string(),
                msg: value
                    .get("msg")
                    .and_then(|c| c.as_str())
                    .unwrap_or_default()
                    .to_string(),
                sub_code: value.get("sub_code").and_then(|c| c.as_str()).map(str::to_string),
            });
        }
        Ok(value)
    }

    /// `alipay.trade.precreate` → the QR code for paper notices and the counter.
    pub async fn precreate(
        &self,
        out_trade_no: &str,
        total_yuan: &str,
        subject: &str,
        timeout_minutes: i64,
    ) -> Result<String, AlipayError> {
        let biz = serde_json::json!({
            "out_trade_no": out_trade_no,
            "total_amount": total_yuan,
            "subject": subject,
            "timeout_express": format!("{timeout_minutes}m"),
        });
        let v = self.call("alipay.trade.precreate", biz, true).await?;
        v.get("qr_code")
            .and_then(|q| q.as_str())
            .map(str::to_string)
            .ok_or_else(|| AlipayError::Malformed("no qr_code".into()))
    }

    /// `alipay.trade.query`; `None` when Alipay does not know the trade.
    pub async fn query(&self, out_trade_no: &str) -> Result<Option<TradeQuery>, AlipayError> {
        match self
            .call(
                "alipay.trade.query",
                serde_json::json!({"out_trade_no": out_trade_no}),
                false,
            )
            .await
        {
            Ok(v) => serde_json::from_value(v)
                .map(Some)
                .map_err(|e| AlipayError::Malformed(e.to_string())),
            Err(AlipayError::Refused { sub_code: Some(s), .. }) if s == "ACQ.TRADE_NOT_EXIST" => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// `alipay.trade.close`: an order nobody has scanned yet does not exist at Alipay, which is fine.
    pub async fn close(&self, out_trade_no: &str) -> Result<(), AlipayError> {
        match self
            .call(
                "alipay.trade.close",
                serde_json::json!({"out_trade_no": out_trade_no}),
                false,
            )
            .await
        {
            Ok(_) => Ok(()),
            Err(AlipayError::Refused { sub_code: Some(s), .. }) if s == "ACQ.TRADE_NOT_EXIST" => Ok(()),
            Err(e) => Err(e),
        }
    }

    /// `alipay.trade.refund` (synchronous): true when Alipay moved the money back.
    pub async fn refund(
        &self,
        out_trade_no: &str,
        refund_yuan: &str,
        out_request_no: &str,
        reason: &str,
    ) -> Result<bool, AlipayError> {
        let biz = serde_json::json!({
            "out_trade_no": out_trade_no,
            "refund_amount": refund_yuan,
            "out_request_no": out_request_no,
            "refund_reason": reason,
        });
        let v = self.call("alipay.trade.refund", biz, false).await?;
        Ok(v.get("fund_change").and_then(|f| f.as_str()) == Some("Y"))
    }
}
