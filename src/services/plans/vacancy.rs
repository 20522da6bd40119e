//! Vacant units (空置房优惠): a community's policy (a percentage off the area-based property fee, at
//! most so many months a calendar year); an owner's application from a month on; staff's
//! inspection with photos; finance's decision. An approved application discounts the unit's
//! property-fee bills whose period starts from that month to the end of that year, through the
//! ledger, each bill once, within the unit's yearly cap — those issued now and, through the pass,
//! those issued later — and ends by itself when the cap is used or the year is out (or the owner
//! says they moved in).
use crate::domain::billing::FeeKind;
use crate::domain::hardship::parse_percent;
use crate::domain::period::Period;
use crate::domain::role::{Action, Role};
use crate::domain::states::BillStatus;
use crate::domain::vacancy::{check_cap, discount_fen, months_allowed};
use crate::domain::{text, Fen};
use crate::error::{ApiError, ApiResult};
use crate::services::access::staff::StaffCtx;
use crate::services::audit;
use crate::services::billing::ledger::{By, Correction, Ledger};
use crate::services::inbox::{self, Item, To};
use crate::services::uploads::{self, Uploader};
use crate::state::AppState;
use chrono::{DateTime, Datelike, NaiveDate, Utc};
use entity::states::VacancyStatus;
use entity::{
    bill, fee_item, vacancy_application as application, vacancy_discount as discount, vacancy_policy as policy,
};
use sea_orm::sea_query::{Expr, OnConflict};
use sea_orm::{
    ColumnTrait, ConnectionTrait, DatabaseTransaction, EntityTrait, QueryFilter, QueryOrder, QuerySelect, Set,
};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet};
use utoipa::{IntoParams, ToSchema};

/// What an inspection's photos are attached as.
pub const UPLOAD_KIND: &str = "vacancy";
const MAX_PHOTOS: usize = 9;
const SYSTEM: &str = "system:vacancy";

/// `PUT /staff/communities/{id}/vacancy-policy` body, and the policy as it reads.
#[derive(Debug, Deserialize, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PolicyBody {
    /// Percentage off the area-based property fee, 0.01–100 with two decimals.
    #[schema(pattern = r"^(100(\.0{1,2})?|[1-9]\d?(\.\d{1,2})?|0\.(0[1-9]|[1-9]\d?))$")]
    pub percent: String,
    /// Months a calendar year one unit may be discounted (1–12).
    #[schema(minimum = 1, maximum = 12)]
    pub max_months_per_year: i64,
}

/// `POST /me/vacancy-requests` body.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewApplication {
    /// Which of the owner's units; may be left out when they have only one.
    pub unit_id: Option<i32>,
    /// The first month the unit stands empty (`YYYY-MM`), this month or later.
    #[schema(pattern = r"^\d{4}-\d{2}$")]
    pub from: String,
    #[schema(
        pattern = r#"^[^\u0000-\u001F\u007F-\u009F]*[^\s\u0000-\u001F\u007F-\u009F][^\u0000-\u001F\u007F-\u009F]*$"#,
        min_length = 1,
        max_length = 200
    )]
    pub reason: Option<String>,
}

/// `POST /staff/vacancy-applications/{id}/inspection` body.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Inspection {
    /// Whether the unit was found standing empty.
    pub vacant: bool,
    #[schema(
        pattern = r#"^[^\u0000-\u001F\u007F-\u009F]*[^\s\u0000-\u001F\u007F-\u009F][^\u0000-\u001F\u007F-\u009F]*$"#,
        min_length = 1,
        max_length = 200
    )]
    pub note: String,
    /// Photos the inspector uploaded (`POST /staff/uploads`).
    #[schema(min_items = 1, max_items = 9)]
    pub upload_ids: Vec<i32>,
}

/// A decision's reason.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Reasoned {
    #[schema(
        pattern = r#"^[^\u0000-\u001F\u007F-\u009F]*[^\s\u0000-\u001F\u007F-\u009F][^\u0000-\u001F\u007F-\u009F]*$"#,
        min_length = 1,
        max_length = 200
    )]
    pub reason: String,
}

/// `GET /staff/vacancy-applications` query.
#[derive(Debug, Deserialize, IntoParams)]
pub struct ApplicationQuery {
    pub community_id: i32,
    #[param(pattern = r"^(requested|approved|rejected|withdrawn|ended)$")]
    pub status: Option<String>,
}

