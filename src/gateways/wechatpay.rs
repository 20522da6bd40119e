//! WeChat Pay API v3 (public-key mode): signed requests, verified answers and notifications,
//! AES-256-GCM resource decryption, JSAPI prepay and mini-program pay parameters, order query.
//! Protocol facts: `../shared/gateways.md`.
mod papay;

pub use papay::{ContractResource, PapayConfig, PreSign};

use super::events::{Paid, PaymentEvent, Refunded, Verified};
use super::rsa_keys::{Signer, Verifier};
use super::strict;
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
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NotifyRejection {
    /// Missing headers, unknown key id, or a signature that does not verify (probes included).
    BadSignature,
    /// |now − Wechatpay-Timestamp| ≥ 300 s.
    Stale,
    /// A `Wechatpay-*` header or a body key given twice: refused before verification.
    RepeatedKey(String),
}

impl NotifyRejection {
    /// The short reason kept in the record of rejected notifications.
    pub fn reason(&self) -> &'static str {
        match self {
            NotifyRejection::BadSignature => "bad_signature",
            NotifyRejection::Stale => "stale",
            NotifyRejection::RepeatedKey(_) => "repeated_key",
        }
    }
}

/// A verified notification, decrypted and parsed once (strictly): what the payments use case gets.
#[derive(Debug, Clone)]
pub enum Event {
    /// `TRANSACTION.*`: the payment's resource.
    Transaction { id: String, tx: Transaction },
    /// `REFUND.*`: the refund's resource.
    Refund { id: String, refund: RefundResource },
    /// `ENTRUST.*`: an auto-debit contract was signed or ended.
    Contract { id: String, contract: ContractResource },
    /// Any other event type (recorded, not acted on).
    Other { id: String, event_type: String },
}

/// A verified body that could not be read: WeChat Pay should send it again.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Unreadable {
    /// The envelope's id when it got that far.
    pub id: Option<String>,
    pub verdict: &'static str,
    pub detail: String,
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
    /// 委托代扣, when a plan id is configured.
    pub papay: Option<PapayConfig>,
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

impl SignedHeaders {
    /// Reads the four `Wechatpay-*` headers from `values` (every value a header has, by name);
    /// a header given twice is refused, so what is verified is what is recorded.
    pub fn read(values: impl Fn(&str) -> Vec<String>) -> Result<SignedHeaders, NotifyRejection> {
        let one = |name: &str| {
            let mut v = values(name);
            match v.len() {
                0 => Ok(String::new()),
                1 => Ok(v.pop().unwrap_or_default()),
                _ => Err(NotifyRejection::RepeatedKey(name.to_string())),
            }
        };
        Ok(SignedHeaders {
            timestamp: one("Wechatpay-Timestamp")?,
            nonce: one("Wechatpay-Nonce")?,
            serial: one("Wechatpay-Serial")?,
            signature: one("Wechatpay-Signature")?,
        })
    }
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
    #[serde(default)]
    pub payer: Option<TxPayer>,
}

/// `payer` of a transaction.
#[derive(Debug, Clone, Deserialize)]
pub struct TxPayer {
    #[serde(default)]
    pub openid: Option<String>,
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

    /// Reads a notification whose signature `check_notification` accepted: the envelope and its
    /// decrypted resource, each parsed once and refused if any key repeats.
    pub fn read_event(&self, body: &[u8]) -> Result<Event, Unreadable> {
        let verdict = |e: &strict::StrictError, otherwise| match e {
            strict::StrictError::RepeatedKey(_) => "repeated_key",
            strict::StrictError::Malformed(_) => otherwise,
        };
        let envelope: Envelope = strict::json(body).map_err(|e| Unreadable {
            id: None,
            verdict: verdict(&e, "malformed"),
            detail: e.to_string(),
        })?;
        let id = envelope.id;
        let unreadable = |verdict, detail: String| Unreadable {
            id: Some(id.clone()),
            verdict,
            detail,
        };
        let resource = || {
            self.decrypt(&envelope.resource)
                .map_err(|e| unreadable("undecryptable", e.to_string()))
        };
        let kind = envelope.event_type;
        if kind.starts_with("TRANSACTION.") {
            let tx = strict::json(&resource()?).map_err(|e| unreadable(verdict(&e, "undecryptable"), e.to_string()))?;
            Ok(Event::Transaction { id, tx })
        } else if kind.starts_with("REFUND.") {
            let refund =
                strict::json(&resource()?).map_err(|e| unreadable(verdict(&e, "undecryptable"), e.to_string()))?;
            Ok(Event::Refund { id, refund })
        } else if kind.starts_with("ENTRUST.") {
            let contract =
                strict::json(&resource()?).map_err(|e| unreadable(verdict(&e, "undecryptable"), e.to_string()))?;
            Ok(Event::Contract { id, contract })
        } else {
            Ok(Event::Other { id, event_type: kind })
        }
    }

