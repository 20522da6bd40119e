//! Fee transparency (财务公开): finance publishes a community's monthly income and expense summary —
//! structured lines by category, attachments (receipts, contracts) through uploads — and the
//! community's owners read it. A published report is never edited: publishing the same month
//! again is a correction, the next version, and owners see the latest. Staff see which recent months
//! have no report.
use crate::domain::period::Period;
use crate::domain::role::Action;
use crate::domain::transparency::{category, gaps};
use crate::domain::{text, Fen};
use crate::error::{ApiError, ApiResult};
use crate::services::access::me;
use crate::services::access::staff::StaffCtx;
use crate::services::audit;
use crate::services::uploads::{self, Uploader};
use crate::state::AppState;
use chrono::{DateTime, Utc};
use entity::states::LineKind;
use entity::{finance_report as report, finance_report_line as line, owner_account, unit};
use sea_orm::{ActiveModelTrait, ColumnTrait, EntityTrait, QueryFilter, QueryOrder, Set};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet};
use utoipa::{IntoParams, ToSchema};

/// What a report's attachments are attached as.
pub const UPLOAD_KIND: &str = "finance_report";
const MAX_LINES: usize = 50;
const MAX_ATTACHMENTS: usize = 9;
/// Months back the gaps are looked for.
const GAP_MONTHS: u32 = 12;

/// One line of `POST /staff/communities/{id}/finance-reports`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewLine {
    /// A category key: income `property_fee`, `parking`, `common_area`, `other_income`; expense
    /// `staff`, `cleaning`, `greening`, `security`, `repairs`, `utilities`, `administration`,
    /// `other_expense`.
    #[schema(
        pattern = r"^(property_fee|parking|common_area|other_income|staff|cleaning|greening|security|repairs|utilities|administration|other_expense)$"
    )]
    pub category: String,
    /// Yuan, more than 0, at most two decimals.
    #[schema(pattern = r"^(0\.(0[1-9]|[1-9][0-9]?)|[1-9][0-9]{0,9}(\.[0-9]{1,2})?)$")]
    pub amount: String,
    #[schema(
        pattern = r#"^[^\u0000-\u001F\u007F-\u009F]*[^\s\u0000-\u001F\u007F-\u009F][^\u0000-\u001F\u007F-\u009F]*$"#,
        min_length = 1,
        max_length = 100
    )]
    pub note: Option<String>,
}

/// `POST /staff/communities/{id}/finance-reports` body.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewReport {
    /// The month reported (`YYYY-MM`), not later than this month.
    #[schema(pattern = r"^\d{4}-(0[1-9]|1[0-2])$")]
    pub period: String,
    #[schema(
        pattern = r#"^[^\u0000-\u001F\u007F-\u009F]*[^\s\u0000-\u001F\u007F-\u009F][^\u0000-\u001F\u007F-\u009F]*$"#,
        min_length = 1,
        max_length = 500
    )]
    pub summary: Option<String>,
    #[schema(min_items = 1, max_items = 50)]
    pub lines: Vec<NewLine>,
    /// The publisher's own uploads (`POST /staff/uploads`): receipts, contracts.
    #[serde(default)]
    #[schema(max_items = 9)]
    pub upload_ids: Vec<i32>,
}

/// A line as owners read it.
#[derive(Debug, Serialize, ToSchema)]
pub struct LineView {
    /// `income` or `expense`.
    pub kind: String,
    pub category: String,
    pub category_label: String,
    pub amount: String,
    pub note: Option<String>,
}

/// A published report.
#[derive(Debug, Serialize, ToSchema)]
pub struct ReportView {
    pub id: i32,
    pub community_id: i32,
    pub period: String,
    /// 1 for the first publication; higher for corrections.
    pub version: i32,
    pub summary: Option<String>,
    pub income: String,
    pub expense: String,
    /// Income less expense (negative when the month ran a deficit).
    pub balance: String,
    pub lines: Vec<LineView>,
    pub attachment_ids: Vec<i32>,
    pub published_at: DateTime<Utc>,
}

/// `GET /staff/communities/{id}/finance-reports`: every version, and the gaps.
#[derive(Debug, Serialize, ToSchema)]
pub struct Publication {
    pub reports: Vec<ReportView>,
    /// Months of the last twelve (this one included) with no report, oldest first.
    pub missing: Vec<String>,
}

/// `GET /me/community/finance-reports` query.
#[derive(Debug, Deserialize, IntoParams)]
pub struct OwnerQuery {
    pub community_id: i32,
}

fn signed(fen: i64) -> String {
    if fen < 0 {
        format!("-{}", Fen(-fen).to_yuan_string())
    } else {
        Fen(fen).to_yuan_string()
    }
}