/// A bill an application discounted.
#[derive(Debug, Serialize, ToSchema)]
pub struct DiscountedBill {
    pub bill_id: i32,
    pub period: String,
    pub months: i32,
    /// Yuan taken off.
    pub discount: String,
}

/// An application as its owner and staff see it.
#[derive(Debug, Serialize, ToSchema)]
pub struct ApplicationView {
    pub id: i32,
    pub community_id: i32,
    pub unit_id: i32,
    pub unit: String,
    /// `YYYY-MM`.
    pub from: String,
    pub reason: Option<String>,
    /// `requested`, `approved`, `rejected`, `withdrawn`, `ended`.
    pub status: String,
    pub status_label: String,
    pub inspected_at: Option<DateTime<Utc>>,
    pub vacant: Option<bool>,
    pub inspection_note: Option<String>,
    pub photo_ids: Vec<i32>,
    pub decided_at: Option<DateTime<Utc>>,
    pub decision_reason: Option<String>,
    /// The policy it was granted under, e.g. `物业服务费减免50%，每年最多6个月`.
    pub terms: Option<String>,
    /// The last day a discounted period may start.
    pub ends_on: Option<NaiveDate>,
    pub end_reason: Option<String>,
    pub bills: Vec<DiscountedBill>,
    pub created_at: DateTime<Utc>,
}

fn status_label(a: &application::Model) -> &'static str {
    match a.status {
        VacancyStatus::Requested if a.inspected_at.is_none() => "待查验",
        VacancyStatus::Requested => "已查验，待审批",
        VacancyStatus::Approved => "优惠中",
        VacancyStatus::Rejected => "未批准",
        VacancyStatus::Withdrawn => "已撤回",
        VacancyStatus::Ended => "已结束",
    }
}

fn terms(percent: &str, months: i32) -> String {
    format!("物业服务费减免{percent}%，每年最多{months}个月")
}

async fn views(state: &AppState, apps: Vec<application::Model>) -> ApiResult<Vec<ApplicationView>> {
    let ids: Vec<i32> = apps.iter().map(|a| a.id).collect();
    let mut given: BTreeMap<i32, Vec<discount::Model>> = BTreeMap::new();
    for d in discount::Entity::find()
        .filter(discount::Column::ApplicationId.is_in(ids.clone()))
        .order_by_asc(discount::Column::Id)
        .all(&state.db)
        .await?
    {
        given.entry(d.application_id).or_default().push(d);
    }
    let periods: BTreeMap<i32, String> = bill::Entity::find()
        .filter(bill::Column::Id.is_in(given.values().flatten().map(|d| d.bill_id)))
        .all(&state.db)
        .await?
        .into_iter()
        .map(|b| (b.id, b.period))
        .collect();
    let mut photos = uploads::attached_to(&state.db, UPLOAD_KIND, ids).await?;
    let labels = crate::services::setup::units::labels_of(&state.db, apps.iter().map(|a| a.unit_id)).await?;
    Ok(apps
        .into_iter()
        .map(|a| ApplicationView {
            id: a.id,
            community_id: a.community_id,
            unit_id: a.unit_id,
            unit: labels.get(&a.unit_id).cloned().unwrap_or_default(),
            from: Period::month_of(a.from_month).to_string(),
            reason: a.reason.clone(),
            status: a.status.to_string(),
            status_label: status_label(&a).into(),
            inspected_at: a.inspected_at,
            vacant: a.vacant,
            inspection_note: a.inspection_note.clone(),
            photo_ids: photos.remove(&a.id).unwrap_or_default(),
            decided_at: a.decided_at,
            decision_reason: a.decision_reason.clone(),
            terms: a
                .percent
                .as_deref()
                .zip(a.max_months_per_year)
                .map(|(p, m)| terms(p, m)),
            ends_on: a.ends_on,
            end_reason: a.end_reason.clone(),
            bills: given
                .remove(&a.id)
                .unwrap_or_default()
                .iter()
                .map(|d| DiscountedBill {
                    bill_id: d.bill_id,
                    period: periods.get(&d.bill_id).cloned().unwrap_or_default(),
                    months: d.months,
                    discount: Fen(d.discount_fen).to_yuan_string(),
                })
                .collect(),
            created_at: a.created_at,
        })
        .collect())
}

