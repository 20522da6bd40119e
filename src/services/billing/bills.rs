//! Bills as owners and staff see them: amounts as of the community's local date, late fees
//! explained, owner look-ups cached, staff lists and totals.
use crate::domain::billing::ownership::{self, Link};
use crate::domain::billing::{discount_rate, principal_fen, spread_discount};
use crate::domain::late_fee::{LateFee, LateFeePolicy, LateFeeSchedule, PrincipalMove};
use crate::domain::money::{add_fen, sum_fen};
use crate::domain::period::Period;
use crate::domain::role::Action;
use crate::domain::states::{BillStatus, EntryKind};
use crate::domain::{Area, Fen};
use crate::error::{ApiError, ApiResult};
use crate::services::access::{sessions, staff::StaffCtx};
use crate::services::billing::fee_items::rules;
use crate::services::cache::{self, Deps};
use crate::services::setup::Page;
use crate::state::AppState;
use chrono::NaiveDate;
use entity::{bill, bill_entry, community, fee_item, late_fee_term, owner, owner_account, unit, unit_owner};
use sea_orm::{ColumnTrait, Condition, EntityTrait, QueryFilter, QueryOrder, QuerySelect};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeSet, HashMap};

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
    /// `unpaid`, `paid`, `waived` or `cancelled`.
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

/// `GET /me/arrears`.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct Arrears {
    pub total_due: String,
    pub principal: String,
    pub late_fee: String,
    pub bills: usize,
    pub oldest_due_date: Option<NaiveDate>,
}

/// Which bills a list shows.
#[derive(Debug, Clone, Copy, Deserialize, PartialEq, Eq, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum StatusFilter {
    Unpaid,
    Paid,
    All,
}

impl StatusFilter {
    fn keeps(self, status: BillStatus) -> bool {
        match self {
            StatusFilter::Unpaid => status == BillStatus::Unpaid,
            StatusFilter::Paid => status == BillStatus::Paid,
            StatusFilter::All => true,
        }
    }
    fn as_str(self) -> &'static str {
        match self {
            StatusFilter::Unpaid => "unpaid",
            StatusFilter::Paid => "paid",
            StatusFilter::All => "all",
        }
    }
}

