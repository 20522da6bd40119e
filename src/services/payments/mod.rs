//! Payments: orders that freeze what they pay, gateway notifications verified and recorded, and
//! crediting bills exactly once whatever the gateways repeat, reorder or send concurrently.
pub mod receipts;
pub mod refunds;
pub mod rejections;
pub mod sandbox;

use crate::domain::money::{add_fen, sum_fen, MAX_AMOUNT};
use crate::domain::role::Action;
use crate::domain::states::{self, BillStatus, Channel, PaymentStatus};
use crate::domain::{text, Fen};
use crate::error::{ApiError, ApiResult};
use crate::gateways::events::{PaymentEvent, Verified};
use crate::services::access::staff::StaffCtx;
use crate::services::audit;
use crate::services::billing::bills::{self, PrepayQuery};
use crate::services::billing::ledger::{self, Ledger, NewBill};
use crate::state::AppState;
use chrono::{DateTime, Utc};
use entity::{bill, gateway_notification, owner_account, payment, payment_exception, payment_line};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, DatabaseTransaction, EntityTrait, QueryFilter, QueryOrder,
    QuerySelect, Set,
};
use serde::{Deserialize, Serialize};
use std::collections::BTreeSet;

/// `POST /payments` body.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
pub struct NewPayment {
    #[schema(min_items = 1, max_items = 120)]
    pub bill_ids: Option<Vec<i32>>,
    pub prepay: Option<PrepayRequest>,
    /// `wechat` (mini-program) or `alipay` (QR).
    #[schema(pattern = r#"^(wechat|alipay|sandbox)$"#)]
    pub channel: String,
}

/// A prepayment to pay: the same parameters as `GET /me/prepay-quote`.
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
pub struct PrepayRequest {
    pub unit_id: i32,
    pub fee_item_id: i32,
    #[schema(minimum = 1, maximum = 36)]
    pub months: u32,
}

/// `POST /payments` answer.
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
pub struct PaymentCreated {
    pub payment_id: i32,
    pub out_trade_no: String,
    pub amount: String,
    pub channel: String,
    pub expires_at: DateTime<Utc>,
    /// WeChat: what `wx.requestPayment` takes; Alipay: `{"qr_code"}`.
    #[schema(value_type = Object)]
    pub pay_params: serde_json::Value,
}

/// One paid (or to be paid) line.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct PaymentLineView {
    pub bill_id: Option<i32>,
    pub unit_id: i32,
    pub period: String,
    pub principal: String,
    pub late_fee: String,
    pub discount: String,
    pub amount: String,
}

/// A payment as its owner (or staff) sees it.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct PaymentView {
    pub id: i32,
    pub out_trade_no: String,
    pub channel: String,
    pub amount: String,
    /// `pending`, `paid`, `closed`, `refunded`, `partially_refunded`.
    pub status: String,
    pub receipt_no: Option<String>,
    pub created_at: DateTime<Utc>,
    pub paid_at: Option<DateTime<Utc>>,
    pub expires_at: DateTime<Utc>,
    pub lines: Vec<PaymentLineView>,
}

/// `POST /staff/payments/counter` body.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
pub struct CounterPayment {
    #[schema(min_items = 1, max_items = 120)]
    pub bill_ids: Vec<i32>,
    /// `cash`, `pos` or `bank_transfer`.
    #[schema(pattern = r#"^(cash|pos|bank_transfer)$"#)]
    pub method: String,
    /// POS slip or bank reference; for cash, the receipt book number.
    #[schema(
        pattern = r#"^[^\u0000-\u001F\u007F-\u009F]*[^\s\u0000-\u001F\u007F-\u009F][^\u0000-\u001F\u007F-\u009F]*$"#,
        min_length = 1,
        max_length = 64
    )]
    pub reference: String,
}

/// A verified gateway event that does not match our order, for staff to look at.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct ExceptionView {
    pub id: i32,
    pub provider: String,
    pub kind: String,
    pub payment_id: Option<i32>,
    pub out_trade_no: Option<String>,
    pub detail: String,
    pub created_at: DateTime<Utc>,
}

fn unavailable(channel: &str) -> ApiError {
    ApiError::Unavailable(format!("{channel} payments"))
}

