//! The earning pass: every credited payment line of a recent paid order earns once, for its holder.
//! It runs on the scheduler on any number of replicas: each award is an entry unique per payment
//! line, written with its lot in one transaction, so a duplicate notification, a reconciliation, a
//! retry or a second replica never awards twice. A line paid late is recorded too, with 0 points
//! and why, so the owner's history explains it and the pass does not look at it again.
use super::{add_points, record, Holder, NewEntry, UnitHolders};
use crate::domain::points::{self, Grade};
use crate::domain::states::PaymentStatus;
use crate::error::{ApiError, ApiResult};
use crate::services::setup::communities::Features;
use crate::state::AppState;
use chrono::{DateTime, Duration, NaiveDate, Utc};
use entity::states::PointsEntryKind;
use entity::{bill, community, fee_item, payment, payment_line, points_account, points_entry, points_lot};
use sea_orm::sea_query::{Expr, OnConflict, Query};
use sea_orm::{
    ColumnTrait, Condition, ConnectionTrait, DatabaseTransaction, EntityTrait, QueryFilter, QueryOrder, QuerySelect,
    QueryTrait, Set,
};
use std::collections::{BTreeMap, BTreeSet, HashMap};

/// How far back the pass looks for paid orders (it runs every scheduler tick; a scheduler stopped
/// for longer than this leaves older payments unawarded).
pub const LOOKBACK_DAYS: i64 = 7;
/// Lines awarded per transaction.
const BATCH: usize = 500;
/// Lines looked up at a time: the look-up hashes every award recorded so far, so it runs once for
/// several transactions.
const FETCH: u64 = 2_000;
/// Rows per multi-row write. Keeps each statement's messages a few KB: sqlx does not set
/// TCP_NODELAY, and a larger message stalls ~40 ms on a delayed ACK before its tail is sent.
const ROWS_PER_WRITE: usize = 80;
/// `points_entries.source_kind` of an award.
pub const SOURCE: &str = "payment_line";

/// What a pass did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct EarnReport {
    /// Lines recorded by this pass (late ones with 0 points included).
    pub recorded: u64,
    pub points: i64,
}

/// Awards every credited line of orders paid in the last `LOOKBACK_DAYS` not yet awarded, in
/// communities with points on.
pub async fn pass(state: &AppState) -> ApiResult<EarnReport> {
    let now = state.clock.now();
    let since = now - Duration::days(LOOKBACK_DAYS);
    let mut report = EarnReport::default();
    let mut after = 0;
    loop {
        let lines = payment_line::Entity::find()
            .filter(payment_line::Column::Id.gt(after))
            .filter(payment_line::Column::CreditedFen.gt(0))
            // What points paid earns no points.
            .filter(payment_line::Column::Points.is_null())
            .filter(
                payment_line::Column::PaymentId.in_subquery(
                    Query::select()
                        .column(payment::Column::Id)
                        .from(payment::Entity)
                        .and_where(payment::Column::PaidAt.gte(since))
                        // A refunded order earns nothing; reversals of awarded ones come with refunds.
                        .and_where(
                            payment::Column::Status.is_in([PaymentStatus::Paid, PaymentStatus::PartiallyRefunded]),
                        )
                        .to_owned(),
                ),
            )
            .filter(
                payment_line::Column::Id.not_in_subquery(
                    Query::select()
                        .column(points_entry::Column::SourceId)
                        .from(points_entry::Entity)
                        .and_where(points_entry::Column::SourceKind.eq(SOURCE))
                        .to_owned(),
                ),
            )
            .order_by_asc(payment_line::Column::Id)
            .limit(FETCH)
            .all(&state.db)
            .await?;
        let Some(last) = lines.last() else {
            break;
        };
        after = last.id;
        for batch in lines.chunks(BATCH) {
            award(state, batch, now, &mut report).await?;
        }
    }
    Ok(report)
}

