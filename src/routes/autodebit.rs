//! Auto-debit mandates: an owner's own, and a unit's for staff.
use crate::error::{ApiResult, ErrorBody};
use crate::routes::extract::{Json, OwnerAuth, StaffAuth};
use crate::services::autodebit::mandates::{self, MandateView, NewMandate};
use crate::state::AppState;
use actix_web::{web, HttpResponse};

/// Authorises debits for the owner's units: WeChat Pay and Alipay answer the signing step
/// (pending until the gateway says it is signed), a bank account is active at once.
#[utoipa::path(post, path = "/api/v1/me/autodebit", tag = "autodebit", request_body = NewMandate,
    responses((status = 201, body = MandateView), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody),
        (status = 503, body = ErrorBody)), security(("bearer" = [])))]
pub async fn create(state: web::Data<AppState>, who: OwnerAuth, body: Json<NewMandate>) -> ApiResult<HttpResponse> {
    Ok(HttpResponse::Created().json(mandates::create(&state, who.account_id, body.0).await?))
}

/// The owner's mandates, newest first (ended ones included); bank accounts masked.
#[utoipa::path(get, path = "/api/v1/me/autodebit", tag = "autodebit",
    responses((status = 200, body = Vec<MandateView>)), security(("bearer" = [])))]
pub async fn mine(state: web::Data<AppState>, who: OwnerAuth) -> ApiResult<HttpResponse> {
    Ok(HttpResponse::Ok().json(mandates::mine(&state, who.account_id).await?))
}

/// Ends a mandate at once (no debit runs after) and at its gateway; an ended one is answered as is.
#[utoipa::path(delete, path = "/api/v1/me/autodebit/{id}", tag = "autodebit", params(("id" = i32, Path)),
    responses((status = 200, body = MandateView), (status = 404, body = ErrorBody)), security(("bearer" = [])))]
pub async fn cancel(state: web::Data<AppState>, who: OwnerAuth, id: web::Path<i32>) -> ApiResult<HttpResponse> {
    Ok(HttpResponse::Ok().json(mandates::cancel(&state, who.account_id, id.into_inner()).await?))
}

/// A unit's mandates, bank accounts masked (staff of its community).
#[utoipa::path(get, path = "/api/v1/staff/units/{id}/mandates", tag = "autodebit", params(("id" = i32, Path)),
    responses((status = 200, body = Vec<MandateView>), (status = 404, body = ErrorBody)), security(("bearer" = [])))]
pub async fn of_unit(
    state: web::Data<AppState>,
    StaffAuth(ctx): StaffAuth,
    id: web::Path<i32>,
) -> ApiResult<HttpResponse> {
    Ok(HttpResponse::Ok().json(mandates::of_unit(&state, &ctx, id.into_inner()).await?))
}
