//! Alipay open platform (RSA2): signed gateway calls whose answers are verified over the exact
//! text of the `<method>_response` value, `alipay.trade.precreate` (当面付 QR) and `.query`, and
//! asynchronous-notification verification. Protocol facts: `../shared/gateways.md`.
mod agreement;

pub use agreement::AgreementCodes;

use super::events::{Paid, PaymentEvent, Verified};
use super::rsa_keys::{Signer, Verifier};
use super::strict::{self, StrictError};
use crate::clock::SharedClock;
use crate::domain::Fen;
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
    /// 商家扣款 agreement codes.
    pub agreement: AgreementCodes,
}

/// The Alipay client.
pub struct Alipay {
    http: reqwest::Client,
    pub cfg: AlipayConfig,
    clock: SharedClock,
}

/// Why a notification was refused before any of its fields were used.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NotifyRejection {
    /// A key appears twice: refused before verification (see `strict`).
    RepeatedKey(String),
    /// Not a form at all.
    Malformed(String),
    /// No signature, another algorithm, or one that does not verify.
    BadSignature,
}

impl NotifyRejection {
    /// The short reason kept in the record of rejected notifications.
    pub fn reason(&self) -> &'static str {
        match self {
            NotifyRejection::RepeatedKey(_) => "repeated_key",
            NotifyRejection::Malformed(_) => "malformed",
            NotifyRejection::BadSignature => "bad_signature",
        }
    }
}

/// A notification's fields, every one covered by Alipay's signature (empty ones dropped): the only
/// view of a notification that business code gets.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerifiedNotification {
    fields: BTreeMap<String, String>,
}

impl VerifiedNotification {
    /// A signed field, or "" when the notification did not carry it.
    pub fn get(&self, key: &str) -> &str {
        self.fields.get(key).map(String::as_str).unwrap_or_default()
    }
    pub fn notify_id(&self) -> &str {
        self.get("notify_id")
    }
    pub fn app_id(&self) -> &str {
        self.get("app_id")
    }
    pub fn seller_id(&self) -> &str {
        self.get("seller_id")
    }
    pub fn out_trade_no(&self) -> &str {
        self.get("out_trade_no")
    }
    pub fn trade_no(&self) -> &str {
        self.get("trade_no")
    }
    pub fn trade_status(&self) -> &str {
        self.get("trade_status")
    }
    pub fn total_amount(&self) -> &str {
        self.get("total_amount")
    }

    /// What this notification means for `m`: paid (a crediting status, our app id and seller, a
    /// trade number and an amount), not paid (any other status), or why it cannot pay anything.
    pub fn event_for(&self, m: &Merchant<'_>) -> Verified {
        let out_trade_no = self.out_trade_no().to_string();
        let status = self.trade_status();
        let why = if !m.credits.contains(&status) {
            return Verified {
                key: Some(self.notify_id().to_string()),
                event: PaymentEvent::NotPaid {
                    out_trade_no,
                    state: status.to_string(),
                    may_still_pay: status == "WAIT_BUYER_PAY",
                },
            };
        } else if self.app_id() != m.app_id {
            format!("app_id {} ≠ {}", self.app_id(), m.app_id)
        } else if m.seller_id.is_some_and(|s| self.seller_id() != s) {
            format!("seller_id {} ≠ {:?}", self.seller_id(), m.seller_id)
        } else if self.trade_no().is_empty() {
            "no trade_no".into()
        } else {
            match Fen::parse(self.total_amount()) {
                Ok(amount) => {
                    let payer = Some(self.get("buyer_id")).filter(|b| !b.is_empty());
                    return Verified {
                        key: Some(self.notify_id().to_string()),
                        event: PaymentEvent::Paid(Paid {
                            out_trade_no,
                            amount_fen: amount.0,
                            transaction_id: self.trade_no().to_string(),
                            payer: payer.map(str::to_string),
                        }),
                    };
                }
                Err(_) => format!("total_amount {:?}", self.total_amount()),
            }
        };
        Verified {
            key: Some(self.notify_id().to_string()),
            event: PaymentEvent::Unpayable { out_trade_no, why },
        }
    }
}

