//! Late fees (滞纳金), exactly as API.md: daily accrual after the grace period on the principal
//! outstanding each day, rounded half-up to the fen once, capped at `cap_ratio × principal`.
//! Pure functions over `rust_decimal`: no I/O, property-tested below.
use chrono::NaiveDate;
use rust_decimal::{Decimal, RoundingStrategy};

use super::money::{parse_decimal, Fen};

/// A community's contractual late-fee terms.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LateFeePolicy {
    /// Per day on the outstanding principal, e.g. 0.0005 (万分之五).
    pub daily_rate: Decimal,
    pub grace_days: i32,
    /// Cap as a share of the principal, e.g. 1.00. Civil Code art. 585: excessive penalties are cut.
    pub cap_ratio: Decimal,
}

impl LateFeePolicy {
    /// Validates raw terms; the error lists every offending field.
    pub fn parse(
        daily_rate: &str,
        grace_days: i64,
        cap_ratio: &str,
    ) -> Result<Self, Vec<(&'static str, &'static str)>> {
        let mut errors = Vec::new();
        let rate = parse_decimal(daily_rate, 6).filter(|d| *d >= Decimal::ZERO && *d <= Decimal::new(1, 2));
        if rate.is_none() {
            errors.push(("late_fee.daily_rate", "日利率应为0到0.01之间的小数，最多6位小数"));
        }
        let grace = i32::try_from(grace_days).ok().filter(|g| (0..=365).contains(g));
        if grace.is_none() {
            errors.push(("late_fee.grace_days", "宽限天数应在0到365之间"));
        }
        let cap = parse_decimal(cap_ratio, 4).filter(|d| *d >= Decimal::ZERO && *d <= Decimal::ONE);
        if cap.is_none() {
            errors.push(("late_fee.cap_ratio", "上限比例应为0到1之间的小数"));
        }
        match (rate, grace, cap) {
            (Some(daily_rate), Some(grace_days), Some(cap_ratio)) => Ok(Self {
                daily_rate,
                grace_days,
                cap_ratio,
            }),
            _ => Err(errors),
        }
    }
}

/// A change of a bill's outstanding principal on a (community-local) date: a payment reduces it
/// (`paid_fen > 0`), a refund reopens it (`paid_fen < 0`). A payment counts from the next day (the
/// late fee it paid, computed as of its day, covered that day); a refund reopens from its own day
/// (late fees accrue again from the refund date).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PrincipalMove {
    pub on: NaiveDate,
    pub paid_fen: i64,
}

/// The result of the late-fee arithmetic for one bill on one day.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LateFee {
    /// `min(round_half_up(Σ outstanding × rate), cap)`, before payments of late fee and waivers.
    pub accrued: Fen,
    /// First day that accrues (due date + grace days + 1).
    pub start: NaiveDate,
    /// Days from `start` to the as-of day on which some principal was outstanding.
    pub chargeable_days: i64,
    /// True when the cap, not the days, decided the amount.
    pub capped: bool,
    /// The daily rates that applied between `start` and the as-of day, in order.
    pub segments: Vec<RateSegment>,
    /// The terms in force on the due date (their grace days and cap are the bill's).
    pub terms: LateFeePolicy,
}

/// A run of days accruing at one daily rate.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RateSegment {
    pub from: NaiveDate,
    pub to: NaiveDate,
    pub daily_rate: Decimal,
}

/// Half-up to whole fen (`MidpointAwayFromZero`; `round_dp` alone would be banker's rounding).
pub fn round_fen(fen: Decimal) -> i64 {
    let r = fen.round_dp_with_strategy(0, RoundingStrategy::MidpointAwayFromZero);
    i64::try_from(r).unwrap_or(i64::MAX)
}

impl LateFeePolicy {
    /// First day on which a bill due on `due` accrues late fees.
    pub fn accrual_start(&self, due: NaiveDate) -> NaiveDate {
        due + chrono::Duration::days(i64::from(self.grace_days) + 1)
    }

