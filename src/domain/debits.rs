//! Auto-debit timing, pure: when the pre-debit notice is due, the hours debits (and their notices)
//! may run, and the retry schedule. Debit days are the bills' due dates in community time.
use chrono::{Duration, NaiveDate, NaiveTime};

/// The local hours notices and debits run in, `start` included, `end` excluded (WeChat Pay
/// deducts only 07:00–22:00).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Window {
    pub start: NaiveTime,
    pub end: NaiveTime,
}

impl Window {
    /// Parses `"07:00-22:00"`.
    pub fn parse(s: &str) -> Result<Window, String> {
        let (a, b) = s
            .split_once('-')
            .ok_or_else(|| format!("window {s:?}: expected HH:MM-HH:MM"))?;
        let t =
            |v: &str| NaiveTime::parse_from_str(v.trim(), "%H:%M").map_err(|_| format!("window {s:?}: bad time {v:?}"));
        let w = Window {
            start: t(a)?,
            end: t(b)?,
        };
        if w.start >= w.end {
            return Err(format!("window {s:?}: start must be before end"));
        }
        Ok(w)
    }

    pub fn contains(&self, t: NaiveTime) -> bool {
        self.start <= t && t < self.end
    }
}

/// Where a planned debit stands on `today` with respect to its notice.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NoticeTiming {
    /// More than `lead` days before the debit: wait.
    Early,
    /// Exactly `lead` days before: tell the owner today.
    Due,
    /// Fewer than `lead` days are left: the owner could not be told in time, so no debit.
    Missed,
}

/// The notice is sent `lead` days before the debit, never later (and not earlier, so it reads
/// "in three days").
pub fn notice_timing(debit_on: NaiveDate, lead_days: i64, today: NaiveDate) -> NoticeTiming {
    let notice_on = debit_on - Duration::days(lead_days);
    match today.cmp(&notice_on) {
        std::cmp::Ordering::Less => NoticeTiming::Early,
        std::cmp::Ordering::Equal => NoticeTiming::Due,
        std::cmp::Ordering::Greater => NoticeTiming::Missed,
    }
}

/// After `attempts` failed tries of a debit due on `debit_on`, the day of the next try (`retry_days`
/// count from the debit day), or None when every try is spent.
pub fn next_try(debit_on: NaiveDate, attempts: i32, retry_days: &[i64]) -> Option<NaiveDate> {
    let k = usize::try_from(attempts).ok()?.checked_sub(1)?;
    retry_days.get(k).map(|d| debit_on + Duration::days(*d))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> NaiveDate {
        NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap()
    }

    #[test]
    fn the_window_includes_its_start_and_excludes_its_end() {
        let w = Window::parse("07:00-22:00").unwrap();
        let t = |s: &str| NaiveTime::parse_from_str(s, "%H:%M:%S").unwrap();
        assert!(!w.contains(t("06:59:59")));
        assert!(w.contains(t("07:00:00")));
        assert!(w.contains(t("21:59:59")));
        assert!(!w.contains(t("22:00:00")));
        assert!(Window::parse("22:00-07:00").is_err());
        assert!(Window::parse("7-22").is_err());
    }

    #[test]
    fn the_notice_is_due_exactly_lead_days_before() {
        let debit = d("2026-11-10");
        assert_eq!(notice_timing(debit, 3, d("2026-11-06")), NoticeTiming::Early);
        assert_eq!(notice_timing(debit, 3, d("2026-11-07")), NoticeTiming::Due);
        assert_eq!(notice_timing(debit, 3, d("2026-11-08")), NoticeTiming::Missed);
        assert_eq!(notice_timing(debit, 3, d("2026-11-10")), NoticeTiming::Missed);
    }

    #[test]
    fn retries_follow_the_schedule_from_the_debit_day_then_stop() {
        let debit = d("2026-11-10");
        let days = [1, 3, 7];
        assert_eq!(next_try(debit, 1, &days), Some(d("2026-11-11")));
        assert_eq!(next_try(debit, 2, &days), Some(d("2026-11-13")));
        assert_eq!(next_try(debit, 3, &days), Some(d("2026-11-17")));
        assert_eq!(next_try(debit, 4, &days), None);
        assert_eq!(next_try(debit, 0, &days), None);
        assert_eq!(next_try(debit, 1, &[]), None);
    }
}
