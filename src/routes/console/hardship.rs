//! 困难减免: a community's hardship cases for finance — each request with its evidence photos and
//! the approve (reduction or deferral, window, reason) and reject forms; approved cases with the
//! bills they relieved; ended cases with the review form. All through `services::plans::hardship`,
//! which checks roles, scopes and terms; a refusal is shown on the page.
use super::page::error_page;
use super::{community_names, community_options, require_form, require_signed, Signed};
use crate::domain::role::Action;
use crate::domain::text::esc;
use crate::error::ApiError;
use crate::services::plans::hardship::{self, CaseQuery, CaseView, Decision, Note};
use crate::state::AppState;
use actix_web::{web, HttpRequest, HttpResponse};
use chrono::NaiveDate;
use serde::Deserialize;

const TITLE: &str = "困难减免";

#[derive(Deserialize)]
pub(super) struct ShowQuery {
    community_id: Option<i32>,
}

fn hidden(csrf: &str, community_id: i32) -> String {
    format!(
        "<input type=\"hidden\" name=\"csrf\" value=\"{}\"><input type=\"hidden\" name=\"community_id\" value=\"{community_id}\">",
        esc(csrf)
    )
}

/// What finance can do with a case now.
fn actions(c: &CaseView, csrf: &str) -> String {
    let head = hidden(csrf, c.community_id);
    let id = c.id;
    match c.status.as_str() {
        "requested" => format!(
            "<form class=\"approve\" method=\"post\" action=\"/console/hardship/{id}/approve\">{head}\
             <label for=\"relief-{id}\">方式<select id=\"relief-{id}\" name=\"relief\"><option value=\"reduction\">按比例减免</option>\
             <option value=\"deferral\">缓缴</option></select></label>\
             <label for=\"percent-{id}\">减免比例(%)<input id=\"percent-{id}\" name=\"percent\" inputmode=\"decimal\"></label>\
             <label for=\"defer-to-{id}\">缓缴至<input id=\"defer-to-{id}\" name=\"defer_to\" type=\"date\"></label>\
             <label for=\"starts-on-{id}\">到期日自<input id=\"starts-on-{id}\" name=\"starts_on\" type=\"date\" required></label>\
             <label for=\"ends-on-{id}\">至<input id=\"ends-on-{id}\" name=\"ends_on\" type=\"date\" required></label>\
             <label for=\"approve-reason-{id}\">批准理由<input id=\"approve-reason-{id}\" name=\"reason\" maxlength=\"200\" required></label>\
             <button type=\"submit\">批准</button></form>\
             <form class=\"reject\" method=\"post\" action=\"/console/hardship/{id}/reject\">{head}\
             <label for=\"reject-reason-{id}\">不批准的原因<input id=\"reject-reason-{id}\" name=\"reason\" maxlength=\"200\" required></label>\
             <button type=\"submit\">不批准</button></form>"
        ),
        "ended" if c.reviewed_at.is_none() => format!(
            "<form class=\"review\" method=\"post\" action=\"/console/hardship/{id}/review\">{head}\
             <label for=\"review-note-{id}\">复核情况<input id=\"review-note-{id}\" name=\"reason\" maxlength=\"200\" required></label>\
             <button type=\"submit\">复核</button></form>"
        ),
        _ => esc(
            c.review_note
                .as_deref()
                .or(c.decision_reason.as_deref())
                .unwrap_or(""),
        ),
    }
}

fn row(c: &CaseView, csrf: &str) -> String {
    let photos: Vec<String> = c
        .photo_ids
        .iter()
        .map(|p| {
            format!(
                "<a href=\"/console/hardship/{}/photos/{p}\" target=\"_blank\">照片{p}</a>",
                c.id
            )
        })
        .collect();
    let bills: Vec<String> = c
        .bills
        .iter()
        .map(|b| match b.deferred_from {
            Some(from) => format!("{} {from}→{}", esc(&b.period), b.due_date),
            None => format!("{} 减¥{}", esc(&b.period), esc(&b.reduced)),
        })
        .collect();
    format!(
        "<tr id=\"case-{id}\" data-case-id=\"{id}\"><td><a href=\"/console/units/{}\">{}</a></td><td>{}</td><td class=\"pre\">{}</td>\
         <td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
        c.unit_id,
        esc(&c.unit),
        esc(&c.category_label),
        esc(&c.reason),
        photos.join(" "),
        esc(c.relief_label.as_deref().unwrap_or("")),
        bills.join("<br>"),
        c.created_at.format("%Y-%m-%d %H:%M UTC"),
        esc(&c.status_label),
        actions(c, csrf),
        id = c.id,
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
    let cases = hardship::list(
        state,
        &s.ctx,
        CaseQuery {
            community_id: community,
            status: None,
        },
    )
    .await?;
    let mut out = format!(
        "<h1>{TITLE}</h1><form class=\"inline\" method=\"get\" action=\"/console/hardship\">\
         <label for=\"community_id\">小区<select id=\"community_id\" name=\"community_id\">{}</select></label>\
         <button type=\"submit\">查看</button></form>\
         <p class=\"muted\">低保、残疾、重病或突发困难的业主在小程序提交的申请与证明材料。批准时选择按比例减免或缓缴，并限定到期日范围（最长12个月）：\
         范围内已出和之后出的账单都会按此处理，期间暂停对该房屋的催缴；缓缴不中断诉讼时效，除非业主在小程序签署确认书。到期后进入复核。</p>",
        community_options(&names, Some(community), None)
    );
    if let Some(r) = refused {
        out.push_str(&r);
    }
    if cases.is_empty() {
        out.push_str("<p id=\"no-cases\">该小区还没有困难减免申请。</p>");
    } else {
        out.push_str(
            "<table id=\"cases\"><tr><th>房屋</th><th>类别</th><th>业主说明</th><th>证明材料</th><th>减免或缓缴</th>\
             <th>已处理账单</th><th>申请时间</th><th>状态</th><th>审核、复核或结果</th></tr>",
        );
        for c in &cases {
            out.push_str(&row(c, &s.csrf));
        }
        out.push_str("</table>");
    }
    Ok(out)
}

/// `GET /console/hardship?community_id=`.
pub(super) async fn show(state: web::Data<AppState>, req: HttpRequest, q: web::Query<ShowQuery>) -> HttpResponse {
    let s = match require_signed(&state, &req).await {
        Ok(s) => s,
        Err(r) => return r,
    };
    s.respond(TITLE, body(&state, &s, q.community_id, None).await)
}

#[derive(Deserialize)]
pub(super) struct CaseForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    community_id: String,
    #[serde(default)]
    reason: String,
    #[serde(default)]
    relief: String,
    #[serde(default)]
    percent: String,
    #[serde(default)]
    defer_to: String,
    #[serde(default)]
    starts_on: String,
    #[serde(default)]
    ends_on: String,
}

