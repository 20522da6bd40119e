//! 暂缓: the holds in force in a community (what keeps units or bills out of reminders), each with
//! its reason, end date and who set it, linked to its unit — the list behind 总览's count.
use super::{community_names, community_options, pager, require_signed};
use crate::domain::text::esc;
use crate::error::ApiError;
use crate::services::access::staff::actor_names;
use crate::services::collection::holds::{list_holds, HoldQuery};
use crate::services::setup::units::labels;
use crate::state::AppState;
use actix_web::{web, HttpRequest, HttpResponse};
use serde::Deserialize;

#[derive(Deserialize)]
pub(super) struct HoldsQuery {
    community_id: Option<i32>,
    page: Option<u64>,
}

/// `GET /console/holds`.
pub(super) async fn list(state: web::Data<AppState>, req: HttpRequest, q: web::Query<HoldsQuery>) -> HttpResponse {
    let s = match require_signed(&state, &req).await {
        Ok(s) => s,
        Err(r) => return r,
    };
    let body = async {
        let names = community_names(&state, &s.ctx).await?;
        let Some(community) = super::shown_community(q.community_id, &names) else {
            return Ok("<h1>暂缓催缴</h1><p>您还没有负责的小区。</p>".to_string());
        };
        let holds = list_holds(
            &state,
            &s.ctx,
            HoldQuery {
                community_id: Some(community),
                unit_id: None,
                page: q.page,
                per_page: Some(50),
            },
        )
        .await?;
        let actors: Vec<&str> = holds.items.iter().map(|h| h.created_by.as_str()).collect();
        let who = actor_names(&state, &actors).await?;
        let mut out = format!(
            "<h1>暂缓催缴</h1><form class=\"inline\" method=\"get\" action=\"/console/holds\">\
             <label for=\"community_id\">小区<select id=\"community_id\" name=\"community_id\">{}</select></label>\
             <button type=\"submit\">查看</button></form><p class=\"muted\">生效中的暂缓：期间不发催缴提醒、暂停跟进任务；在房屋页面设置或提前结束。</p>",
            community_options(&names, Some(community), None)
        );
        if holds.items.is_empty() {
            out.push_str("<p id=\"no-holds\">没有生效中的暂缓。</p>");
        } else {
            out.push_str("<table id=\"holds\"><tr><th>房屋</th><th>范围</th><th>原因</th><th>截至</th><th>设置人</th></tr>");
            let ids: Vec<i32> = holds.items.iter().filter_map(|h| h.unit_id).collect();
            let labels = labels(&state, &s.ctx, &ids).await?;
            for h in &holds.items {
                let unit = match h.unit_id.and_then(|id| labels.get(&id).map(|l| (id, l))) {
                    Some((id, label)) => format!("<a href=\"/console/units/{id}\">{}</a>", esc(label)),
                    None => "—".to_string(),
                };
                out.push_str(&format!(
                    "<tr><td>{unit}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
                    h.bill_id.map_or("整户".to_string(), |b| format!("账单 {b}")),
                    esc(&h.reason),
                    h.until,
                    esc(who.get(&h.created_by).map_or(h.created_by.as_str(), String::as_str))
                ));
            }
            out.push_str("</table>");
        }
        out.push_str(&pager(
            "/console/holds",
            &[("community_id", community.to_string())],
            holds.total,
            holds.page,
            holds.per_page,
            "项",
        ));
        Ok::<_, ApiError>(out)
    }
    .await;
    s.respond("暂缓催缴", body)
}
