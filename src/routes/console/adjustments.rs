//! 账单调整: the bill corrections a dispute asks for, in the console. On a dispute's thread, its
//! requests with their decisions and the form service staff ask finance with; for finance, the
//! queue they approve (the ledger applies it) or reject from. All through
//! `services::tickets::adjustments`, which checks roles, scopes, amounts and that nobody decides
//! their own request; a refusal is shown on the page the form was on.
use super::page::{error_page, html, page};
use super::tickets::{after, local, refusal_text, whole, Refusal, Which};
use super::{community_names, community_options, given, pager, require_form, require_signed, see_other, Signed};
use crate::domain::role::Action;
use crate::domain::text::esc;
use crate::domain::tickets::{AdjustmentStatus, TicketStatus};
use crate::error::ApiError;
use crate::services::tickets::adjustments::{self, AdjustmentQuery, AdjustmentView, Approval, NewAdjustment};
use crate::services::tickets::TicketView;
use crate::state::AppState;
use actix_web::{web, HttpRequest, HttpResponse, ResponseError};
use chrono_tz::Tz;
use serde::Deserialize;
use std::collections::HashMap;
use url::form_urlencoded;

const TITLE: &str = "账单调整审批";

/// The kinds of correction, as the request form offers them.
const KINDS: [(&str, &str); 3] = [
    ("waive_late_fee", "减免滞纳金"),
    ("adjust", "调整本金"),
    ("cancel", "撤销账单"),
];

/// The queue's status filter.
const STATUSES: [(AdjustmentStatus, &str); 3] = [
    (AdjustmentStatus::Pending, "待审批"),
    (AdjustmentStatus::Approved, "已批准"),
    (AdjustmentStatus::Rejected, "已驳回"),
];

/// The queue's decision forms sit side by side in a table cell.
const STYLE: &str =
    "<style>form.approve,form.reject{display:flex;flex-wrap:wrap;gap:6px;align-items:end;margin:0 0 6px}\
td.pre{white-space:pre-line}</style>";

/// Who decided a request, when, and what they wrote; "—" while it waits.
fn decision(a: &AdjustmentView, tz: Tz) -> String {
    match (&a.decided_by_name, a.decided_at) {
        (Some(by), Some(at)) => {
            let note = a
                .decision_note
                .as_deref()
                .map(|n| format!("<br>{}", esc(n)))
                .unwrap_or_default();
            format!("{} · {}{note}", esc(by), local(at, tz))
        }
        _ => "—".to_string(),
    }
}

/// The thread's 账单调整 section (disputes only): the ticket's requests and, for those who work an
/// active ticket, the form that asks finance for one.
pub(super) fn section(s: &Signed, v: &TicketView, tz: Tz, refused: Option<&Refusal>) -> String {
    let Some(list) = &v.adjustments else {
        return String::new();
    };
    let mut out = "<h2>账单调整</h2>".to_string();
    if list.is_empty() {
        out.push_str("<p id=\"no-adjustments\" class=\"muted\">尚未申请账单调整。</p>");
    } else {
        out.push_str(
            "<table id=\"adjustments\"><tr><th>账单</th><th>调整</th><th>原因</th><th>状态</th><th>申请人</th><th>审批</th></tr>",
        );
        for a in list {
            out.push_str(&format!(
                "<tr data-adjustment-id=\"{}\"><td>#{}</td><td>{}</td><td class=\"pre\">{}</td><td>{}</td>\
                 <td>{}<br><span class=\"muted\">{}</span></td><td>{}</td></tr>",
                a.id,
                a.bill_id,
                esc(&a.summary),
                esc(&a.reason),
                esc(&a.status_label),
                esc(&a.requested_by_name),
                local(a.requested_at, tz),
                decision(a, tz),
            ));
        }
        out.push_str("</table>");
    }
    if s.ctx.role.may(Action::ManageBilling) && list.iter().any(|a| a.status == AdjustmentStatus::Pending) {
        out.push_str(&format!(
            "<p><a id=\"to-approval\" href=\"/console/adjustments?ticket_id={}\">去审批本工单的调整申请</a></p>",
            v.id
        ));
    }
    let active = matches!(v.status, TicketStatus::Open | TicketStatus::WaitingOwner);
    if active && s.ctx.role.may(Action::HandleTickets) {
        out.push_str(&request_form(s, v, refused));
    }
    out
}

