//! Billing runs: one community × one period, idempotent (the unique unit × fee item × period key
//! makes a repeat create nothing), batched inserts with one transaction per batch.
use crate::domain::billing::{due_date_after_notice, principal_fen};
use crate::domain::period::Period;
use crate::domain::role::Action;
use crate::domain::Area;
use crate::error::{ApiError, ApiResult};
use crate::progress::Progress;
use crate::services::access::staff::StaffCtx;
use crate::services::billing::fee_items::rules_for_community;
use crate::services::billing::ledger::{Ledger, NewBill};
use crate::state::AppState;
use entity::{bill, billing_run, community, unit};
use sea_orm::{ActiveModelTrait, ColumnTrait, EntityTrait, QueryFilter, QuerySelect, Set};
use serde::{Deserialize, Serialize};
use std::collections::HashSet;

/// The actor recorded for runs the scheduler starts.
pub const SCHEDULER: &str = "scheduler";

/// Whether the scheduler already completed this community × period (so replicas waking up every
/// few minutes do not rescan every unit).
pub async fn scheduler_ran(state: &AppState, community_id: i32, period: Period) -> ApiResult<bool> {
    Ok(billing_run::Entity::find()
        .filter(billing_run::Column::CommunityId.eq(community_id))
        .filter(billing_run::Column::Period.eq(period.to_string()))
        .filter(billing_run::Column::Actor.eq(SCHEDULER))
        .one(&state.db)
        .await?
        .is_some())
}

/// A finished billing run, for the console's list.
#[derive(Debug, Clone)]
pub struct RunRecord {
    pub community_id: i32,
    pub period: String,
    pub bills_created: i32,
    pub bills_existing: i32,
    pub actor: String,
    pub started_at: chrono::DateTime<chrono::Utc>,
    pub finished_at: chrono::DateTime<chrono::Utc>,
}

/// The latest billing runs of the communities `ctx` sees (or of one), newest first.
pub async fn recent(
    state: &AppState,
    ctx: &StaffCtx,
    community_id: Option<i32>,
    limit: u64,
) -> ApiResult<Vec<RunRecord>> {
    use sea_orm::QueryOrder;
    ctx.require(Action::ReadSetup)?;
    let mut q = billing_run::Entity::find().order_by_desc(billing_run::Column::Id);
    if let Some(c) = community_id {
        ctx.require_community(c)?;
        q = q.filter(billing_run::Column::CommunityId.eq(c));
    } else if !ctx.role.sees_all_communities() {
        q = q.filter(billing_run::Column::CommunityId.is_in(ctx.communities.clone()));
    }
    Ok(q.limit(limit)
        .all(&state.db)
        .await?
        .into_iter()
        .map(|r| RunRecord {
            community_id: r.community_id,
            period: r.period,
            bills_created: r.bills_created,
            bills_existing: r.bills_existing,
            actor: r.actor,
            started_at: r.started_at,
            finished_at: r.finished_at,
        })
        .collect())
}

/// Rows per insert statement and transaction.
const BATCH: usize = 1000;

/// `POST /staff/billing-runs` body (named apart from the reminder run's in the OpenAPI document).
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
#[schema(as = BillingRunRequest)]
pub struct RunRequest {
    pub community_id: i32,
    #[schema(pattern = r#"^(20[0-9]{2}|2100)(-(0[1-9]|1[0-2])|-Q[1-4])?$"#)]
    pub period: String,
    /// `YYYY-MM-DD`, today or earlier: the bills were already issued on that day by an earlier
    /// system (migrating opening arrears), so their due dates are not pushed back. Audited.
    #[schema(pattern = r#"^(19[7-9][0-9]|20[0-9]{2}|2100)-(0[1-9]|1[0-2])-(0[1-9]|[12][0-9]|3[01])$"#, format = Date)]
    pub issued_on: Option<String>,
}

/// What a run did.
#[derive(Debug, Serialize, Deserialize, utoipa::ToSchema, PartialEq, Eq)]
pub struct RunResult {
    pub bills_created: u64,
    pub bills_existing: u64,
}

/// A staff request checked: role, scope, period and issue date.
#[derive(Debug, Clone, Copy)]
pub struct Checked {
    pub community_id: i32,
    pub period: Period,
    pub issued_on: chrono::NaiveDate,
    /// `issued_on` was given (back-dated bills): audited.
    pub backdated: bool,
}

/// What `run_for_staff` would refuse, refused now (a job checks before it is queued).
pub async fn check(state: &AppState, ctx: &StaffCtx, req: &RunRequest) -> ApiResult<Checked> {
    ctx.require(Action::ManageBilling)?;
    let period = Period::parse(&req.period).map_err(|m| ApiError::field("period", m))?;
    let c = community::Entity::find_by_id(req.community_id).one(&state.db).await?;
    let Some(c) = c.filter(|_| ctx.sees(req.community_id)) else {
        return Err(ApiError::field("community_id", "小区不存在"));
    };
    let tz = state.zone_of(&c);
    let today = state.today_in(tz);
    let issued_on = match &req.issued_on {
        None => today,
        Some(raw) => {
            let d = crate::domain::period::parse_date(raw).map_err(|m| ApiError::field("issued_on", m))?;
            if d > today {
                return Err(ApiError::field("issued_on", "开票日期不能晚于今天"));
            }
            d
        }
    };
    Ok(Checked {
        community_id: req.community_id,
        period,
        issued_on,
        backdated: req.issued_on.is_some(),
    })
}

