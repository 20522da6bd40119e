//! Crediting an order exactly once: the order row moves to paid by one conditional statement
//! (unique per gateway transaction), its lines are credited through the ledger, a double payment
//! is refunded automatically, and each unit's evidence gets the payment.
use crate::domain::money::add_fen;
use crate::domain::role::Role;
use crate::domain::states::{self, BillStatus, Channel, PaymentStatus};
use crate::domain::Fen;
use crate::error::{ApiError, ApiResult};
use crate::services::billing::ledger::{self, Ledger, NewBill};
use crate::services::inbox;
use crate::state::AppState;
use chrono::{DateTime, Utc};
use entity::{bill, payment, payment_exception, payment_line};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, DatabaseTransaction, EntityTrait, QueryFilter, QuerySelect, Set,
};

/// What crediting an order did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Credit {
    /// This call moved the order to paid and credited its bills.
    Credited,
    /// The order was already paid by this transaction: nothing to do (a duplicate).
    AlreadyPaid,
}

/// `R` and the Beijing date: receipts are numbered per day for the finance office.
fn receipt_prefix(now: DateTime<Utc>) -> String {
    format!("R{}", now.with_timezone(&chrono_tz::Asia::Shanghai).format("%Y%m%d"))
}

/// A verified event (or credit) that staff must look at.
pub(super) struct Exception<'a> {
    pub(super) provider: &'a str,
    pub(super) kind: &'a str,
    pub(super) payment_id: Option<i32>,
    pub(super) notification_id: Option<i32>,
    pub(super) out_trade_no: Option<&'a str>,
    pub(super) detail: String,
}

pub(super) async fn record_exception<C: ConnectionTrait>(
    db: &C,
    e: Exception<'_>,
    now: DateTime<Utc>,
) -> ApiResult<()> {
    tracing::warn!(
        provider = e.provider,
        kind = e.kind,
        payment_id = e.payment_id,
        "payment exception recorded"
    );
    let row = payment_exception::ActiveModel {
        provider: Set(e.provider.into()),
        kind: Set(e.kind.into()),
        payment_id: Set(e.payment_id),
        notification_id: Set(e.notification_id),
        out_trade_no: Set(e.out_trade_no.map(str::to_string)),
        detail: Set(e.detail),
        created_at: Set(now),
        resolved_at: Set(None),
        ..Default::default()
    }
    .insert(db)
    .await?;
    // Finance (and admins) of the payment's community are told; an event that names no order of
    // ours belongs to no community, so admins.
    let community = match row.payment_id {
        Some(id) => payment::Entity::find_by_id(id).one(db).await?.map(|p| p.community_id),
        None => None,
    };
    let to = match community {
        Some(community_id) => inbox::To::Community {
            community_id,
            roles: &[Role::Finance],
        },
        None => inbox::To::Admins,
    };
    let item = inbox::Item {
        kind: "payment_exception",
        title: format!("支付异常：{}", exception_title(&row.kind)),
        body: format!(
            "{} 订单 {}（异常记录 {}）",
            provider_name(&row.provider),
            row.out_trade_no.as_deref().unwrap_or("（无）"),
            row.id
        ),
        link: Some(match community {
            Some(c) => format!("/console/exceptions?community_id={c}"),
            None => "/console/exceptions".to_string(),
        }),
        event_key: format!("payment_exception:{}:{}", row.kind, event_of(db, &row).await?),
    };
    inbox::post(db, to, item, now).await?;
    Ok(())
}

/// What names the event behind an exception: the gateway's own event id when the notification
/// carried one (so a redelivery is the same event), else the exception itself.
async fn event_of<C: ConnectionTrait>(db: &C, row: &payment_exception::Model) -> ApiResult<String> {
    let key = match row.notification_id {
        Some(id) => entity::gateway_notification::Entity::find_by_id(id)
            .one(db)
            .await?
            .and_then(|n| n.event_key),
        None => None,
    };
    Ok(match key {
        Some(k) => format!("{}:{k}", row.provider),
        None => format!("exception:{}", row.id),
    })
}

/// A gateway's or channel's name as staff read it.
fn provider_name(p: &str) -> &'static str {
    match p {
        "wechatpay" => "微信支付",
        "sandbox" => "支付沙箱",
        other => states::parse::<Channel>(other).map_or("支付渠道", states::channel_name),
    }
}

