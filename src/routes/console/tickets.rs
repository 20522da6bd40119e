//! 工单: the staff side of tickets — the queue of a community ordered by SLA deadline (as the
//! service orders it) with its filters, a ticket's thread (staff-only notes marked as such, photos)
//! with the forms that assign, answer, resolve and merge it (the SLA budgets' form is `ticket_sla`). All
//! through `services::tickets`, which checks roles, scopes and every field; the forms are hidden
//! from those who may not use them, and the services refuse them anyway. A dispute's bill
//! corrections (its section and form on the thread) live in `adjustments`.
use super::page::{error_page, html, page};
use super::{community_names, community_options, pager, require_form, require_signed, see_other, Signed};
use crate::domain::role::{Action, Role};
use crate::domain::text::esc;
use crate::domain::tickets::{category_label, status_label, TicketCategory, TicketStatus};
use crate::error::ApiError;
use crate::services::tickets::staff::{self, Assign, Merge, Resolve, StaffMessage, StaffTicketQuery};
use crate::services::tickets::{MessageView, TicketView};
use crate::state::AppState;
use actix_web::{web, HttpRequest, HttpResponse, ResponseError};
use chrono::{DateTime, Utc};
use chrono_tz::Tz;
use serde::Deserialize;

/// What the thread and SLA pages add to the frame's style: internal notes stand apart.
pub(super) const STYLE: &str = "<style>\
ol.thread{list-style:none;padding:0;margin:0}ol.thread li{background:#fff;border:1px solid #d9e2ec;border-radius:6px;padding:8px 12px;margin:0 0 8px}\
ol.thread li.internal{background:#fffbeb;border:1px dashed #b45309}ol.thread li.system{background:#f5f7fa}\
ol.thread .meta{margin:0 0 4px;font-size:13px;color:#52606d}ol.thread .body{white-space:pre-line}\
.tag{display:inline-block;margin-left:6px;padding:0 6px;border-radius:4px;background:#b45309;color:#fff;font-size:12px}\
.badge.urgent{background:#b45309}table.facts th{width:9em;background:#f5f7fa}\
form.stack{display:flex;flex-direction:column;gap:8px;max-width:640px;margin-bottom:16px}label.check{flex-direction:row;gap:6px;align-items:center}\
</style>";

/// Every category with its name, for the queue's filter.
const CATEGORIES: [TicketCategory; 5] = [
    TicketCategory::Complaint,
    TicketCategory::Repair,
    TicketCategory::Dispute,
    TicketCategory::Suggestion,
    TicketCategory::Enquiry,
];

/// Every state, for the queue's filter (none chosen: those that still need staff).
const STATUSES: [TicketStatus; 5] = [
    TicketStatus::Open,
    TicketStatus::WaitingOwner,
    TicketStatus::Answered,
    TicketStatus::Resolved,
    TicketStatus::Merged,
];

/// A moment in the community's local time.
pub(super) fn local(t: DateTime<Utc>, tz: Tz) -> String {
    t.with_timezone(&tz).format("%Y-%m-%d %H:%M").to_string()
}

/// A form's or query's text: None when left empty.
fn given(s: &Option<String>) -> Option<String> {
    s.as_deref()
        .map(str::trim)
        .filter(|v| !v.is_empty())
        .map(str::to_string)
}

/// A form's whole-number field. Anything that is not a number reaches the service as -1, which no
/// id or budget is, so the service (the one home of the rule) names the field — after refusing the
/// role or the scope, as it does for the API.
pub(super) fn whole(s: &str) -> i32 {
    s.trim().parse().unwrap_or(-1)
}

fn role_name(r: &str) -> &'static str {
    match Role::parse(r) {
        Some(Role::Admin) => "管理员",
        Some(Role::Service) => "客服",
        Some(Role::Finance) => "财务",
        Some(Role::Collector) => "催缴专员",
        None => "员工",
    }
}

/// The next deadline to meet: the first response until answered, then the resolution.
fn next_deadline(v: &TicketView, tz: Tz) -> String {
    if v.paused {
        return "<span class=\"muted\">已暂停</span>".to_string();
    }
    match (v.first_response_due_at, v.resolution_due_at) {
        (Some(d), _) => format!("首次响应 {}", local(d, tz)),
        (None, Some(d)) => format!("解决 {}", local(d, tz)),
        (None, None) => "—".to_string(),
    }
}

