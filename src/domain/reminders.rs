//! Reminder rules without I/O: stages and their policy, which stage is due, quiet hours and
//! holidays, and the wording of every notice (checked against words that would threaten an owner).
use crate::domain::Fen;
use chrono::{Duration, NaiveDate, NaiveDateTime, NaiveTime};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// A reminder stage, from a friendly heads-up to the final written demand.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Stage {
    PreDue,
    OverdueFriendly,
    OverdueFormal,
    FinalNotice,
}

impl Stage {
    pub const ALL: [Stage; 4] = [
        Stage::PreDue,
        Stage::OverdueFriendly,
        Stage::OverdueFormal,
        Stage::FinalNotice,
    ];
    /// The overdue ladder, lowest first.
    pub const OVERDUE: [Stage; 3] = [Stage::OverdueFriendly, Stage::OverdueFormal, Stage::FinalNotice];

    pub fn as_str(self) -> &'static str {
        match self {
            Stage::PreDue => "pre_due",
            Stage::OverdueFriendly => "overdue_friendly",
            Stage::OverdueFormal => "overdue_formal",
            Stage::FinalNotice => "final_notice",
        }
    }

    pub fn parse(s: &str) -> Option<Stage> {
        Stage::ALL.into_iter().find(|st| st.as_str() == s)
    }

    /// Position on the overdue ladder (0 for pre-due): a lower stage is never sent after a higher one.
    pub fn rank(self) -> i32 {
        match self {
            Stage::PreDue => 0,
            Stage::OverdueFriendly => 1,
            Stage::OverdueFormal => 2,
            Stage::FinalNotice => 3,
        }
    }

    /// Friendly stages respect an owner's opt-out; formal demands do not.
    pub fn is_friendly(self) -> bool {
        matches!(self, Stage::PreDue | Stage::OverdueFriendly)
    }

    /// Formal and final notices are demands (催告): printed as well, and they restart limitation.
    pub fn is_formal(self) -> bool {
        matches!(self, Stage::OverdueFormal | Stage::FinalNotice)
    }
}

/// One stage's setting: days before (pre-due) or after (overdue) the due date.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct StageSetting {
    pub days: i64,
    pub enabled: bool,
}

/// The stages of a community, as stored and as `GET/PUT …/reminder-policy` shows them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Stages {
    pub pre_due: StageSetting,
    pub overdue_friendly: StageSetting,
    pub overdue_formal: StageSetting,
    pub final_notice: StageSetting,
}

/// A community's reminder policy. `quiet_hours` / `no_send_dates` left null use the company
/// defaults (`reminders.quiet_hours`, `reminders.no_send_dates`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Policy {
    pub stages: Stages,
    /// `"HH:MM-HH:MM"` in community time, may wrap midnight.
    pub quiet_hours: Option<String>,
    pub no_send_dates: Option<Vec<NaiveDate>>,
    /// Days a formal demand gives the owner to pay.
    pub deadline_days: i64,
    /// At most one message to an owner within this many hours; later ones wait.
    pub min_gap_hours: i64,
}

impl Default for Policy {
    fn default() -> Self {
        let on = |days| StageSetting { days, enabled: true };
        Policy {
            stages: Stages {
                pre_due: on(3),
                overdue_friendly: on(3),
                overdue_formal: on(30),
                final_notice: on(90),
            },
            quiet_hours: None,
            no_send_dates: None,
            deadline_days: 15,
            min_gap_hours: 24,
        }
    }
}

impl Policy {
    pub fn setting(&self, s: Stage) -> StageSetting {
        match s {
            Stage::PreDue => self.stages.pre_due,
            Stage::OverdueFriendly => self.stages.overdue_friendly,
            Stage::OverdueFormal => self.stages.overdue_formal,
            Stage::FinalNotice => self.stages.final_notice,
        }
    }

