//! Gateway notifications: verified by their gateway module into provider-neutral events, stored
//! append-only with their verdict, and settled against our orders (one commit per notification).
use crate::domain::states::Channel;
use crate::domain::Fen;
use crate::error::{ApiError, ApiResult};
use crate::gateways::events::{MandateChange, PaymentEvent, Verified};
use crate::services::billing::ledger::Ledger;
use crate::services::payments::crediting::after_credit;
use crate::services::payments::crediting::apply_lines;
use crate::services::payments::crediting::credit_locked;
use crate::services::payments::crediting::pay_matching_order;
use crate::services::payments::crediting::record_exception;
use crate::services::payments::crediting::Credit;
use crate::services::payments::crediting::Credited;
use crate::services::payments::crediting::Exception;
use crate::services::payments::rejections;
use crate::state::AppState;
use chrono::{DateTime, Utc};
use entity::{gateway_notification, payment};
use sea_orm::{ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QuerySelect, Set};

/// How to answer a gateway.
#[derive(Debug, PartialEq, Eq)]
pub enum NotifyAnswer {
    /// Recorded (credited, duplicate, or a mismatch kept for staff).
    Recorded,
    /// Bad signature or stale timestamp: refused.
    Refused(&'static str),
    /// Could not be processed now; the gateway should retry.
    Retry(&'static str),
    /// A verified auto-debit contract event, not yet recorded: the autodebit context settles it
    /// and records it (`record_mandate`) in one transaction.
    Mandate(Box<MandateNotification>),
}

/// A verified mandate notification as received.
#[derive(Debug, PartialEq, Eq)]
pub struct MandateNotification {
    pub provider: &'static str,
    channel: Channel,
    headers: serde_json::Value,
    raw: Vec<u8>,
    /// The gateway's notification id.
    pub key: Option<String>,
    pub change: MandateChange,
}

/// Records a mandate notification with its verdict; a mismatch (`problem`: kind and why) is also
/// kept as an exception for staff. The notification's id.
pub async fn record_mandate<C: ConnectionTrait>(
    db: &C,
    now: DateTime<Utc>,
    m: &MandateNotification,
    verdict: &str,
    problem: Option<(&'static str, String)>,
) -> ApiResult<i32> {
    let n = Inbound {
        provider: m.provider,
        channel: m.channel,
        headers: m.headers.clone(),
        raw: &m.raw,
    };
    let detail = problem.as_ref().map(|(_, why)| why.clone());
    let id = store_notification_in(
        db,
        now,
        &n,
        m.key.clone(),
        Some(m.change.contract_code.clone()),
        verdict,
        detail,
    )
    .await?;
    if let Some((kind, why)) = problem {
        let e = Exception {
            provider: m.provider,
            kind,
            payment_id: None,
            notification_id: Some(id),
            out_trade_no: Some(&m.change.contract_code),
            detail: why,
        };
        record_exception(db, e, now).await?;
    }
    Ok(id)
}

/// A notification as received: evidence, stored append-only with its verdict.
struct Inbound<'a> {
    provider: &'static str,
    /// The channel its payments are orders of.
    channel: Channel,
    headers: serde_json::Value,
    raw: &'a [u8],
}

async fn store_notification(
    state: &AppState,
    n: &Inbound<'_>,
    event_key: Option<String>,
    out_trade_no: Option<String>,
    verdict: &str,
    detail: Option<String>,
) -> ApiResult<i32> {
    store_notification_in(
        &state.db,
        state.clock.now(),
        n,
        event_key,
        out_trade_no,
        verdict,
        detail,
    )
    .await
}

#[allow(clippy::too_many_arguments)] // one row's columns
async fn store_notification_in<C: ConnectionTrait>(
    db: &C,
    now: DateTime<Utc>,
    n: &Inbound<'_>,
    event_key: Option<String>,
    out_trade_no: Option<String>,
    verdict: &str,
    detail: Option<String>,
) -> ApiResult<i32> {
    let row = gateway_notification::ActiveModel {
        provider: Set(n.provider.into()),
        event_key: Set(event_key),
        out_trade_no: Set(out_trade_no),
        headers: Set(n.headers.to_string()),
        raw_body: Set(String::from_utf8_lossy(n.raw).into_owned()),
        verdict: Set(verdict.into()),
        detail: Set(detail),
        received_at: Set(now),
        ..Default::default()
    }
    .insert(db)
    .await?;
    Ok(row.id)
}

/// Why a verified event was not credited.
struct Mismatch {
    payment_id: Option<i32>,
    kind: &'static str,
    why: String,
}

/// Matches a verified transaction against our order and credits it, or records why not; the
/// notification, any exception and the credit are one transaction (one commit per notification).
async fn settle(
    state: &AppState,
    n: &Inbound<'_>,
    event_key: Option<String>,
    out_trade_no: &str,
    paid: Result<i64, String>,
    transaction_id: &str,
) -> ApiResult<NotifyAnswer> {
    let now = state.clock.now();
    let channel = n.channel;
    let mut ledger = Ledger::begin(state).await?;
    // The common case in one statement: a pending order of this channel and amount moves to paid.
    if let Ok(amount) = &paid {
        if let Some(o) = pay_matching_order(state, ledger.txn(), out_trade_no, channel, *amount, transaction_id).await?
        {
            let done = Credited {
                outcome: Credit::Credited,
                payment_id: o.id,
                uncredited_fen: 0,
            };
            let d = apply_lines(state, &mut ledger, &o, transaction_id, done).await?;
            let key = event_key;
            store_notification_in(
                ledger.txn(),
                now,
                n,
                key,
                Some(out_trade_no.to_string()),
                "credited",
                None,
            )
            .await?;
            ledger.commit(state).await?;
            after_credit(state, &d).await?;
            return Ok(NotifyAnswer::Recorded);
        }
    }
    // Anything else (duplicate, mismatch, unknown order, reused transaction) is worked out on the
    // locked order.
    let order = payment::Entity::find()
        .filter(payment::Column::OutTradeNo.eq(out_trade_no))
        .lock_exclusive()
        .one(ledger.txn())
        .await?;
    let mismatch = |payment_id, kind, why| Some(Mismatch { payment_id, kind, why });
    let (verdict, problem, done) = match order {
        None => (
            "mismatch",
            mismatch(None, "unknown_order", format!("no order {out_trade_no}")),
            None,
        ),
        Some(o) if o.channel != channel => (
            "mismatch",
            mismatch(Some(o.id), "wrong_channel", format!("order is {}", o.channel)),
            None,
        ),
        Some(o) => match paid.and_then(|amount| {
            if amount == o.amount_fen {
                Ok(())
            } else {
                Err(format!(
                    "amount {} ≠ {}",
                    Fen(amount).to_yuan_string(),
                    Fen(o.amount_fen).to_yuan_string()
                ))
            }
        }) {
            Err(why) => ("mismatch", mismatch(Some(o.id), "mismatch", why), None),
            Ok(()) => {
                let d = credit_locked(state, &mut ledger, o, transaction_id).await?;
                (
                    if d.outcome == Credit::Credited {
                        "credited"
                    } else {
                        "duplicate"
                    },
                    None,
                    Some(d),
                )
            }
        },
    };
    let detail = problem.as_ref().map(|m| m.why.clone());
    let id = store_notification_in(
        ledger.txn(),
        now,
        n,
        event_key,
        Some(out_trade_no.to_string()),
        verdict,
        detail,
    )
    .await?;
    if let Some(m) = problem {
        let e = Exception {
            provider: n.provider,
            kind: m.kind,
            payment_id: m.payment_id,
            notification_id: Some(id),
            out_trade_no: Some(out_trade_no),
            detail: m.why,
        };
        record_exception(ledger.txn(), e, now).await?;
    }
    ledger.commit(state).await?;
    if let Some(d) = done {
        after_credit(state, &d).await?;
    }
    Ok(NotifyAnswer::Recorded)
}

/// `POST /notify/wechatpay`: verifies the raw body, then settles the event it carries. `headers`
/// gives every value of a header by name; `source` is the client address.
pub async fn wechatpay_notification(
    state: &AppState,
    source: &str,
    headers: impl Fn(&str) -> Vec<String>,
    raw: &[u8],
) -> ApiResult<NotifyAnswer> {
    use crate::gateways::wechatpay::SignedHeaders;
    rejections::limit(state, "wechatpay", source).await?;
    let Some(wx) = state.wechatpay.as_ref() else {
        return Ok(NotifyAnswer::Retry("微信支付未配置"));
    };
    let checked = SignedHeaders::read(headers).and_then(|h| wx.check_notification(&h, raw).map(|()| h));
    let h = match checked {
        Ok(h) => h,
        Err(why) => {
            rejections::record(state, "wechatpay", source, why.reason(), raw).await?;
            return Ok(NotifyAnswer::Refused("签名验证失败"));
        }
    };
    let n = Inbound {
        provider: "wechatpay",
        channel: Channel::Wechat,
        headers: serde_json::json!({"timestamp": h.timestamp, "nonce": h.nonce, "serial": h.serial, "signature": h.signature}),
        raw,
    };
    match wx.payment_event(raw) {
        Ok(v) => on_event(state, &n, v).await,
        Err(u) => {
            store_notification(state, &n, u.id, None, u.verdict, Some(u.detail)).await?;
            Ok(NotifyAnswer::Retry("报文无法解析"))
        }
    }
}

/// `POST /notify/alipay`: one strict parse of the form (a repeated key is refused before
/// verification), verification, then the event the verified fields make.
pub async fn alipay_notification(state: &AppState, source: &str, raw: &[u8]) -> ApiResult<NotifyAnswer> {
    rejections::limit(state, "alipay", source).await?;
    let Some(ali) = state.alipay.as_ref() else {
        return Ok(NotifyAnswer::Retry("支付宝未配置"));
    };
    form_notification(state, "alipay", Channel::Alipay, source, raw, ali.payment_event(raw)).await
}

/// `POST /notify/sandbox` (demo only): the sandbox's notification, in Alipay's form format, verified
/// with its demo-only key and settled by the same rule and path as a gateway's.
pub async fn sandbox_notification(state: &AppState, source: &str, raw: &[u8]) -> ApiResult<NotifyAnswer> {
    rejections::limit(state, "sandbox", source).await?;
    let Some(sb) = state.sandbox.as_ref() else {
        return Err(ApiError::NotFound);
    };
    form_notification(state, "sandbox", Channel::Sandbox, source, raw, sb.payment_event(raw)).await
}

/// A form notification (Alipay's format) once verified, or its rejection recorded.
async fn form_notification(
    state: &AppState,
    provider: &'static str,
    channel: Channel,
    source: &str,
    raw: &[u8],
    verified: Result<Verified, crate::gateways::alipay::NotifyRejection>,
) -> ApiResult<NotifyAnswer> {
    match verified {
        Ok(v) => {
            let n = Inbound {
                provider,
                channel,
                headers: serde_json::json!({}),
                raw,
            };
            on_event(state, &n, v).await
        }
        Err(why) => {
            rejections::record(state, provider, source, why.reason(), raw).await?;
            Ok(NotifyAnswer::Refused("fail"))
        }
    }
}

/// Settles one verified event, whichever gateway it came from: a payment is credited once (or
/// kept as a mismatch for staff), a refund result completes its refund, anything else is recorded.
async fn on_event(state: &AppState, n: &Inbound<'_>, v: Verified) -> ApiResult<NotifyAnswer> {
    let key = v.key;
    match v.event {
        PaymentEvent::Paid(p) => settle(state, n, key, &p.out_trade_no, Ok(p.amount_fen), &p.transaction_id).await,
        PaymentEvent::Unpayable { out_trade_no, why } => settle(state, n, key, &out_trade_no, Err(why), "").await,
        PaymentEvent::NotPaid {
            out_trade_no, state: s, ..
        } => {
            store_notification(state, n, key, Some(out_trade_no), "ignored", Some(s)).await?;
            Ok(NotifyAnswer::Recorded)
        }
        PaymentEvent::Refunded(r) => {
            let verdict = crate::services::payments::refunds::on_gateway_result(
                state,
                &r.out_refund_no,
                &r.status,
                r.refund_id.clone(),
            )
            .await?;
            store_notification(state, n, key, Some(r.out_trade_no), verdict, Some(r.status)).await?;
            Ok(NotifyAnswer::Recorded)
        }
        PaymentEvent::Mandate(change) => Ok(NotifyAnswer::Mandate(Box::new(MandateNotification {
            provider: n.provider,
            channel: n.channel,
            headers: n.headers.clone(),
            raw: n.raw.to_vec(),
            key,
            change,
        }))),
        PaymentEvent::Other { kind } => {
            store_notification(state, n, key, None, "ignored", Some(kind)).await?;
            Ok(NotifyAnswer::Recorded)
        }
    }
}
