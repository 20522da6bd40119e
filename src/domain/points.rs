//! Points and credit grades (issue #15), pure: what a paid bill earns, lots and their expiry,
//! spending oldest first, a reversal that outruns what is left (a debt that later earnings settle
//! first), streaks of on-time months, and the A–D credit grade with its plain explanation. The
//! points context stores lots and entries; every number it writes comes from here.
use chrono::{Datelike, Months, NaiveDate};

/// A community's points rules, earning and spending on fees (editable in the console; these are the
/// defaults).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EarnRules {
    /// Points per whole yuan of principal paid on or before the due date.
    pub points_per_yuan: i64,
    /// Extra points for a prepaid bill, in percent of the base (rounded down).
    pub prepay_bonus_percent: i64,
    /// On-time months in a row that earn `streak_bonus`.
    pub streak_months: usize,
    pub streak_bonus: i64,
    /// Grade A's multiplier in thousandths (1200 = × 1.2, rounded down).
    pub grade_a_permille: i64,
    /// Lots expire at the end of this many calendar years after the year earned.
    pub expiry_years: i32,
    /// Points that pay one yuan of fees.
    pub points_per_fee_yuan: i64,
    /// The most of an order points may pay, in percent (rounded down to the fen).
    pub max_fee_percent: i64,
}

impl Default for EarnRules {
    fn default() -> Self {
        EarnRules {
            points_per_yuan: 1,
            prepay_bonus_percent: 10,
            streak_months: 12,
            streak_bonus: 200,
            grade_a_permille: 1200,
            expiry_years: 2,
            points_per_fee_yuan: 100,
            max_fee_percent: 10,
        }
    }
}

/// When a bill's principal was paid, as earning sees it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Timing {
    /// On or before the due date.
    OnTime,
    /// Paid ahead through a prepayment (on time, with the bonus).
    Prepaid,
    /// After the due date: earns nothing.
    Late,
}

/// The timing of a payment made on `paid_on` toward a bill due on `due`.
pub fn timing(paid_on: NaiveDate, due: NaiveDate, prepaid: bool) -> Timing {
    if paid_on > due {
        Timing::Late
    } else if prepaid {
        Timing::Prepaid
    } else {
        Timing::OnTime
    }
}

/// Points a bill's principal earns: whole yuan × rate, the prepayment bonus on top, then grade A's
/// multiplier; every step rounds down (a fraction of a point is never awarded). Late: nothing.
pub fn earned(rules: &EarnRules, principal_fen: i64, t: Timing, grade: Grade) -> i64 {
    if t == Timing::Late || principal_fen <= 0 {
        return 0;
    }
    let base = principal_fen / 100 * rules.points_per_yuan;
    let bonus = if t == Timing::Prepaid {
        base * rules.prepay_bonus_percent / 100
    } else {
        0
    };
    let sub = base + bonus;
    if grade == Grade::A {
        sub * rules.grade_a_permille / 1000
    } else {
        sub
    }
}

/// The last day a lot earned on `earned_on` may be spent: 31 December, `years` years on.
pub fn expires_on(earned_on: NaiveDate, years: i32) -> NaiveDate {
    NaiveDate::from_ymd_opt(earned_on.year() + years, 12, 31).unwrap_or(earned_on)
}

/// Points earned together, expiring together.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Lot {
    pub id: i64,
    pub expires_on: NaiveDate,
    pub remaining: i64,
}

impl Lot {
    fn live(&self, today: NaiveDate) -> bool {
        self.remaining > 0 && self.expires_on >= today
    }
}

/// What an account may spend today: live lots, less any debt a reversal left.
pub fn balance(lots: &[Lot], debt: i64, today: NaiveDate) -> i64 {
    lots.iter().filter(|l| l.live(today)).map(|l| l.remaining).sum::<i64>() - debt
}

/// Not enough points: what could be spent.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Short {
    pub available: i64,
}