async fn view(state: &AppState, a: application::Model) -> ApiResult<ApplicationView> {
    views(state, vec![a])
        .await?
        .pop()
        .ok_or_else(|| ApiError::internal(anyhow::anyhow!("application view lost")))
}

/// Appends an application event to the unit's evidence chain inside the caller's transaction.
async fn record(
    txn: &DatabaseTransaction,
    a: &application::Model,
    at: DateTime<Utc>,
    content: String,
    result: &str,
) -> ApiResult<()> {
    super::note(txn, "vacancy", a.unit_id, at, content, result).await
}

/// Moves an application from one of `from` to what `set` says, only if it is still there.
async fn move_application<C: ConnectionTrait>(
    db: &C,
    id: i32,
    from: &[VacancyStatus],
    set: application::ActiveModel,
) -> ApiResult<Option<application::Model>> {
    if !super::moved(
        db,
        set,
        (application::Column::Id, id),
        application::Column::Status,
        from,
    )
    .await?
    {
        return Ok(None);
    }
    Ok(application::Entity::find_by_id(id).one(db).await?)
}

/// `GET /staff/communities/{id}/vacancy-policy`: the policy, or 404 when the community has none.
pub async fn get_policy(state: &AppState, ctx: &StaffCtx, community_id: i32) -> ApiResult<PolicyBody> {
    ctx.require(Action::ManageBilling)?;
    crate::services::setup::community_in_scope(state, ctx, community_id).await?;
    let p = policy::Entity::find_by_id(community_id)
        .one(&state.db)
        .await?
        .ok_or(ApiError::NotFound)?;
    Ok(PolicyBody {
        percent: p.percent,
        max_months_per_year: i64::from(p.max_months_per_year),
    })
}

/// `PUT /staff/communities/{id}/vacancy-policy`: sets the community's policy (applications
/// approved from then on are granted under it). Audited.
pub async fn put_policy(
    state: &AppState,
    ctx: &StaffCtx,
    community_id: i32,
    body: PolicyBody,
) -> ApiResult<PolicyBody> {
    ctx.require(Action::ManageBilling)?;
    crate::services::setup::community_in_scope(state, ctx, community_id).await?;
    let percent = parse_percent(&body.percent).map_err(|m| ApiError::field("percent", m))?;
    let cap = check_cap(body.max_months_per_year).map_err(|m| ApiError::field("max_months_per_year", m))?;
    let now = state.clock.now();
    let txn = crate::db::begin_write(&state.db).await?;
    let row = policy::ActiveModel {
        community_id: Set(community_id),
        percent: Set(percent.normalize().to_string()),
        max_months_per_year: Set(i32::try_from(cap).unwrap_or(12)),
        updated_by: Set(ctx.actor()),
        updated_at: Set(now),
    };
    policy::Entity::insert(row)
        .on_conflict(
            OnConflict::column(policy::Column::CommunityId)
                .update_columns([
                    policy::Column::Percent,
                    policy::Column::MaxMonthsPerYear,
                    policy::Column::UpdatedBy,
                    policy::Column::UpdatedAt,
                ])
                .to_owned(),
        )
        .exec_without_returning(&txn)
        .await?;
    audit::record(
        &txn,
        &ctx.actor(),
        "vacancy.policy",
        "community",
        community_id,
        serde_json::json!({"percent": percent.normalize().to_string(), "max_months_per_year": cap}),
        now,
    )
    .await?;
    txn.commit().await?;
    get_policy(state, ctx, community_id).await
}

