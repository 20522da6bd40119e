//! An installment plan in force: it takes effect when the owner accepts the agreement (the ledger
//! closes the covered bills as `rescheduled`, their late fee frozen, and issues one instalment bill
//! a month), and ends by itself — kept, when every instalment is paid (the frozen late fee is
//! waived), or defaulted, when an instalment is more than `installments.default_after_days` late
//! (unpaid instalments cancelled, the covered bills reopened less what the instalments paid, their
//! late fee as if there had been no plan). Each step is one ledger transaction that first moves the
//! plan's status, so two replicas running the pass do each step once.
use super::installments::{self as plans, record, release_bills, tell, view, yuan, PlanView};
use crate::domain::installments::schedule;
use crate::domain::period::Period;
use crate::domain::role::Role;
use crate::domain::states::{BillStatus, EntryKind};
use crate::error::{ApiError, ApiResult};
use crate::services::billing::ledger::{self, By, Correction, InstalmentPaid, Ledger, Moving, NewBill, NewInstalment};
use crate::services::inbox::{self, Item, To};
use crate::state::AppState;
use chrono::NaiveDate;
use entity::states::PlanStatus;
use entity::{
    bill, bill_entry, installment_plan as plan, installment_plan_bill as plan_bill,
    installment_plan_instalment as instalment,
};
use sea_orm::{ActiveModelTrait, ColumnTrait, EntityTrait, QueryFilter, QueryOrder, Set};
use std::collections::BTreeMap;

/// Who the ledger entries of a plan's own steps name.
const SYSTEM: &str = "system:installments";

/// `POST /me/installment-plans/{id}/accept`: the owner accepts the approved agreement whose text
/// they read (its SHA-256 must be the plan's); the plan takes effect in one ledger transaction and
/// the acceptance — time, client, text hash — goes on the unit's evidence chain. Acceptance is the
/// debtor agreeing to pay (Civil Code art. 195): it restarts limitation for the covered bills.
pub async fn accept(
    state: &AppState,
    account_id: i32,
    id: i32,
    body: plans::Acceptance,
    client: &str,
) -> ApiResult<PlanView> {
    let p = plan::Entity::find_by_id(id)
        .one(&state.db)
        .await?
        .filter(|p| p.account_id == account_id)
        .ok_or(ApiError::NotFound)?;
    let hash = body.agreement_sha256.to_ascii_lowercase();
    if hash.len() != 64 || !hash.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Err(ApiError::field("agreement_sha256", "协议摘要应为64位十六进制SHA-256"));
    }
    let within = chrono::Duration::days(state.settings.installments.accept_within_days);
    let lapsed = p.decided_at.is_some_and(|d| d + within < state.clock.now());
    if p.status != PlanStatus::Approved || lapsed {
        return Err(not_approved());
    }
    if p.agreement_sha256.as_deref() != Some(hash.as_str()) {
        return Err(ApiError::Conflict(
            "AGREEMENT_MISMATCH",
            "您确认的协议与物业批准的协议不一致，请重新打开协议阅读后再确认".into(),
        ));
    }
    let tz = state.community_tz(p.community_id).await?;
    let now = state.clock.now();
    let on = now.with_timezone(&tz).date_naive();
    let items = schedule(p.principal_fen, u32::try_from(p.months).unwrap_or_default(), on)
        .map_err(|e| ApiError::internal(anyhow::anyhow!(e.message())))?;
    let client: String = client.chars().filter(|c| !c.is_control()).take(200).collect();
    let mut ledger = Ledger::begin(state).await?;
    let set = plan::ActiveModel {
        status: Set(PlanStatus::Active),
        accepted_at: Set(Some(now)),
        accepted_on: Set(Some(on)),
        accepted_client: Set(Some(client.clone())),
        updated_at: Set(now),
        ..Default::default()
    };
    let Some(p) = plans::move_plan(ledger.txn(), p.id, &[PlanStatus::Approved], set).await? else {
        return Err(not_approved());
    };
    let covered = plan_bill::Entity::find()
        .filter(plan_bill::Column::PlanId.eq(p.id))
        .order_by_asc(plan_bill::Column::Id)
        .all(ledger.txn())
        .await?;
    let by = || By {
        actor: SYSTEM,
        reason: "转入分期协议",
        at: now,
    };
    let (mut frozen, mut fee_items) = (0i64, BTreeMap::<i32, i64>::new());
    for c in &covered {
        // Locked, the bill must still owe what the plan covers: a payment since changes the plan.
        let b = ledger.lock_bill(c.bill_id).await?;
        let Some(b) = b.filter(|b| b.status == BillStatus::Unpaid) else {
            return Err(stale());
        };
        let (moved, late) = ledger.reschedule(&b, Moving::Outstanding, by()).await?;
        if moved != c.principal_fen {
            return Err(stale());
        }
        frozen += late;
        *fee_items.entry(b.fee_item_id).or_default() += moved;
    }
    // Instalments are billed under the fee item most of the principal came from.
    let fee_item_id = fee_items
        .iter()
        .max_by_key(|(id, fen)| (**fen, -**id))
        .map(|(id, _)| *id)
        .ok_or_else(stale)?;
    for i in &items {
        let b = ledger
            .issue_instalment(NewInstalment {
                bill: NewBill {
                    community_id: p.community_id,
                    unit_id: p.unit_id,
                    fee_item_id,
                    period: Period::month_of(i.due_date),
                    due_date: i.due_date,
                    nominal_due_date: None,
                    issued_on: Some(on),
                    principal_fen: i.amount_fen,
                    created_at: now,
                },
                plan_id: p.id,
                seq: i32::try_from(i.seq).unwrap_or_default(),
            })
            .await?;
        instalment::ActiveModel {
            plan_id: Set(p.id),
            seq: Set(b.installment_seq.unwrap_or_default()),
            due_date: Set(i.due_date),
            amount_fen: Set(i.amount_fen),
            bill_id: Set(Some(b.id)),
            ..Default::default()
        }
        .insert(ledger.txn())
        .await?;
    }
    let ids: Vec<i32> = covered.iter().map(|c| c.bill_id).collect();
    ledger::restart_limitation(ledger.txn(), &ids, on).await?;
    let p = plan::ActiveModel {
        id: Set(p.id),
        late_fee_fen: Set(frozen),
        ..Default::default()
    }
    .update(ledger.txn())
    .await?;
    let first = items.first().map(|i| (i.due_date, i.amount_fen)).unwrap_or((on, 0));
    record(
        ledger.txn(),
        &p,
        now,
        format!(
            "业主在小程序中接受分期协议（协议文本SHA-256：{hash}；客户端：{client}）：本金{}元分{}期，首期{}元于{}到期；滞纳金{}元自{on}起冻结；诉讼时效自{on}起重新计算",
            yuan(p.principal_fen),
            p.months,
            yuan(first.1),
            first.0,
            yuan(frozen),
        ),
        "accepted",
    )
    .await?;
    ledger.commit(state).await?;
    tracing::info!(
        plan_id = p.id,
        months = p.months,
        frozen_fen = frozen,
        "installment plan accepted"
    );
    view(state, p).await
}

