//! Hardship cases (困难减免): an owner in a 低保 household, with a disability, a serious illness or
//! a sudden crisis asks for relief with evidence photos; finance grants a percentage reduction or a
//! deferral of the bills due in a window of at most a year, with approver and reason, or refuses
//! with a reason. The relief reaches bills through the ledger — those due in the window now, and
//! those issued later by the pass — once per bill; while the case is decided and through its
//! window, the `hardship` suppression clause pauses the chasing of the unit. A deferral moves due
//! dates but not limitation, unless the owner signs the acknowledgment in the app. When the window
//! is over the case ends by itself and a review task reaches finance's inbox (`relief`: the relief
//! reaching bills, and the end).
mod relief;

pub use relief::{tick, Pass};

use crate::domain::hardship::{check_window, parse_percent};
use crate::domain::role::{Action, Role};
use crate::domain::{text, Fen};
use crate::error::{ApiError, ApiResult};
use crate::services::access::staff::StaffCtx;
use crate::services::audit;
use crate::services::billing::ledger::{self};
use crate::services::inbox::{self, Item, To};
use crate::services::setup::communities::Features;
use crate::services::uploads::{self, Uploader};
use crate::state::AppState;
use chrono::{DateTime, NaiveDate, Utc};
use entity::states::{HardshipCategory, HardshipStatus, Relief};
use entity::{bill, community, hardship_case as case, hardship_case_bill as case_bill, unit};
use sea_orm::sea_query::{Expr, OnConflict};
use sea_orm::{
    ColumnTrait, ConnectionTrait, DatabaseTransaction, EntityTrait, QueryFilter, QueryOrder, QuerySelect, Set,
};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet};
use utoipa::{IntoParams, ToSchema};

/// Template key for a decision (SMS parameters: unit, 已批准/未批准, what it means).
pub const DECIDED: &str = "hardship_decision";
/// What the case's photos are attached as.
pub const UPLOAD_KIND: &str = "hardship";
/// Evidence photos one request carries.
const MAX_PHOTOS: usize = 9;
/// Who the ledger entries of the relief name, beside the approver in their reason.
const SYSTEM: &str = "system:hardship";

/// `POST /me/hardship-requests` body.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewCase {
    /// `dibao` (低保), `disability`, `serious_illness` or `sudden_crisis`.
    #[schema(pattern = r"^(dibao|disability|serious_illness|sudden_crisis)$")]
    pub category: String,
    /// The owner's account of their situation (up to 500 characters).
    #[schema(
        pattern = r#"^[^\u0000-\u001F\u007F-\u009F]*[^\s\u0000-\u001F\u007F-\u009F][^\u0000-\u001F\u007F-\u009F]*$"#,
        min_length = 1,
        max_length = 500
    )]
    pub reason: String,
    /// Evidence photos the owner uploaded (`POST /me/uploads`): a certificate, a diagnosis.
    #[schema(min_items = 1, max_items = 9)]
    pub upload_ids: Vec<i32>,
    /// Which of the owner's units; may be left out when they have only one.
    pub unit_id: Option<i32>,
}

/// `POST /staff/hardship-cases/{id}/approve` body.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Decision {
    /// `reduction` (a percentage off the principal) or `deferral` (a later due date).
    #[schema(pattern = r"^(reduction|deferral)$")]
    pub relief: String,
    /// For a reduction: 0.01–100, at most two decimals.
    #[schema(pattern = r"^(100(\.0{1,2})?|[1-9]\d?(\.\d{1,2})?|0\.(0[1-9]|[1-9]\d?))$")]
    pub percent: Option<String>,
    /// For a deferral: the new due date, after `ends_on` and within a year of it.
    pub defer_to: Option<NaiveDate>,
    /// The window: bills due from `starts_on` to `ends_on` are relieved (at most a year).
    pub starts_on: NaiveDate,
    pub ends_on: NaiveDate,
    /// Why, as the approver records it (up to 200 characters).
    #[schema(
        pattern = r#"^[^\u0000-\u001F\u007F-\u009F]*[^\s\u0000-\u001F\u007F-\u009F][^\u0000-\u001F\u007F-\u009F]*$"#,
        min_length = 1,
        max_length = 200
    )]
    pub reason: String,
}