/// `POST /me/vacancy-requests`: the owner's unit (required when they have several), from this
/// month or a later one, in a community with a vacancy policy, one live application per unit;
/// finance is told.
pub async fn request(state: &AppState, account_id: i32, body: NewApplication) -> ApiResult<ApplicationView> {
    let from = match Period::parse(&body.from) {
        Ok(p @ Period::Month { .. }) => p,
        _ => return Err(ApiError::field("from", "起始月份格式应为2026-11")),
    };
    let reason = match body.reason.as_deref() {
        None => None,
        Some(r) => Some(text::name(r, 200).map_err(|m| ApiError::field("reason", format!("说明{m}")))?),
    };
    let u = super::owners_unit(state, account_id, body.unit_id).await?;
    let today = state.today_in(state.community_tz(u.community_id).await?);
    if from.start() < Period::month_of(today).start() {
        return Err(ApiError::field("from", "起始月份不能早于本月"));
    }
    if policy::Entity::find_by_id(u.community_id)
        .one(&state.db)
        .await?
        .is_none()
    {
        return Err(ApiError::Conflict("VACANCY_OFF", "该小区暂未设置空置房优惠".into()));
    }
    let now = state.clock.now();
    let txn = crate::db::begin_write(&state.db).await?;
    let inserted = application::Entity::insert(application::ActiveModel {
        community_id: Set(u.community_id),
        unit_id: Set(u.id),
        live_unit_id: Set(Some(u.id)),
        account_id: Set(account_id),
        from_month: Set(from.start()),
        reason: Set(reason.clone()),
        status: Set(VacancyStatus::Requested),
        created_at: Set(now),
        updated_at: Set(now),
        ..Default::default()
    })
    .on_conflict(
        OnConflict::column(application::Column::LiveUnitId)
            .do_nothing()
            .to_owned(),
    )
    .exec_without_returning(&txn)
    .await?;
    if inserted == 0 {
        txn.rollback().await?;
        return Err(ApiError::Conflict(
            "VACANCY_EXISTS",
            "该房屋已有办理中或生效中的空置房优惠".into(),
        ));
    }
    let a = application::Entity::find()
        .filter(application::Column::LiveUnitId.eq(u.id))
        .one(&txn)
        .await?
        .ok_or(ApiError::NotFound)?;
    record(
        &txn,
        &a,
        now,
        format!(
            "业主申请空置房优惠：自{from}起空置{}",
            reason.as_deref().map(|r| format!("；说明：{r}")).unwrap_or_default()
        ),
        "requested",
    )
    .await?;
    inbox::post(
        &txn,
        To::Community {
            community_id: a.community_id,
            roles: &[Role::Finance],
        },
        Item {
            kind: "vacancy_requested",
            title: format!("空置房优惠申请待查验：自{from}起"),
            body: reason.unwrap_or_default(),
            link: Some(format!("/console/vacancy?community_id={}", a.community_id)),
            event_key: format!("vacancy_requested:{}", a.id),
        },
        now,
    )
    .await?;
    txn.commit().await?;
    view(state, a).await
}

/// `GET /me/vacancy-applications`: the owner's applications, newest first.
pub async fn mine(state: &AppState, account_id: i32) -> ApiResult<Vec<ApplicationView>> {
    let apps = application::Entity::find()
        .filter(application::Column::AccountId.eq(account_id))
        .order_by_desc(application::Column::Id)
        .limit(100)
        .all(&state.db)
        .await?;
    views(state, apps).await
}

/// `DELETE /me/vacancy-applications/{id}`: withdraws an application not yet decided, or ends an
/// approved one (the owner moved in): no later bill is discounted.
pub async fn withdraw(state: &AppState, account_id: i32, id: i32) -> ApiResult<ApplicationView> {
    let a = application::Entity::find_by_id(id)
        .one(&state.db)
        .await?
        .filter(|a| a.account_id == account_id)
        .ok_or(ApiError::NotFound)?;
    let now = state.clock.now();
    let (to, why) = match a.status {
        VacancyStatus::Requested => (VacancyStatus::Withdrawn, "业主撤回空置房优惠申请"),
        VacancyStatus::Approved => (VacancyStatus::Ended, "业主告知已入住，空置房优惠结束"),
        _ => return Err(ApiError::Conflict("VACANCY_CLOSED", "该申请已结束，不能撤回".into())),
    };
    let txn = crate::db::begin_write(&state.db).await?;
    let set = application::ActiveModel {
        status: Set(to),
        live_unit_id: Set(None),
        ended_at: Set(Some(now)),
        end_reason: Set(Some(why.into())),
        updated_at: Set(now),
        ..Default::default()
    };
    let Some(a) = move_application(&txn, a.id, &[a.status], set).await? else {
        txn.rollback().await?;
        return Err(ApiError::Conflict("VACANCY_CLOSED", "该申请已结束，不能撤回".into()));
    };
    record(&txn, &a, now, why.into(), "withdrawn").await?;
    txn.commit().await?;
    view(state, a).await
}

