//! Points: an owner's balance and history per community; a unit's points and adjustments for staff;
//! the rewards catalog and redemptions.
use crate::error::{ApiResult, ErrorBody};
use crate::routes::extract::{Json, OwnerAuth, Query, StaffAuth};
use crate::services::points::owner::{self, PointsQuery, PointsView};
use crate::services::points::redeem::{
    self, Cancellation, Fulfilment, NewRedemption, RedemptionCreated, RedemptionView, RedemptionsQuery,
};
use crate::services::points::rewards::{self, NewReward, RewardPatch, RewardView, RewardsQuery};
use crate::services::points::settings::{self, PointsSettings, SettingsView};
use crate::services::points::staff::{self, PointsAdjustment, UnitPoints};
use crate::state::AppState;
use actix_web::{web, HttpRequest, HttpResponse};

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

/// The active rewards of the owner's communities where points are on.
#[utoipa::path(get, path = "/api/v1/rewards", tag = "points", params(RewardsQuery),
    responses((status = 200, body = Vec<RewardView>), (status = 404, body = ErrorBody)), security(("bearer" = [])))]
pub async fn rewards(state: web::Data<AppState>, who: OwnerAuth, q: Query<RewardsQuery>) -> ApiResult<HttpResponse> {
    Ok(HttpResponse::Ok().json(rewards::owner_list(&state, who.account_id, q.into_inner()).await?))
}

/// Spends points on a reward; `Idempotency-Key` required (a retry answers the first redemption).
#[utoipa::path(post, path = "/api/v1/me/redemptions", tag = "points", request_body = NewRedemption,
    params(("Idempotency-Key" = String, Header, min_length = 1, max_length = 64, pattern = r"^[\x21-\x7e]+$", description = "required: a repeat with the same key answers the first redemption")),
    responses((status = 201, body = RedemptionCreated), (status = 400, body = ErrorBody), (status = 404, body = ErrorBody),
        (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)), security(("bearer" = [])))]
pub async fn redeem(
    state: web::Data<AppState>,
    req: HttpRequest,
    who: OwnerAuth,
    body: Json<NewRedemption>,
) -> ApiResult<HttpResponse> {
    let key = req
        .headers()
        .get("Idempotency-Key")
        .and_then(|v| v.to_str().ok())
        .map(str::to_string);
    Ok(HttpResponse::Created().json(redeem::redeem(&state, who.account_id, key, body.0).await?))
}

/// The owner's redemptions, newest first.
#[utoipa::path(get, path = "/api/v1/me/redemptions", tag = "points",
    responses((status = 200, body = Vec<RedemptionView>)), security(("bearer" = [])))]
pub async fn my_redemptions(state: web::Data<AppState>, who: OwnerAuth) -> ApiResult<HttpResponse> {
    Ok(HttpResponse::Ok().json(redeem::mine(&state, who.account_id).await?))
}

/// The catalog of the member's communities, withdrawn rewards included.
#[utoipa::path(get, path = "/api/v1/staff/rewards", tag = "points", params(RewardsQuery),
    responses((status = 200, body = Vec<RewardView>), (status = 404, body = ErrorBody)), security(("bearer" = [])))]
pub async fn staff_rewards(
    state: web::Data<AppState>,
    StaffAuth(ctx): StaffAuth,
    q: Query<RewardsQuery>,
) -> ApiResult<HttpResponse> {
    Ok(HttpResponse::Ok().json(rewards::staff_list(&state, &ctx, q.into_inner()).await?))
}

