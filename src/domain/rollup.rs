//! The collection rollup: each bill's part of the report figures as dated deltas, so a figure as of
//! a day is the sum of the rows dated by then and a report over 100,000 units sums a few thousand
//! rows. What a bill contributes is read off `reports`' own definitions (`BillFacts::receivable`,
//! `collected`, `unpaid`, the households rule of `Collection`), evaluated on each day its entries
//! change it, so the rollup equals a full recomputation by construction; the ledger keeps it in the
//! same transaction as every bill write (`services::billing::rollup`).
use crate::domain::period::Period;
use crate::domain::reports::{self, Aging, BillFacts, Clearance, Collection, Report, TrendPoint};
use chrono::{Datelike, NaiveDate};
use std::collections::{BTreeMap, BTreeSet};

/// The date of what a bill counts before any of its entries (it counts on every day asked about).
pub fn epoch() -> NaiveDate {
    NaiveDate::from_ymd_opt(1970, 1, 1).unwrap_or(NaiveDate::MIN)
}

/// The fee item of household rows over all of a unit's bills together.
pub const ALL_ITEMS: i32 = 0;

#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct MoneyKey {
    pub community_id: i32,
    pub building: String,
    pub fee_item_id: i32,
    pub due_date: NaiveDate,
    pub on: NaiveDate,
}

/// Report money of bills. `receivable`, `collected` and `late_fee` count a bill only while its
/// receivable is above zero (as `Collection` does); `unpaid` always (as aging and clearance do).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Money {
    pub receivable_fen: i64,
    pub collected_fen: i64,
    pub late_fee_fen: i64,
    pub unpaid_fen: i64,
}

impl Money {
    fn of(b: &BillFacts, on: NaiveDate) -> Money {
        let receivable = b.receivable(on);
        let counted = receivable > 0;
        Money {
            receivable_fen: if counted { receivable } else { 0 },
            collected_fen: if counted { b.collected(on) } else { 0 },
            late_fee_fen: if counted { b.late_fee_collected(on) } else { 0 },
            unpaid_fen: b.unpaid(on),
        }
    }

    fn plus(self, o: Money, sign: i64) -> Money {
        Money {
            receivable_fen: self.receivable_fen + sign * o.receivable_fen,
            collected_fen: self.collected_fen + sign * o.collected_fen,
            late_fee_fen: self.late_fee_fen + sign * o.late_fee_fen,
            unpaid_fen: self.unpaid_fen + sign * o.unpaid_fen,
        }
    }

    fn is_zero(&self) -> bool {
        *self == Money::default()
    }
}

#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct HouseholdKey {
    pub community_id: i32,
    pub building: String,
    /// `ALL_ITEMS`, or one fee item's bills only.
    pub fee_item_id: i32,
    /// The first day of the month.
    pub month: NaiveDate,
    pub on: NaiveDate,
}

/// Households billed (a bill with receivable above zero) and fully paid, as `Collection` counts them.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Households {
    pub billed: i64,
    pub paid: i64,
}

impl Households {
    /// One unit's bills (of one month and group) on a day.
    fn of(bills: &[&BillFacts], on: NaiveDate) -> Households {
        let mut billed = false;
        let mut paid = true;
        for b in bills {
            let due = b.receivable(on);
            if due > 0 {
                billed = true;
                paid &= b.collected(on) >= due;
            }
        }
        Households {
            billed: i64::from(billed),
            paid: i64::from(billed && paid),
        }
    }

