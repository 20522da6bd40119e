//! 催缴: a community's reminder policy (the stages of the graduated escalation, quiet hours, no-send
//! dates), a reminder pass started now (as a job), and what went out to whom, filtered by stage and
//! status. The task queue that follows formal notices is `tasks`.
use super::page::error_page;
use super::{community_names, community_options, pager, require_form, require_signed, see_other, Signed};
use crate::domain::reminders::{Policy, StageSetting, Stages};
use crate::domain::text::esc;
use crate::error::ApiError;
use crate::services::collection::casefile::label;
use crate::services::collection::reminders::pass::RunRequest;
use crate::services::collection::reminders::policy::{get_policy, put_policy};
use crate::services::collection::reminders::{self, ReminderQuery};
use crate::services::jobs::Ask;
use crate::state::AppState;
use actix_web::{web, HttpRequest, HttpResponse};
use serde::Deserialize;
use std::collections::HashMap;

const STAGES: [&str; 4] = ["pre_due", "overdue_friendly", "overdue_formal", "final_notice"];
const STATUSES: [(&str, &str); 7] = [
    ("sent", "已发出"),
    ("task", "转人工"),
    ("pending", "待发送"),
    ("sending", "发送中"),
    ("skipped", "无渠道未发"),
    ("suppressed", "按规则不发"),
    ("failed", "发送失败"),
];

#[derive(Deserialize)]
pub(super) struct ListQuery {
    community_id: Option<i32>,
    stage: Option<String>,
    status: Option<String>,
    page: Option<u64>,
    saved: Option<u8>,
}

/// `GET /console/collection`.
pub(super) async fn show(state: web::Data<AppState>, req: HttpRequest, q: web::Query<ListQuery>) -> HttpResponse {
    let s = match require_signed(&state, &req).await {
        Ok(s) => s,
        Err(r) => return r,
    };
    s.respond("催缴", render(&state, &s, &q).await)
}

fn day_input(id: &str, s: StageSetting, what: &str) -> String {
    format!(
        "<label for=\"{id}-days\">{what}（天）<input id=\"{id}-days\" name=\"{id}_days\" type=\"number\" min=\"1\" max=\"3650\" required value=\"{}\"></label>\
         <label for=\"{id}-on\"><span>启用</span><input id=\"{id}-on\" name=\"{id}_enabled\" type=\"checkbox\" value=\"1\"{}></label>",
        s.days,
        if s.enabled { " checked" } else { "" }
    )
}