fn category_cell(v: &TicketView) -> String {
    let urgent = if v.emergency {
        " <span class=\"badge urgent\">紧急</span>"
    } else {
        ""
    };
    format!("{}{urgent}", esc(category_label(v.category)))
}

fn breached_badge(v: &TicketView) -> &'static str {
    if v.breached == Some(true) {
        " <span class=\"badge breached\">已超时</span>"
    } else {
        ""
    }
}

#[derive(Deserialize)]
pub(super) struct QueueQuery {
    community_id: Option<i32>,
    status: Option<String>,
    category: Option<String>,
    /// A member's id, or `none` for tickets nobody is assigned to.
    assignee_id: Option<String>,
    breached: Option<String>,
    /// `true`: emergency repairs only.
    emergency: Option<String>,
    page: Option<u64>,
}

/// `GET /console/tickets`.
pub(super) async fn queue(state: web::Data<AppState>, req: HttpRequest, q: web::Query<QueueQuery>) -> HttpResponse {
    let s = match require_signed(&state, &req).await {
        Ok(s) => s,
        Err(r) => return r,
    };
    s.respond("工单", queue_page(&state, &s, &q).await)
}

async fn queue_page(state: &AppState, s: &Signed, q: &QueueQuery) -> Result<String, ApiError> {
    let names = community_names(state, &s.ctx).await?;
    let Some(community) = super::shown_community(q.community_id, &names) else {
        return Ok("<h1>工单</h1><p>您还没有负责的小区。</p>".to_string());
    };
    let (status, category) = (given(&q.status), given(&q.category));
    let assignee_choice = given(&q.assignee_id);
    let unassigned = assignee_choice.as_deref() == Some("none");
    let assignee = match assignee_choice.as_deref() {
        None | Some("none") => None,
        Some(a) => Some(
            a.parse::<i32>()
                .map_err(|_| ApiError::field("assignee_id", "处理人无效"))?,
        ),
    };
    let emergency = match given(&q.emergency).as_deref() {
        None => None,
        Some("true") => Some(true),
        Some(_) => return Err(ApiError::field("emergency", "紧急筛选无效")),
    };
    let breached = match given(&q.breached).as_deref() {
        None => None,
        Some("true") => Some(true),
        Some("false") => Some(false),
        Some(_) => return Err(ApiError::field("breached", "超时筛选无效")),
    };
    let list = staff::queue(
        state,
        &s.ctx,
        StaffTicketQuery {
            community_id: Some(community),
            status: status.clone(),
            category: category.clone(),
            assignee_id: assignee,
            unassigned: unassigned.then_some(true),
            emergency,
            breached,
            unit_id: None,
            page: q.page,
            per_page: Some(50),
        },
    )
    .await?;
    let tz = state.community_tz(community).await?;
    let option = |value: &str, name: &str, chosen: bool| {
        format!(
            "<option value=\"{}\"{}>{}</option>",
            esc(value),
            if chosen { " selected" } else { "" },
            esc(name)
        )
    };
    let statuses: String = STATUSES
        .iter()
        .map(|v| option(v.as_str(), status_label(*v), status.as_deref() == Some(v.as_str())))
        .collect();
    let categories: String = CATEGORIES
        .iter()
        .map(|v| option(v.as_str(), category_label(*v), category.as_deref() == Some(v.as_str())))
        .collect();
    // Only those who work tickets pick whom to see them for (the list of members is theirs).
    let assignee_filter = if s.ctx.role.may(Action::HandleTickets) {
        let people: String = staff::assignees(state, &s.ctx, community)
            .await?
            .iter()
            .map(|a| option(&a.id.to_string(), &a.username, assignee == Some(a.id)))
            .collect();
        format!(
            "<label for=\"f-assignee\">处理人<select id=\"f-assignee\" name=\"assignee_id\"><option value=\"\">全部</option>{}{people}</select></label>",
            option("none", "未指派", unassigned)
        )
    } else {
        String::new()
    };
    let breached_opts = [("", "全部"), ("true", "已超时"), ("false", "未超时")]
        .iter()
        .map(|(v, n)| option(v, n, q.breached.as_deref().unwrap_or("") == *v))
        .collect::<String>();
    let mut out = format!(
        "<h1>工单</h1><form class=\"inline\" method=\"get\" action=\"/console/tickets\">\
         <label for=\"community_id\">小区<select id=\"community_id\" name=\"community_id\">{}</select></label>\
         <label for=\"f-status\">状态<select id=\"f-status\" name=\"status\"><option value=\"\">处理中+待业主回复（默认）</option>{statuses}</select></label>\
         <label for=\"f-category\">类别<select id=\"f-category\" name=\"category\"><option value=\"\">全部</option>{categories}</select></label>\
         {assignee_filter}\
         <label for=\"f-breached\">超时<select id=\"f-breached\" name=\"breached\">{breached_opts}</select></label>\
         <label for=\"f-emergency\" class=\"check\"><input id=\"f-emergency\" type=\"checkbox\" name=\"emergency\" value=\"true\"{}><span>仅紧急维修</span></label>\
         <button type=\"submit\">筛选</button></form>\
         <p class=\"muted\">按下一时限排序：未首次响应的按首次响应时限，已响应的按解决时限；等待业主回复的暂停计时，排在最后。\
         时间为小区当地时间。<a href=\"/console/tickets/sla?community_id={community}\">SLA 时限设置</a> · <a href=\"/console/reports/service?community_id={community}\">服务报表</a></p>",
        community_options(&names, Some(community), None),
        if emergency == Some(true) { " checked" } else { "" },
    );
    if list.items.is_empty() {
        out.push_str("<p id=\"no-tickets\">没有符合条件的工单。</p>");
    } else {
        out.push_str(
            "<table id=\"tickets\"><tr><th>编号</th><th>类别</th><th>标题</th><th>房屋</th><th>状态</th><th>下一时限</th><th>处理人</th></tr>",
        );
        for v in &list.items {
            out.push_str(&format!(
                "<tr data-ticket-id=\"{id}\"><td><a href=\"/console/tickets/{id}\">#{id}</a></td><td>{}</td><td>{}</td>\
                 <td><a href=\"/console/units/{unit}\">{}</a></td><td>{}</td><td>{}{}</td><td>{}</td></tr>",
                category_cell(v),
                esc(&v.title),
                esc(&v.unit_code),
                esc(status_label(v.status)),
                next_deadline(v, tz),
                breached_badge(v),
                esc(v.assignee_name.as_deref().unwrap_or("未指派")),
                id = v.id,
                unit = v.unit_id,
            ));
        }
        out.push_str("</table>");
    }
    out.push_str(&pager(
        "/console/tickets",
        &[
            ("community_id", community.to_string()),
            ("status", status.unwrap_or_default()),
            ("category", category.unwrap_or_default()),
            ("assignee_id", assignee_choice.unwrap_or_default()),
            ("emergency", emergency.map(|e| e.to_string()).unwrap_or_default()),
            ("breached", breached.map(|b| b.to_string()).unwrap_or_default()),
        ],
        list.total,
        list.page,
        list.per_page,
        "张",
    ));
    Ok(out)
}

