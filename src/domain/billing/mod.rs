//! Fee items and bill arithmetic (API.md "Bills and late fees"): principals, pro rata for a unit
//! handed over mid-period, and prepayment discounts; and whose bill it is (`ownership`). Pure
//! functions, exact to the fen.
pub mod ownership;

use chrono::NaiveDate;
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

use super::late_fee::round_fen;
use super::money::{parse_decimal, Area};
use super::period::Period;

/// How a fee item is priced.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum FeeKind {
    /// CNY per m² per month.
    PerArea,
    /// CNY per month per unit.
    Fixed,
}

/// Billing cycle of a fee item.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Cycle {
    Monthly,
    Quarterly,
    Yearly,
}

impl FeeKind {
    pub fn parse(s: &str) -> Option<FeeKind> {
        match s {
            "per_area" => Some(FeeKind::PerArea),
            "fixed" => Some(FeeKind::Fixed),
            _ => None,
        }
    }
    pub fn as_str(self) -> &'static str {
        match self {
            FeeKind::PerArea => "per_area",
            FeeKind::Fixed => "fixed",
        }
    }
}

impl Cycle {
    pub fn parse(s: &str) -> Option<Cycle> {
        match s {
            "monthly" => Some(Cycle::Monthly),
            "quarterly" => Some(Cycle::Quarterly),
            "yearly" => Some(Cycle::Yearly),
            _ => None,
        }
    }
    pub fn as_str(self) -> &'static str {
        match self {
            Cycle::Monthly => "monthly",
            Cycle::Quarterly => "quarterly",
            Cycle::Yearly => "yearly",
        }
    }
    pub fn months(self) -> u32 {
        match self {
            Cycle::Monthly => 1,
            Cycle::Quarterly => 3,
            Cycle::Yearly => 12,
        }
    }

    /// True when `p` is a period of this cycle (`2026-09` for monthly, `2026-Q3` quarterly, `2026` yearly).
    pub fn matches(self, p: Period) -> bool {
        matches!(
            (self, p),
            (Cycle::Monthly, Period::Month { .. })
                | (Cycle::Quarterly, Period::Quarter { .. })
                | (Cycle::Yearly, Period::Year { .. })
        )
    }

    /// The period of this cycle containing `d`.
    pub fn period_of(self, d: NaiveDate) -> Period {
        use chrono::Datelike;
        match self {
            Cycle::Monthly => Period::Month {
                year: d.year(),
                month: d.month(),
            },
            Cycle::Quarterly => Period::Quarter {
                year: d.year(),
                quarter: (d.month() - 1) / 3 + 1,
            },
            Cycle::Yearly => Period::Year { year: d.year() },
        }
    }

    /// The period after `p`.
    pub fn next(self, p: Period) -> Period {
        self.period_of(p.end() + chrono::Duration::days(1))
    }
}

/// A unit price: positive, at most four decimals (`"1.8550"`).
pub fn parse_unit_price(s: &str) -> Result<Decimal, &'static str> {
    let d = parse_decimal(s, 4).ok_or("单价格式不正确，最多四位小数")?;
    if d <= Decimal::ZERO {
        return Err("单价必须大于0");
    }
    if d > Decimal::from(1_000_000) {
        return Err("单价过大");
    }
    Ok(d)
}

/// When a bill issued on `issued_on` falls due (API.md): its nominal due date, or — when it was
/// issued later than `min_notice_days` before that — its issue date plus `min_notice_days`, so
/// nobody is late before being billed. The second value is the nominal date when it was moved.
pub fn due_date_after_notice(
    nominal: NaiveDate,
    issued_on: NaiveDate,
    min_notice_days: u32,
) -> (NaiveDate, Option<NaiveDate>) {
    let earliest = issued_on + chrono::Duration::days(i64::from(min_notice_days));
    if earliest > nominal {
        (earliest, Some(nominal))
    } else {
        (nominal, None)
    }
}

/// The last day on which a bill due on `nominal` can be issued without moving its due date.
pub fn latest_issue_day(nominal: NaiveDate, min_notice_days: u32) -> NaiveDate {
    nominal - chrono::Duration::days(i64::from(min_notice_days))
}