/// `GET /staff/vacancy-applications?community_id=&status=` (finance, admins and collectors, who
/// inspect).
pub async fn list(state: &AppState, ctx: &StaffCtx, q: ApplicationQuery) -> ApiResult<Vec<ApplicationView>> {
    if ctx.require(Action::ManageBilling).is_err() {
        ctx.require(Action::FollowUp)?;
    }
    crate::services::setup::community_in_scope(state, ctx, q.community_id).await?;
    let mut find = application::Entity::find().filter(application::Column::CommunityId.eq(q.community_id));
    if let Some(s) = q.status.as_deref() {
        let status =
            crate::domain::states::parse::<VacancyStatus>(s).ok_or_else(|| ApiError::field("status", "状态无效"))?;
        find = find.filter(application::Column::Status.eq(status));
    }
    let apps = find
        .order_by_desc(application::Column::Id)
        .limit(500)
        .all(&state.db)
        .await?;
    views(state, apps).await
}

async fn visible(state: &AppState, ctx: &StaffCtx, id: i32, action: Action) -> ApiResult<application::Model> {
    ctx.require(action)?;
    application::Entity::find_by_id(id)
        .one(&state.db)
        .await?
        .filter(|a| ctx.sees(a.community_id))
        .ok_or(ApiError::NotFound)
}

/// A photo of an inspection, for staff who may see the application.
pub async fn photo(state: &AppState, ctx: &StaffCtx, id: i32, upload_id: i32) -> ApiResult<uploads::Photo> {
    let a = match visible(state, ctx, id, Action::ManageBilling).await {
        Ok(a) => a,
        Err(_) => visible(state, ctx, id, Action::FollowUp).await?,
    };
    uploads::attached_photo(&state.db, upload_id, UPLOAD_KIND, a.id).await
}

fn decided() -> ApiError {
    ApiError::Conflict("VACANCY_DECIDED", "该申请已处理或已撤回".into())
}

/// `POST /staff/vacancy-applications/{id}/inspection`: the inspector records what they found,
/// with photos (collectors, finance and admins); once per application.
pub async fn inspect(state: &AppState, ctx: &StaffCtx, id: i32, body: Inspection) -> ApiResult<ApplicationView> {
    let a = match visible(state, ctx, id, Action::FollowUp).await {
        Ok(a) => a,
        Err(_) => visible(state, ctx, id, Action::ManageBilling).await?,
    };
    let note = text::name(&body.note, 200).map_err(|m| ApiError::field("note", format!("查验情况{m}")))?;
    let photos: BTreeSet<i32> = body.upload_ids.iter().copied().collect();
    if photos.is_empty() || body.upload_ids.len() > MAX_PHOTOS || photos.len() != body.upload_ids.len() {
        return Err(ApiError::field(
            "upload_ids",
            format!("请上传1到{MAX_PHOTOS}张查验照片，且不要重复"),
        ));
    }
    let now = state.clock.now();
    let txn = crate::db::begin_write(&state.db).await?;
    let moved = application::Entity::update_many()
        .col_expr(application::Column::InspectedBy, Expr::value(ctx.actor()))
        .col_expr(application::Column::InspectedAt, Expr::value(now))
        .col_expr(application::Column::Vacant, Expr::value(body.vacant))
        .col_expr(application::Column::InspectionNote, Expr::value(note.clone()))
        .col_expr(application::Column::UpdatedAt, Expr::value(now))
        .filter(application::Column::Id.eq(a.id))
        .filter(application::Column::Status.eq(VacancyStatus::Requested))
        .filter(application::Column::InspectedAt.is_null())
        .exec(&txn)
        .await?;
    if moved.rows_affected != 1 {
        txn.rollback().await?;
        return Err(ApiError::Conflict("VACANCY_INSPECTED", "该申请已查验或已处理".into()));
    }
    let cited = uploads::attach(
        &txn,
        &Uploader::Staff(ctx.id),
        &body.upload_ids,
        UPLOAD_KIND,
        a.id,
        a.community_id,
        "upload_ids",
    )
    .await?;
    let shas: Vec<String> = cited.iter().map(|p| p.sha256.clone()).collect();
    record(
        &txn,
        &a,
        now,
        format!(
            "物业上门查验（{}）：{}；{note}；照片{}张，SHA-256：{}",
            ctx.actor(),
            if body.vacant { "确认空置" } else { "未空置" },
            cited.len(),
            shas.join("、")
        ),
        "inspected",
    )
    .await?;
    txn.commit().await?;
    let a = application::Entity::find_by_id(a.id)
        .one(&state.db)
        .await?
        .ok_or(ApiError::NotFound)?;
    view(state, a).await
}