/// Our order number: `WY` + Beijing time + 8 random characters (≤ 32, as both gateways require).
fn out_trade_no(now: DateTime<Utc>) -> ApiResult<String> {
    let suffix: String = crate::crypto::new_token()
        .map_err(ApiError::internal)?
        .chars()
        .filter(char::is_ascii_alphanumeric)
        .take(8)
        .collect();
    Ok(format!(
        "WY{}{}",
        now.with_timezone(&chrono_tz::Asia::Shanghai).format("%Y%m%d%H%M%S"),
        suffix.to_uppercase()
    ))
}

/// What an order will pay, frozen at its creation.
struct Plan {
    community_id: i32,
    lines: Vec<payment_line::ActiveModel>,
    bill_ids: Vec<i32>,
    amount: i64,
    description: String,
    prepay: Option<PrepayRequest>,
}

fn line(
    bill_id: Option<i32>,
    unit_id: i32,
    fee_item_id: i32,
    period: &str,
    principal: i64,
    late_fee: i64,
    discount: i64,
) -> payment_line::ActiveModel {
    payment_line::ActiveModel {
        bill_id: Set(bill_id),
        unit_id: Set(unit_id),
        fee_item_id: Set(fee_item_id),
        period: Set(period.to_string()),
        principal_fen: Set(principal),
        late_fee_fen: Set(late_fee),
        discount_fen: Set(discount),
        amount_fen: Set(principal + late_fee - discount),
        ..Default::default()
    }
}

/// Bills to pay, with `amount_due` as of now; every one must be open, payable and in one community.
async fn plan_bills(state: &AppState, bills_in_reach: Vec<bill::Model>, ids: &[i32]) -> ApiResult<Plan> {
    let wanted: BTreeSet<i32> = ids.iter().copied().collect();
    if wanted.is_empty() || wanted.len() > 120 {
        return Err(ApiError::field("bill_ids", "请选择1到120张账单"));
    }
    let mut chosen: Vec<bill::Model> = bills_in_reach.into_iter().filter(|b| wanted.contains(&b.id)).collect();
    // Oldest first: that is how lines read on a receipt.
    chosen.sort_by_key(|b| (b.due_date, b.id));
    if chosen.len() != wanted.len() {
        return Err(ApiError::field("bill_ids", "包含不存在的账单"));
    }
    let priced = bills::with_amounts(state, chosen).await?;
    let communities: BTreeSet<i32> = priced.iter().map(|(b, _, _)| b.community_id).collect();
    if communities.len() != 1 {
        return Err(ApiError::field("bill_ids", "一次只能缴纳同一小区的账单"));
    }
    if priced
        .iter()
        .any(|(b, _, a)| b.status != BillStatus::Unpaid || a.due() <= 0)
    {
        return Err(ApiError::field("bill_ids", "包含已缴清、已取消或无需缴纳的账单"));
    }
    let amount = sum_fen(priced.iter().map(|(_, _, a)| a.due()))?;
    if amount > MAX_AMOUNT.0 {
        return Err(ApiError::field(
            "bill_ids",
            "单笔订单金额不能超过10000000.00元，请分次缴纳",
        ));
    }
    let first = &priced[0].1;
    let description = format!("物业缴费 {} {}等{}项", first.unit_code, first.period, priced.len());
    Ok(Plan {
        community_id: priced[0].0.community_id,
        bill_ids: priced.iter().map(|(b, _, _)| b.id).collect(),
        lines: priced
            .iter()
            .map(|(b, _, a)| {
                line(
                    Some(b.id),
                    b.unit_id,
                    b.fee_item_id,
                    &b.period,
                    a.outstanding_principal,
                    a.outstanding_late_fee,
                    0,
                )
            })
            .collect(),
        amount,
        description,
        prepay: None,
    })
}

async fn plan_prepay(state: &AppState, account_id: i32, req: &PrepayRequest) -> ApiResult<Plan> {
    let q = bills::prepay_quote(
        state,
        account_id,
        PrepayQuery {
            unit_id: req.unit_id,
            fee_item_id: req.fee_item_id,
            months: req.months,
        },
    )
    .await?;
    let unit = entity::unit::Entity::find_by_id(req.unit_id)
        .one(&state.db)
        .await?
        .ok_or(ApiError::NotFound)?;
    let lines: Vec<_> = q
        .bills
        .iter()
        .map(|b| {
            line(
                None,
                req.unit_id,
                req.fee_item_id,
                &b.period,
                b.principal_fen,
                0,
                b.discount_fen,
            )
        })
        .collect();
    let amount = sum_fen(q.bills.iter().map(|b| b.principal_fen - b.discount_fen))?;
    if amount > MAX_AMOUNT.0 {
        return Err(ApiError::field(
            "prepay.months",
            "单笔订单金额不能超过10000000.00元，请减少月数",
        ));
    }
    Ok(Plan {
        community_id: unit.community_id,
        lines,
        bill_ids: Vec::new(),
        amount,
        description: format!("物业费预缴 {} {}个月", unit.code, req.months),
        prepay: Some(req.clone()),
    })
}

