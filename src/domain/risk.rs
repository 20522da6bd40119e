//! The risk watch list (风险预警): an explainable score per owner from their own history, so staff
//! reach out early — a friendly call, an installment offer, a hardship check — before arrears
//! harden. Every point of the score has a reason staff can read and say aloud. It is never shown to
//! owners and never changes an amount.
//!
//! | signal | points | why it predicts trouble |
//! |---|---|---|
//! | first lateness after a clean record (≥ 3 bills paid on time) | 30 | a change in circumstances |
//! | overdue principal higher than 30 days ago | 25 | arrears are growing, not being worked off |
//! | an unresolved complaint or repair | 20 | the commonest stated reason for withholding fees |
//! | auto-debits failed in the last 90 days | 15 | the account may be empty or closed |
//! | an installment plan defaulted in the last year | 30 | even a plan proved too much |
//!
//! The score is the sum, at most 100. The suggested action follows the strongest cause: a broken
//! plan asks for a hardship check; a complaint is answered first; growing arrears get a plan
//! offer; a failed debit or a first lateness gets a friendly call.
use chrono::{Duration, NaiveDate};

/// One bill of an owner's history.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PastBill {
    pub due: NaiveDate,
    pub principal_fen: i64,
    /// The day it was settled (paid); None while it is owed.
    pub settled_on: Option<NaiveDate>,
}

/// What the score is computed from.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct History {
    pub bills: Vec<PastBill>,
    /// Complaints and repairs not yet resolved.
    pub open_complaints: u32,
    /// Auto-debits failed or given up in the last 90 days.
    pub failed_debits: u32,
    /// An installment plan defaulted in the last year.
    pub broken_plan: bool,
}

/// Bills paid on time before a first lateness counts as "after a clean record".
pub const CLEAN_RECORD: usize = 3;

/// Why an owner is on the list.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reason {
    pub code: &'static str,
    pub points: u32,
    /// What staff read, in Chinese.
    pub text: String,
}

/// What staff are advised to do.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    Call,
    PlanOffer,
    HardshipCheck,
    AnswerComplaint,
}

impl Action {
    pub fn as_str(self) -> &'static str {
        match self {
            Action::Call => "call",
            Action::PlanOffer => "plan_offer",
            Action::HardshipCheck => "hardship_check",
            Action::AnswerComplaint => "answer_complaint",
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            Action::Call => "友好电话联系，了解原因",
            Action::PlanOffer => "联系业主，提供分期缴费方案",
            Action::HardshipCheck => "上门或电话了解家庭情况，必要时引导申请困难减免",
            Action::AnswerComplaint => "先回访解决投诉或报修，再谈缴费",
        }
    }
}

/// An owner's score, its reasons and the suggested action; None when nothing signals risk.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Assessment {
    pub score: u32,
    pub reasons: Vec<Reason>,
    pub action: Action,
}

fn late(b: &PastBill, today: NaiveDate) -> bool {
    match b.settled_on {
        Some(s) => s > b.due,
        None => b.due < today,
    }
}

/// Overdue principal at the end of `day`: bills due before it and not settled by it.
fn overdue_on(bills: &[PastBill], day: NaiveDate) -> i64 {
    bills
        .iter()
        .filter(|b| b.due < day && b.settled_on.is_none_or(|s| s > day))
        .map(|b| b.principal_fen)
        .sum()
}

fn yuan(fen: i64) -> String {
    crate::domain::Fen(fen).to_yuan_string()
}