/// Which form of the thread a refusal is about.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(super) enum Which {
    Assign,
    Reply,
    Resolve,
    Merge,
    /// A bill correction asked of finance (`adjustments`).
    Adjust,
}

/// A form the service refused (422, 409): why, and what the member had typed, to show again.
pub(super) struct Refusal {
    pub(super) which: Which,
    error: ApiError,
    pub(super) typed: String,
}

/// Why a form was refused, as the member reads it: the message and each field's problem.
pub(super) fn refusal_text(e: &ApiError) -> String {
    let fields: String = match e {
        ApiError::Validation(f) | ApiError::BadRequest(_, Some(f)) => {
            f.values().map(|m| format!("<li>{}</li>", esc(m))).collect()
        }
        _ => String::new(),
    };
    let fields = if fields.is_empty() {
        fields
    } else {
        format!("<ul>{fields}</ul>")
    };
    format!(
        "<div class=\"error\" id=\"form-error\" role=\"alert\"><p>未能完成：{}</p>{fields}</div>",
        esc(&e.message())
    )
}

/// `GET /console/tickets/{id}`.
pub(super) async fn thread(state: web::Data<AppState>, req: HttpRequest, id: web::Path<i32>) -> HttpResponse {
    let s = match require_signed(&state, &req).await {
        Ok(s) => s,
        Err(r) => return r,
    };
    let body = thread_page(&state, &s, *id, None).await;
    s.respond(&format!("工单 #{}", *id), body)
}