fn created(p: &payment::Model) -> PaymentCreated {
    PaymentCreated {
        payment_id: p.id,
        out_trade_no: p.out_trade_no.clone(),
        amount: Fen(p.amount_fen).to_yuan_string(),
        channel: p.channel.to_string(),
        expires_at: p.expires_at,
        pay_params: p
            .pay_params
            .as_deref()
            .and_then(|s| serde_json::from_str(s).ok())
            .unwrap_or_default(),
    }
}

/// `POST /payments`: freezes the amount, holds the bills (closing older orders for them), and asks
/// the gateway for payment parameters. A repeat with the same `Idempotency-Key` answers the first
/// order again.
pub async fn create(
    state: &AppState,
    account_id: i32,
    idempotency_key: Option<String>,
    body: NewPayment,
) -> ApiResult<PaymentCreated> {
    if let Some(k) = &idempotency_key {
        if k.is_empty() || k.len() > 64 {
            return Err(ApiError::BadRequest("Idempotency-Key 应为1到64个字符".into(), None));
        }
        if let Some(p) = by_idempotency(state, account_id, k).await? {
            return Ok(created(&p));
        }
    }
    let sandbox = state.sandbox.is_some();
    let Some(channel) = states::parse::<Channel>(&body.channel)
        .filter(|c| matches!(c, Channel::Wechat | Channel::Alipay) || (sandbox && *c == Channel::Sandbox))
    else {
        let choices = if state.sandbox.is_some() {
            "支付方式应为wechat、alipay或sandbox（演示沙箱）"
        } else {
            "支付方式应为wechat或alipay"
        };
        return Err(ApiError::field("channel", choices));
    };
    // The order is checked before any gateway is needed: a bad one is 422 whatever is configured.
    let plan = match (&body.bill_ids, &body.prepay) {
        (Some(ids), None) => plan_bills(state, bills::owner_visible(state, account_id).await?, ids).await?,
        (None, Some(p)) => plan_prepay(state, account_id, p).await?,
        _ => return Err(ApiError::field("bill_ids", "请提供bill_ids或prepay其中之一")),
    };
    // A valid order whose channel is not available here: 503.
    match channel {
        Channel::Wechat if state.wechatpay.is_none() => return Err(unavailable("wechat")),
        Channel::Alipay if state.alipay.is_none() => return Err(unavailable("alipay")),
        _ => {}
    }
    place(state, Some(account_id), idempotency_key, channel, plan).await
}

