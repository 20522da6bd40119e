//! Suppression: named clauses that stop collection on a bill, each a Rust predicate with its SQL
//! form beside it (`tests/api` keeps the two in agreement on both backends) and the effects it
//! declares. A new reason to stop collecting — a dispute, an installment plan, a hardship case, a
//! scheduled auto-debit, a bill over the owner's debit limit — is one more clause here, not a
//! branch in the reminder pass, the task queue or the printer.
use chrono::NaiveDate;

/// What a clause stops.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Effect {
    /// Reminder messages (decided and re-checked before sending).
    Reminders,
    /// Staff follow-up tasks (calls, visits) shown as held.
    StaffTasks,
    /// Printing a formal notice.
    PrintedNotices,
    /// Auto-debits.
    Debits,
    /// The public (masked) arrears notice.
    PublicNotice,
}

impl Effect {
    pub const ALL: [Effect; 5] = [
        Effect::Reminders,
        Effect::StaffTasks,
        Effect::PrintedNotices,
        Effect::Debits,
        Effect::PublicNotice,
    ];
}

/// What a clause is asked about: one bill, or a unit as a whole (a task or notice on a unit).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Subject {
    Bill(Bill),
    Unit(i32),
}

/// A bill as the clauses see it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Bill {
    pub id: i32,
    pub unit_id: i32,
    /// Still something to pay (`status = 'unpaid'`).
    pub open: bool,
    /// An instalment of an accepted installment plan (`installment_plan_id <> 0`): while one is
    /// open, its plan is in force.
    pub instalment: bool,
}

/// A staff collection hold as the clauses see it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Hold {
    pub unit_id: Option<i32>,
    /// None: the whole unit.
    pub bill_id: Option<i32>,
    pub until: NaiveDate,
    pub ended: bool,
}

/// What the clauses may look at besides the bill.
#[derive(Debug, Clone, Copy)]
pub struct Facts<'a> {
    /// The community's local date.
    pub today: NaiveDate,
    /// Holds on the bill's unit (others are ignored).
    pub holds: &'a [Hold],
    /// Bills named by a dispute still being worked on (`open` or `waiting_owner`).
    pub disputed: &'a [i32],
    /// Bills whose auto-debit the owner has been told of and which is still running (`noticed`,
    /// `debiting`, or `failed` and to be tried again).
    pub debiting: &'a [i32],
    /// Bills in an installment request awaiting finance's decision or the owner's acceptance
    /// (`requested` or `approved`).
    pub planned: &'a [i32],
    /// Hardship cases on the bills' units, requested or approved.
    pub relieved: &'a [Relieved],
}

/// A hardship case as the clauses see it: while it is being decided, and through its window once
/// approved, the unit is not chased.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Relieved {
    pub unit_id: i32,
    /// Requested, not yet decided.
    pub pending: bool,
    /// An approved case's window.
    pub starts_on: Option<NaiveDate>,
    pub ends_on: Option<NaiveDate>,
}

impl Relieved {
    fn covers(&self, unit_id: i32, today: NaiveDate) -> bool {
        self.unit_id == unit_id
            && (self.pending
                || (self.starts_on.is_some_and(|d| d <= today) && self.ends_on.is_some_and(|d| d >= today)))
    }
}

