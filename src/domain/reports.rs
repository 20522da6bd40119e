//! Collection reports, as API.md's "Report definitions" write them: principal only (late fees are
//! reported beside, never in a rate), every figure as the books stood at the end of `as_of`.
//!
//! A bill belongs to the month containing its due date. Its receivable is its principal as billed,
//! less adjustments, prepayment discounts, principal rescheduled into an installment plan and
//! (wholly) a cancellation dated by then; collected is what its payments brought (and, when a plan
//! defaulted, what its instalments had paid), less refunds dated by then.
use crate::domain::period::Period;
use crate::domain::states::EntryKind;
use chrono::{Datelike, NaiveDate};
use rust_decimal::{Decimal, RoundingStrategy};
use std::collections::BTreeMap;

/// One dated ledger entry of a bill.
#[derive(Debug, Clone)]
pub struct Move {
    pub kind: EntryKind,
    pub principal_fen: i64,
    pub late_fee_fen: i64,
    pub on: NaiveDate,
}

/// What the reports need of one bill.
#[derive(Debug, Clone)]
pub struct BillFacts {
    pub community_id: i32,
    pub unit_id: i32,
    pub building: String,
    pub fee_item_id: i32,
    pub due_date: NaiveDate,
    /// The bill's principal now (after every adjustment).
    pub principal_fen: i64,
    pub moves: Vec<Move>,
}

impl BillFacts {
    fn dated(&self, as_of: NaiveDate) -> impl Iterator<Item = &Move> {
        self.moves.iter().filter(move |m| m.on <= as_of)
    }

    /// Principal receivable as of the end of `as_of` (0 once cancelled).
    pub fn receivable(&self, as_of: NaiveDate) -> i64 {
        if self.dated(as_of).any(|m| m.kind == EntryKind::Cancel) {
            return 0;
        }
        // An adjustment entry holds old − new, so adjustments dated later are added back.
        let later_adjustments: i64 = self
            .moves
            .iter()
            .filter(|m| m.kind == EntryKind::Adjustment && m.on > as_of)
            .map(|m| m.principal_fen)
            .sum();
        // Discounts, and principal rescheduled into other bills (they count it in their own
        // periods; a negative reschedule brings it back when a plan defaults).
        let moved_out: i64 = self
            .dated(as_of)
            .filter(|m| matches!(m.kind, EntryKind::PrepayDiscount | EntryKind::Reschedule))
            .map(|m| m.principal_fen)
            .sum();
        self.principal_fen + later_adjustments - moved_out
    }

    /// Principal collected by the end of `as_of`, net of refunds.
    pub fn collected(&self, as_of: NaiveDate) -> i64 {
        self.dated(as_of)
            .filter(|m| {
                matches!(
                    m.kind,
                    EntryKind::Payment | EntryKind::Refund | EntryKind::InstalmentCredit
                )
            })
            .map(|m| m.principal_fen)
            .sum()
    }

    /// Late fee collected by the end of `as_of`, net of refunds (reported beside the rates).
    pub fn late_fee_collected(&self, as_of: NaiveDate) -> i64 {
        self.dated(as_of)
            .filter(|m| matches!(m.kind, EntryKind::Payment | EntryKind::Refund))
            .map(|m| m.late_fee_fen)
            .sum()
    }

    /// Principal still owed at the end of `as_of`.
    pub fn unpaid(&self, as_of: NaiveDate) -> i64 {
        (self.receivable(as_of) - self.collected(as_of)).max(0)
    }

    /// Of a bill in arrears on `eve`: principal paid (net of refunds) and principal waived,
    /// adjusted away or cancelled after it, by the end of `as_of`.
    pub fn since_year_start(&self, eve: NaiveDate, as_of: NaiveDate) -> (i64, i64) {
        (
            self.collected(as_of) - self.collected(eve),
            self.receivable(eve) - self.receivable(as_of),
        )
    }

    fn period(&self) -> Period {
        Period::month_of(self.due_date)
    }
}

/// `numerator ÷ denominator` to four decimals, half-up; None when nothing was due.
pub fn rate(numerator: i64, denominator: i64) -> Option<Decimal> {
    if denominator <= 0 {
        return None;
    }
    Some(
        (Decimal::from(numerator) / Decimal::from(denominator))
            .round_dp_with_strategy(4, RoundingStrategy::MidpointAwayFromZero),
    )
}

/// Receivable, collected and households of one group of a period's bills.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Collection {
    pub receivable_fen: i64,
    pub collected_fen: i64,
    pub late_fee_collected_fen: i64,
    pub households_billed: usize,
    pub households_paid: usize,
}