/// What staff read for each kind of payment exception.
fn exception_title(kind: &str) -> &'static str {
    match kind {
        "unknown_order" => "收到无对应订单的支付通知",
        "wrong_channel" => "支付渠道与订单不符",
        "mismatch" => "支付金额或内容与订单不符",
        "second_transaction" => "同一订单收到第二笔支付",
        "transaction_reused" => "同一渠道交易号被用于另一订单",
        "double_payment" => "账单已缴，重复支付将自动退款",
        _ => "需要核对的支付",
    }
}

/// Credits an order's bills exactly once, in one transaction: the order row is locked and moved
/// from pending (or closed) to paid by a conditional update, and the unique (channel,
/// transaction id) index stops a second order claiming the same gateway transaction. Concurrent
/// duplicates wait on the lock and then see the order paid.
pub async fn credit(state: &AppState, payment_id: i32, transaction_id: &str) -> ApiResult<Credit> {
    let mut ledger = Ledger::begin(state).await?;
    let p = payment::Entity::find_by_id(payment_id)
        .lock_exclusive()
        .one(ledger.txn())
        .await?
        .ok_or(ApiError::NotFound)?;
    let done = credit_locked(state, &mut ledger, p, transaction_id).await?;
    ledger.commit(state).await?;
    after_credit(state, &done).await?;
    Ok(done.outcome)
}

/// What crediting did inside its transaction, and what is left to do after the commit.
pub struct Credited {
    pub outcome: Credit,
    pub(super) payment_id: i32,
    /// Paid for bills already paid through another order: to be refunded.
    pub(super) uncredited_fen: i64,
}

/// After the commit (which bumped the cached answers of the units it credited): refund a double
/// payment.
pub(super) async fn after_credit(state: &AppState, done: &Credited) -> ApiResult<()> {
    if done.outcome != Credit::Credited {
        return Ok(());
    }
    tracing::info!(payment_id = done.payment_id, "payment credited");
    // Money that paid bills someone else already paid goes back through its own gateway.
    if done.uncredited_fen > 0 {
        crate::services::payments::refunds::automatic_for_double_payment(state, done.payment_id, done.uncredited_fen)
            .await?;
    }
    Ok(())
}

/// The crediting itself, inside the caller's transaction, on a payment row the caller locked.
pub(super) async fn credit_locked(
    state: &AppState,
    ledger: &mut Ledger,
    p: payment::Model,
    transaction_id: &str,
) -> ApiResult<Credited> {
    let now = state.clock.now();
    let txn = ledger.txn();
    let done = Credited {
        outcome: Credit::AlreadyPaid,
        payment_id: p.id,
        uncredited_fen: 0,
    };
    if p.status == PaymentStatus::Paid
        || p.status == PaymentStatus::Refunded
        || p.status == PaymentStatus::PartiallyRefunded
    {
        if p.transaction_id.as_deref() != Some(transaction_id) {
            record_exception(
                txn,
                Exception {
                    provider: p.channel.as_str(),
                    kind: "second_transaction",
                    payment_id: Some(p.id),
                    notification_id: None,
                    out_trade_no: Some(&p.out_trade_no),
                    detail: format!(
                        "order already paid by {:?}; another transaction {transaction_id} reported",
                        p.transaction_id
                    ),
                },
                now,
            )
            .await?;
        }
        return Ok(done);
    }
    // One statement moves the order to paid unless it is no longer pending/closed or the gateway
    // transaction already credited another order (the unique index would also refuse that).
    let moved = mark_paid(txn, now, p.channel, transaction_id)
        .filter(payment::Column::Id.eq(p.id))
        .exec(txn)
        .await?;
    if moved.rows_affected != 1 {
        // Only the caller's lock holder changes the status, so a refusal here means the
        // transaction id belongs to another order.
        let other = payment::Entity::find()
            .filter(payment::Column::Channel.eq(p.channel))
            .filter(payment::Column::TransactionId.eq(transaction_id))
            .one(txn)
            .await?;
        if let Some(other) = other {
            let e = Exception {
                provider: p.channel.as_str(),
                kind: "transaction_reused",
                payment_id: Some(p.id),
                notification_id: None,
                out_trade_no: Some(&p.out_trade_no),
                detail: format!("transaction {transaction_id} already credited order {}", other.id),
            };
            record_exception(txn, e, now).await?;
        }
        return Ok(done);
    }
    apply_lines(state, ledger, &p, transaction_id, done).await
}