/// A reason: a refusal's, or a review's note.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Note {
    #[schema(
        pattern = r#"^[^\u0000-\u001F\u007F-\u009F]*[^\s\u0000-\u001F\u007F-\u009F][^\u0000-\u001F\u007F-\u009F]*$"#,
        min_length = 1,
        max_length = 200
    )]
    pub reason: String,
}

/// `POST /me/hardship-cases/{id}/acknowledge` body.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Acknowledgment {
    /// SHA-256 (hex) of the acknowledgment text the owner read.
    #[schema(pattern = r"^[0-9a-fA-F]{64}$")]
    pub ack_sha256: String,
}

/// `GET /staff/hardship-cases` query.
#[derive(Debug, Deserialize, IntoParams)]
pub struct CaseQuery {
    pub community_id: i32,
    /// One status (`requested`, `approved`, `rejected`, `withdrawn`, `ended`); all when absent.
    #[param(pattern = r"^(requested|approved|rejected|withdrawn|ended)$")]
    pub status: Option<String>,
}

/// A bill the case relieved.
#[derive(Debug, Serialize, ToSchema)]
pub struct RelievedBill {
    pub bill_id: i32,
    pub period: String,
    /// Principal taken off (yuan; 0.00 for a deferral).
    pub reduced: String,
    /// A deferral's original due date.
    pub deferred_from: Option<NaiveDate>,
    /// The bill's due date now.
    pub due_date: NaiveDate,
}

/// A hardship case as its owner and staff see it.
#[derive(Debug, Serialize, ToSchema)]
pub struct CaseView {
    pub id: i32,
    pub community_id: i32,
    pub unit_id: i32,
    /// Building and unit code.
    pub unit: String,
    pub category: String,
    pub category_label: String,
    pub reason: String,
    /// `requested`, `approved`, `rejected`, `withdrawn`, `ended`.
    pub status: String,
    pub status_label: String,
    /// `reduction` or `deferral` once approved.
    pub relief: Option<String>,
    /// The relief in the owner's words, e.g. `2026-10-01至2027-03-31到期的物业费减免30%`.
    pub relief_label: Option<String>,
    pub percent: Option<String>,
    pub defer_to: Option<NaiveDate>,
    pub starts_on: Option<NaiveDate>,
    /// The day the relief ends.
    pub ends_on: Option<NaiveDate>,
    pub decided_by: Option<String>,
    pub decided_at: Option<DateTime<Utc>>,
    pub decision_reason: Option<String>,
    /// Evidence photos' ids (served at `…/hardship-cases/{id}/photos/{upload_id}`).
    pub photo_ids: Vec<i32>,
    /// A deferral's acknowledgment text, which the owner may sign (it restarts limitation).
    pub ack_text: Option<String>,
    pub ack_sha256: Option<String>,
    pub acknowledged_at: Option<DateTime<Utc>>,
    pub bills: Vec<RelievedBill>,
    pub reviewed_at: Option<DateTime<Utc>>,
    pub review_note: Option<String>,
    pub created_at: DateTime<Utc>,
}

fn category_label(c: HardshipCategory) -> &'static str {
    match c {
        HardshipCategory::Dibao => "低保家庭",
        HardshipCategory::Disability => "残疾",
        HardshipCategory::SeriousIllness => "重大疾病",
        HardshipCategory::SuddenCrisis => "突发困难",
    }
}

