//! Owner records (业主) and recorded phone reveals.
use crate::error::{ApiResult, ErrorBody};
use crate::routes::extract::{Json, Query, StaffAuth};
use crate::services::setup::owners::{
    self, NewOwner, OwnerPatch, OwnerQuery, OwnerView, PiiAccessView, PiiQuery, RevealRequest, RevealedPhone,
};
use crate::services::setup::{Page, PageQuery};
use crate::state::AppState;
use actix_web::{web, HttpResponse};

/// Creates an owner record linked to units.
#[utoipa::path(post, path = "/api/v1/staff/owners", tag = "staff-setup", request_body = NewOwner,
    responses((status = 201, body = OwnerView), (status = 422, body = ErrorBody)), security(("bearer" = [])))]
pub async fn create(
    state: web::Data<AppState>,
    StaffAuth(ctx): StaffAuth,
    body: Json<NewOwner>,
) -> ApiResult<HttpResponse> {
    Ok(HttpResponse::Created().json(owners::create_owner(&state, &ctx, body.0).await?))
}

/// Owner records of a community (phones masked); `phone=` finds one exactly.
#[utoipa::path(get, path = "/api/v1/staff/owners", tag = "staff-setup", params(OwnerQuery, PageQuery),
    responses((status = 200, body = Page<OwnerView>), (status = 404, body = ErrorBody)), security(("bearer" = [])))]
pub async fn list(
    state: web::Data<AppState>,
    StaffAuth(ctx): StaffAuth,
    q: Query<OwnerQuery>,
    p: Query<PageQuery>,
) -> ApiResult<HttpResponse> {
    Ok(HttpResponse::Ok().json(owners::list_owners(&state, &ctx, q.into_inner(), p.into_inner()).await?))
}

/// One owner record (phone masked).
#[utoipa::path(get, path = "/api/v1/staff/owners/{id}", tag = "staff-setup", params(("id" = i32, Path)),
    responses((status = 200, body = OwnerView), (status = 404, body = ErrorBody)), security(("bearer" = [])))]
pub async fn get(state: web::Data<AppState>, StaffAuth(ctx): StaffAuth, id: web::Path<i32>) -> ApiResult<HttpResponse> {
    Ok(HttpResponse::Ok().json(owners::get_owner(&state, &ctx, id.into_inner()).await?))
}

/// Edits an owner record.
#[utoipa::path(patch, path = "/api/v1/staff/owners/{id}", tag = "staff-setup", params(("id" = i32, Path)), request_body = OwnerPatch,
    responses((status = 200, body = OwnerView), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)), security(("bearer" = [])))]
pub async fn update(
    state: web::Data<AppState>,
    StaffAuth(ctx): StaffAuth,
    id: web::Path<i32>,
    body: Json<OwnerPatch>,
) -> ApiResult<HttpResponse> {
    Ok(HttpResponse::Ok().json(owners::update_owner(&state, &ctx, id.into_inner(), body.0).await?))
}

/// Shows the full phone number, recording who saw whose number and when.
#[utoipa::path(post, path = "/api/v1/staff/owners/{id}/reveal-phone", tag = "staff-setup", params(("id" = i32, Path)), request_body = RevealRequest,
    responses((status = 200, body = RevealedPhone), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)), security(("bearer" = [])))]
pub async fn reveal_phone(
    state: web::Data<AppState>,
    StaffAuth(ctx): StaffAuth,
    id: web::Path<i32>,
    body: Json<RevealRequest>,
) -> ApiResult<HttpResponse> {
    Ok(HttpResponse::Ok().json(owners::reveal_phone(&state, &ctx, id.into_inner(), body.0).await?))
}

/// Who saw which full phone number, and when (admin).
#[utoipa::path(get, path = "/api/v1/staff/pii-access-log", tag = "staff-setup", params(PiiQuery),
    responses((status = 200, body = Vec<PiiAccessView>), (status = 403, body = ErrorBody)), security(("bearer" = [])))]
pub async fn pii_log(
    state: web::Data<AppState>,
    StaffAuth(ctx): StaffAuth,
    q: Query<PiiQuery>,
) -> ApiResult<HttpResponse> {
    Ok(HttpResponse::Ok().json(owners::pii_access_log(&state, &ctx, q.into_inner()).await?))
}
