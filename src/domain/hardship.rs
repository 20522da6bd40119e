//! Hardship relief (困难减免) arithmetic and terms: what a percentage reduction takes off a bill's
//! principal (rounded once, half-up to the fen), and the limits of a decision — a window of at most
//! a year, a percentage from 0.01 to 100 with two decimals, a deferral of at most a year after the
//! window ends.
use crate::domain::money::parse_decimal;
use chrono::{Months, NaiveDate};
use rust_decimal::{Decimal, RoundingStrategy};

/// The longest window one decision covers; longer relief is a new case after review.
pub const MAX_WINDOW_MONTHS: u32 = 12;

/// What `parse_percent` accepts, as the OpenAPI pattern of every percentage field says it.
pub const PERCENT_PATTERN: &str = r"^(100(\.0{1,2})?|[1-9]\d?(\.\d{1,2})?|0\.(0[1-9]|[1-9]\d?))$";

/// A reduction's percentage, 0.01–100 with at most two decimals.
pub fn parse_percent(s: &str) -> Result<Decimal, &'static str> {
    // Written plainly, as the OpenAPI pattern says: no leading zero but in "0.x".
    let s = s.trim();
    if s.starts_with('0') && !s.starts_with("0.") {
        return Err("减免比例应为0.01到100之间的数，最多两位小数");
    }
    parse_decimal(s, 2)
        .filter(|p| *p > Decimal::ZERO && *p <= Decimal::ONE_HUNDRED)
        .ok_or("减免比例应为0.01到100之间的数，最多两位小数")
}

/// The fen a `percent` reduction takes off `principal_fen`: half-up to the fen, never more than
/// the principal.
pub fn reduction_fen(principal_fen: i64, percent: Decimal) -> i64 {
    let off = (Decimal::from(principal_fen) * percent / Decimal::ONE_HUNDRED)
        .round_dp_with_strategy(0, RoundingStrategy::MidpointAwayFromZero);
    i64::try_from(off).unwrap_or(principal_fen).clamp(0, principal_fen)
}

/// Checks a decision's window (and a deferral's new due date) against `today`.
pub fn check_window(
    starts_on: NaiveDate,
    ends_on: NaiveDate,
    defer_to: Option<NaiveDate>,
    today: NaiveDate,
) -> Result<(), (&'static str, &'static str)> {
    if ends_on < starts_on {
        return Err(("ends_on", "结束日期不能早于开始日期"));
    }
    if ends_on < today {
        return Err(("ends_on", "结束日期不能早于今天"));
    }
    let longest = starts_on
        .checked_add_months(Months::new(MAX_WINDOW_MONTHS))
        .unwrap_or(starts_on);
    if ends_on >= longest {
        return Err(("ends_on", "一次减免或缓缴的期限不能超过12个月，到期复核后可重新申请"));
    }
    if let Some(to) = defer_to {
        if to <= ends_on {
            return Err(("defer_to", "缓缴后的到期日应晚于期限结束日"));
        }
        if to > ends_on.checked_add_months(Months::new(12)).unwrap_or(ends_on) {
            return Err(("defer_to", "缓缴后的到期日不能晚于期限结束后12个月"));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn d(s: &str) -> NaiveDate {
        NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap()
    }

    #[test]
    fn a_reduction_is_rounded_once_half_up_to_the_fen() {
        let p = |s| parse_percent(s).unwrap();
        // 223.75 × 30 % = 67.125 → 67.13.
        assert_eq!(reduction_fen(22_375, p("30")), 6_713);
        // 223.75 × 12.5 % = 27.96875 → 27.97.
        assert_eq!(reduction_fen(22_375, p("12.5")), 2_797);
        assert_eq!(reduction_fen(22_375, p("100")), 22_375);
        assert_eq!(reduction_fen(1, p("49.99")), 0);
        assert_eq!(reduction_fen(1, p("50")), 1);
        for bad in ["0", "05", "0.00", "100.01", "-5", "12.345", "abc", ""] {
            assert!(parse_percent(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn a_window_is_at_most_a_year_and_a_deferral_falls_after_it() {
        let today = d("2026-10-20");
        assert!(check_window(d("2026-10-01"), d("2027-03-31"), None, today).is_ok());
        assert_eq!(
            check_window(d("2026-10-01"), d("2026-09-30"), None, today).map_err(|e| e.0),
            Err("ends_on")
        );
        assert_eq!(
            check_window(d("2026-01-01"), d("2026-10-19"), None, today).map_err(|e| e.0),
            Err("ends_on")
        );
        assert_eq!(
            check_window(d("2026-10-01"), d("2027-10-01"), None, today).map_err(|e| e.0),
            Err("ends_on")
        );
        assert!(check_window(d("2026-10-01"), d("2027-09-30"), None, today).is_ok());
        assert_eq!(
            check_window(d("2026-10-01"), d("2026-12-31"), Some(d("2026-12-31")), today).map_err(|e| e.0),
            Err("defer_to")
        );
        assert!(check_window(d("2026-10-01"), d("2026-12-31"), Some(d("2027-03-31")), today).is_ok());
        assert_eq!(
            check_window(d("2026-10-01"), d("2026-12-31"), Some(d("2028-01-01")), today).map_err(|e| e.0),
            Err("defer_to")
        );
    }

    proptest! {
        #[test]
        fn the_pattern_and_the_parser_accept_the_same_percentages(s in "[0-9]{0,4}(\\.[0-9]{0,3})?|-?[0-9.]{1,6}") {
            let pattern = regex::Regex::new(PERCENT_PATTERN).unwrap();
            prop_assert_eq!(pattern.is_match(&s), parse_percent(&s).is_ok(), "{}", s);
        }

        #[test]
        fn a_reduction_never_exceeds_the_principal_and_is_within_half_a_fen(
            principal in 0i64..100_000_000,
            hundredths in 1u32..=10_000,
        ) {
            let percent = Decimal::new(i64::from(hundredths), 2);
            let off = reduction_fen(principal, percent);
            prop_assert!((0..=principal).contains(&off));
            let exact = Decimal::from(principal) * percent / Decimal::ONE_HUNDRED;
            prop_assert!((Decimal::from(off) - exact).abs() <= Decimal::new(5, 1));
        }
    }
}