/// Who a payment line earns for: the paying account; for a counter payment, whoever holds the
/// unit's points on the payment's day (`UnitHolders`).
async fn holders(
    state: &AppState,
    lines: &[payment_line::Model],
    payments: &HashMap<i32, payment::Model>,
    tz: &HashMap<i32, chrono_tz::Tz>,
) -> ApiResult<HashMap<i32, Holder>> {
    let counter_units: BTreeSet<i32> = lines
        .iter()
        .filter(|l| payments.get(&l.payment_id).is_some_and(|p| p.account_id.is_none()))
        .map(|l| l.unit_id)
        .collect();
    // Online payments name their account: the units' holders are read only for counter payments.
    let units = match counter_units.is_empty() {
        true => None,
        false => Some(UnitHolders::load(state, &counter_units).await?),
    };
    let mut out = HashMap::new();
    for l in lines {
        let Some(p) = payments.get(&l.payment_id) else {
            continue;
        };
        let holder = match p.account_id {
            Some(a) => Holder::Account(a),
            None => {
                let tz = tz.get(&p.community_id).copied().unwrap_or(chrono_tz::Asia::Shanghai);
                let day = p.paid_at.unwrap_or(p.created_at).with_timezone(&tz).date_naive();
                units
                    .as_ref()
                    .map_or(Holder::Unit(l.unit_id), |u| u.holder(l.unit_id, day))
            }
        };
        out.insert(l.id, holder);
    }
    Ok(out)
}

/// Each holder's credit grade per community, as of now (the bill just paid included).
async fn grades(state: &AppState, holders: &HashMap<i32, Holder>) -> ApiResult<HashMap<(Holder, i32), Grade>> {
    super::grade::of_holders(state, &holders.values().copied().collect()).await
}

/// What one line earns and for whom, decided before the transaction.
struct Award {
    line: i32,
    community: i32,
    holder: Holder,
    points: i64,
    paid_on: NaiveDate,
    /// The community's rule for when its lots expire.
    expiry_years: i32,
    reason: String,
}

/// A lot to create.
struct NewLot {
    account: i32,
    points: i64,
    earned_on: NaiveDate,
    expiry_years: i32,
}