/// A date field of the form: empty is absent; anything else must be a date.
fn date_field(raw: &str, field: &str) -> Result<Option<NaiveDate>, ApiError> {
    let raw = raw.trim();
    if raw.is_empty() {
        return Ok(None);
    }
    crate::domain::period::parse_date(raw)
        .map(Some)
        .map_err(|m| ApiError::field(field, m))
}

fn decision(form: &CaseForm) -> Result<Decision, ApiError> {
    let required = |d: Option<NaiveDate>, field: &str| d.ok_or_else(|| ApiError::field(field, "请填写日期"));
    Ok(Decision {
        relief: form.relief.trim().to_string(),
        percent: Some(form.percent.trim().to_string()).filter(|p| !p.is_empty()),
        defer_to: date_field(&form.defer_to, "defer_to")?,
        starts_on: required(date_field(&form.starts_on, "starts_on")?, "starts_on")?,
        ends_on: required(date_field(&form.ends_on, "ends_on")?, "ends_on")?,
        reason: form.reason.clone(),
    })
}

/// `GET /console/hardship/{id}/photos/{upload_id}`: an evidence photo, for those who decide.
pub(super) async fn photo(state: web::Data<AppState>, req: HttpRequest, path: web::Path<(i32, i32)>) -> HttpResponse {
    let s = match require_signed(&state, &req).await {
        Ok(s) => s,
        Err(r) => return r,
    };
    let (id, upload_id) = path.into_inner();
    match hardship::photo_for_staff(&state, &s.ctx, id, upload_id).await {
        Ok(p) => crate::routes::uploads::serve(p),
        Err(e) => error_page(&e, Some(&s.viewer())),
    }
}

/// `POST /console/hardship/{id}/approve`.
pub(super) async fn approve(
    state: web::Data<AppState>,
    req: HttpRequest,
    id: web::Path<i32>,
    form: web::Form<CaseForm>,
) -> HttpResponse {
    let s = match require_form(&state, &req, &form.csrf).await {
        Ok(s) => s,
        Err(r) => return r,
    };
    let community_id = form.community_id.trim().parse().ok();
    let done = match decision(&form) {
        Ok(d) => hardship::approve(&state, &s.ctx, *id, d).await,
        Err(e) => Err(e),
    };
    let back = |c: &CaseView| format!("/console/hardship?community_id={}#case-{}", c.community_id, c.id);
    let again = |r| body(&state, &s, community_id, Some(r));
    super::after_form(&s, TITLE, done, back, again).await
}

/// `POST /console/hardship/{id}/reject`.
pub(super) async fn reject(
    state: web::Data<AppState>,
    req: HttpRequest,
    id: web::Path<i32>,
    form: web::Form<CaseForm>,
) -> HttpResponse {
    let s = match require_form(&state, &req, &form.csrf).await {
        Ok(s) => s,
        Err(r) => return r,
    };
    let form = form.into_inner();
    let community_id = form.community_id.trim().parse().ok();
    let done = hardship::reject(&state, &s.ctx, *id, Note { reason: form.reason }).await;
    let back = |c: &CaseView| format!("/console/hardship?community_id={}#case-{}", c.community_id, c.id);
    let again = |r| body(&state, &s, community_id, Some(r));
    super::after_form(&s, TITLE, done, back, again).await
}

/// `POST /console/hardship/{id}/review`.
pub(super) async fn review(
    state: web::Data<AppState>,
    req: HttpRequest,
    id: web::Path<i32>,
    form: web::Form<CaseForm>,
) -> HttpResponse {
    let s = match require_form(&state, &req, &form.csrf).await {
        Ok(s) => s,
        Err(r) => return r,
    };
    let form = form.into_inner();
    let community_id = form.community_id.trim().parse().ok();
    let done = hardship::review(&state, &s.ctx, *id, Note { reason: form.reason }).await;
    let back = |c: &CaseView| format!("/console/hardship?community_id={}#case-{}", c.community_id, c.id);
    let again = |r| body(&state, &s, community_id, Some(r));
    super::after_form(&s, TITLE, done, back, again).await
}
