//! Orders: what an owner (or a paper notice in the demo) is about to pay, frozen at creation —
//! bills or a prepayment, one open order per bill — and the gateway parameters to pay it.
use crate::domain::money::{sum_fen, MAX_AMOUNT};
use crate::domain::states::{self, BillStatus, Channel, PaymentStatus};
use crate::domain::Fen;
use crate::error::{ApiError, ApiResult};
use crate::services::billing::bills;
use crate::services::billing::owner::{self, PrepayQuery};
use crate::state::AppState;
use chrono::{DateTime, Utc};
use entity::{bill, owner_account, payment, payment_line};
use sea_orm::{ActiveModelTrait, ColumnTrait, DatabaseTransaction, EntityTrait, QueryFilter, Set};
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
    /// Points to pay part of the bills with (not with a prepayment): the community's rate
    /// (default 100 points = 1 yuan), at most its share of the order (default 10 %).
    #[schema(minimum = 1, maximum = 100000000)]
    pub points: Option<i64>,
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
    /// Points the order spends (held until it is paid or closes), and what they pay; `amount` is
    /// what the channel charges.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub points_used: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub points_amount: Option<String>,
}

fn unavailable(channel: &str) -> ApiError {
    ApiError::Unavailable(format!("{channel} payments"))
}

/// Our order number: `WY` + Beijing time + 8 random characters (≤ 32, as both gateways require).
pub(super) fn out_trade_no(now: DateTime<Utc>) -> ApiResult<String> {
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
pub(super) struct Plan {
    pub(super) community_id: i32,
    pub(super) lines: Vec<payment_line::ActiveModel>,
    pub(super) bill_ids: Vec<i32>,
    pub(super) amount: i64,
    description: String,
    prepay: Option<PrepayRequest>,
    /// Points paying part of it: (points, fen).
    points: Option<(i64, i64)>,
}

impl Plan {
    /// The pending order that pays this plan, made `now` and expiring with the configured expiry.
    fn pending_order(
        &self,
        state: &AppState,
        out_trade_no: String,
        account_id: Option<i32>,
        idempotency_key: Option<String>,
        channel: Channel,
        now: DateTime<Utc>,
    ) -> payment::ActiveModel {
        payment::ActiveModel {
            out_trade_no: Set(out_trade_no),
            community_id: Set(self.community_id),
            account_id: Set(account_id),
            staff_id: Set(None),
            channel: Set(channel),
            kind: Set(if self.prepay.is_some() { "prepay" } else { "bills" }.into()),
            amount_fen: Set(self.amount),
            refunded_fen: Set(0),
            status: Set(PaymentStatus::Pending),
            pay_params: Set(None),
            idempotency_key: Set(idempotency_key),
            transaction_id: Set(None),
            receipt_no: Set(None),
            reference: Set(None),
            prepay: Set(self.prepay.as_ref().map(|p| serde_json::json!(p).to_string())),
            expires_at: Set(now + chrono::Duration::minutes(state.settings.payments.order_expiry_minutes)),
            paid_at: Set(None),
            created_at: Set(now),
            points_used: Set(self.points.map(|(n, _)| n)),
            points_fen: Set(self.points.map(|(_, fen)| fen)),
            ..Default::default()
        }
    }

    /// The lines as (principal, late fee), in order.
    fn dues(&self) -> Vec<(i64, i64)> {
        self.lines
            .iter()
            .map(|l| {
                (
                    l.principal_fen.clone().take().unwrap_or(0),
                    l.late_fee_fen.clone().take().unwrap_or(0),
                )
            })
            .collect()
    }

    /// Points pay part of the bills: each part becomes a points line of its own beside what is
    /// left of its cash line (dropped when nothing is left), and the cash amount goes down.
    fn with_points(mut self, part: crate::services::points::fees::PointsPart) -> Plan {
        let mut lines = Vec::with_capacity(self.lines.len() * 2);
        for (l, (pp, lp, pts)) in self.lines.into_iter().zip(part.parts) {
            if pp + lp == 0 {
                lines.push(l);
                continue;
            }
            let bill_id = l.bill_id.clone().take().flatten();
            let unit_id = l.unit_id.clone().take().unwrap_or(0);
            let fee_item_id = l.fee_item_id.clone().take().unwrap_or(0);
            let period = l.period.clone().take().unwrap_or_default();
            let principal = l.principal_fen.clone().take().unwrap_or(0);
            let late = l.late_fee_fen.clone().take().unwrap_or(0);
            if principal + late > pp + lp {
                lines.push(line(
                    bill_id,
                    unit_id,
                    fee_item_id,
                    &period,
                    principal - pp,
                    late - lp,
                    0,
                ));
            }
            let mut by_points = line(bill_id, unit_id, fee_item_id, &period, pp, lp, 0);
            by_points.points = Set(Some(pts));
            lines.push(by_points);
        }
        self.lines = lines;
        self.amount -= part.fen;
        self.points = Some((part.points, part.fen));
        self
    }
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
pub(super) async fn plan_bills(state: &AppState, bills_in_reach: Vec<bill::Model>, ids: &[i32]) -> ApiResult<Plan> {
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
    plan_priced(bills::with_amounts(state, chosen).await?)
}

/// The plan of bills priced as of today (at most 120, checked by the caller).
fn plan_priced(priced: Vec<bills::Priced>) -> ApiResult<Plan> {
    if priced.is_empty() {
        return Err(ApiError::field("bill_ids", "请选择1到120张账单"));
    }
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
        points: None,
    })
}