async fn award(
    state: &AppState,
    lines: &[payment_line::Model],
    now: DateTime<Utc>,
    report: &mut EarnReport,
) -> ApiResult<()> {
    let payments: HashMap<i32, payment::Model> = payment::Entity::find()
        .filter(payment::Column::Id.is_in(lines.iter().map(|l| l.payment_id)))
        .all(&state.db)
        .await?
        .into_iter()
        .map(|p| (p.id, p))
        .collect();
    // A prepayment's lines name no bill: the bill they paid is the unit's for that item and period.
    // (Each list once: a batch's lines mostly share their item and period.)
    let units: BTreeSet<i32> = lines.iter().map(|l| l.unit_id).collect();
    let fee_items: BTreeSet<i32> = lines.iter().map(|l| l.fee_item_id).collect();
    let periods: BTreeSet<&str> = lines.iter().map(|l| l.period.as_str()).collect();
    let bills: HashMap<(i32, i32, String), bill::Model> = bill::Entity::find()
        .filter(bill::Column::UnitId.is_in(units))
        .filter(bill::Column::FeeItemId.is_in(fee_items.iter().copied()))
        .filter(bill::Column::Period.is_in(periods))
        .filter(bill::Column::InstallmentPlanId.eq(0))
        .all(&state.db)
        .await?
        .into_iter()
        .map(|b| ((b.unit_id, b.fee_item_id, b.period.clone()), b))
        .collect();
    let items: HashMap<i32, String> = fee_item::Entity::find()
        .filter(fee_item::Column::Id.is_in(fee_items))
        .all(&state.db)
        .await?
        .into_iter()
        .map(|f| (f.id, f.name))
        .collect();
    let mut on = HashMap::new();
    let mut tz = HashMap::new();
    for c in community::Entity::find()
        .filter(community::Column::Id.is_in(payments.values().map(|p| p.community_id)))
        .all(&state.db)
        .await?
    {
        on.insert(c.id, Features::of(&c).points);
        tz.insert(c.id, state.community_tz(c.id).await?);
    }
    let holders = holders(state, lines, &payments, &tz).await?;
    let grades = grades(state, &holders).await?;
    let rules_in = super::settings::rules_of_communities(&state.db, &on.keys().copied().collect()).await?;
    let mut awards = Vec::new();
    for l in lines {
        let (Some(p), Some(b), Some(holder)) = (
            payments.get(&l.payment_id),
            bills.get(&(l.unit_id, l.fee_item_id, l.period.clone())),
            holders.get(&l.id),
        ) else {
            continue;
        };
        if !on.get(&p.community_id).copied().unwrap_or(false) {
            continue;
        }
        let rules = rules_in.get(&p.community_id).copied().unwrap_or_default();
        let zone = tz.get(&p.community_id).copied().unwrap_or(chrono_tz::Asia::Shanghai);
        let paid_on = p.paid_at.unwrap_or(now).with_timezone(&zone).date_naive();
        let timing = points::timing(paid_on, b.due_date, p.prepay.is_some());
        // Principal actually paid (a prepayment discount is not), and no more than is still credited
        // (a refund before the award).
        let paid = (l.principal_fen - l.discount_fen).min(l.credited_fen.unwrap_or(0));
        let grade = grades
            .get(&(*holder, p.community_id))
            .copied()
            // No unit of theirs there today: no grade, so no multiplier.
            .unwrap_or(Grade::C);
        let earned = points::earned(&rules, paid, timing, grade);
        let what = format!(
            "{} {}",
            l.period,
            items.get(&l.fee_item_id).cloned().unwrap_or_default()
        );
        let reason = match timing {
            points::Timing::Late => format!("{what} 逾期缴纳，不计积分"),
            points::Timing::Prepaid => format!("{what} 预缴（含预缴奖励）"),
            points::Timing::OnTime => format!("{what} 按时缴费"),
        };
        awards.push(Award {
            line: l.id,
            community: p.community_id,
            holder: *holder,
            points: earned,
            paid_on,
            expiry_years: rules.expiry_years,
            reason,
        });
    }
    if awards.is_empty() {
        return Ok(());
    }
    let done = write(state, &awards, now).await?;
    report.recorded += done.recorded;
    report.points += done.points;
    Ok(())
}

/// A batch's awards in one transaction: `locked_account`, `record` and `add_points` for each line.
async fn write(state: &AppState, awards: &[Award], now: DateTime<Utc>) -> ApiResult<EarnReport> {
    let wanted: BTreeSet<(i32, Holder)> = awards.iter().map(|a| (a.community, a.holder)).collect();
    let txn = crate::db::begin_write(&state.db).await?;
    let mut accounts = locked_accounts(&txn, &wanted, now).await?;
    if let Some(done) = write_all(&txn, awards, &mut accounts, now).await? {
        txn.commit().await?;
        return Ok(done);
    }
    txn.rollback().await?;
    // Another pass recorded some of these lines first (for another holder, so not behind these
    // locks): line by line instead, the unique index skipping what it recorded.
    let txn = crate::db::begin_write(&state.db).await?;
    let mut accounts = locked_accounts(&txn, &wanted, now).await?;
    let mut done = EarnReport::default();
    for a in awards {
        let Some(account) = accounts.get_mut(&(a.community, a.holder)) else {
            continue;
        };
        let entry = NewEntry {
            account_id: account.id,
            kind: PointsEntryKind::Earn,
            points: a.points,
            lot_id: None,
            source: Some((SOURCE, a.line)),
            reason: a.reason.clone(),
            actor: "system".into(),
            at: now,
        };
        if !record(&txn, entry).await? {
            continue;
        }
        done.recorded += 1;
        done.points += a.points;
        if let Some(lot) = add_points(&txn, account, a.points, a.paid_on, a.expiry_years, now).await? {
            points_entry::Entity::update_many()
                .col_expr(points_entry::Column::LotId, Expr::value(lot))
                .filter(points_entry::Column::SourceKind.eq(SOURCE))
                .filter(points_entry::Column::SourceId.eq(a.line))
                .exec(&txn)
                .await?;
        }
        // What `add_points` settled, for the account's next line.
        account.debt = points::settle(account.debt, a.points).0;
    }
    txn.commit().await?;
    Ok(done)
}

