//! 风险预警: a community's risk watch list for staff — each owner with the score, the reasons behind
//! every point and the suggested action, highest first, linked to their unit. Read-only
//! (`services::reports::watch_list`); owners never see it.
use super::{community_names, community_options, require_signed, Signed};
use crate::domain::role::Action;
use crate::domain::text::esc;
use crate::error::ApiError;
use crate::services::reports::watch_list::{self, WatchQuery};
use crate::state::AppState;
use actix_web::{web, HttpRequest, HttpResponse};
use serde::Deserialize;

const TITLE: &str = "风险预警";

#[derive(Deserialize)]
pub(super) struct ShowQuery {
    community_id: Option<i32>,
}

async fn body(state: &AppState, s: &Signed, community_id: Option<i32>) -> Result<String, ApiError> {
    s.ctx.require(Action::ReadReports)?;
    let names = community_names(state, &s.ctx).await?;
    let Some(community) = super::shown_community(community_id, &names) else {
        return Ok(format!("<h1>{TITLE}</h1><p>您还没有负责的小区。</p>"));
    };
    let list = watch_list::watch_list(
        state,
        &s.ctx,
        WatchQuery {
            community_id: community,
        },
    )
    .await?;
    let mut out = format!(
        "<h1>{TITLE}</h1><form class=\"inline\" method=\"get\" action=\"/console/watch-list\">\
         <label for=\"community_id\">小区<select id=\"community_id\" name=\"community_id\">{}</select></label>\
         <button type=\"submit\">查看</button></form>\
         <p class=\"muted\">根据业主自己的缴费记录、未解决的投诉报修、扣款失败和分期违约给出的提示分（满分100），每一分都有原因。\
         仅供员工提前联系、提供分期或了解困难之用，不向业主展示，不影响任何金额。</p>",
        community_options(&names, Some(community), None)
    );
    if list.is_empty() {
        out.push_str("<p id=\"no-risk\">目前没有需要关注的业主。</p>");
        return Ok(out);
    }
    out.push_str("<table id=\"watch-list\"><tr><th>业主</th><th>房屋</th><th class=\"num\">提示分</th><th>原因</th><th>建议</th></tr>");
    for w in &list {
        let reasons: Vec<String> = w
            .reasons
            .iter()
            .map(|r| format!("{}（{}分）", esc(&r.text), r.points))
            .collect();
        out.push_str(&format!(
            "<tr data-owner-id=\"{}\"><td>{}</td><td>{}</td><td class=\"num\">{}</td><td>{}</td><td>{}</td></tr>",
            w.owner_id,
            esc(&w.owner),
            esc(&w.units.join("、")),
            w.score,
            reasons.join("<br>"),
            esc(&w.action_label)
        ));
    }
    out.push_str("</table>");
    Ok(out)
}

/// `GET /console/watch-list?community_id=`.
pub(super) async fn show(state: web::Data<AppState>, req: HttpRequest, q: web::Query<ShowQuery>) -> HttpResponse {
    let s = match require_signed(&state, &req).await {
        Ok(s) => s,
        Err(r) => return r,
    };
    s.respond(TITLE, body(&state, &s, q.community_id).await)
}