fn status_label(c: &case::Model) -> &'static str {
    match c.status {
        HardshipStatus::Requested => "待审核",
        HardshipStatus::Approved => "已批准",
        HardshipStatus::Rejected => "未批准",
        HardshipStatus::Withdrawn => "已撤回",
        HardshipStatus::Ended if c.reviewed_at.is_none() => "已到期，待复核",
        HardshipStatus::Ended => "已到期",
    }
}

fn relief_label(c: &case::Model) -> Option<String> {
    let (from, to) = (c.starts_on?, c.ends_on?);
    match c.relief? {
        Relief::Reduction => Some(format!(
            "{from}至{to}到期的物业费减免{}%",
            c.percent.as_deref().unwrap_or_default()
        )),
        Relief::Deferral => Some(format!("{from}至{to}到期的物业费缓缴至{}", c.defer_to?)),
    }
}

fn yuan(fen: i64) -> String {
    Fen(fen).to_yuan_string()
}

fn not_found_or_mine(c: Option<case::Model>, account_id: i32) -> ApiResult<case::Model> {
    c.filter(|c| c.account_id == account_id).ok_or(ApiError::NotFound)
}

async fn views(state: &AppState, cases: Vec<case::Model>) -> ApiResult<Vec<CaseView>> {
    let ids: Vec<i32> = cases.iter().map(|c| c.id).collect();
    let mut relieved: BTreeMap<i32, Vec<case_bill::Model>> = BTreeMap::new();
    for r in case_bill::Entity::find()
        .filter(case_bill::Column::CaseId.is_in(ids.clone()))
        .order_by_asc(case_bill::Column::Id)
        .all(&state.db)
        .await?
    {
        relieved.entry(r.case_id).or_default().push(r);
    }
    let bills: BTreeMap<i32, bill::Model> = bill::Entity::find()
        .filter(bill::Column::Id.is_in(relieved.values().flatten().map(|r| r.bill_id)))
        .all(&state.db)
        .await?
        .into_iter()
        .map(|b| (b.id, b))
        .collect();
    let mut photos = uploads::attached_to(&state.db, UPLOAD_KIND, ids).await?;
    let labels = crate::services::setup::units::labels_of(&state.db, cases.iter().map(|c| c.unit_id)).await?;
    Ok(cases
        .into_iter()
        .map(|c| CaseView {
            id: c.id,
            community_id: c.community_id,
            unit_id: c.unit_id,
            unit: labels.get(&c.unit_id).cloned().unwrap_or_default(),
            category: c.category.to_string(),
            category_label: category_label(c.category).into(),
            reason: c.reason.clone(),
            status: c.status.to_string(),
            status_label: status_label(&c).into(),
            relief: c.relief.map(|r| r.to_string()),
            relief_label: relief_label(&c),
            percent: c.percent.clone(),
            defer_to: c.defer_to,
            starts_on: c.starts_on,
            ends_on: c.ends_on,
            decided_by: c.decided_by.clone(),
            decided_at: c.decided_at,
            decision_reason: c.decision_reason.clone(),
            photo_ids: photos.remove(&c.id).unwrap_or_default(),
            ack_text: c.ack_text.clone(),
            ack_sha256: c.ack_sha256.clone(),
            acknowledged_at: c.acknowledged_at,
            bills: relieved
                .remove(&c.id)
                .unwrap_or_default()
                .iter()
                .filter_map(|r| {
                    let b = bills.get(&r.bill_id)?;
                    Some(RelievedBill {
                        bill_id: r.bill_id,
                        period: b.period.clone(),
                        reduced: yuan(r.reduced_fen),
                        deferred_from: r.deferred_from,
                        due_date: b.due_date,
                    })
                })
                .collect(),
            reviewed_at: c.reviewed_at,
            review_note: c.review_note.clone(),
            created_at: c.created_at,
        })
        .collect())
}

async fn view(state: &AppState, c: case::Model) -> ApiResult<CaseView> {
    views(state, vec![c])
        .await?
        .pop()
        .ok_or_else(|| ApiError::internal(anyhow::anyhow!("case view lost")))
}