/// Every award of the batch in a handful of statements: debts settled and lots created line by line
/// as `add_points` does, then the entries with their lots. None if the unique index refused an
/// entry (another pass recorded the line first): the caller rolls back.
async fn write_all(
    txn: &DatabaseTransaction,
    awards: &[Award],
    accounts: &mut HashMap<(i32, Holder), points_account::Model>,
    now: DateTime<Utc>,
) -> ApiResult<Option<EarnReport>> {
    let mut done = EarnReport::default();
    let mut owing = BTreeSet::new();
    let mut lots = Vec::new();
    let mut entries = Vec::new();
    for a in awards {
        let Some(account) = accounts.get_mut(&(a.community, a.holder)) else {
            continue;
        };
        done.recorded += 1;
        done.points += a.points;
        let (debt, lot_points) = points::settle(account.debt, a.points);
        if debt != account.debt {
            account.debt = debt;
            owing.insert(account.id);
        }
        let lot = (lot_points > 0).then(|| {
            lots.push(NewLot {
                account: account.id,
                points: lot_points,
                earned_on: a.paid_on,
                expiry_years: a.expiry_years,
            });
            lots.len() - 1
        });
        entries.push((a, account.id, lot));
    }
    for account in accounts.values().filter(|a| owing.contains(&a.id)) {
        points_account::Entity::update_many()
            .col_expr(points_account::Column::Debt, Expr::value(account.debt))
            .filter(points_account::Column::Id.eq(account.id))
            .exec(txn)
            .await?;
    }
    let lot_ids = create_lots(txn, &lots, now).await?;
    let mut written = 0;
    for chunk in entries.chunks(ROWS_PER_WRITE) {
        let rows = chunk.iter().map(|(a, account, lot)| points_entry::ActiveModel {
            points_account_id: Set(*account),
            kind: Set(PointsEntryKind::Earn),
            points: Set(a.points),
            lot_id: Set(lot.and_then(|i| lot_ids.get(i).copied())),
            source_kind: Set(Some(SOURCE.to_string())),
            source_id: Set(Some(a.line)),
            reason: Set(a.reason.clone()),
            actor: Set("system".into()),
            created_at: Set(now),
            ..Default::default()
        });
        written += points_entry::Entity::insert_many(rows)
            .on_conflict(
                OnConflict::columns([points_entry::Column::SourceKind, points_entry::Column::SourceId])
                    .do_nothing()
                    .to_owned(),
            )
            .exec_without_returning(txn)
            .await?;
    }
    Ok((written == entries.len() as u64).then_some(done))
}

/// The holders' points accounts, created if new and locked for the transaction: `locked_account`
/// for a batch. Created in one order and locked in id order, so two passes over the same lines wait
/// for each other rather than deadlock.
async fn locked_accounts(
    txn: &DatabaseTransaction,
    wanted: &BTreeSet<(i32, Holder)>,
    now: DateTime<Utc>,
) -> ApiResult<HashMap<(i32, Holder), points_account::Model>> {
    let found = accounts_of(txn, wanted, false).await?;
    let new: Vec<points_account::ActiveModel> = wanted
        .iter()
        .filter(|k| !found.contains_key(k))
        .map(|(community, holder)| {
            let (account_id, unit_id) = match holder {
                Holder::Account(a) => (Some(*a), None),
                Holder::Unit(u) => (None, Some(*u)),
            };
            points_account::ActiveModel {
                community_id: Set(*community),
                account_id: Set(account_id),
                unit_id: Set(unit_id),
                debt: Set(0),
                created_at: Set(now),
                ..Default::default()
            }
        })
        .collect();
    for chunk in new.chunks(ROWS_PER_WRITE) {
        // No conflict target, as in `account_of`: a row a partial unique index refuses is skipped, so
        // two creators meet on the winner's row.
        points_account::Entity::insert_many(chunk.iter().cloned())
            .on_conflict(OnConflict::new().do_nothing().to_owned())
            .exec_without_returning(txn)
            .await?;
    }
    let locked = accounts_of(txn, wanted, true).await?;
    if locked.len() < wanted.len() {
        return Err(ApiError::internal(anyhow::anyhow!("points account not created")));
    }
    Ok(locked)
}