/// Places an order for a checked plan: inserts it holding its bills (closing older orders for
/// them), then asks the channel for payment parameters (closing the order if it cannot).
async fn place(
    state: &AppState,
    account_id: Option<i32>,
    idempotency_key: Option<String>,
    channel: Channel,
    plan: Plan,
) -> ApiResult<PaymentCreated> {
    let now = state.clock.now();
    let expires_at = now + chrono::Duration::minutes(state.settings.payments.order_expiry_minutes);
    let txn = crate::db::begin_write(&state.db).await?;
    let p = payment::ActiveModel {
        out_trade_no: Set(out_trade_no(now)?),
        community_id: Set(plan.community_id),
        account_id: Set(account_id),
        staff_id: Set(None),
        channel: Set(channel),
        kind: Set(if plan.prepay.is_some() { "prepay" } else { "bills" }.into()),
        amount_fen: Set(plan.amount),
        refunded_fen: Set(0),
        status: Set(PaymentStatus::Pending),
        pay_params: Set(None),
        idempotency_key: Set(idempotency_key.clone()),
        transaction_id: Set(None),
        receipt_no: Set(None),
        reference: Set(None),
        prepay: Set(plan.prepay.as_ref().map(|p| serde_json::json!(p).to_string())),
        expires_at: Set(expires_at),
        paid_at: Set(None),
        created_at: Set(now),
        ..Default::default()
    };
    let p = match p.insert(&txn).await {
        Ok(p) => p,
        Err(e) => {
            // The same Idempotency-Key raced us: answer the order that won.
            drop(txn);
            if let (Some(k), Some(a)) = (&idempotency_key, account_id) {
                if let Some(p) = by_idempotency(state, a, k).await? {
                    return Ok(created(&p));
                }
            }
            return Err(e.into());
        }
    };
    let replaced = close_orders_holding(&txn, &plan.bill_ids, p.id).await?;
    for mut l in plan.lines {
        l.payment_id = Set(p.id);
        l.insert(&txn).await?;
    }
    txn.commit().await?;
    close_at_gateways(state, replaced).await;

    let params = match gateway_params(state, &p, account_id, &plan.description).await {
        Ok(v) => v,
        Err(e) => {
            let mut am: payment::ActiveModel = p.into();
            am.status = Set(PaymentStatus::Closed);
            am.update(&state.db).await?;
            return Err(e);
        }
    };
    let mut am: payment::ActiveModel = p.into();
    am.pay_params = Set(Some(params.to_string()));
    let p = am.update(&state.db).await?;
    tracing::info!(payment_id = p.id, channel = %p.channel, amount_fen = p.amount_fen, "payment order created");
    Ok(created(&p))
}

async fn by_idempotency(state: &AppState, account_id: i32, key: &str) -> ApiResult<Option<payment::Model>> {
    Ok(payment::Entity::find()
        .filter(payment::Column::AccountId.eq(account_id))
        .filter(payment::Column::IdempotencyKey.eq(key))
        .one(&state.db)
        .await?
        .filter(|p| p.pay_params.is_some()))
}

/// A new order for the same bills closes the older pending ones (they no longer hold them).
async fn close_orders_holding(
    txn: &DatabaseTransaction,
    bill_ids: &[i32],
    except: i32,
) -> ApiResult<Vec<payment::Model>> {
    if bill_ids.is_empty() {
        return Ok(Vec::new());
    }
    let holders: BTreeSet<i32> = payment_line::Entity::find()
        .filter(payment_line::Column::BillId.is_in(bill_ids.to_vec()))
        .all(txn)
        .await?
        .into_iter()
        .map(|l| l.payment_id)
        .filter(|id| *id != except)
        .collect();
    if holders.is_empty() {
        return Ok(Vec::new());
    }
    let closing = payment::Entity::find()
        .filter(payment::Column::Id.is_in(holders.clone()))
        .filter(payment::Column::Status.eq(PaymentStatus::Pending))
        .all(txn)
        .await?;
    payment::Entity::update_many()
        .col_expr(
            payment::Column::Status,
            sea_orm::sea_query::Expr::value(PaymentStatus::Closed),
        )
        .filter(payment::Column::Id.is_in(holders))
        .filter(payment::Column::Status.eq(PaymentStatus::Pending))
        .exec(txn)
        .await?;
    Ok(closing)
}

/// Asks the gateways to close orders a newer order replaced, so their QR or prepay id can no
/// longer be paid. Best effort: if one is paid anyway, crediting refunds it automatically.
async fn close_at_gateways(state: &AppState, closed: Vec<payment::Model>) {
    for p in closed {
        let result = match p.channel.as_str() {
            "wechat" => match state.wechatpay.as_ref() {
                Some(wx) => wx.close(&p.out_trade_no).await.map_err(|e| e.to_string()),
                None => Ok(()),
            },
            "alipay" => match state.alipay.as_ref() {
                Some(ali) => ali.close(&p.out_trade_no).await.map_err(|e| e.to_string()),
                None => Ok(()),
            },
            _ => Ok(()),
        };
        if let Err(e) = result {
            tracing::warn!(payment_id = p.id, error = %e, "closing a replaced order at the gateway failed");
        }
    }
}

