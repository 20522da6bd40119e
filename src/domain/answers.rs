//! Instant answers to owners' enquiries (the courseware's 智能客服), issue #14: plain keyword rules
//! pick the topic — what is owed, how to pay, a receipt, a late fee — and the answer is worded from
//! the owner's own figures. No model, nothing guessed: an enquiry no rule recognises goes to staff,
//! and every answer offers "转人工" (talk to staff).
use crate::domain::reminders::WayOut;
use crate::domain::Fen;
use chrono::NaiveDate;

/// What an enquiry is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Topic {
    LateFee,
    Receipt,
    HowToPay,
    Owed,
}

impl Topic {
    pub fn as_str(self) -> &'static str {
        match self {
            Topic::LateFee => "late_fee",
            Topic::Receipt => "receipt",
            Topic::HowToPay => "how_to_pay",
            Topic::Owed => "owed",
        }
    }
}

/// The rules, most specific first: the first topic with a word in the text wins.
const RULES: [(Topic, &[&str]); 4] = [
    (Topic::LateFee, &["滞纳金", "违约金", "罚金", "逾期费"]),
    (Topic::Receipt, &["收据", "发票", "票据", "缴费凭证", "缴费记录"]),
    (
        Topic::HowToPay,
        &[
            "怎么交",
            "怎么缴",
            "如何交",
            "如何缴",
            "怎样交",
            "怎样缴",
            "在哪交",
            "在哪缴",
            "缴费方式",
            "支付方式",
            "怎么付",
            "如何付",
        ],
    ),
    (
        Topic::Owed,
        &[
            "欠费",
            "欠多少",
            "多少钱",
            "应缴",
            "待缴",
            "未缴",
            "要交多少",
            "要缴多少",
            "账单",
            "物业费多少",
        ],
    ),
];

/// The topic of an enquiry's title and text, if a rule recognises it.
pub fn topic(text: &str) -> Option<Topic> {
    RULES
        .iter()
        .find(|(_, words)| words.iter().any(|w| text.contains(w)))
        .map(|(t, _)| *t)
}

/// One unpaid bill as an answer names it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Owed {
    pub item: String,
    pub period: String,
    pub due_date: NaiveDate,
    /// Due today: outstanding principal and late fee.
    pub amount_due: Fen,
    pub late_fee: Fen,
    /// How the bill's late fee was worked out (the ledger's own explanation).
    pub late_fee_explanation: String,
}

/// One paid payment with its receipt.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Paid {
    pub paid_on: NaiveDate,
    pub amount: String,
    pub receipt_no: String,
}

/// The owner's own figures the answer may state.
#[derive(Debug, Clone)]
pub struct Facts {
    pub unit: String,
    pub today: NaiveDate,
    pub owed: Vec<Owed>,
    /// Latest first.
    pub paid: Vec<Paid>,
}

/// An answer: its words and where in the mini-program to act on it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Answer {
    pub topic: Topic,
    pub text: String,
    pub link: String,
}

const HANDOFF: &str = "如仍有疑问，可点击“转人工”，物业客服会尽快回复。";

fn total(owed: &[Owed]) -> Fen {
    Fen(owed.iter().map(|o| o.amount_due.0).sum())
}

fn owed_lines(owed: &[Owed]) -> String {
    owed.iter()
        .map(|o| {
            let late = if o.late_fee.0 > 0 {
                format!("，含滞纳金{}元", o.late_fee.to_yuan_string())
            } else {
                String::new()
            };
            format!(
                "\n· {} {}（{}到期）应缴{}元{late}",
                o.item,
                o.period,
                o.due_date.format("%Y年%m月%d日"),
                o.amount_due.to_yuan_string()
            )
        })
        .collect()
}

