//! Installment plans (分期协议), from the owner's request to staff's decision: the owner picks
//! unpaid bills of one unit and 3–12 months and sees the schedule (equal instalments of their
//! outstanding principal, the remainder on the first); finance approves — fixing the agreement text
//! the owner is then asked to accept — or rejects with a reason; the owner may withdraw until it
//! takes effect. Each step goes on the unit's evidence chain; a bill is in one live plan at most
//! (`installment_plan_bills.live_bill_id`, unique).
use crate::domain::installments::{schedule, Instalment};
use crate::domain::role::{Action, Role};
use crate::domain::states::BillStatus;
use crate::domain::{text, Fen};
use crate::error::{ApiError, ApiResult};
use crate::services::access::staff::StaffCtx;
use crate::services::audit;
use crate::services::billing::{bills, owner};
use crate::services::inbox::{self, Item, To};
use crate::services::setup::communities::Features;
use crate::services::setup::units::label;
use crate::state::AppState;
use chrono::{DateTime, NaiveDate, Utc};
use entity::states::PlanStatus;
use entity::{
    community, installment_plan as plan, installment_plan_bill as plan_bill, installment_plan_instalment as instalment,
    unit,
};
use sea_orm::sea_query::Expr;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, DatabaseTransaction, EntityTrait, QueryFilter, QueryOrder,
    QuerySelect, Set,
};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet};
use utoipa::{IntoParams, ToSchema};

/// Template key in `wechat.templates` / `sms.templates` for a decision (SMS parameters: unit,
/// 已批准/未批准, what to do next).
pub const DECIDED: &str = "installment_decision";
/// Bills one request may cover.
const MAX_BILLS: usize = 60;

/// `POST /me/installment-requests` body.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewRequest {
    /// Unpaid bills of one of the owner's units.
    #[schema(min_items = 1, max_items = 60)]
    pub bill_ids: Vec<i32>,
    #[schema(minimum = 3, maximum = 12)]
    pub months: u32,
    /// Why the owner asks (optional, up to 200 characters).
    #[schema(
        pattern = r#"^[^\u0000-\u001F\u007F-\u009F]*[^\s\u0000-\u001F\u007F-\u009F][^\u0000-\u001F\u007F-\u009F]*$"#,
        min_length = 1,
        max_length = 200
    )]
    pub reason: Option<String>,
}

/// `POST /staff/installment-plans/{id}/reject` body.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Rejection {
    #[schema(
        pattern = r#"^[^\u0000-\u001F\u007F-\u009F]*[^\s\u0000-\u001F\u007F-\u009F][^\u0000-\u001F\u007F-\u009F]*$"#,
        min_length = 1,
        max_length = 200
    )]
    pub reason: String,
}

/// `GET /staff/installment-plans` query.
#[derive(Debug, Deserialize, IntoParams)]
pub struct PlanQuery {
    pub community_id: i32,
    /// One status (`requested`, `approved`, `rejected`, `withdrawn`, `active`, `completed`,
    /// `defaulted`, `expired`); all when absent.
    #[param(pattern = r"^(requested|approved|rejected|withdrawn|active|completed|defaulted|expired)$")]
    pub status: Option<String>,
}

/// One instalment of a schedule.
#[derive(Debug, Serialize, ToSchema)]
pub struct InstalmentView {
    pub seq: u32,
    pub due_date: NaiveDate,
    /// Yuan.
    pub amount: String,
    /// Once the plan is accepted: the instalment's bill (paid like any bill, by every channel).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub bill_id: Option<i32>,
    /// Once accepted: that bill's status (`unpaid`, `paid`, `cancelled`, `rescheduled`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub bill_status: Option<String>,
}

/// `POST /me/installment-plans/{id}/accept` body.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Acceptance {
    /// SHA-256 (hex) of the agreement text the owner read: it must be the plan's.
    #[schema(pattern = r"^[0-9a-fA-F]{64}$")]
    pub agreement_sha256: String,
}

/// A covered bill as it stood when the plan was asked for.
#[derive(Debug, Serialize, ToSchema)]
pub struct CoveredBill {
    pub bill_id: i32,
    pub period: String,
    pub fee_item: String,
    /// Outstanding principal then (yuan).
    pub principal: String,
    /// Outstanding late fee then (yuan).
    pub late_fee: String,
}

