//! The ledger: the only code that writes bills and their entries (`tests::only_the_ledger_writes_bills`
//! keeps it so). Billing runs, payments, refunds, staff corrections, reminders and the demo all call
//! it; auto-debit, points toward fees, installments and hardship reductions will too.
//!
//! A `Ledger` owns the write transaction. Each money movement is one entry beside the bill's new
//! totals, and after the commit the ledger bumps the cache versions of exactly what it touched —
//! the units a payment, refund or correction changed, the communities a billing run filled — once.
use crate::domain::late_fee::LateFeeSchedule;
use crate::domain::money::Fen;
use crate::domain::period::Period;
use crate::domain::states::{BillStatus, EntryKind};
use crate::error::{ApiError, ApiResult, FieldErrors};
use crate::services::billing::bills::{amounts, schedules};
use crate::services::billing::rollup;
use crate::services::cache;
use crate::state::AppState;
use chrono::{DateTime, NaiveDate, Utc};
use entity::{bill, bill_entry, payment_line};
use sea_orm::sea_query::{Expr, ExprTrait, OnConflict};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, DatabaseTransaction, EntityTrait, QueryFilter, QuerySelect, Set,
};
use std::collections::BTreeSet;

/// A bill as the ledger issues it: unpaid, nothing yet paid or waived. Every new bill (a billing
/// run's, a prepayment's, the demo's history) is this one shape.
pub struct NewBill {
    pub community_id: i32,
    pub unit_id: i32,
    pub fee_item_id: i32,
    pub period: Period,
    pub due_date: NaiveDate,
    /// The fee item's own due date, when notice moved `due_date` later.
    pub nominal_due_date: Option<NaiveDate>,
    pub issued_on: Option<NaiveDate>,
    pub principal_fen: i64,
    pub created_at: DateTime<Utc>,
}

impl NewBill {
    fn row(self) -> bill::ActiveModel {
        bill::ActiveModel {
            community_id: Set(self.community_id),
            unit_id: Set(self.unit_id),
            fee_item_id: Set(self.fee_item_id),
            period: Set(self.period.to_string()),
            period_start: Set(self.period.start()),
            period_end: Set(self.period.end()),
            due_date: Set(self.due_date),
            nominal_due_date: Set(self.nominal_due_date),
            issued_on: Set(self.issued_on),
            principal_fen: Set(self.principal_fen),
            paid_principal_fen: Set(0),
            late_fee_paid_fen: Set(0),
            late_fee_waived_fen: Set(0),
            status: Set(BillStatus::Unpaid),
            paid_at: Set(None),
            created_at: Set(self.created_at),
            ..Default::default()
        }
    }
}

/// Money paid toward one bill, as the ledger records it.
pub struct Payment<'a> {
    /// Principal this payment settles, any prepayment discount included.
    pub principal_fen: i64,
    pub late_fee_fen: i64,
    /// The part of `principal_fen` a prepayment discount covers (its own entry).
    pub discount_fen: i64,
    /// The community's local date of the payment, and its instant.
    pub on: NaiveDate,
    pub at: DateTime<Utc>,
    /// What the entry says, e.g. `微信支付缴费`.
    pub reason: String,
    pub actor: &'a str,
    pub reference: Option<String>,
}

/// The facts of a refund entry: the community's date and the instant, why, who, and what it refers to.
pub struct Refunding<'a> {
    pub on: NaiveDate,
    pub at: DateTime<Utc>,
    pub reason: &'a str,
    pub actor: &'a str,
    pub reference: String,
}

/// A staff correction of one open bill.
#[derive(Debug, Clone, Copy)]
pub enum Correction {
    /// Waive this much of the outstanding late fee (all of it when absent).
    WaiveLateFee(Option<i64>),
    /// Set the principal to this (never below what was already paid).
    Adjust(i64),
    /// Cancel a bill nothing has been paid on.
    Cancel,
}

/// Who corrects, why and when.
pub struct By<'a> {
    pub actor: &'a str,
    pub reason: &'a str,
    pub at: DateTime<Utc>,
}

/// One movement of a bill's amounts, as its ledger entry records it.
struct Entry<'a> {
    kind: EntryKind,
    principal_fen: i64,
    late_fee_fen: i64,
    /// The community's local date, and the instant.
    on: NaiveDate,
    at: DateTime<Utc>,
    reason: &'a str,
    actor: &'a str,
    reference: Option<String>,
    /// When the entry moves principal for late-fee purposes on another day than `on`.
    effective_on: Option<NaiveDate>,
}