impl Collection {
    pub fn of<'a>(bills: impl IntoIterator<Item = &'a BillFacts>, as_of: NaiveDate) -> Collection {
        let mut c = Collection::default();
        // Unit → whether every one of its bills is fully paid.
        let mut units: BTreeMap<i32, bool> = BTreeMap::new();
        for b in bills {
            let due = b.receivable(as_of);
            if due <= 0 {
                continue;
            }
            let got = b.collected(as_of);
            c.receivable_fen += due;
            c.collected_fen += got;
            c.late_fee_collected_fen += b.late_fee_collected(as_of);
            let paid = got >= due;
            units.entry(b.unit_id).and_modify(|p| *p &= paid).or_insert(paid);
        }
        c.households_billed = units.len();
        c.households_paid = units.values().filter(|p| **p).count();
        c
    }

    pub fn collection_rate(&self) -> Option<Decimal> {
        rate(self.collected_fen, self.receivable_fen)
    }

    pub fn household_rate(&self) -> Option<Decimal> {
        rate(self.households_paid as i64, self.households_billed as i64)
    }
}

/// Arrears carried into the period's year and what became of them.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Clearance {
    /// Unpaid principal on 1 January of bills due before that day.
    pub arrears_at_year_start_fen: i64,
    /// Of those bills, principal paid from 1 January to `as_of`.
    pub recovered_fen: i64,
    /// Of those bills, principal waived, adjusted away or cancelled since (it leaves the base).
    pub waived_fen: i64,
}

/// 1 January of the period's year, and the day before it (arrears are counted at its end).
pub fn year_start(period: Period) -> (NaiveDate, NaiveDate) {
    let start = NaiveDate::from_ymd_opt(period.start().year(), 1, 1).unwrap_or(period.start());
    (start, start.pred_opt().unwrap_or(start))
}

impl Clearance {
    /// Over the bills given (any others are left out): those due before the year started. Asked
    /// before the year began, arrears are as the books stood on `as_of` and nothing is recovered yet.
    pub fn of<'a>(bills: impl IntoIterator<Item = &'a BillFacts>, period: Period, as_of: NaiveDate) -> Clearance {
        let (year_start, eve) = year_start(period);
        let mut c = Clearance::default();
        for b in bills.into_iter().filter(|b| b.due_date < year_start) {
            let owed = b.unpaid(as_of.min(eve));
            if owed == 0 {
                continue;
            }
            c.arrears_at_year_start_fen += owed;
            if as_of > eve {
                let (recovered, waived) = b.since_year_start(eve, as_of);
                c.recovered_fen += recovered;
                c.waived_fen += waived;
            }
        }
        c
    }

    pub fn clearance_rate(&self) -> Option<Decimal> {
        rate(self.recovered_fen, self.arrears_at_year_start_fen - self.waived_fen)
    }
}

/// Unpaid principal due by `as_of`, by days overdue on `as_of`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Aging {
    pub d0_30: i64,
    pub d31_90: i64,
    pub d91_180: i64,
    pub d181_plus: i64,
}

impl Aging {
    /// Adds what a bill due on `due` still owes on `as_of` to its bucket.
    pub fn add(&mut self, due: NaiveDate, as_of: NaiveDate, owed: i64) {
        match (as_of - due).num_days() {
            _ if owed == 0 => {}
            0..=30 => self.d0_30 += owed,
            31..=90 => self.d31_90 += owed,
            91..=180 => self.d91_180 += owed,
            _ => self.d181_plus += owed,
        }
    }
}

/// One period's collection rate as of its last day (当期收缴率).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TrendPoint {
    pub period: Period,
    pub collection_rate: Option<Decimal>,
}

/// A community's (or a set of communities') collection report.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Report {
    pub period: Period,
    pub as_of: NaiveDate,
    pub total: Collection,
    pub clearance: Clearance,
    /// By community and building.
    pub by_building: BTreeMap<(i32, String), Collection>,
    pub by_fee_item: BTreeMap<i32, Collection>,
    pub aging: Aging,
    pub trend: Vec<TrendPoint>,
}

/// The 12 months ending with `period`, oldest first.
pub fn trend_months(period: Period) -> Vec<Period> {
    let mut months = vec![period];
    while months.len() < 12 {
        let earlier = months[months.len() - 1].previous_month();
        months.push(earlier);
    }
    months.reverse();
    months
}