async fn render(state: &AppState, s: &Signed, q: &ListQuery) -> Result<String, ApiError> {
    let names = community_names(state, &s.ctx).await?;
    let Some(community) = super::shown_community(q.community_id, &names) else {
        return Ok("<h1>催缴</h1><p>您还没有负责的小区。</p>".to_string());
    };
    let policy = get_policy(state, &s.ctx, community).await?;
    let stage = q.stage.clone().filter(|v| !v.is_empty());
    let status = q.status.clone().filter(|v| !v.is_empty());
    let list = reminders::list(
        state,
        &s.ctx,
        ReminderQuery {
            community_id: community,
            stage: stage.clone(),
            status: status.clone(),
            owner_id: None,
            page: q.page,
            per_page: Some(50),
        },
    )
    .await?;
    let csrf = esc(&s.csrf);
    // Those who may not change it read the policy in a disabled form and get no run button.
    let may = s.ctx.role.may(crate::domain::role::Action::ManageCollection);
    let st = &policy.stages;
    let dates: Vec<String> = policy.no_send_dates.iter().flatten().map(|d| d.to_string()).collect();
    let mut out = format!(
        "<h1>催缴</h1><form class=\"inline\" method=\"get\" action=\"/console/collection\">\
         <label for=\"community_id\">小区<select id=\"community_id\" name=\"community_id\">{}</select></label><button type=\"submit\">切换</button></form>{}\
         <h2>催缴策略</h2>\
         <p class=\"muted\">逐级提醒：到期前提醒、逾期友情提醒（业主可退订）、催告函和最终催告通知书（书面送达，计入证据）。同一欠费每级只发一次。</p>\
         <form id=\"policy\" class=\"inline\" method=\"post\" action=\"/console/collection/policy\"><fieldset class=\"inline\"{}>\
         <input type=\"hidden\" name=\"csrf\" value=\"{csrf}\"><input type=\"hidden\" name=\"community_id\" value=\"{community}\">\
         {}{}{}{}\
         <label for=\"deadline-days\">催告给予的缴费期限（天）<input id=\"deadline-days\" name=\"deadline_days\" type=\"number\" min=\"1\" max=\"90\" required value=\"{}\"></label>\
         <label for=\"min-gap\">同一业主两次提醒至少间隔（小时）<input id=\"min-gap\" name=\"min_gap_hours\" type=\"number\" min=\"0\" max=\"720\" required value=\"{}\"></label>\
         <label for=\"quiet-hours\">免打扰时段（如 21:00-08:00，留空用公司默认）<input id=\"quiet-hours\" name=\"quiet_hours\" value=\"{}\" placeholder=\"21:00-08:00\"></label>\
         <label for=\"no-send\">不发送日期（每行一个，留空用公司默认）<textarea id=\"no-send\" name=\"no_send_dates\" rows=\"3\">{}</textarea></label>\
         <button type=\"submit\">保存策略</button></fieldset></form>{}",
        community_options(&names, Some(community), None),
        if q.saved == Some(1) {
            "<p class=\"ok\" id=\"policy-saved\" role=\"status\">催缴策略已保存。</p>"
        } else {
            ""
        },
        if may { "" } else { " disabled" },
        day_input("pre_due", st.pre_due, "到期前提醒：到期前"),
        day_input("overdue_friendly", st.overdue_friendly, "逾期友情提醒：逾期"),
        day_input("overdue_formal", st.overdue_formal, "催告函：逾期"),
        day_input("final_notice", st.final_notice, "最终催告通知书：逾期"),
        policy.deadline_days,
        policy.min_gap_hours,
        esc(policy.quiet_hours.as_deref().unwrap_or("")),
        esc(&dates.join("\n")),
        if may {
            format!(
                "<h2>立即运行</h2><form class=\"inline\" method=\"post\" action=\"/console/collection/run\">\
                 <input type=\"hidden\" name=\"csrf\" value=\"{csrf}\"><input type=\"hidden\" name=\"community_id\" value=\"{community}\">\
                 <button type=\"submit\" id=\"run-now\">立即运行本小区催缴提醒</button> <span class=\"muted\">系统也会定时自动运行；重复运行不会重复发送。</span></form>"
            )
        } else {
            String::new()
        },
    );
    let stage_opts: String = STAGES
        .iter()
        .map(|v| {
            let sel = if stage.as_deref() == Some(*v) { " selected" } else { "" };
            format!("<option value=\"{v}\"{sel}>{}</option>", label(v))
        })
        .collect();
    let status_opts: String = STATUSES
        .iter()
        .map(|(v, n)| {
            let sel = if status.as_deref() == Some(*v) { " selected" } else { "" };
            format!("<option value=\"{v}\"{sel}>{n}</option>")
        })
        .collect();
    out.push_str(&format!(
        "<h2>发送记录</h2><form class=\"inline\" method=\"get\" action=\"/console/collection\">\
         <input type=\"hidden\" name=\"community_id\" value=\"{community}\">\
         <label for=\"f-stage\">阶段<select id=\"f-stage\" name=\"stage\"><option value=\"\">全部</option>{stage_opts}</select></label>\
         <label for=\"f-status\">状态<select id=\"f-status\" name=\"status\"><option value=\"\">全部</option>{status_opts}</select></label>\
         <button type=\"submit\">筛选</button></form>"
    ));
    if list.items.is_empty() {
        out.push_str("<p id=\"no-reminders\">没有符合条件的提醒。</p>");
    } else {
        out.push_str("<table id=\"reminders\"><tr><th>时间</th><th>业主</th><th>阶段</th><th>渠道</th><th>状态</th><th class=\"num\">欠费(元)</th><th>内容</th></tr>");
        let status_name: HashMap<&str, &str> = STATUSES.into_iter().collect();
        for r in &list.items {
            let at = r.sent_at.unwrap_or(r.not_before);
            out.push_str(&format!(
                "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td class=\"num\">{}</td><td class=\"pre\">{}</td></tr>",
                at.format("%Y-%m-%d %H:%M UTC"),
                esc(&r.owner_name),
                esc(label(&r.stage)),
                esc(r.channel.as_deref().map_or("—", label)),
                esc(status_name.get(r.status.as_str()).copied().unwrap_or(&r.status)),
                esc(&r.amount),
                esc(r.content.as_deref().unwrap_or(""))
            ));
        }
        out.push_str("</table>");
    }
    out.push_str(&pager(
        "/console/collection",
        &[
            ("community_id", community.to_string()),
            ("stage", stage.unwrap_or_default()),
            ("status", status.unwrap_or_default()),
        ],
        list.total,
        list.page,
        list.per_page,
        "条",
    ));
    Ok(out)
}

/// The policy form's fields (checkboxes arrive only when ticked).
type Fields = HashMap<String, String>;

fn stage_of(f: &Fields, id: &str) -> Result<StageSetting, (String, String)> {
    let days = f
        .get(&format!("{id}_days"))
        .and_then(|d| d.trim().parse().ok())
        .ok_or_else(|| (format!("{id}_days"), format!("{}的天数须为整数", label(id))))?;
    Ok(StageSetting {
        days,
        enabled: f.contains_key(&format!("{id}_enabled")),
    })
}

