//! SLA clocks of tickets (issue #14): how much of a response or resolution budget has run, and when
//! it runs out. A clock runs only in the community's working time — all day, or within business
//! hours (local time) — never on closed dates (`no_send_dates`), and not while it is paused
//! (waiting for the owner). Pure: the ticket service supplies the calendar, the pauses and now.
use chrono::{DateTime, Duration, NaiveDate, NaiveTime, TimeZone, Utc};
use chrono_tz::Tz;
use std::collections::BTreeSet;

/// When a community's SLA clocks run.
#[derive(Debug, Clone)]
pub struct Calendar {
    pub tz: Tz,
    /// Local opening and closing time; None: all day.
    pub hours: Option<(NaiveTime, NaiveTime)>,
    /// Local dates the clock does not run.
    pub closed: BTreeSet<NaiveDate>,
}

/// A paused stretch; `to` None while the pause lasts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Pause {
    pub from: DateTime<Utc>,
    pub to: Option<DateTime<Utc>>,
}

/// Days looked ahead for working time before giving up (a calendar with no open day at all).
const HORIZON_DAYS: i64 = 800;

impl Calendar {
    /// The working window of a local date, in UTC; None when closed. Local times that do not exist
    /// (a DST gap) take the next valid instant.
    fn window(&self, day: NaiveDate) -> Option<(DateTime<Utc>, DateTime<Utc>)> {
        if self.closed.contains(&day) {
            return None;
        }
        let (open, close) = self.hours.unwrap_or((NaiveTime::MIN, NaiveTime::MIN));
        let at = |d: NaiveDate, t: NaiveTime| -> Option<DateTime<Utc>> {
            let naive = d.and_time(t);
            self.tz
                .from_local_datetime(&naive)
                .earliest()
                .or_else(|| self.tz.from_local_datetime(&(naive + Duration::hours(1))).earliest())
                .map(|x| x.with_timezone(&Utc))
        };
        let start = at(day, open)?;
        let end = if self.hours.is_none() || close <= open {
            // All day (or a window reaching midnight): until the next day's start.
            at(
                day.succ_opt()?,
                if self.hours.is_none() { NaiveTime::MIN } else { close },
            )?
        } else {
            at(day, close)?
        };
        (end > start).then_some((start, end))
    }

    /// Working stretches from `from` on, in order, with paused time cut out.
    fn stretches<'a>(
        &'a self,
        from: DateTime<Utc>,
        pauses: &'a [Pause],
    ) -> impl Iterator<Item = (DateTime<Utc>, DateTime<Utc>)> + 'a {
        let first = from.with_timezone(&self.tz).date_naive() - Duration::days(1);
        (0..HORIZON_DAYS)
            .filter_map(move |i| self.window(first + Duration::days(i)))
            .filter_map(move |(s, e)| {
                let s = s.max(from);
                (e > s).then_some((s, e))
            })
            .flat_map(move |w| cut(w, pauses))
    }

    /// Working time between `from` and `to`, paused time excluded.
    pub fn worked(&self, from: DateTime<Utc>, to: DateTime<Utc>, pauses: &[Pause]) -> Duration {
        let mut total = Duration::zero();
        for (s, e) in self.stretches(from, pauses) {
            if s >= to {
                break;
            }
            total += e.min(to) - s;
        }
        total
    }

    /// When `budget` of working time from `from` runs out; None while a pause lasts across it (the
    /// clock is stopped) or when the calendar has no working time ahead.
    pub fn due(&self, from: DateTime<Utc>, budget: Duration, pauses: &[Pause]) -> Option<DateTime<Utc>> {
        let mut left = budget;
        if left <= Duration::zero() {
            return Some(from);
        }
        for (s, e) in self.stretches(from, pauses) {
            if e - s >= left {
                return Some(s + left);
            }
            left -= e - s;
        }
        None
    }
}