/// Appends a case event to the unit's evidence chain inside the caller's transaction.
async fn record(
    txn: &DatabaseTransaction,
    c: &case::Model,
    at: DateTime<Utc>,
    content: String,
    result: &str,
) -> ApiResult<()> {
    super::note(txn, "hardship", c.unit_id, at, content, result).await
}

/// Moves a case from one of `from` to what `set` says, only if it is still there; the moved case,
/// or None when something else moved it first.
async fn move_case<C: ConnectionTrait>(
    db: &C,
    id: i32,
    from: &[HardshipStatus],
    set: case::ActiveModel,
) -> ApiResult<Option<case::Model>> {
    if !super::moved(db, set, (case::Column::Id, id), case::Column::Status, from).await? {
        return Ok(None);
    }
    Ok(case::Entity::find_by_id(id).one(db).await?)
}

fn reason_of(raw: &str, field: &str, max: usize) -> ApiResult<String> {
    text::name(raw, max).map_err(|m| ApiError::field(field, format!("原因{m}")))
}

/// `POST /me/hardship-requests`: checks the category, the reason, the photos (the owner's own,
/// unused) and the unit (the owner's; required when they have several), in a community offering
/// hardship help, one live case per unit; finance is told.
pub async fn request(state: &AppState, account_id: i32, body: NewCase) -> ApiResult<CaseView> {
    let category = crate::domain::states::parse::<HardshipCategory>(&body.category).ok_or_else(|| {
        ApiError::field(
            "category",
            "困难类别应为dibao、disability、serious_illness或sudden_crisis",
        )
    })?;
    let reason = text::name(&body.reason, 500).map_err(|m| ApiError::field("reason", format!("情况说明{m}")))?;
    let photos: BTreeSet<i32> = body.upload_ids.iter().copied().collect();
    if photos.is_empty() || body.upload_ids.len() > MAX_PHOTOS || photos.len() != body.upload_ids.len() {
        return Err(ApiError::field(
            "upload_ids",
            format!("请上传1到{MAX_PHOTOS}张证明材料照片，且不要重复"),
        ));
    }
    let u = super::owners_unit(state, account_id, body.unit_id).await?;
    let c = community::Entity::find_by_id(u.community_id)
        .one(&state.db)
        .await?
        .ok_or(ApiError::NotFound)?;
    if !Features::of(&c).hardship {
        return Err(ApiError::Conflict("HARDSHIP_OFF", "该小区暂未开通困难减免申请".into()));
    }
    let now = state.clock.now();
    let txn = crate::db::begin_write(&state.db).await?;
    let row = case::ActiveModel {
        community_id: Set(u.community_id),
        unit_id: Set(u.id),
        live_unit_id: Set(Some(u.id)),
        account_id: Set(account_id),
        category: Set(category),
        reason: Set(reason.clone()),
        status: Set(HardshipStatus::Requested),
        created_at: Set(now),
        updated_at: Set(now),
        ..Default::default()
    };
    // The unique live unit id decides a race between two requests for the same unit.
    let inserted = case::Entity::insert(row)
        .on_conflict(OnConflict::column(case::Column::LiveUnitId).do_nothing().to_owned())
        .exec_without_returning(&txn)
        .await?;
    if inserted == 0 {
        txn.rollback().await?;
        return Err(ApiError::Conflict(
            "HARDSHIP_EXISTS",
            "该房屋已有审核中或生效中的困难减免".into(),
        ));
    }
    let c = case::Entity::find()
        .filter(case::Column::LiveUnitId.eq(u.id))
        .one(&txn)
        .await?
        .ok_or(ApiError::NotFound)?;
    let cited = uploads::attach(
        &txn,
        &Uploader::Owner(account_id),
        &body.upload_ids,
        UPLOAD_KIND,
        c.id,
        c.community_id,
        "upload_ids",
    )
    .await?;
    let shas: Vec<String> = cited.iter().map(|p| p.sha256.clone()).collect();
    record(
        &txn,
        &c,
        now,
        format!(
            "业主申请困难减免（{}）：{reason}；证明材料{}张，SHA-256：{}",
            category_label(category),
            cited.len(),
            shas.join("、")
        ),
        "requested",
    )
    .await?;
    inbox::post(
        &txn,
        To::Community {
            community_id: c.community_id,
            roles: &[Role::Finance],
        },
        Item {
            kind: "hardship_requested",
            title: format!("困难减免申请待审核：{}", category_label(category)),
            body: reason.chars().take(100).collect(),
            link: Some(format!("/console/hardship?community_id={}", c.community_id)),
            event_key: format!("hardship_requested:{}", c.id),
        },
        now,
    )
    .await?;
    txn.commit().await?;
    tracing::info!(case_id = c.id, "hardship case requested");
    view(state, c).await
}

