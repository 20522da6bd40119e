//! Bills as they read on one day: amounts as of the community's local date (late fees exact and
//! explained), the late-fee schedules they are priced by, and one bill's detail with its entries.

use crate::domain::billing::ownership::Link;
use crate::domain::late_fee::{LateFee, LateFeePolicy, LateFeeSchedule, PrincipalMove};
use crate::domain::states::{BillStatus, EntryKind};
use crate::domain::Fen;
use crate::error::{ApiError, ApiResult};
use crate::state::AppState;
use chrono::NaiveDate;
use entity::{bill, bill_entry, community, fee_item, late_fee_term, unit, unit_owner};
use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder};
use serde::Serialize;
use std::collections::{BTreeSet, HashMap};
use std::sync::{Arc, RwLock};

/// A bill with its amounts as of one day.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct BillView {
    pub id: i32,
    pub unit_id: i32,
    pub unit_code: String,
    pub fee_item_id: i32,
    /// The fee item's name, e.g. 物业服务费.
    pub fee_item: String,
    pub period: String,
    pub due_date: NaiveDate,
    /// The fee item's own due date, present only when the bill was issued too late for it and
    /// `billing.min_notice_days` moved `due_date` later.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub nominal_due_date: Option<NaiveDate>,
    /// The day the bill was issued (absent for bills issued before this was recorded).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub issued_on: Option<NaiveDate>,
    pub principal: String,
    /// Principal and late fee paid so far.
    pub paid: String,
    /// Late fee charged: accrued, less what was waived.
    pub late_fee: String,
    pub late_fee_waived: String,
    /// Outstanding principal plus outstanding late fee.
    pub amount_due: String,
    /// `unpaid`, `paid`, `cancelled` or `rescheduled` (moved into an installment plan's instalment
    /// bills; for an instalment, moved back when its plan defaulted).
    pub status: String,
    pub days_overdue: i64,
    pub late_fee_explanation: String,
}

/// One step of how `amount_due` is made up.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct BillLine {
    /// `principal`, `late_fee`, `late_fee_waived`, `paid`.
    pub kind: String,
    pub amount: String,
}

/// One ledger entry (payment, refund, waiver, adjustment, cancellation).
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct EntryView {
    pub kind: String,
    pub principal: String,
    pub late_fee: String,
    pub on_date: NaiveDate,
    pub reason: String,
    pub reference: Option<String>,
    pub created_at: chrono::DateTime<chrono::Utc>,
}

/// `GET /me/bills/{id}`.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct BillDetail {
    #[serde(flatten)]
    pub bill: BillView,
    pub lines: Vec<BillLine>,
    pub payments: Vec<EntryView>,
    pub entries: Vec<EntryView>,
}

/// Amounts of one bill on one day.
#[derive(Debug, Clone)]
pub struct Amounts {
    pub late: LateFee,
    pub outstanding_principal: i64,
    pub outstanding_late_fee: i64,
    pub charged_late_fee: i64,
}

impl Amounts {
    pub fn due(&self) -> i64 {
        self.outstanding_principal + self.outstanding_late_fee
    }
}

/// Ledger kinds that move outstanding principal over time (adjustments correct the principal
/// itself, from the start; a reschedule stops the late fee by freezing it, not by moving principal),
/// each on the day it moved it.
fn principal_moves(entries: &[&bill_entry::Model]) -> Vec<PrincipalMove> {
    entries
        .iter()
        .filter(|e| {
            matches!(
                e.kind,
                EntryKind::Payment | EntryKind::Refund | EntryKind::InstalmentCredit
            ) && e.principal_fen != 0
        })
        .map(|e| PrincipalMove {
            on: e.effective_on.unwrap_or(e.on_date),
            paid_fen: e.principal_fen,
        })
        .collect()
}

/// The day a rescheduled bill went into its plan: its late fee stopped growing then.
fn rescheduled_on(entries: &[&bill_entry::Model]) -> Option<NaiveDate> {
    entries
        .iter()
        .filter(|e| e.kind == EntryKind::Reschedule && e.principal_fen > 0)
        .map(|e| e.on_date)
        .max()
}

