//! Billing periods: `2026-09` (monthly), `2026-Q3` (quarterly), `2026` (yearly), calendar-anchored.
use chrono::{Datelike, NaiveDate};

/// Parses an API date `YYYY-MM-DD` between 1970-01-01 and 2100-12-31 (API.md): anything else is
/// refused before it reaches arithmetic or a query.
pub fn parse_date(raw: &str) -> Result<NaiveDate, &'static str> {
    let raw = raw.trim();
    let d = (raw.len() == 10)
        .then(|| NaiveDate::parse_from_str(raw, "%Y-%m-%d").ok())
        .flatten()
        .ok_or("日期格式应为YYYY-MM-DD")?;
    if !(1970..=2100).contains(&d.year()) {
        return Err("日期应在1970年到2100年之间");
    }
    Ok(d)
}

/// One billing period.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Period {
    Month { year: i32, month: u32 },
    Quarter { year: i32, quarter: u32 },
    Year { year: i32 },
}

impl Period {
    pub fn parse(s: &str) -> Result<Period, &'static str> {
        // Years 2000–2100 (inside the API's 1970–2100 date range).
        const ERR: &str = "账期格式应为2026-09、2026-Q3或2026";
        let year = |y: &str| {
            y.parse::<i32>()
                .ok()
                .filter(|y| (2000..=2100).contains(y) && y.to_string().len() == 4)
        };
        match s.split_once('-') {
            None => year(s).map(|year| Period::Year { year }).ok_or(ERR),
            Some((y, rest)) => {
                let year = year(y).ok_or(ERR)?;
                if let Some(q) = rest.strip_prefix('Q') {
                    let quarter = q
                        .parse::<u32>()
                        .ok()
                        .filter(|n| q.len() == 1 && (1..=4).contains(n))
                        .ok_or(ERR)?;
                    Ok(Period::Quarter { year, quarter })
                } else {
                    if rest.len() != 2 {
                        return Err(ERR);
                    }
                    let month = rest.parse::<u32>().ok().filter(|m| (1..=12).contains(m)).ok_or(ERR)?;
                    Ok(Period::Month { year, month })
                }
            }
        }
    }

    /// The month containing `d`.
    pub fn month_of(d: NaiveDate) -> Period {
        Period::Month {
            year: d.year(),
            month: d.month(),
        }
    }

    /// First day of the period.
    pub fn start(self) -> NaiveDate {
        let (y, m) = match self {
            Period::Month { year, month } => (year, month),
            Period::Quarter { year, quarter } => (year, (quarter - 1) * 3 + 1),
            Period::Year { year } => (year, 1),
        };
        NaiveDate::from_ymd_opt(y, m, 1).unwrap_or_default()
    }

    /// Number of months the period spans.
    pub fn months(self) -> u32 {
        match self {
            Period::Month { .. } => 1,
            Period::Quarter { .. } => 3,
            Period::Year { .. } => 12,
        }
    }

    /// Last day of the period.
    pub fn end(self) -> NaiveDate {
        add_months(self.start(), self.months()).pred_opt().unwrap_or_default()
    }

    /// Day `due_day` of the period's first month, clamped to the month's length.
    pub fn due_date(self, due_day: u32) -> NaiveDate {
        let start = self.start();
        let last = add_months(start, 1).pred_opt().unwrap_or(start).day();
        start.with_day(due_day.clamp(1, last)).unwrap_or(start)
    }

    /// The month before this one (monthly periods only; others return themselves).
    pub fn previous_month(self) -> Period {
        match self {
            Period::Month { year, month: 1 } => Period::Month {
                year: year - 1,
                month: 12,
            },
            Period::Month { year, month } => Period::Month { year, month: month - 1 },
            other => other,
        }
    }
}

fn add_months(d: NaiveDate, n: u32) -> NaiveDate {
    d.checked_add_months(chrono::Months::new(n)).unwrap_or(d)
}

impl std::fmt::Display for Period {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Period::Month { year, month } => write!(f, "{year}-{month:02}"),
            Period::Quarter { year, quarter } => write!(f, "{year}-Q{quarter}"),
            Period::Year { year } => write!(f, "{year}"),
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn dates_are_plain_and_between_1970_and_2100() {
        assert_eq!(
            parse_date("2026-09-15").unwrap(),
            NaiveDate::from_ymd_opt(2026, 9, 15).unwrap()
        );
        assert_eq!(parse_date("1970-01-01").unwrap().year(), 1970);
        assert_eq!(parse_date("2100-12-31").unwrap().year(), 2100);
        for bad in [
            "1969-12-31",
            "2101-01-01",
            "+262143-01-01",
            "9999-12-31",
            "2026-9-15",
            "2026-02-30",
            "",
            "x",
        ] {
            assert!(parse_date(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn parses_and_renders() {
        for ok in ["2026-09", "2026-Q3", "2026"] {
            assert_eq!(Period::parse(ok).unwrap().to_string(), ok);
        }
        for bad in [
            "2026-13", "2026-00", "2026-Q5", "2026-Q0", "26-01", "2026-9", "x", "2026-Q33",
        ] {
            assert!(Period::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn bounds_and_due_dates() {
        let p = Period::parse("2026-02").unwrap();
        assert_eq!(p.end(), NaiveDate::from_ymd_opt(2026, 2, 28).unwrap());
        assert_eq!(p.due_date(31), NaiveDate::from_ymd_opt(2026, 2, 28).unwrap());
        let q = Period::parse("2026-Q3").unwrap();
        assert_eq!(
            (q.start(), q.end()),
            (
                NaiveDate::from_ymd_opt(2026, 7, 1).unwrap(),
                NaiveDate::from_ymd_opt(2026, 9, 30).unwrap()
            )
        );
        assert_eq!(
            Period::parse("2026-01").unwrap().previous_month().to_string(),
            "2025-12"
        );
    }
}