/// `GET /me/hardship-cases`: the owner's cases, newest first.
pub async fn mine(state: &AppState, account_id: i32) -> ApiResult<Vec<CaseView>> {
    let cases = case::Entity::find()
        .filter(case::Column::AccountId.eq(account_id))
        .order_by_desc(case::Column::Id)
        .limit(100)
        .all(&state.db)
        .await?;
    views(state, cases).await
}

/// `DELETE /me/hardship-cases/{id}`: the owner withdraws a request not yet decided.
pub async fn withdraw(state: &AppState, account_id: i32, id: i32) -> ApiResult<CaseView> {
    let c = not_found_or_mine(case::Entity::find_by_id(id).one(&state.db).await?, account_id)?;
    let now = state.clock.now();
    let txn = crate::db::begin_write(&state.db).await?;
    let set = case::ActiveModel {
        status: Set(HardshipStatus::Withdrawn),
        live_unit_id: Set(None),
        updated_at: Set(now),
        ..Default::default()
    };
    let Some(c) = move_case(&txn, c.id, &[HardshipStatus::Requested], set).await? else {
        txn.rollback().await?;
        return Err(ApiError::Conflict("HARDSHIP_DECIDED", "该申请已处理，不能撤回".into()));
    };
    record(&txn, &c, now, "业主撤回困难减免申请".into(), "withdrawn").await?;
    txn.commit().await?;
    view(state, c).await
}

/// `GET /me/hardship-cases/{id}/photos/{upload_id}` and the staff twin: a photo of a case the
/// caller may read.
pub async fn photo_for_owner(state: &AppState, account_id: i32, id: i32, upload_id: i32) -> ApiResult<uploads::Photo> {
    let c = not_found_or_mine(case::Entity::find_by_id(id).one(&state.db).await?, account_id)?;
    uploads::attached_photo(&state.db, upload_id, UPLOAD_KIND, c.id).await
}

pub async fn photo_for_staff(state: &AppState, ctx: &StaffCtx, id: i32, upload_id: i32) -> ApiResult<uploads::Photo> {
    let c = visible(state, ctx, id).await?;
    uploads::attached_photo(&state.db, upload_id, UPLOAD_KIND, c.id).await
}

/// `GET /staff/hardship-cases?community_id=&status=` (finance and admins), newest first.
pub async fn list(state: &AppState, ctx: &StaffCtx, q: CaseQuery) -> ApiResult<Vec<CaseView>> {
    ctx.require(Action::ManageBilling)?;
    crate::services::setup::community_in_scope(state, ctx, q.community_id).await?;
    let mut find = case::Entity::find().filter(case::Column::CommunityId.eq(q.community_id));
    if let Some(s) = q.status.as_deref() {
        let status =
            crate::domain::states::parse::<HardshipStatus>(s).ok_or_else(|| ApiError::field("status", "状态无效"))?;
        find = find.filter(case::Column::Status.eq(status));
    }
    let cases = find.order_by_desc(case::Column::Id).limit(500).all(&state.db).await?;
    views(state, cases).await
}