/// What a form notification (Alipay's format) must name to credit us.
pub struct Merchant<'a> {
    /// Trade statuses that mean paid.
    pub credits: &'a [&'a str],
    pub app_id: &'a str,
    /// When configured, the seller every crediting notification must name.
    pub seller_id: Option<&'a str>,
}

impl TradeQuery {
    /// What a query answer means: paid (a crediting status, a trade number, an amount), not paid
    /// (waiting or closed), or why it cannot pay.
    pub fn event(self, out_trade_no: &str) -> PaymentEvent {
        let out_trade_no = out_trade_no.to_string();
        let status = self.trade_status.unwrap_or_default();
        if !matches!(status.as_str(), "TRADE_SUCCESS" | "TRADE_FINISHED") {
            return PaymentEvent::NotPaid {
                out_trade_no,
                may_still_pay: status == "WAIT_BUYER_PAY",
                state: status,
            };
        }
        let amount = self.total_amount.as_deref().and_then(|a| Fen::parse(a).ok());
        match (self.trade_no.filter(|t| !t.is_empty()), amount) {
            (Some(transaction_id), Some(amount)) => PaymentEvent::Paid(Paid {
                out_trade_no,
                amount_fen: amount.0,
                transaction_id,
                payer: None,
            }),
            (None, _) => PaymentEvent::Unpayable {
                out_trade_no,
                why: "no trade_no".into(),
            },
            (_, None) => PaymentEvent::Unpayable {
                out_trade_no,
                why: format!("total_amount {:?}", self.total_amount),
            },
        }
    }
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

/// Verifies a signed form (Alipay's notification format): one strict parse (a repeated key is
/// refused before anything else), RSA2 with `key` over the signing string of exactly those fields,
/// and the verified fields back.
pub fn verify_form(raw: &[u8], key: &Verifier) -> Result<VerifiedNotification, NotifyRejection> {
    let mut fields = strict::form(raw).map_err(|e| match e {
        StrictError::RepeatedKey(k) => NotifyRejection::RepeatedKey(k),
        StrictError::Malformed(m) => NotifyRejection::Malformed(m),
    })?;
    let sign = fields.remove("sign").unwrap_or_default();
    let sign_type = fields.remove("sign_type").unwrap_or_else(|| "RSA2".into());
    if sign.is_empty() || sign_type != "RSA2" {
        return Err(NotifyRejection::BadSignature);
    }
    // Empty values are not signed, so they are not kept either: nothing unsigned is read.
    fields.retain(|_, v| !v.is_empty());
    let s = signing_string(fields.iter().map(|(k, v)| (k.as_str(), v.as_str())));
    if !key.verify_b64(s.as_bytes(), &sign) {
        return Err(NotifyRejection::BadSignature);
    }
    Ok(VerifiedNotification { fields })
}

/// A form signed like Alipay's notifications (the sandbox sends these): fields, then `sign_type`
/// and `sign` over their signing string.
pub fn signed_form(fields: &[(&str, &str)], key: &Signer) -> Result<String, super::rsa_keys::KeyError> {
    let sig = key.sign_b64(signing_string(fields.iter().copied()).as_bytes())?;
    let mut ser = url::form_urlencoded::Serializer::new(String::new());
    for (k, v) in fields {
        ser.append_pair(k, v);
    }
    Ok(ser.append_pair("sign_type", "RSA2").append_pair("sign", &sig).finish())
}

impl Alipay {
    pub fn new(http: reqwest::Client, cfg: AlipayConfig, clock: SharedClock) -> Self {
        Self { http, cfg, clock }
    }

    /// Verifies a notification body with the Alipay public key (see `verify_form`).
    pub fn verify_notification(&self, raw: &[u8]) -> Result<VerifiedNotification, NotifyRejection> {
        verify_form(raw, &self.cfg.alipay_public)
    }