/// API.md's arithmetic for one bill: outstanding late fee = accrued − paid − waived, never below 0.
/// An instalment bill accrues none (the covered bills' late fee is frozen instead); a rescheduled
/// bill owes nothing now and its late fee is what had accrued by the day before it went into its
/// plan.
pub fn amounts(b: &bill::Model, entries: &[&bill_entry::Model], policy: &LateFeeSchedule, today: NaiveDate) -> Amounts {
    let rescheduled = b.status == BillStatus::Rescheduled;
    let as_of = match rescheduled_on(entries).filter(|_| rescheduled) {
        Some(on) => today.min(on.pred_opt().unwrap_or(on)),
        None => today,
    };
    let accruing = if b.installment_plan_id == 0 { b.principal_fen } else { 0 };
    let late = policy.late_fee(accruing, b.due_date, &principal_moves(entries), as_of);
    if b.status == BillStatus::Cancelled {
        return Amounts {
            late,
            outstanding_principal: 0,
            outstanding_late_fee: 0,
            charged_late_fee: 0,
        };
    }
    // Late fee already paid is never recomputed (terms from today on, say, cannot shrink it): it is
    // the floor of what the bill shows as charged.
    let charged = (late.accrued.0 - b.late_fee_waived_fen).max(0).max(b.late_fee_paid_fen);
    if rescheduled {
        return Amounts {
            outstanding_principal: 0,
            outstanding_late_fee: 0,
            charged_late_fee: charged,
            late,
        };
    }
    Amounts {
        outstanding_principal: (b.principal_fen - b.paid_principal_fen).max(0),
        outstanding_late_fee: (charged - b.late_fee_paid_fen).max(0),
        charged_late_fee: charged,
        late,
    }
}

/// The day a bill stopped being owed (paid, waived, cancelled or rescheduled), in community
/// time; None while unpaid.
pub fn settled_on(b: &bill::Model, entries: &[&bill_entry::Model], tz: chrono_tz::Tz) -> Option<NaiveDate> {
    match b.status {
        BillStatus::Unpaid => None,
        BillStatus::Paid => b
            .paid_at
            .map(|t| t.with_timezone(&tz).date_naive())
            .or_else(|| entries.iter().map(|e| e.on_date).max()),
        BillStatus::Cancelled => entries.iter().map(|e| e.on_date).max(),
        BillStatus::Rescheduled => rescheduled_on(entries).or_else(|| entries.iter().map(|e| e.on_date).max()),
    }
}

/// `days_overdue` (API.md): calendar days past the due date, counted up to the day the bill was
/// settled if it was.
pub fn days_overdue(due: NaiveDate, settled: Option<NaiveDate>, today: NaiveDate) -> i64 {
    (settled.map_or(today, |s| s.min(today)) - due).num_days().max(0)
}

/// What a bill that went into an installment plan says of its late fee: frozen while the plan
/// runs, waived once it was kept (the ledger's waiver entry after the reschedule says so).
fn rescheduled_explanation(b: &bill::Model, entries: &[&bill_entry::Model], a: &Amounts, grace: i64) -> String {
    let on = rescheduled_on(entries).map(|d| d.to_string()).unwrap_or_default();
    // Kept: a waiver after the reschedule into the plan now running (an earlier plan's history,
    // and waivers before it, say nothing of this one).
    let last = entries
        .iter()
        .rposition(|e| e.kind == EntryKind::Reschedule && e.principal_fen > 0)
        .unwrap_or(entries.len());
    let kept = entries[last..].iter().any(|e| e.kind == EntryKind::LateFeeWaiver);
    let frozen = a.charged_late_fee - b.late_fee_paid_fen;
    match (kept, frozen > 0) {
        (true, _) if b.late_fee_waived_fen > 0 => format!(
            "未缴本金已于{on}转入分期协议；分期已按期缴清，滞纳金{}元已免除",
            Fen(b.late_fee_waived_fen).to_yuan_string()
        ),
        (true, _) => format!("未缴本金已于{on}转入分期协议；分期已按期缴清"),
        (false, true) => format!(
            "未缴本金已于{on}转入分期协议，按分期账单缴纳；滞纳金{}元自{on}起冻结，全部分期按期缴清后免除；任一期逾期超过{grace}日未缴的，本账单恢复，滞纳金按原规则计算",
            Fen(frozen).to_yuan_string()
        ),
        (false, false) => format!(
            "未缴本金已于{on}转入分期协议，按分期账单缴纳，分期期间不计滞纳金；任一期逾期超过{grace}日未缴的，本账单恢复，滞纳金按原规则计算"
        ),
    }
}