async fn plan_prepay(state: &AppState, account_id: i32, req: &PrepayRequest) -> ApiResult<Plan> {
    let q = owner::prepay_quote(
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
        points: None,
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
        points_used: p.points_used,
        points_amount: p.points_fen.map(|f| Fen(f).to_yuan_string()),
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
        (Some(ids), None) => plan_bills(state, owner::owner_visible(state, account_id).await?, ids).await?,
        (None, Some(p)) => plan_prepay(state, account_id, p).await?,
        _ => return Err(ApiError::field("bill_ids", "请提供bill_ids或prepay其中之一")),
    };
    let plan = match body.points {
        None => plan,
        Some(_) if plan.prepay.is_some() => {
            return Err(ApiError::field("points", "预缴订单已享折扣，不能再用积分抵扣"));
        }
        Some(n) => {
            let part = crate::services::points::fees::quote(
                state,
                plan.community_id,
                account_id,
                plan.amount,
                &plan.dues(),
                n,
            )
            .await?;
            plan.with_points(part)
        }
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
    let description = plan.description.clone();
    let p = match insert(state, account_id, idempotency_key.clone(), channel, plan).await {
        Ok(p) => p,
        Err(e) => {
            // The same Idempotency-Key raced us: answer the order that won.
            if let (Some(k), Some(a)) = (&idempotency_key, account_id) {
                if let Some(p) = by_idempotency(state, a, k).await? {
                    return Ok(created(&p));
                }
            }
            return Err(e);
        }
    };
    let params = match gateway_params(state, &p, account_id, &description).await {
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

/// One auto-debit's order to place: the mandate's account, the channel, and the bill priced as of
/// today by the caller's check.
pub struct DebitOrder {
    pub account_id: i32,
    pub channel: Channel,
    pub priced: bills::Priced,
}

/// Auto-debits' orders, one per checked bill, planned and held like an owner's order (same lines,
/// older orders for the bill closed) and inserted in one transaction — a page of a debit pass, or
/// a bank batch's, at once. The caller asks the gateway (or the bank) to debit each; the result is
/// credited like any payment. In the order given, each with its description.
pub async fn place_debits(state: &AppState, wanted: Vec<DebitOrder>) -> ApiResult<Vec<(payment::Model, String)>> {
    if wanted.is_empty() {
        return Ok(Vec::new());
    }
    let now = state.clock.now();
    let mut planned = Vec::with_capacity(wanted.len());
    for w in wanted {
        let plan = plan_priced(vec![w.priced])?;
        planned.push((out_trade_no(now)?, w.account_id, w.channel, plan));
    }
    let txn = crate::db::begin_write(&state.db).await?;
    let mut by_no: std::collections::HashMap<String, payment::Model> = std::collections::HashMap::new();
    for chunk in planned.chunks(200) {
        let rows: Vec<payment::ActiveModel> = chunk
            .iter()
            .map(|(no, account_id, channel, plan)| {
                plan.pending_order(state, no.clone(), Some(*account_id), None, *channel, now)
            })
            .collect();
        // Matched back by order number: RETURNING's row order is not promised on SQLite.
        for p in payment::Entity::insert_many(rows).exec_with_returning(&txn).await? {
            by_no.insert(p.out_trade_no.clone(), p);
        }
    }
    let new_ids: Vec<i32> = by_no.values().map(|p| p.id).collect();
    let bill_ids: Vec<i32> = planned
        .iter()
        .flat_map(|(_, _, _, plan)| plan.bill_ids.clone())
        .collect();
    let replaced = close_orders_holding(&txn, &bill_ids, &new_ids).await?;
    let mut out = Vec::with_capacity(planned.len());
    let mut lines = Vec::new();
    for (no, _, _, plan) in planned {
        let p = by_no
            .remove(&no)
            .ok_or_else(|| ApiError::internal(anyhow::anyhow!("order {no} not returned by its insert")))?;
        for mut l in plan.lines {
            l.payment_id = Set(p.id);
            lines.push(l);
        }
        out.push((p, plan.description));
    }
    for chunk in lines.chunks(200) {
        payment_line::Entity::insert_many(chunk.iter().cloned())
            .exec_without_returning(&txn)
            .await?;
    }
    txn.commit().await?;
    close_at_gateways(state, replaced).await;
    tracing::info!(orders = out.len(), "auto-debit orders created");
    Ok(out)
}

/// Inserts a pending order and its lines, holding its bills (closing older orders for them).
async fn insert(
    state: &AppState,
    account_id: Option<i32>,
    idempotency_key: Option<String>,
    channel: Channel,
    plan: Plan,
) -> ApiResult<payment::Model> {
    let now = state.clock.now();
    let txn = crate::db::begin_write(&state.db).await?;
    let p = plan.pending_order(state, out_trade_no(now)?, account_id, idempotency_key, channel, now);
    let p = p.insert(&txn).await?;
    if let (Some((n, _)), Some(account)) = (plan.points, account_id) {
        // The points are held in the order's own transaction: no balance, no order.
        let today = state.today_in(state.community_tz(plan.community_id).await?);
        crate::services::points::fees::hold(&txn, plan.community_id, account, p.id, n, today, now).await?;
    }
    let replaced = close_orders_holding(&txn, &plan.bill_ids, &[p.id]).await?;
    for mut l in plan.lines {
        l.payment_id = Set(p.id);
        l.insert(&txn).await?;
    }
    txn.commit().await?;
    close_at_gateways(state, replaced).await;
    Ok(p)
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
pub(super) async fn close_orders_holding(
    txn: &DatabaseTransaction,
    bill_ids: &[i32],
    except: &[i32],
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
        .filter(|id| !except.contains(id))
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
pub(super) async fn close_at_gateways(state: &AppState, closed: Vec<payment::Model>) {
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