/// `round_half_up(unit_price × months × (area or 1) × billable_days / period_days, 2)` in fen.
/// A unit handed over after the period starts pays for the days from its handover on; handed over
/// after the period ends, nothing (`None`).
pub fn principal_fen(
    kind: FeeKind,
    unit_price: Decimal,
    period: Period,
    area: Area,
    handover: Option<NaiveDate>,
) -> Option<i64> {
    let (start, end) = (period.start(), period.end());
    let base = unit_price
        * Decimal::from(period.months())
        * match kind {
            FeeKind::PerArea => area.as_m2(),
            FeeKind::Fixed => Decimal::ONE,
        };
    let amount = match handover {
        Some(h) if h > end => return None,
        Some(h) if h > start => {
            let period_days = (end - start).num_days() + 1;
            let billable = (end - h).num_days() + 1;
            base * Decimal::from(billable) / Decimal::from(period_days)
        }
        _ => base,
    };
    Some(round_fen(amount * Decimal::ONE_HUNDRED))
}

/// One prepayment discount tier: paying `months` or more ahead earns `rate` off.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct PrepayDiscount {
    #[schema(minimum = 1, maximum = 36)]
    pub months: u32,
    /// e.g. `"0.05"` for 5 % off.
    #[schema(pattern = r#"^(0(\.[0-4][0-9]{0,3})?|0\.50{0,3})$"#)]
    pub rate: String,
}

/// Checks tiers: months 1–36, rate in [0, 0.5], at most 4 decimals, no duplicate months.
pub fn parse_discounts(tiers: &[PrepayDiscount]) -> Result<Vec<(u32, Decimal)>, &'static str> {
    let mut out = Vec::new();
    for t in tiers {
        if !(1..=36).contains(&t.months) {
            return Err("预缴月数应在1到36之间");
        }
        let r = parse_decimal(&t.rate, 4)
            .filter(|r| *r >= Decimal::ZERO && *r <= Decimal::new(5, 1))
            .ok_or("折扣率应为0到0.5之间的小数")?;
        if out.iter().any(|(m, _)| *m == t.months) {
            return Err("预缴月数不能重复");
        }
        out.push((t.months, r));
    }
    out.sort_by_key(|(m, _)| *m);
    Ok(out)
}

/// The best tier whose threshold `months` reaches: the rate for the largest qualifying threshold.
pub fn discount_rate(tiers: &[(u32, Decimal)], months: u32) -> Decimal {
    tiers
        .iter()
        .filter(|(m, _)| *m <= months)
        .max_by_key(|(m, _)| *m)
        .map(|(_, r)| *r)
        .unwrap_or(Decimal::ZERO)
}

/// Splits `round_half_up(gross × rate)` over bills: equal shares, leftover fen on the first.
/// Returns (total discount, per-bill discount).
pub fn spread_discount(amounts: &[i64], rate: Decimal) -> (i64, Vec<i64>) {
    let gross: i64 = amounts.iter().sum();
    let total = round_fen(Decimal::from(gross) * rate);
    if amounts.is_empty() {
        return (0, Vec::new());
    }
    let n = amounts.len() as i64;
    let mut shares = vec![total / n; amounts.len()];
    shares[0] += total - (total / n) * n;
    (total, shares)
}

