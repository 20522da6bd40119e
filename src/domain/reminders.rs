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
    #[schema(minimum = 1, maximum = 3650)]
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

/// Extra days before the friendly overdue stage for an owner of credit grade A.
pub const GRADE_A_FRIENDLY_DELAY_DAYS: i64 = 7;

/// A community's reminder policy. `quiet_hours` / `no_send_dates` left null use the company
/// defaults (`reminders.quiet_hours`, `reminders.no_send_dates`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Policy {
    pub stages: Stages,
    /// `"HH:MM-HH:MM"` in community time, may wrap midnight.
    pub quiet_hours: Option<String>,
    pub no_send_dates: Option<Vec<NaiveDate>>,
    /// Days a formal demand gives the owner to pay.
    #[schema(minimum = 1, maximum = 90)]
    pub deadline_days: i64,
    /// At most one message to an owner within this many hours; later ones wait.
    #[schema(minimum = 0, maximum = 720)]
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
        self.overdue_stage_for(today, oldest_due, false)
    }

    /// The same for an owner whose credit grade is A: the friendly stage comes
    /// `GRADE_A_FRIENDLY_DELAY_DAYS` later (someone who always pays on time has most likely just
    /// forgotten); the formal stages keep their days.
    pub fn overdue_stage_for(&self, today: NaiveDate, oldest_due: NaiveDate, grade_a: bool) -> Option<Stage> {
        let age = (today - oldest_due).num_days();
        Stage::OVERDUE.into_iter().rev().find(|s| {
            let delay = if grade_a && *s == Stage::OverdueFriendly {
                GRADE_A_FRIENDLY_DELAY_DAYS
            } else {
                0
            };
            self.setting(*s).enabled && age >= self.setting(*s).days + delay
        })
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

/// Payments an owner must have made before their own hour is used: fewer say nothing of habit.
pub const BEST_HOUR_MIN_PAYMENTS: usize = 5;

/// The local hour an owner most often pays in (ties: the earliest), among the hours a reminder may
/// go out at (`hh:00` not in quiet hours); None without `BEST_HOUR_MIN_PAYMENTS` payments, or when
/// every hour they pay in is quiet.
pub fn best_hour(paid_hours: &[u32], quiet: Option<QuietHours>) -> Option<u32> {
    if paid_hours.len() < BEST_HOUR_MIN_PAYMENTS {
        return None;
    }
    let mut counts = [0usize; 24];
    for h in paid_hours.iter().filter(|h| **h < 24) {
        counts[*h as usize] += 1;
    }
    let allowed = |h: u32| NaiveTime::from_hms_opt(h, 0, 0).is_some_and(|t| quiet.is_none_or(|q| !q.contains(t)));
    (0..24u32)
        .filter(|h| counts[*h as usize] > 0 && allowed(*h))
        .max_by_key(|h| (counts[*h as usize], std::cmp::Reverse(*h)))
}

/// When a reminder decided at `now` goes out for an owner whose hour is `hour`: that hour today if
/// it is still ahead, else tomorrow — never more than a day later.
pub fn at_hour(now: NaiveDateTime, hour: u32) -> NaiveDateTime {
    let today = now.date().and_hms_opt(hour, 0, 0).unwrap_or(now);
    if today >= now {
        today
    } else {
        today + Duration::days(1)
    }
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

/// A way out of arrears a notice may offer. Say only what is true: a notice offers one only while
/// its capability exists in this build (`LIVE`) and the community has it switched on (`features`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum WayOut {
    Pay,
    Points,
    Installments,
    Hardship,
    Disputes,
    AutoDebit,
}

impl WayOut {
    pub const ALL: [WayOut; 6] = [
        WayOut::Pay,
        WayOut::Points,
        WayOut::Installments,
        WayOut::Hardship,
        WayOut::Disputes,
        WayOut::AutoDebit,
    ];

    /// The community `features` key that switches it (paying is always offered).
    pub fn feature(self) -> Option<&'static str> {
        match self {
            WayOut::Pay => None,
            WayOut::Points => Some("points"),
            WayOut::Installments => Some("installments"),
            WayOut::Hardship => Some("hardship"),
            WayOut::Disputes => Some("disputes"),
            WayOut::AutoDebit => Some("autodebit"),
        }
    }

    /// The owner-facing route that makes the promise true (method, path).
    pub fn route(self) -> (&'static str, &'static str) {
        match self {
            WayOut::Pay => ("POST", "/api/v1/payments"),
            WayOut::Points => ("POST", "/api/v1/me/redemptions"),
            WayOut::Installments => ("POST", "/api/v1/me/installment-requests"),
            WayOut::Hardship => ("POST", "/api/v1/me/hardship-requests"),
            WayOut::Disputes => ("POST", "/api/v1/me/tickets"),
            WayOut::AutoDebit => ("POST", "/api/v1/me/autodebit"),
        }
    }

    /// What a notice says about it.
    pub fn sentence(self) -> &'static str {
        match self {
            WayOut::Pay => "您可在“物业缴费”小程序内使用微信支付，或扫描支付宝二维码缴纳，也可到物业服务中心缴纳。",
            WayOut::Points => "按时缴费可获积分，积分可兑换服务或抵扣费用。",
            WayOut::Installments => "如暂时有经济困难，可在小程序内申请分期缴纳。",
            WayOut::Hardship => "如属低保、残疾、重病或突发困难，可申请困难减免。",
            WayOut::Disputes => "如对账单有疑问，可在小程序内提出异议，核实期间暂停催缴。",
            WayOut::AutoDebit => "开通自动代扣后，到期自动缴费，免去忘记之忧。",
        }
    }
}