/// One message of the thread; a staff-only note is marked so nobody reads it to the owner.
fn message_item(ticket_id: i32, m: &MessageView, tz: Tz) -> String {
    let class = if m.internal {
        "internal"
    } else {
        match m.author.as_str() {
            "owner" => "owner",
            "staff" => "staff",
            _ => "system",
        }
    };
    let tag = if m.internal {
        "<span class=\"tag\">内部备注（业主不可见）</span>"
    } else {
        ""
    };
    let photos: String = m
        .photos
        .iter()
        .map(|p| {
            let url = format!("/console/tickets/{ticket_id}/photos/{}", p.id);
            format!(
                "<a href=\"{url}\"><img src=\"{url}\" alt=\"图片{}\" width=\"120\"></a> ",
                p.id
            )
        })
        .collect();
    let photos = if photos.is_empty() {
        photos
    } else {
        format!("<p class=\"photos\">{photos}</p>")
    };
    format!(
        "<li class=\"{class}\" id=\"msg-{id}\" data-message-id=\"{id}\"><p class=\"meta\"><strong>{}</strong> · {}{tag}</p>\
         <div class=\"body\">{}</div>{photos}</li>",
        esc(&m.author_name),
        local(m.created_at, tz),
        esc(&m.body),
        id = m.id
    )
}

async fn thread_page(state: &AppState, s: &Signed, id: i32, refused: Option<&Refusal>) -> Result<String, ApiError> {
    let v = staff::get(state, &s.ctx, id).await?;
    let tz = state.community_tz(v.community_id).await?;
    let mut facts: Vec<(&str, String)> = vec![
        ("类别", category_cell(&v)),
        (
            "状态",
            format!(
                "<span id=\"ticket-status\">{}</span>{}{}",
                esc(status_label(v.status)),
                breached_badge(&v),
                if v.paused {
                    " <span class=\"muted\">（等待业主回复，已暂停计时）</span>"
                } else {
                    ""
                }
            ),
        ),
        (
            "房屋",
            format!("<a href=\"/console/units/{}\">{}</a>", v.unit_id, esc(&v.unit_code)),
        ),
        ("提交时间", local(v.created_at, tz)),
    ];
    match (v.first_responded_at, v.first_response_due_at) {
        (Some(at), _) => facts.push(("首次响应", format!("已于 {} 响应", local(at, tz)))),
        (None, Some(due)) => facts.push(("首次响应时限", local(due, tz))),
        (None, None) => {}
    }
    if let Some(due) = v.resolution_due_at {
        facts.push(("解决时限", local(due, tz)));
    } else if v.paused {
        facts.push(("解决时限", "已暂停（业主回复后继续计时）".to_string()));
    }
    facts.push(("处理人", esc(v.assignee_name.as_deref().unwrap_or("未指派"))));
    if !v.bill_ids.is_empty() {
        let ids: Vec<String> = v.bill_ids.iter().map(|b| format!("#{b}")).collect();
        facts.push((
            "关联账单",
            format!(
                "{}（<a href=\"/console/units/{}\">在房屋页查看账单</a>；处理期间不催缴）",
                ids.join("、"),
                v.unit_id
            ),
        ));
    }
    if let Some(r) = &v.resolution {
        let at = v
            .resolved_at
            .map(|t| format!("（{}）", local(t, tz)))
            .unwrap_or_default();
        facts.push(("处理结果", format!("<span class=\"pre\">{}</span>{at}", esc(r))));
    }
    if let Some(until) = v.reopen_until {
        facts.push(("业主可重新打开至", local(until, tz)));
    }
    if let Some(score) = v.rating {
        let comment = v
            .rating_comment
            .as_deref()
            .map(|c| format!(" · {}", esc(c)))
            .unwrap_or_default();
        facts.push(("评分", format!("<span id=\"rating\">{score} 分</span>{comment}")));
    }
    if v.reopen_count > 0 {
        facts.push(("重新打开次数", v.reopen_count.to_string()));
    }
    if let Some(into) = v.merged_into {
        facts.push((
            "已合并到",
            format!("<a id=\"merged-into\" href=\"/console/tickets/{into}\">工单 #{into}</a>"),
        ));
    }
    let mut out = format!(
        "{STYLE}<p><a href=\"/console/tickets?community_id={}\">返回工单列表</a></p><h1>工单 #{} · {}</h1>",
        v.community_id,
        v.id,
        esc(&v.title)
    );
    if let Some(r) = refused {
        out.push_str(&refusal_text(&r.error));
    }
    out.push_str("<table class=\"facts\" id=\"ticket-facts\">");
    for (k, val) in &facts {
        out.push_str(&format!("<tr><th>{k}</th><td>{val}</td></tr>"));
    }
    out.push_str("</table><h2>处理记录</h2><ol class=\"thread\" id=\"thread\">");
    for m in v.messages.as_deref().unwrap_or_default() {
        out.push_str(&message_item(v.id, m, tz));
    }
    out.push_str("</ol>");
    out.push_str(&super::adjustments::section(s, &v, tz, refused));
    let active = matches!(v.status, TicketStatus::Open | TicketStatus::WaitingOwner);
    if active && s.ctx.role.may(Action::HandleTickets) {
        out.push_str(&forms(state, s, &v, refused).await?);
    }
    Ok(out)
}