/// Words the answer from the facts.
pub fn answer(topic: Topic, f: &Facts) -> Answer {
    let today = f.today.format("%Y年%m月%d日");
    let owed_summary = if f.owed.is_empty() {
        format!("截至{today}，房屋{}没有待缴费用。", f.unit)
    } else {
        format!(
            "截至{today}，房屋{}共有{}笔待缴费用，合计{}元：{}",
            f.unit,
            f.owed.len(),
            total(&f.owed).to_yuan_string(),
            owed_lines(&f.owed)
        )
    };
    let (text, link) = match topic {
        Topic::Owed => (
            if f.owed.is_empty() {
                owed_summary
            } else {
                format!("{owed_summary}\n可在小程序“账单”页直接缴纳。")
            },
            "pages/bills/index",
        ),
        Topic::HowToPay => (
            format!("{}\n{owed_summary}", WayOut::Pay.sentence()),
            "pages/bills/index",
        ),
        Topic::Receipt => (
            if f.paid.is_empty() {
                "您还没有已完成的缴费记录。".to_string()
            } else {
                let lines: String = f
                    .paid
                    .iter()
                    .map(|p| {
                        format!(
                            "\n· {} 缴费{}元，收据号{}",
                            p.paid_on.format("%Y年%m月%d日"),
                            p.amount,
                            p.receipt_no
                        )
                    })
                    .collect();
                format!("您最近的缴费记录：{lines}\n在小程序“缴费记录”中打开即可查看电子收据。")
            },
            "pages/payments/index",
        ),
        Topic::LateFee => {
            let with_fee: Vec<&Owed> = f.owed.iter().filter(|o| o.late_fee.0 > 0).collect();
            (
                if with_fee.is_empty() {
                    format!("截至{today}，房屋{}没有产生滞纳金。", f.unit)
                } else {
                    let lines: String = with_fee
                        .iter()
                        .map(|o| {
                            format!(
                                "\n· {} {}：滞纳金{}元。{}",
                                o.item,
                                o.period,
                                o.late_fee.to_yuan_string(),
                                o.late_fee_explanation
                            )
                        })
                        .collect();
                    format!("截至{today}，房屋{}的滞纳金如下：{lines}", f.unit)
                },
                "pages/bills/index",
            )
        }
    };
    Answer {
        topic,
        text: format!("{text}\n{HANDOFF}"),
        link: link.into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> NaiveDate {
        s.parse().unwrap()
    }

    fn facts() -> Facts {
        Facts {
            unit: "A-1-101".into(),
            today: d("2026-10-20"),
            owed: vec![
                Owed {
                    item: "物业服务费".into(),
                    period: "2026-09".into(),
                    due_date: d("2026-09-10"),
                    amount_due: Fen(31_234),
                    late_fee: Fen(1_234),
                    late_fee_explanation: "自2026-09-11起按日万分之五计".into(),
                },
                Owed {
                    item: "车位费".into(),
                    period: "2026-10".into(),
                    due_date: d("2026-10-10"),
                    amount_due: Fen(15_000),
                    late_fee: Fen(0),
                    late_fee_explanation: String::new(),
                },
            ],
            paid: vec![Paid {
                paid_on: d("2026-08-09"),
                amount: "300.00".into(),
                receipt_no: "SJ20260809000001".into(),
            }],
        }
    }

    #[test]
    fn rules_pick_the_most_specific_topic_and_leave_the_rest_to_staff() {
        assert_eq!(topic("我家欠费多少"), Some(Topic::Owed));
        assert_eq!(topic("物业费怎么交"), Some(Topic::HowToPay));
        assert_eq!(topic("要一张缴费收据"), Some(Topic::Receipt));
        // A late-fee question about the bill is about the late fee.
        assert_eq!(topic("账单上的滞纳金是怎么算的"), Some(Topic::LateFee));
        assert_eq!(topic("小区什么时候停水检修"), None);
    }

    #[test]
    fn answers_state_the_owners_own_figures_and_offer_staff() {
        let f = facts();
        let owed = answer(Topic::Owed, &f);
        assert!(owed.text.contains("共有2笔待缴费用，合计462.34元"), "{}", owed.text);
        assert!(owed
            .text
            .contains("物业服务费 2026-09（2026年09月10日到期）应缴312.34元，含滞纳金12.34元"));
        assert!(owed.text.contains("车位费 2026-10（2026年10月10日到期）应缴150.00元\n"));
        assert!(owed.text.ends_with(HANDOFF));
        let late = answer(Topic::LateFee, &f);
        assert!(late.text.contains("滞纳金12.34元。自2026-09-11起按日万分之五计"));
        assert!(!late.text.contains("车位费"), "only bills with a late fee");
        let receipt = answer(Topic::Receipt, &f);
        assert!(receipt.text.contains("收据号SJ20260809000001"));
        assert_eq!(receipt.link, "pages/payments/index");
        let how = answer(Topic::HowToPay, &f);
        assert!(how.text.starts_with(WayOut::Pay.sentence()));
        // Nothing owed: said plainly, nothing invented.
        let clear = Facts {
            owed: vec![],
            paid: vec![],
            ..f
        };
        assert!(answer(Topic::Owed, &clear)
            .text
            .starts_with("截至2026年10月20日，房屋A-1-101没有待缴费用。"));
        assert!(answer(Topic::LateFee, &clear).text.contains("没有产生滞纳金"));
        assert!(answer(Topic::Receipt, &clear)
            .text
            .starts_with("您还没有已完成的缴费记录"));
    }
}