/// The form service staff ask with; what they typed comes back when it was refused (`request`
/// hands it to `after` urlencoded, the one string a thread refusal carries).
fn request_form(s: &Signed, v: &TicketView, refused: Option<&Refusal>) -> String {
    let typed: HashMap<String, String> = refused
        .filter(|r| r.which == Which::Adjust)
        .map(|r| form_urlencoded::parse(r.typed.as_bytes()).into_owned().collect())
        .unwrap_or_default();
    let was = |k: &str| typed.get(k).map_or("", String::as_str);
    let bills: String = v
        .bill_ids
        .iter()
        .map(|b| {
            let sel = if was("bill_id") == b.to_string() {
                " selected"
            } else {
                ""
            };
            format!("<option value=\"{b}\"{sel}>账单 #{b}</option>")
        })
        .collect();
    let kinds: String = KINDS
        .iter()
        .map(|(k, name)| {
            let sel = if was("kind") == *k { " selected" } else { "" };
            format!("<option value=\"{k}\"{sel}>{name}</option>")
        })
        .collect();
    format!(
        "<form class=\"stack\" id=\"adjust\" method=\"post\" action=\"/console/tickets/{id}/adjustments\">\
         <input type=\"hidden\" name=\"csrf\" value=\"{csrf}\">\
         <label for=\"adjust-bill\">账单<select id=\"adjust-bill\" name=\"bill_id\">{bills}</select></label>\
         <label for=\"adjust-kind\">调整方式<select id=\"adjust-kind\" name=\"kind\">{kinds}</select></label>\
         <label for=\"adjust-amount\">减免金额（元，仅减免滞纳金时填写；留空则减免全部未缴滞纳金）\
         <input id=\"adjust-amount\" name=\"amount\" inputmode=\"decimal\" maxlength=\"12\" value=\"{}\"></label>\
         <label for=\"adjust-principal\">调整后本金（元，仅调整本金时填写）\
         <input id=\"adjust-principal\" name=\"principal\" inputmode=\"decimal\" maxlength=\"12\" value=\"{}\"></label>\
         <label for=\"adjust-reason\">原因（记入账单流水）<textarea id=\"adjust-reason\" name=\"reason\" rows=\"2\" maxlength=\"200\" required>{}</textarea></label>\
         <p class=\"muted\">提交后由财务审批，批准后才会入账；审批完成前本工单不能标记为已解决。</p>\
         <button type=\"submit\">提交财务审批</button></form>",
        esc(was("amount")),
        esc(was("principal")),
        esc(was("reason")),
        id = v.id,
        csrf = esc(&s.csrf),
    )
}

#[derive(Deserialize)]
pub(super) struct RequestForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    bill_id: String,
    #[serde(default)]
    kind: String,
    #[serde(default)]
    amount: String,
    #[serde(default)]
    principal: String,
    #[serde(default)]
    reason: String,
}

/// `POST /console/tickets/{id}/adjustments`: service staff ask finance for a correction.
pub(super) async fn request(
    state: web::Data<AppState>,
    req: HttpRequest,
    id: web::Path<i32>,
    form: web::Form<RequestForm>,
) -> HttpResponse {
    let s = match require_form(&state, &req, &form.csrf).await {
        Ok(s) => s,
        Err(r) => return r,
    };
    let body = NewAdjustment {
        bill_id: whole(&form.bill_id),
        kind: form.kind.trim().to_string(),
        amount: given(&form.amount),
        principal: given(&form.principal),
        reason: form.reason.clone(),
    };
    let done = adjustments::request(&state, &s.ctx, *id, body).await;
    let typed = form_urlencoded::Serializer::new(String::new())
        .append_pair("bill_id", &form.bill_id)
        .append_pair("kind", &form.kind)
        .append_pair("amount", &form.amount)
        .append_pair("principal", &form.principal)
        .append_pair("reason", &form.reason)
        .finish();
    after(&state, &s, *id, done, Which::Adjust, &typed).await
}