async fn visible(state: &AppState, ctx: &StaffCtx, id: i32) -> ApiResult<case::Model> {
    ctx.require(Action::ManageBilling)?;
    case::Entity::find_by_id(id)
        .one(&state.db)
        .await?
        .filter(|c| ctx.sees(c.community_id))
        .ok_or(ApiError::NotFound)
}

fn not_requested() -> ApiError {
    ApiError::Conflict("HARDSHIP_DECIDED", "该申请已处理或已撤回".into())
}

/// The acknowledgment a deferral offers the owner: only what the case holds.
fn acknowledgment(
    unit: &str,
    c: &case::Model,
    defer_to: NaiveDate,
    starts_on: NaiveDate,
    ends_on: NaiveDate,
) -> String {
    format!(
        "物业费缓缴确认书\n房屋：{unit}\n经物业服务中心批准（困难减免申请第{}号），上述房屋{starts_on}至{ends_on}期间到期的物业费缓缴至{defer_to}。\n本人确认上述物业费为本人应缴欠费，并同意于{defer_to}前缴清。",
        c.id
    )
}

/// `POST /staff/hardship-cases/{id}/approve`: finance grants a reduction or a deferral for a
/// window, with a reason; it applies at once to the bills due in the window, and to later ones as
/// they are issued. Audited; on the evidence chain; the owner is told.
pub async fn approve(state: &AppState, ctx: &StaffCtx, id: i32, body: Decision) -> ApiResult<CaseView> {
    let c = visible(state, ctx, id).await?;
    if c.status != HardshipStatus::Requested {
        return Err(not_requested());
    }
    let relief = crate::domain::states::parse::<Relief>(&body.relief)
        .ok_or_else(|| ApiError::field("relief", "减免方式应为reduction（按比例减免）或deferral（缓缴）"))?;
    let reason = reason_of(&body.reason, "reason", 200)?;
    let tz = state.community_tz(c.community_id).await?;
    let today = state.today_in(tz);
    let (percent, defer_to) = match relief {
        Relief::Reduction => {
            let p = body
                .percent
                .as_deref()
                .ok_or_else(|| ApiError::field("percent", "按比例减免须填写减免比例"))?;
            let p = parse_percent(p).map_err(|m| ApiError::field("percent", m))?;
            (Some(p.normalize().to_string()), None)
        }
        Relief::Deferral => (
            None,
            Some(
                body.defer_to
                    .ok_or_else(|| ApiError::field("defer_to", "缓缴须填写缓缴后的到期日"))?,
            ),
        ),
    };
    check_window(body.starts_on, body.ends_on, defer_to, today).map_err(|(f, m)| ApiError::field(f, m))?;
    let u = unit::Entity::find_by_id(c.unit_id)
        .one(&state.db)
        .await?
        .ok_or(ApiError::NotFound)?;
    let ack = defer_to.map(|to| {
        acknowledgment(
            &crate::services::setup::units::label(&u),
            &c,
            to,
            body.starts_on,
            body.ends_on,
        )
    });
    let now = state.clock.now();
    let txn = crate::db::begin_write(&state.db).await?;
    let set = case::ActiveModel {
        status: Set(HardshipStatus::Approved),
        relief: Set(Some(relief)),
        percent: Set(percent.clone()),
        defer_to: Set(defer_to),
        starts_on: Set(Some(body.starts_on)),
        ends_on: Set(Some(body.ends_on)),
        decided_by: Set(Some(ctx.actor())),
        decided_at: Set(Some(now)),
        decision_reason: Set(Some(reason.clone())),
        ack_sha256: Set(ack.as_deref().map(|t| crate::crypto::sha256_hex(t.as_bytes()))),
        ack_text: Set(ack),
        updated_at: Set(now),
        ..Default::default()
    };
    let Some(c) = move_case(&txn, c.id, &[HardshipStatus::Requested], set).await? else {
        txn.rollback().await?;
        return Err(not_requested());
    };
    let label = relief_label(&c).unwrap_or_default();
    record(
        &txn,
        &c,
        now,
        format!("物业批准困难减免（{}）：{label}；原因：{reason}", ctx.actor()),
        "approved",
    )
    .await?;
    audit::record(
        &txn,
        &ctx.actor(),
        "hardship.approve",
        "hardship_case",
        c.id,
        serde_json::json!({"relief": relief.as_str(), "percent": percent, "defer_to": defer_to,
            "starts_on": body.starts_on, "ends_on": body.ends_on, "reason": reason}),
        now,
    )
    .await?;
    txn.commit().await?;
    relief::apply(state, &c).await?;
    tell(state, &c, "已批准", &label).await?;
    view(state, c).await
}