    /// A notification whose signature `check_notification` accepted, as a provider-neutral event.
    pub fn payment_event(&self, body: &[u8]) -> Result<Verified, Unreadable> {
        Ok(match self.read_event(body)? {
            Event::Transaction { id, tx } => Verified {
                key: Some(id),
                event: self.transaction_event(tx),
            },
            Event::Refund { id, refund: r } => Verified {
                key: Some(id),
                event: PaymentEvent::Refunded(Refunded {
                    out_trade_no: r.out_trade_no,
                    out_refund_no: r.out_refund_no,
                    status: r.refund_status,
                    refund_id: r.refund_id,
                }),
            },
            Event::Contract { id, contract } => Verified {
                key: Some(id),
                event: PaymentEvent::Mandate(self.contract_event(contract)),
            },
            Event::Other { id, event_type } => Verified {
                key: Some(id),
                event: PaymentEvent::Other { kind: event_type },
            },
        })
    }

    /// What a transaction (notified or queried) means for us: paid to this merchant and app in
    /// state SUCCESS with a transaction id and an amount, or why it cannot pay anything.
    pub fn transaction_event(&self, tx: Transaction) -> PaymentEvent {
        let transaction_id = tx.transaction_id.unwrap_or_default();
        let why = if tx.appid != self.cfg.appid {
            format!("appid {} ≠ {}", tx.appid, self.cfg.appid)
        } else if tx.mchid != self.cfg.mchid {
            format!("mchid {} ≠ {}", tx.mchid, self.cfg.mchid)
        } else if tx.trade_state != "SUCCESS" {
            format!("trade_state {}", tx.trade_state)
        } else if transaction_id.is_empty() {
            "no transaction_id".into()
        } else if let Some(a) = tx.amount {
            return PaymentEvent::Paid(Paid {
                out_trade_no: tx.out_trade_no,
                amount_fen: a.total,
                transaction_id,
                payer: tx.payer.and_then(|p| p.openid),
            });
        } else {
            "no amount".into()
        };
        PaymentEvent::Unpayable {
            out_trade_no: tx.out_trade_no,
            why,
        }
    }