    fn plus(self, o: Households, sign: i64) -> Households {
        Households {
            billed: self.billed + sign * o.billed,
            paid: self.paid + sign * o.paid,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ClearanceKey {
    pub community_id: i32,
    pub building: String,
    pub fee_item_id: i32,
    /// The year whose arrears at its start these bills were in.
    pub year: i32,
    pub on: NaiveDate,
}

/// Of bills in arrears at a year's start: principal recovered and waived since (`Clearance`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Recovery {
    pub recovered_fen: i64,
    pub waived_fen: i64,
}

impl Recovery {
    fn plus(self, o: Recovery, sign: i64) -> Recovery {
        Recovery {
            recovered_fen: self.recovered_fen + sign * o.recovered_fen,
            waived_fen: self.waived_fen + sign * o.waived_fen,
        }
    }
}

/// Rollup rows: some bills' part, or the difference a write made to it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Part {
    pub money: BTreeMap<MoneyKey, Money>,
    pub households: BTreeMap<HouseholdKey, Households>,
    /// Only for years after a bill's due date up to its latest entry: a year without entries
    /// recovers and waives nothing, and arrears at its start are summed from `money`.
    pub clearance: BTreeMap<ClearanceKey, Recovery>,
}

/// The days a group of bills can change on: before any entry, and each entry's day.
fn change_days<'a>(bills: impl IntoIterator<Item = &'a BillFacts>) -> BTreeSet<NaiveDate> {
    let mut days: BTreeSet<NaiveDate> = bills.into_iter().flat_map(|b| b.moves.iter().map(|m| m.on)).collect();
    days.insert(epoch());
    days
}

impl Part {
    /// The part of these bills. Households are whole units, so a caller gives every bill of each
    /// unit-month it gives any of.
    pub fn of(bills: &[BillFacts]) -> Part {
        let mut part = Part::default();
        for b in bills {
            let mut before = Money::default();
            for on in change_days([b]) {
                let now = Money::of(b, on);
                part.add_money(
                    MoneyKey {
                        community_id: b.community_id,
                        building: b.building.clone(),
                        fee_item_id: b.fee_item_id,
                        due_date: b.due_date,
                        on,
                    },
                    now.plus(before, -1),
                );
                before = now;
            }
            part.add_recoveries(b);
        }
        let mut units: BTreeMap<(i32, i32, NaiveDate), Vec<&BillFacts>> = BTreeMap::new();
        for b in bills {
            let month = Period::month_of(b.due_date).start();
            units.entry((b.community_id, b.unit_id, month)).or_default().push(b);
        }
        for ((community_id, _, month), unit_bills) in units {
            let building = unit_bills[0].building.clone();
            let days = change_days(unit_bills.iter().copied());
            let mut groups: BTreeSet<i32> = unit_bills.iter().map(|b| b.fee_item_id).collect();
            groups.insert(ALL_ITEMS);
            for item in groups {
                let members: Vec<&BillFacts> = unit_bills
                    .iter()
                    .copied()
                    .filter(|b| item == ALL_ITEMS || b.fee_item_id == item)
                    .collect();
                let mut before = Households::default();
                for &on in &days {
                    let now = Households::of(&members, on);
                    part.add_households(
                        HouseholdKey {
                            community_id,
                            building: building.clone(),
                            fee_item_id: item,
                            month,
                            on,
                        },
                        now.plus(before, -1),
                    );
                    before = now;
                }
            }
        }
        part
    }

    /// A bill's recoveries for each year it was in arrears at the start of, from its first entry
    /// in that year on.
    fn add_recoveries(&mut self, b: &BillFacts) {
        let Some(last) = b.moves.iter().map(|m| m.on).max() else {
            return;
        };
        for year in b.due_date.year() + 1..=last.year() {
            let (_, eve) = reports::year_start(Period::Month { year, month: 1 });
            if b.unpaid(eve) == 0 {
                continue;
            }
            let mut before = Recovery::default();
            for on in change_days([b]).into_iter().filter(|d| *d > eve) {
                let (recovered_fen, waived_fen) = b.since_year_start(eve, on);
                let now = Recovery {
                    recovered_fen,
                    waived_fen,
                };
                let delta = now.plus(before, -1);
                if delta != Recovery::default() {
                    let sum = self
                        .clearance
                        .entry(ClearanceKey {
                            community_id: b.community_id,
                            building: b.building.clone(),
                            fee_item_id: b.fee_item_id,
                            year,
                            on,
                        })
                        .or_default();
                    *sum = sum.plus(delta, 1);
                }
                before = now;
            }
        }
    }