/// A plan as its owner and staff see it.
#[derive(Debug, Serialize, ToSchema)]
pub struct PlanView {
    pub id: i32,
    pub community_id: i32,
    pub unit_id: i32,
    /// Building and unit code, e.g. `A A-1-101`.
    pub unit: String,
    pub months: i32,
    /// What the instalments pay: the covered bills' outstanding principal (yuan).
    pub principal: String,
    /// Their outstanding late fee when asked (yuan): frozen while the plan is kept, waived when
    /// the last instalment is paid.
    pub late_fee: String,
    /// `requested`, `approved`, `rejected`, `withdrawn`, `active`, `completed`, `defaulted`,
    /// `expired` (approved but not accepted in time).
    pub status: String,
    /// The status in Chinese.
    pub status_label: String,
    /// The instalments. Until the plan is accepted their dates are as if it were accepted today
    /// (the first one month on); acceptance fixes them.
    pub schedule: Vec<InstalmentView>,
    pub bills: Vec<CoveredBill>,
    pub reason: Option<String>,
    pub decision_reason: Option<String>,
    pub decided_at: Option<DateTime<Utc>>,
    /// Fixed at approval: what the owner is asked to accept.
    pub agreement_text: Option<String>,
    /// SHA-256 (hex) of `agreement_text`'s UTF-8 bytes.
    pub agreement_sha256: Option<String>,
    pub accepted_at: Option<DateTime<Utc>>,
    /// When it ended (rejected, withdrawn, completed or defaulted), and why.
    pub ended_at: Option<DateTime<Utc>>,
    pub end_reason: Option<String>,
    pub created_at: DateTime<Utc>,
}

fn status_label(s: PlanStatus) -> &'static str {
    match s {
        PlanStatus::Requested => "待审批",
        PlanStatus::Approved => "已批准，待您确认协议",
        PlanStatus::Rejected => "未批准",
        PlanStatus::Withdrawn => "已撤回",
        PlanStatus::Active => "分期中",
        PlanStatus::Completed => "已按期还清",
        PlanStatus::Defaulted => "已违约终止",
        PlanStatus::Expired => "未按时确认，已失效",
    }
}

pub(super) fn yuan(fen: i64) -> String {
    Fen(fen).to_yuan_string()
}

fn instalment_views(items: &[Instalment]) -> Vec<InstalmentView> {
    items
        .iter()
        .map(|i| InstalmentView {
            seq: i.seq,
            due_date: i.due_date,
            amount: yuan(i.amount_fen),
            bill_id: None,
            bill_status: None,
        })
        .collect()
}

/// Today in a community's time zone.
pub(super) async fn today_of(state: &AppState, community_id: i32) -> ApiResult<NaiveDate> {
    Ok(state.today_in(state.community_tz(community_id).await?))
}