    /// Field errors, empty when the policy is usable.
    pub fn problems(&self) -> Vec<(String, String)> {
        let mut out = Vec::new();
        let mut bad = |f: &str, m: &str| out.push((f.to_string(), m.to_string()));
        for s in Stage::ALL {
            let d = self.setting(s).days;
            if !(1..=3650).contains(&d) {
                bad(&format!("stages.{}.days", s.as_str()), "天数须在 1 到 3650 之间");
            }
        }
        let ladder: Vec<StageSetting> = Stage::OVERDUE.iter().map(|s| self.setting(*s)).collect();
        if ladder.windows(2).any(|w| w[0].days >= w[1].days) {
            bad("stages", "逾期提醒的天数须逐级递增");
        }
        if let Some(q) = &self.quiet_hours {
            if QuietHours::parse(q).is_none() {
                bad("quiet_hours", "格式须为 HH:MM-HH:MM");
            }
        }
        let dates = self.no_send_dates.iter().flatten();
        if dates
            .clone()
            .any(|d| !(1970..=2100).contains(&chrono::Datelike::year(d)))
        {
            bad("no_send_dates", "日期应在1970年到2100年之间");
        }
        if dates.count() > 366 * 5 {
            bad("no_send_dates", "最多设置1830个日期");
        }
        if !(1..=90).contains(&self.deadline_days) {
            bad("deadline_days", "催告期限须在 1 到 90 天之间");
        }
        if !(0..=24 * 30).contains(&self.min_gap_hours) {
            bad("min_gap_hours", "须在 0 到 720 小时之间");
        }
        out
    }

    /// The highest overdue stage whose day has come for arrears first due on `oldest_due`; None
    /// before the first one. Only this stage is sent, even when lower ones were never sent.
    pub fn overdue_stage(&self, today: NaiveDate, oldest_due: NaiveDate) -> Option<Stage> {
        let age = (today - oldest_due).num_days();
        Stage::OVERDUE
            .into_iter()
            .rev()
            .find(|s| self.setting(*s).enabled && age >= self.setting(*s).days)
    }

    /// Whether a bill due on `due` gets its pre-due notice today: from `days` before until the
    /// due date itself (a missed day is caught up, a paid bill never is).
    pub fn pre_due_window(&self, today: NaiveDate, due: NaiveDate) -> bool {
        let s = self.stages.pre_due;
        s.enabled && due >= today && (due - today).num_days() <= s.days
    }
}

/// A daily quiet window in local time; `start > end` wraps midnight.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct QuietHours {
    pub start: NaiveTime,
    pub end: NaiveTime,
}

impl QuietHours {
    pub fn parse(s: &str) -> Option<QuietHours> {
        let (a, b) = s.split_once('-')?;
        let t = |x: &str| NaiveTime::parse_from_str(x.trim(), "%H:%M").ok();
        Some(QuietHours {
            start: t(a)?,
            end: t(b)?,
        })
    }

    pub fn contains(&self, t: NaiveTime) -> bool {
        if self.start == self.end {
            false
        } else if self.start < self.end {
            t >= self.start && t < self.end
        } else {
            t >= self.start || t < self.end
        }
    }
}

/// The first local time at or after `at` outside quiet hours and not on a no-send date.
pub fn next_send_time(at: NaiveDateTime, quiet: Option<QuietHours>, no_send: &[NaiveDate]) -> NaiveDateTime {
    let mut t = at;
    // Bounded: a year of holidays back to back cannot loop forever.
    for _ in 0..400 {
        if no_send.contains(&t.date()) {
            let next_day = t.date() + Duration::days(1);
            t = next_day.and_time(quiet.map(|q| q.end).unwrap_or(NaiveTime::MIN));
            continue;
        }
        match quiet {
            Some(q) if q.contains(t.time()) => {
                let day = if t.time() >= q.end {
                    t.date() + Duration::days(1)
                } else {
                    t.date()
                };
                t = day.and_time(q.end);
            }
            _ => return t,
        }
    }
    t
}

/// Words a reminder must never contain: threats of cutting utilities or access (art. 944 para. 3)
/// and of shaming owners in public.
pub const BANNED_WORDS: [&str; 10] = [
    "停水",
    "停电",
    "断水",
    "断电",
    "停暖",
    "停气",
    "门禁",
    "停车",
    "曝光",
    "黑名单",
];

/// The first banned word `text` contains, if any.
pub fn banned_word(text: &str) -> Option<&'static str> {
    BANNED_WORDS.into_iter().find(|w| text.contains(w))
}