    fn add_money(&mut self, k: MoneyKey, m: Money) {
        if m.is_zero() {
            return;
        }
        let sum = self.money.entry(k).or_default();
        *sum = sum.plus(m, 1);
    }

    fn add_households(&mut self, k: HouseholdKey, h: Households) {
        if h == Households::default() {
            return;
        }
        let sum = self.households.entry(k).or_default();
        *sum = sum.plus(h, 1);
    }

    /// `self − earlier`: what changed, rows that did not change left out.
    pub fn since(&self, earlier: &Part) -> Part {
        let mut d = self.clone();
        for (k, m) in &earlier.money {
            let sum = d.money.entry(k.clone()).or_default();
            *sum = sum.plus(*m, -1);
        }
        for (k, h) in &earlier.households {
            let sum = d.households.entry(k.clone()).or_default();
            *sum = sum.plus(*h, -1);
        }
        for (k, r) in &earlier.clearance {
            let sum = d.clearance.entry(k.clone()).or_default();
            *sum = sum.plus(*r, -1);
        }
        d.drop_nothing();
        d
    }

    fn drop_nothing(&mut self) {
        self.money.retain(|_, m| !m.is_zero());
        self.households.retain(|_, h| *h != Households::default());
        self.clearance.retain(|_, r| *r != Recovery::default());
    }

    /// Adds other rows in (rows that come to nothing are dropped).
    pub fn absorb(&mut self, other: Part) {
        for (k, m) in other.money {
            self.add_money(k, m);
        }
        for (k, h) in other.households {
            self.add_households(k, h);
        }
        for (k, r) in other.clearance {
            let sum = self.clearance.entry(k).or_default();
            *sum = sum.plus(r, 1);
        }
        self.drop_nothing();
    }

    pub fn is_empty(&self) -> bool {
        self.money.is_empty() && self.households.is_empty() && self.clearance.is_empty()
    }
}

/// The rollup's sums a report is made of (each as of the day it says).
#[derive(Debug, Clone, Default)]
pub struct Sums {
    /// The period's bills as of `as_of`, by community, building and fee item.
    pub money: Vec<((i32, String, i32), Money)>,
    /// The period's households as of `as_of`, by community, building and fee item (or `ALL_ITEMS`).
    pub households: Vec<((i32, String, i32), Households)>,
    /// Unpaid principal on `as_of` of bills due by then, by due date.
    pub unpaid_by_due_date: Vec<(NaiveDate, i64)>,
    /// Each trend month's money as of its last day, by the month's first day.
    pub trend: BTreeMap<NaiveDate, Money>,
    /// Unpaid principal of bills due before the period's year, at the end of the eve of the year
    /// or of `as_of` if earlier.
    pub arrears_at_year_start_fen: i64,
    /// Recovered and waived of those arrears by `as_of`.
    pub recovery: Recovery,
}

fn collection(m: Money, h: Households) -> Collection {
    Collection {
        receivable_fen: m.receivable_fen,
        collected_fen: m.collected_fen,
        late_fee_collected_fen: m.late_fee_fen,
        households_billed: usize::try_from(h.billed).unwrap_or(0),
        households_paid: usize::try_from(h.paid).unwrap_or(0),
    }
}

