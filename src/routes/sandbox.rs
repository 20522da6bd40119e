//! The demo's sandbox pages (served only under `serve --demo`; see `services::payments::sandbox`). They are
//! pages for people, not API: they are registered beside the API, outside the OpenAPI table.
use crate::error::ApiResult;
use crate::services::payments::sandbox;
use crate::state::AppState;
use actix_web::{web, HttpResponse};

fn html(body: String) -> HttpResponse {
    HttpResponse::Ok().content_type("text/html; charset=utf-8").body(body)
}

pub async fn pay_page(state: web::Data<AppState>, no: web::Path<String>) -> ApiResult<HttpResponse> {
    Ok(html(sandbox::pay_page(&state, &no).await?))
}

pub async fn confirm(state: web::Data<AppState>, no: web::Path<String>) -> ApiResult<HttpResponse> {
    Ok(html(sandbox::confirm(&state, &no).await?))
}

pub async fn notice_page(state: web::Data<AppState>, number: web::Path<String>) -> ApiResult<HttpResponse> {
    Ok(html(sandbox::notice_page(&state, &number).await?))
}

pub async fn pay_notice(state: web::Data<AppState>, number: web::Path<String>) -> ApiResult<HttpResponse> {
    let to = sandbox::pay_notice(&state, &number).await?;
    Ok(HttpResponse::SeeOther()
        .insert_header((actix_web::http::header::LOCATION, to))
        .finish())
}

/// Registers the sandbox pages (the caller does so only in the demo).
pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/sandbox/pay/{no}", web::get().to(pay_page))
        .route("/sandbox/pay/{no}", web::post().to(confirm))
        .route("/sandbox/notices/{number}", web::get().to(notice_page))
        .route("/sandbox/notices/{number}/pay", web::post().to(pay_notice));
}