    /// `round_half_up(cap_ratio × principal, 2)` in fen.
    pub fn cap(&self, principal_fen: i64) -> Fen {
        Fen(round_fen(self.cap_ratio * Decimal::from(principal_fen)))
    }

    /// The late fee under these terms alone (no later change).
    pub fn late_fee(&self, principal_fen: i64, due: NaiveDate, moves: &[PrincipalMove], as_of: NaiveDate) -> LateFee {
        LateFeeSchedule::single(self.clone()).late_fee(principal_fen, due, moves, as_of)
    }

    /// The explanation under these terms alone.
    pub fn explain(&self, fee: &LateFee, due: NaiveDate, as_of: NaiveDate) -> String {
        LateFeeSchedule::single(self.clone()).explain(fee, due, as_of)
    }
}

/// A community's late-fee terms over time: the first terms, then dated changes. Terms change only
/// from their effective date (never retroactively): each day accrues at the daily rate in force
/// that day, while a bill's grace days and cap are those in force on its due date.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LateFeeSchedule {
    first: LateFeePolicy,
    /// (effective from, terms), ordered by date; a later entry for the same date wins.
    changes: Vec<(NaiveDate, LateFeePolicy)>,
}

impl LateFeeSchedule {
    pub fn single(first: LateFeePolicy) -> Self {
        LateFeeSchedule {
            first,
            changes: Vec::new(),
        }
    }

    /// Adds terms in force from `from` (kept in date order; ties keep insertion order).
    pub fn with_change(mut self, from: NaiveDate, terms: LateFeePolicy) -> Self {
        let at = self.changes.partition_point(|(d, _)| *d <= from);
        self.changes.insert(at, (from, terms));
        self
    }

    /// The terms in force on `day`.
    pub fn terms_on(&self, day: NaiveDate) -> &LateFeePolicy {
        self.changes
            .iter()
            .rev()
            .find(|(d, _)| *d <= day)
            .map(|(_, t)| t)
            .unwrap_or(&self.first)
    }

    /// Maximal runs of days in [from, to] with one daily rate.
    pub fn rate_segments(&self, from: NaiveDate, to: NaiveDate) -> Vec<RateSegment> {
        let mut out: Vec<RateSegment> = Vec::new();
        if to < from {
            return out;
        }
        let mut bounds: Vec<NaiveDate> = vec![from];
        bounds.extend(self.changes.iter().map(|(d, _)| *d).filter(|d| *d > from && *d <= to));
        bounds.dedup();
        for (i, start) in bounds.iter().enumerate() {
            let end = bounds.get(i + 1).map(|n| *n - chrono::Duration::days(1)).unwrap_or(to);
            let rate = self.terms_on(*start).daily_rate;
            match out.last_mut() {
                Some(last) if last.daily_rate == rate => last.to = end,
                _ => out.push(RateSegment {
                    from: *start,
                    to: end,
                    daily_rate: rate,
                }),
            }
        }
        out
    }