#[cfg(test)]
mod due_date_tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn d(s: &str) -> NaiveDate {
        NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap()
    }

    #[test]
    fn nobody_is_late_before_being_billed() {
        // Issued in time: the nominal date stands.
        assert_eq!(
            due_date_after_notice(d("2026-11-10"), d("2026-10-25"), 15),
            (d("2026-11-10"), None)
        );
        assert_eq!(
            due_date_after_notice(d("2026-11-10"), d("2026-10-26"), 15),
            (d("2026-11-10"), None)
        );
        // Issued late (a past period billed today): due 15 days after issue, nominal kept.
        assert_eq!(
            due_date_after_notice(d("2026-09-10"), d("2026-11-30"), 15),
            (d("2026-12-15"), Some(d("2026-09-10")))
        );
        assert_eq!(latest_issue_day(d("2026-11-10"), 15), d("2026-10-26"));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn d(s: &str) -> NaiveDate {
        NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap()
    }

    #[test]
    fn principals() {
        let price = parse_unit_price("2.50").unwrap();
        let sep = Period::parse("2026-09").unwrap();
        assert_eq!(
            principal_fen(FeeKind::PerArea, price, sep, Area(8950), None),
            Some(22_375)
        );
        let q = Period::parse("2026-Q3").unwrap();
        assert_eq!(
            principal_fen(FeeKind::PerArea, price, q, Area(8950), None),
            Some(67_125)
        );
        assert_eq!(
            principal_fen(FeeKind::Fixed, parse_unit_price("150").unwrap(), q, Area(8950), None),
            Some(45_000)
        );
        // Handed over on 16 Sep: 15 of 30 days.
        assert_eq!(
            principal_fen(FeeKind::PerArea, price, sep, Area(8950), Some(d("2026-09-16"))),
            Some(11_188)
        );
        assert_eq!(
            principal_fen(FeeKind::PerArea, price, sep, Area(8950), Some(d("2026-10-01"))),
            None
        );
        assert_eq!(
            principal_fen(FeeKind::PerArea, price, sep, Area(8950), Some(d("2026-09-01"))),
            Some(22_375)
        );
        // Four-decimal prices round once, half-up: 1.8555 × 1 m² = 1.8555 → 1.86.
        assert_eq!(
            principal_fen(
                FeeKind::PerArea,
                parse_unit_price("1.8555").unwrap(),
                sep,
                Area(100),
                None
            ),
            Some(186)
        );
    }

    #[test]
    fn unit_prices() {
        assert!(parse_unit_price("0").is_err());
        assert!(parse_unit_price("-2").is_err());
        assert!(parse_unit_price("1.23456").is_err());
        assert!(parse_unit_price("1.8550").is_ok());
    }

    #[test]
    fn cycles() {
        assert!(Cycle::Quarterly.matches(Period::parse("2026-Q3").unwrap()));
        assert!(!Cycle::Monthly.matches(Period::parse("2026").unwrap()));
        assert_eq!(
            Cycle::Monthly.next(Period::parse("2026-12").unwrap()).to_string(),
            "2027-01"
        );
        assert_eq!(
            Cycle::Quarterly.next(Period::parse("2026-Q4").unwrap()).to_string(),
            "2027-Q1"
        );
        assert_eq!(Cycle::Quarterly.period_of(d("2026-08-31")).to_string(), "2026-Q3");
    }

    #[test]
    fn discounts() {
        let tiers = parse_discounts(&[
            PrepayDiscount {
                months: 12,
                rate: "0.05".into(),
            },
            PrepayDiscount {
                months: 6,
                rate: "0.02".into(),
            },
        ])
        .unwrap();
        assert_eq!(discount_rate(&tiers, 5), Decimal::ZERO);
        assert_eq!(discount_rate(&tiers, 6), Decimal::new(2, 2));
        assert_eq!(discount_rate(&tiers, 24), Decimal::new(5, 2));
        assert_eq!(
            spread_discount(&[1000, 1000, 1000], Decimal::new(1, 1)),
            (300, vec![100, 100, 100])
        );
        assert_eq!(
            spread_discount(&[1001, 1000, 1000], Decimal::new(1, 1)),
            (300, vec![100, 100, 100])
        );
        assert_eq!(
            spread_discount(&[1010, 1000, 1000], Decimal::new(1, 1)),
            (301, vec![101, 100, 100])
        );
        assert!(parse_discounts(&[PrepayDiscount {
            months: 0,
            rate: "0.1".into()
        }])
        .is_err());
        assert!(parse_discounts(&[PrepayDiscount {
            months: 3,
            rate: "0.9".into()
        }])
        .is_err());
    }

    proptest! {
        #[test]
        fn discount_shares_add_up(amounts in proptest::collection::vec(1i64..1_000_000, 1..24), bp in 0i64..5000) {
            let rate = Decimal::new(bp, 4);
            let (total, shares) = spread_discount(&amounts, rate);
            prop_assert_eq!(shares.iter().sum::<i64>(), total);
            prop_assert!(shares.iter().all(|s| *s >= 0));
            prop_assert!(total <= amounts.iter().sum::<i64>());
        }

        #[test]
        fn proration_never_exceeds_the_full_period(price in 1i64..100_000, area in 1i64..50_000, day in 0i64..40) {
            let p = Period::parse("2026-09").unwrap();
            let price = Decimal::new(price, 4);
            let full = principal_fen(FeeKind::PerArea, price, p, Area(area), None).unwrap();
            let h = p.start() + chrono::Duration::days(day);
            if let Some(part) = principal_fen(FeeKind::PerArea, price, p, Area(area), Some(h)) {
                prop_assert!(part <= full && part >= 0);
            } else {
                prop_assert!(h > p.end());
            }
        }
    }
}