/// Adds a reward to a community's catalog (service staff and admins; audited).
#[utoipa::path(post, path = "/api/v1/staff/rewards", tag = "points", request_body = NewReward,
    responses((status = 201, body = RewardView), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn create_reward(
    state: web::Data<AppState>,
    StaffAuth(ctx): StaffAuth,
    body: Json<NewReward>,
) -> ApiResult<HttpResponse> {
    Ok(HttpResponse::Created().json(rewards::create(&state, &ctx, body.0).await?))
}

/// Changes a reward: name, description, cost, stock, per-owner limit (0 removes it), or withdraws it.
#[utoipa::path(patch, path = "/api/v1/staff/rewards/{id}", tag = "points", params(("id" = i32, Path)), request_body = RewardPatch,
    responses((status = 200, body = RewardView), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn update_reward(
    state: web::Data<AppState>,
    StaffAuth(ctx): StaffAuth,
    id: web::Path<i32>,
    body: Json<RewardPatch>,
) -> ApiResult<HttpResponse> {
    Ok(HttpResponse::Ok().json(rewards::update(&state, &ctx, id.into_inner(), body.0).await?))
}

/// Redemptions to hand over (pending, oldest first), or of any status.
#[utoipa::path(get, path = "/api/v1/staff/redemptions", tag = "points", params(RedemptionsQuery),
    responses((status = 200, body = Vec<RedemptionView>), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)), security(("bearer" = [])))]
pub async fn staff_redemptions(
    state: web::Data<AppState>,
    StaffAuth(ctx): StaffAuth,
    q: Query<RedemptionsQuery>,
) -> ApiResult<HttpResponse> {
    Ok(HttpResponse::Ok().json(redeem::staff_list(&state, &ctx, q.into_inner()).await?))
}

/// Marks a redemption handed over (once).
#[utoipa::path(post, path = "/api/v1/staff/redemptions/{id}/fulfil", tag = "points", params(("id" = i32, Path)), request_body = Fulfilment,
    responses((status = 200, body = RedemptionView), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn fulfil(
    state: web::Data<AppState>,
    StaffAuth(ctx): StaffAuth,
    id: web::Path<i32>,
    body: Json<Fulfilment>,
) -> ApiResult<HttpResponse> {
    Ok(HttpResponse::Ok().json(redeem::fulfil(&state, &ctx, id.into_inner(), body.0).await?))
}

/// Cancels a redemption (once): points back to their lots, stock back to the reward.
#[utoipa::path(post, path = "/api/v1/staff/redemptions/{id}/cancel", tag = "points", params(("id" = i32, Path)), request_body = Cancellation,
    responses((status = 200, body = RedemptionView), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn cancel(
    state: web::Data<AppState>,
    StaffAuth(ctx): StaffAuth,
    id: web::Path<i32>,
    body: Json<Cancellation>,
) -> ApiResult<HttpResponse> {
    Ok(HttpResponse::Ok().json(redeem::cancel(&state, &ctx, id.into_inner(), body.0).await?))
}

/// A community's points rules (the defaults until finance saves its own).
#[utoipa::path(get, path = "/api/v1/staff/communities/{id}/points-settings", tag = "points", params(("id" = i32, Path)),
    responses((status = 200, body = SettingsView), (status = 404, body = ErrorBody)), security(("bearer" = [])))]
pub async fn get_settings(
    state: web::Data<AppState>,
    StaffAuth(ctx): StaffAuth,
    id: web::Path<i32>,
) -> ApiResult<HttpResponse> {
    Ok(HttpResponse::Ok().json(settings::get(&state, &ctx, id.into_inner()).await?))
}

/// Saves a community's points rules (finance and admins; audited); they apply to what is earned next.
#[utoipa::path(put, path = "/api/v1/staff/communities/{id}/points-settings", tag = "points", params(("id" = i32, Path)),
    request_body = PointsSettings,
    responses((status = 200, body = SettingsView), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn put_settings(
    state: web::Data<AppState>,
    StaffAuth(ctx): StaffAuth,
    id: web::Path<i32>,
    body: Json<PointsSettings>,
) -> ApiResult<HttpResponse> {
    Ok(HttpResponse::Ok().json(settings::put(&state, &ctx, id.into_inner(), body.0).await?))
}