/// An installment plan's instalment, as the ledger issues it: an ordinary new bill that names
/// its plan and place (and so accrues no late fee of its own).
pub struct NewInstalment {
    pub bill: NewBill,
    pub plan_id: i32,
    pub seq: i32,
}

/// How much of a bill's principal a reschedule moves out.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Moving {
    /// What is still owed (a covered bill going into a plan).
    Outstanding,
    /// All of it, paid or not (a defaulted plan's instalment: its payments go back to the covered
    /// bills, the rest is owed there again).
    Whole,
}

/// One credit to a reopened bill: what a defaulted plan's instalments paid, and the day.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct InstalmentPaid {
    pub on: NaiveDate,
    pub fen: i64,
}

/// A write transaction over bills, and what it touched.
pub struct Ledger {
    txn: DatabaseTransaction,
    touched: cache::Touched,
    rollup: rollup::Tracker,
}

impl Ledger {
    /// Begins a write transaction (see `db::begin_write` for SQLite's lock order).
    pub async fn begin(state: &AppState) -> ApiResult<Self> {
        Ok(Ledger {
            txn: crate::db::begin_write(&state.db).await?,
            touched: cache::Touched::default(),
            rollup: rollup::Tracker::default(),
        })
    }

    /// The transaction, for the caller's own rows (payments, evidence, audit) beside the ledger's.
    pub fn txn(&self) -> &DatabaseTransaction {
        &self.txn
    }

    /// Brings the collection rollup up to date with what this transaction wrote, commits, then marks
    /// stale exactly the cached answers over what changed.
    pub async fn commit(mut self, state: &AppState) -> ApiResult<()> {
        self.rollup.flush(&self.txn).await?;
        self.txn.commit().await?;
        self.touched.bump(state).await
    }

    /// Locks a bill for a change, after its unit (the order every ledger write takes them in).
    pub async fn lock_bill(&mut self, id: i32) -> ApiResult<Option<bill::Model>> {
        let Some(b) = bill::Entity::find_by_id(id).one(&self.txn).await? else {
            return Ok(None);
        };
        self.rollup.note(&self.txn, [(b.unit_id, b.due_date)]).await?;
        Ok(bill::Entity::find_by_id(id).lock_exclusive().one(&self.txn).await?)
    }

    /// Appends one entry to a bill's ledger (and tells the rollup tracker).
    async fn record(&mut self, b: &bill::Model, e: Entry<'_>) -> ApiResult<bill_entry::Model> {
        self.rollup.moved(
            b,
            crate::domain::reports::Move {
                kind: e.kind,
                principal_fen: e.principal_fen,
                late_fee_fen: e.late_fee_fen,
                on: e.on,
            },
        );
        Ok(bill_entry::ActiveModel {
            bill_id: Set(b.id),
            kind: Set(e.kind),
            principal_fen: Set(e.principal_fen),
            late_fee_fen: Set(e.late_fee_fen),
            on_date: Set(e.on),
            reason: Set(e.reason.to_string()),
            actor: Set(e.actor.to_string()),
            reference: Set(e.reference),
            created_at: Set(e.at),
            effective_on: Set(e.effective_on),
            ..Default::default()
        }
        .insert(&self.txn)
        .await?)
    }

    /// Issues a batch of new bills; one whose unit × fee item × period exists (a concurrent run's)
    /// is skipped. How many were created. Community-wide: every owner's answer there is stale.
    pub async fn issue(&mut self, bills: Vec<NewBill>) -> ApiResult<u64> {
        let communities: BTreeSet<i32> = bills.iter().map(|b| b.community_id).collect();
        if bills.is_empty() {
            return Ok(0);
        }
        self.rollup
            .note(&self.txn, bills.iter().map(|b| (b.unit_id, b.due_date)))
            .await?;
        self.rollup.reread(bills.iter().map(|b| (b.unit_id, b.due_date)));
        let created = bill::Entity::insert_many(bills.into_iter().map(NewBill::row))
            .on_conflict(
                OnConflict::columns([
                    bill::Column::UnitId,
                    bill::Column::FeeItemId,
                    bill::Column::Period,
                    bill::Column::InstallmentPlanId,
                ])
                .do_nothing()
                .to_owned(),
            )
            .exec_without_returning(&self.txn)
            .await?;
        if created > 0 {
            for c in communities {
                self.touched.community(c);
            }
        }
        Ok(created)
    }