/// Staff entry point: checks role and scope, then runs.
pub async fn run_for_staff(
    state: &AppState,
    ctx: &StaffCtx,
    req: RunRequest,
    progress: &Progress,
) -> ApiResult<RunResult> {
    let Checked {
        community_id,
        period,
        issued_on,
        backdated,
    } = check(state, ctx, &req).await?;
    let result = run(state, &ctx.actor(), community_id, period, issued_on, progress).await?;
    if backdated {
        // Back-dating an issue date decides when owners became late: it is on the record.
        crate::services::audit::record(
            &state.db,
            &ctx.actor(),
            "billing_run.issued_on",
            "community",
            community_id,
            serde_json::json!({"period": period.to_string(), "issued_on": issued_on, "bills_created": result.bills_created}),
            state.clock.now(),
        )
        .await?;
    }
    Ok(result)
}

/// Creates the bills of every fee item of the period's cycle for every covered unit that is
/// handed over by the period's end (pro rata when handed over mid-period).
#[tracing::instrument(skip(state, progress), fields(bills_created))]
pub async fn run(
    state: &AppState,
    actor: &str,
    community_id: i32,
    period: Period,
    issued_on: chrono::NaiveDate,
    progress: &Progress,
) -> ApiResult<RunResult> {
    let notice = state.settings.billing.min_notice_days;
    let started = state.clock.now();
    let rules: Vec<_> = rules_for_community(state, community_id)
        .await?
        .into_iter()
        .filter(|r| r.cycle.matches(period) && r.bills_from(period.start()))
        .collect();
    let units = unit::Entity::find()
        .filter(unit::Column::CommunityId.eq(community_id))
        .all(&state.db)
        .await?;
    let existing: HashSet<(i32, i32)> = bill::Entity::find()
        .select_only()
        .column(bill::Column::UnitId)
        .column(bill::Column::FeeItemId)
        .filter(bill::Column::CommunityId.eq(community_id))
        .filter(bill::Column::Period.eq(period.to_string()))
        // Instalments share fee items and months with ordinary bills; they are not these.
        .filter(bill::Column::InstallmentPlanId.eq(0))
        .into_tuple::<(i32, i32)>()
        .all(&state.db)
        .await?
        .into_iter()
        .collect();

    let (mut candidates, mut already) = (Vec::new(), 0u64);
    for r in &rules {
        let price = r.price_for(period.start());
        let nominal = period.due_date(u32::try_from(r.item.due_day).unwrap_or(1));
        // Nobody is late before being billed (API.md: billing.min_notice_days).
        let (due, moved_from) = due_date_after_notice(nominal, issued_on, notice);
        for u in units.iter().filter(|u| r.applies_to.covers(u)) {
            let Some(principal) = principal_fen(r.kind, price, period, Area(u.area_centi_m2), u.handover_date) else {
                continue;
            };
            // A bill is a money amount like any other: at most MAX_AMOUNT, or nothing is billed.
            if principal > crate::domain::money::MAX_AMOUNT.0 {
                return Err(ApiError::field(
                    "period",
                    format!(
                        "收费项目“{}”在房屋{}的账单金额超过10000000.00元，请核对单价和面积",
                        r.item.name, u.code
                    ),
                ));
            }
            if existing.contains(&(u.id, r.item.id)) {
                already += 1;
                continue;
            }
            candidates.push(NewBill {
                community_id,
                unit_id: u.id,
                fee_item_id: r.item.id,
                period,
                due_date: due,
                nominal_due_date: moved_from,
                issued_on: Some(issued_on),
                principal_fen: principal,
                created_at: started,
            });
        }
    }
    let total = candidates.len();
    progress.set(0, total as u64);
    let mut created = 0u64;
    let mut batches = Vec::new();
    let mut rest = candidates.into_iter().peekable();
    while rest.peek().is_some() {
        batches.push(rest.by_ref().take(BATCH).collect::<Vec<_>>());
    }
    for (i, batch) in batches.into_iter().enumerate() {
        // One transaction per batch; the ledger skips bills a concurrent run already issued and
        // marks the community's cached answers stale after each commit.
        let mut ledger = Ledger::begin(state).await?;
        created += ledger.issue(batch).await?;
        ledger.commit(state).await?;
        progress.set(((i + 1) * BATCH).min(total) as u64, total as u64);
        if total > BATCH {
            tracing::info!(community_id, period = %period, done = ((i + 1) * BATCH).min(total), total, "billing run progress");
        }
    }
    let result = RunResult {
        bills_created: created,
        bills_existing: already + (total as u64 - created),
    };
    billing_run::ActiveModel {
        community_id: Set(community_id),
        period: Set(period.to_string()),
        bills_created: Set(i32::try_from(result.bills_created).unwrap_or(i32::MAX)),
        bills_existing: Set(i32::try_from(result.bills_existing).unwrap_or(i32::MAX)),
        actor: Set(actor.to_string()),
        started_at: Set(started),
        finished_at: Set(state.clock.now()),
        ..Default::default()
    }
    .insert(&state.db)
    .await?;
    tracing::Span::current().record("bills_created", created);
    tracing::info!(community_id, period = %period, created, existing = result.bills_existing, "billing run finished");
    Ok(result)
}
