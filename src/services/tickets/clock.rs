//! SLA clocks: each community's budgets per category (`GET/PUT /staff/communities/{id}/ticket-sla`,
//! company defaults without a row), the deadlines they give a ticket, and the scheduler's tick that
//! warns the assignee when a clock is near its breach and escalates a breach to the admins, once
//! per event however many replicas run it.
use crate::domain::role::{Action, Role};
use crate::domain::sla::{Calendar, Pause};
use crate::domain::tickets::{self, Budget, TicketStatus};
use crate::error::{ApiError, ApiResult, FieldErrors};
use crate::services::access::staff::StaffCtx;
use crate::services::inbox::{self, Item, To};
use crate::state::AppState;
use chrono::{DateTime, Duration, NaiveTime, Utc};
use entity::{ticket, ticket_sla};
use sea_orm::sea_query::Expr;
use sea_orm::{ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, Set, TransactionTrait};
use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use utoipa::ToSchema;

/// A community's local opening hours for SLA clocks; `close` at or before `open` runs past midnight.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct BusinessHours {
    #[schema(pattern = r"^([01][0-9]|2[0-3]):[0-5][0-9]$", example = "08:30")]
    pub open: String,
    #[schema(pattern = r"^([01][0-9]|2[0-3]):[0-5][0-9]$", example = "17:30")]
    pub close: String,
}

/// One category's budgets, in minutes of working time.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct SlaRule {
    /// Until the first staff answer (never more than the resolution budget: the smaller applies).
    #[schema(minimum = 1, maximum = 525600)]
    pub first_response_minutes: i32,
    #[schema(minimum = 1, maximum = 525600)]
    pub resolution_minutes: i32,
    /// None: the clock runs all day.
    pub business_hours: Option<BusinessHours>,
    /// Whether the clock stops on the community's no-send dates (holidays).
    pub skip_closed_days: bool,
}

impl SlaRule {
    fn default_for(key: &str) -> SlaRule {
        let b = tickets::default_budget(key);
        SlaRule {
            first_response_minutes: i32::try_from(b.first_response.num_minutes()).unwrap_or(i32::MAX),
            resolution_minutes: i32::try_from(b.resolution.num_minutes()).unwrap_or(i32::MAX),
            business_hours: None,
            skip_closed_days: false,
        }
    }

    fn budget(&self) -> Budget {
        let resolution = Duration::minutes(i64::from(self.resolution_minutes));
        Budget {
            first_response: Duration::minutes(i64::from(self.first_response_minutes)).min(resolution),
            resolution,
        }
    }

    fn of_row(r: &ticket_sla::Model) -> SlaRule {
        SlaRule {
            first_response_minutes: r.first_response_minutes,
            resolution_minutes: r.resolution_minutes,
            business_hours: match (&r.business_start, &r.business_end) {
                (Some(o), Some(c)) => Some(BusinessHours {
                    open: o.clone(),
                    close: c.clone(),
                }),
                _ => None,
            },
            skip_closed_days: r.skip_closed_days,
        }
    }
}

/// A community's SLA settings, one rule per category (an emergency repair has its own); a rule left
/// out of a `PUT` goes back to the company default.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema, Default)]
#[serde(deny_unknown_fields)]
pub struct SlaSettings {
    pub complaint: Option<SlaRule>,
    pub repair: Option<SlaRule>,
    pub emergency_repair: Option<SlaRule>,
    pub dispute: Option<SlaRule>,
    pub suggestion: Option<SlaRule>,
    pub enquiry: Option<SlaRule>,
}

impl SlaSettings {
    fn slot(&mut self, key: &str) -> Option<&mut Option<SlaRule>> {
        Some(match key {
            "complaint" => &mut self.complaint,
            "repair" => &mut self.repair,
            "emergency_repair" => &mut self.emergency_repair,
            "dispute" => &mut self.dispute,
            "suggestion" => &mut self.suggestion,
            "enquiry" => &mut self.enquiry,
            _ => return None,
        })
    }