    /// Issues one new bill (a prepayment's, the demo's).
    pub async fn issue_one(&mut self, b: NewBill) -> ApiResult<bill::Model> {
        self.rollup.note(&self.txn, [(b.unit_id, b.due_date)]).await?;
        let b = b.row().insert(&self.txn).await?;
        self.rollup.issued(&b);
        self.touched.unit(b.unit_id);
        Ok(b)
    }

    /// Credits a payment to a bill in one statement, which also locks the row; the bill as
    /// credited, or None when it is no longer open (paid meanwhile, cancelled: the caller refunds).
    /// Right-hand sides see the row as it was (standard SQL), so "settles" is judged once.
    pub async fn credit(&mut self, bill_id: i32, p: &Payment<'_>) -> ApiResult<Option<bill::Model>> {
        let Some(found) = bill::Entity::find_by_id(bill_id).one(&self.txn).await? else {
            return Ok(None);
        };
        self.rollup.note(&self.txn, [(found.unit_id, found.due_date)]).await?;
        let principal = p.principal_fen;
        let settles = || {
            Expr::col(bill::Column::PaidPrincipalFen)
                .add(principal)
                .gte(Expr::col(bill::Column::PrincipalFen))
        };
        let credited = bill::Entity::update_many()
            .col_expr(
                bill::Column::PaidPrincipalFen,
                Expr::case(settles(), Expr::col(bill::Column::PrincipalFen))
                    .finally(Expr::col(bill::Column::PaidPrincipalFen).add(principal))
                    .into(),
            )
            .col_expr(
                bill::Column::LateFeePaidFen,
                Expr::col(bill::Column::LateFeePaidFen).add(p.late_fee_fen),
            )
            .col_expr(
                bill::Column::Status,
                Expr::case(settles(), "paid")
                    .finally(Expr::col(bill::Column::Status))
                    .into(),
            )
            .col_expr(
                bill::Column::PaidAt,
                Expr::case(settles(), p.at)
                    .finally(Expr::col(bill::Column::PaidAt))
                    .into(),
            )
            .filter(bill::Column::Id.eq(bill_id))
            .filter(bill::Column::Status.eq(BillStatus::Unpaid))
            .exec_with_returning(&self.txn)
            .await?
            .into_iter()
            .next();
        let Some(b) = credited else {
            return Ok(None);
        };
        let entry = |kind, principal_fen, late_fee_fen, reason| Entry {
            kind,
            principal_fen,
            late_fee_fen,
            on: p.on,
            at: p.at,
            reason,
            actor: p.actor,
            reference: p.reference.clone(),
            effective_on: None,
        };
        if p.discount_fen > 0 {
            self.record(&b, entry(EntryKind::PrepayDiscount, p.discount_fen, 0, "预缴折扣"))
                .await?;
        }
        let paid = p.principal_fen - p.discount_fen;
        self.record(&b, entry(EntryKind::Payment, paid, p.late_fee_fen, &p.reason))
            .await?;
        self.touched.unit(b.unit_id);
        Ok(Some(b))
    }

    /// Gives back up to `take` fen of what a bill was paid, principal first, and reopens it: a
    /// refund. What was given back (0 when the bill is gone or nothing was paid).
    #[allow(clippy::too_many_arguments)] // one refund entry's facts
    pub async fn refund(
        &mut self,
        bill_id: i32,
        take: i64,
        on: NaiveDate,
        at: DateTime<Utc>,
        reason: &str,
        actor: &str,
        reference: String,
    ) -> ApiResult<i64> {
        let Some(b) = self.lock_bill(bill_id).await? else {
            return Ok(0);
        };
        // What was paid before a plan stays out of it: giving it back would reopen a bill whose
        // remainder the instalments already bill.
        if b.status == BillStatus::Rescheduled {
            return Err(in_plan());
        }
        let principal_back = std::cmp::min(take, b.paid_principal_fen);
        let late_back = std::cmp::min(take - principal_back, b.late_fee_paid_fen);
        let back = Entry {
            kind: EntryKind::Refund,
            principal_fen: -principal_back,
            late_fee_fen: -late_back,
            on,
            at,
            reason,
            actor,
            reference: Some(reference),
            effective_on: None,
        };
        self.record(&b, back).await?;
        let mut bm: bill::ActiveModel = b.clone().into();
        bm.paid_principal_fen = Set(b.paid_principal_fen - principal_back);
        bm.late_fee_paid_fen = Set(b.late_fee_paid_fen - late_back);
        if principal_back + late_back > 0 {
            bm.status = Set(BillStatus::Unpaid);
            bm.paid_at = Set(None);
        }
        bm.update(&self.txn).await?;
        self.touched.unit(b.unit_id);
        Ok(principal_back + late_back)
    }

