//! Vacant-unit discounts (空置房优惠): a community's percentage off the area-based property fee of
//! a unit that stands empty, for at most so many months a calendar year. A bill's period counts
//! its months toward the cap (a quarter is three); the discount is the percentage of the principal
//! for the months the cap still allows, rounded once, half-up to the fen.
use rust_decimal::{Decimal, RoundingStrategy};

/// Months of a period of `period_months` the yearly `cap` still allows after `used`.
pub fn months_allowed(period_months: u32, used: u32, cap: u32) -> u32 {
    period_months.min(cap.saturating_sub(used))
}

/// The fen taken off `principal_fen`: `percent` of it for `allowed` of the period's `period_months`.
pub fn discount_fen(principal_fen: i64, percent: Decimal, allowed: u32, period_months: u32) -> i64 {
    if period_months == 0 || allowed == 0 {
        return 0;
    }
    let off = (Decimal::from(principal_fen) * percent * Decimal::from(allowed)
        / (Decimal::ONE_HUNDRED * Decimal::from(period_months)))
    .round_dp_with_strategy(0, RoundingStrategy::MidpointAwayFromZero);
    i64::try_from(off).unwrap_or(principal_fen).clamp(0, principal_fen)
}

/// Months a year a policy may grant: 1 to 12.
pub fn check_cap(cap: i64) -> Result<u32, &'static str> {
    u32::try_from(cap)
        .ok()
        .filter(|c| (1..=12).contains(c))
        .ok_or("每年优惠月数应为1到12")
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn the_cap_counts_months_and_the_discount_is_rounded_once() {
        let half = Decimal::new(50, 0);
        // 223.75 at 50 %: 111.875 → 111.88.
        assert_eq!(discount_fen(22_375, half, 1, 1), 11_188);
        // A quarter of 671.25 with two of its months left under the cap: 671.25 × 50 % × 2/3 = 223.75.
        assert_eq!(discount_fen(67_125, half, 2, 3), 22_375);
        assert_eq!(months_allowed(3, 4, 6), 2);
        assert_eq!(months_allowed(1, 6, 6), 0);
        assert_eq!(months_allowed(12, 0, 6), 6);
        assert_eq!(discount_fen(22_375, half, 0, 1), 0);
        assert!(check_cap(0).is_err() && check_cap(13).is_err());
        assert_eq!(check_cap(6), Ok(6));
    }

    proptest! {
        #[test]
        fn a_discount_never_exceeds_the_principal_and_is_within_half_a_fen(
            principal in 0i64..100_000_000,
            hundredths in 1u32..=10_000,
            period in 1u32..=12,
            allowed_raw in 0u32..=12,
        ) {
            let allowed = allowed_raw.min(period);
            let percent = Decimal::new(i64::from(hundredths), 2);
            let off = discount_fen(principal, percent, allowed, period);
            prop_assert!((0..=principal).contains(&off));
            let exact = Decimal::from(principal) * percent * Decimal::from(allowed)
                / (Decimal::ONE_HUNDRED * Decimal::from(period));
            prop_assert!((Decimal::from(off) - exact).abs() <= Decimal::new(5, 1));
        }
    }
}