    /// A notification verified with the Alipay public key, as a provider-neutral event.
    pub fn payment_event(&self, raw: &[u8]) -> Result<Verified, NotifyRejection> {
        let merchant = Merchant {
            credits: &["TRADE_SUCCESS", "TRADE_FINISHED"],
            app_id: &self.cfg.app_id,
            seller_id: self.cfg.seller_id.as_deref(),
        };
        let n = self.verify_notification(raw)?;
        if n.get("notify_type").starts_with("dut_user_") {
            return Ok(self.agreement_event(&n));
        }
        Ok(n.event_for(&merchant))
    }

    /// Asks Alipay about an order (`query`), as an event; `None` when it does not know it.
    pub async fn query_event(&self, out_trade_no: &str) -> Result<Option<PaymentEvent>, AlipayError> {
        Ok(self.query(out_trade_no).await?.map(|t| t.event(out_trade_no)))
    }

    /// The public parameters and `biz_content` of a request to `method`, signed with our key.
    fn signed_params(
        &self,
        method: &str,
        biz: serde_json::Value,
        with_notify: bool,
    ) -> Result<Vec<(&'static str, String)>, AlipayError> {
        // Alipay's timestamps are Beijing time.
        let timestamp = self
            .clock
            .now()
            .with_timezone(&chrono_tz::Asia::Shanghai)
            .format("%Y-%m-%d %H:%M:%S")
            .to_string();
        let mut params: Vec<(&'static str, String)> = vec![
            ("app_id", self.cfg.app_id.clone()),
            ("method", method.to_string()),
            ("format", "JSON".into()),
            ("charset", "utf-8".into()),
            ("sign_type", "RSA2".into()),
            ("timestamp", timestamp),
            ("version", "1.0".into()),
            ("biz_content", biz.to_string()),
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
        Ok(params)
    }

    /// Calls `method` with `biz_content`; returns the verified `<method>_response` object.
    async fn call(
        &self,
        method: &str,
        biz: serde_json::Value,
        with_notify: bool,
    ) -> Result<serde_json::Value, AlipayError> {
        let params = self.signed_params(method, biz, with_notify)?;
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
        // One parse: a repeated node or `sign` would let the verified text and the used text differ.
        strict::unique_keys(text.as_bytes()).map_err(|e| AlipayError::Malformed(e.to_string()))?;
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

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use std::sync::OnceLock;

    /// A client whose "Alipay key" is the committed test key pair (tests/fixtures, test-only).
    fn alipay() -> &'static (Alipay, Signer) {
        static A: OnceLock<(Alipay, Signer)> = OnceLock::new();
        A.get_or_init(|| {
            let key = "tests/fixtures/alipay_platform_test_key.pem";
            let cfg = AlipayConfig {
                gateway_url: "http://127.0.0.1:9/gateway.do".into(),
                app_id: "2021000000000001".into(),
                signer: Signer::from_file("tests/fixtures/alipay_app_test_key.pem").unwrap(),
                alipay_public: Verifier::from_file("tests/fixtures/alipay_platform_test_pub.pem").unwrap(),
                notify_url: "https://wuye.example/api/v1/notify/alipay".into(),
                seller_id: None,
                agreement: AgreementCodes::default(),
            };
            let clock: SharedClock = std::sync::Arc::new(crate::clock::SystemClock);
            (
                Alipay::new(crate::gateways::http_client().unwrap(), cfg, clock),
                Signer::from_file(key).unwrap(),
            )
        })
    }

    const FIELDS: [(&str, &str); 8] = [
        ("notify_id", "N-1"),
        ("app_id", "2021000000000001"),
        ("trade_no", "2026102022001"),
        ("out_trade_no", "W20261020A"),
        ("trade_status", "TRADE_SUCCESS"),
        ("total_amount", "223.75"),
        ("seller_id", "2088000000000001"),
        ("notify_time", "2026-10-20 10:06:00"),
    ];

    /// A genuinely signed notification body.
    fn signed() -> String {
        let (_, key) = alipay();
        let sig = key.sign_b64(signing_string(FIELDS).as_bytes()).unwrap();
        let mut ser = url::form_urlencoded::Serializer::new(String::new());
        for (k, v) in FIELDS {
            ser.append_pair(k, v);
        }
        ser.append_pair("sign_type", "RSA2").append_pair("sign", &sig).finish()
    }

    #[test]
    fn a_genuine_notification_verifies_and_gives_its_fields() {
        let v = alipay().0.verify_notification(signed().as_bytes()).unwrap();
        assert_eq!(
            (v.out_trade_no(), v.total_amount(), v.trade_no()),
            ("W20261020A", "223.75", "2026102022001")
        );
        assert_eq!(v.get("sign"), "", "the signature itself is not a business field");
    }

    #[test]
    fn the_merchant_checks_turn_a_verified_form_into_one_event() {
        let v = alipay().0.verify_notification(signed().as_bytes()).unwrap();
        let ours = |app_id, seller_id, credits: &'static [&'static str]| Merchant {
            credits,
            app_id,
            seller_id,
        };
        let paid = v.event_for(&ours("2021000000000001", Some("2088000000000001"), &["TRADE_SUCCESS"]));
        assert_eq!(paid.key.as_deref(), Some("N-1"));
        assert_eq!(
            paid.event,
            PaymentEvent::Paid(Paid {
                out_trade_no: "W20261020A".into(),
                amount_fen: 22_375,
                transaction_id: "2026102022001".into(),
                payer: None,
            })
        );
        let other_app = v.event_for(&ours("2021999", None, &["TRADE_SUCCESS"])).event;
        assert!(matches!(other_app, PaymentEvent::Unpayable { ref why, .. } if why.starts_with("app_id")));
        let other_seller = v
            .event_for(&ours("2021000000000001", Some("2088999"), &["TRADE_SUCCESS"]))
            .event;
        assert!(matches!(other_seller, PaymentEvent::Unpayable { ref why, .. } if why.starts_with("seller_id")));
        let not_crediting = v.event_for(&ours("2021000000000001", None, &["TRADE_FINISHED"])).event;
        assert!(matches!(
            not_crediting,
            PaymentEvent::NotPaid {
                may_still_pay: false,
                ..
            }
        ));
    }