    /// Refunds up to `amount` fen across an order's `lines` in the order given (callers give the
    /// latest first), each line no more than it still credits, lowering what each credits. What was
    /// given back.
    pub async fn refund_lines(
        &mut self,
        lines: &[payment_line::Model],
        amount: i64,
        r: &Refunding<'_>,
    ) -> ApiResult<i64> {
        let mut left = amount;
        for l in lines {
            let credited = l.credited_fen.unwrap_or(0);
            let Some(bill_id) = l.bill_id.filter(|_| left > 0 && credited > 0) else {
                continue;
            };
            let back = self
                .refund(
                    bill_id,
                    std::cmp::min(left, credited),
                    r.on,
                    r.at,
                    r.reason,
                    r.actor,
                    r.reference.clone(),
                )
                .await?;
            left -= back;
            payment_line::Entity::update_many()
                .col_expr(payment_line::Column::CreditedFen, Expr::value(credited - back))
                .filter(payment_line::Column::Id.eq(l.id))
                .exec(&self.txn)
                .await?;
        }
        Ok(amount - left)
    }

    /// Applies a staff correction to a bill the caller locked (`lock_bill`): checks it against the bill's amounts
    /// today, records the entry, and settles the bill when nothing is left to pay.
    pub async fn correct(&mut self, b: &bill::Model, c: Correction, by: By<'_>) -> ApiResult<bill_entry::Model> {
        if b.status != BillStatus::Unpaid {
            return Err(ApiError::Conflict(
                "BILL_NOT_OPEN",
                "该账单不是待缴状态，不能修改".into(),
            ));
        }
        let (policy, tz) = schedules(&self.txn, [b.community_id])
            .await?
            .remove(&b.community_id)
            .ok_or(ApiError::NotFound)?;
        let today = by.at.with_timezone(&tz).date_naive();
        let entries = bill_entry::Entity::find()
            .filter(bill_entry::Column::BillId.eq(b.id))
            .all(&self.txn)
            .await?;
        let a = amounts(b, &entries.iter().collect::<Vec<_>>(), &policy, today);
        let mut am: bill::ActiveModel = b.clone().into();
        let (kind, principal_fen, late_fee_fen) = match c {
            Correction::WaiveLateFee(amount) => {
                let waive = amount.unwrap_or(a.outstanding_late_fee);
                if waive <= 0 || waive > a.outstanding_late_fee {
                    return Err(ApiError::field(
                        "amount",
                        format!(
                            "减免金额应大于0且不超过未缴滞纳金{}",
                            Fen(a.outstanding_late_fee).to_yuan_string()
                        ),
                    ));
                }
                am.late_fee_waived_fen = Set(b.late_fee_waived_fen + waive);
                (EntryKind::LateFeeWaiver, 0, waive)
            }
            Correction::Adjust(new) => {
                if new <= 0 || new < b.paid_principal_fen {
                    let mut f = FieldErrors::new();
                    f.insert("principal".into(), "调整后本金应大于0且不低于已缴本金".into());
                    return Err(ApiError::Validation(f));
                }
                am.principal_fen = Set(new);
                (EntryKind::Adjustment, b.principal_fen - new, 0)
            }
            Correction::Cancel => {
                if b.paid_principal_fen > 0 || b.late_fee_paid_fen > 0 {
                    return Err(ApiError::Conflict(
                        "BILL_HAS_PAYMENTS",
                        "已有缴费的账单不能取消，请办理退款".into(),
                    ));
                }
                am.status = Set(BillStatus::Cancelled);
                (EntryKind::Cancel, 0, 0)
            }
        };
        let correction = Entry {
            kind,
            principal_fen,
            late_fee_fen,
            on: today,
            at: by.at,
            reason: by.reason,
            actor: by.actor,
            reference: None,
            effective_on: None,
        };
        let e = self.record(b, correction).await?;
        if let Correction::Adjust(new) = c {
            self.rollup.principal(b, new);
        }
        let updated = am.clone().update(&self.txn).await?;
        // Settle: nothing left to pay means paid.
        if updated.status == BillStatus::Unpaid {
            let all: Vec<_> = entries.iter().chain(std::iter::once(&e)).collect();
            if amounts(&updated, &all, &policy, today).due() == 0 {
                am.status = Set(BillStatus::Paid);
                am.paid_at = Set(Some(by.at));
                am.update(&self.txn).await?;
            }
        }
        self.touched.unit(b.unit_id);
        Ok(e)
    }

