//! Units (房屋) and transfers (过户).
use crate::error::{ApiResult, ErrorBody};
use crate::routes::extract::{Json, Query, StaffAuth};
use crate::services::setup::units::{self, NewUnit, Transfer, UnitDetail, UnitPatch, UnitQuery};
use crate::services::setup::{Page, PageQuery};
use crate::state::AppState;
use actix_web::{web, HttpResponse};

/// Creates a unit.
#[utoipa::path(post, path = "/api/v1/staff/units", tag = "staff-setup", request_body = NewUnit,
    responses((status = 201, body = UnitDetail), (status = 422, body = ErrorBody)), security(("bearer" = [])))]
pub async fn create(
    state: web::Data<AppState>,
    StaffAuth(ctx): StaffAuth,
    body: Json<NewUnit>,
) -> ApiResult<HttpResponse> {
    Ok(HttpResponse::Created().json(units::create_unit(&state, &ctx, body.0).await?))
}

/// Units of a community, a page at a time.
#[utoipa::path(get, path = "/api/v1/staff/units", tag = "staff-setup", params(UnitQuery, PageQuery),
    responses((status = 200, body = Page<UnitDetail>), (status = 404, body = ErrorBody)), security(("bearer" = [])))]
pub async fn list(
    state: web::Data<AppState>,
    StaffAuth(ctx): StaffAuth,
    q: Query<UnitQuery>,
    p: Query<PageQuery>,
) -> ApiResult<HttpResponse> {
    Ok(HttpResponse::Ok().json(units::list_units(&state, &ctx, q.into_inner(), p.into_inner()).await?))
}

/// One unit with current owners and ownership history.
#[utoipa::path(get, path = "/api/v1/staff/units/{id}", tag = "staff-setup", params(("id" = i32, Path)),
    responses((status = 200, body = UnitDetail), (status = 404, body = ErrorBody)), security(("bearer" = [])))]
pub async fn get(state: web::Data<AppState>, StaffAuth(ctx): StaffAuth, id: web::Path<i32>) -> ApiResult<HttpResponse> {
    Ok(HttpResponse::Ok().json(units::get_unit(&state, &ctx, id.into_inner()).await?))
}

/// Edits a unit.
#[utoipa::path(patch, path = "/api/v1/staff/units/{id}", tag = "staff-setup", params(("id" = i32, Path)), request_body = UnitPatch,
    responses((status = 200, body = UnitDetail), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody, description = "UNIT_HAS_BILLS: the building of a billed unit"), (status = 422, body = ErrorBody)), security(("bearer" = [])))]
pub async fn update(
    state: web::Data<AppState>,
    StaffAuth(ctx): StaffAuth,
    id: web::Path<i32>,
    body: Json<UnitPatch>,
) -> ApiResult<HttpResponse> {
    Ok(HttpResponse::Ok().json(units::update_unit(&state, &ctx, id.into_inner(), body.0).await?))
}

/// Transfers the unit to new owners from a date, keeping the history.
#[utoipa::path(post, path = "/api/v1/staff/units/{id}/transfer", tag = "staff-setup", params(("id" = i32, Path)), request_body = Transfer,
    responses((status = 200, body = UnitDetail), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)), security(("bearer" = [])))]
pub async fn transfer(
    state: web::Data<AppState>,
    StaffAuth(ctx): StaffAuth,
    id: web::Path<i32>,
    body: Json<Transfer>,
) -> ApiResult<HttpResponse> {
    Ok(HttpResponse::Ok().json(units::transfer_unit(&state, &ctx, id.into_inner(), body.0).await?))
}