/// What a `Lookup` is assembled from when it was read in one statement with the bills.
#[derive(Default)]
pub(super) struct Parts {
    /// Unit codes.
    pub units: HashMap<i32, String>,
    /// Fee item names.
    pub items: HashMap<i32, String>,
    pub entries: HashMap<i32, Vec<bill_entry::Model>>,
    /// Each community with the fingerprint of its dated terms.
    pub communities: HashMap<i32, (community::Model, TermsSeen)>,
}

/// Everything needed to present bills of some communities.
pub(super) struct Lookup {
    policies: HashMap<i32, (LateFeeSchedule, chrono_tz::Tz)>,
    /// Unit codes.
    units: HashMap<i32, String>,
    items: HashMap<i32, String>,
    entries: HashMap<i32, Vec<bill_entry::Model>>,
}

impl Lookup {
    pub(super) async fn load(state: &AppState, bills: &[bill::Model]) -> ApiResult<Lookup> {
        let cids: BTreeSet<i32> = bills.iter().map(|b| b.community_id).collect();
        let uids: BTreeSet<i32> = bills.iter().map(|b| b.unit_id).collect();
        let fids: BTreeSet<i32> = bills.iter().map(|b| b.fee_item_id).collect();
        let bids: Vec<i32> = bills.iter().map(|b| b.id).collect();
        let policies = schedules(&state.db, cids).await?;
        let units = in_chunks(&uids.into_iter().collect::<Vec<_>>(), |chunk| {
            unit::Entity::find()
                .filter(unit::Column::Id.is_in(chunk))
                .all(&state.db)
        })
        .await?
        .into_iter()
        .map(|u| (u.id, u.code))
        .collect();
        let items = fee_item::Entity::find()
            .filter(fee_item::Column::Id.is_in(fids))
            .all(&state.db)
            .await?
            .into_iter()
            .map(|f| (f.id, f.name))
            .collect();
        let mut entries: HashMap<i32, Vec<bill_entry::Model>> = HashMap::new();
        for e in in_chunks(&bids, |chunk| {
            bill_entry::Entity::find()
                .filter(bill_entry::Column::BillId.is_in(chunk))
                .order_by_asc(bill_entry::Column::Id)
                .all(&state.db)
        })
        .await?
        {
            entries.entry(e.bill_id).or_default().push(e);
        }
        Ok(Lookup {
            policies,
            units,
            items,
            entries,
        })
    }

    /// A lookup from parts read together with the bills (`owner::visible_bills`); dated terms
    /// come from `TermsMemo` while their fingerprint matches.
    pub(super) async fn assemble(state: &AppState, mut parts: Parts) -> ApiResult<Lookup> {
        let mut policies = HashMap::new();
        for (id, (c, seen)) in &parts.communities {
            let terms = state.dated_terms.get(&state.db, *id, *seen).await?;
            policies.insert(*id, community_schedule(c, &terms)?);
        }
        for list in parts.entries.values_mut() {
            list.sort_by_key(|e| e.id);
        }
        Ok(Lookup {
            policies,
            units: parts.units,
            items: parts.items,
            entries: parts.entries,
        })
    }