fn not_approved() -> ApiError {
    ApiError::Conflict(
        "PLAN_NOT_APPROVED",
        "该分期协议不在待确认状态（尚未批准、已生效或已结束）".into(),
    )
}

fn stale() -> ApiError {
    ApiError::Conflict("PLAN_STALE", "批准后账单已有缴费或调整，请撤回后重新申请分期".into())
}

/// What one pass over the plans in force did.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Pass {
    pub completed: u64,
    pub defaulted: u64,
    /// Approved plans not accepted in time.
    pub expired: u64,
}

/// One pass: an approved plan not accepted within `accept_within_days` lapses (an approval
/// nobody takes up must not keep its bills from being chased for ever); every active plan whose
/// instalments are all paid is completed, and every one with an instalment more than
/// `default_after_days` late is defaulted.
pub async fn tick(state: &AppState) -> ApiResult<Pass> {
    let mut pass = Pass::default();
    let within = chrono::Duration::days(state.settings.installments.accept_within_days);
    let waiting = plan::Entity::find()
        .filter(plan::Column::Status.eq(PlanStatus::Approved))
        .filter(plan::Column::DecidedAt.lt(state.clock.now() - within))
        .all(&state.db)
        .await?;
    for p in waiting {
        let id = p.id;
        match lapse(state, p).await {
            Ok(true) => pass.expired += 1,
            Ok(false) => {}
            // One plan's trouble must not hold up every plan after it.
            Err(e) => tracing::warn!(plan_id = id, error = %e, "installment plan could not lapse"),
        }
    }
    let active = plan::Entity::find()
        .filter(plan::Column::Status.eq(PlanStatus::Active))
        .order_by_asc(plan::Column::Id)
        .all(&state.db)
        .await?;
    for p in active {
        let id = p.id;
        if let Err(e) = keep(state, p, &mut pass).await {
            // One plan's trouble must not hold up every plan after it.
            tracing::warn!(plan_id = id, error = %e, "installment plan check failed");
        }
    }
    Ok(pass)
}