#[derive(Deserialize)]
pub(super) struct QueueQuery {
    community_id: Option<String>,
    status: Option<String>,
    ticket_id: Option<String>,
    page: Option<u64>,
}

/// The queue's filters. A GET form sends its empty fields too, so they arrive as text.
#[derive(Default)]
struct Filters {
    community_id: Option<i32>,
    /// None: those waiting for a decision.
    status: Option<String>,
    ticket_id: Option<i32>,
    page: Option<u64>,
}

fn number(field: &str, raw: Option<&str>, what: &str) -> Result<Option<i32>, ApiError> {
    match raw.map(str::trim).filter(|v| !v.is_empty()) {
        None => Ok(None),
        Some(v) => v.parse().map(Some).map_err(|_| ApiError::field(field, what)),
    }
}

impl Filters {
    fn of(q: &QueueQuery) -> Result<Filters, ApiError> {
        Ok(Filters {
            community_id: number("community_id", q.community_id.as_deref(), "小区无效")?,
            status: q.status.as_deref().and_then(given),
            ticket_id: number("ticket_id", q.ticket_id.as_deref(), "工单编号无效")?,
            page: q.page,
        })
    }

    /// The filters a decision form carries back (the page is always the pending one then).
    fn kept(&self) -> Vec<(&'static str, String)> {
        let text = |v: Option<i32>| v.map(|v| v.to_string()).unwrap_or_default();
        vec![
            ("community_id", text(self.community_id)),
            ("ticket_id", text(self.ticket_id)),
        ]
    }

    /// The queue's URL with these filters, for the redirect after a decision.
    fn url(&self) -> String {
        let mut url = form_urlencoded::Serializer::new(String::new());
        for (k, v) in self.kept().iter().filter(|(_, v)| !v.is_empty()) {
            url.append_pair(k, v);
        }
        let query = url.finish();
        if query.is_empty() {
            "/console/adjustments".to_string()
        } else {
            format!("/console/adjustments?{query}")
        }
    }
}

/// `GET /console/adjustments`: finance's queue of requests.
pub(super) async fn queue(state: web::Data<AppState>, req: HttpRequest, q: web::Query<QueueQuery>) -> HttpResponse {
    let s = match require_signed(&state, &req).await {
        Ok(s) => s,
        Err(r) => return r,
    };
    let body = match Filters::of(&q) {
        Ok(f) => queue_page(&state, &s, &f, None).await,
        Err(e) => Err(e),
    };
    s.respond(TITLE, body)
}

/// A decision the service refused, to show on the queue with the note typed again.
struct Refused {
    id: i32,
    approve: bool,
    error: ApiError,
    note: String,
}

