//! 收件箱: what needs the signed-in member, newest first; each item links to where it is acted on
//! and is marked read by them (the header shows how many are unread on every page).
use super::page::{error_page, html, page};
use super::{require_form, require_signed, see_other, CsrfForm};
use crate::domain::text::esc;
use crate::services::inbox::{self, InboxQuery};
use crate::state::AppState;
use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};
use serde::Deserialize;

#[derive(Deserialize)]
pub(super) struct ListQuery {
    page: Option<u64>,
}

/// `GET /console/inbox`.
pub(super) async fn show(state: web::Data<AppState>, req: HttpRequest, q: web::Query<ListQuery>) -> HttpResponse {
    let s = match require_signed(&state, &req).await {
        Ok(s) => s,
        Err(r) => return r,
    };
    let q = InboxQuery {
        unread: None,
        page: q.page,
        per_page: Some(50),
    };
    let items = match inbox::list(&state, &s.ctx, q).await {
        Ok(i) => i,
        Err(e) => return error_page(&e, Some(&s.viewer())),
    };
    let csrf = esc(&s.csrf);
    let mut out = format!(
        "<h1>收件箱</h1><p>未读 <strong id=\"unread\">{}</strong> 条</p>",
        items.unread
    );
    if items.unread > 0 {
        out.push_str(&format!(
            "<form class=\"inline\" method=\"post\" action=\"/console/inbox/read-all\"><input type=\"hidden\" name=\"csrf\" value=\"{csrf}\"><button type=\"submit\">全部标为已读</button></form>"
        ));
    }
    if items.page.items.is_empty() {
        out.push_str("<p id=\"inbox-empty\">没有需要您处理的事项。</p>");
    } else {
        out.push_str("<table id=\"inbox\"><tr><th>时间</th><th>事项</th><th>内容</th><th></th></tr>");
        for i in &items.page.items {
            let title = match &i.link {
                Some(l) if l.starts_with("/console/") => format!("<a href=\"{}\">{}</a>", esc(l), esc(&i.title)),
                _ => esc(&i.title),
            };
            let state_cell = match i.read_at {
                Some(_) => "<span class=\"muted\">已读</span>".to_string(),
                None => format!(
                    "<form class=\"inline\" method=\"post\" action=\"/console/inbox/{}/read\"><input type=\"hidden\" name=\"csrf\" value=\"{csrf}\"><button type=\"submit\">标为已读</button></form>",
                    i.id
                ),
            };
            out.push_str(&format!(
                "<tr{}><td>{}</td><td>{title}</td><td>{}</td><td>{state_cell}</td></tr>",
                if i.read_at.is_none() { " class=\"unread\"" } else { "" },
                i.created_at.format("%Y-%m-%d %H:%M UTC"),
                esc(&i.body)
            ));
        }
        out.push_str("</table>");
    }
    html(StatusCode::OK).body(page("收件箱", Some(&s.viewer()), &out))
}

/// `POST /console/inbox/{id}/read`.
pub(super) async fn read(
    state: web::Data<AppState>,
    req: HttpRequest,
    id: web::Path<i32>,
    form: web::Form<CsrfForm>,
) -> HttpResponse {
    let s = match require_form(&state, &req, &form.csrf).await {
        Ok(s) => s,
        Err(r) => return r,
    };
    match inbox::mark_read(&state, &s.ctx, *id).await {
        Ok(()) => see_other("/console/inbox"),
        Err(e) => error_page(&e, Some(&s.viewer())),
    }
}

/// `POST /console/inbox/read-all`.
pub(super) async fn read_all(state: web::Data<AppState>, req: HttpRequest, form: web::Form<CsrfForm>) -> HttpResponse {
    let s = match require_form(&state, &req, &form.csrf).await {
        Ok(s) => s,
        Err(r) => return r,
    };
    match inbox::mark_all_read(&state, &s.ctx).await {
        Ok(_) => see_other("/console/inbox"),
        Err(e) => error_page(&e, Some(&s.viewer())),
    }
}