    fn rules(&self) -> [(&'static str, &Option<SlaRule>); 6] {
        [
            ("complaint", &self.complaint),
            ("repair", &self.repair),
            ("emergency_repair", &self.emergency_repair),
            ("dispute", &self.dispute),
            ("suggestion", &self.suggestion),
            ("enquiry", &self.enquiry),
        ]
    }
}

fn hhmm(s: &str) -> Option<NaiveTime> {
    NaiveTime::parse_from_str(s, "%H:%M").ok()
}

/// The stored rule for a key, or the default.
async fn rule_of<C: ConnectionTrait>(db: &C, community_id: i32, key: &str) -> ApiResult<SlaRule> {
    Ok(ticket_sla::Entity::find()
        .filter(ticket_sla::Column::CommunityId.eq(community_id))
        .filter(ticket_sla::Column::Category.eq(key))
        .one(db)
        .await?
        .map(|r| SlaRule::of_row(&r))
        .unwrap_or_else(|| SlaRule::default_for(key)))
}

/// The clock of one kind of ticket in one community.
pub struct Clock {
    pub calendar: Calendar,
    pub budget: Budget,
}

/// The clock a ticket of `key` runs on in a community: its rule, the community's zone, and its
/// no-send dates when the rule skips them.
pub async fn clock_for(state: &AppState, community_id: i32, key: &str) -> ApiResult<Clock> {
    let rule = rule_of(&state.db, community_id, key).await?;
    let tz = state.community_tz(community_id).await?;
    let closed = if rule.skip_closed_days {
        crate::services::collection::reminders::policy::policy_of(&state.db, community_id)
            .await?
            .no_send_dates
            .unwrap_or_else(|| state.settings.reminders.no_send_dates.clone())
            .into_iter()
            .collect()
    } else {
        Default::default()
    };
    let hours = rule
        .business_hours
        .as_ref()
        .and_then(|h| Some((hhmm(&h.open)?, hhmm(&h.close)?)));
    Ok(Clock {
        calendar: Calendar { tz, hours, closed },
        budget: rule.budget(),
    })
}

/// A ticket's deadlines from its clock start and pauses: (first response, resolution); None while
/// a pause stops the clock, or with no clock started.
pub fn deadlines(
    c: &Clock,
    clock_from: Option<DateTime<Utc>>,
    responded: bool,
    pauses: &[Pause],
) -> (Option<DateTime<Utc>>, Option<DateTime<Utc>>) {
    let Some(from) = clock_from else {
        return (None, None);
    };
    let first = if responded {
        None
    } else {
        c.calendar.due(from, c.budget.first_response, pauses)
    };
    (first, c.calendar.due(from, c.budget.resolution, pauses))
}

/// `GET /staff/communities/{id}/ticket-sla`: every rule, defaults filled in.
pub async fn get_settings(state: &AppState, ctx: &StaffCtx, community_id: i32) -> ApiResult<SlaSettings> {
    ctx.require(Action::ReadSetup)?;
    crate::services::setup::community_in_scope(state, ctx, community_id).await?;
    let mut out = SlaSettings::default();
    for key in tickets::SLA_KEYS {
        let rule = rule_of(&state.db, community_id, key).await?;
        if let Some(slot) = out.slot(key) {
            *slot = Some(rule);
        }
    }
    Ok(out)
}

/// `PUT /staff/communities/{id}/ticket-sla` (admins): replaces the rules; tickets already open
/// keep the deadlines they were given.
pub async fn put_settings(
    state: &AppState,
    ctx: &StaffCtx,
    community_id: i32,
    body: SlaSettings,
) -> ApiResult<SlaSettings> {
    ctx.require(Action::ManageCommunities)?;
    crate::services::setup::community_in_scope(state, ctx, community_id).await?;
    let mut errors = FieldErrors::new();
    for (key, rule) in body.rules() {
        let Some(r) = rule else { continue };
        for (field, v) in [
            ("first_response_minutes", r.first_response_minutes),
            ("resolution_minutes", r.resolution_minutes),
        ] {
            if !(1..=525_600).contains(&v) {
                errors.insert(format!("{key}.{field}"), "应在1到525600分钟（一年）之间".into());
            }
        }
        if let Some(h) = &r.business_hours {
            for (field, v) in [("open", &h.open), ("close", &h.close)] {
                if hhmm(v).is_none() || v.len() != 5 {
                    errors.insert(format!("{key}.business_hours.{field}"), "时间格式应为HH:MM".into());
                }
            }
        }
    }
    ApiError::check(errors)?;
    let now = state.clock.now();
    let txn = crate::db::begin_write(&state.db).await?;
    ticket_sla::Entity::delete_many()
        .filter(ticket_sla::Column::CommunityId.eq(community_id))
        .exec(&txn)
        .await?;
    for (key, rule) in body.rules() {
        let Some(r) = rule else { continue };
        ticket_sla::ActiveModel {
            community_id: Set(community_id),
            category: Set(key.to_string()),
            first_response_minutes: Set(r.first_response_minutes),
            resolution_minutes: Set(r.resolution_minutes),
            business_start: Set(r.business_hours.as_ref().map(|h| h.open.clone())),
            business_end: Set(r.business_hours.as_ref().map(|h| h.close.clone())),
            skip_closed_days: Set(r.skip_closed_days),
            updated_at: Set(now),
            ..Default::default()
        }
        .insert(&txn)
        .await?;
    }
    crate::services::audit::record(
        &txn,
        &ctx.actor(),
        "ticket_sla.update",
        "community",
        community_id,
        serde_json::to_value(&body).unwrap_or_default(),
        now,
    )
    .await?;
    txn.commit().await?;
    get_settings(state, ctx, community_id).await
}

/// Which clock a breach or warning is about.
#[derive(Debug, Clone, Copy)]
enum Which {
    Response,
    Resolution,
}

impl Which {
    fn key(self) -> &'static str {
        match self {
            Which::Response => "response",
            Which::Resolution => "resolution",
        }
    }