async fn views(state: &AppState, reports: Vec<report::Model>) -> ApiResult<Vec<ReportView>> {
    let ids: Vec<i32> = reports.iter().map(|r| r.id).collect();
    let mut lines: BTreeMap<i32, Vec<line::Model>> = BTreeMap::new();
    for l in line::Entity::find()
        .filter(line::Column::ReportId.is_in(ids.clone()))
        .order_by_asc(line::Column::Id)
        .all(&state.db)
        .await?
    {
        lines.entry(l.report_id).or_default().push(l);
    }
    let mut attached = uploads::attached_to(&state.db, UPLOAD_KIND, ids).await?;
    Ok(reports
        .into_iter()
        .map(|r| ReportView {
            id: r.id,
            community_id: r.community_id,
            period: r.period.clone(),
            version: r.version,
            summary: r.summary.clone(),
            income: Fen(r.income_fen).to_yuan_string(),
            expense: Fen(r.expense_fen).to_yuan_string(),
            balance: signed(r.income_fen - r.expense_fen),
            lines: lines
                .remove(&r.id)
                .unwrap_or_default()
                .into_iter()
                .map(|l| LineView {
                    kind: l.kind.to_string(),
                    category_label: category(&l.category).map(|c| c.1).unwrap_or_default().into(),
                    category: l.category,
                    amount: Fen(l.amount_fen).to_yuan_string(),
                    note: l.note,
                })
                .collect(),
            attachment_ids: attached.remove(&r.id).unwrap_or_default(),
            published_at: r.published_at,
        })
        .collect())
}

/// `POST /staff/communities/{id}/finance-reports` (finance and admins): publishes a month's report
/// (or its correction, the next version); audited.
pub async fn publish(state: &AppState, ctx: &StaffCtx, community_id: i32, body: NewReport) -> ApiResult<ReportView> {
    ctx.require(Action::ManageBilling)?;
    let c = crate::services::setup::community_in_scope(state, ctx, community_id).await?;
    let period = match Period::parse(&body.period) {
        Ok(p @ Period::Month { .. }) => p,
        _ => return Err(ApiError::field("period", "月份格式应为2026-10")),
    };
    let today = state.today_in(state.zone_of(&c));
    if period.start() > today {
        return Err(ApiError::field("period", "不能公布尚未开始的月份"));
    }
    let summary = match body.summary.as_deref() {
        None => None,
        Some(s) => Some(text::name(s, 500).map_err(|m| ApiError::field("summary", format!("说明{m}")))?),
    };
    if body.lines.is_empty() || body.lines.len() > MAX_LINES {
        return Err(ApiError::field("lines", format!("请填写1到{MAX_LINES}条收支明细")));
    }
    let attachments: BTreeSet<i32> = body.upload_ids.iter().copied().collect();
    if body.upload_ids.len() > MAX_ATTACHMENTS || attachments.len() != body.upload_ids.len() {
        return Err(ApiError::field(
            "upload_ids",
            format!("附件最多{MAX_ATTACHMENTS}个，且不要重复"),
        ));
    }
    let mut parsed = Vec::with_capacity(body.lines.len());
    for (i, l) in body.lines.iter().enumerate() {
        let (kind, _) =
            category(&l.category).ok_or_else(|| ApiError::field("lines", format!("第{}条的类别无效", i + 1)))?;
        let amount = Fen::parse(&l.amount)
            .ok()
            .filter(|f| f.0 > 0 && f.0 <= 1_000_000_000_000)
            .ok_or_else(|| ApiError::field("lines", format!("第{}条的金额应大于0，最多两位小数", i + 1)))?;
        let note = match l.note.as_deref() {
            None => None,
            Some(n) => {
                Some(text::name(n, 100).map_err(|m| ApiError::field("lines", format!("第{}条的说明{m}", i + 1)))?)
            }
        };
        parsed.push((kind, l.category.clone(), amount.0, note));
    }
    let total = |k: LineKind| -> i64 { parsed.iter().filter(|p| p.0 == k).map(|p| p.2).sum() };
    let (income, expense) = (total(LineKind::Income), total(LineKind::Expense));
    let now = state.clock.now();
    let txn = crate::db::begin_write(&state.db).await?;
    let version = report::Entity::find()
        .filter(report::Column::CommunityId.eq(c.id))
        .filter(report::Column::Period.eq(period.to_string()))
        .order_by_desc(report::Column::Version)
        .one(&txn)
        .await?
        .map_or(1, |r| r.version + 1);
    let r = report::ActiveModel {
        community_id: Set(c.id),
        period: Set(period.to_string()),
        version: Set(version),
        summary: Set(summary),
        income_fen: Set(income),
        expense_fen: Set(expense),
        published_by: Set(ctx.actor()),
        published_at: Set(now),
        ..Default::default()
    }
    .insert(&txn)
    .await
    // Two corrections of one month at once: the unique version refuses the second.
    .map_err(|e| match e.sql_err() {
        Some(sea_orm::SqlErr::UniqueConstraintViolation(_)) => {
            ApiError::Conflict("REPORT_RACE", "该月报告刚有人发布，请刷新后重试".into())
        }
        _ => e.into(),
    })?;
    for (kind, cat, amount_fen, note) in parsed {
        line::ActiveModel {
            report_id: Set(r.id),
            kind: Set(kind),
            category: Set(cat),
            amount_fen: Set(amount_fen),
            note: Set(note),
            ..Default::default()
        }
        .insert(&txn)
        .await?;
    }
    uploads::attach(
        &txn,
        &Uploader::Staff(ctx.id),
        &body.upload_ids,
        UPLOAD_KIND,
        r.id,
        c.id,
        "upload_ids",
    )
    .await?;
    audit::record(
        &txn,
        &ctx.actor(),
        "finance_report.publish",
        "finance_report",
        r.id,
        serde_json::json!({"period": r.period, "version": version, "income_fen": income, "expense_fen": expense}),
        now,
    )
    .await?;
    txn.commit().await?;
    views(state, vec![r])
        .await?
        .pop()
        .ok_or_else(|| ApiError::internal(anyhow::anyhow!("report view lost")))
}