    pub(super) fn today(&self, state: &AppState, community_id: i32) -> NaiveDate {
        let tz = self.policies.get(&community_id).map(|(_, tz)| *tz).unwrap_or(state.tz);
        state.today_in(tz)
    }

    pub(super) fn view(&self, state: &AppState, b: &bill::Model) -> ApiResult<(BillView, Amounts)> {
        let (policy, tz) = self.policies.get(&b.community_id).ok_or(ApiError::NotFound)?;
        let today = state.today_in(*tz);
        let entries: Vec<&bill_entry::Model> = self.entries.get(&b.id).map(|v| v.iter().collect()).unwrap_or_default();
        let a = amounts(b, &entries, policy, today);
        let grace = state.settings.installments.default_after_days;
        let explanation = match (b.status, b.installment_seq) {
            (BillStatus::Cancelled, _) => "账单已取消，无需缴纳".to_string(),
            (BillStatus::Rescheduled, Some(_)) => "分期协议已终止，本期已缴款项已转回原账单抵扣本金".to_string(),
            (BillStatus::Rescheduled, None) => rescheduled_explanation(b, &entries, &a, grace),
            (_, Some(seq)) => format!(
                "分期协议第{seq}期，不计滞纳金；逾期超过{grace}日未缴的，分期协议终止，原账单恢复并按原规则计算滞纳金"
            ),
            (BillStatus::Unpaid | BillStatus::Paid, None) => policy.explain(&a.late, b.due_date, today),
        };
        let fee_item = self.items.get(&b.fee_item_id).cloned().unwrap_or_default();
        let fee_item = match b.installment_seq {
            Some(seq) => format!("{fee_item}·分期第{seq}期"),
            None => fee_item,
        };
        let settled = settled_on(b, &entries, *tz);
        let view = BillView {
            id: b.id,
            unit_id: b.unit_id,
            unit_code: self.units.get(&b.unit_id).cloned().unwrap_or_default(),
            fee_item_id: b.fee_item_id,
            fee_item,
            period: b.period.clone(),
            due_date: b.due_date,
            nominal_due_date: b.nominal_due_date,
            issued_on: b.issued_on,
            principal: Fen(b.principal_fen).to_yuan_string(),
            paid: Fen(b.paid_principal_fen + b.late_fee_paid_fen).to_yuan_string(),
            late_fee: Fen(a.charged_late_fee).to_yuan_string(),
            late_fee_waived: Fen(b.late_fee_waived_fen).to_yuan_string(),
            amount_due: Fen(a.due()).to_yuan_string(),
            status: b.status.to_string(),
            days_overdue: days_overdue(b.due_date, settled, today),
            late_fee_explanation: explanation,
        };
        Ok((view, a))
    }
}

/// Runs a query over ids in chunks (database parameter limits).
pub(crate) async fn in_chunks<T, F, Fut>(ids: &[i32], f: F) -> ApiResult<Vec<T>>
where
    F: Fn(Vec<i32>) -> Fut,
    Fut: std::future::Future<Output = Result<Vec<T>, sea_orm::DbErr>>,
{
    let mut out = Vec::new();
    for chunk in ids.chunks(10_000) {
        out.extend(f(chunk.to_vec()).await?);
    }
    Ok(out)
}

fn parse_terms(community_id: i32, rate: &str, grace: i32, cap: &str) -> ApiResult<LateFeePolicy> {
    LateFeePolicy::parse(rate, i64::from(grace), cap)
        .map_err(|_| ApiError::internal(anyhow::anyhow!("community {community_id} has invalid late-fee terms")))
}

/// A community's late-fee terms over time (its first terms, then each dated change) and time zone.
pub fn community_schedule(
    c: &community::Model,
    changes: &[late_fee_term::Model],
) -> ApiResult<(LateFeeSchedule, chrono_tz::Tz)> {
    let first = parse_terms(
        c.id,
        &c.late_fee_daily_rate,
        c.late_fee_grace_days,
        &c.late_fee_cap_ratio,
    )?;
    let mut schedule = LateFeeSchedule::single(first);
    let mut ordered: Vec<&late_fee_term::Model> = changes.iter().filter(|t| t.community_id == c.id).collect();
    ordered.sort_by_key(|t| (t.effective_from, t.id));
    for t in ordered {
        let terms = parse_terms(c.id, &t.daily_rate, t.grace_days, &t.cap_ratio)?;
        schedule = schedule.with_change(t.effective_from, terms);
    }
    let tz = c.timezone.parse().unwrap_or(chrono_tz::Asia::Shanghai);
    Ok((schedule, tz))
}