/// The views of plans, with their bills and schedules read together.
async fn views(state: &AppState, plans: Vec<plan::Model>) -> ApiResult<Vec<PlanView>> {
    let ids: Vec<i32> = plans.iter().map(|p| p.id).collect();
    let mut covered: BTreeMap<i32, Vec<plan_bill::Model>> = BTreeMap::new();
    for b in plan_bill::Entity::find()
        .filter(plan_bill::Column::PlanId.is_in(ids.clone()))
        .order_by_asc(plan_bill::Column::Id)
        .all(&state.db)
        .await?
    {
        covered.entry(b.plan_id).or_default().push(b);
    }
    let mut fixed: BTreeMap<i32, Vec<instalment::Model>> = BTreeMap::new();
    for i in instalment::Entity::find()
        .filter(instalment::Column::PlanId.is_in(ids))
        .order_by_asc(instalment::Column::Seq)
        .all(&state.db)
        .await?
    {
        fixed.entry(i.plan_id).or_default().push(i);
    }
    let bill_ids: Vec<i32> = covered
        .values()
        .flatten()
        .map(|b| b.bill_id)
        .chain(fixed.values().flatten().filter_map(|i| i.bill_id))
        .collect();
    let found = entity::bill::Entity::find()
        .filter(entity::bill::Column::Id.is_in(bill_ids))
        .all(&state.db)
        .await?;
    let statuses: BTreeMap<i32, BillStatus> = found.iter().map(|b| (b.id, b.status)).collect();
    // Instalments show only their status; the covered bills are priced for their names.
    let priced: Vec<entity::bill::Model> = found.into_iter().filter(|b| b.installment_plan_id == 0).collect();
    let shown: BTreeMap<i32, bills::BillView> = bills::with_amounts(state, priced)
        .await?
        .into_iter()
        .map(|(b, v, _)| (b.id, v))
        .collect();
    let labels = crate::services::setup::units::labels_of(&state.db, plans.iter().map(|p| p.unit_id)).await?;
    let mut out = Vec::with_capacity(plans.len());
    for p in plans {
        let schedule = match fixed.remove(&p.id) {
            Some(s) if p.accepted_at.is_some() => s
                .iter()
                .map(|i| InstalmentView {
                    seq: u32::try_from(i.seq).unwrap_or_default(),
                    due_date: i.due_date,
                    amount: yuan(i.amount_fen),
                    bill_id: i.bill_id,
                    bill_status: i.bill_id.and_then(|b| statuses.get(&b)).map(|s| s.to_string()),
                })
                .collect(),
            // Not accepted yet: as if accepted today.
            _ => instalment_views(
                &schedule(
                    p.principal_fen,
                    u32::try_from(p.months).unwrap_or_default(),
                    today_of(state, p.community_id).await?,
                )
                .unwrap_or_default(),
            ),
        };
        out.push(PlanView {
            id: p.id,
            community_id: p.community_id,
            unit_id: p.unit_id,
            unit: labels.get(&p.unit_id).cloned().unwrap_or_default(),
            months: p.months,
            principal: yuan(p.principal_fen),
            late_fee: yuan(p.late_fee_fen),
            status: p.status.to_string(),
            status_label: status_label(p.status).into(),
            schedule,
            bills: covered
                .remove(&p.id)
                .unwrap_or_default()
                .iter()
                .map(|b| covered_bill(b, shown.get(&b.bill_id)))
                .collect(),
            reason: p.owner_reason,
            decision_reason: p.decision_reason,
            decided_at: p.decided_at,
            agreement_text: p.agreement_text,
            agreement_sha256: p.agreement_sha256,
            accepted_at: p.accepted_at,
            ended_at: p.ended_at,
            end_reason: p.end_reason,
            created_at: p.created_at,
        });
    }
    Ok(out)
}

/// A covered bill as recorded by the request, named as the bill reads.
fn covered_bill(b: &plan_bill::Model, shown: Option<&bills::BillView>) -> CoveredBill {
    CoveredBill {
        bill_id: b.bill_id,
        period: shown.map(|v| v.period.clone()).unwrap_or_default(),
        fee_item: shown.map(|v| v.fee_item.clone()).unwrap_or_default(),
        principal: yuan(b.principal_fen),
        late_fee: yuan(b.late_fee_fen),
    }
}

pub(super) async fn view(state: &AppState, p: plan::Model) -> ApiResult<PlanView> {
    views(state, vec![p])
        .await?
        .pop()
        .ok_or_else(|| ApiError::internal(anyhow::anyhow!("plan view lost")))
}

/// Appends a plan event to the unit's evidence chain inside the caller's transaction.
pub(super) async fn record(
    txn: &DatabaseTransaction,
    p: &plan::Model,
    at: DateTime<Utc>,
    content: String,
    result: &str,
) -> ApiResult<()> {
    super::note(txn, "installment", p.unit_id, at, content, result).await
}

fn plan_exists() -> ApiError {
    ApiError::Conflict("PLAN_EXISTS", "所选账单已在其他分期申请或分期协议中".into())
}