/// `POST /staff/vacancy-applications/{id}/approve`: finance grants an inspected, found-vacant
/// application under the community's policy as it stands; it discounts the unit's bills at once
/// and as they are issued. Audited.
pub async fn approve(state: &AppState, ctx: &StaffCtx, id: i32, body: Reasoned) -> ApiResult<ApplicationView> {
    let a = visible(state, ctx, id, Action::ManageBilling).await?;
    let reason = text::name(&body.reason, 200).map_err(|m| ApiError::field("reason", format!("原因{m}")))?;
    if a.status != VacancyStatus::Requested {
        return Err(decided());
    }
    if a.vacant != Some(true) {
        return Err(ApiError::Conflict(
            "VACANCY_NOT_INSPECTED",
            "须先上门查验并确认空置，才能批准".into(),
        ));
    }
    let p = policy::Entity::find_by_id(a.community_id)
        .one(&state.db)
        .await?
        .ok_or_else(|| ApiError::Conflict("VACANCY_OFF", "该小区暂未设置空置房优惠".into()))?;
    let ends_on = NaiveDate::from_ymd_opt(a.from_month.year(), 12, 31).unwrap_or(a.from_month);
    let now = state.clock.now();
    let txn = crate::db::begin_write(&state.db).await?;
    let set = application::ActiveModel {
        status: Set(VacancyStatus::Approved),
        decided_by: Set(Some(ctx.actor())),
        decided_at: Set(Some(now)),
        decision_reason: Set(Some(reason.clone())),
        percent: Set(Some(p.percent.clone())),
        max_months_per_year: Set(Some(p.max_months_per_year)),
        ends_on: Set(Some(ends_on)),
        updated_at: Set(now),
        ..Default::default()
    };
    let Some(a) = move_application(&txn, a.id, &[VacancyStatus::Requested], set).await? else {
        txn.rollback().await?;
        return Err(decided());
    };
    record(
        &txn,
        &a,
        now,
        format!(
            "物业批准空置房优惠（{}）：{}，自{}至{ends_on}；{reason}",
            ctx.actor(),
            terms(&p.percent, p.max_months_per_year),
            Period::month_of(a.from_month)
        ),
        "approved",
    )
    .await?;
    audit::record(
        &txn,
        &ctx.actor(),
        "vacancy.approve",
        "vacancy_application",
        a.id,
        serde_json::json!({"percent": p.percent, "max_months_per_year": p.max_months_per_year, "reason": reason}),
        now,
    )
    .await?;
    txn.commit().await?;
    apply(state, &a).await?;
    let a = application::Entity::find_by_id(a.id)
        .one(&state.db)
        .await?
        .ok_or(ApiError::NotFound)?;
    view(state, a).await
}

/// `POST /staff/vacancy-applications/{id}/reject`: finance refuses with a reason the owner reads.
pub async fn reject(state: &AppState, ctx: &StaffCtx, id: i32, body: Reasoned) -> ApiResult<ApplicationView> {
    let a = visible(state, ctx, id, Action::ManageBilling).await?;
    let reason = text::name(&body.reason, 200).map_err(|m| ApiError::field("reason", format!("原因{m}")))?;
    let now = state.clock.now();
    let txn = crate::db::begin_write(&state.db).await?;
    let set = application::ActiveModel {
        status: Set(VacancyStatus::Rejected),
        live_unit_id: Set(None),
        decided_by: Set(Some(ctx.actor())),
        decided_at: Set(Some(now)),
        decision_reason: Set(Some(reason.clone())),
        ended_at: Set(Some(now)),
        end_reason: Set(Some(reason.clone())),
        updated_at: Set(now),
        ..Default::default()
    };
    let Some(a) = move_application(&txn, a.id, &[VacancyStatus::Requested], set).await? else {
        txn.rollback().await?;
        return Err(decided());
    };
    record(
        &txn,
        &a,
        now,
        format!("物业未批准空置房优惠（{}）：{reason}", ctx.actor()),
        "rejected",
    )
    .await?;
    audit::record(
        &txn,
        &ctx.actor(),
        "vacancy.reject",
        "vacancy_application",
        a.id,
        serde_json::json!({"reason": reason}),
        now,
    )
    .await?;
    txn.commit().await?;
    view(state, a).await
}

