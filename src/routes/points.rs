//! Points: an owner's balance and history per community; a unit's points and adjustments for staff.
use crate::error::{ApiResult, ErrorBody};
use crate::routes::extract::{Json, OwnerAuth, Query, StaffAuth};
use crate::services::points::owner::{self, PointsQuery, PointsView};
use crate::services::points::staff::{self, PointsAdjustment, UnitPoints};
use crate::state::AppState;
use actix_web::{web, HttpResponse};

/// The owner's points in one community: balance, what expires next, and the history.
#[utoipa::path(get, path = "/api/v1/me/points", tag = "points", params(PointsQuery),
    responses((status = 200, body = PointsView), (status = 404, body = ErrorBody)), security(("bearer" = [])))]
pub async fn mine(state: web::Data<AppState>, who: OwnerAuth, q: Query<PointsQuery>) -> ApiResult<HttpResponse> {
    Ok(HttpResponse::Ok().json(owner::get(&state, who.account_id, q.into_inner()).await?))
}

/// Whoever holds a unit's points today (its first-listed owner's account, or the unit itself).
#[utoipa::path(get, path = "/api/v1/staff/units/{id}/points", tag = "points", params(("id" = i32, Path)),
    responses((status = 200, body = UnitPoints), (status = 404, body = ErrorBody)), security(("bearer" = [])))]
pub async fn unit_points(
    state: web::Data<AppState>,
    StaffAuth(ctx): StaffAuth,
    id: web::Path<i32>,
) -> ApiResult<HttpResponse> {
    Ok(HttpResponse::Ok().json(staff::get(&state, &ctx, id.into_inner()).await?))
}

/// Adds or takes away points of a unit's holder, with a reason (finance and admins; audited).
#[utoipa::path(post, path = "/api/v1/staff/units/{id}/points/adjustments", tag = "points", params(("id" = i32, Path)),
    request_body = PointsAdjustment,
    responses((status = 201, body = UnitPoints), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)), security(("bearer" = [])))]
pub async fn adjust(
    state: web::Data<AppState>,
    StaffAuth(ctx): StaffAuth,
    id: web::Path<i32>,
    body: Json<PointsAdjustment>,
) -> ApiResult<HttpResponse> {
    Ok(HttpResponse::Created().json(staff::adjust(&state, &ctx, id.into_inner(), body.0).await?))
}