    #[test]
    fn a_query_answer_is_the_same_kind_of_event() {
        let q = |status: &str, trade_no: Option<&str>, amount: &str| TradeQuery {
            out_trade_no: Some("W1".into()),
            trade_no: trade_no.map(str::to_string),
            trade_status: Some(status.into()),
            total_amount: Some(amount.into()),
        };
        assert!(matches!(
            q("TRADE_FINISHED", Some("T1"), "1.00").event("W1"),
            PaymentEvent::Paid(Paid { amount_fen: 100, .. })
        ));
        assert!(matches!(
            q("WAIT_BUYER_PAY", None, "1.00").event("W1"),
            PaymentEvent::NotPaid {
                may_still_pay: true,
                ..
            }
        ));
        assert!(matches!(
            q("TRADE_CLOSED", None, "1.00").event("W1"),
            PaymentEvent::NotPaid {
                may_still_pay: false,
                ..
            }
        ));
        assert!(matches!(
            q("TRADE_SUCCESS", None, "1.00").event("W1"),
            PaymentEvent::Unpayable { .. }
        ));
        assert!(matches!(
            q("TRADE_SUCCESS", Some("T1"), "1.001").event("W1"),
            PaymentEvent::Unpayable { .. }
        ));
    }

    #[test]
    fn repeated_keys_are_refused_before_verification() {
        let (a, _) = alipay();
        let body = signed();
        // The attack: another order's fields prepended to a genuinely signed body.
        let attack = format!("out_trade_no=W-OTHER&total_amount=999.00&trade_no=NEW&{body}");
        assert!(matches!(
            a.verify_notification(attack.as_bytes()),
            Err(NotifyRejection::RepeatedKey(_))
        ));
        for key in ["sign", "app_id", "trade_status", "sign_type"] {
            let twice = format!("{body}&{key}=x");
            assert_eq!(
                a.verify_notification(twice.as_bytes()),
                Err(NotifyRejection::RepeatedKey(key.into())),
                "{key}"
            );
        }
    }