/// Completes or defaults one active plan when its instalments say so.
async fn keep(state: &AppState, p: plan::Model, pass: &mut Pass) -> ApiResult<()> {
    let owed = instalment_bills(state, p.id).await?;
    let today = plans::today_of(state, p.community_id).await?;
    if let Some(late) = overdue(&owed, today, state.settings.installments.default_after_days) {
        if default(state, p, late).await? {
            pass.defaulted += 1;
        }
    } else if !owed.is_empty() && owed.iter().all(|b| b.status == BillStatus::Paid) && complete(state, p).await? {
        pass.completed += 1;
    }
    Ok(())
}

/// Lets an approved plan nobody accepted lapse: its bills are free and chased again. False when
/// the owner accepted (or another replica moved it) first.
async fn lapse(state: &AppState, p: plan::Model) -> ApiResult<bool> {
    let now = state.clock.now();
    let days = state.settings.installments.accept_within_days;
    let why = format!("批准后{days}日内未确认分期协议，申请失效");
    let txn = crate::db::begin_write(&state.db).await?;
    let set = plan::ActiveModel {
        status: Set(PlanStatus::Expired),
        ended_at: Set(Some(now)),
        end_reason: Set(Some(why.clone())),
        updated_at: Set(now),
        ..Default::default()
    };
    let Some(p) = plans::move_plan(&txn, p.id, &[PlanStatus::Approved], set).await? else {
        txn.rollback().await?;
        return Ok(false);
    };
    release_bills(&txn, p.id).await?;
    record(&txn, &p, now, why.clone(), "expired").await?;
    txn.commit().await?;
    tell(state, &p, "已失效", "如仍需分期，请重新申请").await?;
    Ok(true)
}

async fn instalment_bills(state: &AppState, plan_id: i32) -> ApiResult<Vec<bill::Model>> {
    Ok(bill::Entity::find()
        .filter(bill::Column::InstallmentPlanId.eq(plan_id))
        .order_by_asc(bill::Column::InstallmentSeq)
        .all(&state.db)
        .await?)
}

/// The first instalment still unpaid more than `grace` days after its due date.
fn overdue(owed: &[bill::Model], today: NaiveDate, grace: i64) -> Option<bill::Model> {
    owed.iter()
        .find(|b| b.status == BillStatus::Unpaid && (today - b.due_date).num_days() > grace)
        .cloned()
}

/// Completes a kept plan: the frozen late fee of its bills is waived through the ledger. False
/// when another replica (or a refund meanwhile) got there first.
async fn complete(state: &AppState, p: plan::Model) -> ApiResult<bool> {
    let now = state.clock.now();
    let mut ledger = Ledger::begin(state).await?;
    let set = plan::ActiveModel {
        status: Set(PlanStatus::Completed),
        ended_at: Set(Some(now)),
        end_reason: Set(Some("全部分期已缴清".into())),
        updated_at: Set(now),
        ..Default::default()
    };
    let Some(p) = plans::move_plan(ledger.txn(), p.id, &[PlanStatus::Active], set).await? else {
        return Ok(false);
    };
    // Still all paid, now that they are locked.
    for b in owned_by(&mut ledger, p.id).await? {
        if b.status != BillStatus::Paid {
            return Ok(false);
        }
    }
    let mut waived = 0;
    for c in covered_ids(&ledger, p.id).await? {
        if let Some(b) = ledger.lock_bill(c).await? {
            let by = By {
                actor: SYSTEM,
                reason: "分期协议按期履行，免除冻结的滞纳金",
                at: now,
            };
            waived += ledger.waive_frozen(&b, by).await?;
        }
    }
    release_bills(ledger.txn(), p.id).await?;
    record(
        ledger.txn(),
        &p,
        now,
        format!(
            "分期协议按期履行完毕：{}期均已缴清，冻结的滞纳金{}元已免除",
            p.months,
            yuan(waived)
        ),
        "completed",
    )
    .await?;
    ledger.commit(state).await?;
    tracing::info!(plan_id = p.id, waived_fen = waived, "installment plan completed");
    tell(
        state,
        &p,
        "已按期还清",
        &format!("冻结的滞纳金{}元已免除", yuan(waived)),
    )
    .await?;
    Ok(true)
}

/// The plan's instalment bills, each locked (in seq order).
async fn owned_by(ledger: &mut Ledger, plan_id: i32) -> ApiResult<Vec<bill::Model>> {
    let ids: Vec<i32> = bill::Entity::find()
        .filter(bill::Column::InstallmentPlanId.eq(plan_id))
        .order_by_asc(bill::Column::InstallmentSeq)
        .all(ledger.txn())
        .await?
        .into_iter()
        .map(|b| b.id)
        .collect();
    let mut out = Vec::with_capacity(ids.len());
    for id in ids {
        if let Some(b) = ledger.lock_bill(id).await? {
            out.push(b);
        }
    }
    Ok(out)
}

