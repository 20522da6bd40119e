//! WeChat Pay 委托代扣 (v3 papay): mini-program pre-sign, termination by our contract code, the
//! deduct call, and contract notifications (`ENTRUST.SIGN` / `ENTRUST.TERMINATE`) as
//! provider-neutral mandate events. Paths are configuration (gateways.md: the direct-merchant
//! termination path is unconfirmed).
use super::{WechatPay, WxPayError};
use crate::gateways::events::{MandateChange, MandateState};
use crate::gateways::strict;
use serde::{Deserialize, Serialize};

/// Contract settings (`wechatpay.papay_*`); auto-debit through WeChat Pay needs a plan id.
#[derive(Debug, Clone)]
pub struct PapayConfig {
    pub plan_id: String,
    pub contract_notify_url: String,
    pub presign_path: String,
    pub terminate_path: String,
    pub apply_path: String,
}

/// What the mini-program needs to open WeChat Pay's signing page (`wx.navigateToMiniProgram`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct PreSign {
    pub pre_entrustweb_id: String,
    #[serde(default)]
    pub redirect_appid: Option<String>,
    #[serde(default)]
    pub redirect_path: Option<String>,
}

/// A contract notification's resource.
#[derive(Debug, Clone, Deserialize)]
pub struct ContractResource {
    #[serde(default)]
    pub mchid: String,
    #[serde(default)]
    pub appid: String,
    #[serde(default)]
    pub plan_id: String,
    #[serde(default)]
    pub contract_id: Option<String>,
    pub out_contract_code: String,
    pub contract_state: String,
}

impl WechatPay {
    fn papay(&self) -> Result<&PapayConfig, WxPayError> {
        self.cfg
            .papay
            .as_ref()
            .ok_or_else(|| WxPayError::Malformed("wechatpay.papay_plan_id is not set".into()))
    }

    /// True when contracts can be signed (a plan id is configured).
    pub fn papay_ready(&self) -> bool {
        self.cfg.papay.is_some()
    }

    /// Mini-program pre-sign: a signing session for `out_contract_code`, shown to the owner as
    /// `display_account` (the units it debits).
    pub async fn presign(&self, out_contract_code: &str, display_account: &str) -> Result<PreSign, WxPayError> {
        let p = self.papay()?;
        let body = serde_json::json!({
            "mchid": self.cfg.mchid,
            "appid": self.cfg.appid,
            "plan_id": p.plan_id,
            "out_contract_code": out_contract_code,
            "contract_display_account": display_account,
            "contract_notify_url": p.contract_notify_url,
        });
        let (status, text) = self.call(reqwest::Method::POST, &p.presign_path, Some(&body)).await?;
        if !(200..300).contains(&status) {
            return Err(WxPayError::Status { status, body: text });
        }
        strict::json::<PreSign>(text.as_bytes()).map_err(|e| WxPayError::Malformed(e.to_string()))
    }

    /// Ends a contract by our code. `Ok(false)` when WeChat Pay does not know it (never signed, or
    /// already ended by the owner in WeChat): nothing left to end.
    pub async fn terminate_contract(&self, out_contract_code: &str, remark: &str) -> Result<bool, WxPayError> {
        let p = self.papay()?;
        let path = p
            .terminate_path
            .replace("{plan_id}", &p.plan_id)
            .replace("{out_contract_code}", out_contract_code);
        let body = serde_json::json!({ "contract_termination_remark": remark });
        let (status, text) = self.call(reqwest::Method::POST, &path, Some(&body)).await?;
        match status {
            200..=299 => Ok(true),
            404 => Ok(false),
            _ => Err(WxPayError::Status { status, body: text }),
        }
    }

    /// Asks WeChat Pay to debit `contract_id` for our order (`papay_apply_path`). Accepted only: the
    /// result comes as a `TRANSACTION.*` notification (or a query) for `out_trade_no`, credited like
    /// any payment.
    pub async fn papay_apply(
        &self,
        out_trade_no: &str,
        description: &str,
        contract_id: &str,
        total_fen: i64,
    ) -> Result<(), WxPayError> {
        let p = self.papay()?;
        let body = serde_json::json!({
            "appid": self.cfg.appid,
            "mchid": self.cfg.mchid,
            "out_trade_no": out_trade_no,
            "description": description,
            "transaction_notify_url": self.cfg.notify_url,
            "contract_id": contract_id,
            "amount": {"total": total_fen, "currency": "CNY"},
        });
        let (status, text) = self.call(reqwest::Method::POST, &p.apply_path, Some(&body)).await?;
        if (200..300).contains(&status) {
            Ok(())
        } else {
            Err(WxPayError::Status { status, body: text })
        }
    }

    /// A contract notification's resource, checked against this merchant, app and plan: what it
    /// means for our mandate `out_contract_code`.
    pub fn contract_event(&self, c: ContractResource) -> MandateChange {
        let plan = self.cfg.papay.as_ref().map(|p| p.plan_id.as_str()).unwrap_or_default();
        let state = if c.mchid != self.cfg.mchid {
            MandateState::Mismatch(format!("mchid {} ≠ {}", c.mchid, self.cfg.mchid))
        } else if c.appid != self.cfg.appid {
            MandateState::Mismatch(format!("appid {} ≠ {}", c.appid, self.cfg.appid))
        } else if c.plan_id != plan {
            MandateState::Mismatch(format!("plan_id {} ≠ {plan}", c.plan_id))
        } else {
            match c.contract_state.as_str() {
                "SIGNED" if c.contract_id.as_deref().is_some_and(|i| !i.is_empty()) => MandateState::Signed,
                "SIGNED" => MandateState::Mismatch("no contract_id".into()),
                "TERMINATED" => MandateState::Terminated,
                other => MandateState::Mismatch(format!("contract_state {other}")),
            }
        };
        MandateChange {
            contract_code: c.out_contract_code,
            contract_id: c.contract_id.filter(|i| !i.is_empty()),
            state,
        }
    }
}