    /// The late fee accrued on `as_of` by a bill of `principal_fen` due on `due`, given its
    /// principal movements (in any order).
    pub fn late_fee(&self, principal_fen: i64, due: NaiveDate, moves: &[PrincipalMove], as_of: NaiveDate) -> LateFee {
        let terms = self.terms_on(due).clone();
        let start = terms.accrual_start(due);
        let none = LateFee {
            accrued: Fen(0),
            start,
            chargeable_days: 0,
            capped: false,
            segments: Vec::new(),
            terms: terms.clone(),
        };
        if as_of < start || principal_fen <= 0 {
            return none;
        }
        let mut moves: Vec<PrincipalMove> = moves
            .iter()
            .map(|m| PrincipalMove {
                on: if m.paid_fen > 0 {
                    m.on + chrono::Duration::days(1)
                } else {
                    m.on
                },
                ..*m
            })
            .collect();
        moves.sort_by_key(|m| m.on);
        let outstanding = |paid: i64| (principal_fen - paid).clamp(0, principal_fen);
        let segments = self.rate_segments(start, as_of);
        // Σ outstanding(day) × rate(day) over [start, as_of], in runs where both are constant; exact
        // decimals, rounded once at the end.
        let (mut total, mut days_charged) = (Decimal::ZERO, 0i64);
        let (mut day, mut i, mut paid) = (start, 0usize, 0i64);
        loop {
            while i < moves.len() && moves[i].on <= day {
                paid += moves[i].paid_fen;
                i += 1;
            }
            let seg = segments
                .iter()
                .find(|s| s.from <= day && day <= s.to)
                .map(|s| (s.to, s.daily_rate))
                .unwrap_or((as_of, terms.daily_rate));
            let mut end = seg.0.min(as_of);
            if let Some(m) = moves.get(i) {
                if m.on <= end {
                    end = m.on - chrono::Duration::days(1);
                }
            }
            let days = (end - day).num_days() + 1;
            let out = outstanding(paid);
            total += Decimal::from(out) * Decimal::from(days) * seg.1;
            if out > 0 {
                days_charged += days;
            }
            if end >= as_of {
                break;
            }
            day = end + chrono::Duration::days(1);
        }
        let raw = Fen(round_fen(total));
        let cap = terms.cap(principal_fen);
        LateFee {
            accrued: raw.min(cap),
            start,
            chargeable_days: days_charged,
            capped: raw > cap,
            segments,
            terms,
        }
    }

    /// The owner-facing Chinese explanation, e.g.
    /// "宽限期后自2026-09-26起计收45天，按日万分之五，上限为本金的100%", naming each rate when
    /// the terms changed on the way ("…，2026-09-26至2026-10-31按日万分之五，2026-11-01起按日万分之三，…").
    pub fn explain(&self, fee: &LateFee, due: NaiveDate, as_of: NaiveDate) -> String {
        let cap = format!("上限为本金的{}", percent(fee.terms.cap_ratio));
        if as_of < fee.start {
            let grace_end = fee.start - chrono::Duration::days(1);
            let terms = format!("按日{}，{cap}", rate_words(fee.terms.daily_rate));
            if as_of < due {
                return format!("{due}到期，宽限期至{grace_end}，逾期后{terms}");
            }
            return format!("宽限期内（至{grace_end}），暂不计收滞纳金；宽限期后{terms}");
        }
        let rates = match fee.segments.as_slice() {
            [] | [_] => format!(
                "按日{}",
                rate_words(fee.segments.first().map_or(fee.terms.daily_rate, |s| s.daily_rate))
            ),
            many => many
                .iter()
                .enumerate()
                .map(|(i, s)| {
                    if i + 1 == many.len() {
                        format!("{}起按日{}", s.from, rate_words(s.daily_rate))
                    } else {
                        format!("{}至{}按日{}", s.from, s.to, rate_words(s.daily_rate))
                    }
                })
                .collect::<Vec<_>>()
                .join("，"),
        };
        let mut s = format!("宽限期后自{}起计收{}天，{rates}，{cap}", fee.start, fee.chargeable_days);
        if fee.capped {
            s.push_str("（已达上限）");
        }
        s
    }
}

/// `0.0005` → "万分之五"; rates that are not whole ten-thousandths → "0.055%".
fn rate_words(rate: Decimal) -> String {
    let per_10k = rate * Decimal::from(10_000);
    if per_10k.fract().is_zero() && per_10k > Decimal::ZERO && per_10k < Decimal::from(100) {
        let n = i64::try_from(per_10k).unwrap_or(0);
        return format!("万分之{}", chinese_number(n));
    }
    format!("{}%", (rate * Decimal::ONE_HUNDRED).normalize())
}

