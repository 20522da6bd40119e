//! Staff users (admin only).
use crate::error::{ApiResult, ErrorBody};
use crate::routes::extract::{Json, StaffAuth};
use crate::services::access::staff::{self, NewStaff, StaffPatch, StaffView};
use crate::state::AppState;
use actix_web::{web, HttpResponse};

/// Creates a staff member.
#[utoipa::path(post, path = "/api/v1/staff/staff-users", tag = "staff-users", request_body = NewStaff,
    responses((status = 201, body = StaffView), (status = 403, body = ErrorBody), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)), security(("bearer" = [])))]
pub async fn create(
    state: web::Data<AppState>,
    StaffAuth(ctx): StaffAuth,
    body: Json<NewStaff>,
) -> ApiResult<HttpResponse> {
    Ok(HttpResponse::Created().json(staff::create(&state, &ctx, body.0).await?))
}

/// Lists staff members.
#[utoipa::path(get, path = "/api/v1/staff/staff-users", tag = "staff-users", responses((status = 200, body = Vec<StaffView>), (status = 403, body = ErrorBody)), security(("bearer" = [])))]
pub async fn list(state: web::Data<AppState>, StaffAuth(ctx): StaffAuth) -> ApiResult<HttpResponse> {
    Ok(HttpResponse::Ok().json(staff::list(&state, &ctx).await?))
}

/// Edits a staff member; `"active": false` deactivates and ends their sessions.
#[utoipa::path(patch, path = "/api/v1/staff/staff-users/{id}", tag = "staff-users", params(("id" = i32, Path)), request_body = StaffPatch,
    responses((status = 200, body = StaffView), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)), security(("bearer" = [])))]
pub async fn update(
    state: web::Data<AppState>,
    StaffAuth(ctx): StaffAuth,
    id: web::Path<i32>,
    body: Json<StaffPatch>,
) -> ApiResult<HttpResponse> {
    Ok(HttpResponse::Ok().json(staff::update(&state, &ctx, id.into_inner(), body.0).await?))
}