    fn words(self) -> &'static str {
        match self {
            Which::Response => "首次响应",
            Which::Resolution => "解决",
        }
    }
}

/// What one tick did.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct TickReport {
    /// Breaches this replica flagged (another replica flags each at most once too).
    pub breached: u64,
    /// Near-breach warnings newly delivered to someone's inbox.
    pub warned: u64,
}

/// The scheduler's SLA pass over every ticket whose clock runs.
pub async fn tick(state: &AppState) -> ApiResult<TickReport> {
    let now = state.clock.now();
    let running = ticket::Entity::find()
        .filter(ticket::Column::Status.eq(TicketStatus::Open))
        .filter(ticket::Column::ClockFrom.is_not_null())
        .all(&state.db)
        .await?;
    let mut clocks: HashMap<(i32, &'static str), Clock> = HashMap::new();
    let mut report = TickReport::default();
    for t in running {
        let key = tickets::sla_key(t.category, t.emergency);
        let c = match clocks.entry((t.community_id, key)) {
            std::collections::hash_map::Entry::Occupied(o) => o.into_mut(),
            std::collections::hash_map::Entry::Vacant(v) => v.insert(clock_for(state, t.community_id, key).await?),
        };
        let Some(from) = t.clock_from else { continue };
        let pauses = tickets::pauses_of(&t.pauses);
        let worked = c.calendar.worked(from, now, &pauses);
        let mut checks = vec![(Which::Resolution, c.budget.resolution, t.resolution_breached_at)];
        if t.first_responded_at.is_none() {
            checks.insert(0, (Which::Response, c.budget.first_response, t.response_breached_at));
        }
        for (which, budget, breached_at) in checks {
            if breached_at.is_some() {
                continue;
            }
            if worked >= budget {
                report.breached += breach(state, &t, which, now).await?;
            } else if tickets::near_breach(worked, budget) {
                report.warned += warn(state, &t, which, now).await?;
            }
        }
    }
    Ok(report)
}

fn ticket_link(t: &ticket::Model) -> Option<String> {
    Some(format!("/console/tickets/{}", t.id))
}

/// Flags a breach once (a conditional update decides which replica) and, in the same transaction,
/// tells the community's admins and the assignee.
async fn breach(state: &AppState, t: &ticket::Model, which: Which, now: DateTime<Utc>) -> ApiResult<u64> {
    let txn = state.db.begin().await?;
    let column = match which {
        Which::Response => ticket::Column::ResponseBreachedAt,
        Which::Resolution => ticket::Column::ResolutionBreachedAt,
    };
    let flagged = ticket::Entity::update_many()
        .col_expr(column, Expr::value(now))
        .filter(ticket::Column::Id.eq(t.id))
        .filter(column.is_null())
        .filter(ticket::Column::Status.eq(TicketStatus::Open))
        .exec(&txn)
        .await?;
    if flagged.rows_affected != 1 {
        return Ok(0);
    }
    let item = || Item {
        kind: "ticket_breach",
        title: format!("工单{}已超时未{}", t.id, which.words()),
        body: format!(
            "{}「{}」已超过{}时限，请尽快处理。",
            tickets::category_label(t.category),
            t.title,
            which.words()
        ),
        link: ticket_link(t),
        event_key: format!("ticket:{}:breach:{}", t.id, which.key()),
    };
    inbox::post(
        &txn,
        To::Community {
            community_id: t.community_id,
            roles: &[],
        },
        item(),
        now,
    )
    .await?;
    if let Some(a) = t.assignee_id {
        inbox::post(&txn, To::Member(a), item(), now).await?;
    }
    txn.commit().await?;
    Ok(1)
}

/// Warns the assignee (or, unassigned, the community's service staff) that a clock is near its
/// breach; the inbox's event key keeps it to once per person and reopening.
async fn warn(state: &AppState, t: &ticket::Model, which: Which, now: DateTime<Utc>) -> ApiResult<u64> {
    let to = match t.assignee_id {
        Some(a) => To::Member(a),
        None => To::Community {
            community_id: t.community_id,
            roles: &[Role::Service],
        },
    };
    let due = match which {
        Which::Response => t.first_response_due_at,
        Which::Resolution => t.resolution_due_at,
    };
    let tz = state.community_tz(t.community_id).await?;
    let item = Item {
        kind: "ticket_near_breach",
        title: format!("工单{}即将超时", t.id),
        body: format!(
            "{}「{}」的{}时限{}，请尽快处理。",
            tickets::category_label(t.category),
            t.title,
            which.words(),
            due.map(|d| format!("为{}", d.with_timezone(&tz).format("%Y-%m-%d %H:%M")))
                .unwrap_or_else(|| "将到".into())
        ),
        link: ticket_link(t),
        event_key: format!("ticket:{}:warn:{}:{}", t.id, which.key(), t.reopen_count),
    };
    inbox::post(&state.db, to, item, now).await
}