/// After the order moved to paid: credits each line's bill through the ledger (or records a double
/// payment) and appends the payment to each unit's evidence.
pub(super) async fn apply_lines(
    state: &AppState,
    ledger: &mut Ledger,
    p: &payment::Model,
    transaction_id: &str,
    mut done: Credited,
) -> ApiResult<Credited> {
    let now = state.clock.now();
    done.outcome = Credit::Credited;
    let tz = state.community_tz_on(ledger.txn(), p.community_id).await?;
    let today = now.with_timezone(&tz).date_naive();
    // Marks every line credited in full and reads them in the same statement; a line whose bill
    // turns out to be paid already is set back to 0 below (the rare path).
    let mut lines = payment_line::Entity::update_many()
        .col_expr(
            payment_line::Column::CreditedFen,
            sea_orm::sea_query::Expr::col(payment_line::Column::AmountFen),
        )
        .filter(payment_line::Column::PaymentId.eq(p.id))
        .exec_with_returning(ledger.txn())
        .await?;
    lines.sort_by_key(|l| l.id);
    let actor = format!("payment:{}", p.id);
    // What this payment settled, per unit, for the evidence archive.
    let mut settled: std::collections::BTreeMap<i32, Vec<String>> = Default::default();
    for l in lines {
        let paid = ledger::Payment {
            principal_fen: l.principal_fen,
            late_fee_fen: l.late_fee_fen,
            discount_fen: l.discount_fen,
            on: today,
            at: now,
            // A points line is a payment of its own in the ledger, saying what paid it.
            reason: match l.points {
                Some(n) => format!("积分抵扣{n}分"),
                None => format!("{}缴费", states::channel_name(p.channel)),
            },
            actor: &actor,
            reference: Some(actor.clone()),
        };
        let bill_id = match l.bill_id {
            Some(id) => Some(id),
            None => prepaid_bill(ledger, p, &l, now).await?.map(|b| b.id),
        };
        let credited = match bill_id {
            // One statement credits an open bill (and locks it); nothing changes if it is not open.
            Some(id) => ledger.credit(id, &paid).await?,
            None => None,
        };
        if credited.is_none() {
            set_credited(ledger.txn(), l.id, 0).await?;
            // Cash goes back through its channel; a points line's points come back as points.
            if l.points.is_none() {
                done.uncredited_fen = add_fen(done.uncredited_fen, l.amount_fen)?;
            }
            // Paid meanwhile through another channel or order: the first credit wins; this line's
            // money goes back (automatically, after the commit).
            let status = match bill_id {
                Some(id) => bill::Entity::find_by_id(id)
                    .one(ledger.txn())
                    .await?
                    .map_or("missing", |b| b.status.as_str()),
                None => BillStatus::Paid.as_str(),
            };
            let e = Exception {
                provider: p.channel.as_str(),
                kind: "double_payment",
                payment_id: Some(p.id),
                notification_id: None,
                out_trade_no: Some(&p.out_trade_no),
                detail: match l.points {
                    Some(n) => format!(
                        "bill for {} was already {status} when this payment arrived; its {n} points are returned",
                        l.period
                    ),
                    None => format!(
                        "bill for {} was already {status} when this payment arrived; {} refunded automatically",
                        l.period,
                        Fen(l.amount_fen).to_yuan_string()
                    ),
                },
            };
            record_exception(ledger.txn(), e, now).await?;
            continue;
        }
        settled.entry(l.unit_id).or_default().push(match l.points {
            Some(n) => format!("{} {}（积分抵扣{n}分）", l.period, Fen(l.amount_fen).to_yuan_string()),
            None => format!("{} {}", l.period, Fen(l.amount_fen).to_yuan_string()),
        });
    }
    // Every payment is evidence of the unit's account: which order, which gateway transaction.
    for (unit_id, periods) in settled {
        let rec = crate::services::collection::evidence::NewEvidence {
            kind: "payment",
            stage: None,
            channel: p.channel.to_string(),
            content: serde_json::json!({
                "payment_id": p.id,
                "out_trade_no": p.out_trade_no,
                "transaction_id": transaction_id,
                "bills": periods,
            })
            .to_string(),
            result: "credited".into(),
        };
        crate::services::collection::evidence::append(ledger.txn(), unit_id, now, rec).await?;
    }
    Ok(done)
}