async fn queue_page(state: &AppState, s: &Signed, f: &Filters, refused: Option<&Refused>) -> Result<String, ApiError> {
    // The service first: a role that may not decide gets its 403 before anything else is read.
    let list = adjustments::queue(
        state,
        &s.ctx,
        AdjustmentQuery {
            community_id: f.community_id,
            status: f.status.clone(),
            ticket_id: f.ticket_id,
            page: f.page,
            per_page: Some(50),
        },
    )
    .await?;
    let names = community_names(state, &s.ctx).await?;
    let shown = f.status.as_deref().unwrap_or(AdjustmentStatus::Pending.as_str());
    let statuses: String = STATUSES
        .iter()
        .map(|(v, name)| {
            let sel = if shown == v.as_str() { " selected" } else { "" };
            format!("<option value=\"{}\"{sel}>{name}</option>", v.as_str())
        })
        .collect();
    let mut out = format!("{STYLE}<h1>{TITLE}</h1>");
    if let Some(r) = refused {
        out.push_str(&refusal_text(&r.error));
    }
    out.push_str(&format!(
        "<form class=\"inline\" method=\"get\" action=\"/console/adjustments\">\
         <label for=\"community_id\">小区<select id=\"community_id\" name=\"community_id\">{}</select></label>\
         <label for=\"f-status\">状态<select id=\"f-status\" name=\"status\">{statuses}</select></label>\
         <label for=\"f-ticket\">工单编号<input id=\"f-ticket\" name=\"ticket_id\" type=\"number\" min=\"1\" value=\"{}\"></label>\
         <button type=\"submit\">筛选</button></form>\
         <p class=\"muted\">客服为账单争议工单申请的账单调整。批准后由账单流水入账（原因注明工单），业主在工单中看到结果；\
         驳回须写明原因，申请人会收到。不能审批自己提交的申请。时间为小区当地时间。</p>",
        community_options(&names, f.community_id, Some("我负责的全部小区")),
        f.ticket_id.map(|t| t.to_string()).unwrap_or_default(),
    ));
    if list.items.is_empty() {
        out.push_str("<p id=\"no-adjustments\">没有符合条件的调整申请。</p>");
    } else {
        out.push_str(
            "<table id=\"adjustment-queue\"><tr><th>工单</th><th>房屋</th><th>账单</th><th>调整</th><th>原因</th>\
             <th>申请人</th><th>申请时间</th><th>状态</th><th>审批</th></tr>",
        );
        for a in &list.items {
            let tz = state.community_tz(a.community_id).await?;
            let (unit, bill) = match &a.bill {
                Some(b) => (
                    esc(&b.unit_code),
                    format!(
                        "#{} {} {}<br><span class=\"muted\">现应缴 ¥{} · 滞纳金 ¥{}</span>",
                        a.bill_id,
                        esc(&b.period),
                        esc(&b.fee_item),
                        esc(&b.amount_due),
                        esc(&b.late_fee)
                    ),
                ),
                None => (format!("房屋 {}", a.unit_id), format!("#{}", a.bill_id)),
            };
            let act = if a.status != AdjustmentStatus::Pending {
                decision(a, tz)
            } else if a.requested_by == s.ctx.id {
                "<span class=\"muted\">本人提交，须由其他财务人员审批</span>".to_string()
            } else {
                decide_forms(s, a, f, refused)
            };
            out.push_str(&format!(
                "<tr data-adjustment-id=\"{}\"><td><a href=\"/console/tickets/{ticket}\">#{ticket} {}</a></td>\
                 <td><a href=\"/console/units/{}\">{unit}</a></td><td>{bill}</td><td>{}</td><td class=\"pre\">{}</td>\
                 <td>{}</td><td>{}</td><td>{}</td><td>{act}</td></tr>",
                a.id,
                esc(&a.ticket_title),
                a.unit_id,
                esc(&a.summary),
                esc(&a.reason),
                esc(&a.requested_by_name),
                local(a.requested_at, tz),
                esc(&a.status_label),
                ticket = a.ticket_id,
            ));
        }
        out.push_str("</table>");
    }
    let mut query = vec![("status", f.status.clone().unwrap_or_default())];
    query.extend(f.kept());
    out.push_str(&pager(
        "/console/adjustments",
        &query,
        list.total,
        list.page,
        list.per_page,
        "项",
    ));
    Ok(out)
}

