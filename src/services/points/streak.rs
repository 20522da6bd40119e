//! The streak bonus: every `streak_months` calendar months in a row whose bills were all paid on
//! time earn `streak_bonus`, once per holder and completing month (the entry's source), for a run
//! completed by a payment in the last `earn::LOOKBACK_DAYS` (so history from before points were on
//! earns nothing retroactively).
use super::{add_points, locked, record, NewEntry};
use crate::domain::points;
use crate::domain::states::BillStatus;
use crate::error::ApiResult;
use crate::state::AppState;
use chrono::{Duration, NaiveDate};
use entity::states::PointsEntryKind;
use entity::{bill, points_account, points_entry, unit};
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};
use std::collections::{BTreeSet, HashMap};

/// `points_entries.source_kind` of a bonus is `streak:{points account}`; the source id is the
/// completing month as year × 100 + month.
pub const SOURCE: &str = "streak";

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct StreakReport {
    pub bonuses: u64,
    pub points: i64,
}

/// Looks at every account that earned in the look-back window.
pub async fn pass(state: &AppState) -> ApiResult<StreakReport> {
    let now = state.clock.now();
    let since = now - Duration::days(super::earn::LOOKBACK_DAYS);
    let recent: BTreeSet<i32> = points_entry::Entity::find()
        .filter(points_entry::Column::Kind.eq(PointsEntryKind::Earn))
        .filter(points_entry::Column::SourceKind.eq(super::earn::SOURCE))
        .filter(points_entry::Column::Points.gt(0))
        .filter(points_entry::Column::CreatedAt.gte(since))
        .all(&state.db)
        .await?
        .into_iter()
        .map(|e| e.points_account_id)
        .collect();
    let mut report = StreakReport::default();
    if recent.is_empty() {
        return Ok(report);
    }
    let accounts = points_account::Entity::find()
        .filter(points_account::Column::Id.is_in(recent))
        .all(&state.db)
        .await?;
    let communities: BTreeSet<i32> = accounts.iter().map(|a| a.community_id).collect();
    let rules = super::settings::rules_of_communities(&state.db, &communities).await?;
    let mut zones = HashMap::new();
    for c in &communities {
        zones.insert(*c, state.community_tz(*c).await?);
    }
    for a in accounts {
        let Some(r) = rules.get(&a.community_id).copied().filter(|r| r.streak_bonus > 0) else {
            continue;
        };
        let zone = zones.get(&a.community_id).copied().unwrap_or(chrono_tz::Asia::Shanghai);
        let units = units_of(state, &a).await?;
        let bills = bill::Entity::find()
            .filter(bill::Column::UnitId.is_in(units))
            .filter(bill::Column::CommunityId.eq(a.community_id))
            .filter(bill::Column::Status.ne(BillStatus::Cancelled))
            .all(&state.db)
            .await?;
        let paid_on = |b: &bill::Model| -> Option<NaiveDate> {
            b.paid_at
                .filter(|_| b.status == BillStatus::Paid)
                .map(|t| t.with_timezone(&zone).date_naive())
        };
        let flags: Vec<(NaiveDate, bool)> = bills
            .iter()
            .map(|b| (b.period_start, paid_on(b).is_some_and(|d| d <= b.due_date)))
            .collect();
        let months = points::months_on_time(&flags);
        let on_time: Vec<bool> = months.iter().map(|(_, ok)| *ok).collect();
        for i in points::streaks(&on_time, r.streak_months) {
            let (month, _) = months[i];
            // Completed recently: the last bill of that month was paid inside the window.
            let completed_at = bills
                .iter()
                .filter(|b| b.period_start.year_month_key() == month)
                .filter_map(|b| b.paid_at)
                .max();
            if completed_at.is_none_or(|t| t < since) {
                continue;
            }
            let txn = crate::db::begin_write(&state.db).await?;
            let account = locked(&txn, a.id).await?;
            let kind = format!("{SOURCE}:{}", a.id);
            let entry = NewEntry {
                account_id: a.id,
                kind: PointsEntryKind::Earn,
                points: r.streak_bonus,
                lot_id: None,
                source: Some((&kind, month)),
                reason: format!(
                    "连续{}个月按时缴费奖励（至{}年{}月）",
                    r.streak_months,
                    month / 100,
                    month % 100
                ),
                actor: "system".into(),
                at: now,
            };
            if !record(&txn, entry).await? {
                continue;
            }
            let on = now.with_timezone(&zone).date_naive();
            add_points(&txn, &account, r.streak_bonus, on, r.expiry_years, now).await?;
            txn.commit().await?;
            report.bonuses += 1;
            report.points += r.streak_bonus;
        }
    }
    Ok(report)
}

/// The units whose bills make up a holder's streak: the account's units in that community today,
/// or the unit itself.
async fn units_of(state: &AppState, a: &points_account::Model) -> ApiResult<BTreeSet<i32>> {
    match (a.account_id, a.unit_id) {
        (Some(id), _) => {
            let Some(acc) = entity::owner_account::Entity::find_by_id(id).one(&state.db).await? else {
                return Ok(BTreeSet::new());
            };
            let all = crate::services::access::me::unit_ids_of_account(state, &acc).await?;
            Ok(unit::Entity::find()
                .filter(unit::Column::Id.is_in(all))
                .filter(unit::Column::CommunityId.eq(a.community_id))
                .all(&state.db)
                .await?
                .into_iter()
                .map(|u| u.id)
                .collect())
        }
        (None, Some(u)) => Ok([u].into_iter().collect()),
        (None, None) => Ok(BTreeSet::new()),
    }
}

/// `year × 100 + month` of a date, as `months_on_time` keys months.
trait YearMonth {
    fn year_month_key(&self) -> i32;
}

impl YearMonth for NaiveDate {
    fn year_month_key(&self) -> i32 {
        use chrono::Datelike;
        self.year() * 100 + self.month() as i32
    }
}
