//! 财务公开: a community's published monthly income and expense reports (every version) with the
//! recent months that have none, and a form to publish a month — one amount per category; blank
//! means none. Attachments are added through the API (`upload_ids`). All through
//! `services::transparency`; a refusal is shown on the page.
use super::{community_names, community_options, require_form, require_signed, Signed};
use crate::domain::role::Action;
use crate::domain::text::esc;
use crate::domain::transparency::CATEGORIES;
use crate::error::ApiError;
use crate::services::transparency::{self, NewLine, NewReport, ReportView};
use crate::state::AppState;
use actix_web::{web, HttpRequest, HttpResponse};
use serde::Deserialize;
use std::collections::HashMap;

const TITLE: &str = "财务公开";

#[derive(Deserialize)]
pub(super) struct ShowQuery {
    community_id: Option<i32>,
}

fn report(r: &ReportView) -> String {
    let lines: String = r
        .lines
        .iter()
        .map(|l| {
            format!(
                "<tr><td>{}</td><td>{}</td><td class=\"num\">{}</td><td>{}</td></tr>",
                if l.kind == "income" { "收入" } else { "支出" },
                esc(&l.category_label),
                esc(&l.amount),
                esc(l.note.as_deref().unwrap_or(""))
            )
        })
        .collect();
    format!(
        "<h2 id=\"report-{}\">{} 第{}版（{}发布）</h2><p>{}</p><table><tr><th>收支</th><th>类别</th><th class=\"num\">金额(元)</th><th>说明</th></tr>{lines}\
         <tr><th colspan=\"2\">收入合计 / 支出合计 / 结余</th><th class=\"num\">{} / {} / {}</th><th>附件{}个</th></tr></table>",
        r.id,
        esc(&r.period),
        r.version,
        r.published_at.format("%Y-%m-%d"),
        esc(r.summary.as_deref().unwrap_or("")),
        esc(&r.income),
        esc(&r.expense),
        esc(&r.balance),
        r.attachment_ids.len()
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
    let p = transparency::publication(state, &s.ctx, community).await?;
    let inputs: String = CATEGORIES
        .iter()
        .map(|(key, kind, label)| {
            format!(
                "<label for=\"amount-{key}\">{}·{label}<input id=\"amount-{key}\" name=\"amount_{key}\" inputmode=\"decimal\"></label>",
                if *kind == entity::states::LineKind::Income { "收入" } else { "支出" }
            )
        })
        .collect();
    let mut out = format!(
        "<h1>{TITLE}</h1><form class=\"inline\" method=\"get\" action=\"/console/finance-reports\">\
         <label for=\"community_id\">小区<select id=\"community_id\" name=\"community_id\">{}</select></label>\
         <button type=\"submit\">查看</button></form>\
         <p id=\"missing\">{}</p>",
        community_options(&names, Some(community), None),
        if p.missing.is_empty() {
            "近12个月均已公布。".to_string()
        } else {
            format!("近12个月未公布：{}", p.missing.join("、"))
        }
    );
    if let Some(r) = refused {
        out.push_str(&r);
    }
    out.push_str(&format!(
        "<h2>公布月度收支</h2><form class=\"inline\" method=\"post\" action=\"/console/finance-reports/publish\">\
         <input type=\"hidden\" name=\"csrf\" value=\"{}\"><input type=\"hidden\" name=\"community_id\" value=\"{community}\">\
         <label for=\"period\">月份<input id=\"period\" name=\"period\" placeholder=\"2026-10\" required></label>\
         <label for=\"summary\">说明<input id=\"summary\" name=\"summary\" maxlength=\"500\"></label>{inputs}\
         <button type=\"submit\">公布</button></form><p class=\"muted\">已公布的报告不能修改；再次公布同一月份即为更正（新版本），业主看到最新版本。</p>",
        esc(&s.csrf)
    ));
    if p.reports.is_empty() {
        out.push_str("<p id=\"no-reports\">尚未公布任何月份。</p>");
    }
    for r in &p.reports {
        out.push_str(&report(r));
    }
    Ok(out)
}

/// `GET /console/finance-reports?community_id=`.
pub(super) async fn show(state: web::Data<AppState>, req: HttpRequest, q: web::Query<ShowQuery>) -> HttpResponse {
    let s = match require_signed(&state, &req).await {
        Ok(s) => s,
        Err(r) => return r,
    };
    s.respond(TITLE, body(&state, &s, q.community_id, None).await)
}

/// `POST /console/finance-reports/publish`: one line per category given an amount.
pub(super) async fn publish(
    state: web::Data<AppState>,
    req: HttpRequest,
    form: web::Form<HashMap<String, String>>,
) -> HttpResponse {
    let form = form.into_inner();
    let field = |k: &str| form.get(k).map(|v| v.trim().to_string()).unwrap_or_default();
    let s = match require_form(&state, &req, &field("csrf")).await {
        Ok(s) => s,
        Err(r) => return r,
    };
    let community_id: Option<i32> = field("community_id").parse().ok();
    let lines: Vec<NewLine> = CATEGORIES
        .iter()
        .filter_map(|(key, _, _)| {
            let amount = field(&format!("amount_{key}"));
            (!amount.is_empty()).then(|| NewLine {
                category: key.to_string(),
                amount,
                note: None,
            })
        })
        .collect();
    let body_in = NewReport {
        period: field("period"),
        summary: Some(field("summary")).filter(|s| !s.is_empty()),
        lines,
        upload_ids: Vec::new(),
    };
    let done = transparency::publish(&state, &s.ctx, community_id.unwrap_or_default(), body_in).await;
    let back = |r: &ReportView| {
        format!(
            "/console/finance-reports?community_id={}#report-{}",
            r.community_id, r.id
        )
    };
    let again = |r| body(&state, &s, community_id, Some(r));
    super::after_form(&s, TITLE, done, back, again).await
}