/// The ways out whose capability exists in this build; a test checks each one's route is served
/// (disputes: #14; points: #15, whose sentence promises both redemption and paying fees with
/// points; auto-debit: #16; installments and hardship help: #17).
pub const LIVE: &[WayOut] = &[
    WayOut::Pay,
    WayOut::Points,
    WayOut::Installments,
    WayOut::Hardship,
    WayOut::Disputes,
    WayOut::AutoDebit,
];

/// Ways out whose route is served while the rest of the capability is still being built, so the
/// promise is not kept yet and notices do not make it.
pub const BUILDING: &[WayOut] = &[];

/// What a notice may offer: the live ways the community has switched on.
pub fn offered(features_on: impl Fn(&str) -> bool) -> Vec<WayOut> {
    LIVE.iter()
        .copied()
        .filter(|w| w.feature().is_none_or(&features_on))
        .collect()
}

/// One fee item's part of a notice: "物业服务费6笔计1342.50元".
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ItemSum {
    pub name: String,
    pub count: usize,
    pub amount: Fen,
}

/// The fee items in words, each with its count and amount (never every fee called 物业费).
pub fn items_words(items: &[ItemSum]) -> String {
    items
        .iter()
        .map(|i| format!("{}{}笔计{}元", i.name, i.count, i.amount.to_yuan_string()))
        .collect::<Vec<_>>()
        .join("、")
}

/// What a 20-character channel field (a WeChat `thing`) can truthfully say of the fees: the one
/// item's name, or "物业等费用" when there are several (the detail is one tap away).
pub fn short_label(items: &[ItemSum]) -> String {
    match items {
        [one] => one.name.chars().take(20).collect(),
        _ => "物业等费用".into(),
    }
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
    /// The fee items named, with counts and amounts (amounts due today).
    pub items: Vec<ItemSum>,
    pub principal: Fen,
    pub late_fee: Fen,
    pub oldest_due: NaiveDate,
    pub today: NaiveDate,
    pub deadline: NaiveDate,
    /// The last demand delivered to the owner in this episode: stated only when there was one.
    pub prior_demand: Option<NaiveDate>,
    /// The ways out offered (live and switched on).
    pub ways: Vec<WayOut>,
}

impl NoticeFacts {
    fn total(&self) -> Fen {
        Fen(self.principal.0 + self.late_fee.0)
    }
}

