//! 空置房优惠: a community's vacancy policy (form) and applications for finance — each with the
//! inspection's finding, note and photos, the approve and reject forms once inspected, the bills
//! discounted and why an application ended. Inspections themselves are recorded with photos from
//! the staff app (`POST /staff/vacancy-applications/{id}/inspection`). All through
//! `services::plans::vacancy`; a refusal is shown on the page.
use super::page::error_page;
use super::{community_names, community_options, require_form, require_signed, Signed};
use crate::domain::role::Action;
use crate::domain::text::esc;
use crate::error::ApiError;
use crate::services::plans::vacancy::{self, ApplicationQuery, ApplicationView, PolicyBody, Reasoned};
use crate::state::AppState;
use actix_web::{web, HttpRequest, HttpResponse};
use serde::Deserialize;

const TITLE: &str = "空置房优惠";

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

fn row(a: &ApplicationView, csrf: &str) -> String {
    let id = a.id;
    let photos: Vec<String> = a
        .photo_ids
        .iter()
        .map(|p| format!("<a href=\"/console/vacancy/{id}/photos/{p}\" target=\"_blank\">照片{p}</a>"))
        .collect();
    let inspection = match (a.vacant, a.inspected_at) {
        (Some(v), Some(at)) => format!(
            "{}（{}）{} {}",
            if v { "确认空置" } else { "未空置" },
            at.format("%Y-%m-%d"),
            esc(a.inspection_note.as_deref().unwrap_or("")),
            photos.join(" ")
        ),
        _ => "待上门查验".into(),
    };
    let bills: Vec<String> = a
        .bills
        .iter()
        .map(|b| format!("{} 优惠¥{}", esc(&b.period), esc(&b.discount)))
        .collect();
    let head = hidden(csrf, a.community_id);
    let act = if a.status == "requested" {
        let approve = if a.vacant == Some(true) {
            format!(
                "<form class=\"approve\" method=\"post\" action=\"/console/vacancy/{id}/approve\">{head}\
                 <label for=\"approve-reason-{id}\">批准说明<input id=\"approve-reason-{id}\" name=\"reason\" maxlength=\"200\" required></label>\
                 <button type=\"submit\">批准</button></form>"
            )
        } else {
            String::new()
        };
        format!(
            "{approve}<form class=\"reject\" method=\"post\" action=\"/console/vacancy/{id}/reject\">{head}\
             <label for=\"reject-reason-{id}\">不批准的原因<input id=\"reject-reason-{id}\" name=\"reason\" maxlength=\"200\" required></label>\
             <button type=\"submit\">不批准</button></form>"
        )
    } else {
        esc(a.end_reason.as_deref().or(a.decision_reason.as_deref()).unwrap_or(""))
    };
    format!(
        "<tr id=\"application-{id}\"><td><a href=\"/console/units/{}\">{}</a></td><td>{}</td><td class=\"pre\">{}</td><td>{inspection}</td>\
         <td>{}</td><td>{}</td><td>{}</td><td>{act}</td></tr>",
        a.unit_id,
        esc(&a.unit),
        esc(&a.from),
        esc(a.reason.as_deref().unwrap_or("")),
        esc(a.terms.as_deref().unwrap_or("")),
        bills.join("<br>"),
        esc(&a.status_label),
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
    let current = match vacancy::get_policy(state, &s.ctx, community).await {
        Ok(p) => Some(p),
        Err(ApiError::NotFound) => None,
        Err(e) => return Err(e),
    };
    let apps = vacancy::list(
        state,
        &s.ctx,
        ApplicationQuery {
            community_id: community,
            status: None,
        },
    )
    .await?;
    let (percent, months) = current
        .as_ref()
        .map(|p| (p.percent.clone(), p.max_months_per_year.to_string()))
        .unwrap_or_default();
    let mut out = format!(
        "<h1>{TITLE}</h1><form class=\"inline\" method=\"get\" action=\"/console/vacancy\">\
         <label for=\"community_id\">小区<select id=\"community_id\" name=\"community_id\">{}</select></label>\
         <button type=\"submit\">查看</button></form>\
         <h2>优惠政策</h2><p id=\"policy\">{}</p>\
         <form class=\"inline\" method=\"post\" action=\"/console/vacancy/policy\">{}\
         <label for=\"percent\">物业服务费减免(%)<input id=\"percent\" name=\"percent\" value=\"{}\" inputmode=\"decimal\" required></label>\
         <label for=\"max-months\">每年最多(月)<input id=\"max-months\" name=\"max_months_per_year\" value=\"{}\" inputmode=\"numeric\" required></label>\
         <button type=\"submit\">保存政策</button></form>\
         <p class=\"muted\">业主在小程序申请后，须上门查验并拍照（员工端提交），确认空置才能批准。批准后自申请月份起至当年年底，按面积计费的物业服务费账单按政策优惠，\
         每套房每年累计不超过上限月数；用完、年底或业主告知入住即自动结束。</p>",
        community_options(&names, Some(community), None),
        match &current {
            Some(p) => format!("物业服务费减免{}%，每年最多{}个月", esc(&p.percent), p.max_months_per_year),
            None => "尚未设置：业主暂不能申请。".into(),
        },
        hidden(&s.csrf, community),
        esc(&percent),
        esc(&months),
    );
    if let Some(r) = refused {
        out.push_str(&r);
    }
    if apps.is_empty() {
        out.push_str("<p id=\"no-applications\">该小区还没有空置房优惠申请。</p>");
    } else {
        out.push_str(
            "<table id=\"applications\"><tr><th>房屋</th><th>自</th><th>业主说明</th><th>查验</th><th>政策</th>\
             <th>已优惠账单</th><th>状态</th><th>审批或结果</th></tr>",
        );
        for a in &apps {
            out.push_str(&row(a, &s.csrf));
        }
        out.push_str("</table>");
    }
    Ok(out)
}

/// `GET /console/vacancy?community_id=`.
pub(super) async fn show(state: web::Data<AppState>, req: HttpRequest, q: web::Query<ShowQuery>) -> HttpResponse {
    let s = match require_signed(&state, &req).await {
        Ok(s) => s,
        Err(r) => return r,
    };
    s.respond(TITLE, body(&state, &s, q.community_id, None).await)
}

#[derive(Deserialize)]
pub(super) struct VacancyForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    community_id: String,
    #[serde(default)]
    reason: String,
    #[serde(default)]
    percent: String,
    #[serde(default)]
    max_months_per_year: String,
}