/// Takes `n` points from live lots, soonest expiry first (then oldest lot): (lot id, points) per lot
/// touched. A debt comes off the balance first, so an account in debt spends nothing it owes.
pub fn take_oldest(lots: &[Lot], debt: i64, n: i64, today: NaiveDate) -> Result<Vec<(i64, i64)>, Short> {
    let available = balance(lots, debt, today);
    if n <= 0 || n > available {
        return Err(Short {
            available: available.max(0),
        });
    }
    let mut live: Vec<&Lot> = lots.iter().filter(|l| l.live(today)).collect();
    live.sort_by_key(|l| (l.expires_on, l.id));
    let mut left = n;
    let mut out = Vec::new();
    for l in live {
        if left == 0 {
            break;
        }
        let take = l.remaining.min(left);
        out.push((l.id, take));
        left -= take;
    }
    Ok(out)
}

/// Lots past their last day with points left: (lot id, points that expire).
pub fn expired(lots: &[Lot], today: NaiveDate) -> Vec<(i64, i64)> {
    lots.iter()
        .filter(|l| l.remaining > 0 && l.expires_on < today)
        .map(|l| (l.id, l.remaining))
        .collect()
}

/// Reversing `n` points an award gave: taken back from the award's own lot as far as it still holds
/// them; the rest (already spent) becomes debt. Returns (taken from the lot, added to debt).
pub fn reverse(lot_remaining: i64, n: i64) -> (i64, i64) {
    let taken = lot_remaining.clamp(0, n.max(0));
    (taken, n.max(0) - taken)
}

/// New points meet a debt first: (debt left, points for the new lot).
pub fn settle(debt: i64, earned: i64) -> (i64, i64) {
    let paid = debt.clamp(0, earned.max(0));
    (debt - paid, earned.max(0) - paid)
}

/// The months that complete a streak: given each month's on-time flag in order, the indices where
/// `every` on-time months in a row have just been reached (12, 24, … in one unbroken run).
pub fn streaks(on_time: &[bool], every: usize) -> Vec<usize> {
    let mut run = 0usize;
    let mut out = Vec::new();
    for (i, ok) in on_time.iter().enumerate() {
        run = if *ok { run + 1 } else { 0 };
        if every > 0 && run > 0 && run.is_multiple_of(every) {
            out.push(i);
        }
    }
    out
}

/// Each calendar month from the first to the last that bills start in, as (year × 100 + month,
/// on time): a month is on time when it has bills and every one was paid in full by its due date;
/// a month without bills breaks a run like a late one (a streak is months in a row).
pub fn months_on_time(bills: &[(NaiveDate, bool)]) -> Vec<(i32, bool)> {
    let key = |d: NaiveDate| d.year() * 12 + d.month0() as i32;
    let (Some(first), Some(last)) = (
        bills.iter().map(|(d, _)| key(*d)).min(),
        bills.iter().map(|(d, _)| key(*d)).max(),
    ) else {
        return Vec::new();
    };
    (first..=last)
        .map(|k| {
            let mut in_month = bills.iter().filter(|(d, _)| key(*d) == k).peekable();
            let ok = in_month.peek().is_some() && in_month.all(|(_, on_time)| *on_time);
            ((k / 12) * 100 + k % 12 + 1, ok)
        })
        .collect()
}

/// Why points cannot pay an order as asked.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FeeRefusal {
    /// Points pay whole fen only: use a multiple of `step`.
    NotWhole { step: i64 },
    /// More than the order's share points may pay: at most `max_points`.
    OverCap { max_points: i64 },
}

fn gcd(a: i64, b: i64) -> i64 {
    if b == 0 {
        a.abs()
    } else {
        gcd(b, a % b)
    }
}

/// What `n` points pay of an order of `total_fen`, in fen: `n × 100 / points_per_fee_yuan`, which
/// must come out in whole fen, and no more than `max_fee_percent` of the order (rounded down).
pub fn fee_fen(rules: &EarnRules, total_fen: i64, n: i64) -> Result<i64, FeeRefusal> {
    let rate = rules.points_per_fee_yuan.max(1);
    // The smallest number of points that pays a whole number of fen.
    let step = rate / gcd(rate, 100);
    let cap_fen = total_fen * rules.max_fee_percent / 100;
    let max_points = cap_fen * rate / 100 / step * step;
    if n <= 0 || n > max_points {
        return Err(FeeRefusal::OverCap { max_points });
    }
    if n % step != 0 {
        return Err(FeeRefusal::NotWhole { step });
    }
    Ok(n * 100 / rate)
}