/// Discounts an approved application's bills not yet discounted: the unit's open ordinary bills of
/// area-based fee items whose period starts from its month to its last day, each within the unit's
/// cap for that year, in one ledger transaction (the unit is locked first, so the months used are
/// counted once). Ends the application when the cap of its year is used. How many bills.
async fn apply(state: &AppState, a: &application::Model) -> ApiResult<u64> {
    let (Some(percent), Some(cap), Some(ends_on)) = (a.percent.as_deref(), a.max_months_per_year, a.ends_on) else {
        return Ok(0);
    };
    let percent = parse_percent(percent).map_err(|m| ApiError::internal(anyhow::anyhow!(m)))?;
    let cap = u32::try_from(cap).unwrap_or(0);
    let area_items: Vec<i32> = fee_item::Entity::find()
        .filter(fee_item::Column::CommunityId.eq(a.community_id))
        .filter(fee_item::Column::Kind.eq(FeeKind::PerArea.as_str()))
        .all(&state.db)
        .await?
        .into_iter()
        .map(|f| f.id)
        .collect();
    let candidates: Vec<i32> = bill::Entity::find()
        .filter(bill::Column::UnitId.eq(a.unit_id))
        .filter(bill::Column::Status.eq(BillStatus::Unpaid))
        .filter(bill::Column::InstallmentPlanId.eq(0))
        .filter(bill::Column::FeeItemId.is_in(area_items))
        .filter(bill::Column::PeriodStart.between(a.from_month, ends_on))
        .order_by_asc(bill::Column::PeriodStart)
        .all(&state.db)
        .await?
        .into_iter()
        .map(|b| b.id)
        .collect();
    let taken: BTreeSet<i32> = discount::Entity::find()
        .filter(discount::Column::BillId.is_in(candidates.clone()))
        .all(&state.db)
        .await?
        .into_iter()
        .map(|d| d.bill_id)
        .collect();
    let fresh: Vec<i32> = candidates.into_iter().filter(|id| !taken.contains(id)).collect();
    let now = state.clock.now();
    let why = format!("空置房优惠第{}号", a.id);
    let mut ledger = Ledger::begin(state).await?;
    let mut lines = Vec::new();
    for id in fresh {
        let Some(b) = ledger.lock_bill(id).await? else { continue };
        // A bill already partly paid is left as it is: a discount clipped at what was paid
        // would spend the unit's months for little or nothing.
        if b.status != BillStatus::Unpaid || b.paid_principal_fen > 0 {
            continue;
        }
        let year = b.period_start.year();
        let used = months_used(ledger.txn(), a.unit_id, year).await?;
        let period_months = Period::parse(&b.period).map(Period::months).unwrap_or(1);
        let allowed = months_allowed(period_months, u32::try_from(used).unwrap_or(u32::MAX), cap);
        if allowed == 0 {
            continue;
        }
        let off = discount_fen(b.principal_fen, percent, allowed, period_months);
        let inserted = discount::Entity::insert(discount::ActiveModel {
            application_id: Set(a.id),
            bill_id: Set(b.id),
            unit_id: Set(a.unit_id),
            year: Set(year),
            months: Set(i32::try_from(allowed).unwrap_or(0)),
            discount_fen: Set(0),
            applied_at: Set(now),
            ..Default::default()
        })
        .on_conflict(OnConflict::column(discount::Column::BillId).do_nothing().to_owned())
        .exec_without_returning(ledger.txn())
        .await?;
        if inserted == 0 {
            continue;
        }
        // Never below what was paid already.
        let new = std::cmp::max(b.principal_fen - off, b.paid_principal_fen);
        if new < b.principal_fen {
            let by = By {
                actor: SYSTEM,
                reason: &why,
                at: now,
            };
            let correction = if new == 0 {
                Correction::Cancel
            } else {
                Correction::Adjust(new)
            };
            ledger.correct(&b, correction, by).await?;
        }
        discount::Entity::update_many()
            .col_expr(discount::Column::DiscountFen, Expr::value(b.principal_fen - new))
            .filter(discount::Column::BillId.eq(b.id))
            .exec(ledger.txn())
            .await?;
        lines.push(format!(
            "{}（{}个月，优惠{}元）",
            b.period,
            allowed,
            Fen(b.principal_fen - new).to_yuan_string()
        ));
    }
    if !lines.is_empty() {
        record(
            ledger.txn(),
            a,
            now,
            format!("空置房优惠适用于账单：{}", lines.join("、")),
            "applied",
        )
        .await?;
    }
    ledger.commit(state).await?;
    Ok(u64::try_from(lines.len()).unwrap_or_default())
}