/// `POST /console/vacancy/policy`.
pub(super) async fn set_policy(
    state: web::Data<AppState>,
    req: HttpRequest,
    form: web::Form<VacancyForm>,
) -> HttpResponse {
    let s = match require_form(&state, &req, &form.csrf).await {
        Ok(s) => s,
        Err(r) => return r,
    };
    let Some(community_id) = form.community_id.trim().parse().ok() else {
        return error_page(&ApiError::NotFound, Some(&s.viewer()));
    };
    let done = match form.max_months_per_year.trim().parse::<i64>() {
        Ok(max_months_per_year) => {
            let body = PolicyBody {
                percent: form.percent.trim().to_string(),
                max_months_per_year,
            };
            vacancy::put_policy(&state, &s.ctx, community_id, body).await
        }
        Err(_) => Err(ApiError::field("max_months_per_year", "每年优惠月数应为1到12")),
    };
    let back = |_: &PolicyBody| format!("/console/vacancy?community_id={community_id}#policy");
    let again = |r| body(&state, &s, Some(community_id), Some(r));
    super::after_form(&s, TITLE, done, back, again).await
}

/// `GET /console/vacancy/{id}/photos/{upload_id}`.
pub(super) async fn photo(state: web::Data<AppState>, req: HttpRequest, path: web::Path<(i32, i32)>) -> HttpResponse {
    let s = match require_signed(&state, &req).await {
        Ok(s) => s,
        Err(r) => return r,
    };
    let (id, upload_id) = path.into_inner();
    match vacancy::photo(&state, &s.ctx, id, upload_id).await {
        Ok(p) => crate::routes::uploads::serve(p),
        Err(e) => error_page(&e, Some(&s.viewer())),
    }
}

/// `POST /console/vacancy/{id}/approve`.
pub(super) async fn approve(
    state: web::Data<AppState>,
    req: HttpRequest,
    id: web::Path<i32>,
    form: web::Form<VacancyForm>,
) -> HttpResponse {
    let s = match require_form(&state, &req, &form.csrf).await {
        Ok(s) => s,
        Err(r) => return r,
    };
    let form = form.into_inner();
    let community_id = form.community_id.trim().parse().ok();
    let done = vacancy::approve(&state, &s.ctx, *id, Reasoned { reason: form.reason }).await;
    let back = |a: &ApplicationView| format!("/console/vacancy?community_id={}#application-{}", a.community_id, a.id);
    let again = |r| body(&state, &s, community_id, Some(r));
    super::after_form(&s, TITLE, done, back, again).await
}

/// `POST /console/vacancy/{id}/reject`.
pub(super) async fn reject(
    state: web::Data<AppState>,
    req: HttpRequest,
    id: web::Path<i32>,
    form: web::Form<VacancyForm>,
) -> HttpResponse {
    let s = match require_form(&state, &req, &form.csrf).await {
        Ok(s) => s,
        Err(r) => return r,
    };
    let form = form.into_inner();
    let community_id = form.community_id.trim().parse().ok();
    let done = vacancy::reject(&state, &s.ctx, *id, Reasoned { reason: form.reason }).await;
    let back = |a: &ApplicationView| format!("/console/vacancy?community_id={}#application-{}", a.community_id, a.id);
    let again = |r| body(&state, &s, community_id, Some(r));
    super::after_form(&s, TITLE, done, back, again).await
}