    /// A bill's late-fee terms, its community's date at `at`, and its entries so far.
    async fn terms_of(
        &self,
        b: &bill::Model,
        at: DateTime<Utc>,
    ) -> ApiResult<(LateFeeSchedule, NaiveDate, Vec<bill_entry::Model>)> {
        let (policy, tz) = schedules(&self.txn, [b.community_id])
            .await?
            .remove(&b.community_id)
            .ok_or(ApiError::NotFound)?;
        let entries = bill_entry::Entity::find()
            .filter(bill_entry::Column::BillId.eq(b.id))
            .all(&self.txn)
            .await?;
        Ok((policy, at.with_timezone(&tz).date_naive(), entries))
    }

    /// Issues one instalment bill of an accepted plan.
    pub async fn issue_instalment(&mut self, i: NewInstalment) -> ApiResult<bill::Model> {
        self.rollup.note(&self.txn, [(i.bill.unit_id, i.bill.due_date)]).await?;
        let mut row = i.bill.row();
        row.installment_plan_id = Set(i.plan_id);
        row.installment_seq = Set(Some(i.seq));
        let b = row.insert(&self.txn).await?;
        self.rollup.issued(&b);
        self.touched.unit(b.unit_id);
        Ok(b)
    }

    /// Moves principal out of a bill the caller locked into other bills and marks it
    /// `rescheduled`: a covered bill going into an accepted plan (its late fee stops growing from
    /// `on`, the day of acceptance), or a defaulted plan's instalment (its payments go back to the
    /// covered bills). The principal moved and the late fee frozen on the bill.
    pub async fn reschedule(&mut self, b: &bill::Model, moving: Moving, by: By<'_>) -> ApiResult<(i64, i64)> {
        if b.status == BillStatus::Cancelled || b.status == BillStatus::Rescheduled {
            return Err(ApiError::Conflict(
                "BILL_NOT_OPEN",
                "该账单不是待缴状态，不能修改".into(),
            ));
        }
        let (policy, on, entries) = self.terms_of(b, by.at).await?;
        // The late fee as it stood at the end of the day before: from `on` it no longer grows.
        let eve = on.pred_opt().unwrap_or(on);
        let a = amounts(b, &entries.iter().collect::<Vec<_>>(), &policy, eve);
        let moved = match moving {
            Moving::Outstanding => a.outstanding_principal,
            Moving::Whole => b.principal_fen,
        };
        let frozen = a.outstanding_late_fee;
        let entry = Entry {
            kind: EntryKind::Reschedule,
            principal_fen: moved,
            late_fee_fen: frozen,
            on,
            at: by.at,
            reason: by.reason,
            actor: by.actor,
            reference: None,
            effective_on: None,
        };
        self.record(b, entry).await?;
        let mut am: bill::ActiveModel = b.clone().into();
        am.status = Set(BillStatus::Rescheduled);
        am.update(&self.txn).await?;
        self.touched.unit(b.unit_id);
        Ok((moved, frozen))
    }