/// What a notice says: everything is computed before rendering.
#[derive(Debug, Clone)]
pub struct NoticeFacts {
    pub community: String,
    pub company: String,
    pub owner_name: String,
    /// Unit codes, e.g. `["1-101"]`.
    pub units: Vec<String>,
    pub bill_count: usize,
    pub principal: Fen,
    pub late_fee: Fen,
    pub oldest_due: NaiveDate,
    pub today: NaiveDate,
    pub deadline: NaiveDate,
}

impl NoticeFacts {
    fn total(&self) -> Fen {
        Fen(self.principal.0 + self.late_fee.0)
    }
}

/// Ways out, named in every overdue notice: pay, ask for a plan or help, or dispute.
const WAYS_OUT: &str = "您可在“物业缴费”小程序内使用微信支付，或扫描支付宝二维码缴纳，也可到物业服务中心缴纳；\
如对账单有疑问，可在小程序内提出异议，核实期间暂停催缴；如暂时有经济困难，可申请分期缴纳或困难帮扶。";

/// The raw templates, one per stage, with `{placeholders}`; exposed so tests can scan them.
pub fn template(stage: Stage) -> &'static str {
    match stage {
        Stage::PreDue => {
            "【{community}】温馨提示：{owner}您好，您名下{units}的物业费共计{total}元将于{oldest_due}到期。\
可在小程序内使用微信支付或支付宝缴纳，按时缴费可获积分。感谢您对物业服务工作的支持！"
        }
        Stage::OverdueFriendly => {
            "【{community}】温馨提示：{owner}您好，截至{today}，您名下{units}尚有{count}笔物业费未缴，\
共计{total}元（最早一笔于{oldest_due}到期），可能是您一时忘记了。{ways_out}感谢您的理解与支持！"
        }
        Stage::OverdueFormal => {
            "催告函\n{owner}：\n根据您与{company}签订的物业服务合同及《中华人民共和国民法典》第九百四十四条的规定，\
业主应当按照约定向物业服务人支付物业费。截至{today}，您名下{units}共欠缴物业费{count}笔，\
合计人民币{total}元（其中本金{principal}元、违约金{late_fee}元），最早一笔于{oldest_due}到期。\
请您于{deadline}前缴清。{ways_out}\n特此催告。\n{company}\n{today}"
        }
        Stage::FinalNotice => {
            "最终催告通知书\n{owner}：\n根据您与{company}签订的物业服务合同及《中华人民共和国民法典》第九百四十四条的规定，\
业主应当按照约定向物业服务人支付物业费。本公司此前已向您发出催告，截至{today}，您名下{units}仍欠缴物业费{count}笔，\
合计人民币{total}元（其中本金{principal}元、违约金{late_fee}元），最早一笔于{oldest_due}到期。\
请您于{deadline}前缴清。{ways_out}\n逾期仍未缴纳的，本公司将依法向人民法院提起诉讼，请求支付欠缴的物业费。\n\
特此通知。\n{company}\n{today}"
        }
    }
}