/// The late-fee schedules and zones of some communities, in two queries.
pub async fn schedules<C: sea_orm::ConnectionTrait>(
    db: &C,
    community_ids: impl IntoIterator<Item = i32>,
) -> ApiResult<HashMap<i32, (LateFeeSchedule, chrono_tz::Tz)>> {
    let ids: Vec<i32> = community_ids.into_iter().collect();
    let changes = late_fee_term::Entity::find()
        .filter(late_fee_term::Column::CommunityId.is_in(ids.clone()))
        .all(db)
        .await?;
    let mut out = HashMap::new();
    for c in community::Entity::find()
        .filter(community::Column::Id.is_in(ids))
        .all(db)
        .await?
    {
        out.insert(c.id, community_schedule(&c, &changes)?);
    }
    Ok(out)
}

/// The id of a community's newest dated terms. Terms are only ever added (`setup::communities`;
/// `tests::dated_terms_are_only_ever_added`), so it names the set.
pub(super) type TermsSeen = Option<i32>;

/// Each community's dated late-fee terms as last read, with their fingerprint: a look-up that
/// reads the fingerprint in its own statement reuses them while it matches, and reads them
/// afresh when a change was added (by this or any other replica).
#[derive(Default)]
pub struct TermsMemo(RwLock<HashMap<i32, (TermsSeen, DatedTerms)>>);

type DatedTerms = Arc<Vec<late_fee_term::Model>>;

impl TermsMemo {
    async fn get<C: ConnectionTrait>(&self, db: &C, community_id: i32, seen: TermsSeen) -> ApiResult<DatedTerms> {
        if seen.is_none() {
            return Ok(Arc::new(Vec::new()));
        }
        if let Some((s, terms)) = self.0.read().map_err(poisoned)?.get(&community_id) {
            if *s == seen {
                return Ok(terms.clone());
            }
        }
        let terms = Arc::new(
            late_fee_term::Entity::find()
                .filter(late_fee_term::Column::CommunityId.eq(community_id))
                .all(db)
                .await?,
        );
        let fresh = terms.iter().map(|t| t.id).max();
        // Remember only what matches the fingerprint read with the bills: a change that landed in
        // between is picked up by the next look-up.
        if fresh == seen {
            self.0
                .write()
                .map_err(poisoned)?
                .insert(community_id, (seen, terms.clone()));
        }
        Ok(terms)
    }
}

fn poisoned<T>(_: T) -> ApiError {
    ApiError::internal(anyhow::anyhow!("dated-terms memo lock poisoned"))
}

/// A stored link as the ownership rule sees it.
pub fn link_of(l: &unit_owner::Model) -> Link {
    Link {
        unit_id: l.unit_id,
        owner_id: l.owner_id,
        start: l.start_date,
        end: l.end_date,
    }
}

fn entry_view(e: &bill_entry::Model) -> EntryView {
    EntryView {
        kind: e.kind.to_string(),
        principal: Fen(e.principal_fen).to_yuan_string(),
        late_fee: Fen(e.late_fee_fen).to_yuan_string(),
        on_date: e.on_date,
        reason: e.reason.clone(),
        reference: e.reference.clone(),
        created_at: e.created_at,
    }
}

