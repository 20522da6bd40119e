//! The risk watch list of a community (`domain::risk`): each owner's history — their bills by the
//! one ownership rule, their open complaints and repairs, their failed auto-debits, a defaulted
//! plan — scored with reasons and a suggested action, highest first. For staff only; it changes
//! nothing.
use crate::domain::billing::ownership::{owns, Link};
use crate::domain::risk::{assess, History, PastBill};
use crate::domain::role::Action;
use crate::domain::states::BillStatus;
use crate::error::ApiResult;
use crate::services::access::staff::StaffCtx;
use crate::state::AppState;
use chrono::Duration;
use entity::states::{DebitStatus, PlanStatus, TicketCategory, TicketStatus};
use entity::{autodebit_debit, bill, installment_plan, owner, ticket, unit, unit_owner};
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use utoipa::{IntoParams, ToSchema};

/// `GET /staff/reports/watch-list` query.
#[derive(Debug, Deserialize, IntoParams)]
pub struct WatchQuery {
    pub community_id: i32,
}

/// One reason an owner is on the list.
#[derive(Debug, Serialize, ToSchema)]
pub struct ReasonView {
    /// `first_late`, `arrears_rising`, `open_complaint`, `failed_debits`, `broken_plan`.
    pub code: String,
    pub points: u32,
    pub text: String,
}

/// An owner on the watch list.
#[derive(Debug, Serialize, ToSchema)]
pub struct WatchEntry {
    pub owner_id: i32,
    pub owner: String,
    /// Their units' codes.
    pub units: Vec<String>,
    /// 0–100: the sum of the reasons' points.
    pub score: u32,
    pub reasons: Vec<ReasonView>,
    /// `call`, `plan_offer`, `hardship_check`, `answer_complaint`.
    pub action: String,
    pub action_label: String,
}

/// `GET /staff/reports/watch-list?community_id=` (report readers: admins, finance, collectors).
pub async fn watch_list(state: &AppState, ctx: &StaffCtx, q: WatchQuery) -> ApiResult<Vec<WatchEntry>> {
    ctx.require(Action::ReadReports)?;
    let c = crate::services::setup::community_in_scope(state, ctx, q.community_id).await?;
    let tz = state.zone_of(&c);
    let today = state.today_in(tz);
    let now = state.clock.now();
    let units: BTreeMap<i32, String> = unit::Entity::find()
        .filter(unit::Column::CommunityId.eq(c.id))
        .all(&state.db)
        .await?
        .into_iter()
        .map(|u| (u.id, u.code))
        .collect();
    let links: Vec<Link> = unit_owner::Entity::find()
        .filter(unit_owner::Column::UnitId.is_in(units.keys().copied()))
        .all(&state.db)
        .await?
        .into_iter()
        .map(|l| Link {
            unit_id: l.unit_id,
            owner_id: l.owner_id,
            start: l.start_date,
            end: l.end_date,
        })
        .collect();
    let mut histories: BTreeMap<i32, History> = BTreeMap::new();
    // Bills owed or paid (cancelled and rescheduled ones say nothing of the owner's paying).
    for b in bill::Entity::find()
        .filter(bill::Column::CommunityId.eq(c.id))
        .filter(bill::Column::Status.is_in([BillStatus::Unpaid, BillStatus::Paid]))
        .all(&state.db)
        .await?
    {
        let past = PastBill {
            due: b.due_date,
            principal_fen: b.principal_fen,
            settled_on: match b.status {
                BillStatus::Paid => b.paid_at.map(|t| t.with_timezone(&tz).date_naive()),
                _ => None,
            },
        };
        for l in links
            .iter()
            .filter(|l| l.unit_id == b.unit_id && owns(l, &links, b.period_start))
        {
            histories.entry(l.owner_id).or_default().bills.push(past);
        }
    }
    // Owners now linked to a unit answer for its service and its debits.
    let current: Vec<&Link> = links.iter().filter(|l| l.end.is_none_or(|e| e > today)).collect();
    let owners_of = |unit_id: i32| current.iter().filter(move |l| l.unit_id == unit_id).map(|l| l.owner_id);
    for t in ticket::Entity::find()
        .filter(ticket::Column::CommunityId.eq(c.id))
        .filter(ticket::Column::Category.is_in([TicketCategory::Complaint, TicketCategory::Repair]))
        .filter(ticket::Column::Status.is_in([TicketStatus::Open, TicketStatus::WaitingOwner]))
        .all(&state.db)
        .await?
    {
        for o in owners_of(t.unit_id) {
            histories.entry(o).or_default().open_complaints += 1;
        }
    }
    for d in autodebit_debit::Entity::find()
        .filter(autodebit_debit::Column::CommunityId.eq(c.id))
        .filter(autodebit_debit::Column::Status.is_in([DebitStatus::Failed, DebitStatus::GivenUp]))
        .filter(autodebit_debit::Column::UpdatedAt.gte(now - Duration::days(90)))
        .all(&state.db)
        .await?
    {
        for o in owners_of(d.unit_id) {
            histories.entry(o).or_default().failed_debits += 1;
        }
    }
    for p in installment_plan::Entity::find()
        .filter(installment_plan::Column::CommunityId.eq(c.id))
        .filter(installment_plan::Column::Status.eq(PlanStatus::Defaulted))
        .filter(installment_plan::Column::EndedAt.gte(now - Duration::days(365)))
        .all(&state.db)
        .await?
    {
        // The owners who were the unit's when the plan was asked for: a buyer answers for no
        // seller's plan.
        let asked = p.created_at.with_timezone(&tz).date_naive();
        for l in current.iter().filter(|l| l.unit_id == p.unit_id && l.start <= asked) {
            histories.entry(l.owner_id).or_default().broken_plan = true;
        }
    }
    let names: BTreeMap<i32, String> = owner::Entity::find()
        .filter(owner::Column::Id.is_in(histories.keys().copied()))
        .all(&state.db)
        .await?
        .into_iter()
        .map(|o| (o.id, o.name))
        .collect();
    let mut list: Vec<WatchEntry> = histories
        .iter()
        .filter_map(|(owner_id, h)| {
            let a = assess(h, today)?;
            let mut their: Vec<String> = current
                .iter()
                .filter(|l| l.owner_id == *owner_id)
                .filter_map(|l| units.get(&l.unit_id).cloned())
                .collect();
            their.sort();
            their.dedup();
            Some(WatchEntry {
                owner_id: *owner_id,
                owner: names.get(owner_id).cloned().unwrap_or_default(),
                units: their,
                score: a.score,
                reasons: a
                    .reasons
                    .into_iter()
                    .map(|r| ReasonView {
                        code: r.code.into(),
                        points: r.points,
                        text: r.text,
                    })
                    .collect(),
                action: a.action.as_str().into(),
                action_label: a.action.label().into(),
            })
        })
        .collect();
    list.sort_by(|a, b| b.score.cmp(&a.score).then(a.owner_id.cmp(&b.owner_id)));
    Ok(list)
}
