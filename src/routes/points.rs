//! Points: an owner's balance and history per community.
use crate::error::{ApiResult, ErrorBody};
use crate::routes::extract::{OwnerAuth, Query};
use crate::services::points::owner::{self, PointsQuery, PointsView};
use crate::state::AppState;
use actix_web::{web, HttpResponse};

/// The owner's points in one community: balance, what expires next, and the history.
#[utoipa::path(get, path = "/api/v1/me/points", tag = "points", params(PointsQuery),
    responses((status = 200, body = PointsView), (status = 404, body = ErrorBody)), security(("bearer" = [])))]
pub async fn mine(state: web::Data<AppState>, who: OwnerAuth, q: Query<PointsQuery>) -> ApiResult<HttpResponse> {
    Ok(HttpResponse::Ok().json(owner::get(&state, who.account_id, q.into_inner()).await?))
}