/// `POST /me/installment-requests`: checks the bills (the owner's own today, of one unit, unpaid
/// with principal outstanding, in a community offering installments) and the months, and records
/// the request with the schedule it would have; finance is told.
pub async fn request(state: &AppState, account_id: i32, body: NewRequest) -> ApiResult<PlanView> {
    let wanted: BTreeSet<i32> = body.bill_ids.iter().copied().collect();
    if wanted.is_empty() || body.bill_ids.len() > MAX_BILLS || wanted.len() != body.bill_ids.len() {
        return Err(ApiError::field(
            "bill_ids",
            format!("请选择1到{MAX_BILLS}张账单，且不要重复"),
        ));
    }
    let reason = match body.reason.as_deref() {
        None => None,
        Some(r) => Some(text::name(r, 200).map_err(|m| ApiError::field("reason", format!("申请原因{m}")))?),
    };
    let chosen: Vec<entity::bill::Model> = owner::owner_visible(state, account_id)
        .await?
        .into_iter()
        .filter(|b| wanted.contains(&b.id))
        .collect();
    if chosen.len() != wanted.len() {
        return Err(ApiError::field("bill_ids", "只能为您名下房屋的账单申请分期"));
    }
    let units: BTreeSet<i32> = chosen.iter().map(|b| b.unit_id).collect();
    let [unit_id] = units.into_iter().collect::<Vec<_>>()[..] else {
        return Err(ApiError::field("bill_ids", "一次申请只能包含同一套房屋的账单"));
    };
    let priced = bills::with_amounts(state, chosen).await?;
    if priced
        .iter()
        .any(|(b, _, a)| b.status != BillStatus::Unpaid || a.outstanding_principal <= 0)
    {
        return Err(ApiError::field("bill_ids", "只能为未缴清的账单申请分期"));
    }
    let community_id = priced[0].0.community_id;
    let c = community::Entity::find_by_id(community_id)
        .one(&state.db)
        .await?
        .ok_or(ApiError::NotFound)?;
    if !Features::of(&c).installments {
        return Err(ApiError::Conflict("INSTALLMENTS_OFF", "该小区暂未开通分期缴费".into()));
    }
    let principal: i64 = priced.iter().map(|(_, _, a)| a.outstanding_principal).sum();
    let late_fee: i64 = priced.iter().map(|(_, _, a)| a.outstanding_late_fee).sum();
    let today = today_of(state, community_id).await?;
    let months = schedule(principal, body.months, today)
        .map_err(|e| ApiError::field("months", e.message()))?
        .len();
    let now = state.clock.now();
    let txn = crate::db::begin_write(&state.db).await?;
    let p = plan::ActiveModel {
        community_id: Set(community_id),
        unit_id: Set(unit_id),
        account_id: Set(account_id),
        months: Set(i32::try_from(months).unwrap_or_default()),
        principal_fen: Set(principal),
        late_fee_fen: Set(late_fee),
        status: Set(PlanStatus::Requested),
        owner_reason: Set(reason.clone()),
        created_at: Set(now),
        updated_at: Set(now),
        ..Default::default()
    }
    .insert(&txn)
    .await?;
    for (b, _, a) in &priced {
        // The unique live bill id decides a race between two requests for the same bill.
        let inserted = plan_bill::Entity::insert(plan_bill::ActiveModel {
            plan_id: Set(p.id),
            bill_id: Set(b.id),
            live_bill_id: Set(Some(b.id)),
            principal_fen: Set(a.outstanding_principal),
            late_fee_fen: Set(a.outstanding_late_fee),
            ..Default::default()
        })
        .on_conflict(
            sea_orm::sea_query::OnConflict::column(plan_bill::Column::LiveBillId)
                .do_nothing()
                .to_owned(),
        )
        .exec_without_returning(&txn)
        .await?;
        if inserted == 0 {
            txn.rollback().await?;
            return Err(plan_exists());
        }
    }
    let periods: Vec<String> = priced
        .iter()
        .map(|(_, v, a)| format!("{} {}（本金{}元）", v.period, v.fee_item, yuan(a.outstanding_principal)))
        .collect();
    record(
        &txn,
        &p,
        now,
        format!(
            "业主申请分期：{}期，本金{}元，滞纳金{}元；账单：{}{}",
            months,
            yuan(principal),
            yuan(late_fee),
            periods.join("、"),
            reason.as_deref().map(|r| format!("；原因：{r}")).unwrap_or_default()
        ),
        "requested",
    )
    .await?;
    inbox::post(
        &txn,
        To::Community {
            community_id,
            roles: &[Role::Finance],
        },
        Item {
            kind: "installment_requested",
            title: format!("分期申请待审批：{}期，本金{}元", months, yuan(principal)),
            body: format!("账单：{}", periods.join("、")),
            link: Some(format!("/console/installments?community_id={community_id}")),
            event_key: format!("installment_requested:{}", p.id),
        },
        now,
    )
    .await?;
    txn.commit().await?;
    tracing::info!(
        plan_id = p.id,
        months,
        principal_fen = principal,
        "installment plan requested"
    );
    view(state, p).await
}