/// The report of `period` (a month) as of `as_of`, over every bill of the estate it is given.
pub fn report(bills: &[BillFacts], period: Period, as_of: NaiveDate) -> Report {
    let in_period: Vec<&BillFacts> = bills.iter().filter(|b| b.period() == period).collect();
    let mut by_building: BTreeMap<(i32, String), Vec<&BillFacts>> = BTreeMap::new();
    let mut by_fee_item: BTreeMap<i32, Vec<&BillFacts>> = BTreeMap::new();
    for b in &in_period {
        by_building
            .entry((b.community_id, b.building.clone()))
            .or_default()
            .push(b);
        by_fee_item.entry(b.fee_item_id).or_default().push(b);
    }
    let clearance = Clearance::of(bills, period, as_of);
    let mut aging = Aging::default();
    for b in bills.iter().filter(|b| b.due_date <= as_of) {
        aging.add(b.due_date, as_of, b.unpaid(as_of));
    }
    let trend = trend_months(period)
        .into_iter()
        .map(|p| TrendPoint {
            period: p,
            collection_rate: Collection::of(bills.iter().filter(|b| b.period() == p), p.end()).collection_rate(),
        })
        .collect();
    Report {
        period,
        as_of,
        total: Collection::of(in_period.iter().copied(), as_of),
        clearance,
        by_building: by_building
            .into_iter()
            .map(|(k, v)| (k, Collection::of(v, as_of)))
            .collect(),
        by_fee_item: by_fee_item
            .into_iter()
            .map(|(k, v)| (k, Collection::of(v, as_of)))
            .collect(),
        aging,
        trend,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> NaiveDate {
        NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap()
    }

    fn mv(kind: EntryKind, principal_fen: i64, late_fee_fen: i64, on: &str) -> Move {
        Move {
            kind,
            principal_fen,
            late_fee_fen,
            on: d(on),
        }
    }

    fn bill(unit_id: i32, building: &str, item: i32, due: &str, principal_fen: i64, moves: Vec<Move>) -> BillFacts {
        BillFacts {
            community_id: 1,
            unit_id,
            building: building.into(),
            fee_item_id: item,
            due_date: d(due),
            principal_fen,
            moves,
        }
    }

    /// A hand-computed estate (figures in fen), November 2026 as of 2026-11-30.
    fn estate() -> Vec<BillFacts> {
        use EntryKind::*;
        vec![
            // Unit 1 (A): November paid in full on 11-05.
            bill(
                1,
                "A",
                1,
                "2026-11-15",
                30_000,
                vec![mv(Payment, 30_000, 0, "2026-11-05")],
            ),
            // Unit 1: parking, November, unpaid: unit 1 is billed but not fully paid.
            bill(1, "A", 2, "2026-11-15", 10_000, vec![]),
            // Unit 2 (A): November paid 11-10, refunded 4,000 on 11-20.
            bill(
                2,
                "A",
                1,
                "2026-11-15",
                20_000,
                vec![
                    mv(Payment, 20_000, 0, "2026-11-10"),
                    mv(Refund, -4_000, 0, "2026-11-20"),
                ],
            ),
            // Unit 3 (B): November adjusted 25,000 → 15,000 on 11-02, then paid on 12-01 (after as_of).
            bill(
                3,
                "B",
                1,
                "2026-11-15",
                15_000,
                vec![
                    mv(Adjustment, 10_000, 0, "2026-11-02"),
                    mv(Payment, 15_000, 0, "2026-12-01"),
                ],
            ),
            // Unit 4 (B): November cancelled on 11-03: out of everything.
            bill(4, "B", 1, "2026-11-15", 12_000, vec![mv(Cancel, 0, 0, "2026-11-03")]),
            // Unit 5 (B): a quarterly bill due 11-10 (belongs to November), prepaid with a 1,000 discount.
            bill(
                5,
                "B",
                3,
                "2026-11-10",
                60_000,
                vec![
                    mv(PrepayDiscount, 1_000, 0, "2026-10-01"),
                    mv(Payment, 59_000, 0, "2026-10-01"),
                ],
            ),
            // Unit 3: 2025-12 arrears (due 2025-12-15) 8,000 unpaid on 1 January; 5,000 paid with 300 late fee
            // in March, 1,000 adjusted away in April.
            bill(
                3,
                "B",
                1,
                "2025-12-15",
                7_000,
                vec![
                    mv(Payment, 5_000, 300, "2026-03-01"),
                    mv(Adjustment, 1_000, 0, "2026-04-01"),
                ],
            ),
            // Unit 6: 2025-06 arrears of 9,000 (due 2025-06-15), untouched: 533 days overdue on 11-30.
            bill(6, "A", 1, "2025-06-15", 9_000, vec![]),
            // Unit 6: October 2026 unpaid, due 10-15: 46 days overdue on 11-30.
            bill(6, "A", 1, "2026-10-15", 9_000, vec![]),
            // Unit 2: October paid in time (for the trend).
            bill(
                2,
                "A",
                1,
                "2026-10-15",
                20_000,
                vec![mv(Payment, 20_000, 0, "2026-10-12")],
            ),
        ]
    }

    #[test]
    fn the_hand_computed_estate() {
        let r = report(&estate(), Period::parse("2026-11").unwrap(), d("2026-11-30"));
        // Receivable: 30,000 + 10,000 + 20,000 + 15,000 + 59,000 (cancelled out) = 134,000.
        // Collected: 30,000 + 0 + 16,000 + 0 (paid 12-01) + 59,000 = 105,000 → 0.7836 (0.78358…).
        assert_eq!(r.total.receivable_fen, 134_000);
        assert_eq!(r.total.collected_fen, 105_000);
        assert_eq!(r.total.collection_rate(), Some(Decimal::new(7836, 4)));
        // Households: units 1, 2, 3, 5 billed (4 was cancelled); paid: 5 only (1 owes parking,
        // 2 was refunded part, 3 paid after as_of).
        assert_eq!((r.total.households_billed, r.total.households_paid), (4, 1));
        assert_eq!(r.total.household_rate(), Some(Decimal::new(2500, 4)));
        // Buildings: A = 60,000 receivable, 46,000 collected; B = 74,000, 59,000.
        assert_eq!(
            (
                r.by_building[&(1, "A".to_string())].receivable_fen,
                r.by_building[&(1, "A".to_string())].collected_fen
            ),
            (60_000, 46_000)
        );
        assert_eq!(
            (
                r.by_building[&(1, "B".to_string())].receivable_fen,
                r.by_building[&(1, "B".to_string())].collected_fen
            ),
            (74_000, 59_000)
        );
        assert_eq!(r.by_fee_item[&2].collection_rate(), Some(Decimal::ZERO));
        assert_eq!(r.by_fee_item[&3].collection_rate(), Some(Decimal::ONE));
        // Clearance: 8,000 (2025-12) + 9,000 (2025-06) owed on 1 January; 5,000 recovered; 1,000
        // adjusted away → 5,000 ÷ 16,000 = 0.3125. Its late fee is beside, not in the rate.
        assert_eq!(
            r.clearance,
            Clearance {
                arrears_at_year_start_fen: 17_000,
                recovered_fen: 5_000,
                waived_fen: 1_000
            }
        );
        assert_eq!(r.clearance.clearance_rate(), Some(Decimal::new(3125, 4)));
        // Aging on 11-30: November's unpaid (10,000 parking + 4,000 refunded + 15,000 unit 3) are 15
        // days overdue; October's 9,000 is 46; 2025-12's 2,000 left is 350; 2025-06's 9,000 is 533.
        assert_eq!(
            r.aging,
            Aging {
                d0_30: 29_000,
                d31_90: 9_000,
                d91_180: 0,
                d181_plus: 11_000
            }
        );
        // Trend: October as of 10-31 is 20,000 ÷ 29,000 = 0.6897; November as of 11-30 as above;
        // months without bills have no rate.
        assert_eq!(r.trend.len(), 12);
        assert_eq!(r.trend[0].period, Period::parse("2025-12").unwrap());
        assert_eq!(r.trend[10].collection_rate, Some(Decimal::new(6897, 4)));
        assert_eq!(r.trend[11].collection_rate, Some(Decimal::new(7836, 4)));
        assert_eq!(
            r.trend[0].collection_rate,
            Some(Decimal::ZERO),
            "2025-12: 0 of 7,000+1,000"
        );
        assert_eq!(r.trend[5].collection_rate, None);
        assert_eq!(r.total.late_fee_collected_fen, 0);
    }

    #[test]
    fn figures_are_as_of_the_day_asked() {
        let es = estate();
        let nov = Period::parse("2026-11").unwrap();
        // On 11-04 the refund had not happened and the cancellation had: unit 2 is fully paid.
        let early = report(&es, nov, d("2026-11-12"));
        assert_eq!(early.total.collected_fen, 30_000 + 20_000 + 59_000);
        assert_eq!((early.total.households_billed, early.total.households_paid), (4, 2));
        // On 12-01 unit 3's November payment counts.
        let later = report(&es, nov, d("2026-12-01"));
        assert_eq!(later.total.collected_fen, 105_000 + 15_000);
        // Before the adjustment (11-01) unit 3's November was 25,000 and unit 4's not yet cancelled.
        let first = report(&es, nov, d("2026-11-01"));
        assert_eq!(
            first.total.receivable_fen,
            30_000 + 10_000 + 20_000 + 25_000 + 12_000 + 59_000
        );
    }

    #[test]
    fn rates_round_half_up_to_four_places_and_nothing_due_has_no_rate() {
        assert_eq!(rate(1, 3), Some(Decimal::new(3333, 4)));
        assert_eq!(rate(2, 3), Some(Decimal::new(6667, 4)));
        assert_eq!(rate(1, 8), Some(Decimal::new(1250, 4)));
        assert_eq!(rate(1, 20_000), Some(Decimal::new(1, 4)), "0.00005 → 0.0001");
        assert_eq!(
            rate(5, 20_000),
            Some(Decimal::new(3, 4)),
            "0.00025 → 0.0003, not to even"
        );
        assert_eq!(rate(0, 0), None);
    }
}
