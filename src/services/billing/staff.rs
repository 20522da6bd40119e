//! Staff bill lists with filters and totals, and one bill with its ledger.
use crate::domain::money::{add_fen, sum_fen};
use crate::domain::period::Period;
use crate::domain::role::Action;
use crate::domain::Fen;
use crate::error::{ApiError, ApiResult};
use crate::services::access::staff::StaffCtx;
use crate::services::billing::bills::detail_of;
use crate::services::billing::bills::BillDetail;
use crate::services::billing::bills::BillView;
use crate::services::billing::bills::Lookup;
use crate::services::setup::Page;
use crate::state::AppState;
use entity::{bill, community, unit};
use sea_orm::{ColumnTrait, Condition, EntityTrait, QueryFilter, QueryOrder, QuerySelect};
use serde::{Deserialize, Serialize};

/// Filters of `GET /staff/bills`.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
pub struct StaffBillQuery {
    pub community_id: i32,
    /// One unit's bills only.
    pub unit_id: Option<i32>,
    #[param(pattern = r#"^(unpaid|paid|waived|cancelled|rescheduled)$"#)]
    pub status: Option<String>,
    #[param(
        pattern = r#"^[^\u0000-\u001F\u007F-\u009F]*[^\s\u0000-\u001F\u007F-\u009F][^\u0000-\u001F\u007F-\u009F]*$"#,
        min_length = 1,
        max_length = 32
    )]
    pub building: Option<String>,
    #[param(minimum = 0, maximum = 36500)]
    pub min_days_overdue: Option<i64>,
    /// At most this many days overdue today (with `min_days_overdue`, an aging bucket).
    #[param(minimum = 0, maximum = 36500)]
    pub max_days_overdue: Option<i64>,
    #[param(pattern = r#"^(20[0-9]{2}|2100)(-(0[1-9]|1[0-2])|-Q[1-4])?$"#)]
    pub period: Option<String>,
    /// Bills due in this month (`YYYY-MM`): the bills the collection report counts in that period.
    #[param(pattern = r#"^(20[0-9]{2}|2100)-(0[1-9]|1[0-2])$"#)]
    pub due_month: Option<String>,
    pub fee_item_id: Option<i32>,
}

/// Sums over every bill matching the filters (not just the page).
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct BillTotals {
    pub bills: usize,
    pub principal: String,
    pub paid: String,
    pub late_fee: String,
    pub amount_due: String,
}

/// `GET /staff/bills` answer.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct StaffBillPage {
    #[serde(flatten)]
    pub page: Page<BillView>,
    pub totals: BillTotals,
}

/// Bills of one community in the caller's scope, filtered, with totals.
pub async fn staff_bills(
    state: &AppState,
    ctx: &StaffCtx,
    q: StaffBillQuery,
    page: crate::services::setup::PageQuery,
) -> ApiResult<StaffBillPage> {
    ctx.require(Action::ReadSetup)?;
    ctx.require_community(q.community_id)?;
    let c = community::Entity::find_by_id(q.community_id)
        .one(&state.db)
        .await?
        .ok_or(ApiError::NotFound)?;
    let tz = state.zone_of(&c);
    let today = state.today_in(tz);
    let mut cond = Condition::all().add(bill::Column::CommunityId.eq(q.community_id));
    if let Some(s) = &q.status {
        if !matches!(s.as_str(), "unpaid" | "paid" | "waived" | "cancelled" | "rescheduled") {
            return Err(ApiError::field(
                "status",
                "状态应为unpaid、paid、waived、cancelled或rescheduled",
            ));
        }
        cond = cond.add(bill::Column::Status.eq(s.as_str()));
    }
    if let Some(p) = &q.period {
        let p = Period::parse(p).map_err(|m| ApiError::field("period", m))?;
        cond = cond.add(bill::Column::Period.eq(p.to_string()));
    }
    if let Some(u) = q.unit_id {
        cond = cond.add(bill::Column::UnitId.eq(u));
    }
    if let Some(n) = q.min_days_overdue {
        if !(0..=36_500).contains(&n) {
            return Err(ApiError::field("min_days_overdue", "应为0到36500之间的整数"));
        }
        cond = cond.add(bill::Column::DueDate.lte(today - chrono::Duration::days(n)));
    }
    if let Some(n) = q.max_days_overdue {
        // Below `min_days_overdue` it simply matches nothing (a schema cannot relate two fields).
        if !(0..=36_500).contains(&n) {
            return Err(ApiError::field("max_days_overdue", "应为0到36500之间的整数"));
        }
        cond = cond.add(bill::Column::DueDate.gte(today - chrono::Duration::days(n)));
    }
    if let Some(m) = &q.due_month {
        let p = Period::parse(m)
            .ok()
            .filter(|p| matches!(p, Period::Month { .. }))
            .ok_or_else(|| ApiError::field("due_month", "应为YYYY-MM格式的月份"))?;
        cond = cond
            .add(bill::Column::DueDate.gte(p.start()))
            .add(bill::Column::DueDate.lte(p.end()));
    }
    if let Some(f) = q.fee_item_id {
        cond = cond.add(bill::Column::FeeItemId.eq(f));
    }
    if let Some(b) = &q.building {
        let ids: Vec<i32> = unit::Entity::find()
            .select_only()
            .column(unit::Column::Id)
            .filter(unit::Column::CommunityId.eq(q.community_id))
            .filter(unit::Column::Building.eq(b.trim()))
            .into_tuple::<i32>()
            .all(&state.db)
            .await?;
        cond = cond.add(bill::Column::UnitId.is_in(ids));
    }
    let bills = bill::Entity::find()
        .filter(cond)
        .order_by_asc(bill::Column::DueDate)
        .order_by_asc(bill::Column::Id)
        .all(&state.db)
        .await?;
    let lookup = Lookup::load(state, &bills).await?;
    let (page_no, per_page) = page.bounds()?;
    let (mut principal, mut paid, mut late, mut due) = (0i64, 0i64, 0i64, 0i64);
    let mut items = Vec::new();
    let skip = ((page_no - 1) * per_page) as usize;
    for (i, b) in bills.iter().enumerate() {
        let (v, a) = lookup.view(state, b)?;
        principal = add_fen(principal, b.principal_fen)?;
        paid = sum_fen([paid, b.paid_principal_fen, b.late_fee_paid_fen])?;
        late = add_fen(late, a.charged_late_fee)?;
        due = add_fen(due, a.due())?;
        if i >= skip && items.len() < per_page as usize {
            items.push(v);
        }
    }
    Ok(StaffBillPage {
        totals: BillTotals {
            bills: bills.len(),
            principal: Fen(principal).to_yuan_string(),
            paid: Fen(paid).to_yuan_string(),
            late_fee: Fen(late).to_yuan_string(),
            amount_due: Fen(due).to_yuan_string(),
        },
        page: Page {
            items,
            total: bills.len() as u64,
            page: page_no,
            per_page,
        },
    })
}

/// One bill for staff, with its ledger.
pub async fn staff_bill(state: &AppState, ctx: &StaffCtx, id: i32) -> ApiResult<BillDetail> {
    ctx.require(Action::ReadSetup)?;
    let b = bill::Entity::find_by_id(id)
        .one(&state.db)
        .await?
        .ok_or(ApiError::NotFound)?;
    ctx.require_community(b.community_id)?;
    detail_of(state, &b).await
}