/// `GET /staff/communities/{id}/finance-reports` (finance and admins): every version, newest
/// first, and the months of the last twelve with none.
pub async fn publication(state: &AppState, ctx: &StaffCtx, community_id: i32) -> ApiResult<Publication> {
    ctx.require(Action::ManageBilling)?;
    let c = crate::services::setup::community_in_scope(state, ctx, community_id).await?;
    let all = report::Entity::find()
        .filter(report::Column::CommunityId.eq(c.id))
        .order_by_desc(report::Column::Period)
        .order_by_desc(report::Column::Version)
        .all(&state.db)
        .await?;
    let published: BTreeSet<String> = all.iter().map(|r| r.period.clone()).collect();
    let this_month = Period::month_of(state.today_in(state.zone_of(&c)));
    Ok(Publication {
        missing: gaps(&published, this_month, GAP_MONTHS)
            .iter()
            .map(|p| p.to_string())
            .collect(),
        reports: views(state, all).await?,
    })
}

/// Whether the owner has a unit in the community (else 404: its books are its owners' business).
async fn owner_of(state: &AppState, account_id: i32, community_id: i32) -> ApiResult<()> {
    let account = owner_account::Entity::find_by_id(account_id)
        .one(&state.db)
        .await?
        .ok_or(ApiError::Unauthenticated)?;
    let units = me::unit_ids_of_account(state, &account).await?;
    let theirs = unit::Entity::find()
        .filter(unit::Column::Id.is_in(units))
        .filter(unit::Column::CommunityId.eq(community_id))
        .one(&state.db)
        .await?;
    theirs.map(|_| ()).ok_or(ApiError::NotFound)
}

/// `GET /me/community/finance-reports?community_id=`: the latest version of each month, newest
/// month first, for the community's owners only.
pub async fn for_owner(state: &AppState, account_id: i32, q: OwnerQuery) -> ApiResult<Vec<ReportView>> {
    owner_of(state, account_id, q.community_id).await?;
    let all = report::Entity::find()
        .filter(report::Column::CommunityId.eq(q.community_id))
        .order_by_desc(report::Column::Period)
        .order_by_desc(report::Column::Version)
        .all(&state.db)
        .await?;
    let mut seen = BTreeSet::new();
    let latest: Vec<report::Model> = all.into_iter().filter(|r| seen.insert(r.period.clone())).collect();
    views(state, latest).await
}

/// An attachment of a report, for the community's owners.
pub async fn attachment_for_owner(
    state: &AppState,
    account_id: i32,
    id: i32,
    upload_id: i32,
) -> ApiResult<uploads::Photo> {
    let r = report::Entity::find_by_id(id)
        .one(&state.db)
        .await?
        .ok_or(ApiError::NotFound)?;
    owner_of(state, account_id, r.community_id).await?;
    uploads::attached_photo(&state.db, upload_id, UPLOAD_KIND, r.id).await
}

/// An attachment of a report, for finance and admins of its community.
pub async fn attachment_for_staff(
    state: &AppState,
    ctx: &StaffCtx,
    id: i32,
    upload_id: i32,
) -> ApiResult<uploads::Photo> {
    ctx.require(Action::ManageBilling)?;
    let r = report::Entity::find_by_id(id)
        .one(&state.db)
        .await?
        .filter(|r| ctx.sees(r.community_id))
        .ok_or(ApiError::NotFound)?;
    uploads::attached_photo(&state.db, upload_id, UPLOAD_KIND, r.id).await
}