/// The report from the rollup's sums.
pub fn report(sums: &Sums, period: Period, as_of: NaiveDate) -> Report {
    let mut total_m = Money::default();
    let mut total_h = Households::default();
    let mut by_building: BTreeMap<(i32, String), (Money, Households)> = BTreeMap::new();
    let mut by_fee_item: BTreeMap<i32, (Money, Households)> = BTreeMap::new();
    for ((community_id, building, item), m) in &sums.money {
        total_m = total_m.plus(*m, 1);
        let b = by_building.entry((*community_id, building.clone())).or_default();
        b.0 = b.0.plus(*m, 1);
        let f = by_fee_item.entry(*item).or_default();
        f.0 = f.0.plus(*m, 1);
    }
    for ((community_id, building, item), h) in &sums.households {
        if *item == ALL_ITEMS {
            total_h = total_h.plus(*h, 1);
            if let Some(b) = by_building.get_mut(&(*community_id, building.clone())) {
                b.1 = b.1.plus(*h, 1);
            }
        } else if let Some(f) = by_fee_item.get_mut(item) {
            f.1 = f.1.plus(*h, 1);
        }
    }
    let mut aging = Aging::default();
    for (due, owed) in &sums.unpaid_by_due_date {
        aging.add(*due, as_of, *owed);
    }
    let clearance = Clearance {
        arrears_at_year_start_fen: sums.arrears_at_year_start_fen,
        recovered_fen: sums.recovery.recovered_fen,
        waived_fen: sums.recovery.waived_fen,
    };
    let trend = reports::trend_months(period)
        .into_iter()
        .map(|p| {
            let m = sums.trend.get(&p.start()).copied().unwrap_or_default();
            TrendPoint {
                period: p,
                collection_rate: reports::rate(m.collected_fen, m.receivable_fen),
            }
        })
        .collect();
    Report {
        period,
        as_of,
        total: collection(total_m, total_h),
        clearance,
        by_building: by_building
            .into_iter()
            .map(|(k, (m, h))| (k, collection(m, h)))
            .collect(),
        by_fee_item: by_fee_item
            .into_iter()
            .map(|(k, (m, h))| (k, collection(m, h)))
            .collect(),
        aging,
        trend,
    }
}

