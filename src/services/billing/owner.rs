//! What owners see of their bills: the bills their records own (the one ownership rule), arrears,
//! one bill's detail, and prepayment quotes; look-ups cached per session and invalidated by the
//! ledger per unit.
use crate::domain::billing::ownership::{self, Link};
use crate::domain::billing::{discount_rate, principal_fen, spread_discount};
use crate::domain::money::{add_fen, sum_fen};
use crate::domain::period::Period;
use crate::domain::states::BillStatus;
use crate::domain::{Area, Fen};
use crate::error::{ApiError, ApiResult};
use crate::services::access::sessions;
use crate::services::billing::bills::detail;
use crate::services::billing::bills::link_of;
use crate::services::billing::bills::BillDetail;
use crate::services::billing::bills::Lookup;
use crate::services::billing::bills::Parts;
use crate::services::billing::fee_items::rules;
use crate::services::billing::statements::{owner_bills_statement, reach_statement};
use crate::services::cache::{self, Deps};
use crate::state::AppState;
use chrono::NaiveDate;
use entity::{bill, bill_entry, community, fee_item, owner_account, unit, unit_owner};
use sea_orm::sea_query::SelectStatement;
use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, FromQueryResult, QueryFilter, QueryResult, QuerySelect};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeSet, HashSet};

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

/// The links an account's answers rest on: its own, and all links of the units those reach (the
/// ownership rule weighs each against the others).
#[derive(Default)]
struct Reach {
    own: Vec<Link>,
    all: Vec<Link>,
    seen: HashSet<i32>,
    communities: Vec<i32>,
}

impl Reach {
    /// Takes the link of a `statements` row (`l_*`, `own`, `unit_community`); the link if it was new.
    fn take(&mut self, row: &QueryResult) -> ApiResult<Option<Link>> {
        let l = unit_owner::Model::from_query_result(row, "l_")?;
        if !self.seen.insert(l.id) {
            return Ok(None);
        }
        let link = link_of(&l);
        if row.try_get::<i32>("", "own")? == 1 {
            self.own.push(link);
        }
        self.all.push(link);
        self.communities.push(row.try_get("", "unit_community")?);
        Ok(Some(link))
    }

    fn deps(&self, account_id: i32) -> Deps {
        let units = self.own.iter().map(|l| l.unit_id).collect();
        normalized(self.communities.clone(), units, account_id)
    }
}

/// The rows of a `statements` query about an account: 401 when they are none because the account
/// no longer exists.
async fn account_rows(state: &AppState, account_id: i32, q: &SelectStatement) -> ApiResult<Vec<QueryResult>> {
    let rows = state.db.query_all(q).await?;
    if rows.is_empty() {
        // No units: a bound account without links, an unbound one, or one that no longer exists.
        owner_account::Entity::find_by_id(account_id)
            .one(&state.db)
            .await?
            .ok_or(ApiError::Unauthenticated)?;
    }
    Ok(rows)
}

async fn account_reach(state: &AppState, account_id: i32) -> ApiResult<Reach> {
    let mut reach = Reach::default();
    for row in account_rows(state, account_id, &reach_statement(account_id)).await? {
        reach.take(&row)?;
    }
    Ok(reach)
}

/// Bills an account may see: those its owner records own under the one ownership rule
/// (`domain::billing::ownership`): a transfer leaves the transfer month with the seller, and an owner added
/// later sees the periods from their start on. With what is needed to present them and what the
/// answer depends on, all read in one statement (`statements::owner_bills_statement`). Newest due
/// date first.
async fn visible_bills(state: &AppState, account_id: i32) -> ApiResult<(Vec<bill::Model>, Lookup, Deps)> {
    let mut reach = Reach::default();
    let mut parts = Parts::default();
    let mut bills = Vec::new();
    let (mut seen_bills, mut seen_entries) = (HashSet::new(), HashSet::new());
    for row in account_rows(state, account_id, &owner_bills_statement(account_id)).await? {
        if let Some(link) = reach.take(&row)? {
            parts.units.insert(link.unit_id, row.try_get("", "unit_code")?);
        }
        let community: i32 = row.try_get("", "unit_community")?;
        if let std::collections::hash_map::Entry::Vacant(slot) = parts.communities.entry(community) {
            let c = community::Model::from_query_result(&row, "c_")?;
            slot.insert((c, row.try_get("", "terms_newest")?));
        }
        // Left-joined: a unit without bills, a bill without entries.
        if row
            .try_get::<Option<i32>>("b_", "id")?
            .is_some_and(|id| seen_bills.insert(id))
        {
            let b = bill::Model::from_query_result(&row, "b_")?;
            parts.items.insert(b.fee_item_id, row.try_get("", "fee_item_name")?);
            bills.push(b);
        }
        if row
            .try_get::<Option<i32>>("e_", "id")?
            .is_some_and(|id| seen_entries.insert(id))
        {
            let e = bill_entry::Model::from_query_result(&row, "e_")?;
            parts.entries.entry(e.bill_id).or_default().push(e);
        }
    }
    bills.sort_by(|a, b| b.due_date.cmp(&a.due_date).then(b.id.cmp(&a.id)));
    let lookup = Lookup::assemble(state, parts).await?;
    let covered = |b: &bill::Model| {
        reach
            .own
            .iter()
            .any(|l| l.unit_id == b.unit_id && ownership::owns(l, &reach.all, b.period_start))
    };
    let deps = reach.deps(account_id);
    Ok((bills.into_iter().filter(covered).collect(), lookup, deps))
}

/// What an account's answers depend on: the communities of its owner records, the units they
/// are linked to, and the account.
async fn owner_deps(state: &AppState, account_id: i32) -> ApiResult<Deps> {
    Ok(account_reach(state, account_id).await?.deps(account_id))
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
            let (bills, lookup, deps) = visible_bills(state, account_id).await?;
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
            let (bills, lookup, deps) = visible_bills(state, account_id).await?;
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

/// `GET /me/bills/{id}`: 404 unless the account may see it.
pub async fn owner_bill(state: &AppState, account_id: i32, bill_id: i32) -> ApiResult<BillDetail> {
    let (bills, lookup, _) = visible_bills(state, account_id).await?;
    let b = bills.into_iter().find(|b| b.id == bill_id).ok_or(ApiError::NotFound)?;
    detail(&lookup, state, &b)
}

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
        .filter(bill::Column::InstallmentPlanId.eq(0))
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

/// The bills an owner account may see (and so pay).
pub async fn owner_visible(state: &AppState, account_id: i32) -> ApiResult<Vec<bill::Model>> {
    Ok(visible_bills(state, account_id).await?.0)
}