async fn set_credited(txn: &DatabaseTransaction, line_id: i32, fen: i64) -> ApiResult<()> {
    payment_line::Entity::update_many()
        .col_expr(payment_line::Column::CreditedFen, sea_orm::sea_query::Expr::value(fen))
        .filter(payment_line::Column::Id.eq(line_id))
        .exec(txn)
        .await?;
    Ok(())
}

/// The bill a prepayment line pays: the one a billing run created meanwhile, or a new one.
async fn prepaid_bill(
    ledger: &mut Ledger,
    p: &payment::Model,
    l: &payment_line::Model,
    now: DateTime<Utc>,
) -> ApiResult<Option<bill::Model>> {
    let existing = bill::Entity::find()
        .filter(bill::Column::UnitId.eq(l.unit_id))
        .filter(bill::Column::FeeItemId.eq(l.fee_item_id))
        .filter(bill::Column::Period.eq(l.period.clone()))
        .filter(bill::Column::InstallmentPlanId.eq(0))
        .one(ledger.txn())
        .await?;
    if existing.is_some() {
        return Ok(existing);
    }
    let item = entity::fee_item::Entity::find_by_id(l.fee_item_id)
        .one(ledger.txn())
        .await?
        .ok_or(ApiError::NotFound)?;
    let period = crate::domain::period::Period::parse(&l.period).map_err(|m| ApiError::internal(anyhow::anyhow!(m)))?;
    let b = ledger
        .issue_one(NewBill {
            community_id: p.community_id,
            unit_id: l.unit_id,
            fee_item_id: l.fee_item_id,
            period,
            due_date: period.due_date(u32::try_from(item.due_day).unwrap_or(1)),
            nominal_due_date: None,
            issued_on: None,
            principal_fen: l.principal_fen,
            created_at: now,
        })
        .await?;
    Ok(Some(b))
}

/// The update that moves an order to paid, for the caller to narrow to its order: only from pending
/// (or closed), and never with a gateway transaction that already paid another order (the unique
/// index would also refuse it). The receipt number is made from the id in SQL, zero-padded per
/// backend, so one statement does it all.
fn mark_paid(
    db: &impl ConnectionTrait,
    now: DateTime<Utc>,
    channel: Channel,
    transaction_id: &str,
) -> sea_orm::UpdateMany<payment::Entity> {
    use sea_orm::sea_query::{Alias, Expr, ExprTrait, Query};
    let prefix = receipt_prefix(now);
    let receipt = match db.get_database_backend() {
        sea_orm::DatabaseBackend::Postgres => format!("'{prefix}' || lpad(id::text, 8, '0')"),
        _ => format!("'{prefix}' || printf('%08d', id)"),
    };
    let reused = Query::select()
        .expr(Expr::val(1))
        .from_as(payment::Entity, Alias::new("other"))
        .and_where(Expr::col((Alias::new("other"), payment::Column::Channel)).eq(channel))
        .and_where(Expr::col((Alias::new("other"), payment::Column::TransactionId)).eq(transaction_id))
        .to_owned();
    payment::Entity::update_many()
        .col_expr(payment::Column::Status, Expr::value(PaymentStatus::Paid))
        .col_expr(payment::Column::TransactionId, Expr::value(transaction_id))
        .col_expr(payment::Column::PaidAt, Expr::value(now))
        .col_expr(payment::Column::ReceiptNo, Expr::cust(receipt))
        .filter(payment::Column::Status.is_in([PaymentStatus::Pending, PaymentStatus::Closed]))
        .filter(Expr::exists(reused).not())
}

/// Moves the pending (or closed) order `out_trade_no` of this channel and amount to paid (see
/// `mark_paid`); the order as updated, or None to take the locked path.
pub(super) async fn pay_matching_order(
    state: &AppState,
    txn: &DatabaseTransaction,
    out_trade_no: &str,
    channel: Channel,
    amount_fen: i64,
    transaction_id: &str,
) -> ApiResult<Option<payment::Model>> {
    let rows = mark_paid(txn, state.clock.now(), channel, transaction_id)
        .filter(payment::Column::OutTradeNo.eq(out_trade_no))
        .filter(payment::Column::Channel.eq(channel))
        .filter(payment::Column::AmountFen.eq(amount_fen))
        .exec_with_returning(txn)
        .await?;
    Ok(rows.into_iter().next())
}