/// The forms of an open ticket, for those who work tickets.
async fn forms(state: &AppState, s: &Signed, v: &TicketView, refused: Option<&Refusal>) -> Result<String, ApiError> {
    let csrf = esc(&s.csrf);
    let id = v.id;
    let typed = |w: Which| {
        refused
            .filter(|r| r.which == w)
            .map(|r| esc(&r.typed))
            .unwrap_or_default()
    };
    let people: String = staff::assignees(state, &s.ctx, v.community_id)
        .await?
        .iter()
        .map(|a| {
            let sel = if v.assignee_id == Some(a.id) { " selected" } else { "" };
            format!(
                "<option value=\"{}\"{sel}>{}（{}）</option>",
                a.id,
                esc(&a.username),
                role_name(&a.role)
            )
        })
        .collect();
    Ok(format!(
        "<h2>回复</h2><form class=\"stack\" id=\"reply\" method=\"post\" action=\"/console/tickets/{id}/messages\">\
         <input type=\"hidden\" name=\"csrf\" value=\"{csrf}\">\
         <label for=\"reply-body\">内容<textarea id=\"reply-body\" name=\"body\" rows=\"4\" maxlength=\"2000\" required>{}</textarea></label>\
         <label for=\"reply-internal\" class=\"check\"><input id=\"reply-internal\" type=\"checkbox\" name=\"internal\" value=\"1\"><span>内部备注（业主不可见）</span></label>\
         <label for=\"reply-wait\" class=\"check\"><input id=\"reply-wait\" type=\"checkbox\" name=\"wait_for_owner\" value=\"1\"><span>等待业主回复（暂停计时）</span></label>\
         <button type=\"submit\">发送</button></form>\
         <h2>指派</h2><form class=\"inline\" id=\"assign\" method=\"post\" action=\"/console/tickets/{id}/assign\">\
         <input type=\"hidden\" name=\"csrf\" value=\"{csrf}\">\
         <label for=\"assign-staff\">处理人<select id=\"assign-staff\" name=\"staff_id\">{people}</select></label>\
         <button type=\"submit\">指派</button></form>\
         <h2>解决</h2><form class=\"stack\" id=\"resolve\" method=\"post\" action=\"/console/tickets/{id}/resolve\">\
         <input type=\"hidden\" name=\"csrf\" value=\"{csrf}\">\
         <label for=\"resolution\">处理结果（业主可见）<textarea id=\"resolution\" name=\"resolution\" rows=\"3\" maxlength=\"2000\" required>{}</textarea></label>\
         <button type=\"submit\">标记为已解决</button></form>\
         <h2>合并</h2><form class=\"inline\" id=\"merge\" method=\"post\" action=\"/console/tickets/{id}/merge\">\
         <input type=\"hidden\" name=\"csrf\" value=\"{csrf}\">\
         <label for=\"merge-into\">合并到工单编号（同一小区、处理中的工单）<input id=\"merge-into\" name=\"into_id\" type=\"number\" min=\"1\" required value=\"{}\"></label>\
         <button type=\"submit\">合并</button></form>",
        typed(Which::Reply),
        typed(Which::Resolve),
        typed(Which::Merge),
    ))
}