/// The raw templates, one per stage, with `{placeholders}`; exposed so tests can scan them.
pub fn template(stage: Stage) -> &'static str {
    match stage {
        Stage::PreDue => {
            "【{community}】温馨提示：{owner}您好，您名下{units}的{items}，共计{total}元，将于{oldest_due}到期。\
{ways_out}感谢您对物业服务工作的支持！"
        }
        Stage::OverdueFriendly => {
            "【{community}】温馨提示：{owner}您好，截至{today}，您名下{units}尚有未缴费用：{items}，\
共计{total}元（最早一笔于{oldest_due}到期），可能是您一时忘记了。{ways_out}感谢您的理解与支持！"
        }
        Stage::OverdueFormal => {
            "催告函\n{owner}：\n根据您与{company}签订的物业服务合同及《中华人民共和国民法典》第九百四十四条的规定，\
业主应当按照约定向物业服务人支付物业费。{prior}截至{today}，您名下{units}欠缴{items}，\
合计人民币{total}元（其中本金{principal}元、违约金{late_fee}元），最早一笔于{oldest_due}到期。\
请您于{deadline}前缴清。{ways_out}\n特此催告。\n{company}\n{today}"
        }
        Stage::FinalNotice => {
            "最终催告通知书\n{owner}：\n根据您与{company}签订的物业服务合同及《中华人民共和国民法典》第九百四十四条的规定，\
业主应当按照约定向物业服务人支付物业费。{prior}截至{today}，您名下{units}仍欠缴{items}，\
合计人民币{total}元（其中本金{principal}元、违约金{late_fee}元），最早一笔于{oldest_due}到期。\
请您于{deadline}前缴清。{ways_out}\n逾期仍未缴纳的，本公司将依法向人民法院提起诉讼，请求支付欠缴的费用。\n\
特此通知。\n{company}\n{today}"
        }
    }
}

fn chinese_date(d: NaiveDate) -> String {
    d.format("%Y年%m月%d日").to_string()
}