/// Months of `year` a unit's bills were discounted, over all its applications (the cap's count).
async fn months_used<C: ConnectionTrait>(db: &C, unit_id: i32, year: i32) -> ApiResult<i64> {
    Ok(discount::Entity::find()
        .filter(discount::Column::UnitId.eq(unit_id))
        .filter(discount::Column::Year.eq(year))
        .all(db)
        .await?
        .iter()
        .map(|d| i64::from(d.months))
        .sum())
}

/// What one pass over vacancy applications did.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Pass {
    pub applied: u64,
    pub ended: u64,
}

/// One pass: approved applications discount the bills issued since, and end by themselves once
/// their year is out or its months are used.
pub async fn tick(state: &AppState) -> ApiResult<Pass> {
    let approved = application::Entity::find()
        .filter(application::Column::Status.eq(VacancyStatus::Approved))
        .order_by_asc(application::Column::Id)
        .all(&state.db)
        .await?;
    let mut pass = Pass::default();
    for a in approved {
        if let Err(e) = keep(state, &a, &mut pass).await {
            // One application's trouble must not hold up every one after it.
            tracing::warn!(application_id = a.id, error = %e, "vacancy pass failed");
        }
    }
    Ok(pass)
}

/// Discounts one application's new bills, and ends it when its months or its year are used up.
async fn keep(state: &AppState, a: &application::Model, pass: &mut Pass) -> ApiResult<()> {
    pass.applied += apply(state, a).await?;
    let today = state.today_in(state.community_tz(a.community_id).await?);
    let year = a.from_month.year();
    let used = months_used(&state.db, a.unit_id, year).await?;
    let why = if used >= i64::from(a.max_months_per_year.unwrap_or(0)) {
        Some(format!("{year}年度空置房优惠月数已用完"))
    } else if a.ends_on.is_some_and(|e| e < today) {
        Some(format!("{year}年度已结束，次年如仍空置请重新申请"))
    } else {
        None
    };
    if let Some(why) = why {
        if end(state, a, &why).await? {
            pass.ended += 1;
        }
    }
    Ok(())
}

async fn end(state: &AppState, a: &application::Model, why: &str) -> ApiResult<bool> {
    let now = state.clock.now();
    let txn = crate::db::begin_write(&state.db).await?;
    let set = application::ActiveModel {
        status: Set(VacancyStatus::Ended),
        live_unit_id: Set(None),
        ended_at: Set(Some(now)),
        end_reason: Set(Some(why.to_string())),
        updated_at: Set(now),
        ..Default::default()
    };
    let Some(a) = move_application(&txn, a.id, &[VacancyStatus::Approved], set).await? else {
        txn.rollback().await?;
        return Ok(false);
    };
    record(&txn, &a, now, format!("空置房优惠结束：{why}"), "ended").await?;
    txn.commit().await?;
    Ok(true)
}

#[cfg(test)]
mod tests {
    use crate::domain::hardship::PERCENT_PATTERN;

    #[test]
    fn the_policy_terms_read_as_the_owner_sees_them() {
        assert_eq!(super::terms("50", 6), "物业服务费减免50%，每年最多6个月");
    }

    /// The percentage fields' OpenAPI patterns are the parser's own.
    #[test]
    fn percentage_fields_publish_the_pattern_the_parser_keeps() {
        use utoipa::PartialSchema;
        for schema in [
            serde_json::to_value(super::PolicyBody::schema()).unwrap(),
            serde_json::to_value(crate::services::plans::hardship::Decision::schema()).unwrap(),
        ] {
            assert_eq!(schema["properties"]["percent"]["pattern"], PERCENT_PATTERN, "{schema}");
        }
    }
}