/// `GET /me/installment-plans`: the owner's requests and plans, newest first.
pub async fn mine(state: &AppState, account_id: i32) -> ApiResult<Vec<PlanView>> {
    let plans = plan::Entity::find()
        .filter(plan::Column::AccountId.eq(account_id))
        .order_by_desc(plan::Column::Id)
        .limit(200)
        .all(&state.db)
        .await?;
    views(state, plans).await
}

/// Moves a plan from one of `from` to what `set` says, only if it is still there; the moved plan,
/// or None when something else moved it first.
pub(super) async fn move_plan<C: ConnectionTrait>(
    db: &C,
    id: i32,
    from: &[PlanStatus],
    set: plan::ActiveModel,
) -> ApiResult<Option<plan::Model>> {
    if !super::moved(db, set, (plan::Column::Id, id), plan::Column::Status, from).await? {
        return Ok(None);
    }
    Ok(plan::Entity::find_by_id(id).one(db).await?)
}

/// Frees a plan's bills for another plan (it ended before taking effect).
pub(super) async fn release_bills<C: ConnectionTrait>(db: &C, plan_id: i32) -> ApiResult<()> {
    plan_bill::Entity::update_many()
        .col_expr(plan_bill::Column::LiveBillId, Expr::value(Option::<i32>::None))
        .filter(plan_bill::Column::PlanId.eq(plan_id))
        .exec(db)
        .await?;
    Ok(())
}

/// `DELETE /me/installment-plans/{id}`: the owner withdraws a request or an approved plan not yet
/// accepted (409 once it took effect or ended; another owner's is 404).
pub async fn withdraw(state: &AppState, account_id: i32, id: i32) -> ApiResult<PlanView> {
    let p = plan::Entity::find_by_id(id)
        .one(&state.db)
        .await?
        .filter(|p| p.account_id == account_id)
        .ok_or(ApiError::NotFound)?;
    let now = state.clock.now();
    let txn = crate::db::begin_write(&state.db).await?;
    let set = plan::ActiveModel {
        status: Set(PlanStatus::Withdrawn),
        ended_at: Set(Some(now)),
        end_reason: Set(Some("业主撤回".into())),
        updated_at: Set(now),
        ..Default::default()
    };
    let Some(p) = move_plan(&txn, p.id, &[PlanStatus::Requested, PlanStatus::Approved], set).await? else {
        txn.rollback().await?;
        return Err(ApiError::Conflict(
            "PLAN_NOT_OPEN",
            "该分期已生效或已结束，不能撤回".into(),
        ));
    };
    release_bills(&txn, p.id).await?;
    record(&txn, &p, now, "业主撤回分期申请".into(), "withdrawn").await?;
    txn.commit().await?;
    view(state, p).await
}

/// `GET /staff/installment-plans?community_id=&status=`: a community's plans, newest first (at
/// most 500).
pub async fn list(state: &AppState, ctx: &StaffCtx, q: PlanQuery) -> ApiResult<Vec<PlanView>> {
    ctx.require(Action::ManageBilling)?;
    crate::services::setup::community_in_scope(state, ctx, q.community_id).await?;
    let mut find = plan::Entity::find().filter(plan::Column::CommunityId.eq(q.community_id));
    if let Some(s) = q.status.as_deref() {
        let status =
            crate::domain::states::parse::<PlanStatus>(s).ok_or_else(|| ApiError::field("status", "状态无效"))?;
        find = find.filter(plan::Column::Status.eq(status));
    }
    let plans = find.order_by_desc(plan::Column::Id).limit(500).all(&state.db).await?;
    views(state, plans).await
}

