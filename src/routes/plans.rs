//! Installment plans: an owner's requests and plans, and finance's decisions.
use crate::error::{ApiResult, ErrorBody};
use crate::routes::extract::{Json, OwnerAuth, StaffAuth};
use crate::services::plans::installments::{self, Acceptance, NewRequest, PlanQuery, PlanView, Rejection};
use crate::services::plans::keeping;
use crate::state::AppState;
use actix_web::{web, HttpRequest, HttpResponse};

/// Asks for an installment plan for unpaid bills of one of the owner's units: the answer shows the
/// schedule (equal instalments, the remainder on the first); finance decides.
#[utoipa::path(post, path = "/api/v1/me/installment-requests", tag = "installments", request_body = NewRequest,
    responses((status = 201, body = PlanView), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn request(state: web::Data<AppState>, who: OwnerAuth, body: Json<NewRequest>) -> ApiResult<HttpResponse> {
    Ok(HttpResponse::Created().json(installments::request(&state, who.account_id, body.0).await?))
}

/// The owner's installment requests and plans, newest first.
#[utoipa::path(get, path = "/api/v1/me/installment-plans", tag = "installments",
    responses((status = 200, body = Vec<PlanView>)), security(("bearer" = [])))]
pub async fn mine(state: web::Data<AppState>, who: OwnerAuth) -> ApiResult<HttpResponse> {
    Ok(HttpResponse::Ok().json(installments::mine(&state, who.account_id).await?))
}

/// Withdraws a request, or an approved plan not yet accepted.
#[utoipa::path(delete, path = "/api/v1/me/installment-plans/{id}", tag = "installments", params(("id" = i32, Path)),
    responses((status = 200, body = PlanView), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn withdraw(state: web::Data<AppState>, who: OwnerAuth, id: web::Path<i32>) -> ApiResult<HttpResponse> {
    Ok(HttpResponse::Ok().json(installments::withdraw(&state, who.account_id, id.into_inner()).await?))
}

/// Accepts an approved plan's agreement, naming the SHA-256 of the text read: the covered bills
/// become `rescheduled` (late fee frozen), one instalment bill a month is issued, limitation
/// restarts; the acceptance (time, client, text hash) goes on the evidence chain.
#[utoipa::path(post, path = "/api/v1/me/installment-plans/{id}/accept", tag = "installments", params(("id" = i32, Path)),
    request_body = Acceptance,
    responses((status = 200, body = PlanView), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn accept(
    state: web::Data<AppState>,
    who: OwnerAuth,
    id: web::Path<i32>,
    req: HttpRequest,
    body: Json<Acceptance>,
) -> ApiResult<HttpResponse> {
    // The client as it names itself (the mini-program's WebView reports WeChat and its version).
    let client = req
        .headers()
        .get(actix_web::http::header::USER_AGENT)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("未知客户端");
    let plan = keeping::accept(&state, who.account_id, id.into_inner(), body.0, client).await?;
    Ok(HttpResponse::Ok().json(plan))
}

/// A community's installment requests and plans (finance and admins).
#[utoipa::path(get, path = "/api/v1/staff/installment-plans", tag = "installments", params(PlanQuery),
    responses((status = 200, body = Vec<PlanView>), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn list(
    state: web::Data<AppState>,
    StaffAuth(ctx): StaffAuth,
    q: crate::routes::extract::Query<PlanQuery>,
) -> ApiResult<HttpResponse> {
    Ok(HttpResponse::Ok().json(installments::list(&state, &ctx, q.0).await?))
}

/// Approves a request whose bills still owe what it covers, fixing the agreement the owner then
/// accepts (finance and admins).
#[utoipa::path(post, path = "/api/v1/staff/installment-plans/{id}/approve", tag = "installments", params(("id" = i32, Path)),
    responses((status = 200, body = PlanView), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn approve(
    state: web::Data<AppState>,
    StaffAuth(ctx): StaffAuth,
    id: web::Path<i32>,
) -> ApiResult<HttpResponse> {
    Ok(HttpResponse::Ok().json(installments::approve(&state, &ctx, id.into_inner()).await?))
}

/// Rejects a request with a reason the owner reads (finance and admins).
#[utoipa::path(post, path = "/api/v1/staff/installment-plans/{id}/reject", tag = "installments", params(("id" = i32, Path)),
    request_body = Rejection,
    responses((status = 200, body = PlanView), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn reject(
    state: web::Data<AppState>,
    StaffAuth(ctx): StaffAuth,
    id: web::Path<i32>,
    body: Json<Rejection>,
) -> ApiResult<HttpResponse> {
    Ok(HttpResponse::Ok().json(installments::reject(&state, &ctx, id.into_inner(), body.0).await?))
}