/// One reason to stop collecting a bill.
pub struct Clause {
    pub name: &'static str,
    pub effects: &'static [Effect],
    /// Whether it applies to this bill (or unit) now.
    pub applies: fn(&Subject, &Facts<'_>) -> bool,
    /// The same, as SQL over a bill aliased `b` with the local date bound at `today`.
    pub sql: fn(today: &str) -> String,
}

fn hold_covers(h: &Hold, s: &Subject, today: NaiveDate) -> bool {
    let in_force = !h.ended && h.until >= today;
    in_force
        && match s {
            Subject::Bill(b) => h.unit_id == Some(b.unit_id) && h.bill_id.is_none_or(|id| id == b.id),
            Subject::Unit(u) => h.unit_id == Some(*u) && h.bill_id.is_none(),
        }
}

/// Every clause, in the order their names are reported.
pub const CLAUSES: &[Clause] = &[
    Clause {
        name: "settled",
        // A paid or cancelled bill is owed by nobody.
        effects: &[Effect::Reminders, Effect::Debits, Effect::PublicNotice],
        applies: |s, _| matches!(s, Subject::Bill(b) if !b.open),
        sql: |_| "b.status <> 'unpaid'".into(),
    },
    Clause {
        name: "hold",
        // Staff stopped collection on the bill or its whole unit until a date.
        effects: &[
            Effect::Reminders,
            Effect::StaffTasks,
            Effect::PrintedNotices,
            Effect::Debits,
        ],
        applies: |s, f| f.holds.iter().any(|h| hold_covers(h, s, f.today)),
        sql: |today| {
            format!(
                "EXISTS (SELECT 1 FROM collection_holds h WHERE h.until >= {today} AND h.ended_at IS NULL \
                 AND h.unit_id = b.unit_id AND (h.bill_id = b.id OR h.bill_id IS NULL))"
            )
        },
    },
    Clause {
        name: "dispute",
        // PRODUCT.md: an open bill dispute stops escalation on the bills it names — no reminders,
        // tasks, printed notices, debits or public listing until it is resolved (issue #14).
        effects: &Effect::ALL,
        applies: |s, f| matches!(s, Subject::Bill(b) if f.disputed.contains(&b.id)),
        sql: |_| {
            "EXISTS (SELECT 1 FROM ticket_bills tb JOIN tickets t ON t.id = tb.ticket_id \
             WHERE tb.bill_id = b.id AND t.category = 'dispute' AND t.status IN ('open', 'waiting_owner'))"
                .into()
        },
    },
    Clause {
        name: "autodebit",
        // Issue #16: a bill whose debit the owner was told of is not chased meanwhile — no
        // reminders, tasks or printed notices while the debit and its retries run; once it is
        // paid the bill is settled, and once given up or skipped the escalation resumes.
        effects: &[Effect::Reminders, Effect::StaffTasks, Effect::PrintedNotices],
        applies: |s, f| matches!(s, Subject::Bill(b) if f.debiting.contains(&b.id)),
        sql: |_| {
            "EXISTS (SELECT 1 FROM autodebit_debits ad WHERE ad.bill_id = b.id \
             AND ad.status IN ('noticed', 'debiting', 'failed'))"
                .into()
        },
    },
    Clause {
        name: "plan",
        // Issue #17: an owner who asked to pay bills in instalments is not chased for them — or
        // debited the whole sum — while finance decides and the owner reads the agreement; once
        // accepted the bills are rescheduled (settled here), once refused or withdrawn collection
        // resumes.
        effects: &Effect::ALL,
        applies: |s, f| matches!(s, Subject::Bill(b) if f.planned.contains(&b.id)),
        sql: |_| {
            "EXISTS (SELECT 1 FROM installment_plan_bills pb JOIN installment_plans p ON p.id = pb.plan_id              WHERE pb.live_bill_id = b.id AND p.status IN ('requested', 'approved'))"
                .into()
        },
    },
    Clause {
        name: "hardship",
        // PRODUCT.md: an approved hardship case pauses reminders — on the whole unit, through the
        // case's window; also while the request is being decided. Debits are the owner's own
        // choice and go on (a deferral moves the due dates they follow).
        effects: &[
            Effect::Reminders,
            Effect::StaffTasks,
            Effect::PrintedNotices,
            Effect::PublicNotice,
        ],
        applies: |s, f| {
            let unit = match s {
                Subject::Bill(b) => b.unit_id,
                Subject::Unit(u) => *u,
            };
            f.relieved.iter().any(|r| r.covers(unit, f.today))
        },
        sql: |today| {
            format!(
                "EXISTS (SELECT 1 FROM hardship_cases h WHERE h.unit_id = b.unit_id AND (h.status = 'requested' \
                 OR (h.status = 'approved' AND h.starts_on <= {today} AND h.ends_on >= {today})))"
            )
        },
    },
    Clause {
        name: "instalment",
        // Issue #18: an owner keeping an installment plan is never named on the public arrears
        // notice; an instalment's own lateness is the plan's default rule's business.
        effects: &[Effect::PublicNotice],
        applies: |s, _| matches!(s, Subject::Bill(b) if b.instalment),
        sql: |_| "b.installment_plan_id <> 0".into(),
    },
];

fn with(effect: Effect) -> impl Iterator<Item = &'static Clause> {
    CLAUSES.iter().filter(move |c| c.effects.contains(&effect))
}