/// Spreads `fen` over an order's lines, oldest first, principal before late fee: each line's
/// (principal part, late-fee part), and the points that part spends — `n` points in all, each part's
/// share rounded down and the remainder on the last part paid.
pub fn split_fee(lines: &[(i64, i64)], fen: i64, n: i64) -> Vec<(i64, i64, i64)> {
    let mut left = fen;
    let mut out: Vec<(i64, i64, i64)> = lines
        .iter()
        .map(|(principal, late)| {
            let p = left.min(*principal).max(0);
            left -= p;
            let l = left.min(*late).max(0);
            left -= l;
            let share = if fen > 0 { (p + l) * n / fen } else { 0 };
            (p, l, share)
        })
        .collect();
    let given: i64 = out.iter().map(|(_, _, s)| s).sum();
    if let Some(last) = out.iter_mut().rev().find(|(p, l, _)| p + l > 0) {
        last.2 += n - given;
    }
    out
}

/// Credit grade from the last 24 months (never published; it drives perks and reminder cadence).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Grade {
    A,
    B,
    C,
    D,
}

impl Grade {
    pub fn as_str(self) -> &'static str {
        match self {
            Grade::A => "A",
            Grade::B => "B",
            Grade::C => "C",
            Grade::D => "D",
        }
    }
}

/// One bill as the grade sees it: when it was due and the day it was paid in full, if it was.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BillRecord {
    pub due: NaiveDate,
    pub settled_on: Option<NaiveDate>,
}

