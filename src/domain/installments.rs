//! Installment plans' arithmetic (分期协议): the principal a plan covers in equal monthly
//! instalments, exact to the fen — what does not divide evenly (less than one fen a month) is paid
//! with the first — each due on the same day of a following month (that month's last day when it
//! is shorter).
use chrono::{Months, NaiveDate};

/// Months a plan may run (PRODUCT.md: 3–12 monthly instalments).
pub const MONTHS: std::ops::RangeInclusive<u32> = 3..=12;
/// The smallest instalment, in fen: a plan of instalments smaller than one yuan helps nobody.
pub const MIN_INSTALMENT_FEN: i64 = 100;

/// One instalment of a schedule.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Instalment {
    /// 1 for the first.
    pub seq: u32,
    pub due_date: NaiveDate,
    pub amount_fen: i64,
}

/// Why no schedule can be made, in the owner's words.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ScheduleError {
    Months,
    TooSmall,
}

impl ScheduleError {
    pub fn message(self) -> &'static str {
        match self {
            ScheduleError::Months => "分期期数应为3到12个月",
            ScheduleError::TooSmall => "分期后每期金额不能少于1元，请减少期数或直接缴纳",
        }
    }
}

/// `months` instalments of `total_fen`, the first due one month after `start`.
pub fn schedule(total_fen: i64, months: u32, start: NaiveDate) -> Result<Vec<Instalment>, ScheduleError> {
    if !MONTHS.contains(&months) {
        return Err(ScheduleError::Months);
    }
    let n = i64::from(months);
    let each = total_fen.div_euclid(n);
    if each < MIN_INSTALMENT_FEN {
        return Err(ScheduleError::TooSmall);
    }
    let remainder = total_fen - each * n;
    (1..=months)
        .map(|seq| {
            let due_date = start
                .checked_add_months(Months::new(seq))
                .ok_or(ScheduleError::Months)?;
            Ok(Instalment {
                seq,
                due_date,
                amount_fen: if seq == 1 { each + remainder } else { each },
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn day(s: &str) -> NaiveDate {
        NaiveDate::parse_from_str(s, "%Y-%m-%d").expect("date")
    }

    #[test]
    fn awkward_amounts_put_the_remainder_on_the_first() {
        // 1000.00 over 3: 333.34 + 333.33 + 333.33.
        let s = schedule(100_000, 3, day("2026-10-20")).expect("schedule");
        let amounts: Vec<i64> = s.iter().map(|i| i.amount_fen).collect();
        assert_eq!(amounts, vec![33_334, 33_333, 33_333]);
        // 2237.55 over 7: 319.65 each, 0.00 left; 2237.56 leaves 0.01 for the first.
        let s = schedule(223_756, 7, day("2026-10-20")).expect("schedule");
        assert_eq!(s[0].amount_fen, 31_966);
        assert!(s[1..].iter().all(|i| i.amount_fen == 31_965));
        // 12.11 over 12: 1.00 each and 0.11 on the first.
        let s = schedule(1_211, 12, day("2026-10-20")).expect("schedule");
        assert_eq!((s[0].amount_fen, s[11].amount_fen), (111, 100));
    }

    #[test]
    fn due_dates_keep_the_day_or_take_the_months_last() {
        let s = schedule(90_000, 3, day("2026-11-30")).expect("schedule");
        let dates: Vec<String> = s.iter().map(|i| i.due_date.to_string()).collect();
        assert_eq!(dates, vec!["2026-12-30", "2027-01-30", "2027-02-28"]);
        let s = schedule(90_000, 3, day("2027-12-31")).expect("schedule");
        assert_eq!(s[1].due_date, day("2028-02-29"));
    }

    #[test]
    fn months_and_size_are_checked() {
        assert_eq!(schedule(100_000, 2, day("2026-10-20")), Err(ScheduleError::Months));
        assert_eq!(schedule(100_000, 13, day("2026-10-20")), Err(ScheduleError::Months));
        assert_eq!(schedule(299, 3, day("2026-10-20")), Err(ScheduleError::TooSmall));
        assert!(schedule(300, 3, day("2026-10-20")).is_ok());
    }

    proptest! {
        #[test]
        fn instalments_add_up_exactly_and_differ_by_less_than_a_fen_a_month(
            total in 300i64..=1_000_000_000,
            months in 3u32..=12,
            offset in 0u32..3_650,
        ) {
            let start = day("2020-01-01") + chrono::Duration::days(i64::from(offset));
            match schedule(total, months, start) {
                Err(e) => prop_assert!(e == ScheduleError::TooSmall && total / i64::from(months) < MIN_INSTALMENT_FEN),
                Ok(s) => {
                    prop_assert_eq!(s.len(), months as usize);
                    prop_assert_eq!(s.iter().map(|i| i.amount_fen).sum::<i64>(), total);
                    let rest = s[1].amount_fen;
                    prop_assert!(s[1..].iter().all(|i| i.amount_fen == rest));
                    prop_assert!(s[0].amount_fen >= rest && s[0].amount_fen - rest < i64::from(months));
                    prop_assert!(rest >= MIN_INSTALMENT_FEN);
                    for (k, w) in s.windows(2).enumerate() {
                        prop_assert_eq!(w[0].seq as usize, k + 1);
                        let gap = (w[1].due_date - w[0].due_date).num_days();
                        prop_assert!((28..=31).contains(&gap), "gap {}", gap);
                    }
                    prop_assert!(s[0].due_date > start);
                }
            }
        }
    }
}
