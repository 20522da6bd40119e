//! A hardship case's relief reaching bills, and the case's end: the reductions and deferrals the
//! ledger makes to the bills due in an approved case's window — at approval and, through the pass,
//! as later bills are issued — and the case ending by itself when its window is over, with a
//! review task for finance.
use super::{category_label, move_case, record, relief_label, yuan, SYSTEM};
use crate::domain::hardship::{parse_percent, reduction_fen};
use crate::domain::role::Role;
use crate::domain::states::BillStatus;
use crate::error::{ApiError, ApiResult};
use crate::services::billing::ledger::{By, Correction, Ledger};
use crate::services::inbox::{self, Item, To};
use crate::state::AppState;
use entity::states::{HardshipStatus, Relief};
use entity::{bill, hardship_case as case, hardship_case_bill as case_bill};
use sea_orm::sea_query::{Expr, OnConflict};
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, QueryOrder, Set};
use std::collections::BTreeSet;

/// Applies an approved case to the unit's open ordinary bills due in its window that it has not
/// relieved yet, in one ledger transaction; how many bills it relieved. Each bill once: the
/// unique (case, bill) row is written beside the ledger's change.
pub(super) async fn apply(state: &AppState, c: &case::Model) -> ApiResult<u64> {
    let (Some(relief), Some(from), Some(to)) = (c.relief, c.starts_on, c.ends_on) else {
        return Ok(0);
    };
    // A bill is relieved once, by whichever case reached it first: a later case whose window
    // overlaps an earlier one's does not reduce or defer it again.
    let done: BTreeSet<i32> = case_bill::Entity::find()
        .filter(
            case_bill::Column::BillId.in_subquery(
                sea_orm::sea_query::Query::select()
                    .column(bill::Column::Id)
                    .from(bill::Entity)
                    .and_where(bill::Column::UnitId.eq(c.unit_id))
                    .to_owned(),
            ),
        )
        .all(&state.db)
        .await?
        .into_iter()
        .map(|r| r.bill_id)
        .collect();
    let due: Vec<i32> = bill::Entity::find()
        .filter(bill::Column::UnitId.eq(c.unit_id))
        .filter(bill::Column::Status.eq(BillStatus::Unpaid))
        // Instalments belong to their plan; the plan's own terms govern them.
        .filter(bill::Column::InstallmentPlanId.eq(0))
        .filter(bill::Column::DueDate.between(from, to))
        .order_by_asc(bill::Column::DueDate)
        .all(&state.db)
        .await?
        .into_iter()
        .map(|b| b.id)
        .filter(|id| !done.contains(id))
        .collect();
    if due.is_empty() {
        return Ok(0);
    }
    let percent = c
        .percent
        .as_deref()
        .map(parse_percent)
        .transpose()
        .map_err(|m| ApiError::internal(anyhow::anyhow!(m)))?;
    let now = state.clock.now();
    let why = format!(
        "困难减免第{}号（{}，{}批准）",
        c.id,
        category_label(c.category),
        c.decided_by.as_deref().unwrap_or_default()
    );
    let mut ledger = Ledger::begin(state).await?;
    let mut lines = Vec::new();
    for id in due {
        let Some(b) = ledger.lock_bill(id).await? else { continue };
        if b.status != BillStatus::Unpaid || b.due_date < from || b.due_date > to {
            continue;
        }
        let inserted = case_bill::Entity::insert(case_bill::ActiveModel {
            case_id: Set(c.id),
            bill_id: Set(b.id),
            reduced_fen: Set(0),
            deferred_from: Set(None),
            applied_at: Set(now),
            ..Default::default()
        })
        .on_conflict(
            OnConflict::columns([case_bill::Column::CaseId, case_bill::Column::BillId])
                .do_nothing()
                .to_owned(),
        )
        .exec_without_returning(ledger.txn())
        .await?;
        if inserted == 0 {
            continue;
        }
        let by = By {
            actor: SYSTEM,
            reason: &why,
            at: now,
        };
        let (reduced, deferred_from) = match (relief, percent, c.defer_to) {
            (Relief::Reduction, Some(p), _) => {
                let new = std::cmp::max(
                    b.principal_fen - reduction_fen(b.principal_fen, p),
                    b.paid_principal_fen,
                );
                if new == b.principal_fen {
                    (0, None)
                } else {
                    let correction = if new == 0 {
                        Correction::Cancel
                    } else {
                        Correction::Adjust(new)
                    };
                    ledger.correct(&b, correction, by).await?;
                    (b.principal_fen - new, None)
                }
            }
            (Relief::Deferral, _, Some(to)) if to > b.due_date => {
                ledger.defer(&b, to, by).await?;
                (0, Some(b.due_date))
            }
            _ => (0, None),
        };
        case_bill::Entity::update_many()
            .col_expr(case_bill::Column::ReducedFen, Expr::value(reduced))
            .col_expr(case_bill::Column::DeferredFrom, Expr::value(deferred_from))
            .filter(case_bill::Column::CaseId.eq(c.id))
            .filter(case_bill::Column::BillId.eq(b.id))
            .exec(ledger.txn())
            .await?;
        lines.push(match deferred_from {
            Some(d) => format!("{}（到期日{d}延至{}）", b.period, c.defer_to.unwrap_or(d)),
            None => format!("{}（减免本金{}元）", b.period, yuan(reduced)),
        });
    }
    if !lines.is_empty() {
        record(
            ledger.txn(),
            c,
            now,
            format!("困难减免适用于账单：{}", lines.join("、")),
            "applied",
        )
        .await?;
    }
    ledger.commit(state).await?;
    Ok(u64::try_from(lines.len()).unwrap_or_default())
}