/// The first clause stopping `effect` on this subject, if any.
pub fn stopping(effect: Effect, s: &Subject, f: &Facts<'_>) -> Option<&'static str> {
    with(effect).find(|c| (c.applies)(s, f)).map(|c| c.name)
}

/// Whether `effect` is stopped on a unit as a whole or on any of these bills of it (a follow-up
/// task or a printed notice names a unit and some of its bills).
pub fn stops_any(effect: Effect, unit_id: i32, bills: &[Bill], f: &Facts<'_>) -> bool {
    stopping(effect, &Subject::Unit(unit_id), f).is_some()
        || bills.iter().any(|b| stopping(effect, &Subject::Bill(*b), f).is_some())
}

/// `effect`'s clauses as one SQL condition over a bill `b`: true when any stops it.
pub fn sql(effect: Effect, today: &str) -> String {
    let parts: Vec<String> = with(effect).map(|c| format!("({})", (c.sql)(today))).collect();
    if parts.is_empty() {
        "FALSE".into()
    } else {
        format!("({})", parts.join(" OR "))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> NaiveDate {
        s.parse().unwrap_or_default()
    }

    #[test]
    fn clauses_declare_their_effects_and_holds_stop_follow_up_but_not_the_public_notice() {
        let b = Bill {
            id: 7,
            unit_id: 3,
            open: true,
            instalment: false,
        };
        let hold = |bill_id, until, ended| Hold {
            unit_id: Some(3),
            bill_id,
            until: d(until),
            ended,
        };
        let holds = [hold(Some(7), "2026-12-01", false)];
        let f = Facts {
            today: d("2026-11-30"),
            holds: &holds,
            disputed: &[],
            debiting: &[],
            planned: &[],
            relieved: &[],
        };
        for e in [
            Effect::Reminders,
            Effect::StaffTasks,
            Effect::PrintedNotices,
            Effect::Debits,
        ] {
            assert_eq!(stopping(e, &Subject::Bill(b), &f), Some("hold"));
        }
        assert_eq!(stopping(Effect::PublicNotice, &Subject::Bill(b), &f), None);
        // Another bill of the unit is not held by a bill hold; the unit-wide one holds all.
        let other = Bill { id: 8, ..b };
        assert_eq!(stopping(Effect::Reminders, &Subject::Bill(other), &f), None);
        assert!(!stops_any(Effect::StaffTasks, 3, &[], &f));
        let unit_wide = [hold(None, "2026-11-30", false)];
        let f2 = Facts { holds: &unit_wide, ..f };
        assert!(stops_any(Effect::StaffTasks, 3, &[], &f2));
        assert!(!stops_any(Effect::StaffTasks, 4, &[], &f2));
        // Ended or expired holds stop nothing.
        let gone = [hold(None, "2026-12-31", true), hold(Some(7), "2026-11-29", false)];
        assert_eq!(
            stopping(Effect::Reminders, &Subject::Bill(b), &Facts { holds: &gone, ..f }),
            None
        );
        // Settled bills are never reminded or debited, whatever holds say.
        let paid = Bill { open: false, ..b };
        assert_eq!(stopping(Effect::Debits, &Subject::Bill(paid), &f), Some("settled"));
        assert!(sql(Effect::Reminders, "$1").contains("collection_holds"));
        assert!(!sql(Effect::PublicNotice, "$1").contains("collection_holds"));
    }

    #[test]
    fn a_dispute_stops_everything_on_exactly_its_bills() {
        let b = Bill {
            id: 7,
            unit_id: 3,
            open: true,
            instalment: false,
        };
        let f = Facts {
            today: d("2026-11-30"),
            holds: &[],
            disputed: &[7],
            debiting: &[],
            planned: &[],
            relieved: &[],
        };
        for e in Effect::ALL {
            assert_eq!(stopping(e, &Subject::Bill(b), &f), Some("dispute"), "{e:?}");
            assert!(sql(e, "$1").contains("ticket_bills"));
        }
        // The unit's other bills, and the unit as a whole, go on.
        assert_eq!(
            stopping(Effect::Reminders, &Subject::Bill(Bill { id: 8, ..b }), &f),
            None
        );
        assert!(!stops_any(Effect::StaffTasks, 3, &[Bill { id: 8, ..b }], &f));
        assert!(stops_any(Effect::StaffTasks, 3, &[b], &f));
    }

    #[test]
    fn an_announced_debit_stops_the_chasing_of_its_bill_but_not_the_debit() {
        let b = Bill {
            id: 7,
            unit_id: 3,
            open: true,
            instalment: false,
        };
        let f = Facts {
            today: d("2026-11-30"),
            holds: &[],
            disputed: &[],
            debiting: &[7],
            planned: &[],
            relieved: &[],
        };
        for e in [Effect::Reminders, Effect::StaffTasks, Effect::PrintedNotices] {
            assert_eq!(stopping(e, &Subject::Bill(b), &f), Some("autodebit"), "{e:?}");
            assert!(sql(e, "$1").contains("autodebit_debits"));
        }
        for e in [Effect::Debits, Effect::PublicNotice] {
            assert_eq!(stopping(e, &Subject::Bill(b), &f), None, "{e:?}");
            assert!(!sql(e, "$1").contains("autodebit_debits"));
        }
        assert_eq!(
            stopping(Effect::Reminders, &Subject::Bill(Bill { id: 8, ..b }), &f),
            None
        );
    }

    #[test]
    fn a_hardship_case_pauses_chasing_the_unit_while_decided_and_through_its_window() {
        let b = Bill {
            id: 7,
            unit_id: 3,
            open: true,
            instalment: false,
        };
        let case = |pending, window: Option<(&str, &str)>| Relieved {
            unit_id: 3,
            pending,
            starts_on: window.map(|w| d(w.0)),
            ends_on: window.map(|w| d(w.1)),
        };
        let at = |today: &str, cases: &[Relieved], e: Effect| {
            let f = Facts {
                today: d(today),
                holds: &[],
                disputed: &[],
                debiting: &[],
                planned: &[],
                relieved: cases,
            };
            (stopping(e, &Subject::Bill(b), &f), stops_any(e, 3, &[], &f))
        };
        let pending = [case(true, None)];
        assert_eq!(at("2026-11-30", &pending, Effect::Reminders), (Some("hardship"), true));
        let approved = [case(false, Some(("2026-11-01", "2026-12-31")))];
        for e in [
            Effect::Reminders,
            Effect::StaffTasks,
            Effect::PrintedNotices,
            Effect::PublicNotice,
        ] {
            assert_eq!(at("2026-12-31", &approved, e), (Some("hardship"), true), "{e:?}");
        }
        assert_eq!(at("2026-12-31", &approved, Effect::Debits).0, None);
        // Before and after the window, and on another unit, collection goes on.
        assert_eq!(at("2026-10-31", &approved, Effect::Reminders).0, None);
        assert_eq!(at("2027-01-01", &approved, Effect::Reminders).0, None);
        let elsewhere = [Relieved {
            unit_id: 4,
            ..approved[0]
        }];
        assert_eq!(at("2026-12-01", &elsewhere, Effect::Reminders).0, None);
        assert!(sql(Effect::Reminders, "$1").contains("hardship_cases"));
        assert!(!sql(Effect::Debits, "$1").contains("hardship_cases"));
    }

    #[test]
    fn a_plan_kept_keeps_its_owner_off_the_public_notice_only() {
        let b = Bill {
            id: 7,
            unit_id: 3,
            open: true,
            instalment: true,
        };
        let f = Facts {
            today: d("2026-11-30"),
            holds: &[],
            disputed: &[],
            debiting: &[],
            planned: &[],
            relieved: &[],
        };
        assert_eq!(
            stopping(Effect::PublicNotice, &Subject::Bill(b), &f),
            Some("instalment")
        );
        for e in [
            Effect::Reminders,
            Effect::StaffTasks,
            Effect::PrintedNotices,
            Effect::Debits,
        ] {
            assert_eq!(stopping(e, &Subject::Bill(b), &f), None, "{e:?}");
        }
        assert!(sql(Effect::PublicNotice, "$1").contains("installment_plan_id"));
    }

    #[test]
    fn an_installment_request_stops_everything_on_its_bills_until_decided() {
        let b = Bill {
            id: 7,
            unit_id: 3,
            open: true,
            instalment: false,
        };
        let f = Facts {
            today: d("2026-11-30"),
            holds: &[],
            disputed: &[],
            debiting: &[],
            planned: &[7],
            relieved: &[],
        };
        for e in Effect::ALL {
            assert_eq!(stopping(e, &Subject::Bill(b), &f), Some("plan"), "{e:?}");
            assert!(sql(e, "$1").contains("installment_plan_bills"));
        }
        assert_eq!(
            stopping(Effect::Reminders, &Subject::Bill(Bill { id: 8, ..b }), &f),
            None
        );
        assert!(!stops_any(Effect::StaffTasks, 3, &[Bill { id: 8, ..b }], &f));
    }
}