/// The grade and why, in words an owner reads: A every bill on time; B late under 30 days at most
/// twice; C any other lateness; D any bill more than 90 days overdue and still unpaid. Bills due in
/// the 24 months up to today count; a bill not yet due does not.
pub fn grade(bills: &[BillRecord], today: NaiveDate) -> (Grade, String) {
    let from = today.checked_sub_months(Months::new(24)).unwrap_or(today);
    let counted: Vec<&BillRecord> = bills.iter().filter(|b| b.due > from && b.due <= today).collect();
    let days_late = |b: &BillRecord| (b.settled_on.unwrap_or(today) - b.due).num_days();
    let long_unpaid = counted
        .iter()
        .filter(|b| b.settled_on.is_none() && days_late(b) > 90)
        .count();
    if long_unpaid > 0 {
        return (
            Grade::D,
            format!(
                "近24个月有{long_unpaid}笔账单逾期超过90天仍未缴清。缴清后等级会重新评定；如有困难，请联系物业服务中心。"
            ),
        );
    }
    let late: Vec<i64> = counted.iter().map(|b| days_late(b)).filter(|d| *d > 0).collect();
    if late.is_empty() {
        return (
            Grade::A,
            format!("近24个月的{}笔账单均按时缴纳。继续按时缴费可保持A级。", counted.len()),
        );
    }
    if late.len() <= 2 && late.iter().all(|d| *d < 30) {
        return (
            Grade::B,
            format!(
                "近24个月有{}笔账单逾期，均未超过30天。此后按时缴费，待逾期记录满24个月后可恢复A级。",
                late.len()
            ),
        );
    }
    let long = late.iter().filter(|d| **d >= 30).count();
    (
        Grade::C,
        format!(
            "近24个月有{}笔账单逾期，其中{long}笔超过30天。此后按时缴费，逾期记录满24个月后等级会逐步提升。",
            late.len()
        ),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn d(y: i32, m: u32, day: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, day).unwrap()
    }

    #[test]
    fn a_bill_paid_on_time_earns_a_point_per_whole_yuan_with_the_bonuses_rounded_down() {
        let r = EarnRules::default();
        let due = d(2026, 10, 10);
        // 300.99 yuan: 300 points on time, 330 prepaid, nothing late.
        assert_eq!(earned(&r, 30_099, timing(due, due, false), Grade::B), 300);
        assert_eq!(earned(&r, 30_099, timing(d(2026, 9, 1), due, true), Grade::B), 330);
        assert_eq!(earned(&r, 30_099, timing(d(2026, 10, 11), due, true), Grade::B), 0);
        // Grade A × 1.2 after the bonus: 330 × 1.2 = 396; 15 yuan on time: 18.
        assert_eq!(earned(&r, 30_099, Timing::Prepaid, Grade::A), 396);
        assert_eq!(earned(&r, 1_599, Timing::OnTime, Grade::A), 18);
        // Under a yuan earns nothing; a 10 % bonus of 9 points is 0.
        assert_eq!(earned(&r, 99, Timing::OnTime, Grade::C), 0);
        assert_eq!(earned(&r, 900, Timing::Prepaid, Grade::C), 9);
    }

    #[test]
    fn lots_expire_at_the_end_of_the_second_calendar_year_and_spend_soonest_expiry_first() {
        assert_eq!(expires_on(d(2026, 1, 1), 2), d(2028, 12, 31));
        assert_eq!(expires_on(d(2026, 12, 31), 2), d(2028, 12, 31));
        let lots = [
            Lot {
                id: 2,
                expires_on: d(2028, 12, 31),
                remaining: 50,
            },
            Lot {
                id: 1,
                expires_on: d(2027, 12, 31),
                remaining: 30,
            },
            Lot {
                id: 3,
                expires_on: d(2025, 12, 31),
                remaining: 99,
            },
        ];
        let today = d(2026, 11, 30);
        assert_eq!(balance(&lots, 0, today), 80, "an expired lot is not spendable");
        assert_eq!(take_oldest(&lots, 0, 40, today), Ok(vec![(1, 30), (2, 10)]));
        assert_eq!(take_oldest(&lots, 0, 81, today), Err(Short { available: 80 }));
        assert_eq!(take_oldest(&lots, 20, 61, today), Err(Short { available: 60 }));
        assert_eq!(expired(&lots, today), vec![(3, 99)]);
        // The day after lot 1's last day it has expired too.
        assert_eq!(expired(&lots, d(2028, 1, 1)), vec![(1, 30), (3, 99)]);
    }

    #[test]
    fn a_reversal_of_spent_points_becomes_a_debt_that_later_earnings_settle_first() {
        // 100 awarded, 70 spent: a refund takes back the 30 left and owes 70.
        assert_eq!(reverse(30, 100), (30, 70));
        assert_eq!(reverse(100, 100), (100, 0));
        assert_eq!(settle(70, 50), (20, 0));
        assert_eq!(settle(20, 50), (0, 30));
        assert_eq!(settle(0, 50), (0, 50));
    }

    #[test]
    fn a_streak_is_every_twelfth_on_time_month_in_one_unbroken_run() {
        let mut months = vec![true; 11];
        months.push(false);
        months.extend(vec![true; 24]);
        assert_eq!(streaks(&months, 12), vec![23, 35]);
        assert!(streaks(&[true; 11], 12).is_empty());
        let m = months_on_time(&[
            (d(2026, 11, 1), true),
            (d(2027, 1, 1), true),
            (d(2027, 1, 1), false),
            (d(2027, 2, 1), true),
        ]);
        assert_eq!(
            m,
            vec![(202611, true), (202612, false), (202701, false), (202702, true)]
        );
        assert!(months_on_time(&[]).is_empty());
    }

    #[test]
    fn points_pay_whole_fen_within_the_cap_spread_oldest_first() {
        let r = EarnRules::default();
        // 100 points = 1 yuan; at most 10 % of 674.05 = 67.40.
        assert_eq!(fee_fen(&r, 67_405, 6_740), Ok(6_740));
        assert_eq!(
            fee_fen(&r, 67_405, 6_741),
            Err(FeeRefusal::OverCap { max_points: 6_740 })
        );
        assert_eq!(fee_fen(&r, 67_405, 0), Err(FeeRefusal::OverCap { max_points: 6_740 }));
        let odd = EarnRules {
            points_per_fee_yuan: 150,
            ..r
        };
        // 150 points = 100 fen: 3 points make 2 fen.
        assert_eq!(fee_fen(&odd, 10_000, 4), Err(FeeRefusal::NotWhole { step: 3 }));
        assert_eq!(fee_fen(&odd, 10_000, 300), Ok(200));
        assert_eq!(fee_fen(&odd, 10_000, 1_500), Ok(1_000));
        assert_eq!(
            fee_fen(&odd, 10_000, 1_503),
            Err(FeeRefusal::OverCap { max_points: 1_500 })
        );
        // 250 fen over a bill of 200 principal + 30 late fee and a later one of 100.
        assert_eq!(
            split_fee(&[(200, 30), (100, 0)], 250, 250),
            vec![(200, 30, 230), (20, 0, 20)]
        );
        let spread = split_fee(&[(100, 0), (100, 0)], 150, 225);
        assert_eq!(spread, vec![(100, 0, 150), (50, 0, 75)]);
        assert_eq!(spread.iter().map(|x| x.2).sum::<i64>(), 225);
    }

    #[test]
    fn grades_follow_the_documented_rules_and_say_why() {
        let today = d(2026, 11, 30);
        let on_time = |m: u32| BillRecord {
            due: d(2026, m, 10),
            settled_on: Some(d(2026, m, 9)),
        };
        let late = |m: u32, days: i64| BillRecord {
            due: d(2026, m, 10),
            settled_on: Some(d(2026, m, 10) + chrono::Duration::days(days)),
        };
        let (g, why) = grade(&[on_time(1), on_time(2)], today);
        assert_eq!(g, Grade::A);
        assert!(why.contains("2笔账单均按时"), "{why}");
        assert_eq!(grade(&[on_time(1), late(2, 5), late(3, 29)], today).0, Grade::B);
        assert_eq!(grade(&[late(1, 5), late(2, 5), late(3, 5)], today).0, Grade::C);
        assert_eq!(grade(&[late(2, 30)], today).0, Grade::C);
        // Unpaid: 91 days overdue is D; 20 days overdue counts as late so far.
        let unpaid = |due: NaiveDate| BillRecord { due, settled_on: None };
        let (g, why) = grade(&[on_time(1), unpaid(today - chrono::Duration::days(91))], today);
        assert_eq!(g, Grade::D);
        assert!(why.contains("1笔账单逾期超过90天"), "{why}");
        assert_eq!(grade(&[unpaid(today - chrono::Duration::days(20))], today).0, Grade::B);
        // Outside the 24 months, or not yet due, a bill does not count.
        assert_eq!(grade(&[late(1, 200)], d(2028, 6, 1)).0, Grade::A);
        assert_eq!(grade(&[unpaid(today + chrono::Duration::days(5))], today).0, Grade::A);
    }

    proptest! {
        #[test]
        fn spending_never_exceeds_the_balance_and_takes_soonest_expiry_first(
            raw in proptest::collection::vec((0i64..400, 0i64..200), 0..12),
            debt in 0i64..300,
            n in 1i64..3000,
        ) {
            let today = d(2026, 6, 1);
            let lots: Vec<Lot> = raw.iter().enumerate().map(|(i, (days, rem))| Lot {
                id: i as i64,
                expires_on: today + chrono::Duration::days(*days - 50),
                remaining: *rem,
            }).collect();
            match take_oldest(&lots, debt, n, today) {
                Ok(takes) => {
                    prop_assert!(n <= balance(&lots, debt, today));
                    prop_assert_eq!(takes.iter().map(|t| t.1).sum::<i64>(), n);
                    let mut last = None;
                    for (id, take) in &takes {
                        let l = lots.iter().find(|l| l.id == *id).unwrap();
                        prop_assert!(l.expires_on >= today && *take > 0 && *take <= l.remaining);
                        // Every lot before the last touched one is emptied.
                        if let Some((prev_exp, prev_id)) = last {
                            prop_assert!((l.expires_on, l.id) > (prev_exp, prev_id));
                        }
                        last = Some((l.expires_on, l.id));
                    }
                    for (id, take) in &takes[..takes.len().saturating_sub(1)] {
                        let l = lots.iter().find(|l| l.id == *id).unwrap();
                        prop_assert_eq!(*take, l.remaining);
                    }
                    // No live lot that expires sooner was skipped.
                    let last = last.unwrap();
                    for l in lots.iter().filter(|l| l.remaining > 0 && l.expires_on >= today) {
                        if (l.expires_on, l.id) < last {
                            prop_assert!(takes.iter().any(|t| t.0 == l.id));
                        }
                    }
                }
                Err(Short { available }) => prop_assert!(n > available),
            }
        }
    }
}