/// What one pass over hardship cases did.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Pass {
    /// Bills relieved (issued since the decision, or missed).
    pub applied: u64,
    /// Cases whose window ended (each with a review task).
    pub ended: u64,
}

/// One pass: every approved case relieves the bills of its window not yet relieved, and a case
/// whose window is over ends, with a review task in finance's inbox.
pub async fn tick(state: &AppState) -> ApiResult<Pass> {
    let approved = case::Entity::find()
        .filter(case::Column::Status.eq(HardshipStatus::Approved))
        .order_by_asc(case::Column::Id)
        .all(&state.db)
        .await?;
    let mut pass = Pass::default();
    for c in approved {
        if let Err(e) = keep(state, &c, &mut pass).await {
            // One case's trouble must not hold up every case after it.
            tracing::warn!(case_id = c.id, error = %e, "hardship case pass failed");
        }
    }
    Ok(pass)
}

/// Relieves one case's new bills, and ends it when its window is over.
async fn keep(state: &AppState, c: &case::Model, pass: &mut Pass) -> ApiResult<()> {
    pass.applied += apply(state, c).await?;
    let today = state.today_in(state.community_tz(c.community_id).await?);
    if c.ends_on.is_some_and(|e| e < today) && end(state, c).await? {
        pass.ended += 1;
    }
    Ok(())
}

/// Ends a case whose window is over: the unit is chased again as usual, and finance gets a review
/// task. False when another replica ended it first.
async fn end(state: &AppState, c: &case::Model) -> ApiResult<bool> {
    let now = state.clock.now();
    let txn = crate::db::begin_write(&state.db).await?;
    let set = case::ActiveModel {
        status: Set(HardshipStatus::Ended),
        live_unit_id: Set(None),
        updated_at: Set(now),
        ..Default::default()
    };
    let Some(c) = move_case(&txn, c.id, &[HardshipStatus::Approved], set).await? else {
        txn.rollback().await?;
        return Ok(false);
    };
    let label = relief_label(&c).unwrap_or_default();
    record(&txn, &c, now, format!("困难减免期限届满：{label}；待物业复核"), "ended").await?;
    let unit = crate::services::setup::units::labels_of(&txn, [c.unit_id])
        .await?
        .remove(&c.unit_id)
        .unwrap_or_default();
    inbox::post(
        &txn,
        To::Community {
            community_id: c.community_id,
            roles: &[Role::Finance],
        },
        Item {
            kind: "hardship_review",
            title: format!("困难减免到期待复核：{unit}"),
            body: format!(
                "{}：{label}。请联系业主了解近况，需要时由业主重新申请。",
                category_label(c.category)
            ),
            link: Some(format!("/console/hardship?community_id={}", c.community_id)),
            event_key: format!("hardship_review:{}", c.id),
        },
        now,
    )
    .await?;
    txn.commit().await?;
    Ok(true)
}