/// The policy a form describes, or every field it got wrong (as the API names them).
fn policy_from_form(f: &Fields) -> Result<Policy, ApiError> {
    let mut errors = crate::error::FieldErrors::default();
    let mut stage = |id: &str| {
        stage_of(f, id).unwrap_or_else(|(k, m)| {
            errors.insert(k, m);
            StageSetting {
                days: 1,
                enabled: false,
            }
        })
    };
    let stages = Stages {
        pre_due: stage("pre_due"),
        overdue_friendly: stage("overdue_friendly"),
        overdue_formal: stage("overdue_formal"),
        final_notice: stage("final_notice"),
    };
    let mut number = |k: &str, what: &str| {
        f.get(k).and_then(|v| v.trim().parse::<i64>().ok()).unwrap_or_else(|| {
            errors.insert(k.to_string(), format!("{what}须为整数"));
            0
        })
    };
    let deadline_days = number("deadline_days", "缴费期限");
    let min_gap_hours = number("min_gap_hours", "提醒间隔");
    let quiet = f
        .get("quiet_hours")
        .map(|q| q.trim().to_string())
        .filter(|q| !q.is_empty());
    let mut dates = Vec::new();
    for d in f
        .get("no_send_dates")
        .map_or("", String::as_str)
        .split(|c: char| c == '\n' || c == ',' || c == '，' || c.is_whitespace())
        .filter(|d| !d.is_empty())
    {
        match crate::domain::period::parse_date(d) {
            Ok(d) => dates.push(d),
            Err(_) => {
                errors.insert("no_send_dates".into(), format!("“{d}”不是 YYYY-MM-DD 格式的日期"));
            }
        }
    }
    ApiError::check(errors)?;
    Ok(Policy {
        stages,
        quiet_hours: quiet,
        no_send_dates: (!dates.is_empty()).then_some(dates),
        deadline_days,
        min_gap_hours,
    })
}

/// `POST /console/collection/policy`.
pub(super) async fn save_policy(state: web::Data<AppState>, req: HttpRequest, form: web::Form<Fields>) -> HttpResponse {
    let s = match require_form(&state, &req, form.get("csrf").map_or("", String::as_str)).await {
        Ok(s) => s,
        Err(r) => return r,
    };
    let community = form
        .get("community_id")
        .and_then(|c| c.parse::<i32>().ok())
        .unwrap_or(0);
    let saved = async {
        // Refused for the role before the form is judged, like the API.
        s.ctx.require(crate::domain::role::Action::ManageCollection)?;
        put_policy(&state, &s.ctx, community, policy_from_form(&form)?).await
    }
    .await;
    match saved {
        Ok(_) => see_other(&format!("/console/collection?community_id={community}&saved=1")),
        Err(e) => error_page(&e, Some(&s.viewer())),
    }
}

#[derive(Deserialize)]
pub(super) struct RunForm {
    #[serde(default)]
    csrf: String,
    community_id: Option<i32>,
}

/// `POST /console/collection/run`: a reminder pass for one community, as a job.
pub(super) async fn run(state: web::Data<AppState>, req: HttpRequest, form: web::Form<RunForm>) -> HttpResponse {
    let s = match require_form(&state, &req, &form.csrf).await {
        Ok(s) => s,
        Err(r) => return r,
    };
    let ask = Ask::ReminderRun(RunRequest {
        community_id: Some(form.community_id.unwrap_or(0)),
    });
    super::jobs::start(&state, &s, ask).await
}

#[cfg(test)]
mod tests {
    use super::*;

    fn form(pairs: &[(&str, &str)]) -> Fields {
        pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
    }

    #[test]
    fn the_policy_form_reads_unticked_stages_as_off_and_names_every_bad_field() {
        let f = form(&[
            ("pre_due_days", "3"),
            ("pre_due_enabled", "1"),
            ("overdue_friendly_days", "5"),
            ("overdue_formal_days", "30"),
            ("overdue_formal_enabled", "1"),
            ("final_notice_days", "90"),
            ("final_notice_enabled", "1"),
            ("deadline_days", "15"),
            ("min_gap_hours", "24"),
            ("quiet_hours", " 21:00-08:00 "),
            ("no_send_dates", "2027-02-10\n2027-02-11"),
        ]);
        let p = policy_from_form(&f).unwrap();
        assert!(p.stages.pre_due.enabled && !p.stages.overdue_friendly.enabled);
        assert_eq!(p.stages.overdue_friendly.days, 5);
        assert_eq!(p.quiet_hours.as_deref(), Some("21:00-08:00"));
        assert_eq!(p.no_send_dates.map(|d| d.len()), Some(2));
        let bad = form(&[("pre_due_days", "x"), ("no_send_dates", "明天")]);
        let Err(ApiError::Validation(errs)) = policy_from_form(&bad) else {
            panic!("a bad form is refused");
        };
        for k in [
            "pre_due_days",
            "overdue_friendly_days",
            "deadline_days",
            "no_send_dates",
        ] {
            assert!(errs.contains_key(k), "{k} named in {errs:?}");
        }
    }
}