    /// Reopens a rescheduled bill the caller locked (its plan defaulted): the principal that
    /// moved out comes back, what the plan's instalments paid is credited from the days they
    /// were paid (so the late fee is what it would have been without the plan), and the bill is
    /// unpaid again — or paid, when the credits cover it all. What was credited.
    pub async fn reopen(&mut self, b: &bill::Model, credits: &[InstalmentPaid], by: By<'_>) -> ApiResult<i64> {
        if b.status != BillStatus::Rescheduled {
            return Err(ApiError::Conflict("BILL_NOT_RESCHEDULED", "该账单不在分期中".into()));
        }
        let (policy, on, entries) = self.terms_of(b, by.at).await?;
        let moved: i64 = entries
            .iter()
            .filter(|e| e.kind == EntryKind::Reschedule)
            .map(|e| e.principal_fen)
            .sum();
        let mut written = Vec::new();
        written.push(
            self.record(
                b,
                Entry {
                    kind: EntryKind::Reschedule,
                    principal_fen: -moved,
                    late_fee_fen: 0,
                    on,
                    at: by.at,
                    reason: by.reason,
                    actor: by.actor,
                    reference: None,
                    effective_on: None,
                },
            )
            .await?,
        );
        let mut left = std::cmp::max(b.principal_fen - b.paid_principal_fen, 0);
        let mut credited = 0;
        for c in credits {
            let fen = std::cmp::min(c.fen, left);
            if fen <= 0 {
                continue;
            }
            left -= fen;
            credited += fen;
            let reason = format!("分期协议终止：{}已缴分期款抵扣本金", c.on);
            written.push(
                self.record(
                    b,
                    Entry {
                        kind: EntryKind::InstalmentCredit,
                        principal_fen: fen,
                        late_fee_fen: 0,
                        on,
                        at: by.at,
                        reason: &reason,
                        actor: by.actor,
                        reference: None,
                        effective_on: Some(c.on),
                    },
                )
                .await?,
            );
        }
        let mut am: bill::ActiveModel = b.clone().into();
        am.paid_principal_fen = Set(b.paid_principal_fen + credited);
        am.status = Set(BillStatus::Unpaid);
        let reopened = am.clone().update(&self.txn).await?;
        let all: Vec<_> = entries.iter().chain(written.iter()).collect();
        if amounts(&reopened, &all, &policy, on).due() == 0 {
            am.status = Set(BillStatus::Paid);
            am.paid_at = Set(Some(by.at));
            am.update(&self.txn).await?;
        }
        self.touched.unit(b.unit_id);
        Ok(credited)
    }

    /// Moves the due date of an open bill the caller locked to `to` (a hardship deferral): late
    /// fees, reminders, aging and grades follow the new date; limitation does not — it keeps
    /// running from the old due date (or the day it last restarted) unless the owner
    /// acknowledges the debt. The bill moves to the report month of its new due date.
    pub async fn defer(&mut self, b: &bill::Model, to: NaiveDate, by: By<'_>) -> ApiResult<()> {
        if b.status != BillStatus::Unpaid {
            return Err(ApiError::Conflict(
                "BILL_NOT_OPEN",
                "该账单不是待缴状态，不能修改".into(),
            ));
        }
        let (_, on, _) = self.terms_of(b, by.at).await?;
        self.rollup
            .note(&self.txn, [(b.unit_id, b.due_date), (b.unit_id, to)])
            .await?;
        let reason = format!("{}：到期日由{}延至{to}", by.reason, b.due_date);
        let entry = Entry {
            kind: EntryKind::Deferral,
            principal_fen: 0,
            late_fee_fen: 0,
            on,
            at: by.at,
            reason: &reason,
            actor: by.actor,
            reference: None,
            effective_on: None,
        };
        self.record(b, entry).await?;
        let mut am: bill::ActiveModel = b.clone().into();
        am.due_date = Set(to);
        am.limitation_from = Set(Some(b.limitation_from.unwrap_or(b.due_date)));
        am.update(&self.txn).await?;
        self.rollup.reread([(b.unit_id, b.due_date), (b.unit_id, to)]);
        self.touched.unit(b.unit_id);
        Ok(())
    }

    /// Waives the late fee frozen on a rescheduled bill the caller locked (its plan was kept to
    /// the end). The entry is written even when nothing was frozen: the bill's own history then
    /// says its plan was kept. What was waived.
    pub async fn waive_frozen(&mut self, b: &bill::Model, by: By<'_>) -> ApiResult<i64> {
        if b.status != BillStatus::Rescheduled {
            return Err(ApiError::Conflict("BILL_NOT_RESCHEDULED", "该账单不在分期中".into()));
        }
        let (policy, on, entries) = self.terms_of(b, by.at).await?;
        let a = amounts(b, &entries.iter().collect::<Vec<_>>(), &policy, on);
        let waive = std::cmp::max(a.charged_late_fee - b.late_fee_paid_fen, 0);
        let entry = Entry {
            kind: EntryKind::LateFeeWaiver,
            principal_fen: 0,
            late_fee_fen: waive,
            on,
            at: by.at,
            reason: by.reason,
            actor: by.actor,
            reference: None,
            effective_on: None,
        };
        self.record(b, entry).await?;
        let mut am: bill::ActiveModel = b.clone().into();
        am.late_fee_waived_fen = Set(b.late_fee_waived_fen + waive);
        am.update(&self.txn).await?;
        self.touched.unit(b.unit_id);
        Ok(waive)
    }
}