/// The covered bills' ids, oldest due first (the order instalment payments are credited back).
async fn covered_ids(ledger: &Ledger, plan_id: i32) -> ApiResult<Vec<i32>> {
    let ids: Vec<i32> = plan_bill::Entity::find()
        .filter(plan_bill::Column::PlanId.eq(plan_id))
        .all(ledger.txn())
        .await?
        .into_iter()
        .map(|c| c.bill_id)
        .collect();
    let mut found = bill::Entity::find()
        .filter(bill::Column::Id.is_in(ids))
        .all(ledger.txn())
        .await?;
    found.sort_by_key(|b| (b.due_date, b.id));
    Ok(found.into_iter().map(|b| b.id).collect())
}

/// Defaults a plan whose instalment `late` is more than the grace days late: unpaid instalments
/// are cancelled, paid ones move back into the covered bills, which reopen less what they paid
/// with their late fee as if there had been no plan; finance and the owner are told why. False
/// when another replica got there first, or the instalment was paid meanwhile.
async fn default(state: &AppState, p: plan::Model, late: bill::Model) -> ApiResult<bool> {
    let now = state.clock.now();
    let grace = state.settings.installments.default_after_days;
    let seq = late.installment_seq.unwrap_or_default();
    let why = format!("第{seq}期（{}到期）逾期超过{grace}日未缴", late.due_date);
    let mut ledger = Ledger::begin(state).await?;
    let set = plan::ActiveModel {
        status: Set(PlanStatus::Defaulted),
        ended_at: Set(Some(now)),
        end_reason: Set(Some(why.clone())),
        updated_at: Set(now),
        ..Default::default()
    };
    let Some(p) = plans::move_plan(ledger.txn(), p.id, &[PlanStatus::Active], set).await? else {
        return Ok(false);
    };
    let owned = owned_by(&mut ledger, p.id).await?;
    if owned
        .iter()
        .find(|b| b.id == late.id)
        .is_none_or(|b| b.status != BillStatus::Unpaid)
    {
        // Paid (or changed) since it was read: the plan stands.
        return Ok(false);
    }
    let by = |reason| By {
        actor: SYSTEM,
        reason,
        at: now,
    };
    // What the instalments paid, on the days they were paid.
    let mut credits: Vec<InstalmentPaid> = Vec::new();
    let entries: Vec<bill_entry::Model> = bill_entry::Entity::find()
        .filter(bill_entry::Column::BillId.is_in(owned.iter().map(|b| b.id)))
        .order_by_asc(bill_entry::Column::Id)
        .all(ledger.txn())
        .await?;
    for b in &owned {
        match b.status {
            BillStatus::Unpaid if b.paid_principal_fen == 0 && b.late_fee_paid_fen == 0 => {
                ledger
                    .correct(b, Correction::Cancel, by("分期协议终止，未缴分期取消"))
                    .await?;
            }
            BillStatus::Unpaid | BillStatus::Paid => {
                ledger
                    .reschedule(b, Moving::Whole, by("分期协议终止，已缴分期款转回原账单"))
                    .await?;
                credits.extend(paid_on(b, &entries));
            }
            BillStatus::Cancelled | BillStatus::Rescheduled => {}
        }
    }
    credits.sort_by_key(|c| c.on);
    let mut reopened = Vec::new();
    let covered = covered_ids(&ledger, p.id).await?;
    let moved: BTreeMap<i32, i64> = plan_bill::Entity::find()
        .filter(plan_bill::Column::PlanId.eq(p.id))
        .all(ledger.txn())
        .await?
        .into_iter()
        .map(|c| (c.bill_id, c.principal_fen))
        .collect();
    for id in covered {
        let Some(b) = ledger.lock_bill(id).await? else {
            continue;
        };
        // Oldest bill first: each takes the credits it can hold, in the order they were paid.
        let room = moved.get(&id).copied().unwrap_or_default();
        let mine = take(&mut credits, room);
        let credited = ledger.reopen(&b, &mine, by("分期协议终止，账单恢复待缴")).await?;
        reopened.push((id, credited));
    }
    release_bills(ledger.txn(), p.id).await?;
    let paid: i64 = reopened.iter().map(|(_, c)| c).sum();
    record(
        ledger.txn(),
        &p,
        now,
        format!(
            "分期协议终止：{why}；未缴分期已取消，原账单恢复待缴，已缴分期款{}元抵扣本金，滞纳金按原规则恢复计算",
            yuan(paid)
        ),
        "defaulted",
    )
    .await?;
    inbox::post(
        ledger.txn(),
        To::Community {
            community_id: p.community_id,
            roles: &[Role::Finance],
        },
        Item {
            kind: "installment_defaulted",
            title: format!("分期协议终止：{why}"),
            body: format!("原账单已恢复待缴，已缴分期款{}元抵扣本金；催缴恢复", yuan(paid)),
            link: Some(format!("/console/installments?community_id={}", p.community_id)),
            event_key: format!("installment_defaulted:{}", p.id),
        },
        now,
    )
    .await?;
    ledger.commit(state).await?;
    tracing::info!(plan_id = p.id, credited_fen = paid, "installment plan defaulted");
    tell(state, &p, "已终止", &format!("{why}，原账单已恢复待缴")).await?;
    Ok(true)
}

