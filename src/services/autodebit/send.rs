//! One try at a gateway: the deduct call made while the mandate's row is locked, and what the
//! gateway's refusal means in the owner's words.
use crate::domain::states::PaymentStatus;
use crate::domain::Fen;
use crate::error::ApiResult;
use crate::gateways::alipay::AlipayError;
use crate::gateways::events::PaymentEvent;
use crate::gateways::wechatpay::WxPayError;
use crate::state::AppState;
use entity::payment;
use entity::states::{MandateChannel, MandateStatus};
use entity::{autodebit_debit as debit, autodebit_mandate as mandate};
use sea_orm::sea_query::Expr;
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, QuerySelect};

/// What the gateway said to a debit.
pub(super) enum Sent {
    /// Taken; the result comes as a notification (or a reconciliation query) for the order.
    Accepted,
    /// Paid at once (Alipay): the gateway's transaction id.
    Paid(String),
    /// Refused, in the owner's words.
    Refused(String),
    /// The mandate ended before the try was sent.
    Ended,
}

/// Sends one try to the gateway while holding the mandate's row lock, recording the try's order
/// on the debit in the same transaction.
pub(super) async fn send(
    state: &AppState,
    mandate_id: i32,
    debit_id: i32,
    order: &payment::Model,
    description: &str,
) -> ApiResult<Sent> {
    let txn = crate::db::begin_write(&state.db).await?;
    let m = mandate::Entity::find_by_id(mandate_id)
        .lock_exclusive()
        .one(&txn)
        .await?;
    debit::Entity::update_many()
        .col_expr(debit::Column::PaymentId, Expr::value(Some(order.id)))
        .filter(debit::Column::Id.eq(debit_id))
        .exec(&txn)
        .await?;
    let Some(m) = m.filter(|m| m.status == MandateStatus::Active) else {
        txn.commit().await?;
        return Ok(Sent::Ended);
    };
    let contract = m.gateway_contract_id.clone().unwrap_or_default();
    let sent = match m.channel {
        MandateChannel::Wechat => match state.wechatpay.as_ref() {
            None => Sent::Refused("微信支付暂不可用".into()),
            Some(wx) => match wx
                .papay_apply(&order.out_trade_no, description, &contract, order.amount_fen)
                .await
            {
                Ok(()) => Sent::Accepted,
                Err(WxPayError::Status { body, .. }) => Sent::Refused(wechat_reason(&body)),
                // Unknown outcome: the order is asked about after its expiry (reconciliation).
                Err(e) => {
                    tracing::warn!(error = %e, payment_id = order.id, "wechat pay debit outcome unknown");
                    Sent::Accepted
                }
            },
        },
        MandateChannel::Alipay => match state.alipay.as_ref() {
            None => Sent::Refused("支付宝暂不可用".into()),
            Some(ali) => match ali
                .agreement_pay(
                    &order.out_trade_no,
                    &Fen(order.amount_fen).to_yuan_string(),
                    description,
                    &contract,
                )
                .await
            {
                Ok(PaymentEvent::Paid(p)) if p.amount_fen == order.amount_fen => Sent::Paid(p.transaction_id),
                Ok(PaymentEvent::NotPaid {
                    may_still_pay: true, ..
                }) => Sent::Accepted,
                Ok(_) => Sent::Refused("支付宝未完成扣款".into()),
                Err(AlipayError::Refused { sub_code, msg, .. }) => {
                    Sent::Refused(alipay_reason(sub_code.as_deref().unwrap_or_default(), &msg))
                }
                Err(e) => {
                    tracing::warn!(error = %e, payment_id = order.id, "alipay debit outcome unknown");
                    Sent::Accepted
                }
            },
        },
        MandateChannel::Bank => Sent::Ended,
    };
    txn.commit().await?;
    Ok(sent)
}

/// WeChat Pay's refusal (`{"code","message"}`) in plain Chinese.
fn wechat_reason(body: &str) -> String {
    let code = serde_json::from_str::<serde_json::Value>(body)
        .ok()
        .and_then(|v| v.get("code").and_then(|c| c.as_str()).map(str::to_string))
        .unwrap_or_default();
    match code.as_str() {
        "NOT_ENOUGH" => "微信零钱或银行卡余额不足".into(),
        "CONTRACT_NOT_EXIST" | "CONTRACT_ERROR" => "微信支付代扣协议已失效".into(),
        "RULE_LIMIT" | "FREQUENCY_LIMITED" => "超出微信支付的扣款限额".into(),
        _ => "微信支付未完成扣款".into(),
    }
}

/// Alipay's refusal in plain Chinese.
fn alipay_reason(sub_code: &str, msg: &str) -> String {
    match sub_code {
        "ACQ.BUYER_BALANCE_NOT_ENOUGH" | "ACQ.BUYER_BANKCARD_BALANCE_NOT_ENOUGH" => "支付宝账户余额不足".into(),
        "ACQ.AGREEMENT_NOT_EXIST" | "ACQ.AGREEMENT_INVALID" | "ACQ.AGREEMENT_STATUS_NOT_NORMAL" => {
            "支付宝代扣协议已失效".into()
        }
        "ACQ.EXCEED_SINGLE_LIMIT" | "ACQ.PAYMENT_AMOUNT_EXCEED_LIMIT" => "超出支付宝的扣款限额".into(),
        _ if msg.is_empty() => "支付宝未完成扣款".into(),
        _ => format!("支付宝未完成扣款（{msg}）"),
    }
}

pub(super) async fn close_order(state: &AppState, payment_id: i32) -> ApiResult<()> {
    payment::Entity::update_many()
        .col_expr(payment::Column::Status, Expr::value(PaymentStatus::Closed))
        .filter(payment::Column::Id.eq(payment_id))
        .filter(payment::Column::Status.eq(PaymentStatus::Pending))
        .exec(&state.db)
        .await?;
    Ok(())
}
