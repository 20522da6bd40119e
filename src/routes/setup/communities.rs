//! Communities and their late-fee policy.
use crate::error::{ApiResult, ErrorBody};
use crate::routes::extract::{Json, Query, StaffAuth};
use crate::services::setup::communities::{self, CommunityPatch, CommunityView, NewCommunity, NewLateFeeTerms};
use crate::services::setup::{Page, PageQuery};
use crate::state::AppState;
use actix_web::{web, HttpResponse};

/// Creates a community (admin).
#[utoipa::path(post, path = "/api/v1/staff/communities", tag = "staff-setup", request_body = NewCommunity,
    responses((status = 201, body = CommunityView), (status = 403, body = ErrorBody), (status = 422, body = ErrorBody)), security(("bearer" = [])))]
pub async fn create(
    state: web::Data<AppState>,
    StaffAuth(ctx): StaffAuth,
    body: Json<NewCommunity>,
) -> ApiResult<HttpResponse> {
    Ok(HttpResponse::Created().json(communities::create_community(&state, &ctx, body.0).await?))
}

/// Communities in the caller's scope, a page at a time.
#[utoipa::path(get, path = "/api/v1/staff/communities", tag = "staff-setup", params(PageQuery),
    responses((status = 200, body = Page<CommunityView>), (status = 422, body = ErrorBody)), security(("bearer" = [])))]
pub async fn list(
    state: web::Data<AppState>,
    StaffAuth(ctx): StaffAuth,
    page: Query<PageQuery>,
) -> ApiResult<HttpResponse> {
    Ok(HttpResponse::Ok().json(communities::list_communities(&state, &ctx, page.into_inner()).await?))
}

/// One community; 404 outside the caller's scope.
#[utoipa::path(get, path = "/api/v1/staff/communities/{id}", tag = "staff-setup", params(("id" = i32, Path)),
    responses((status = 200, body = CommunityView), (status = 404, body = ErrorBody)), security(("bearer" = [])))]
pub async fn get(state: web::Data<AppState>, StaffAuth(ctx): StaffAuth, id: web::Path<i32>) -> ApiResult<HttpResponse> {
    Ok(HttpResponse::Ok().json(communities::get_community(&state, &ctx, id.into_inner()).await?))
}

/// Renames a community or changes its late-fee terms (admin).
#[utoipa::path(patch, path = "/api/v1/staff/communities/{id}", tag = "staff-setup", params(("id" = i32, Path)), request_body = CommunityPatch,
    responses((status = 200, body = CommunityView), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)), security(("bearer" = [])))]
pub async fn update(
    state: web::Data<AppState>,
    StaffAuth(ctx): StaffAuth,
    id: web::Path<i32>,
    body: Json<CommunityPatch>,
) -> ApiResult<HttpResponse> {
    Ok(HttpResponse::Ok().json(communities::update_community(&state, &ctx, id.into_inner(), body.0).await?))
}

/// Adds late-fee terms in force from `effective_from` (today or later; admin, audited): each day
/// accrues at the rate then in force, grace days and cap are those in force on a bill's due date.
#[utoipa::path(post, path = "/api/v1/staff/communities/{id}/late-fee-terms", tag = "staff-setup", params(("id" = i32, Path)), request_body = NewLateFeeTerms,
    responses((status = 201, body = CommunityView), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)), security(("bearer" = [])))]
pub async fn add_terms(
    state: web::Data<AppState>,
    StaffAuth(ctx): StaffAuth,
    id: web::Path<i32>,
    body: Json<NewLateFeeTerms>,
) -> ApiResult<HttpResponse> {
    Ok(HttpResponse::Created().json(communities::add_late_fee_terms(&state, &ctx, id.into_inner(), body.0).await?))
}