/// `POST /staff/hardship-cases/{id}/reject`: finance refuses with a reason the owner reads.
pub async fn reject(state: &AppState, ctx: &StaffCtx, id: i32, body: Note) -> ApiResult<CaseView> {
    let c = visible(state, ctx, id).await?;
    let reason = reason_of(&body.reason, "reason", 200)?;
    let now = state.clock.now();
    let txn = crate::db::begin_write(&state.db).await?;
    let set = case::ActiveModel {
        status: Set(HardshipStatus::Rejected),
        live_unit_id: Set(None),
        decided_by: Set(Some(ctx.actor())),
        decided_at: Set(Some(now)),
        decision_reason: Set(Some(reason.clone())),
        updated_at: Set(now),
        ..Default::default()
    };
    let Some(c) = move_case(&txn, c.id, &[HardshipStatus::Requested], set).await? else {
        txn.rollback().await?;
        return Err(not_requested());
    };
    record(
        &txn,
        &c,
        now,
        format!("物业未批准困难减免（{}）：{reason}", ctx.actor()),
        "rejected",
    )
    .await?;
    audit::record(
        &txn,
        &ctx.actor(),
        "hardship.reject",
        "hardship_case",
        c.id,
        serde_json::json!({"reason": reason}),
        now,
    )
    .await?;
    txn.commit().await?;
    tell(state, &c, "未批准", &reason).await?;
    view(state, c).await
}

/// `POST /staff/hardship-cases/{id}/review`: finance records the review of a case whose window
/// is over (renewal is a new request from the owner).
pub async fn review(state: &AppState, ctx: &StaffCtx, id: i32, body: Note) -> ApiResult<CaseView> {
    let c = visible(state, ctx, id).await?;
    let note = reason_of(&body.reason, "reason", 200)?;
    if c.status != HardshipStatus::Ended || c.reviewed_at.is_some() {
        return Err(ApiError::Conflict(
            "HARDSHIP_NOT_DUE_FOR_REVIEW",
            "只有已到期且未复核的困难减免可以复核".into(),
        ));
    }
    let now = state.clock.now();
    let txn = crate::db::begin_write(&state.db).await?;
    let moved = case::Entity::update_many()
        .col_expr(case::Column::ReviewedBy, Expr::value(ctx.actor()))
        .col_expr(case::Column::ReviewedAt, Expr::value(now))
        .col_expr(case::Column::ReviewNote, Expr::value(note.clone()))
        .filter(case::Column::Id.eq(c.id))
        .filter(case::Column::ReviewedAt.is_null())
        .exec(&txn)
        .await?;
    if moved.rows_affected != 1 {
        txn.rollback().await?;
        return Err(ApiError::Conflict(
            "HARDSHIP_NOT_DUE_FOR_REVIEW",
            "只有已到期且未复核的困难减免可以复核".into(),
        ));
    }
    record(
        &txn,
        &c,
        now,
        format!("物业复核到期的困难减免（{}）：{note}", ctx.actor()),
        "reviewed",
    )
    .await?;
    txn.commit().await?;
    let c = case::Entity::find_by_id(c.id)
        .one(&state.db)
        .await?
        .ok_or(ApiError::NotFound)?;
    view(state, c).await
}