/// `w` less the parts any pause covers (a lasting pause covers everything after its start).
fn cut(w: (DateTime<Utc>, DateTime<Utc>), pauses: &[Pause]) -> Vec<(DateTime<Utc>, DateTime<Utc>)> {
    let mut out = vec![w];
    for p in pauses {
        out = out
            .into_iter()
            .flat_map(|(s, e)| {
                let (ps, pe) = (p.from, p.to.unwrap_or(DateTime::<Utc>::MAX_UTC));
                if pe <= s || ps >= e {
                    vec![(s, e)]
                } else {
                    [(s, ps.max(s)), (pe.min(e), e)]
                        .into_iter()
                        .filter(|(a, b)| b > a)
                        .collect()
                }
            })
            .collect();
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn shanghai(hours: Option<(u32, u32)>, closed: &[&str]) -> Calendar {
        Calendar {
            tz: chrono_tz::Asia::Shanghai,
            hours: hours.map(|(a, b)| {
                (
                    NaiveTime::from_hms_opt(a, 0, 0).unwrap(),
                    NaiveTime::from_hms_opt(b, 0, 0).unwrap(),
                )
            }),
            closed: closed.iter().map(|d| d.parse().unwrap()).collect(),
        }
    }

    /// A local Shanghai time as UTC.
    fn at(s: &str) -> DateTime<Utc> {
        chrono_tz::Asia::Shanghai
            .from_local_datetime(&s.parse().unwrap())
            .unwrap()
            .with_timezone(&Utc)
    }

    #[test]
    fn an_all_day_clock_is_wall_time() {
        let c = shanghai(None, &[]);
        assert_eq!(
            c.due(at("2026-11-30T10:00:00"), Duration::hours(24), &[]),
            Some(at("2026-12-01T10:00:00"))
        );
    }

    #[test]
    fn business_hours_and_closed_dates_stop_the_clock() {
        // 09:00–18:00; Friday 2026-12-04 17:00 with 4 h: 1 h on Friday, Saturday closed, 3 h on Sunday.
        let c = shanghai(Some((9, 18)), &["2026-12-05"]);
        assert_eq!(
            c.due(at("2026-12-04T17:00:00"), Duration::hours(4), &[]),
            Some(at("2026-12-06T12:00:00"))
        );
        // Opened at night: the clock starts at opening.
        assert_eq!(
            c.due(at("2026-12-03T22:30:00"), Duration::hours(1), &[]),
            Some(at("2026-12-04T10:00:00"))
        );
        assert_eq!(
            c.worked(at("2026-12-04T17:00:00"), at("2026-12-06T12:00:00"), &[]),
            Duration::hours(4)
        );
    }

    #[test]
    fn a_pause_moves_the_deadline_by_its_working_length_and_a_lasting_one_stops_it() {
        let c = shanghai(None, &[]);
        let from = at("2026-11-30T10:00:00");
        let pause = Pause {
            from: at("2026-11-30T12:00:00"),
            to: Some(at("2026-11-30T20:00:00")),
        };
        assert_eq!(
            c.due(from, Duration::hours(24), &[pause]),
            Some(at("2026-12-01T18:00:00"))
        );
        let open = Pause { to: None, ..pause };
        assert_eq!(c.due(from, Duration::hours(24), &[open]), None);
        assert_eq!(c.worked(from, at("2026-12-02T00:00:00"), &[open]), Duration::hours(2));
    }

    #[test]
    fn equal_opening_and_closing_times_run_around_the_clock_and_all_closed_never_falls_due() {
        let c = shanghai(Some((9, 9)), &[]);
        assert_eq!(
            c.worked(at("2026-11-30T00:00:00"), at("2026-12-30T00:00:00"), &[]),
            Duration::hours(24 * 30)
        );
        let mut shut = shanghai(None, &[]);
        shut.closed = (0..HORIZON_DAYS + 2)
            .map(|i| NaiveDate::from_ymd_opt(2026, 11, 29).unwrap() + Duration::days(i))
            .collect();
        assert_eq!(shut.due(at("2026-11-30T10:00:00"), Duration::hours(1), &[]), None);
    }

    proptest! {
        /// The deadline is exactly where the budget's working time has run: `worked(from, due)`
        /// equals the budget, and no earlier instant has run it all.
        #[test]
        fn due_and_worked_agree(
            start_min in 0i64..(60 * 24 * 20),
            budget_min in 1i64..(60 * 24 * 10),
            business in any::<bool>(),
            closed_offsets in proptest::collection::btree_set(0i64..20, 0..5),
            pause in proptest::option::of((0i64..(60 * 24 * 10), 1i64..(60 * 24 * 2))),
        ) {
            let base = at("2026-11-30T00:00:00");
            let closed: BTreeSet<NaiveDate> = closed_offsets
                .iter()
                .map(|o| NaiveDate::from_ymd_opt(2026, 11, 30).unwrap() + Duration::days(*o))
                .collect();
            let c = Calendar { closed, ..shanghai(business.then_some((9, 18)), &[]) };
            let from = base + Duration::minutes(start_min);
            let pauses: Vec<Pause> = pause
                .map(|(s, l)| Pause { from: from + Duration::minutes(s), to: Some(from + Duration::minutes(s + l)) })
                .into_iter()
                .collect();
            let budget = Duration::minutes(budget_min);
            let due = c.due(from, budget, &pauses).expect("working time ahead");
            prop_assert_eq!(c.worked(from, due, &pauses), budget);
            prop_assert!(c.worked(from, due - Duration::minutes(1), &pauses) < budget);
        }
    }
}