/// What an instalment bill's payments brought to principal, net of refunds, each on its day.
fn paid_on(b: &bill::Model, entries: &[bill_entry::Model]) -> Vec<InstalmentPaid> {
    let mut by_day: BTreeMap<NaiveDate, i64> = BTreeMap::new();
    for e in entries.iter().filter(|e| e.bill_id == b.id) {
        if matches!(e.kind, EntryKind::Payment | EntryKind::Refund) {
            *by_day.entry(e.on_date).or_default() += e.principal_fen;
        }
    }
    // A refund is taken from the latest payments first.
    let mut out: Vec<InstalmentPaid> = Vec::new();
    for (on, fen) in by_day {
        if fen >= 0 {
            out.push(InstalmentPaid { on, fen });
            continue;
        }
        let mut back = -fen;
        while back > 0 {
            let Some(last) = out.last_mut() else { break };
            let t = back.min(last.fen);
            last.fen -= t;
            back -= t;
            if last.fen == 0 {
                out.pop();
            }
        }
    }
    out
}

/// Takes up to `room` fen of credits from the front of the list (splitting one if need be).
fn take(credits: &mut Vec<InstalmentPaid>, mut room: i64) -> Vec<InstalmentPaid> {
    let mut mine = Vec::new();
    while room > 0 && !credits.is_empty() {
        let c = credits[0];
        let t = c.fen.min(room);
        mine.push(InstalmentPaid { on: c.on, fen: t });
        room -= t;
        if t == c.fen {
            credits.remove(0);
        } else {
            credits[0].fen -= t;
        }
    }
    mine
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::Utc;

    fn d(s: &str) -> NaiveDate {
        NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap()
    }

    #[test]
    fn credits_fill_the_oldest_bill_first_splitting_where_they_must() {
        let mut credits = vec![
            InstalmentPaid {
                on: d("2026-11-20"),
                fen: 300,
            },
            InstalmentPaid {
                on: d("2026-12-20"),
                fen: 300,
            },
        ];
        assert_eq!(
            take(&mut credits, 400),
            vec![
                InstalmentPaid {
                    on: d("2026-11-20"),
                    fen: 300
                },
                InstalmentPaid {
                    on: d("2026-12-20"),
                    fen: 100
                }
            ]
        );
        assert_eq!(
            take(&mut credits, 1_000),
            vec![InstalmentPaid {
                on: d("2026-12-20"),
                fen: 200
            }]
        );
        assert!(take(&mut credits, 1_000).is_empty());
    }

    #[test]
    fn an_overdue_instalment_defaults_only_after_the_grace_days() {
        let b = |seq, due: &str, status| bill::Model {
            id: seq,
            community_id: 1,
            unit_id: 1,
            fee_item_id: 1,
            period: "2026-11".into(),
            period_start: d("2026-11-01"),
            period_end: d("2026-11-30"),
            due_date: d(due),
            principal_fen: 100,
            paid_principal_fen: 0,
            late_fee_paid_fen: 0,
            late_fee_waived_fen: 0,
            status,
            paid_at: None,
            created_at: Utc::now(),
            limitation_from: None,
            issued_on: None,
            nominal_due_date: None,
            installment_plan_id: 1,
            installment_seq: Some(seq),
        };
        let owed = vec![
            b(1, "2026-11-20", BillStatus::Paid),
            b(2, "2026-12-20", BillStatus::Unpaid),
        ];
        // 15 days late is still in grace; the 16th day is "more than 15".
        assert!(overdue(&owed, d("2027-01-04"), 15).is_none());
        assert_eq!(overdue(&owed, d("2027-01-05"), 15).map(|b| b.id), Some(2));
    }
}
