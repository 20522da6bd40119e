//! A unit's evidence in the console: the hash-chained timeline with its verification and photos,
//! recording a call, visit or delivered notice with a photo (one multipart form: the photo goes
//! through the uploads service, the record through the contacts service), and the printable case
//! file.
use super::page::{error_page, html};
use super::{require_signed, see_other};
use crate::domain::images::MAX_BYTES;
use crate::domain::text::esc;
use crate::error::ApiError;
use crate::services::collection::casefile::{self, label, readable};
use crate::services::collection::evidence;
use crate::services::collection::tasks::{record_contact, NewContact};
use crate::services::uploads::{self, Uploader};
use crate::state::AppState;
use actix_multipart::Multipart;
use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};

/// The evidence section of a unit page: verification, the records newest first with their photos,
/// and the form that adds a contact.
pub(super) async fn section(
    state: &AppState,
    s: &super::Signed,
    unit_id: i32,
    community_id: i32,
) -> Result<String, ApiError> {
    let tz = state.community_tz(community_id).await?;
    let check = evidence::verify(state, &s.ctx, unit_id).await?;
    let records = evidence::list(state, &s.ctx, unit_id).await?;
    let verdict = match (check.ok, check.first_bad_seq) {
        (true, _) => format!(
            "<p id=\"chain-ok\" class=\"ok\">证据链校验通过：共 {} 条记录，未发现删改或顺序变动。</p>",
            check.records
        ),
        (false, seq) => format!(
            "<p id=\"chain-bad\" class=\"error\" role=\"alert\">证据链校验未通过：第 {} 条起记录与哈希链不符，请联系管理员。</p>",
            seq.map_or("?".to_string(), |n| n.to_string())
        ),
    };
    let mut out =
        format!("<h2>证据与联系记录</h2>{verdict}<p><a href=\"/console/units/{unit_id}/case-file\">打印案卷</a></p>");
    let form_allowed = s.ctx.require(crate::domain::role::Action::FollowUp).is_ok();
    if form_allowed {
        out.push_str(&format!(
            "<form class=\"inline\" id=\"add-contact\" method=\"post\" action=\"/console/units/{unit_id}/contacts\" enctype=\"multipart/form-data\">\
             <input type=\"hidden\" name=\"csrf\" value=\"{}\">\
             <label for=\"contact-kind\">方式<select id=\"contact-kind\" name=\"kind\">\
             <option value=\"call\">电话</option><option value=\"visit\">上门</option><option value=\"printed_notice\">书面通知送达</option></select></label>\
             <label for=\"contact-delivery\">送达方式（书面通知）<select id=\"contact-delivery\" name=\"delivery\">\
             <option value=\"\">—</option><option value=\"in_person\">当面送达（须附照片）</option><option value=\"registered_mail\">挂号信</option></select></label>\
             <label for=\"contact-mail\">挂号信号<input id=\"contact-mail\" name=\"mail_no\" maxlength=\"64\"></label>\
             <label for=\"contact-outcome\">结果<input id=\"contact-outcome\" name=\"outcome\" required maxlength=\"500\"></label>\
             <label for=\"contact-photo\">照片（JPEG/PNG/WebP，5MB以内，位置信息会被去除）<input id=\"contact-photo\" name=\"photo\" type=\"file\" accept=\"image/jpeg,image/png,image/webp\"></label>\
             <button type=\"submit\">记录联系</button></form>",
            esc(&s.csrf)
        ));
    }
    if records.is_empty() {
        out.push_str("<p id=\"no-evidence\">还没有证据记录。</p>");
        return Ok(out);
    }
    out.push_str("<table id=\"evidence\"><tr><th>序号</th><th>时间</th><th>类型</th><th>内容</th><th>照片</th></tr>");
    for r in records.iter().rev() {
        let photos: Vec<i64> = serde_json::from_str::<serde_json::Value>(&r.content)
            .ok()
            .and_then(|v| v.get("photos").cloned())
            .and_then(|p| p.as_array().cloned())
            .unwrap_or_default()
            .iter()
            .filter_map(|p| p["id"].as_i64())
            .collect();
        let thumbs: String = photos
            .iter()
            .map(|id| {
                format!(
                    "<a href=\"/console/uploads/{id}\"><img src=\"/console/uploads/{id}\" alt=\"照片{id}\" width=\"96\"></a>"
                )
            })
            .collect();
        out.push_str(&format!(
            "<tr><td>{}</td><td>{}</td><td>{}</td><td class=\"pre\">{}</td><td>{}</td></tr>",
            r.seq,
            r.at.with_timezone(&tz).format("%Y-%m-%d %H:%M"),
            esc(label(&r.kind)),
            esc(readable(&r.content).trim()),
            thumbs
        ));
    }
    out.push_str("</table>");
    Ok(out)
}