/// The notice text for a stage.
pub fn render(stage: Stage, f: &NoticeFacts) -> String {
    let ways: String = f.ways.iter().map(|w| w.sentence()).collect();
    let prior = f
        .prior_demand
        .map(|d| format!("本公司已于{}向您送达催告，", chinese_date(d)))
        .unwrap_or_default();
    template(stage)
        .replace("{ways_out}", &ways)
        .replace("{prior}", &prior)
        .replace("{community}", &f.community)
        .replace("{company}", &f.company)
        .replace("{owner}", &f.owner_name)
        .replace("{units}", &f.units.join("、"))
        .replace("{items}", &items_words(&f.items))
        .replace("{total}", &f.total().to_yuan_string())
        .replace("{principal}", &f.principal.to_yuan_string())
        .replace("{late_fee}", &f.late_fee.to_yuan_string())
        .replace("{oldest_due}", &chinese_date(f.oldest_due))
        .replace("{deadline}", &chinese_date(f.deadline))
        .replace("{today}", &chinese_date(f.today))
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
            items: vec![
                ItemSum {
                    name: "物业服务费".into(),
                    count: 2,
                    amount: Fen(31_234),
                },
                ItemSum {
                    name: "车位费".into(),
                    count: 1,
                    amount: Fen(15_000),
                },
            ],
            principal: Fen(45_000),
            late_fee: Fen(1_234),
            oldest_due: d("2026-01-15"),
            today: d("2026-05-01"),
            deadline: d("2026-05-16"),
            prior_demand: None,
            ways: offered(|_| true),
        }
    }

    #[test]
    fn no_template_or_notice_threatens_an_owner() {
        for s in Stage::ALL {
            assert_eq!(banned_word(template(s)), None, "template {s:?}");
            for w in WayOut::ALL {
                assert_eq!(banned_word(w.sentence()), None);
            }
            let text = render(s, &facts());
            assert_eq!(banned_word(&text), None, "notice {s:?}: {text}");
            assert!(!text.contains('{'), "unfilled placeholder in {s:?}: {text}");
        }
        assert_eq!(banned_word("逾期将停水"), Some("停水"));
    }

    #[test]
    fn an_owners_hour_is_learned_from_enough_payments_and_never_a_quiet_one() {
        let quiet = QuietHours::parse("21:00-08:00");
        assert_eq!(
            best_hour(&[20, 20, 20, 20], quiet),
            None,
            "four payments are not a habit"
        );
        assert_eq!(best_hour(&[20, 20, 20, 12, 9], quiet), Some(20));
        // Ties go to the earlier hour; quiet hours are never chosen, however popular.
        assert_eq!(best_hour(&[9, 9, 19, 19, 23, 23, 23], quiet), Some(9));
        assert_eq!(best_hour(&[22, 22, 23, 6, 7], quiet), None);
        assert_eq!(best_hour(&[22, 22, 23, 6, 7], None), Some(22));
        let t = |s: &str| NaiveDateTime::parse_from_str(s, "%Y-%m-%d %H:%M").unwrap();
        assert_eq!(at_hour(t("2026-10-20 10:00"), 20), t("2026-10-20 20:00"));
        assert_eq!(at_hour(t("2026-10-20 10:00"), 9), t("2026-10-21 09:00"));
        assert_eq!(at_hour(t("2026-10-20 10:00"), 10), t("2026-10-20 10:00"));
    }

    #[test]
    fn a_formal_demand_states_amount_items_basis_deadline_and_only_live_ways_out() {
        for s in [Stage::OverdueFormal, Stage::FinalNotice] {
            let text = render(s, &facts());
            for must in [
                "462.34",
                "450.00",
                "12.34",
                "物业服务费2笔计312.34元、车位费1笔计150.00元",
                "物业服务合同",
                "第九百四十四条",
                "2026年05月16日前缴清",
                "微信支付",
                "支付宝二维码",
                "1-101、2-202",
            ] {
                assert!(text.contains(must), "{s:?} lacks {must}: {text}");
            }
            // Nothing promised that does not exist yet, whatever the community switched on.
            for w in WayOut::ALL.into_iter().filter(|w| !LIVE.contains(w)) {
                assert!(!text.contains(w.sentence()), "{s:?} offers {w:?}");
            }
            assert_eq!(text.contains("减免"), facts().ways.contains(&WayOut::Hardship), "{s:?}");
            assert_eq!(
                text.contains("分期"),
                facts().ways.contains(&WayOut::Installments),
                "{s:?}"
            );
            // Disputes (#14), points (#15), auto-debit (#16), installments and hardship help (#17)
            // are live: offered where the community has them on.
            assert_eq!(
                text.contains("代扣"),
                facts().ways.contains(&WayOut::AutoDebit),
                "{s:?}"
            );
            for w in [
                WayOut::Disputes,
                WayOut::Points,
                WayOut::AutoDebit,
                WayOut::Installments,
            ] {
                assert_eq!(text.contains(w.sentence()), facts().ways.contains(&w), "{s:?} {w:?}");
            }
            assert_eq!(text.contains("积分"), facts().ways.contains(&WayOut::Points), "{s:?}");
            assert!(!text.contains("欠缴物业费"), "parking is not 物业费: {text}");
        }
    }

    #[test]
    fn a_prior_demand_is_stated_only_when_one_was_delivered() {
        let mut f = facts();
        assert!(!render(Stage::FinalNotice, &f).contains("催告，截至"));
        assert!(!render(Stage::FinalNotice, &f).contains("此前"));
        f.prior_demand = Some(d("2026-03-02"));
        assert!(render(Stage::FinalNotice, &f).contains("本公司已于2026年03月02日向您送达催告，截至"));
    }

    #[test]
    fn grade_a_gets_the_friendly_stage_a_week_later_and_the_formal_ones_on_time() {
        let p = Policy::default();
        let due = d("2026-10-01");
        let on = |days: i64, a: bool| p.overdue_stage_for(due + Duration::days(days), due, a);
        assert_eq!(on(3, false), Some(Stage::OverdueFriendly));
        assert_eq!(on(3, true), None);
        assert_eq!(on(9, true), None);
        assert_eq!(on(10, true), Some(Stage::OverdueFriendly));
        assert_eq!(on(30, true), Some(Stage::OverdueFormal));
        assert_eq!(on(90, true), Some(Stage::FinalNotice));
    }

    #[test]
    fn features_switch_live_ways_out_off_and_short_labels_fit() {
        assert_eq!(offered(|_| false), vec![WayOut::Pay]);
        assert!(offered(|_| true).iter().all(|w| LIVE.contains(w)));
        let f = facts();
        assert_eq!(short_label(&f.items), "物业等费用");
        assert_eq!(short_label(&f.items[..1]), "物业服务费");
        assert!(
            short_label(&[ItemSum {
                name: "一二三四五六七八九十一二三四五六七八九十一二".into(),
                count: 1,
                amount: Fen(1)
            }])
            .chars()
            .count()
                <= 20
        );
    }
}
