//! The demo's payment sandbox (沙箱): a stand-in gateway that exists only under `serve --demo`, so
//! the demo shows the whole money path — order, notification, paid, receipt, evidence — with no
//! shortcut. When the payer confirms on the sandbox page, it sends a notification signed with a
//! committed demo-only key (in Alipay's form format) to `/api/v1/notify/sandbox`, where it is
//! verified and credited like any gateway's. The key is accepted nowhere but the demo.
use super::alipay::{signed_form, verify_form, Merchant, NotifyRejection};
use super::events::Verified;
use super::rsa_keys::{KeyError, Signer, Verifier};

/// The sandbox's app id (what its notifications carry as `app_id`).
pub const APP_ID: &str = "sandbox-demo";

/// The demo-only key pair (committed; never configure it for anything real).
const PRIVATE_KEY: &str = include_str!("../../config/demo/sandbox_platform_demo_only_key.pem");
const PUBLIC_KEY: &str = include_str!("../../config/demo/sandbox_platform_demo_only_pub.pem");

/// The sandbox gateway of a demo process.
pub struct Sandbox {
    signer: Signer,
    verifier: Verifier,
    http: reqwest::Client,
    /// Where this process's own `/api/v1/notify/sandbox` is.
    notify_url: String,
}

impl Sandbox {
    pub fn new(http: reqwest::Client, base_url: &str) -> Result<Self, KeyError> {
        Ok(Sandbox {
            signer: Signer::from_pem(PRIVATE_KEY)?,
            verifier: Verifier::from_pem(PUBLIC_KEY)?,
            http,
            notify_url: format!("{}/api/v1/notify/sandbox", base_url.trim_end_matches('/')),
        })
    }

    /// The notification the sandbox sends once an order is paid.
    pub fn notification(
        &self,
        out_trade_no: &str,
        total_yuan: &str,
        trade_no: &str,
        notify_time: &str,
    ) -> Result<String, KeyError> {
        let notify_id = format!("SBX-N-{trade_no}");
        signed_form(
            &[
                ("notify_type", "trade_status_sync"),
                ("notify_id", &notify_id),
                ("notify_time", notify_time),
                ("app_id", APP_ID),
                ("trade_no", trade_no),
                ("out_trade_no", out_trade_no),
                ("trade_status", "TRADE_SUCCESS"),
                ("total_amount", total_yuan),
            ],
            &self.signer,
        )
    }

    /// A notification verified the way a gateway's is (strict parse, RSA2), as an event. The
    /// sandbox only ever signs TRADE_SUCCESS; no other status of its credits.
    pub fn payment_event(&self, raw: &[u8]) -> Result<Verified, NotifyRejection> {
        let merchant = Merchant {
            credits: &["TRADE_SUCCESS"],
            app_id: APP_ID,
            seller_id: None,
        };
        Ok(verify_form(raw, &self.verifier)?.event_for(&merchant))
    }

    /// Posts a notification to this process's notify URL, as the gateway would; true on `success`.
    pub async fn send(&self, body: String) -> Result<bool, String> {
        let r = self
            .http
            .post(&self.notify_url)
            .header("content-type", "application/x-www-form-urlencoded")
            .body(body)
            .send()
            .await
            .map_err(|e| e.without_url().to_string())?;
        Ok(r.text().await.map_err(|e| e.to_string())? == "success")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn its_notifications_verify_and_a_changed_one_does_not() {
        let sb = Sandbox::new(crate::gateways::http_client().unwrap(), "http://127.0.0.1:1").unwrap();
        let n = sb.notification("WY1", "223.75", "SBX1", "2026-10-20 10:00:00").unwrap();
        let v = sb.payment_event(n.as_bytes()).unwrap();
        assert_eq!(v.key.as_deref(), Some("SBX-N-SBX1"));
        assert_eq!(
            v.event,
            crate::gateways::events::PaymentEvent::Paid(crate::gateways::events::Paid {
                out_trade_no: "WY1".into(),
                amount_fen: 22_375,
                transaction_id: "SBX1".into(),
                payer: None,
            })
        );
        let forged = n.replace("223.75", "1.00");
        assert!(sb.payment_event(forged.as_bytes()).is_err());
    }
}