/// `POST /console/units/{id}/contacts` (multipart): records a contact, with its photo if one came.
pub(super) async fn add(
    state: web::Data<AppState>,
    req: HttpRequest,
    id: web::Path<i32>,
    form: Multipart,
) -> HttpResponse {
    record(state, req, *id, None, form).await
}

/// A contact from a multipart form (a unit's, or a task's outcome): CSRF, role, then the photo
/// through the uploads service and the record through the contacts service.
pub(super) async fn record(
    state: web::Data<AppState>,
    req: HttpRequest,
    unit_id: i32,
    task_id: Option<i32>,
    form: Multipart,
) -> HttpResponse {
    let s = match require_signed(&state, &req).await {
        Ok(s) => s,
        Err(r) => return r,
    };
    let (fields, photo) = match super::read_multipart(form, "photo", MAX_BYTES, "图片不能超过5MB").await {
        Ok(f) => f,
        Err(e) => return error_page(&e, Some(&s.viewer())),
    };
    let field = |k: &str| fields.get(k).cloned().unwrap_or_default();
    if let Some(r) = s.refuse_forged(&field("csrf")) {
        return r;
    }
    let done = async {
        // Refused before the photo is stored, not after.
        s.ctx.require(crate::domain::role::Action::FollowUp)?;
        let upload_ids = if photo.is_empty() {
            None
        } else {
            Some(vec![
                uploads::create(&state, Uploader::Staff(s.ctx.id), &photo).await?.id,
            ])
        };
        let optional = |k: &str| Some(field(k)).filter(|v| !v.trim().is_empty());
        record_contact(
            &state,
            &s.ctx,
            NewContact {
                unit_id,
                kind: field("kind"),
                outcome: field("outcome"),
                task_id,
                proof_url: None,
                delivery: optional("delivery"),
                mail_no: optional("mail_no"),
                upload_ids,
            },
        )
        .await
    }
    .await;
    match (done, task_id) {
        (Ok(_), None) => see_other(&format!("/console/units/{unit_id}#evidence")),
        (Ok(_), Some(_)) => see_other(&format!("/console/tasks?{}", field("back").trim_start_matches('?'))),
        (Err(e), _) => error_page(&e, Some(&s.viewer())),
    }
}

/// `GET /console/uploads/{id}`: a photo, to whoever the uploads service lets see it.
pub(super) async fn photo(state: web::Data<AppState>, req: HttpRequest, id: web::Path<i32>) -> HttpResponse {
    let s = match require_signed(&state, &req).await {
        Ok(s) => s,
        Err(r) => return r,
    };
    match uploads::for_staff(&state, &s.ctx, *id).await {
        Ok(p) => crate::routes::uploads::serve(p),
        Err(e) => error_page(&e, Some(&s.viewer())),
    }
}

/// `GET /console/units/{id}/case-file`: the case file to print (the browser's print saves a PDF).
pub(super) async fn case_file(state: web::Data<AppState>, req: HttpRequest, id: web::Path<i32>) -> HttpResponse {
    let s = match require_signed(&state, &req).await {
        Ok(s) => s,
        Err(r) => return r,
    };
    match casefile::case_file(&state, &s.ctx, *id).await {
        Ok(f) => html(StatusCode::OK).body(casefile::case_file_html(&f)),
        Err(e) => error_page(&e, Some(&s.viewer())),
    }
}