/// A plan of the member's communities.
async fn visible(state: &AppState, ctx: &StaffCtx, id: i32) -> ApiResult<plan::Model> {
    ctx.require(Action::ManageBilling)?;
    plan::Entity::find_by_id(id)
        .one(&state.db)
        .await?
        .filter(|p| ctx.sees(p.community_id))
        .ok_or(ApiError::NotFound)
}

/// The agreement the owner is asked to accept: who, which bills (as of `on`, the day they were
/// asked for), the instalments, the frozen late fee and what keeping or breaking the plan does —
/// only what the plan's rows hold.
fn agreement(
    p: &plan::Model,
    unit: &str,
    covered: &[CoveredBill],
    on: NaiveDate,
    grace_days: i64,
) -> ApiResult<String> {
    let items = schedule(p.principal_fen, u32::try_from(p.months).unwrap_or_default(), on)
        .map_err(|e| ApiError::internal(anyhow::anyhow!(e.message())))?;
    let first = items.first().map(|i| i.amount_fen).unwrap_or_default();
    let rest = items.get(1).map(|i| i.amount_fen).unwrap_or(first);
    let bills: Vec<String> = covered
        .iter()
        .map(|b| {
            format!(
                "{} {}：本金{}元，滞纳金{}元",
                b.period, b.fee_item, b.principal, b.late_fee
            )
        })
        .collect();
    Ok(format!(
        "物业费分期缴纳协议\n房屋：{unit}\n分期账单（截至{on}）：\n{}\n分期本金合计{}元，分{}期按月缴纳：首期{}元，其余每期{}元；首期于接受本协议之日起一个月后到期，此后每月同日到期（该月无此日的，为该月最后一日）。\n上述账单的滞纳金按原规则计至接受本协议的前一日（截至{on}合计{}元），自接受本协议之日起冻结、不再增加；全部分期缴清且无一期逾期超过{grace_days}日的，冻结的滞纳金予以免除。\n任一期逾期超过{grace_days}日未缴的，本协议终止：尚未缴纳的分期取消，上述账单按原到期日恢复待缴，已缴分期款抵扣其本金，滞纳金按原规则计算（如同未分期）。\n接受本协议即确认上述欠费并同意按期缴纳。",
        bills.join("\n"),
        yuan(p.principal_fen),
        p.months,
        yuan(first),
        yuan(rest),
        yuan(p.late_fee_fen),
    ))
}

/// SHA-256 of an agreement's UTF-8 bytes, hex.
pub fn agreement_sha256(text: &str) -> String {
    crate::crypto::sha256_hex(text.as_bytes())
}

