//! Money as integer fen and areas as integer hundredths of m², parsed from and rendered to the
//! API's decimal strings. Rounding is always half-up (away from zero) to the fen, done once.
use rust_decimal::{Decimal, RoundingStrategy};
use std::str::FromStr;

/// An amount of money in fen (1/100 CNY).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Default)]
pub struct Fen(pub i64);

impl Fen {
    /// Parses an API money string (`"2.5"`, `"1234.50"`): at most two decimals, not negative.
    pub fn parse(s: &str) -> Result<Fen, &'static str> {
        let d = parse_decimal(s, 2).ok_or("金额格式不正确，最多两位小数")?;
        if d.is_sign_negative() {
            return Err("金额不能为负数");
        }
        to_i64(d * Decimal::ONE_HUNDRED).map(Fen).ok_or("金额超出范围")
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

    proptest! {
        #[test]
        fn fen_round_trips_through_strings(f in 0i64..10_000_000_000) {
            prop_assert_eq!(Fen::parse(&Fen(f).to_yuan_string()).unwrap(), Fen(f));
        }
    }
}