    /// Asks WeChat Pay about an order (`query`), as an event; `None` when it does not know it.
    pub async fn query_event(&self, out_trade_no: &str) -> Result<Option<PaymentEvent>, WxPayError> {
        Ok(self.query(out_trade_no).await?.map(|tx| self.transaction_event(tx)))
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

    fn headers_of(resp: &reqwest::Response) -> Result<SignedHeaders, NotifyRejection> {
        SignedHeaders::read(|n| {
            resp.headers()
                .get_all(n)
                .iter()
                .map(|v| v.to_str().unwrap_or_default().to_string())
                .collect()
        })
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
        if (200..300).contains(&status) {
            let signed = headers.is_ok_and(|h| self.signature_ok(&h, text.as_bytes()));
            if !signed {
                return Err(WxPayError::Forged);
            }
            // Signed answers are read once, strictly (callers parse `text` with `strict::json`).
            if !text.is_empty() {
                strict::unique_keys(text.as_bytes()).map_err(|e| WxPayError::Malformed(e.to_string()))?;
            }
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
        strict::json::<Answer>(text.as_bytes())
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
            200..=299 => strict::json(text.as_bytes())
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
        strict::json::<Answer>(text.as_bytes())
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

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use std::sync::OnceLock;

    const KEY_ID: &str = "PUB_KEY_ID_TEST";
    const APIV3: &[u8; 32] = b"0123456789abcdef0123456789abcdef";

    /// A client verifying with the committed test platform key (tests/fixtures, test-only),
    /// and the matching signer.
    fn wx() -> &'static (WechatPay, Signer) {
        static W: OnceLock<(WechatPay, Signer)> = OnceLock::new();
        W.get_or_init(|| {
            let cfg = WechatPayConfig {
                api_base: "http://127.0.0.1:9".into(),
                mchid: "1900000001".into(),
                appid: "wxtestappid".into(),
                apiv3_key: APIV3.to_vec(),
                merchant_serial_no: "SERIAL".into(),
                signer: Signer::from_file("tests/fixtures/wechatpay_merchant_test_key.pem").unwrap(),
                platform: Verifier::from_file("tests/fixtures/wechatpay_platform_test_pub.pem").unwrap(),
                platform_public_key_id: KEY_ID.into(),
                papay: None,
                notify_url: "https://wuye.example/api/v1/notify/wechatpay".into(),
            };
            let clock: SharedClock = std::sync::Arc::new(crate::clock::SystemClock);
            let signer = Signer::from_file("tests/fixtures/wechatpay_platform_test_key.pem").unwrap();
            (
                WechatPay::new(crate::gateways::http_client().unwrap(), cfg, clock),
                signer,
            )
        })
    }

    fn seal(plain: &str) -> String {
        use base64::{engine::general_purpose::STANDARD, Engine};
        let key = aead::LessSafeKey::new(aead::UnboundKey::new(&aead::AES_256_GCM, APIV3).unwrap());
        let mut data = plain.as_bytes().to_vec();
        key.seal_in_place_append_tag(
            aead::Nonce::try_assume_unique_for_key(b"0123456789ab").unwrap(),
            aead::Aad::from(b"transaction"),
            &mut data,
        )
        .unwrap();
        STANDARD.encode(data)
    }

    fn envelope(event_type: &str, plain: &str) -> String {
        format!(
            r#"{{"id":"EV-1","event_type":"{event_type}","resource_type":"encrypt-resource","resource":{{"algorithm":"AEAD_AES_256_GCM","ciphertext":"{}","associated_data":"transaction","nonce":"0123456789ab"}}}}"#,
            seal(plain)
        )
    }

    fn headers_for(body: &str) -> SignedHeaders {
        let ts = chrono::Utc::now().timestamp().to_string();
        let sig = wx().1.sign_b64(format!("{ts}\nn1\n{body}\n").as_bytes()).unwrap();
        SignedHeaders {
            timestamp: ts,
            nonce: "n1".into(),
            serial: KEY_ID.into(),
            signature: sig,
        }
    }

    const TX: &str = r#"{"appid":"wxtestappid","mchid":"1900000001","out_trade_no":"W1","transaction_id":"42","trade_state":"SUCCESS","amount":{"total":100}}"#;

    #[test]
    fn a_signed_notification_is_read_once() {
        let body = envelope("TRANSACTION.SUCCESS", TX);
        let w = &wx().0;
        assert_eq!(w.check_notification(&headers_for(&body), body.as_bytes()), Ok(()));
        match w.read_event(body.as_bytes()).unwrap() {
            Event::Transaction { tx, .. } => assert_eq!(
                (tx.out_trade_no.as_str(), tx.amount.map(|a| a.total)),
                ("W1", Some(100))
            ),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn repeated_keys_in_a_resource_or_envelope_or_header_are_refused() {
        let w = &wx().0;
        let twice = TX.replace(r#""amount":{"total":100}"#, r#""amount":{"total":100,"total":1}"#);
        let e = w
            .read_event(envelope("TRANSACTION.SUCCESS", &twice).as_bytes())
            .unwrap_err();
        assert_eq!(e.verdict, "repeated_key");
        let twice = TX.replace(r#""out_trade_no":"W1""#, r#""out_trade_no":"W1","out_trade_no":"W2""#);
        assert_eq!(
            w.read_event(envelope("REFUND.SUCCESS", &twice).as_bytes())
                .unwrap_err()
                .verdict,
            "repeated_key"
        );
        let body = envelope("TRANSACTION.SUCCESS", TX).replacen(r#""id":"EV-1""#, r#""id":"EV-1","id":"EV-2""#, 1);
        assert_eq!(w.read_event(body.as_bytes()).unwrap_err().verdict, "repeated_key");
        let h = SignedHeaders::read(|n| {
            if n == "Wechatpay-Signature" {
                vec!["a".into(), "b".into()]
            } else {
                vec!["x".into()]
            }
        });
        assert_eq!(
            h.unwrap_err(),
            NotifyRejection::RepeatedKey("Wechatpay-Signature".into())
        );
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(300))]

        /// Arbitrary headers and bodies are refused cleanly (probe signatures included).
        #[test]
        fn never_panics_on_arbitrary_notifications(
            ts in "[0-9a-z/+=-]{0,14}", nonce in ".{0,8}", serial in prop_oneof![Just(KEY_ID.to_string()), ".{0,8}"],
            sig in prop_oneof![Just("WECHATPAY/SIGNTEST/9Z8Y".to_string()), "[A-Za-z0-9+/=]{0,40}", ".{0,20}"],
            body in proptest::collection::vec(any::<u8>(), 0..400),
        ) {
            let h = SignedHeaders { timestamp: ts, nonce, serial, signature: sig };
            prop_assert!(wx().0.check_notification(&h, &body).is_err());
            let _ = wx().0.read_event(&body);
        }

        /// Arbitrary resources (wrong algorithm, bad base64, short nonces, tampered ciphertext).
        #[test]
        fn never_panics_on_arbitrary_resources(
            algorithm in prop_oneof![Just("AEAD_AES_256_GCM".to_string()), ".{0,10}"],
            ciphertext in prop_oneof![Just(seal(TX)), "[A-Za-z0-9+/=]{0,60}", ".{0,30}"],
            associated_data in ".{0,12}", nonce in ".{0,14}",
            event_type in prop_oneof![Just("TRANSACTION.SUCCESS".to_string()), Just("REFUND.SUCCESS".to_string()), ".{0,10}"],
        ) {
            let r = Resource { algorithm, ciphertext: ciphertext.clone(), associated_data: associated_data.clone(), nonce: nonce.clone() };
            let _ = wx().0.decrypt(&r);
            let body = serde_json::json!({"id": "E", "event_type": event_type, "resource": {"algorithm": r.algorithm, "ciphertext": ciphertext, "associated_data": associated_data, "nonce": nonce}});
            let _ = wx().0.read_event(body.to_string().as_bytes());
        }
    }
}