/// The notice text for a stage.
pub fn render(stage: Stage, f: &NoticeFacts) -> String {
    let date = |d: NaiveDate| d.format("%Y年%m月%d日").to_string();
    template(stage)
        .replace("{ways_out}", WAYS_OUT)
        .replace("{community}", &f.community)
        .replace("{company}", &f.company)
        .replace("{owner}", &f.owner_name)
        .replace("{units}", &f.units.join("、"))
        .replace("{count}", &f.bill_count.to_string())
        .replace("{total}", &f.total().to_yuan_string())
        .replace("{principal}", &f.principal.to_yuan_string())
        .replace("{late_fee}", &f.late_fee.to_yuan_string())
        .replace("{oldest_due}", &date(f.oldest_due))
        .replace("{deadline}", &date(f.deadline))
        .replace("{today}", &date(f.today))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> NaiveDate {
        s.parse().unwrap()
    }

    #[test]
    fn the_highest_passed_stage_is_chosen_by_age() {
        let p = Policy::default();
        let due = d("2026-01-15");
        let at = |days| p.overdue_stage(due + Duration::days(days), due);
        assert_eq!(at(0), None);
        assert_eq!(at(2), None);
        assert_eq!(at(3), Some(Stage::OverdueFriendly));
        assert_eq!(at(29), Some(Stage::OverdueFriendly));
        assert_eq!(at(30), Some(Stage::OverdueFormal));
        assert_eq!(at(89), Some(Stage::OverdueFormal));
        // At go-live with arrears a year old, only the final notice is due.
        assert_eq!(at(90), Some(Stage::FinalNotice));
        assert_eq!(at(400), Some(Stage::FinalNotice));
    }

    #[test]
    fn a_disabled_stage_is_skipped() {
        let mut p = Policy::default();
        p.stages.final_notice.enabled = false;
        assert_eq!(
            p.overdue_stage(d("2027-01-01"), d("2026-01-15")),
            Some(Stage::OverdueFormal)
        );
    }

    #[test]
    fn pre_due_runs_from_its_day_to_the_due_date() {
        let p = Policy::default();
        let due = d("2026-02-15");
        assert!(!p.pre_due_window(d("2026-02-11"), due));
        assert!(p.pre_due_window(d("2026-02-12"), due));
        assert!(p.pre_due_window(d("2026-02-15"), due));
        assert!(!p.pre_due_window(d("2026-02-16"), due));
    }

    #[test]
    fn policy_problems_are_named() {
        let mut p = Policy::default();
        assert!(p.problems().is_empty());
        p.stages.overdue_formal.days = 2;
        p.quiet_hours = Some("9pm".into());
        let fields: Vec<String> = p.problems().into_iter().map(|(f, _)| f).collect();
        assert_eq!(fields, ["stages", "quiet_hours"]);
    }

    #[test]
    fn quiet_hours_wrap_midnight_and_holidays_defer() {
        let q = QuietHours::parse("21:00-08:00");
        let t = |s: &str| NaiveDateTime::parse_from_str(s, "%Y-%m-%d %H:%M").unwrap();
        assert_eq!(next_send_time(t("2026-03-02 10:00"), q, &[]), t("2026-03-02 10:00"));
        assert_eq!(next_send_time(t("2026-03-02 22:30"), q, &[]), t("2026-03-03 08:00"));
        assert_eq!(next_send_time(t("2026-03-02 03:00"), q, &[]), t("2026-03-02 08:00"));
        assert_eq!(next_send_time(t("2026-03-02 21:00"), q, &[]), t("2026-03-03 08:00"));
        assert_eq!(next_send_time(t("2026-03-02 20:59"), q, &[]), t("2026-03-02 20:59"));
        let holidays = [d("2026-10-01"), d("2026-10-02")];
        assert_eq!(
            next_send_time(t("2026-10-01 10:00"), q, &holidays),
            t("2026-10-03 08:00")
        );
        let day_window = QuietHours::parse("12:00-14:00");
        assert_eq!(
            next_send_time(t("2026-03-02 12:30"), day_window, &[]),
            t("2026-03-02 14:00")
        );
    }

    fn facts() -> NoticeFacts {
        NoticeFacts {
            community: "阳光花园".into(),
            company: "阳光物业服务有限公司".into(),
            owner_name: "张三".into(),
            units: vec!["1-101".into(), "2-202".into()],
            bill_count: 3,
            principal: Fen(45_000),
            late_fee: Fen(1_234),
            oldest_due: d("2026-01-15"),
            today: d("2026-05-01"),
            deadline: d("2026-05-16"),
        }
    }

    #[test]
    fn no_template_or_notice_threatens_an_owner() {
        for s in Stage::ALL {
            assert_eq!(banned_word(template(s)), None, "template {s:?}");
            assert_eq!(banned_word(WAYS_OUT), None);
            let text = render(s, &facts());
            assert_eq!(banned_word(&text), None, "notice {s:?}: {text}");
            assert!(!text.contains('{'), "unfilled placeholder in {s:?}: {text}");
        }
        assert_eq!(banned_word("逾期将停水"), Some("停水"));
    }

    #[test]
    fn a_formal_demand_states_amount_basis_deadline_and_ways_out() {
        for s in [Stage::OverdueFormal, Stage::FinalNotice] {
            let text = render(s, &facts());
            for must in [
                "462.34",
                "450.00",
                "12.34",
                "物业服务合同",
                "第九百四十四条",
                "2026年05月16日前缴清",
                "微信支付",
                "支付宝二维码",
                "分期",
                "困难帮扶",
                "异议",
                "1-101、2-202",
            ] {
                assert!(text.contains(must), "{s:?} lacks {must}: {text}");
            }
        }
    }
}
