//! Late-fee policy of a community (the arithmetic itself arrives with the bills issue).
use rust_decimal::Decimal;

use super::money::parse_decimal;

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
}