fn chinese_number(n: i64) -> String {
    const D: [&str; 10] = ["零", "一", "二", "三", "四", "五", "六", "七", "八", "九"];
    let digit = |d: i64| D[usize::try_from(d).unwrap_or(0) % 10];
    match n {
        0..=9 => digit(n).to_string(),
        10 => "十".into(),
        11..=19 => format!("十{}", digit(n % 10)),
        _ if n % 10 == 0 => format!("{}十", digit(n / 10)),
        _ => format!("{}十{}", digit(n / 10), digit(n % 10)),
    }
}

fn percent(ratio: Decimal) -> String {
    format!("{}%", (ratio * Decimal::ONE_HUNDRED).normalize())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn policy_bounds() {
        assert_eq!(LateFeePolicy::parse("x", 999, "y").unwrap_err().len(), 3);
        assert!(LateFeePolicy::parse("0.0005", 15, "1.00").is_ok());
        assert_eq!(
            LateFeePolicy::parse("-0.1", 15, "1").unwrap_err()[0].0,
            "late_fee.daily_rate"
        );
        assert_eq!(
            LateFeePolicy::parse("0.0005", -1, "1").unwrap_err()[0].0,
            "late_fee.grace_days"
        );
        assert_eq!(
            LateFeePolicy::parse("0.0005", 1, "1.5").unwrap_err()[0].0,
            "late_fee.cap_ratio"
        );
    }

    use proptest::prelude::*;
    use std::str::FromStr;

    fn d(s: &str) -> NaiveDate {
        NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap()
    }

    fn policy() -> LateFeePolicy {
        LateFeePolicy::parse("0.0005", 15, "1.00").unwrap()
    }

    #[test]
    fn the_api_md_example() {
        let p = policy();
        let due = d("2026-09-10");
        // 2026-09-26 .. 2026-11-09 is 45 days.
        let fee = p.late_fee(100_000, due, &[], d("2026-11-09"));
        assert_eq!(fee.start, d("2026-09-26"));
        assert_eq!(fee.chargeable_days, 45);
        assert_eq!(fee.accrued, Fen(2_250)); // 1000.00 × 0.0005 × 45 = 22.50
        assert_eq!(
            p.explain(&fee, due, d("2026-11-09")),
            "宽限期后自2026-09-26起计收45天，按日万分之五，上限为本金的100%"
        );
    }

    #[test]
    fn grace_period_and_not_yet_due_explanations() {
        let p = policy();
        let due = d("2026-09-10");
        let fee = p.late_fee(100_000, due, &[], d("2026-09-25"));
        assert_eq!(fee.accrued, Fen(0));
        assert!(p
            .explain(&fee, due, d("2026-09-25"))
            .starts_with("宽限期内（至2026-09-25）"));
        assert!(p.explain(&fee, due, d("2026-09-01")).starts_with("2026-09-10到期"));
    }

    #[test]
    fn partial_payment_accrues_on_what_is_left() {
        let p = policy();
        let due = d("2026-01-10");
        // 11 days on 1000.00 (the payment day is still charged: its late fee was paid with it),
        // then 9 days on 400.00.
        let moves = [PrincipalMove {
            on: d("2026-02-05"),
            paid_fen: 60_000,
        }];
        let fee = p.late_fee(100_000, due, &moves, d("2026-02-14"));
        assert_eq!(fee.accrued, Fen(550 + 180));
        // A refund reopens principal from its date.
        let moves = [
            PrincipalMove {
                on: d("2026-01-20"),
                paid_fen: 100_000,
            },
            PrincipalMove {
                on: d("2026-02-05"),
                paid_fen: -100_000,
            },
        ];
        let fee = p.late_fee(100_000, due, &moves, d("2026-02-14"));
        assert_eq!((fee.accrued, fee.chargeable_days), (Fen(500), 10));
    }

    #[test]
    fn rounding_is_half_up_once() {
        // 0.01 yuan principal… 333 fen × 0.0005 × 3 days = 0.4995 fen → 0; × 30 days = 4.995 → 5.
        let p = LateFeePolicy::parse("0.0005", 0, "1").unwrap();
        let due = d("2026-01-01");
        assert_eq!(p.late_fee(333, due, &[], d("2026-01-04")).accrued, Fen(0));
        assert_eq!(p.late_fee(333, due, &[], d("2026-01-31")).accrued, Fen(5));
        assert_eq!(round_fen(Decimal::from_str("2.5").unwrap()), 3);
        assert_eq!(round_fen(Decimal::from_str("3.5").unwrap()), 4);
    }

    #[test]
    fn each_day_accrues_at_its_own_rate_and_grace_and_cap_are_the_due_dates() {
        let old = policy();
        let new = LateFeePolicy::parse("0.0003", 30, "0.10").unwrap();
        let s = LateFeeSchedule::single(old.clone()).with_change(d("2026-11-01"), new.clone());
        assert_eq!(s.terms_on(d("2026-10-31")), &old);
        assert_eq!(s.terms_on(d("2026-11-01")), &new);
        let due = d("2026-09-10");
        // Old grace (15) and cap (100 %) because the bill fell due under the old terms:
        // 2026-09-26..10-31 = 36 days at 0.0005, 11-01..11-09 = 9 days at 0.0003.
        let fee = s.late_fee(100_000, due, &[], d("2026-11-09"));
        assert_eq!(fee.start, d("2026-09-26"));
        assert_eq!(fee.accrued, Fen(1_800 + 270));
        assert_eq!(fee.chargeable_days, 45);
        assert_eq!(
            s.explain(&fee, due, d("2026-11-09")),
            "宽限期后自2026-09-26起计收45天，2026-09-26至2026-10-31按日万分之五，2026-11-01起按日万分之三，上限为本金的100%"
        );
        // Days before the change are never recomputed: the fee up to 10-31 is what it was.
        assert_eq!(
            s.late_fee(100_000, due, &[], d("2026-10-31")).accrued,
            old.late_fee(100_000, due, &[], d("2026-10-31")).accrued
        );
        // A bill due under the new terms takes their grace and cap.
        let later = s.late_fee(100_000, d("2026-11-10"), &[], d("2027-12-31"));
        assert_eq!(later.start, d("2026-12-11"));
        assert_eq!(later.accrued, Fen(10_000));
        assert!(later.capped);
        // A payment still stops accrual under any rate.
        let paid = [PrincipalMove {
            on: d("2026-10-05"),
            paid_fen: 100_000,
        }];
        assert_eq!(s.late_fee(100_000, due, &paid, d("2026-11-09")).accrued, Fen(500));
    }

    #[test]
    fn same_rates_merge_and_ties_take_the_later_entry() {
        let a = policy();
        let b = LateFeePolicy::parse("0.0005", 10, "0.5").unwrap();
        let c = LateFeePolicy::parse("0.0002", 10, "0.5").unwrap();
        let s = LateFeeSchedule::single(a)
            .with_change(d("2026-03-01"), b)
            .with_change(d("2026-03-01"), c.clone());
        assert_eq!(s.terms_on(d("2026-03-01")), &c);
        let s2 = LateFeeSchedule::single(policy())
            .with_change(d("2026-03-01"), LateFeePolicy::parse("0.0005", 1, "1").unwrap());
        assert_eq!(s2.rate_segments(d("2026-01-01"), d("2026-06-30")).len(), 1);
    }

    #[test]
    fn rate_and_cap_words() {
        assert_eq!(rate_words(Decimal::from_str("0.0003").unwrap()), "万分之三");
        assert_eq!(rate_words(Decimal::from_str("0.0015").unwrap()), "万分之十五");
        assert_eq!(rate_words(Decimal::from_str("0.003").unwrap()), "万分之三十");
        assert_eq!(rate_words(Decimal::from_str("0.00055").unwrap()), "0.055%");
        assert_eq!(percent(Decimal::from_str("0.5").unwrap()), "50%");
    }

    fn arb_policy() -> impl Strategy<Value = LateFeePolicy> {
        (0u32..=100, 0i64..60, 0u32..=100).prop_map(|(r, g, c)| LateFeePolicy {
            daily_rate: Decimal::new(i64::from(r), 5),
            grace_days: g as i32,
            cap_ratio: Decimal::new(i64::from(c), 2),
        })
    }

    proptest! {
        #[test]
        fn never_negative_never_above_cap(p in arb_policy(), principal in 1i64..10_000_000, age in 0i64..2000,
                                          pays in proptest::collection::vec((0i64..2000, -50_000i64..200_000), 0..5)) {
            let due = d("2024-01-15");
            let moves: Vec<_> = pays.iter().map(|(o, f)| PrincipalMove { on: due + chrono::Duration::days(*o), paid_fen: *f }).collect();
            let fee = p.late_fee(principal, due, &moves, due + chrono::Duration::days(age));
            prop_assert!(fee.accrued.0 >= 0);
            prop_assert!(fee.accrued <= p.cap(principal));
        }

        #[test]
        fn non_decreasing_without_payments(p in arb_policy(), principal in 1i64..10_000_000, a in 0i64..2000, b in 0i64..2000) {
            let due = d("2024-01-15");
            let (lo, hi) = (a.min(b), a.max(b));
            let f = |x: i64| p.late_fee(principal, due, &[], due + chrono::Duration::days(x)).accrued;
            prop_assert!(f(lo) <= f(hi));
        }

        #[test]
        fn zero_within_grace(p in arb_policy(), principal in 1i64..10_000_000, age in 0i64..60) {
            let due = d("2024-01-15");
            prop_assume!(age <= i64::from(p.grace_days));
            prop_assert_eq!(p.late_fee(principal, due, &[], due + chrono::Duration::days(age)).accrued, Fen(0));
        }

        /// With a rate change, the fee is the sum of each part at its rate, rounded once.
        #[test]
        fn a_change_splits_the_sum_at_its_date(p in arb_policy(), q in arb_policy(), principal in 1i64..10_000_000,
                                              change in 0i64..400, age in 0i64..800) {
            let due = d("2024-01-15");
            let from = due + chrono::Duration::days(change);
            let s = LateFeeSchedule::single(p.clone()).with_change(from, q.clone());
            let as_of = due + chrono::Duration::days(age);
            let days = |a: NaiveDate, b: NaiveDate| if b < a { 0 } else { (b - a).num_days() + 1 };
            // Grace and cap come from the terms in force on the due date.
            let terms = if from <= due { &q } else { &p };
            let start = terms.accrual_start(due);
            let before = days(start, as_of.min(from - chrono::Duration::days(1)));
            let after = days(start.max(from), as_of);
            let exact = round_fen(Decimal::from(principal) * (p.daily_rate * Decimal::from(before) + q.daily_rate * Decimal::from(after)));
            let fee = s.late_fee(principal, due, &[], as_of);
            prop_assert_eq!(fee.accrued.0, exact.min(terms.cap(principal).0));
            prop_assert!(fee.accrued <= terms.cap(principal));
        }

        #[test]
        fn equals_principal_rate_days_when_nothing_paid(p in arb_policy(), principal in 1i64..10_000_000, age in 0i64..2000) {
            let due = d("2024-01-15");
            let fee = p.late_fee(principal, due, &[], due + chrono::Duration::days(age));
            let days = (age - i64::from(p.grace_days)).max(0);
            let exact = round_fen(Decimal::from(principal) * p.daily_rate * Decimal::from(days));
            prop_assert_eq!(fee.accrued.0, exact.min(p.cap(principal).0));
            prop_assert_eq!(fee.chargeable_days, days);
        }
    }
}