pub(super) fn detail(lookup: &Lookup, state: &AppState, b: &bill::Model) -> ApiResult<BillDetail> {
    let (view, a) = lookup.view(state, b)?;
    let entries: Vec<EntryView> = lookup
        .entries
        .get(&b.id)
        .map(|v| v.iter().map(entry_view).collect())
        .unwrap_or_default();
    let payments = lookup
        .entries
        .get(&b.id)
        .map(|v| {
            v.iter()
                .filter(|e| {
                    matches!(
                        e.kind,
                        EntryKind::Payment | EntryKind::Refund | EntryKind::InstalmentCredit
                    )
                })
                .map(entry_view)
                .collect()
        })
        .unwrap_or_default();
    let live = b.status != BillStatus::Cancelled;
    let mut lines = vec![BillLine {
        kind: "principal".into(),
        amount: Fen(b.principal_fen).to_yuan_string(),
    }];
    if live {
        lines.push(BillLine {
            kind: "late_fee".into(),
            amount: Fen(a.late.accrued.0).to_yuan_string(),
        });
        if b.late_fee_waived_fen > 0 {
            lines.push(BillLine {
                kind: "late_fee_waived".into(),
                amount: Fen(-b.late_fee_waived_fen.min(a.late.accrued.0)).to_yuan_string(),
            });
        }
        if b.paid_principal_fen + b.late_fee_paid_fen > 0 {
            lines.push(BillLine {
                kind: "paid".into(),
                amount: Fen(-(b.paid_principal_fen + b.late_fee_paid_fen)).to_yuan_string(),
            });
        }
    }
    Ok(BillDetail {
        bill: view,
        lines,
        payments,
        entries,
    })
}

/// One bill as staff see it after a change.
pub async fn detail_of(state: &AppState, b: &bill::Model) -> ApiResult<BillDetail> {
    let lookup = Lookup::load(state, std::slice::from_ref(b)).await?;
    detail(&lookup, state, b)
}

/// A bill with how it reads and what it owes today.
pub type Priced = (bill::Model, BillView, Amounts);

/// Bills with their views and amounts as of each community's today.
pub async fn with_amounts(state: &AppState, bills: Vec<bill::Model>) -> ApiResult<Vec<Priced>> {
    let lookup = Lookup::load(state, &bills).await?;
    let mut out = Vec::with_capacity(bills.len());
    for b in bills {
        let (v, a) = lookup.view(state, &b)?;
        out.push((b, v, a));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    fn sources(dir: &Path, out: &mut Vec<(String, String)>) {
        for e in std::fs::read_dir(dir).expect("read src").flatten() {
            let p = e.path();
            if p.is_dir() {
                sources(&p, out);
            } else if p.extension().is_some_and(|x| x == "rs") {
                out.push((p.display().to_string(), std::fs::read_to_string(&p).expect("read")));
            }
        }
    }

    /// `TermsMemo` names a community's dated terms by the newest id: sound only while terms are
    /// inserted and never changed or removed. The one writer is `setup::communities::insert_terms`.
    #[test]
    fn dated_terms_are_only_ever_added() {
        let mut files = Vec::new();
        sources(&Path::new(env!("CARGO_MANIFEST_DIR")).join("src"), &mut files);
        assert!(files.len() > 50, "the scan must see the whole of src/");
        // Needles split so this file does not match itself.
        let changes = regex::Regex::new(concat!(
            r"late_fee_term::Entity::(update|delete)",
            r"|(?i)(update\s+late_fee_terms|delete\s+from\s+late_fee_terms)"
        ))
        .expect("regex");
        let model = concat!("late_fee_term", "::ActiveModel");
        let mut writers = Vec::new();
        for (name, text) in &files {
            for (n, line) in text.lines().enumerate() {
                if changes.is_match(line) {
                    writers.push(format!("{name}:{}", n + 1));
                }
                if line.contains(model) {
                    let next: String = text.lines().skip(n).take(12).collect();
                    assert!(
                        name.ends_with("setup/communities.rs") && next.contains(".insert(txn)"),
                        "dated terms written other than by insert: {name}:{}",
                        n + 1
                    );
                    writers.push("insert".into());
                }
            }
        }
        assert_eq!(writers, vec!["insert".to_string()], "writers of late_fee_terms");
    }
}