/// A pending request's approve and reject forms, carrying the queue's filters back.
fn decide_forms(s: &Signed, a: &AdjustmentView, f: &Filters, refused: Option<&Refused>) -> String {
    let typed = |approve: bool| {
        refused
            .filter(|r| r.id == a.id && r.approve == approve)
            .map(|r| esc(&r.note))
            .unwrap_or_default()
    };
    let kept: String = f
        .kept()
        .iter()
        .map(|(k, v)| format!("<input type=\"hidden\" name=\"{k}\" value=\"{}\">", esc(v)))
        .collect();
    let head = format!("<input type=\"hidden\" name=\"csrf\" value=\"{}\">{kept}", esc(&s.csrf));
    format!(
        "<form class=\"approve\" method=\"post\" action=\"/console/adjustments/{id}/approve\">{head}\
         <label for=\"approve-note-{id}\">备注（选填）<input id=\"approve-note-{id}\" name=\"note\" maxlength=\"200\" value=\"{}\"></label>\
         <button type=\"submit\">批准并入账</button></form>\
         <form class=\"reject\" method=\"post\" action=\"/console/adjustments/{id}/reject\">{head}\
         <label for=\"reject-note-{id}\">驳回原因<input id=\"reject-note-{id}\" name=\"note\" maxlength=\"200\" required value=\"{}\"></label>\
         <button type=\"submit\">驳回</button></form>",
        typed(true),
        typed(false),
        id = a.id,
    )
}

#[derive(Deserialize)]
pub(super) struct DecideForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    note: String,
    #[serde(default)]
    community_id: String,
    #[serde(default)]
    ticket_id: String,
}

impl DecideForm {
    /// The queue's filters the form carried; anything odd is dropped (it only says where to return).
    fn filters(&self) -> Filters {
        Filters {
            community_id: self.community_id.trim().parse().ok(),
            ticket_id: self.ticket_id.trim().parse().ok(),
            ..Filters::default()
        }
    }
}

/// `POST /console/adjustments/{id}/approve`: the ledger applies the correction.
pub(super) async fn approve(
    state: web::Data<AppState>,
    req: HttpRequest,
    id: web::Path<i32>,
    form: web::Form<DecideForm>,
) -> HttpResponse {
    let s = match require_form(&state, &req, &form.csrf).await {
        Ok(s) => s,
        Err(r) => return r,
    };
    let body = Approval {
        note: given(&form.note),
    };
    let done = adjustments::approve(&state, &s.ctx, *id, body).await.map(|_| ());
    decided(&state, &s, *id, done, true, &form).await
}

/// `POST /console/adjustments/{id}/reject`: refused, saying why.
pub(super) async fn reject(
    state: web::Data<AppState>,
    req: HttpRequest,
    id: web::Path<i32>,
    form: web::Form<DecideForm>,
) -> HttpResponse {
    let s = match require_form(&state, &req, &form.csrf).await {
        Ok(s) => s,
        Err(r) => return r,
    };
    let body = adjustments::Refusal {
        note: form.note.clone(),
    };
    let done = adjustments::reject(&state, &s.ctx, *id, body).await.map(|_| ());
    decided(&state, &s, *id, done, false, &form).await
}

/// What a decision's post comes to: back to the queue; the queue again with why when the service
/// refused it (422, 409); the console's page for anything else (403, 404).
async fn decided(
    state: &AppState,
    s: &Signed,
    id: i32,
    done: Result<(), ApiError>,
    approve: bool,
    form: &DecideForm,
) -> HttpResponse {
    let f = form.filters();
    let error = match done {
        Ok(()) => return see_other(&f.url()),
        Err(e @ (ApiError::Validation(_) | ApiError::Conflict(..))) => e,
        Err(e) => return error_page(&e, Some(&s.viewer())),
    };
    let status = error.status_code();
    let r = Refused {
        id,
        approve,
        error,
        note: form.note.clone(),
    };
    match queue_page(state, s, &f, Some(&r)).await {
        Ok(b) => html(status).body(page(TITLE, Some(&s.viewer()), &b)),
        Err(e) => error_page(&e, Some(&s.viewer())),
    }
}
