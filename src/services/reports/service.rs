//! `GET /staff/reports/service`: how well owners were served — tickets by category, median and
//! p90 first-response and resolution times, breach rate, average rating, reopen rate — and the
//! collection rate of units with and without an unresolved complaint or dispute (the reason this
//! product answers tickets at all). `domain::tickets::ServiceFigures` and `domain::reports` do
//! the arithmetic; this loads the facts.
//!
//! Counted: tickets opened from `from` to `to` (community local dates, inclusive), except
//! duplicates merged into another and enquiries answered at once that never needed staff. Times
//! are elapsed minutes from opening (wall clock, not SLA working time). The collection split uses
//! the bills due in the month containing `to`, as of `to`; a unit is "with" when a complaint or
//! dispute on it had been opened by the end of `to` and not resolved by then.
use crate::domain::period::{self, Period};
use crate::domain::reports::Collection;
use crate::domain::role::Action;
use crate::domain::tickets::{self, Served, ServiceFigures, TicketCategory, TicketStatus};
use crate::error::{ApiError, ApiResult, FieldErrors};
use crate::services::access::staff::StaffCtx;
use crate::services::reports::collection::{figures, rate_text, Figures};
use crate::state::AppState;
use chrono::{DateTime, NaiveDate, TimeZone, Utc};
use entity::{bill, ticket, unit};
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeSet, HashMap};
use utoipa::{IntoParams, ToSchema};

#[derive(Debug, Deserialize, IntoParams)]
pub struct ServiceQuery {
    pub community_id: i32,
    /// First day, `YYYY-MM-DD` (community local).
    #[param(pattern = r#"^(19[7-9][0-9]|20[0-9]{2}|2100)-(0[1-9]|1[0-2])-(0[1-9]|[12][0-9]|3[01])$"#, format = Date)]
    pub from: String,
    /// Last day, inclusive.
    #[param(pattern = r#"^(19[7-9][0-9]|20[0-9]{2}|2100)-(0[1-9]|1[0-2])-(0[1-9]|[12][0-9]|3[01])$"#, format = Date)]
    pub to: String,
}

/// One group's figures (minutes are whole; rates with four decimals; the rating with two).
#[derive(Debug, Serialize, ToSchema)]
pub struct ServiceFiguresView {
    pub tickets: usize,
    pub resolved: usize,
    pub first_response_median_minutes: Option<i64>,
    pub first_response_p90_minutes: Option<i64>,
    pub resolution_median_minutes: Option<i64>,
    pub resolution_p90_minutes: Option<i64>,
    pub breached: usize,
    pub breach_rate: Option<String>,
    pub rated: usize,
    pub average_rating: Option<String>,
    pub reopened: usize,
    pub reopen_rate: Option<String>,
}