    /// One edit of a signed body: what an attacker can do without Alipay's key.
    #[derive(Debug, Clone)]
    enum Mutation {
        /// Add `k=v` at the front or the back.
        Add { front: bool, key: String, value: String },
        /// Repeat an existing key with another value.
        Repeat { field: usize, value: String },
        /// Change a field's value.
        Change { field: usize, value: String },
        /// Drop a field.
        Drop { field: usize },
        /// Spell a key differently (percent-encoded first byte, or upper case).
        Respell { field: usize, upper: bool },
    }

    fn mutation() -> impl Strategy<Value = Mutation> {
        let key = prop_oneof![
            Just("out_trade_no".to_string()),
            Just("total_amount".to_string()),
            Just("trade_no".to_string()),
            Just("trade_status".to_string()),
            Just("app_id".to_string()),
            Just("sign".to_string()),
            "[a-z_]{1,12}",
        ];
        let value = "[A-Za-z0-9.=&%+ ]{0,10}";
        prop_oneof![
            (any::<bool>(), key, value).prop_map(|(front, key, value)| Mutation::Add { front, key, value }),
            (0usize..10, value).prop_map(|(field, value)| Mutation::Repeat { field, value }),
            (0usize..10, "[A-Za-z0-9.]{0,10}").prop_map(|(field, value)| Mutation::Change { field, value }),
            (0usize..10).prop_map(|field| Mutation::Drop { field }),
            (0usize..10, any::<bool>()).prop_map(|(field, upper)| Mutation::Respell { field, upper }),
        ]
    }

    fn apply(body: &str, m: &Mutation) -> String {
        let mut pairs: Vec<(String, String)> = url::form_urlencoded::parse(body.as_bytes()).into_owned().collect();
        let n = pairs.len();
        let enc = |k: &str, v: &str| {
            url::form_urlencoded::Serializer::new(String::new())
                .append_pair(k, v)
                .finish()
        };
        match m {
            Mutation::Add { front, key, value } => {
                let extra = enc(key, value);
                return if *front {
                    format!("{extra}&{body}")
                } else {
                    format!("{body}&{extra}")
                };
            }
            Mutation::Repeat { field, value } => {
                let k = pairs[field % n].0.clone();
                pairs.push((k, value.clone()));
            }
            Mutation::Change { field, value } => pairs[field % n].1 = value.clone(),
            Mutation::Drop { field } => {
                pairs.remove(field % n);
            }
            Mutation::Respell { field, upper } => {
                let (k, v) = pairs[field % n].clone();
                let spelt = if *upper {
                    k.to_uppercase()
                } else {
                    format!("%{:02X}{}", k.as_bytes()[0], &k[1..])
                };
                let rest: Vec<String> = pairs
                    .iter()
                    .enumerate()
                    .filter(|(i, _)| *i != field % n)
                    .map(|(_, (k, v))| enc(k, v))
                    .collect();
                return format!("{spelt}={}&{}", enc("x", &v).trim_start_matches("x="), rest.join("&"));
            }
        }
        pairs.iter().map(|(k, v)| enc(k, v)).collect::<Vec<_>>().join("&")
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(300))]

        /// No edit of a signed form short of re-signing it yields fields other than the signed
        /// ones: it is refused, or (an empty value, a changed order) it says exactly what was signed.
        #[test]
        fn no_mutation_of_a_signed_form_verifies_other_fields(ms in proptest::collection::vec(mutation(), 1..4)) {
            let (a, _) = alipay();
            let genuine = a.verify_notification(signed().as_bytes()).unwrap();
            let mut body = signed();
            for m in &ms {
                body = apply(&body, m);
            }
            if let Ok(v) = a.verify_notification(body.as_bytes()) {
                prop_assert_eq!(v, genuine.clone(), "{}", body);
            }
        }

        /// Arbitrary bytes never panic the parser or the verifier.
        #[test]
        fn never_panics_on_arbitrary_bodies(raw in proptest::collection::vec(any::<u8>(), 0..600)) {
            let _ = alipay().0.verify_notification(&raw);
        }
    }
}