/// Scores one owner's history as of `today`.
pub fn assess(h: &History, today: NaiveDate) -> Option<Assessment> {
    let mut reasons = Vec::new();
    let mut bills = h.bills.clone();
    bills.sort_by_key(|b| b.due);
    // First lateness after a clean record: the earliest bill owed past its due date now, with every
    // bill due before it paid on time, and enough of them.
    if let Some(first) = bills.iter().position(|b| b.settled_on.is_none() && b.due < today) {
        let before = &bills[..first];
        if before.len() >= CLEAN_RECORD && before.iter().all(|b| !late(b, today)) {
            reasons.push(Reason {
                code: "first_late",
                points: 30,
                text: format!(
                    "此前{}期均按时缴费，{}到期的账单首次逾期",
                    before.len(),
                    bills[first].due
                ),
            });
        }
    }
    let now = overdue_on(&bills, today);
    let then = overdue_on(&bills, today - Duration::days(30));
    if now > then && now > 0 {
        reasons.push(Reason {
            code: "arrears_rising",
            points: 25,
            text: format!("逾期欠费本金30天内由{}元增至{}元", yuan(then), yuan(now)),
        });
    }
    if h.open_complaints > 0 {
        reasons.push(Reason {
            code: "open_complaint",
            points: 20,
            text: format!("有{}件投诉或报修尚未解决", h.open_complaints),
        });
    }
    if h.failed_debits > 0 {
        reasons.push(Reason {
            code: "failed_debits",
            points: 15,
            text: format!("近90天自动扣款失败{}次", h.failed_debits),
        });
    }
    if h.broken_plan {
        reasons.push(Reason {
            code: "broken_plan",
            points: 30,
            text: "近一年有分期协议因逾期终止".into(),
        });
    }
    if reasons.is_empty() {
        return None;
    }
    let has = |code: &str| reasons.iter().any(|r| r.code == code);
    let action = if has("broken_plan") {
        Action::HardshipCheck
    } else if has("open_complaint") {
        Action::AnswerComplaint
    } else if has("arrears_rising")
        && bills
            .iter()
            .filter(|b| late(b, today) && b.settled_on.is_none())
            .count()
            >= 2
    {
        Action::PlanOffer
    } else {
        Action::Call
    };
    Some(Assessment {
        score: reasons.iter().map(|r| r.points).sum::<u32>().min(100),
        reasons,
        action,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> NaiveDate {
        NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap()
    }

    fn bill(due: &str, settled: Option<&str>) -> PastBill {
        PastBill {
            due: d(due),
            principal_fen: 22_375,
            settled_on: settled.map(d),
        }
    }

    const TODAY: &str = "2026-10-20";

    #[test]
    fn a_first_lateness_after_a_clean_record_gets_a_friendly_call() {
        let h = History {
            bills: vec![
                bill("2026-06-10", Some("2026-06-08")),
                bill("2026-07-10", Some("2026-07-10")),
                bill("2026-08-10", Some("2026-08-01")),
                bill("2026-09-10", None),
                bill("2026-10-10", None),
            ],
            ..Default::default()
        };
        let a = assess(&h, d(TODAY)).unwrap();
        let codes: Vec<&str> = a.reasons.iter().map(|r| r.code).collect();
        // September was already overdue 30 days ago; October joined it since: rising too.
        assert_eq!(codes, ["first_late", "arrears_rising"]);
        assert_eq!(a.score, 55);
        assert_eq!(a.action, Action::PlanOffer);
        assert!(a.reasons[0].text.contains("此前3期均按时缴费"));
        assert!(a.reasons[1].text.contains("由223.75元增至447.50元"));
        // Only September overdue (October not yet due): the friendly call.
        let h = History {
            bills: h.bills[..4].to_vec(),
            ..Default::default()
        };
        let a = assess(&h, d("2026-09-30")).unwrap();
        assert_eq!((a.score, a.action), (55, Action::Call), "{a:?}");
    }

    #[test]
    fn a_habitually_late_payer_is_not_a_first_lateness_and_paid_up_owners_are_not_listed() {
        let h = History {
            bills: vec![
                bill("2026-06-10", Some("2026-06-20")),
                bill("2026-07-10", Some("2026-07-10")),
                bill("2026-08-10", Some("2026-08-01")),
                bill("2026-09-10", None),
            ],
            ..Default::default()
        };
        // June was late: no clean record. September's arrears were already there 30 days ago:
        // nothing is changing, and the ordinary reminders carry on.
        assert_eq!(assess(&h, d(TODAY)), None);
        // Too short a record is no clean record either.
        let short = History {
            bills: vec![bill("2026-08-10", Some("2026-08-01")), bill("2026-09-10", None)],
            ..Default::default()
        };
        assert_eq!(assess(&short, d(TODAY)), None);
        let clean = History {
            bills: vec![
                bill("2026-09-10", Some("2026-09-01")),
                bill("2026-10-10", Some("2026-10-09")),
            ],
            ..Default::default()
        };
        assert_eq!(assess(&clean, d(TODAY)), None);
    }

    #[test]
    fn a_broken_plan_asks_for_a_hardship_check_and_a_complaint_is_answered_first() {
        let h = History {
            bills: vec![bill("2026-09-10", None)],
            open_complaints: 1,
            failed_debits: 2,
            broken_plan: true,
        };
        let a = assess(&h, d(TODAY)).unwrap();
        assert_eq!(a.action, Action::HardshipCheck);
        // 20 + 15 + 30 (September was overdue 30 days ago as well: not rising).
        assert_eq!(a.score, 65);
        let h = History {
            broken_plan: false,
            ..h
        };
        assert_eq!(assess(&h, d(TODAY)).unwrap().action, Action::AnswerComplaint);
        let h = History {
            bills: Vec::new(),
            open_complaints: 0,
            failed_debits: 1,
            broken_plan: false,
        };
        let a = assess(&h, d(TODAY)).unwrap();
        assert_eq!((a.score, a.action), (15, Action::Call));
    }

    #[test]
    fn the_score_is_capped_at_100() {
        let h = History {
            bills: vec![
                bill("2026-05-10", Some("2026-05-01")),
                bill("2026-06-10", Some("2026-06-01")),
                bill("2026-07-10", Some("2026-07-01")),
                bill("2026-09-10", None),
                bill("2026-10-10", None),
            ],
            open_complaints: 2,
            failed_debits: 3,
            broken_plan: true,
        };
        assert_eq!(assess(&h, d(TODAY)).unwrap().score, 100);
    }
}