/// `POST /staff/installment-plans/{id}/approve`: finance approves a request whose bills are still
/// as asked (else 409: the owner asks again), fixing the agreement; the owner is told.
pub async fn approve(state: &AppState, ctx: &StaffCtx, id: i32) -> ApiResult<PlanView> {
    let p = visible(state, ctx, id).await?;
    if p.status != PlanStatus::Requested {
        return Err(not_requested());
    }
    // The bills must still owe what the request covers: a payment since changes the plan.
    let rows = plan_bill::Entity::find()
        .filter(plan_bill::Column::PlanId.eq(p.id))
        .order_by_asc(plan_bill::Column::Id)
        .all(&state.db)
        .await?;
    let found = entity::bill::Entity::find()
        .filter(entity::bill::Column::Id.is_in(rows.iter().map(|r| r.bill_id)))
        .all(&state.db)
        .await?;
    let owed: BTreeMap<i32, bills::Priced> = bills::with_amounts(state, found)
        .await?
        .into_iter()
        .map(|p| (p.0.id, p))
        .collect();
    if rows.iter().any(|r| {
        owed.get(&r.bill_id)
            .is_none_or(|(b, _, a)| b.status != BillStatus::Unpaid || a.outstanding_principal != r.principal_fen)
    }) {
        return Err(ApiError::Conflict(
            "PLAN_STALE",
            "申请后账单已有缴费或调整，请业主重新申请分期".into(),
        ));
    }
    let u = unit::Entity::find_by_id(p.unit_id)
        .one(&state.db)
        .await?
        .ok_or(ApiError::NotFound)?;
    // The amounts the request recorded are as of the day it was made, and the text says so.
    let asked_on = p
        .created_at
        .with_timezone(&state.community_tz(p.community_id).await?)
        .date_naive();
    let covered: Vec<CoveredBill> = rows
        .iter()
        .map(|r| covered_bill(r, owed.get(&r.bill_id).map(|(_, v, _)| v)))
        .collect();
    let text = agreement(
        &p,
        &label(&u),
        &covered,
        asked_on,
        state.settings.installments.default_after_days,
    )?;
    let sha = agreement_sha256(&text);
    let now = state.clock.now();
    let txn = crate::db::begin_write(&state.db).await?;
    let set = plan::ActiveModel {
        status: Set(PlanStatus::Approved),
        decided_by: Set(Some(ctx.actor())),
        decided_at: Set(Some(now)),
        agreement_text: Set(Some(text)),
        agreement_sha256: Set(Some(sha.clone())),
        updated_at: Set(now),
        ..Default::default()
    };
    let Some(p) = move_plan(&txn, p.id, &[PlanStatus::Requested], set).await? else {
        txn.rollback().await?;
        return Err(not_requested());
    };
    record(
        &txn,
        &p,
        now,
        format!("物业批准分期申请（{}），协议文本SHA-256：{sha}", ctx.actor()),
        "approved",
    )
    .await?;
    audit::record(
        &txn,
        &ctx.actor(),
        "installment.approve",
        "installment_plan",
        p.id,
        serde_json::json!({"agreement_sha256": sha}),
        now,
    )
    .await?;
    txn.commit().await?;
    tell(state, &p, "已批准", "请在小程序中查看并确认分期协议").await?;
    view(state, p).await
}

fn not_requested() -> ApiError {
    ApiError::Conflict("PLAN_NOT_REQUESTED", "该分期申请已处理或已撤回".into())
}

/// `POST /staff/installment-plans/{id}/reject`: finance refuses with a reason the owner reads; the
/// bills return to the ordinary course.
pub async fn reject(state: &AppState, ctx: &StaffCtx, id: i32, body: Rejection) -> ApiResult<PlanView> {
    let p = visible(state, ctx, id).await?;
    let reason = text::name(&body.reason, 200).map_err(|m| ApiError::field("reason", format!("原因{m}")))?;
    let now = state.clock.now();
    let txn = crate::db::begin_write(&state.db).await?;
    let set = plan::ActiveModel {
        status: Set(PlanStatus::Rejected),
        decided_by: Set(Some(ctx.actor())),
        decided_at: Set(Some(now)),
        decision_reason: Set(Some(reason.clone())),
        ended_at: Set(Some(now)),
        end_reason: Set(Some(reason.clone())),
        updated_at: Set(now),
        ..Default::default()
    };
    let Some(p) = move_plan(&txn, p.id, &[PlanStatus::Requested], set).await? else {
        txn.rollback().await?;
        return Err(not_requested());
    };
    release_bills(&txn, p.id).await?;
    record(
        &txn,
        &p,
        now,
        format!("物业未批准分期申请（{}）：{reason}", ctx.actor()),
        "rejected",
    )
    .await?;
    audit::record(
        &txn,
        &ctx.actor(),
        "installment.reject",
        "installment_plan",
        p.id,
        serde_json::json!({"reason": reason}),
        now,
    )
    .await?;
    txn.commit().await?;
    tell(state, &p, "未批准", &reason).await?;
    view(state, p).await
}

/// Tells the owner a decision about their plan.
pub(super) async fn tell(state: &AppState, p: &plan::Model, verdict: &str, next: &str) -> ApiResult<()> {
    super::tell(
        state,
        super::Told {
            purpose: DECIDED,
            kind: "installment",
            account_id: p.account_id,
            unit_id: p.unit_id,
            subject: "物业费分期申请",
            verdict,
            next,
            page: "pages/installments/index",
            key: format!("installment:{}:{}", p.id, p.status),
        },
    )
    .await
}
