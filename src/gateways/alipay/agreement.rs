//! Alipay 商家扣款 agreements: the signing page (`alipay.user.agreement.page.sign`, a signed URL the
//! owner opens by scanning it as a QR with Alipay), cancelling (`alipay.user.agreement.unsign`),
//! and the `dut_user_sign` / `dut_user_unsign` notifications as provider-neutral mandate events.
use super::{Alipay, AlipayError, VerifiedNotification};
use crate::gateways::events::{MandateChange, MandateState, PaymentEvent, Verified};

/// Product and scene codes of the company's Alipay contract (`alipay.agreement_*`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AgreementCodes {
    pub product_code: String,
    pub personal_product_code: String,
    pub sign_scene: String,
}

impl Default for AgreementCodes {
    fn default() -> Self {
        Self {
            product_code: "GENERAL_WITHHOLDING".into(),
            personal_product_code: "GENERAL_WITHHOLDING_P".into(),
            sign_scene: "DEFAULT|DEFAULT".into(),
        }
    }
}

impl Alipay {
    /// The signing page for agreement `external_agreement_no`: the gateway URL with the signed
    /// request as its query (a page method is opened, not called). Shown as a QR.
    pub fn agreement_sign_url(&self, external_agreement_no: &str) -> Result<String, AlipayError> {
        let c = &self.cfg.agreement;
        let biz = serde_json::json!({
            "product_code": c.product_code,
            "personal_product_code": c.personal_product_code,
            "sign_scene": c.sign_scene,
            "external_agreement_no": external_agreement_no,
            "access_params": {"channel": "QRCODE"},
        });
        let params = self.signed_params("alipay.user.agreement.page.sign", biz, true)?;
        let mut query = url::form_urlencoded::Serializer::new(String::new());
        for (k, v) in &params {
            query.append_pair(k, v);
        }
        Ok(format!("{}?{}", self.cfg.gateway_url, query.finish()))
    }

    /// Ends an agreement. `Ok(false)` when Alipay does not know it as signed (nothing to end).
    pub async fn agreement_unsign(&self, agreement_no: &str) -> Result<bool, AlipayError> {
        let c = &self.cfg.agreement;
        let biz = serde_json::json!({
            "agreement_no": agreement_no,
            "personal_product_code": c.personal_product_code,
            "sign_scene": c.sign_scene,
        });
        match self.call("alipay.user.agreement.unsign", biz, false).await {
            Ok(_) => Ok(true),
            Err(AlipayError::Refused { sub_code: Some(s), .. }) if s.contains("AGREEMENT_NOT_EXIST") => Ok(false),
            Err(e) => Err(e),
        }
    }

    /// Debits agreement `agreement_no` for our order (`alipay.trade.pay` with `agreement_params`),
    /// synchronously: the trade's event (paid, or why not). A refusal comes back as `Refused` with
    /// Alipay's `sub_msg` as the message.
    pub async fn agreement_pay(
        &self,
        out_trade_no: &str,
        total_yuan: &str,
        subject: &str,
        agreement_no: &str,
    ) -> Result<PaymentEvent, AlipayError> {
        let biz = serde_json::json!({
            "out_trade_no": out_trade_no,
            "total_amount": total_yuan,
            "subject": subject,
            "product_code": self.cfg.agreement.product_code,
            "agreement_params": {"agreement_no": agreement_no},
        });
        match self.call("alipay.trade.pay", biz, true).await {
            // 10000 is a completed payment; the answer carries no trade_status.
            Ok(v) => {
                let mut trade: super::TradeQuery =
                    serde_json::from_value(v).map_err(|e| AlipayError::Malformed(e.to_string()))?;
                trade.trade_status.get_or_insert_with(|| "TRADE_SUCCESS".into());
                Ok(trade.event(out_trade_no))
            }
            // 10003: still being processed; the notification or a query settles it.
            Err(AlipayError::Refused { code, .. }) if code == "10003" => Ok(PaymentEvent::NotPaid {
                out_trade_no: out_trade_no.to_string(),
                state: "WAIT_BUYER_PAY".into(),
                may_still_pay: true,
            }),
            Err(e) => Err(e),
        }
    }

    /// A verified `dut_user_sign` / `dut_user_unsign` notification as a mandate event.
    pub(super) fn agreement_event(&self, n: &VerifiedNotification) -> Verified {
        let app = n.app_id();
        let kind = n.get("notify_type");
        let status = n.get("status");
        let agreement_no = Some(n.get("agreement_no").to_string()).filter(|a| !a.is_empty());
        let state = if !app.is_empty() && app != self.cfg.app_id {
            MandateState::Mismatch(format!("app_id {app} ≠ {}", self.cfg.app_id))
        } else {
            match (kind, status) {
                ("dut_user_sign", "NORMAL") if agreement_no.is_some() => MandateState::Signed,
                ("dut_user_sign", "NORMAL") => MandateState::Mismatch("no agreement_no".into()),
                ("dut_user_unsign", "UNSIGN") => MandateState::Terminated,
                _ => MandateState::Mismatch(format!("{kind} status {status}")),
            }
        };
        let contract_code = n.get("external_agreement_no").to_string();
        let event = if contract_code.is_empty() {
            PaymentEvent::Other {
                kind: format!("{kind} without external_agreement_no"),
            }
        } else {
            PaymentEvent::Mandate(MandateChange {
                contract_code,
                contract_id: agreement_no,
                state,
            })
        };
        Verified {
            key: Some(n.notify_id().to_string()),
            event,
        }
    }
}