/// The existing accounts of (community, holder) pairs, locked if asked.
async fn accounts_of(
    txn: &DatabaseTransaction,
    wanted: &BTreeSet<(i32, Holder)>,
    lock: bool,
) -> ApiResult<HashMap<(i32, Holder), points_account::Model>> {
    let mut by_community: BTreeMap<i32, (Vec<i32>, Vec<i32>)> = BTreeMap::new();
    for (community, holder) in wanted {
        let (accounts, units) = by_community.entry(*community).or_default();
        match holder {
            Holder::Account(a) => accounts.push(*a),
            Holder::Unit(u) => units.push(*u),
        }
    }
    let mut any = Condition::any();
    for (community, (accounts, units)) in by_community {
        any = any.add(
            Condition::all()
                .add(points_account::Column::CommunityId.eq(community))
                .add(
                    Condition::any()
                        .add(points_account::Column::AccountId.is_in(accounts))
                        .add(
                            Condition::all()
                                .add(points_account::Column::AccountId.is_null())
                                .add(points_account::Column::UnitId.is_in(units)),
                        ),
                ),
        );
    }
    let mut query = points_account::Entity::find()
        .filter(any)
        .order_by_asc(points_account::Column::Id);
    if lock {
        query = query.lock_exclusive();
    }
    Ok(query
        .all(txn)
        .await?
        .into_iter()
        .filter_map(|a| {
            let holder = match (a.account_id, a.unit_id) {
                (Some(account), _) => Holder::Account(account),
                (None, Some(unit)) => Holder::Unit(unit),
                (None, None) => return None,
            };
            let key = (a.community_id, holder);
            wanted.contains(&key).then_some((key, a))
        })
        .collect())
}

/// Creates the lots: their ids, in order.
async fn create_lots(txn: &DatabaseTransaction, lots: &[NewLot], now: DateTime<Utc>) -> ApiResult<Vec<i32>> {
    // Lots come back matched by what they hold, not by row order (which neither backend promises);
    // alike lots of one account are interchangeable, and go out oldest id first.
    let mut ids: HashMap<(i32, i64, NaiveDate), Vec<i32>> = HashMap::new();
    for chunk in lots.chunks(ROWS_PER_WRITE) {
        let rows = chunk.iter().map(|l| points_lot::ActiveModel {
            points_account_id: Set(l.account),
            earned_on: Set(l.earned_on),
            expires_on: Set(points::expires_on(l.earned_on, l.expiry_years)),
            points: Set(l.points),
            remaining: Set(l.points),
            created_at: Set(now),
            ..Default::default()
        });
        let mut insert = points_lot::Entity::insert_many(rows).into_query();
        insert.returning(Query::returning().columns([
            points_lot::Column::Id,
            points_lot::Column::PointsAccountId,
            points_lot::Column::Points,
            points_lot::Column::EarnedOn,
        ]));
        for row in txn.query_all(&insert).await? {
            let key = (
                row.try_get("", "points_account_id")?,
                row.try_get("", "points")?,
                row.try_get("", "earned_on")?,
            );
            ids.entry(key).or_default().push(row.try_get("", "id")?);
        }
    }
    for alike in ids.values_mut() {
        alike.sort_unstable_by(|a, b| b.cmp(a));
    }
    lots.iter()
        .map(|l| {
            ids.get_mut(&(l.account, l.points, l.earned_on))
                .and_then(Vec::pop)
                .ok_or_else(|| ApiError::internal(anyhow::anyhow!("points lot not created")))
        })
        .collect()
}
