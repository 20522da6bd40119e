//! 设置 · 小区与滞纳金、收费项目与单价 (being built).
use super::page::error_page;
use super::require_signed;
use crate::error::ApiError;
use crate::state::AppState;
use actix_web::{web, HttpRequest, HttpResponse};

/// Placeholder answer until the page lands: the console's 404.
pub(super) async fn todo(state: web::Data<AppState>, req: HttpRequest) -> HttpResponse {
    match require_signed(&state, &req).await {
        Ok(s) => error_page(&ApiError::NotFound, Some(&s.viewer())),
        Err(r) => r,
    }
}
