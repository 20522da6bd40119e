//! The suppression clauses (`domain::suppression`) applied to stored bills and holds, for the parts
//! of collection that decide in Rust (task queue, printing); the reminder pass uses their SQL form.
use crate::domain::states::BillStatus;
use crate::domain::suppression::{self, Effect, Facts};
use crate::domain::tickets::{TicketCategory, TicketStatus};
use crate::error::ApiResult;
use chrono::NaiveDate;
use entity::states::{DebitStatus, HardshipStatus, PlanStatus};
use entity::{
    autodebit_debit, bill, collection_hold, hardship_case, installment_plan, installment_plan_bill, ticket, ticket_bill,
};
use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter};

pub fn hold_of(h: &collection_hold::Model) -> suppression::Hold {
    suppression::Hold {
        unit_id: h.unit_id,
        bill_id: h.bill_id,
        until: h.until,
        ended: h.ended_at.is_some(),
    }
}

pub fn bill_of(b: &bill::Model) -> suppression::Bill {
    suppression::Bill {
        id: b.id,
        unit_id: b.unit_id,
        open: b.status == BillStatus::Unpaid,
        instalment: b.installment_plan_id != 0,
    }
}

/// Holds not ended on these units (the only ones a clause over their bills can see).
pub async fn holds_on<C: ConnectionTrait>(db: &C, unit_ids: Vec<i32>) -> ApiResult<Vec<suppression::Hold>> {
    Ok(collection_hold::Entity::find()
        .filter(collection_hold::Column::UnitId.is_in(unit_ids))
        .filter(collection_hold::Column::EndedAt.is_null())
        .all(db)
        .await?
        .iter()
        .map(hold_of)
        .collect())
}

/// Bills of these units named by a dispute still being worked on (the `dispute` clause's facts).
pub async fn disputed_on<C: ConnectionTrait>(db: &C, unit_ids: Vec<i32>) -> ApiResult<Vec<i32>> {
    let disputes: Vec<i32> = ticket::Entity::find()
        .filter(ticket::Column::UnitId.is_in(unit_ids))
        .filter(ticket::Column::Category.eq(TicketCategory::Dispute))
        .filter(ticket::Column::Status.is_in([TicketStatus::Open, TicketStatus::WaitingOwner]))
        .all(db)
        .await?
        .into_iter()
        .map(|t| t.id)
        .collect();
    if disputes.is_empty() {
        return Ok(Vec::new());
    }
    Ok(ticket_bill::Entity::find()
        .filter(ticket_bill::Column::TicketId.is_in(disputes))
        .all(db)
        .await?
        .into_iter()
        .map(|tb| tb.bill_id)
        .collect())
}

/// Bills of these units whose announced auto-debit is still running (the `autodebit` clause's
/// facts).
pub async fn debiting_on<C: ConnectionTrait>(db: &C, unit_ids: Vec<i32>) -> ApiResult<Vec<i32>> {
    Ok(autodebit_debit::Entity::find()
        .filter(autodebit_debit::Column::UnitId.is_in(unit_ids))
        .filter(autodebit_debit::Column::Status.is_in([
            DebitStatus::Noticed,
            DebitStatus::Debiting,
            DebitStatus::Failed,
        ]))
        .all(db)
        .await?
        .into_iter()
        .map(|d| d.bill_id)
        .collect())
}

/// Bills of these units in an installment request awaiting a decision or acceptance (the `plan`
/// clause's facts).
pub async fn planned_on<C: ConnectionTrait>(db: &C, unit_ids: Vec<i32>) -> ApiResult<Vec<i32>> {
    let plans: Vec<i32> = installment_plan::Entity::find()
        .filter(installment_plan::Column::UnitId.is_in(unit_ids))
        .filter(installment_plan::Column::Status.is_in([PlanStatus::Requested, PlanStatus::Approved]))
        .all(db)
        .await?
        .into_iter()
        .map(|p| p.id)
        .collect();
    if plans.is_empty() {
        return Ok(Vec::new());
    }
    Ok(installment_plan_bill::Entity::find()
        .filter(installment_plan_bill::Column::PlanId.is_in(plans))
        .all(db)
        .await?
        .into_iter()
        .filter_map(|pb| pb.live_bill_id)
        .collect())
}

/// Hardship cases on these units being decided or approved (the `hardship` clause's facts).
pub async fn relieved_on<C: ConnectionTrait>(db: &C, unit_ids: Vec<i32>) -> ApiResult<Vec<suppression::Relieved>> {
    Ok(hardship_case::Entity::find()
        .filter(hardship_case::Column::UnitId.is_in(unit_ids))
        .filter(hardship_case::Column::Status.is_in([HardshipStatus::Requested, HardshipStatus::Approved]))
        .all(db)
        .await?
        .into_iter()
        .map(|h| suppression::Relieved {
            unit_id: h.unit_id,
            pending: h.status == HardshipStatus::Requested,
            starts_on: h.starts_on,
            ends_on: h.ends_on,
        })
        .collect())
}

/// Whether `effect` is stopped now on this unit as a whole or on any of these of its bills.
pub async fn stops<C: ConnectionTrait>(
    db: &C,
    effect: Effect,
    unit_id: i32,
    bill_ids: &[i32],
    today: NaiveDate,
) -> ApiResult<bool> {
    let holds = holds_on(db, vec![unit_id]).await?;
    let disputed = disputed_on(db, vec![unit_id]).await?;
    let debiting = debiting_on(db, vec![unit_id]).await?;
    let planned = planned_on(db, vec![unit_id]).await?;
    let relieved = relieved_on(db, vec![unit_id]).await?;
    let bills: Vec<suppression::Bill> = bill::Entity::find()
        .filter(bill::Column::Id.is_in(bill_ids.to_vec()))
        .all(db)
        .await?
        .iter()
        .map(bill_of)
        .collect();
    let facts = Facts {
        today,
        holds: &holds,
        disputed: &disputed,
        debiting: &debiting,
        planned: &planned,
        relieved: &relieved,
    };
    Ok(suppression::stops_any(effect, unit_id, &bills, &facts))
}