/// `POST /me/hardship-cases/{id}/acknowledge`: the owner signs a deferral's acknowledgment (the
/// hash of the text they read must be the case's). Acknowledging the debt restarts limitation for
/// the deferred bills (Civil Code art. 195); it goes on the evidence chain with time and client.
pub async fn acknowledge(
    state: &AppState,
    account_id: i32,
    id: i32,
    body: Acknowledgment,
    client: &str,
) -> ApiResult<CaseView> {
    let c = not_found_or_mine(case::Entity::find_by_id(id).one(&state.db).await?, account_id)?;
    let hash = body.ack_sha256.to_ascii_lowercase();
    if hash.len() != 64 || !hash.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Err(ApiError::field("ack_sha256", "确认书摘要应为64位十六进制SHA-256"));
    }
    let refused = || {
        ApiError::Conflict(
            "NOTHING_TO_ACKNOWLEDGE",
            "该申请没有待签署的缓缴确认书（未批准缓缴或已签署）".into(),
        )
    };
    if c.status != HardshipStatus::Approved || c.relief != Some(Relief::Deferral) || c.acknowledged_at.is_some() {
        return Err(refused());
    }
    if c.ack_sha256.as_deref() != Some(hash.as_str()) {
        return Err(ApiError::Conflict(
            "AGREEMENT_MISMATCH",
            "您签署的确认书与物业出具的不一致，请重新打开确认书阅读后再签署".into(),
        ));
    }
    let client: String = client.chars().filter(|c| !c.is_control()).take(200).collect();
    let now = state.clock.now();
    let today = state.today_in(state.community_tz(c.community_id).await?);
    let txn = crate::db::begin_write(&state.db).await?;
    let moved = case::Entity::update_many()
        .col_expr(case::Column::AcknowledgedAt, Expr::value(now))
        .col_expr(case::Column::AcknowledgedClient, Expr::value(client.clone()))
        .col_expr(case::Column::UpdatedAt, Expr::value(now))
        .filter(case::Column::Id.eq(c.id))
        .filter(case::Column::AcknowledgedAt.is_null())
        .exec(&txn)
        .await?;
    if moved.rows_affected != 1 {
        txn.rollback().await?;
        return Err(refused());
    }
    let deferred: Vec<i32> = case_bill::Entity::find()
        .filter(case_bill::Column::CaseId.eq(c.id))
        .all(&txn)
        .await?
        .into_iter()
        .map(|r| r.bill_id)
        .collect();
    ledger::restart_limitation(&txn, &deferred, today).await?;
    record(
        &txn,
        &c,
        now,
        format!(
            "业主在小程序中签署缓缴确认书（SHA-256：{hash}；客户端：{client}）；所涉{}张账单的诉讼时效自{today}起重新计算",
            deferred.len()
        ),
        "acknowledged",
    )
    .await?;
    txn.commit().await?;
    let c = case::Entity::find_by_id(c.id)
        .one(&state.db)
        .await?
        .ok_or(ApiError::NotFound)?;
    view(state, c).await
}

/// Tells the owner a decision about their case.
async fn tell(state: &AppState, c: &case::Model, verdict: &str, what: &str) -> ApiResult<()> {
    super::tell(
        state,
        super::Told {
            purpose: DECIDED,
            kind: "hardship",
            account_id: c.account_id,
            unit_id: c.unit_id,
            subject: "困难减免申请",
            verdict,
            next: what,
            page: "pages/hardship/index",
            key: format!("hardship:{}:{}", c.id, c.status),
        },
    )
    .await
}
