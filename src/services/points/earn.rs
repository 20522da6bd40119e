//! The earning pass: every credited payment line of a recent paid order earns once, for its holder.
//! It runs on the scheduler on any number of replicas: each award is an entry unique per payment
//! line, written with its lot in one transaction, so a duplicate notification, a reconciliation, a
//! retry or a second replica never awards twice. A line paid late is recorded too, with 0 points
//! and why, so the owner's history explains it and the pass does not look at it again.
use super::{add_points, locked_account, record, Holder, NewEntry, UnitHolders};
use crate::domain::points::{self, Grade};
use crate::domain::states::PaymentStatus;
use crate::error::ApiResult;
use crate::services::setup::communities::Features;
use crate::state::AppState;
use chrono::{DateTime, Duration, Utc};
use entity::states::PointsEntryKind;
use entity::{bill, community, fee_item, payment, payment_line, points_entry};
use sea_orm::sea_query::{Expr, Query};
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, QueryOrder, QuerySelect};
use std::collections::{BTreeSet, HashMap};

/// How far back the pass looks for paid orders (it runs every scheduler tick; a scheduler stopped
/// for longer than this leaves older payments unawarded).
pub const LOOKBACK_DAYS: i64 = 7;
/// Lines awarded per transaction.
const BATCH: u64 = 500;
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
            .limit(BATCH)
            .all(&state.db)
            .await?;
        let Some(last) = lines.last() else {
            break;
        };
        after = last.id;
        award(state, &lines, now, &mut report).await?;
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
    let units = UnitHolders::load(state, &counter_units).await?;
    let mut out = HashMap::new();
    for l in lines {
        let Some(p) = payments.get(&l.payment_id) else {
            continue;
        };
        let holder = match p.account_id {
            Some(a) => Holder::Account(a),
            None => {
                let tz = tz.get(&p.community_id).copied().unwrap_or(chrono_tz::Asia::Shanghai);
                units.holder(
                    l.unit_id,
                    p.paid_at.unwrap_or(p.created_at).with_timezone(&tz).date_naive(),
                )
            }
        };
        out.insert(l.id, holder);
    }
    Ok(out)
}

/// Each holder's credit grade per community, as of now (the bill just paid included).
async fn grades(state: &AppState, holders: &HashMap<i32, Holder>) -> ApiResult<HashMap<(Holder, i32), Grade>> {
    let mut out = HashMap::new();
    let distinct: BTreeSet<Holder> = holders.values().copied().collect();
    for h in distinct {
        let units = match h {
            Holder::Unit(u) => [u].into_iter().collect(),
            Holder::Account(a) => match entity::owner_account::Entity::find_by_id(a).one(&state.db).await? {
                Some(acc) => crate::services::access::me::unit_ids_of_account(state, &acc).await?,
                None => BTreeSet::new(),
            },
        };
        for (community, (g, _)) in super::grade::of_units(state, &units).await? {
            out.insert((h, community), g);
        }
    }
    Ok(out)
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
    let bills: HashMap<(i32, i32, String), bill::Model> = bill::Entity::find()
        .filter(bill::Column::UnitId.is_in(lines.iter().map(|l| l.unit_id)))
        .filter(bill::Column::FeeItemId.is_in(lines.iter().map(|l| l.fee_item_id)))
        .filter(bill::Column::Period.is_in(lines.iter().map(|l| l.period.clone())))
        .all(&state.db)
        .await?
        .into_iter()
        .map(|b| ((b.unit_id, b.fee_item_id, b.period.clone()), b))
        .collect();
    let items: HashMap<i32, String> = fee_item::Entity::find()
        .filter(fee_item::Column::Id.is_in(lines.iter().map(|l| l.fee_item_id)))
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
    let txn = crate::db::begin_write(&state.db).await?;
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
        let account = locked_account(&txn, p.community_id, *holder, now).await?;
        let entry = NewEntry {
            account_id: account.id,
            kind: PointsEntryKind::Earn,
            points: earned,
            lot_id: None,
            source: Some((SOURCE, l.id)),
            reason,
            actor: "system".into(),
            at: now,
        };
        if !record(&txn, entry).await? {
            continue;
        }
        report.recorded += 1;
        report.points += earned;
        if let Some(lot) = add_points(&txn, &account, earned, paid_on, rules.expiry_years, now).await? {
            points_entry::Entity::update_many()
                .col_expr(points_entry::Column::LotId, Expr::value(lot))
                .filter(points_entry::Column::SourceKind.eq(SOURCE))
                .filter(points_entry::Column::SourceId.eq(l.id))
                .exec(&txn)
                .await?;
        }
    }
    txn.commit().await?;
    Ok(())
}