/// The sums a database would give for this report, from a part held in memory (what the service's
/// queries compute, for the tests that compare the two).
pub fn sums_of(part: &Part, period: Period, as_of: NaiveDate) -> Sums {
    let mut money: BTreeMap<(i32, String, i32), Money> = BTreeMap::new();
    let mut unpaid: BTreeMap<NaiveDate, i64> = BTreeMap::new();
    let mut trend: BTreeMap<NaiveDate, Money> = BTreeMap::new();
    let months = reports::trend_months(period);
    let (year_start, eve) = reports::year_start(period);
    let mut arrears = 0;
    for (k, m) in &part.money {
        if k.on <= as_of && Period::month_of(k.due_date) == period {
            let sum = money
                .entry((k.community_id, k.building.clone(), k.fee_item_id))
                .or_default();
            *sum = sum.plus(*m, 1);
        }
        if k.on <= as_of && k.due_date <= as_of {
            *unpaid.entry(k.due_date).or_default() += m.unpaid_fen;
        }
        let month = Period::month_of(k.due_date);
        if months.contains(&month) && k.on <= month.end() {
            let sum = trend.entry(month.start()).or_default();
            *sum = sum.plus(*m, 1);
        }
        if k.due_date < year_start && k.on <= eve.min(as_of) {
            arrears += m.unpaid_fen;
        }
    }
    let mut recovery = Recovery::default();
    for (k, r) in &part.clearance {
        if k.year == year_start.year() && k.on <= as_of {
            recovery = recovery.plus(*r, 1);
        }
    }
    let mut households: BTreeMap<(i32, String, i32), Households> = BTreeMap::new();
    for (k, h) in &part.households {
        if k.on <= as_of && k.month == period.start() {
            let sum = households
                .entry((k.community_id, k.building.clone(), k.fee_item_id))
                .or_default();
            *sum = sum.plus(*h, 1);
        }
    }
    Sums {
        money: money.into_iter().collect(),
        households: households.into_iter().collect(),
        unpaid_by_due_date: unpaid.into_iter().collect(),
        trend,
        arrears_at_year_start_fen: arrears,
        recovery,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::reports::Move;
    use crate::domain::states::EntryKind;
    use proptest::prelude::*;

    fn d(s: &str) -> NaiveDate {
        NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap()
    }

    fn kind() -> impl Strategy<Value = EntryKind> {
        prop_oneof![
            Just(EntryKind::Payment),
            Just(EntryKind::Refund),
            Just(EntryKind::Adjustment),
            Just(EntryKind::PrepayDiscount),
            Just(EntryKind::Cancel),
            Just(EntryKind::LateFeeWaiver),
            Just(EntryKind::Reschedule),
            Just(EntryKind::InstalmentCredit),
        ]
    }

    /// Bills of a few units, buildings and fee items over 2025-2026, with entries of every kind.
    fn estate() -> impl Strategy<Value = Vec<BillFacts>> {
        let bill = (
            1..6i32,
            1..4i32,
            0..24u32,
            prop_oneof![Just(5u32), Just(15), Just(28)],
            1..50_000i64,
            prop::collection::vec((kind(), -20_000..40_000i64, 0..500i64, 0..700u64), 0..5),
        );
        prop::collection::vec(bill, 1..25).prop_map(|bills| {
            bills
                .into_iter()
                .map(|(unit, item, month, day, principal, moves)| {
                    // As the ledger keeps it: the principal as billed (now plus every adjustment,
                    // each old − new) was above zero.
                    let adjusted: i64 = moves.iter().filter(|m| m.0 == EntryKind::Adjustment).map(|m| m.1).sum();
                    let principal = principal.max(1 - adjusted);
                    let start = d("2025-01-01");
                    let due = Period::month_of(start + chrono::Months::new(month))
                        .start()
                        .with_day0(day - 1)
                        .unwrap_or(start);
                    BillFacts {
                        community_id: 1 + unit % 2,
                        unit_id: unit,
                        building: format!("{}", unit % 3),
                        fee_item_id: item,
                        due_date: due,
                        principal_fen: principal,
                        moves: moves
                            .into_iter()
                            .map(|(kind, p, l, offset)| Move {
                                kind,
                                principal_fen: p,
                                late_fee_fen: l,
                                on: start + chrono::Days::new(offset),
                            })
                            .collect(),
                    }
                })
                .collect()
        })
    }

    proptest! {
        /// The rollup's report equals the full recomputation on any estate, period and day.
        #[test]
        fn the_rollup_equals_a_full_recomputation(bills in estate(), month in 0..24u32, day in 0..760u64) {
            let period = Period::month_of(d("2025-01-01") + chrono::Months::new(month));
            let as_of = d("2024-12-20") + chrono::Days::new(day);
            let part = Part::of(&bills);
            let from_rollup = report(&sums_of(&part, period, as_of), period, as_of);
            prop_assert_eq!(from_rollup, reports::report(&bills, period, as_of));
        }

        /// A write's difference, added to the rollup before it, is the rollup after it.
        #[test]
        fn differences_add_up(bills in estate(), split in 0..25usize) {
            let (a, _) = bills.split_at(split.min(bills.len()));
            // "Before": only the bills of `a`; "after": all of them (new bills and entries alike).
            let before = Part::of(a);
            let after = Part::of(&bills);
            let mut rolled = before.clone();
            rolled.absorb(after.since(&before));
            prop_assert_eq!(rolled, after);
        }
    }

    #[test]
    fn a_paid_bill_moves_its_household_on_the_day_it_was_paid() {
        let b = BillFacts {
            community_id: 1,
            unit_id: 7,
            building: "A".into(),
            fee_item_id: 1,
            due_date: d("2026-11-15"),
            principal_fen: 10_000,
            moves: vec![Move {
                kind: EntryKind::Payment,
                principal_fen: 10_000,
                late_fee_fen: 0,
                on: d("2026-11-20"),
            }],
        };
        let p = Part::of(&[b]);
        let key = |item, on: &str| HouseholdKey {
            community_id: 1,
            building: "A".into(),
            fee_item_id: item,
            month: d("2026-11-01"),
            on: d(on),
        };
        assert_eq!(
            p.households[&key(ALL_ITEMS, "1970-01-01")],
            Households { billed: 1, paid: 0 }
        );
        assert_eq!(
            p.households[&key(ALL_ITEMS, "2026-11-20")],
            Households { billed: 0, paid: 1 }
        );
        assert_eq!(p.households[&key(1, "2026-11-20")], Households { billed: 0, paid: 1 });
        assert_eq!(p.households.len(), 4);
        assert_eq!(p.money.len(), 2, "issued, then paid");
    }
}