async fn gateway_params(
    state: &AppState,
    p: &payment::Model,
    account_id: Option<i32>,
    description: &str,
) -> ApiResult<serde_json::Value> {
    match p.channel.as_str() {
        // The demo's sandbox: a local page where the payer confirms (labelled 沙箱).
        "sandbox" if state.sandbox.is_some() => Ok(serde_json::json!({
            "sandbox_url": format!("{}/sandbox/pay/{}", state.base_url, p.out_trade_no)
        })),
        "wechat" => {
            let wx = state.wechatpay.as_ref().ok_or_else(|| unavailable("wechat"))?;
            let account = owner_account::Entity::find_by_id(account_id.ok_or(ApiError::Unauthenticated)?)
                .one(&state.db)
                .await?
                .ok_or(ApiError::Unauthenticated)?;
            let expire = p.expires_at.with_timezone(&chrono_tz::Asia::Shanghai).fixed_offset();
            let prepay_id = wx
                .jsapi_prepay(&p.out_trade_no, description, p.amount_fen, &account.openid, expire)
                .await
                .map_err(|e| {
                    tracing::warn!(error = %e, "wechat pay prepay failed");
                    unavailable("wechat")
                })?;
            let params = wx.pay_params(&prepay_id).map_err(ApiError::internal)?;
            serde_json::to_value(params).map_err(ApiError::internal)
        }
        _ => {
            let ali = state.alipay.as_ref().ok_or_else(|| unavailable("alipay"))?;
            let qr = ali
                .precreate(
                    &p.out_trade_no,
                    &Fen(p.amount_fen).to_yuan_string(),
                    description,
                    state.settings.payments.order_expiry_minutes,
                )
                .await
                .map_err(|e| {
                    tracing::warn!(error = %e, "alipay precreate failed");
                    unavailable("alipay")
                })?;
            Ok(serde_json::json!({ "qr_code": qr }))
        }
    }
}

// ---------- crediting ----------

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
struct Exception<'a> {
    provider: &'a str,
    kind: &'a str,
    payment_id: Option<i32>,
    notification_id: Option<i32>,
    out_trade_no: Option<&'a str>,
    detail: String,
}