/// What a thread form's post comes to: back to the thread; the thread again with why when the
/// service refused the form (422, 409); the console's page for anything else (403, 404).
pub(super) async fn after(
    state: &AppState,
    s: &Signed,
    id: i32,
    done: Result<TicketView, ApiError>,
    which: Which,
    typed: &str,
) -> HttpResponse {
    let error = match done {
        Ok(_) => return see_other(&format!("/console/tickets/{id}")),
        Err(e @ (ApiError::Validation(_) | ApiError::Conflict(..))) => e,
        Err(e) => return error_page(&e, Some(&s.viewer())),
    };
    let status = error.status_code();
    let r = Refusal {
        which,
        error,
        typed: typed.to_string(),
    };
    match thread_page(state, s, id, Some(&r)).await {
        Ok(b) => html(status).body(page(&format!("工单 #{id}"), Some(&s.viewer()), &b)),
        Err(e) => error_page(&e, Some(&s.viewer())),
    }
}

#[derive(Deserialize)]
pub(super) struct AssignForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    staff_id: String,
}

/// `POST /console/tickets/{id}/assign`.
pub(super) async fn assign(
    state: web::Data<AppState>,
    req: HttpRequest,
    id: web::Path<i32>,
    form: web::Form<AssignForm>,
) -> HttpResponse {
    let s = match require_form(&state, &req, &form.csrf).await {
        Ok(s) => s,
        Err(r) => return r,
    };
    let body = Assign {
        staff_id: whole(&form.staff_id),
    };
    let done = staff::assign(&state, &s.ctx, *id, body).await;
    after(&state, &s, *id, done, Which::Assign, "").await
}

#[derive(Deserialize)]
pub(super) struct ReplyForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    body: String,
    /// Checkboxes arrive only when ticked.
    internal: Option<String>,
    wait_for_owner: Option<String>,
}

/// `POST /console/tickets/{id}/messages`: a reply to the owner, or a staff-only note.
pub(super) async fn message(
    state: web::Data<AppState>,
    req: HttpRequest,
    id: web::Path<i32>,
    form: web::Form<ReplyForm>,
) -> HttpResponse {
    let s = match require_form(&state, &req, &form.csrf).await {
        Ok(s) => s,
        Err(r) => return r,
    };
    let body = StaffMessage {
        body: form.body.clone(),
        internal: Some(form.internal.is_some()),
        wait_for_owner: Some(form.wait_for_owner.is_some()),
        upload_ids: None,
    };
    let done = staff::message(&state, &s.ctx, *id, body).await;
    after(&state, &s, *id, done, Which::Reply, &form.body).await
}

#[derive(Deserialize)]
pub(super) struct ResolveForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    resolution: String,
}

/// `POST /console/tickets/{id}/resolve`.
pub(super) async fn resolve(
    state: web::Data<AppState>,
    req: HttpRequest,
    id: web::Path<i32>,
    form: web::Form<ResolveForm>,
) -> HttpResponse {
    let s = match require_form(&state, &req, &form.csrf).await {
        Ok(s) => s,
        Err(r) => return r,
    };
    let body = Resolve {
        resolution: form.resolution.clone(),
    };
    let done = staff::resolve(&state, &s.ctx, *id, body).await;
    after(&state, &s, *id, done, Which::Resolve, &form.resolution).await
}

#[derive(Deserialize)]
pub(super) struct MergeForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    into_id: String,
}

/// `POST /console/tickets/{id}/merge`.
pub(super) async fn merge(
    state: web::Data<AppState>,
    req: HttpRequest,
    id: web::Path<i32>,
    form: web::Form<MergeForm>,
) -> HttpResponse {
    let s = match require_form(&state, &req, &form.csrf).await {
        Ok(s) => s,
        Err(r) => return r,
    };
    let body = Merge {
        into_id: whole(&form.into_id),
    };
    let done = staff::merge(&state, &s.ctx, *id, body).await;
    after(&state, &s, *id, done, Which::Merge, form.into_id.trim()).await
}

/// `GET /console/tickets/{id}/photos/{upload_id}`: a photo of a ticket the member may read.
pub(super) async fn photo(state: web::Data<AppState>, req: HttpRequest, path: web::Path<(i32, i32)>) -> HttpResponse {
    let s = match require_signed(&state, &req).await {
        Ok(s) => s,
        Err(r) => return r,
    };
    let (id, upload_id) = path.into_inner();
    match staff::photo(&state, &s.ctx, id, upload_id).await {
        Ok(p) => crate::routes::uploads::serve(p),
        Err(e) => error_page(&e, Some(&s.viewer())),
    }
}
