//! 分期申请: a community's installment requests and plans for finance, with the approve and reject
//! forms of each request. All through `services::plans::installments`, which checks roles, scopes
//! and that the bills still owe what the request covers; a refusal is shown on the page.
use super::{community_names, community_options, require_form, require_signed, Signed};
use crate::domain::role::Action;
use crate::domain::text::esc;
use crate::error::ApiError;
use crate::services::plans::installments::{self, PlanQuery, PlanView, Rejection};
use crate::state::AppState;
use actix_web::{web, HttpRequest, HttpResponse};
use serde::Deserialize;

const TITLE: &str = "分期申请";

#[derive(Deserialize)]
pub(super) struct ShowQuery {
    community_id: Option<i32>,
}

fn row(p: &PlanView, csrf: &str) -> String {
    let schedule: Vec<String> = p
        .schedule
        .iter()
        .map(|i| {
            let paid = match i.bill_status.as_deref() {
                Some("paid") => "（已缴）",
                Some("unpaid") => "（待缴）",
                Some("cancelled") => "（已取消）",
                Some("rescheduled") => "（已转回原账单）",
                _ => "",
            };
            format!("第{}期 {} ¥{}{paid}", i.seq, i.due_date, esc(&i.amount))
        })
        .collect();
    let bills: Vec<String> = p
        .bills
        .iter()
        .map(|b| format!("{} {} ¥{}", esc(&b.period), esc(&b.fee_item), esc(&b.principal)))
        .collect();
    let act = if p.status == "requested" {
        let head = format!(
            "<input type=\"hidden\" name=\"csrf\" value=\"{}\"><input type=\"hidden\" name=\"community_id\" value=\"{}\">",
            esc(csrf),
            p.community_id
        );
        format!(
            "<form class=\"approve\" method=\"post\" action=\"/console/installments/{id}/approve\">{head}\
             <button type=\"submit\">批准</button></form>\
             <form class=\"reject\" method=\"post\" action=\"/console/installments/{id}/reject\">{head}\
             <label for=\"reject-reason-{id}\">不批准的原因<input id=\"reject-reason-{id}\" name=\"reason\" maxlength=\"200\" required></label>\
             <button type=\"submit\">不批准</button></form>",
            id = p.id
        )
    } else {
        esc(p.end_reason.as_deref().or(p.decision_reason.as_deref()).unwrap_or(""))
    };
    format!(
        "<tr id=\"plan-{pid}\" data-plan-id=\"{pid}\"><td><a href=\"/console/units/{}\">{}</a></td><td>{}</td><td class=\"num\">{}</td>\
         <td class=\"num\">{}</td><td>{}期：{}</td><td class=\"pre\">{}</td><td>{}</td><td>{}</td><td>{act}</td></tr>",
        p.unit_id,
        esc(&p.unit),
        bills.join("<br>"),
        esc(&p.principal),
        esc(&p.late_fee),
        p.months,
        schedule.join("，"),
        esc(p.reason.as_deref().unwrap_or("")),
        p.created_at.format("%Y-%m-%d %H:%M UTC"),
        esc(&p.status_label),
        pid = p.id,
    )
}

async fn body(
    state: &AppState,
    s: &Signed,
    community_id: Option<i32>,
    refused: Option<String>,
) -> Result<String, ApiError> {
    s.ctx.require(Action::ManageBilling)?;
    let names = community_names(state, &s.ctx).await?;
    let Some(community) = super::shown_community(community_id, &names) else {
        return Ok(format!("<h1>{TITLE}</h1><p>您还没有负责的小区。</p>"));
    };
    let plans = installments::list(
        state,
        &s.ctx,
        PlanQuery {
            community_id: community,
            status: None,
        },
    )
    .await?;
    let mut out = format!(
        "<h1>{TITLE}</h1><form class=\"inline\" method=\"get\" action=\"/console/installments\">\
         <label for=\"community_id\">小区<select id=\"community_id\" name=\"community_id\">{}</select></label>\
         <button type=\"submit\">查看</button></form>\
         <p class=\"muted\">业主在小程序申请的分期缴费。批准时生成分期协议文本，由业主在小程序确认；不批准须写明原因，业主会看到。\
         申请后账单如有缴费或调整，须由业主重新申请。业主确认后原账单转入分期（滞纳金冻结），每月一期分期账单；\
         全部按期缴清则免除冻结的滞纳金，任一期逾期超过宽限日则协议终止、原账单恢复。</p>",
        community_options(&names, Some(community), None)
    );
    if let Some(r) = refused {
        out.push_str(&r);
    }
    if plans.is_empty() {
        out.push_str("<p id=\"no-plans\">该小区还没有分期申请。</p>");
    } else {
        out.push_str(
            "<table id=\"plans\"><tr><th>房屋</th><th>账单</th><th class=\"num\">本金(元)</th><th class=\"num\">滞纳金(元)</th>\
             <th>分期</th><th>业主说明</th><th>申请时间</th><th>状态</th><th>审批或结果</th></tr>",
        );
        for p in &plans {
            out.push_str(&row(p, &s.csrf));
        }
        out.push_str("</table>");
    }
    Ok(out)
}

/// `GET /console/installments?community_id=`.
pub(super) async fn show(state: web::Data<AppState>, req: HttpRequest, q: web::Query<ShowQuery>) -> HttpResponse {
    let s = match require_signed(&state, &req).await {
        Ok(s) => s,
        Err(r) => return r,
    };
    s.respond(TITLE, body(&state, &s, q.community_id, None).await)
}

#[derive(Deserialize)]
pub(super) struct DecideForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    community_id: String,
    #[serde(default)]
    reason: String,
}

/// `POST /console/installments/{id}/approve`.
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
    let community_id = form.community_id.trim().parse().ok();
    let done = installments::approve(&state, &s.ctx, *id).await;
    let back = |p: &PlanView| format!("/console/installments?community_id={}#plan-{}", p.community_id, p.id);
    let again = |r| body(&state, &s, community_id, Some(r));
    super::after_form(&s, TITLE, done, back, again).await
}

/// `POST /console/installments/{id}/reject`.
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
    let form = form.into_inner();
    let community_id = form.community_id.trim().parse().ok();
    let done = installments::reject(&state, &s.ctx, *id, Rejection { reason: form.reason }).await;
    let back = |p: &PlanView| format!("/console/installments?community_id={}#plan-{}", p.community_id, p.id);
    let again = |r| body(&state, &s, community_id, Some(r));
    super::after_form(&s, TITLE, done, back, again).await
}