async fn record_exception<C: ConnectionTrait>(db: &C, e: Exception<'_>, now: DateTime<Utc>) -> ApiResult<()> {
    tracing::warn!(
        provider = e.provider,
        kind = e.kind,
        payment_id = e.payment_id,
        "payment exception recorded"
    );
    payment_exception::ActiveModel {
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
    Ok(())
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
    payment_id: i32,
    /// Paid for bills already paid through another order: to be refunded.
    uncredited_fen: i64,
}

/// After the commit (which bumped the cached answers of the units it credited): refund a double
/// payment.
async fn after_credit(state: &AppState, done: &Credited) -> ApiResult<()> {
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
async fn credit_locked(
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
async fn apply_lines(
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
            reason: format!("{}缴费", states::channel_name(p.channel)),
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
            done.uncredited_fen = add_fen(done.uncredited_fen, l.amount_fen)?;
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
                detail: format!(
                    "bill for {} was already {status} when this payment arrived; {} refunded automatically",
                    l.period,
                    Fen(l.amount_fen).to_yuan_string()
                ),
            };
            record_exception(ledger.txn(), e, now).await?;
            continue;
        }
        settled
            .entry(l.unit_id)
            .or_default()
            .push(format!("{} {}", l.period, Fen(l.amount_fen).to_yuan_string()));
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

// ---------- notifications ----------

/// How to answer a gateway.
#[derive(Debug, PartialEq, Eq)]
pub enum NotifyAnswer {
    /// Recorded (credited, duplicate, or a mismatch kept for staff).
    Recorded,
    /// Bad signature or stale timestamp: refused.
    Refused(&'static str),
    /// Could not be processed now; the gateway should retry.
    Retry(&'static str),
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
async fn pay_matching_order(
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
        PaymentEvent::Other { kind } => {
            store_notification(state, n, key, None, "ignored", Some(kind)).await?;
            Ok(NotifyAnswer::Recorded)
        }
    }
}

/// An order in the demo's sandbox for bills a paper notice names (the sandbox's notice page):
/// checked like any order, held by no owner account.
pub async fn sandbox_order_for_bills(state: &AppState, bill_ids: &[i32]) -> ApiResult<PaymentCreated> {
    if state.sandbox.is_none() {
        return Err(ApiError::NotFound);
    }
    let bills = bill::Entity::find()
        .filter(bill::Column::Id.is_in(bill_ids.to_vec()))
        .all(&state.db)
        .await?;
    let plan = plan_bills(state, bills, bill_ids).await?;
    place(state, None, None, Channel::Sandbox, plan).await
}

// ---------- counter payments and views ----------

/// Records a cash, POS or bank-transfer payment at the office and credits it at once.
pub async fn counter(state: &AppState, ctx: &StaffCtx, body: CounterPayment) -> ApiResult<PaymentView> {
    ctx.require(Action::ManageBilling)?;
    let Some(method) = states::parse::<Channel>(&body.method)
        .filter(|c| matches!(c, Channel::Cash | Channel::Pos | Channel::BankTransfer))
    else {
        return Err(ApiError::field("method", "收款方式应为cash、pos或bank_transfer"));
    };
    let reference = text::name(&body.reference, 64).map_err(|m| ApiError::field("reference", m))?;
    let ids: Vec<i32> = body
        .bill_ids
        .iter()
        .copied()
        .collect::<BTreeSet<_>>()
        .into_iter()
        .collect();
    let in_scope: Vec<bill::Model> = bill::Entity::find()
        .filter(bill::Column::Id.is_in(ids.clone()))
        .all(&state.db)
        .await?
        .into_iter()
        .filter(|b| ctx.sees(b.community_id))
        .collect();
    let plan = plan_bills(state, in_scope, &ids).await?;
    let now = state.clock.now();
    let txn = crate::db::begin_write(&state.db).await?;
    let p = payment::ActiveModel {
        out_trade_no: Set(out_trade_no(now)?),
        community_id: Set(plan.community_id),
        account_id: Set(None),
        staff_id: Set(Some(ctx.id)),
        channel: Set(method),
        kind: Set("bills".into()),
        amount_fen: Set(plan.amount),
        refunded_fen: Set(0),
        status: Set(PaymentStatus::Pending),
        reference: Set(Some(reference.clone())),
        expires_at: Set(now),
        created_at: Set(now),
        ..Default::default()
    }
    .insert(&txn)
    .await?;
    let replaced = close_orders_holding(&txn, &plan.bill_ids, p.id).await?;
    for mut l in plan.lines {
        l.payment_id = Set(p.id);
        l.insert(&txn).await?;
    }
    audit::record(
        &txn,
        &ctx.actor(),
        "payment.counter",
        "payment",
        p.id,
        serde_json::json!({"method": body.method, "reference": reference, "amount_fen": p.amount_fen}),
        now,
    )
    .await?;
    txn.commit().await?;
    close_at_gateways(state, replaced).await;
    credit(state, p.id, &format!("counter-{}", p.id)).await?;
    view(
        state,
        payment::Entity::find_by_id(p.id)
            .one(&state.db)
            .await?
            .ok_or(ApiError::NotFound)?,
    )
    .await
}

async fn view(state: &AppState, p: payment::Model) -> ApiResult<PaymentView> {
    let lines = payment_line::Entity::find()
        .filter(payment_line::Column::PaymentId.eq(p.id))
        .order_by_asc(payment_line::Column::Id)
        .all(&state.db)
        .await?;
    Ok(PaymentView {
        id: p.id,
        out_trade_no: p.out_trade_no,
        channel: p.channel.to_string(),
        amount: Fen(p.amount_fen).to_yuan_string(),
        status: p.status.to_string(),
        receipt_no: p.receipt_no,
        created_at: p.created_at,
        paid_at: p.paid_at,
        expires_at: p.expires_at,
        lines: lines
            .into_iter()
            .map(|l| PaymentLineView {
                bill_id: l.bill_id,
                unit_id: l.unit_id,
                period: l.period,
                principal: Fen(l.principal_fen).to_yuan_string(),
                late_fee: Fen(l.late_fee_fen).to_yuan_string(),
                discount: Fen(l.discount_fen).to_yuan_string(),
                amount: Fen(l.amount_fen).to_yuan_string(),
            })
            .collect(),
    })
}

/// `GET /payments/{id}`: one of the owner's payments — their own order, or a counter payment of
/// their bills (`receipts::owner_may_see`); 404 for anyone else's.
pub async fn owner_payment(state: &AppState, account_id: i32, id: i32) -> ApiResult<PaymentView> {
    let p = payment::Entity::find_by_id(id)
        .one(&state.db)
        .await?
        .ok_or(ApiError::NotFound)?;
    if !crate::services::payments::receipts::owner_may_see(state, account_id, &p).await? {
        return Err(ApiError::NotFound);
    }
    view(state, p).await
}

/// `GET /me/payments`: every payment of the owner's bills (their orders and counter payments),
/// newest first.
pub async fn owner_payments(state: &AppState, account_id: i32) -> ApiResult<Vec<PaymentView>> {
    let ps = crate::services::payments::receipts::owner_payments(state, account_id).await?;
    let mut out = Vec::with_capacity(ps.len());
    for p in ps {
        out.push(view(state, p).await?);
    }
    Ok(out)
}

/// Filters of `GET /staff/payment-exceptions`.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
pub struct ExceptionQuery {
    pub community_id: Option<i32>,
}

/// Verified gateway events that did not match an order, newest first (finance and admin).
pub async fn exceptions(state: &AppState, ctx: &StaffCtx, q: ExceptionQuery) -> ApiResult<Vec<ExceptionView>> {
    ctx.require(Action::ManageBilling)?;
    let rows = payment_exception::Entity::find()
        .order_by_desc(payment_exception::Column::Id)
        .all(&state.db)
        .await?;
    let mut out = Vec::new();
    for r in rows {
        let community = match r.payment_id {
            Some(pid) => payment::Entity::find_by_id(pid)
                .one(&state.db)
                .await?
                .map(|p| p.community_id),
            None => None,
        };
        // Unknown-order events belong to no community: admins see them.
        let visible = match community {
            Some(c) => ctx.sees(c) && q.community_id.is_none_or(|want| want == c),
            None => ctx.role.sees_all_communities() && q.community_id.is_none(),
        };
        if visible {
            out.push(ExceptionView {
                id: r.id,
                provider: r.provider,
                kind: r.kind,
                payment_id: r.payment_id,
                out_trade_no: r.out_trade_no,
                detail: r.detail,
                created_at: r.created_at,
            });
        }
    }
    Ok(out)
}

// ---------- reconciliation and summary ----------

/// What one reconciliation pass did.
#[derive(Debug, Default, Serialize, utoipa::ToSchema, PartialEq, Eq)]
pub struct ReconcileReport {
    pub checked: usize,
    pub credited: usize,
    pub closed: usize,
}

/// Asks the gateways about orders still open after their expiry (pending, or closed by a newer
/// order but possibly paid anyway), and credits or closes them, so a lost notification never
/// loses a payment. Every order is settled once (`reconciled_at`); failures are retried next pass.
pub async fn reconcile(state: &AppState) -> ApiResult<ReconcileReport> {
    let now = state.clock.now();
    // A minute's grace: the gateway may still be delivering the notification.
    let due = payment::Entity::find()
        .filter(payment::Column::Channel.is_in([Channel::Wechat, Channel::Alipay]))
        .filter(payment::Column::Status.is_in([PaymentStatus::Pending, PaymentStatus::Closed]))
        .filter(payment::Column::ReconciledAt.is_null())
        .filter(payment::Column::ExpiresAt.lt(now - chrono::Duration::minutes(1)))
        .order_by_asc(payment::Column::Id)
        .limit(500)
        .all(&state.db)
        .await?;
    let mut report = ReconcileReport::default();
    for p in due {
        report.checked += 1;
        let answer = match p.channel {
            Channel::Wechat => match state.wechatpay.as_ref() {
                Some(wx) => wx.query_event(&p.out_trade_no).await.map_err(|e| e.to_string()),
                None => continue,
            },
            _ => match state.alipay.as_ref() {
                Some(ali) => ali.query_event(&p.out_trade_no).await.map_err(|e| e.to_string()),
                None => continue,
            },
        };
        let paid = match answer {
            Ok(Some(PaymentEvent::Paid(paid))) if paid.amount_fen == p.amount_fen => Some(Some(paid.transaction_id)),
            Ok(Some(PaymentEvent::NotPaid {
                may_still_pay: true, ..
            })) => None,
            Ok(_) => Some(None),
            Err(e) => {
                tracing::warn!(error = %e, payment_id = p.id, "reconciliation query failed");
                None
            }
        };
        // None: ask again next pass. Some(Some(tx)): paid. Some(None): not paid, close it.
        let Some(outcome) = paid else { continue };
        match outcome {
            Some(tx) if !tx.is_empty() => {
                if credit(state, p.id, &tx).await? == Credit::Credited {
                    report.credited += 1;
                }
            }
            _ => {
                payment::Entity::update_many()
                    .col_expr(
                        payment::Column::Status,
                        sea_orm::sea_query::Expr::value(PaymentStatus::Closed),
                    )
                    .filter(payment::Column::Id.eq(p.id))
                    .filter(payment::Column::Status.is_in([PaymentStatus::Pending, PaymentStatus::Closed]))
                    .exec(&state.db)
                    .await?;
                report.closed += 1;
            }
        }
        payment::Entity::update_many()
            .col_expr(payment::Column::ReconciledAt, sea_orm::sea_query::Expr::value(now))
            .filter(payment::Column::Id.eq(p.id))
            .exec(&state.db)
            .await?;
    }
    if report.checked > 0 {
        tracing::info!(
            checked = report.checked,
            credited = report.credited,
            closed = report.closed,
            "reconciliation pass"
        );
    }
    Ok(report)
}

/// Filters of `GET /staff/payments/summary`.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
pub struct SummaryQuery {
    pub community_id: i32,
    /// Local date `YYYY-MM-DD`; default today.
    #[param(pattern = r#"^(19[7-9][0-9]|20[0-9]{2}|2100)-(0[1-9]|1[0-2])-(0[1-9]|[12][0-9]|3[01])$"#, format = Date)]
    pub date: Option<String>,
}

/// One channel's day.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct ChannelDay {
    pub channel: String,
    pub orders: usize,
    pub paid: usize,
    pub amount: String,
    pub refunds: usize,
    pub refunded: String,
    pub exceptions: usize,
}

/// The daily summary per channel: orders created, paid, amount, refunds, exceptions.
pub async fn daily_summary(state: &AppState, ctx: &StaffCtx, q: SummaryQuery) -> ApiResult<Vec<ChannelDay>> {
    ctx.require(Action::ManageBilling)?;
    ctx.require_community(q.community_id)?;
    let tz = state.community_tz(q.community_id).await?;
    let day = match &q.date {
        Some(d) => crate::domain::period::parse_date(d).map_err(|m| ApiError::field("date", m))?,
        None => state.today_in(tz),
    };
    let start = day
        .and_hms_opt(0, 0, 0)
        .and_then(|t| t.and_local_timezone(tz).earliest())
        .map(|t| t.with_timezone(&Utc))
        .ok_or_else(|| ApiError::field("date", "无效日期"))?;
    let end = start + chrono::Duration::days(1);
    let in_day = |t: DateTime<Utc>| t >= start && t < end;
    let payments = payment::Entity::find()
        .filter(payment::Column::CommunityId.eq(q.community_id))
        .all(&state.db)
        .await?;
    let ids: Vec<i32> = payments.iter().map(|p| p.id).collect();
    let refunds = if ids.is_empty() {
        Vec::new()
    } else {
        entity::refund::Entity::find()
            .filter(entity::refund::Column::PaymentId.is_in(ids.clone()))
            .all(&state.db)
            .await?
    };
    let exceptions = if ids.is_empty() {
        Vec::new()
    } else {
        payment_exception::Entity::find()
            .filter(payment_exception::Column::PaymentId.is_in(ids))
            .all(&state.db)
            .await?
    };
    let mut out = Vec::new();
    for channel in [
        Channel::Wechat,
        Channel::Alipay,
        Channel::Cash,
        Channel::Pos,
        Channel::BankTransfer,
    ] {
        let mine: Vec<&payment::Model> = payments.iter().filter(|p| p.channel == channel).collect();
        let paid: Vec<&&payment::Model> = mine.iter().filter(|p| p.paid_at.is_some_and(in_day)).collect();
        let channel_ids: Vec<i32> = mine.iter().map(|p| p.id).collect();
        let rf: Vec<&entity::refund::Model> = refunds
            .iter()
            .filter(|r| {
                channel_ids.contains(&r.payment_id) && r.status == "success" && r.finished_at.is_some_and(in_day)
            })
            .collect();
        out.push(ChannelDay {
            channel: channel.to_string(),
            orders: mine.iter().filter(|p| in_day(p.created_at)).count(),
            paid: paid.len(),
            amount: Fen(sum_fen(paid.iter().map(|p| p.amount_fen))?).to_yuan_string(),
            refunds: rf.len(),
            refunded: Fen(sum_fen(rf.iter().map(|r| r.amount_fen))?).to_yuan_string(),
            exceptions: exceptions
                .iter()
                .filter(|e| e.payment_id.is_some_and(|id| channel_ids.contains(&id)) && in_day(e.created_at))
                .count(),
        });
    }
    Ok(out)
}