impl From<&ServiceFigures> for ServiceFiguresView {
    fn from(f: &ServiceFigures) -> Self {
        ServiceFiguresView {
            tickets: f.tickets,
            resolved: f.resolved,
            first_response_median_minutes: f.first_response_median,
            first_response_p90_minutes: f.first_response_p90,
            resolution_median_minutes: f.resolution_median,
            resolution_p90_minutes: f.resolution_p90,
            breached: f.breached,
            breach_rate: rate_text(f.breach_rate()),
            rated: f.rated,
            average_rating: f.average_rating().map(|d| format!("{d:.2}")),
            reopened: f.reopened,
            reopen_rate: rate_text(f.reopen_rate()),
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct CategoryFigures {
    pub category: String,
    pub label: String,
    #[serde(flatten)]
    pub figures: ServiceFiguresView,
}

/// Collection of the month containing `to`, for units with and without an unresolved complaint.
#[derive(Debug, Serialize, ToSchema)]
pub struct CollectionSplit {
    pub period: String,
    pub as_of: NaiveDate,
    pub units_with_unresolved: usize,
    pub with_unresolved: Figures,
    pub without_unresolved: Figures,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ServiceReport {
    pub community_id: i32,
    pub from: NaiveDate,
    pub to: NaiveDate,
    #[serde(flatten)]
    pub overall: ServiceFiguresView,
    pub by_category: Vec<CategoryFigures>,
    /// Only for roles that read collection reports (service staff see no money figures).
    pub collection: Option<CollectionSplit>,
}

fn day(field: &str, raw: &str, errors: &mut FieldErrors) -> Option<NaiveDate> {
    match period::parse_date(raw) {
        Ok(d) => Some(d),
        Err(m) => {
            errors.insert(field.into(), m.to_string());
            None
        }
    }
}

/// The instant a local date ends (the next day's start), in UTC.
fn end_of(tz: chrono_tz::Tz, d: NaiveDate) -> DateTime<Utc> {
    let next = d.succ_opt().unwrap_or(d).and_hms_opt(0, 0, 0).unwrap_or_default();
    tz.from_local_datetime(&next)
        .earliest()
        .map(|t| t.with_timezone(&Utc))
        .unwrap_or(DateTime::<Utc>::MAX_UTC)
}

fn start_of(tz: chrono_tz::Tz, d: NaiveDate) -> DateTime<Utc> {
    d.pred_opt().map(|p| end_of(tz, p)).unwrap_or(DateTime::<Utc>::MIN_UTC)
}

fn served(t: &ticket::Model) -> Served {
    let minutes = |at: Option<DateTime<Utc>>| at.map(|a| (a - t.created_at).num_minutes().max(0));
    Served {
        category: t.category,
        first_response_minutes: minutes(t.first_responded_at),
        resolution_minutes: minutes(t.resolved_at.filter(|_| t.status == TicketStatus::Resolved)),
        breached: t.response_breached_at.is_some() || t.resolution_breached_at.is_some(),
        rating: t.rating,
        ever_resolved: t.resolved_at.is_some() || t.reopen_count > 0,
        reopened: t.reopen_count > 0,
    }
}

/// The service report of one community.
pub async fn service(state: &AppState, ctx: &StaffCtx, q: &ServiceQuery) -> ApiResult<ServiceReport> {
    if !(ctx.role.may(Action::HandleTickets) || ctx.role.may(Action::ReadReports)) {
        return Err(ApiError::Forbidden);
    }
    let mut errors = FieldErrors::new();
    let from = day("from", &q.from, &mut errors);
    let to = day("to", &q.to, &mut errors);
    ApiError::check(errors)?;
    let (Some(from), Some(to)) = (from, to) else {
        return Err(ApiError::field("from", "日期无效"));
    };
    crate::services::setup::community_in_scope(state, ctx, q.community_id).await?;
    let tz = state.community_tz(q.community_id).await?;
    let (start, end) = (start_of(tz, from), end_of(tz, to));
    let all = ticket::Entity::find()
        .filter(ticket::Column::CommunityId.eq(q.community_id))
        .filter(ticket::Column::CreatedAt.lt(end))
        .all(&state.db)
        .await?;
    let counted: Vec<Served> = all
        .iter()
        .filter(|t| t.created_at >= start)
        .filter(|t| !matches!(t.status, TicketStatus::Merged | TicketStatus::Answered))
        .map(served)
        .collect();
    let by_category = [
        TicketCategory::Complaint,
        TicketCategory::Repair,
        TicketCategory::Dispute,
        TicketCategory::Suggestion,
        TicketCategory::Enquiry,
    ]
    .into_iter()
    .map(|c| CategoryFigures {
        category: c.as_str().into(),
        label: tickets::category_label(c).into(),
        figures: (&ServiceFigures::of(counted.iter().filter(|t| t.category == c))).into(),
    })
    .collect();
    let collection = if ctx.role.may(Action::ReadReports) {
        // Unresolved at the end of `to`: opened by then, not merged away, not resolved by then.
        let unresolved: BTreeSet<i32> = all
            .iter()
            .filter(|t| matches!(t.category, TicketCategory::Complaint | TicketCategory::Dispute))
            .filter(|t| t.status != TicketStatus::Merged)
            .filter(|t| t.resolved_at.is_none_or(|r| r >= end))
            .map(|t| t.unit_id)
            .collect();
        Some(split(state, q.community_id, to, &unresolved).await?)
    } else {
        None
    };
    Ok(ServiceReport {
        community_id: q.community_id,
        from,
        to,
        overall: (&ServiceFigures::of(&counted)).into(),
        by_category,
        collection,
    })
}

async fn split(state: &AppState, community_id: i32, to: NaiveDate, with: &BTreeSet<i32>) -> ApiResult<CollectionSplit> {
    let p = Period::month_of(to);
    let bills = bill::Entity::find()
        .filter(bill::Column::CommunityId.eq(community_id))
        .filter(bill::Column::DueDate.gte(p.start()))
        .filter(bill::Column::DueDate.lte(p.end()))
        .all(&state.db)
        .await?;
    let buildings: HashMap<i32, String> = unit::Entity::find()
        .filter(unit::Column::CommunityId.eq(community_id))
        .all(&state.db)
        .await?
        .into_iter()
        .map(|u| (u.id, u.building))
        .collect();
    let facts = crate::services::billing::rollup::facts(&state.db, bills, &buildings).await?;
    let (w, wo): (Vec<_>, Vec<_>) = facts.iter().partition(|f| with.contains(&f.unit_id));
    Ok(CollectionSplit {
        period: p.to_string(),
        as_of: to,
        units_with_unresolved: with.len(),
        with_unresolved: figures(&Collection::of(w, to)),
        without_unresolved: figures(&Collection::of(wo, to)),
    })
}
