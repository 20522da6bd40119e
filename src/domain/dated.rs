//! Dated values (prices, late-fee terms): a history in date order, the first in force from the start
//! (no date). The one rule for which entry holds on a day.
use chrono::NaiveDate;

/// The index of the entry in force on `day`: the last whose date has come. `from` gives an entry's
/// date (None: from the start). `entries` are in date order, ties in the order they were made.
pub fn in_force<T>(entries: &[T], from: impl Fn(&T) -> Option<NaiveDate>, day: NaiveDate) -> Option<usize> {
    entries.iter().rposition(|e| from(e).is_none_or(|d| d <= day))
}

#[cfg(test)]
mod tests {
    use super::in_force;
    use chrono::NaiveDate;

    #[test]
    fn the_last_entry_whose_date_has_come_is_in_force() {
        let d = |m, day| NaiveDate::from_ymd_opt(2026, m, day);
        let history = [None, d(10, 1), d(12, 1)];
        let on = |m, day| in_force(&history, |e| *e, d(m, day).unwrap());
        assert_eq!(on(9, 30), Some(0));
        assert_eq!(on(10, 1), Some(1), "in force on its own date");
        assert_eq!(on(11, 30), Some(1));
        assert_eq!(on(12, 1), Some(2));
        assert_eq!(in_force(&[d(12, 1)], |e| *e, d(11, 1).unwrap()), None);
    }
}
