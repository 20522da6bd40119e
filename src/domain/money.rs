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

/// An amount in Chinese financial capitals (大写) as receipts print it: `226.55` →
/// "贰佰贰拾陆元伍角伍分", `1005.00` → "壹仟零伍元整", `0.05` → "伍分". Negative amounts get "负".
pub fn in_words(f: Fen) -> String {
    const DIGITS: [&str; 10] = ["零", "壹", "贰", "叁", "肆", "伍", "陆", "柒", "捌", "玖"];
    const PLACES: [&str; 4] = ["", "拾", "佰", "仟"];
    const GROUPS: [&str; 4] = ["", "万", "亿", "万亿"];
    let digit = |d: u64| DIGITS[usize::try_from(d % 10).unwrap_or(0)];
    let sign = if f.0 < 0 { "负" } else { "" };
    let fen = f.0.unsigned_abs();
    let (yuan, jiao, cents) = (fen / 100, (fen / 10) % 10, fen % 10);
    let mut out = String::new();
    if yuan > 0 {
        // Four-digit groups from the top; one 零 stands for any run of zeros between digits.
        let mut groups = Vec::new();
        let mut rest = yuan;
        while rest > 0 {
            groups.push(rest % 10_000);
            rest /= 10_000;
        }
        let mut pending_zero = false;
        for (gi, g) in groups.iter().enumerate().rev() {
            if *g == 0 {
                pending_zero = true;
                continue;
            }
            if !out.is_empty() && (*g < 1000 || pending_zero) {
                out.push('零');
            }
            let mut zero = false;
            for place in (0..4).rev() {
                let d = (g / 10u64.pow(place)) % 10;
                if d == 0 {
                    zero = true;
                    continue;
                }
                if zero && out.chars().last().is_some_and(|c| c != '零') && (g / 10u64.pow(place + 1)) > 0 {
                    out.push('零');
                }
                zero = false;
                out.push_str(digit(d));
                out.push_str(PLACES[place as usize]);
            }
            out.push_str(GROUPS[gi.min(3)]);
            // Zeros at the end of a group are carried to the next non-zero digit.
            pending_zero = g % 10 == 0;
        }
        out.push('元');
    }
    match (jiao, cents) {
        (0, 0) => out.push_str(if yuan == 0 { "零元整" } else { "整" }),
        (0, c) => {
            if yuan > 0 {
                out.push('零');
            }
            out.push_str(digit(c));
            out.push('分');
        }
        (j, 0) => {
            out.push_str(digit(j));
            out.push_str("角整");
        }
        (j, c) => {
            out.push_str(digit(j));
            out.push('角');
            out.push_str(digit(c));
            out.push('分');
        }
    }
    format!("{sign}{out}")
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
    fn amounts_in_chinese_capitals() {
        let w = |s: &str| in_words(Fen::parse(s).unwrap());
        assert_eq!(w("226.55"), "贰佰贰拾陆元伍角伍分");
        assert_eq!(w("1005.00"), "壹仟零伍元整");
        assert_eq!(w("1000.00"), "壹仟元整");
        assert_eq!(w("1010.10"), "壹仟零壹拾元壹角整");
        assert_eq!(w("100.05"), "壹佰元零伍分");
        assert_eq!(w("0.05"), "伍分");
        assert_eq!(w("0.50"), "伍角整");
        assert_eq!(w("0.00"), "零元整");
        assert_eq!(w("10.00"), "壹拾元整");
        assert_eq!(w("15.00"), "壹拾伍元整");
        assert_eq!(w("10000.00"), "壹万元整");
        assert_eq!(w("10001.00"), "壹万零壹元整");
        assert_eq!(w("10100.00"), "壹万零壹佰元整");
        assert_eq!(w("11000.00"), "壹万壹仟元整");
        assert_eq!(w("100010.00"), "壹拾万零壹拾元整");
        assert_eq!(w("1000000.00"), "壹佰万元整");
        assert_eq!(w("10000000.00"), "壹仟万元整");
        assert_eq!(w("1234567.89"), "壹佰贰拾叁万肆仟伍佰陆拾柒元捌角玖分");
        assert_eq!(w("2000300.00"), "贰佰万零叁佰元整");
        assert_eq!(in_words(Fen(-22655)), "负贰佰贰拾陆元伍角伍分");
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

    /// Reads capitals back (test-only, amounts below 亿), to check `in_words` over many amounts.
    fn read_words(w: &str) -> i64 {
        let digit = |c: char| "零壹贰叁肆伍陆柒捌玖".chars().position(|d| d == c).map(|p| p as i64);
        let (yuan_part, frac) = w.split_once('元').unwrap_or(("", w));
        let (mut total, mut section, mut last) = (0i64, 0i64, 0i64);
        for c in yuan_part.chars() {
            match c {
                '拾' | '佰' | '仟' => {
                    let m = match c {
                        '拾' => 10,
                        '佰' => 100,
                        _ => 1000,
                    };
                    section += last * m;
                    last = 0;
                }
                '万' => {
                    total += (section + last) * 10_000;
                    section = 0;
                    last = 0;
                }
                d => last = digit(d).unwrap_or(last),
            }
        }
        let mut fen = (total + section + last) * 100;
        let mut prev = 0;
        for c in frac.chars() {
            match c {
                '角' => fen += prev * 10,
                '分' => fen += prev,
                d => prev = digit(d).unwrap_or(prev),
            }
        }
        fen
    }

    proptest! {
        #[test]
        fn capitals_read_back_to_the_amount(f in 0i64..=MAX_AMOUNT.0) {
            let w = in_words(Fen(f));
            prop_assert_eq!(read_words(&w), f, "{}", w);
            prop_assert!(!w.contains("零零"), "{}", w);
            prop_assert!(!w.starts_with('零') || f == 0, "{}", w);
        }

        #[test]
        fn fen_round_trips_through_strings(f in 0i64..=MAX_AMOUNT.0) {
            prop_assert_eq!(Fen::parse(&Fen(f).to_yuan_string()).unwrap(), Fen(f));
        }
    }
}
