//! 欠费公示: the public arrears notice of a community as it would print today (masked unit codes
//! and amounts only), its legal review — which admins record or withdraw here — and the print
//! link, which works only once reviewed and records each print. All through
//! `services::collection::arrears_notice`.
use super::{community_names, community_options, require_form, require_signed, Signed};
use crate::domain::role::{Action, Role};
use crate::domain::text::esc;
use crate::error::ApiError;
use crate::services::collection::arrears_notice::{self, NoticeQuery, ReviewBody};
use crate::state::AppState;
use actix_web::{web, HttpRequest, HttpResponse};
use serde::Deserialize;

const TITLE: &str = "欠费公示";

#[derive(Deserialize)]
pub(super) struct ShowQuery {
    community_id: Option<i32>,
}

async fn body(
    state: &AppState,
    s: &Signed,
    community_id: Option<i32>,
    refused: Option<String>,
) -> Result<String, ApiError> {
    s.ctx.require(Action::ReadReports)?;
    let names = community_names(state, &s.ctx).await?;
    let Some(community) = super::shown_community(community_id, &names) else {
        return Ok(format!("<h1>{TITLE}</h1><p>您还没有负责的小区。</p>"));
    };
    let n = arrears_notice::notice(
        state,
        &s.ctx,
        NoticeQuery {
            community_id: community,
        },
    )
    .await?;
    let mut out = format!(
        "<h1>{TITLE}</h1><form class=\"inline\" method=\"get\" action=\"/console/arrears-notice\">\
         <label for=\"community_id\">小区<select id=\"community_id\" name=\"community_id\">{}</select></label>\
         <button type=\"submit\">查看</button></form>\
         <p class=\"muted\">截至{}欠费超过{}日的房屋，房号隐去后两位，不含姓名与电话；有账单异议、分期或困难减免的房屋不列入。须经管理员确认法律审核后方可打印，每次打印均留档。</p>",
        community_options(&names, Some(community), None),
        n.as_of,
        n.min_days
    );
    if let Some(r) = refused {
        out.push_str(&r);
    }
    let admin = Role::parse(s.ctx.role.as_str()).is_some_and(|r| r.may(Action::ManageCommunities));
    let hidden = format!(
        "<input type=\"hidden\" name=\"csrf\" value=\"{}\"><input type=\"hidden\" name=\"community_id\" value=\"{community}\">",
        esc(&s.csrf)
    );
    match &n.review {
        Some(r) => {
            out.push_str(&format!(
                "<p id=\"review\" class=\"ok\">已审核：{}（{}，{}）</p><p><a id=\"print\" href=\"/console/arrears-notice/print?community_id={community}\" target=\"_blank\">打印公示</a></p>",
                esc(&r.note),
                esc(&r.reviewed_by),
                r.reviewed_at.format("%Y-%m-%d %H:%M UTC")
            ));
            if admin {
                out.push_str(&format!(
                    "<form class=\"inline\" method=\"post\" action=\"/console/arrears-notice/withdraw\">{hidden}<button type=\"submit\">撤销审核</button></form>"
                ));
            }
        }
        None => {
            out.push_str("<p id=\"review\" class=\"error\">尚未经法律审核，不能打印。</p>");
            if admin {
                out.push_str(&format!(
                    "<form class=\"inline\" method=\"post\" action=\"/console/arrears-notice/review\">{hidden}\
                     <label for=\"note\">审核说明<input id=\"note\" name=\"note\" maxlength=\"200\" required></label>\
                     <button type=\"submit\">确认已审核</button></form>"
                ));
            }
        }
    }
    if n.lines.is_empty() {
        out.push_str("<p id=\"no-lines\">没有需要公示的欠费。</p>");
    } else {
        let rows: String = n
            .lines
            .iter()
            .map(|l| {
                format!(
                    "<tr><td>{}</td><td class=\"num\">{}</td></tr>",
                    esc(&l.unit),
                    esc(&l.amount)
                )
            })
            .collect();
        out.push_str(&format!(
            "<table id=\"lines\"><tr><th>房号</th><th class=\"num\">欠费金额(元)</th></tr>{rows}\
             <tr><th>合计</th><th class=\"num\">{}</th></tr></table>",
            esc(&n.total)
        ));
    }
    Ok(out)
}

/// `GET /console/arrears-notice?community_id=`.
pub(super) async fn show(state: web::Data<AppState>, req: HttpRequest, q: web::Query<ShowQuery>) -> HttpResponse {
    let s = match require_signed(&state, &req).await {
        Ok(s) => s,
        Err(r) => return r,
    };
    s.respond(TITLE, body(&state, &s, q.community_id, None).await)
}

/// `GET /console/arrears-notice/print?community_id=`: the printable notice (recorded).
pub(super) async fn print(state: web::Data<AppState>, req: HttpRequest, q: web::Query<ShowQuery>) -> HttpResponse {
    let s = match require_signed(&state, &req).await {
        Ok(s) => s,
        Err(r) => return r,
    };
    let Some(community_id) = q.community_id else {
        return super::page::error_page(&ApiError::NotFound, Some(&s.viewer()));
    };
    match arrears_notice::print_html(&state, &s.ctx, NoticeQuery { community_id }).await {
        Ok(page) => super::page::html(actix_web::http::StatusCode::OK).body(page),
        Err(e) => super::page::error_page(&e, Some(&s.viewer())),
    }
}

#[derive(Deserialize)]
pub(super) struct ReviewForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    community_id: String,
    #[serde(default)]
    note: String,
}

/// `POST /console/arrears-notice/review` (admins).
pub(super) async fn review(state: web::Data<AppState>, req: HttpRequest, form: web::Form<ReviewForm>) -> HttpResponse {
    let s = match require_form(&state, &req, &form.csrf).await {
        Ok(s) => s,
        Err(r) => return r,
    };
    let form = form.into_inner();
    let community_id: Option<i32> = form.community_id.trim().parse().ok();
    let done = arrears_notice::set_review(
        &state,
        &s.ctx,
        community_id.unwrap_or_default(),
        ReviewBody { note: form.note },
    )
    .await;
    let back = |_: &_| {
        format!(
            "/console/arrears-notice?community_id={}",
            community_id.unwrap_or_default()
        )
    };
    let again = |r| body(&state, &s, community_id, Some(r));
    super::after_form(&s, TITLE, done, back, again).await
}

/// `POST /console/arrears-notice/withdraw` (admins).
pub(super) async fn withdraw(
    state: web::Data<AppState>,
    req: HttpRequest,
    form: web::Form<ReviewForm>,
) -> HttpResponse {
    let s = match require_form(&state, &req, &form.csrf).await {
        Ok(s) => s,
        Err(r) => return r,
    };
    let community_id: Option<i32> = form.community_id.trim().parse().ok();
    let done = arrears_notice::withdraw_review(&state, &s.ctx, community_id.unwrap_or_default()).await;
    let back = |_: &()| {
        format!(
            "/console/arrears-notice?community_id={}",
            community_id.unwrap_or_default()
        )
    };
    let again = |r| body(&state, &s, community_id, Some(r));
    super::after_form(&s, TITLE, done, back, again).await
}
