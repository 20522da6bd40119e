//! Money as integer fen and areas as integer hundredths of m², parsed from and rendered to the
//! API's decimal strings. Rounding is always half-up (away from zero) to the fen, done once.
use rust_decimal::{Decimal, RoundingStrategy};
use std::str::FromStr;

/// An amount of money in fen (1/100 CNY).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Default)]
pub struct Fen(pub i64);

/// The largest amount any one money input may carry: a bill, an order, an adjustment, a waiver,
/// a refund (API.md: at most 10,000,000.00 yuan). Sums of many such amounts stay far below
/// `i64::MAX` fen, and are computed with checked arithmetic anyway.
pub const MAX_AMOUNT: Fen = Fen(1_000_000_000);

/// A sum of fen that would not fit in 64 bits: refused, never wrapped.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("sum of money out of range")]
pub struct Overflow;

/// Σ fen with checked arithmetic.
pub fn sum_fen(items: impl IntoIterator<Item = i64>) -> Result<i64, Overflow> {
    items
        .into_iter()
        .try_fold(0i64, |a, b| a.checked_add(b))
        .ok_or(Overflow)
}

/// a + b fen, checked.
pub fn add_fen(a: i64, b: i64) -> Result<i64, Overflow> {
    a.checked_add(b).ok_or(Overflow)
}

impl Fen {
    /// Parses an API money string (`"2.5"`, `"1234.50"`): at most two decimals, not negative, at
    /// most `MAX_AMOUNT`.
    pub fn parse(s: &str) -> Result<Fen, &'static str> {
        let d = parse_decimal(s, 2).ok_or("金额格式不正确，最多两位小数")?;
        if d.is_sign_negative() {
            return Err("金额不能为负数");
        }
        let f = to_i64(d * Decimal::ONE_HUNDRED).map(Fen).ok_or("金额超出范围")?;
        if f > MAX_AMOUNT {
            return Err("金额不能超过10000000.00元");
        }
        Ok(f)
    }

    /// Rounds a yuan amount half-up to the fen.
    pub fn from_yuan_rounded(yuan: Decimal) -> Option<Fen> {
        to_i64((yuan * Decimal::ONE_HUNDRED).round_dp_with_strategy(0, RoundingStrategy::MidpointAwayFromZero)).map(Fen)
    }

    /// `"1234.50"`: exactly two decimals, as API.md requires.
    pub fn to_yuan_string(self) -> String {
        let mut d = Decimal::new(self.0, 2);
        d.rescale(2);
        d.to_string()
    }

    pub fn as_yuan(self) -> Decimal {
        Decimal::new(self.0, 2)
    }
}

/// A floor area in hundredths of m².
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct Area(pub i64);

impl Area {
    /// Parses `"89.50"`: positive, at most two decimals, below 100,000 m².
    pub fn parse(s: &str) -> Result<Area, &'static str> {
        let d = parse_decimal(s, 2).ok_or("面积格式不正确，最多两位小数")?;
        if d <= Decimal::ZERO {
            return Err("面积必须大于0");
        }
        if d >= Decimal::from(100_000) {
            return Err("面积过大");
        }
        to_i64(d * Decimal::ONE_HUNDRED).map(Area).ok_or("面积超出范围")
    }

    pub fn as_m2(self) -> Decimal {
        Decimal::new(self.0, 2)
    }

    /// `"89.50"`.
    pub fn to_m2_string(self) -> String {
        let mut d = self.as_m2();
        d.rescale(2);
        d.to_string()
    }
}

/// A decimal string with at most `max_dp` decimals (plain digits, optional sign, no exponent).
pub fn parse_decimal(s: &str, max_dp: u32) -> Option<Decimal> {
    let s = s.trim();
    let valid = !s.is_empty()
        && s.chars()
            .enumerate()
            .all(|(i, c)| c.is_ascii_digit() || c == '.' || (i == 0 && c == '-'))
        && s.matches('.').count() <= 1
        && !s.ends_with('.')
        && !s.starts_with('.');
    if !valid {
        return None;
    }
    let d = Decimal::from_str(s).ok()?;
    (d.scale() <= max_dp).then_some(d)
}

fn to_i64(d: Decimal) -> Option<i64> {
    if d.fract() != Decimal::ZERO {
        return None;
    }
    i64::try_from(d).ok()
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn money_strings() {
        assert_eq!(Fen::parse("2.5").unwrap(), Fen(250));
        assert_eq!(Fen::parse("1234.50").unwrap().to_yuan_string(), "1234.50");
        assert_eq!(Fen(0).to_yuan_string(), "0.00");
        assert_eq!(Fen(7).to_yuan_string(), "0.07");
        for bad in ["1.234", "-1", "abc", "", "1e3", ".5", "5."] {
            assert!(Fen::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn half_up_rounding() {
        assert_eq!(
            Fen::from_yuan_rounded(Decimal::from_str("0.005").unwrap()),
            Some(Fen(1))
        );
        assert_eq!(
            Fen::from_yuan_rounded(Decimal::from_str("0.015").unwrap()),
            Some(Fen(2))
        );
        assert_eq!(
            Fen::from_yuan_rounded(Decimal::from_str("0.0049").unwrap()),
            Some(Fen(0))
        );
    }

    #[test]
    fn areas() {
        assert_eq!(Area::parse("89.5").unwrap(), Area(8950));
        assert_eq!(Area(8950).to_m2_string(), "89.50");
        for bad in ["0", "-3", "89.505", "x"] {
            assert!(Area::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn money_inputs_are_bounded_and_sums_never_wrap() {
        assert_eq!(Fen::parse("10000000.00").unwrap(), MAX_AMOUNT);
        for big in ["10000000.01", "92233720368547758.07", "99999999999999999999999999"] {
            assert!(Fen::parse(big).is_err(), "{big}");
        }
        assert_eq!(sum_fen([1, 2, 3]), Ok(6));
        assert_eq!(sum_fen([i64::MAX, 1]), Err(Overflow));
        assert_eq!(sum_fen([i64::MIN, -1]), Err(Overflow));
        assert_eq!(add_fen(i64::MAX - 1, 1), Ok(i64::MAX));
        assert_eq!(add_fen(i64::MAX, 1), Err(Overflow));
    }

    proptest! {
        #[test]
        fn fen_round_trips_through_strings(f in 0i64..=MAX_AMOUNT.0) {
            prop_assert_eq!(Fen::parse(&Fen(f).to_yuan_string()).unwrap(), Fen(f));
        }
    }
}