fn in_plan() -> ApiError {
    ApiError::Conflict(
        "BILL_IN_PLAN",
        "该账单属于分期协议，只能按分期协议办理（如需调整，请先终止分期）".into(),
    )
}

/// Staff corrections and refunds leave a plan's bills alone: an instalment, or a bill that went
/// into a plan, changes only as its plan says (kept, defaulted).
pub fn not_in_a_plan(b: &bill::Model) -> ApiResult<()> {
    if b.installment_plan_id != 0 || b.status == BillStatus::Rescheduled {
        return Err(in_plan());
    }
    Ok(())
}

/// A delivered demand interrupts the limitation period of the bills it names (art. 195). Inside the
/// caller's transaction; no cached answer shows limitation, so nothing to bump.
pub async fn restart_limitation<C: ConnectionTrait>(db: &C, bill_ids: &[i32], on: NaiveDate) -> ApiResult<()> {
    if bill_ids.is_empty() {
        return Ok(());
    }
    bill::Entity::update_many()
        .col_expr(bill::Column::LimitationFrom, Expr::value(on))
        .filter(bill::Column::Id.is_in(bill_ids.to_vec()))
        .exec(db)
        .await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use std::path::{Path, PathBuf};

    /// Ways code writes bill rows or entries; any of them outside this file is a second writer.
    const WRITES: [&str; 4] = [
        r"\bbill(_entry)?::ActiveModel\b",
        r"\bbill(_entry)?::Entity::(insert|insert_many|update|update_many|delete|delete_many|delete_by_id)\b",
        r#"(?i)\b(update|insert\s+into|delete\s+from)\s+"?bill(s|_entries)\b"#,
        r"\b(IntoActiveModel|into_active_model)\b",
    ];

    fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
        for e in std::fs::read_dir(dir).expect("read src").flatten() {
            let p = e.path();
            if p.is_dir() {
                rust_files(&p, out);
            } else if p.extension().is_some_and(|x| x == "rs") {
                out.push(p);
            }
        }
    }

    fn writers(files: &[(String, String)]) -> Vec<String> {
        let res: Vec<regex::Regex> = WRITES.iter().map(|r| regex::Regex::new(r).expect("regex")).collect();
        let mut found = Vec::new();
        for (name, text) in files {
            if name.ends_with("services/billing/ledger.rs") {
                continue;
            }
            for (n, line) in text.lines().enumerate() {
                if res.iter().any(|r| r.is_match(line)) {
                    found.push(format!("{name}:{}: {}", n + 1, line.trim()));
                }
            }
        }
        found
    }

    #[test]
    fn only_the_ledger_writes_bills() {
        let mut paths = Vec::new();
        rust_files(&Path::new(env!("CARGO_MANIFEST_DIR")).join("src"), &mut paths);
        let files: Vec<(String, String)> = paths
            .iter()
            .map(|p| (p.display().to_string(), std::fs::read_to_string(p).expect("read")))
            .collect();
        assert!(files.len() > 50, "the scan must see the whole of src/");
        let found = writers(&files);
        assert!(
            found.is_empty(),
            "bills written outside the ledger:\n{}",
            found.join("\n")
        );
    }

    #[test]
    fn the_scan_sees_each_way_of_writing_a_bill() {
        for bad in [
            "let mut am: bill::ActiveModel = b.into();",
            "bill_entry::ActiveModel { bill_id: Set(1), ..Default::default() }",
            "bill::Entity::update_many()",
            "bill_entry::Entity::insert_many(rows)",
            r#"db.execute_unprepared("UPDATE bills SET status = 'paid'")"#,
            "DELETE FROM bill_entries WHERE id = 1",
            "let am = b.into_active_model();",
        ] {
            let files = vec![("src/services/other.rs".to_string(), bad.to_string())];
            assert_eq!(writers(&files).len(), 1, "not caught: {bad}");
        }
        let reads = vec![(
            "src/services/other.rs".to_string(),
            "bill::Entity::find().filter(bill::Column::Status.eq(\"unpaid\"))".to_string(),
        )];
        assert!(writers(&reads).is_empty());
    }
}
