//! 催缴任务: the follow-up queue the reminder passes fill (calls, visits, printed notices), by
//! community and status, with the notice to print and a form that records each task's outcome
//! (a photo for a notice delivered in person), which also closes the task.
use super::page::{error_page, html};
use super::require_signed;
use crate::domain::text::esc;
use crate::error::ApiError;
use crate::services::collection::casefile::label;
use crate::services::collection::notices::task_notice_html;
use crate::services::collection::tasks::{list_tasks, TaskQuery};
use crate::state::AppState;
use actix_multipart::Multipart;
use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};
use serde::Deserialize;

#[derive(Deserialize)]
pub(super) struct ListQuery {
    community_id: Option<i32>,
    status: Option<String>,
    page: Option<u64>,
}

/// `GET /console/tasks`.
pub(super) async fn list(state: web::Data<AppState>, req: HttpRequest, q: web::Query<ListQuery>) -> HttpResponse {
    let s = match require_signed(&state, &req).await {
        Ok(s) => s,
        Err(r) => return r,
    };
    let body = async {
        let names = super::community_names(&state, &s.ctx).await?;
        let status = q.status.clone().unwrap_or_else(|| "open".to_string());
        let tasks = list_tasks(
            &state,
            &s.ctx,
            TaskQuery {
                community_id: q.community_id,
                status: Some(status.clone()),
                page: q.page,
                per_page: Some(50),
            },
        )
        .await?;
        let options = super::community_options(&names, q.community_id, Some("我负责的全部小区"));
        let statuses: String = [("open", "待跟进"), ("suspended", "暂缓中"), ("done", "已完成")]
            .iter()
            .map(|(v, n)| {
                let sel = if status == *v { " selected" } else { "" };
                format!("<option value=\"{v}\"{sel}>{n}</option>")
            })
            .collect();
        let mut query = format!("status={status}");
        if let Some(c) = q.community_id {
            query.push_str(&format!("&community_id={c}"));
        }
        let mut out = format!(
            "<h1>催缴任务</h1><form class=\"inline\" method=\"get\" action=\"/console/tasks\">\
             <label for=\"community_id\">小区<select id=\"community_id\" name=\"community_id\">{options}</select></label>\
             <label for=\"status\">状态<select id=\"status\" name=\"status\">{statuses}</select></label>\
             <button type=\"submit\">查看</button></form>"
        );
        if tasks.items.is_empty() {
            out.push_str("<p id=\"no-tasks\">没有任务。</p>");
        } else {
            out.push_str(
                "<table id=\"tasks\"><tr><th>编号</th><th>房屋</th><th>方式</th><th>阶段</th><th>生成时间</th><th>处理</th></tr>",
            );
        }
        let tz = state.tz;
        for t in &tasks.items {
            let notice = match (t.kind.as_str(), t.notice_id) {
                ("printed_notice", Some(_)) => format!(" <a href=\"/console/tasks/{}/notice\">打印通知书</a>", t.id),
                _ => String::new(),
            };
            let act = if t.status == "open" && !t.suspended {
                let delivery = if t.kind == "printed_notice" {
                    format!(
                        "<label for=\"delivery-{id}\">送达方式<select id=\"delivery-{id}\" name=\"delivery\">\
                         <option value=\"in_person\">当面送达（须附照片）</option><option value=\"registered_mail\">挂号信</option></select></label>\
                         <label for=\"mail-{id}\">挂号信号<input id=\"mail-{id}\" name=\"mail_no\" maxlength=\"64\"></label>\
                         <label for=\"photo-{id}\">照片<input id=\"photo-{id}\" name=\"photo\" type=\"file\" accept=\"image/jpeg,image/png,image/webp\"></label>",
                        id = t.id
                    )
                } else {
                    String::new()
                };
                format!(
                    "<form class=\"inline\" method=\"post\" action=\"/console/tasks/{id}/outcome\" enctype=\"multipart/form-data\">\
                     <input type=\"hidden\" name=\"csrf\" value=\"{}\"><input type=\"hidden\" name=\"kind\" value=\"{}\">\
                     <input type=\"hidden\" name=\"back\" value=\"{}\">{delivery}\
                     <label for=\"outcome-{id}\">结果<input id=\"outcome-{id}\" name=\"outcome\" required maxlength=\"500\"></label>\
                     <button type=\"submit\">记录结果</button></form>",
                    esc(&s.csrf),
                    esc(&t.kind),
                    esc(&query),
                    id = t.id
                )
            } else if t.suspended {
                "<span class=\"muted\">暂缓期间暂停跟进</span>".to_string()
            } else {
                esc(t.outcome.as_deref().unwrap_or(""))
            };
            // The unit's open complaints and disputes: answered before anyone asks for money.
            let tickets = if t.open_tickets.is_empty() {
                String::new()
            } else {
                let links: Vec<String> = t
                    .open_tickets
                    .iter()
                    .map(|o| {
                        format!(
                            "<a href=\"/console/tickets/{id}\">#{id} {}</a>（{}·{}）",
                            esc(&o.title),
                            esc(&o.category_label),
                            esc(&o.status_label),
                            id = o.id
                        )
                    })
                    .collect();
                format!(
                    "<div class=\"open-tickets error\" id=\"open-tickets-{}\">未结投诉/异议：{}</div>",
                    t.id,
                    links.join("、")
                )
            };
            out.push_str(&format!(
                "<tr><td>{}</td><td><a href=\"/console/units/{}\">{}</a>{tickets}</td><td>{}{notice}</td><td>{}</td><td>{}</td><td>{act}</td></tr>",
                t.id,
                t.unit_id,
                esc(t.unit.as_deref().unwrap_or("")),
                esc(label(&t.kind)),
                esc(t.stage.as_deref().map(label).unwrap_or("")),
                t.created_at.with_timezone(&tz).format("%Y-%m-%d")
            ));
        }
        if !tasks.items.is_empty() {
            out.push_str("</table>");
        }
        out.push_str(&super::pager(
            "/console/tasks",
            &[
                ("status", status.clone()),
                ("community_id", q.community_id.map(|c| c.to_string()).unwrap_or_default()),
            ],
            tasks.total,
            tasks.page,
            tasks.per_page,
            "项",
        ));
        Ok::<_, ApiError>(out)
    }
    .await;
    s.respond("催缴任务", body)
}

/// `GET /console/tasks/{id}/notice`: the task's printed notice, to print.
pub(super) async fn notice(state: web::Data<AppState>, req: HttpRequest, id: web::Path<i32>) -> HttpResponse {
    let s = match require_signed(&state, &req).await {
        Ok(s) => s,
        Err(r) => return r,
    };
    match task_notice_html(&state, &s.ctx, *id).await {
        Ok(p) => html(StatusCode::OK).body(p),
        Err(e) => error_page(&e, Some(&s.viewer())),
    }
}

/// `POST /console/tasks/{id}/outcome` (multipart): the task's contact, which closes it.
pub(super) async fn outcome(
    state: web::Data<AppState>,
    req: HttpRequest,
    id: web::Path<i32>,
    form: Multipart,
) -> HttpResponse {
    let unit = {
        let s = match require_signed(&state, &req).await {
            Ok(s) => s,
            Err(r) => return r,
        };
        match crate::services::collection::tasks::task_unit(&state, &s.ctx, *id).await {
            Ok(u) => u,
            Err(e) => return error_page(&e, Some(&s.viewer())),
        }
    };
    super::evidence::record(state, req, unit, Some(*id), form).await
}