/// `?status=` of `GET /me/bills`.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
pub struct OwnerBillQuery {
    pub status: Option<StatusFilter>,
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
/// itself, from the start).
fn principal_moves(entries: &[&bill_entry::Model]) -> Vec<PrincipalMove> {
    entries
        .iter()
        .filter(|e| matches!(e.kind, EntryKind::Payment | EntryKind::Refund) && e.principal_fen != 0)
        .map(|e| PrincipalMove {
            on: e.on_date,
            paid_fen: e.principal_fen,
        })
        .collect()
}

/// API.md's arithmetic for one bill: outstanding late fee = accrued − paid − waived, never below 0.
pub fn amounts(b: &bill::Model, entries: &[&bill_entry::Model], policy: &LateFeeSchedule, today: NaiveDate) -> Amounts {
    let late = policy.late_fee(b.principal_fen, b.due_date, &principal_moves(entries), today);
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
    Amounts {
        outstanding_principal: (b.principal_fen - b.paid_principal_fen).max(0),
        outstanding_late_fee: (charged - b.late_fee_paid_fen).max(0),
        charged_late_fee: charged,
        late,
    }
}

/// The day a bill stopped being owed (paid, waived or cancelled), in community time; None while unpaid.
pub fn settled_on(b: &bill::Model, entries: &[&bill_entry::Model], tz: chrono_tz::Tz) -> Option<NaiveDate> {
    match b.status {
        BillStatus::Unpaid => None,
        BillStatus::Paid => b
            .paid_at
            .map(|t| t.with_timezone(&tz).date_naive())
            .or_else(|| entries.iter().map(|e| e.on_date).max()),
        BillStatus::Cancelled => entries.iter().map(|e| e.on_date).max(),
    }
}

/// `days_overdue` (API.md): calendar days past the due date, counted up to the day the bill was
/// settled if it was.
pub fn days_overdue(due: NaiveDate, settled: Option<NaiveDate>, today: NaiveDate) -> i64 {
    (settled.map_or(today, |s| s.min(today)) - due).num_days().max(0)
}

/// Everything needed to present bills of some communities.
struct Lookup {
    policies: HashMap<i32, (LateFeeSchedule, chrono_tz::Tz)>,
    units: HashMap<i32, unit::Model>,
    items: HashMap<i32, String>,
    entries: HashMap<i32, Vec<bill_entry::Model>>,
}

impl Lookup {
    async fn load(state: &AppState, bills: &[bill::Model]) -> ApiResult<Lookup> {
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
        .map(|u| (u.id, u))
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

    fn today(&self, state: &AppState, community_id: i32) -> NaiveDate {
        let tz = self.policies.get(&community_id).map(|(_, tz)| *tz).unwrap_or(state.tz);
        state.today_in(tz)
    }

    fn view(&self, state: &AppState, b: &bill::Model) -> ApiResult<(BillView, Amounts)> {
        let (policy, _) = self.policies.get(&b.community_id).ok_or(ApiError::NotFound)?;
        let today = self.today(state, b.community_id);
        let entries: Vec<&bill_entry::Model> = self.entries.get(&b.id).map(|v| v.iter().collect()).unwrap_or_default();
        let a = amounts(b, &entries, policy, today);
        let explanation = match b.status {
            BillStatus::Cancelled => "账单已取消，无需缴纳".to_string(),
            BillStatus::Unpaid | BillStatus::Paid => policy.explain(&a.late, b.due_date, today),
        };
        let tz = self
            .policies
            .get(&b.community_id)
            .map(|(_, tz)| *tz)
            .unwrap_or(state.tz);
        let settled = settled_on(b, &entries, tz);
        let view = BillView {
            id: b.id,
            unit_id: b.unit_id,
            unit_code: self.units.get(&b.unit_id).map(|u| u.code.clone()).unwrap_or_default(),
            fee_item_id: b.fee_item_id,
            fee_item: self.items.get(&b.fee_item_id).cloned().unwrap_or_default(),
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
async fn in_chunks<T, F, Fut>(ids: &[i32], f: F) -> ApiResult<Vec<T>>
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

// ---------- owner look-ups ----------

/// The owner records (and their communities) an account reaches through its verified phone.
async fn account_records(state: &AppState, account_id: i32) -> ApiResult<Vec<owner::Model>> {
    let account = owner_account::Entity::find_by_id(account_id)
        .one(&state.db)
        .await?
        .ok_or(ApiError::Unauthenticated)?;
    match account.phone_index {
        Some(index) => Ok(owner::Entity::find()
            .filter(owner::Column::PhoneIndex.eq(index))
            .all(&state.db)
            .await?),
        None => Ok(Vec::new()),
    }
}

/// The owner records an account reaches and their links to units: what its answers depend on.
async fn account_reach(state: &AppState, account_id: i32) -> ApiResult<(Vec<unit_owner::Model>, Deps)> {
    let records = account_records(state, account_id).await?;
    let communities: Vec<i32> = records.iter().map(|o| o.community_id).collect();
    let own_links = if records.is_empty() {
        Vec::new()
    } else {
        unit_owner::Entity::find()
            .filter(unit_owner::Column::OwnerId.is_in(records.iter().map(|o| o.id).collect::<BTreeSet<_>>()))
            .all(&state.db)
            .await?
    };
    let units = own_links.iter().map(|l| l.unit_id).collect();
    Ok((own_links, normalized(communities, units, account_id)))
}

/// Bills an account may see: those its owner records own under the one ownership rule
/// (`domain::billing::ownership`): a transfer leaves the transfer month with the seller, and an owner added
/// later sees the periods from their start on. With what the answer depends on.
async fn visible_bills(state: &AppState, account_id: i32) -> ApiResult<(Vec<bill::Model>, Deps)> {
    let (own_links, deps) = account_reach(state, account_id).await?;
    if deps.units.is_empty() {
        return Ok((Vec::new(), deps));
    }
    let all_links: Vec<Link> = unit_owner::Entity::find()
        .filter(unit_owner::Column::UnitId.is_in(deps.units.clone()))
        .all(&state.db)
        .await?
        .iter()
        .map(link_of)
        .collect();
    let own: Vec<Link> = own_links.iter().map(link_of).collect();
    let bills = bill::Entity::find()
        .filter(bill::Column::UnitId.is_in(deps.units.clone()))
        .order_by_desc(bill::Column::DueDate)
        .order_by_desc(bill::Column::Id)
        .all(&state.db)
        .await?;
    let covered = |b: &bill::Model| {
        own.iter()
            .any(|l| l.unit_id == b.unit_id && ownership::owns(l, &all_links, b.period_start))
    };
    Ok((bills.into_iter().filter(covered).collect(), deps))
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

/// What an account's answers depend on: the communities of its owner records, the units they
/// are linked to, and the account.
async fn owner_deps(state: &AppState, account_id: i32) -> ApiResult<Deps> {
    Ok(account_reach(state, account_id).await?.1)
}

fn normalized(mut communities: Vec<i32>, mut units: Vec<i32>, account_id: i32) -> Deps {
    communities.sort_unstable();
    communities.dedup();
    units.sort_unstable();
    units.dedup();
    Deps {
        communities,
        units,
        account: Some(account_id),
    }
}

/// Resolves an owner's bearer token and, in the same round trip, this session's cached answer.
async fn owner_session(state: &AppState, token: &str, answer: &str) -> ApiResult<(i32, String, cache::Prefetched)> {
    let key = format!("cache:{answer}:{}", crate::crypto::token_hash(token));
    let wanted = cache::prefetch_keys(state, &key);
    let (session, values) = sessions::resolve_with(state, token, |_| wanted.clone()).await?;
    match session.subject {
        sessions::Subject::Owner(id) => Ok((id, key, cache::Prefetched::new(wanted, values))),
        sessions::Subject::Staff(_) => Err(ApiError::Forbidden),
    }
}

/// `GET /me/bills` as JSON text, cached per session.
pub async fn owner_bills(state: &AppState, token: &str, filter: StatusFilter) -> ApiResult<String> {
    let (account_id, key, prefetched) = owner_session(state, token, &format!("me-bills-{}", filter.as_str())).await?;
    cache::cached(
        state,
        &key,
        prefetched,
        || owner_deps(state, account_id),
        || async {
            let (bills, deps) = visible_bills(state, account_id).await?;
            let lookup = Lookup::load(state, &bills).await?;
            let mut views = Vec::new();
            for b in bills.iter().filter(|b| filter.keeps(b.status)) {
                views.push(lookup.view(state, b)?.0);
            }
            Ok((serde_json::to_string(&views).map_err(ApiError::internal)?, deps))
        },
    )
    .await
}

/// `GET /me/arrears` as JSON text, cached per session: unpaid bills whose due date has passed.
pub async fn owner_arrears(state: &AppState, token: &str) -> ApiResult<String> {
    let (account_id, key, prefetched) = owner_session(state, token, "me-arrears").await?;
    cache::cached(
        state,
        &key,
        prefetched,
        || owner_deps(state, account_id),
        || async {
            let (bills, deps) = visible_bills(state, account_id).await?;
            let lookup = Lookup::load(state, &bills).await?;
            let (mut principal, mut late, mut n, mut oldest) = (0i64, 0i64, 0usize, None::<NaiveDate>);
            for b in bills
                .iter()
                .filter(|b| b.status == BillStatus::Unpaid && b.due_date < lookup.today(state, b.community_id))
            {
                let (_, a) = lookup.view(state, b)?;
                principal = add_fen(principal, a.outstanding_principal)?;
                late = add_fen(late, a.outstanding_late_fee)?;
                n += 1;
                oldest = Some(oldest.map_or(b.due_date, |o| o.min(b.due_date)));
            }
            let answer = Arrears {
                total_due: Fen(add_fen(principal, late)?).to_yuan_string(),
                principal: Fen(principal).to_yuan_string(),
                late_fee: Fen(late).to_yuan_string(),
                bills: n,
                oldest_due_date: oldest,
            };
            Ok((serde_json::to_string(&answer).map_err(ApiError::internal)?, deps))
        },
    )
    .await
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

fn detail(lookup: &Lookup, state: &AppState, b: &bill::Model) -> ApiResult<BillDetail> {
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
                .filter(|e| matches!(e.kind, EntryKind::Payment | EntryKind::Refund))
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

/// `GET /me/bills/{id}`: 404 unless the account may see it.
pub async fn owner_bill(state: &AppState, account_id: i32, bill_id: i32) -> ApiResult<BillDetail> {
    let (bills, _) = visible_bills(state, account_id).await?;
    let b = bills.into_iter().find(|b| b.id == bill_id).ok_or(ApiError::NotFound)?;
    let lookup = Lookup::load(state, std::slice::from_ref(&b)).await?;
    detail(&lookup, state, &b)
}

// ---------- prepayment ----------

/// `GET /me/prepay-quote` parameters.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
pub struct PrepayQuery {
    pub unit_id: i32,
    pub fee_item_id: i32,
    #[param(minimum = 1, maximum = 36)]
    pub months: u32,
}

/// One future bill in a prepayment quote.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct QuotedBill {
    pub period: String,
    pub period_start: NaiveDate,
    pub period_end: NaiveDate,
    pub due_date: NaiveDate,
    pub principal: String,
    pub discount: String,
    pub amount: String,
    #[serde(skip)]
    pub principal_fen: i64,
    #[serde(skip)]
    pub discount_fen: i64,
}

/// A prepayment quote: future-period bills and the discounted total.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct PrepayQuote {
    pub unit_id: i32,
    pub fee_item_id: i32,
    pub months: u32,
    pub periods: Vec<String>,
    pub bills: Vec<QuotedBill>,
    pub gross: String,
    pub discount: String,
    pub total: String,
}

/// Quotes paying `months` ahead: the next periods without a bill, starting at the current one,
/// each priced as a billing run would, with the discount spread over them (leftover fen on the first).
pub async fn prepay_quote(state: &AppState, account_id: i32, q: PrepayQuery) -> ApiResult<PrepayQuote> {
    let account = owner_account::Entity::find_by_id(account_id)
        .one(&state.db)
        .await?
        .ok_or(ApiError::Unauthenticated)?;
    let mine = crate::services::access::me::unit_ids_of_account(state, &account).await?;
    if !mine.contains(&q.unit_id) {
        return Err(ApiError::NotFound);
    }
    let u = unit::Entity::find_by_id(q.unit_id)
        .one(&state.db)
        .await?
        .ok_or(ApiError::NotFound)?;
    let item = fee_item::Entity::find_by_id(q.fee_item_id)
        .one(&state.db)
        .await?
        .filter(|f| f.community_id == u.community_id);
    let rule = match item {
        Some(i) => rules(state, vec![i])
            .await?
            .into_iter()
            .next()
            .filter(|r| r.item.active && r.applies_to.covers(&u)),
        None => None,
    };
    let Some(rule) = rule else {
        return Err(ApiError::field("fee_item_id", "该收费项目不适用于此房屋"));
    };
    let step = rule.cycle.months();
    if q.months == 0 || q.months > 36 || !q.months.is_multiple_of(step) {
        return Err(ApiError::field(
            "months",
            format!("预缴月数应为{step}的倍数，且不超过36个月"),
        ));
    }
    let tz = state.community_tz(u.community_id).await?;
    let today = state.today_in(tz);
    let billed: BTreeSet<String> = bill::Entity::find()
        .select_only()
        .column(bill::Column::Period)
        .filter(bill::Column::UnitId.eq(u.id))
        .filter(bill::Column::FeeItemId.eq(rule.item.id))
        .into_tuple::<String>()
        .all(&state.db)
        .await?
        .into_iter()
        .collect();
    let mut period = rule.cycle.period_of(today);
    let mut periods: Vec<Period> = Vec::new();
    while periods.len() < (q.months / step) as usize {
        if !billed.contains(&period.to_string()) && rule.bills_from(period.start()) {
            periods.push(period);
        }
        period = rule.cycle.next(period);
    }
    let mut amounts = Vec::new();
    for p in &periods {
        let fen = principal_fen(
            rule.kind,
            rule.price_for(p.start()),
            *p,
            Area(u.area_centi_m2),
            u.handover_date,
        )
        .unwrap_or(0);
        amounts.push(fen);
    }
    let (discount, shares) = spread_discount(&amounts, discount_rate(&rule.discounts, q.months));
    let gross = sum_fen(amounts.iter().copied())?;
    let bills = periods
        .iter()
        .zip(amounts.iter().zip(shares.iter()))
        .map(|(p, (a, s))| QuotedBill {
            period: p.to_string(),
            period_start: p.start(),
            period_end: p.end(),
            due_date: p.due_date(u32::try_from(rule.item.due_day).unwrap_or(1)),
            principal: Fen(*a).to_yuan_string(),
            discount: Fen(*s).to_yuan_string(),
            amount: Fen(a - s).to_yuan_string(),
            principal_fen: *a,
            discount_fen: *s,
        })
        .collect();
    Ok(PrepayQuote {
        unit_id: u.id,
        fee_item_id: rule.item.id,
        months: q.months,
        periods: periods.iter().map(ToString::to_string).collect(),
        bills,
        gross: Fen(gross).to_yuan_string(),
        discount: Fen(discount).to_yuan_string(),
        total: Fen(gross - discount).to_yuan_string(),
    })
}

// ---------- staff ----------

/// Filters of `GET /staff/bills`.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
pub struct StaffBillQuery {
    pub community_id: i32,
    #[param(pattern = r#"^(unpaid|paid|waived|cancelled)$"#)]
    pub status: Option<String>,
    #[param(
        pattern = r#"^[^\u0000-\u001F\u007F-\u009F]*[^\s\u0000-\u001F\u007F-\u009F][^\u0000-\u001F\u007F-\u009F]*$"#,
        min_length = 1,
        max_length = 32
    )]
    pub building: Option<String>,
    #[param(minimum = 0, maximum = 36500)]
    pub min_days_overdue: Option<i64>,
    #[param(pattern = r#"^(20[0-9]{2}|2100)(-(0[1-9]|1[0-2])|-Q[1-4])?$"#)]
    pub period: Option<String>,
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
        if !matches!(s.as_str(), "unpaid" | "paid" | "waived" | "cancelled") {
            return Err(ApiError::field("status", "状态应为unpaid、paid、waived或cancelled"));
        }
        cond = cond.add(bill::Column::Status.eq(s.as_str()));
    }
    if let Some(p) = &q.period {
        let p = Period::parse(p).map_err(|m| ApiError::field("period", m))?;
        cond = cond.add(bill::Column::Period.eq(p.to_string()));
    }
    if let Some(n) = q.min_days_overdue {
        if !(0..=36_500).contains(&n) {
            return Err(ApiError::field("min_days_overdue", "应为0到36500之间的整数"));
        }
        cond = cond.add(bill::Column::DueDate.lte(today - chrono::Duration::days(n)));
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

/// One bill as staff see it after a change.
pub async fn detail_of(state: &AppState, b: &bill::Model) -> ApiResult<BillDetail> {
    let lookup = Lookup::load(state, std::slice::from_ref(b)).await?;
    detail(&lookup, state, b)
}

// ---------- for payments ----------

/// The bills an owner account may see (and so pay).
pub async fn owner_visible(state: &AppState, account_id: i32) -> ApiResult<Vec<bill::Model>> {
    Ok(visible_bills(state, account_id).await?.0)
}

/// Bills with their views and amounts as of each community's today.
pub async fn with_amounts(
    state: &AppState,
    bills: Vec<bill::Model>,
) -> ApiResult<Vec<(bill::Model, BillView, Amounts)>> {
    let lookup = Lookup::load(state, &bills).await?;
    let mut out = Vec::with_capacity(bills.len());
    for b in bills {
        let (v, a) = lookup.view(state, &b)?;
        out.push((b, v, a));
    }
    Ok(out)
}
