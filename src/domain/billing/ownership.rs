//! Whose bill is it? One rule for the owner app, the reminders and the case file, kept here in Rust
//! with its SQL form beside it (a test runs both over the same rows on both backends).
//!
//! A bill for the period starting on day S belongs to every owner record whose link to the unit
//! was in force on S — or, for periods that started before anyone's link, to the unit's first
//! owners (bills from before the owners were registered). So a transfer (过户) leaves the bill of
//! the transfer month with the seller, and anyone added later — a buyer, or a co-owner joining an
//! existing owner — answers for (and sees) the periods that start from their own start date on.
use chrono::NaiveDate;

/// An ownership link: `start` inclusive, `end` exclusive (a transfer ends one link on the day the
/// next starts).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Link {
    pub unit_id: i32,
    pub owner_id: i32,
    pub start: NaiveDate,
    pub end: Option<NaiveDate>,
}

/// Whether the bill of `link`'s unit for the period starting `period_start` is `link`'s owner's;
/// `unit_links` are all links of that unit (others are ignored).
pub fn owns(link: &Link, unit_links: &[Link], period_start: NaiveDate) -> bool {
    let in_force_at_start = link.end.is_none_or(|end| end > period_start);
    let first_owner = !unit_links
        .iter()
        .any(|p| p.unit_id == link.unit_id && p.start < link.start);
    in_force_at_start && (link.start <= period_start || first_owner)
}

/// `owns` in SQL: joins each bill `b` to the links `uo` (table `unit_owners`) it belongs to.
pub const BILL_OWNER_JOIN: &str = "JOIN unit_owners uo ON uo.unit_id = b.unit_id \
     AND (uo.end_date IS NULL OR uo.end_date > b.period_start) \
     AND (uo.start_date <= b.period_start OR NOT EXISTS \
     (SELECT 1 FROM unit_owners p WHERE p.unit_id = uo.unit_id AND p.start_date < uo.start_date))";

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn d(s: &str) -> NaiveDate {
        NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap()
    }

    fn link(owner_id: i32, start: &str, end: Option<&str>) -> Link {
        Link {
            unit_id: 1,
            owner_id,
            start: d(start),
            end: end.map(d),
        }
    }

    #[test]
    fn a_transfer_leaves_the_transfer_month_with_the_seller() {
        let seller = link(1, "2025-06-01", Some("2026-09-15"));
        let buyer = link(2, "2026-09-15", None);
        let all = [seller, buyer];
        // Bills from before the seller registered are the first owner's.
        assert!(owns(&seller, &all, d("2025-01-01")));
        assert!(owns(&seller, &all, d("2026-09-01")));
        assert!(!owns(&buyer, &all, d("2026-09-01")));
        assert!(!owns(&seller, &all, d("2026-10-01")));
        assert!(owns(&buyer, &all, d("2026-10-01")));
        // A transfer on the first of a month hands that month over.
        let seller = link(1, "2025-06-01", Some("2026-10-01"));
        let buyer = link(2, "2026-10-01", None);
        assert!(!owns(&seller, &[seller, buyer], d("2026-10-01")));
        assert!(owns(&buyer, &[seller, buyer], d("2026-10-01")));
    }

    #[test]
    fn a_later_co_owner_answers_from_their_start() {
        let first = link(1, "2025-06-01", None);
        let co = link(2, "2026-10-20", None);
        let all = [first, co];
        assert!(owns(&first, &all, d("2026-10-01")));
        assert!(!owns(&co, &all, d("2026-10-01")));
        assert!(owns(&co, &all, d("2026-11-01")) && owns(&first, &all, d("2026-11-01")));
        // Co-owners registered together are both first owners of the old bills.
        let a = link(1, "2025-06-01", None);
        let b = link(2, "2025-06-01", None);
        assert!(owns(&a, &[a, b], d("2024-01-01")) && owns(&b, &[a, b], d("2024-01-01")));
    }
}
