//! Auto-debit mandates (an owner's own, a unit's for staff) and bank collection batches.
use crate::error::{ApiResult, ErrorBody};
use crate::routes::extract::{read_body, Json, OwnerAuth, StaffAuth};
use crate::services::autodebit::bank::{self, BatchView, NewBatch, ResultImport};
use crate::services::autodebit::mandates::{self, MandateView, NewMandate};
use crate::state::AppState;
use actix_web::{web, HttpRequest, HttpResponse};

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

/// Makes a bank collection batch (银行托收) of a community's bank debits due by a day: each is
/// checked like a gateway try and given an order (finance, admins).
#[utoipa::path(post, path = "/api/v1/staff/autodebit/bank-batches", tag = "autodebit", request_body = NewBatch,
    responses((status = 201, body = BatchView), (status = 403, body = ErrorBody), (status = 422, body = ErrorBody)), security(("bearer" = [])))]
pub async fn create_batch(
    state: web::Data<AppState>,
    StaffAuth(ctx): StaffAuth,
    body: Json<NewBatch>,
) -> ApiResult<HttpResponse> {
    Ok(HttpResponse::Created().json(bank::create(&state, &ctx, body.0).await?))
}

/// The batch as the CSV the bank takes (UTF-8 with BOM; columns in README), full account
/// numbers included; every download is audited.
#[utoipa::path(get, path = "/api/v1/staff/autodebit/bank-batches/{id}/file", tag = "autodebit", params(("id" = i32, Path)),
    responses((status = 200, content_type = "text/csv", body = String), (status = 404, body = ErrorBody)), security(("bearer" = [])))]
pub async fn batch_file(
    state: web::Data<AppState>,
    StaffAuth(ctx): StaffAuth,
    id: web::Path<i32>,
) -> ApiResult<HttpResponse> {
    let (name, bytes) = bank::file(&state, &ctx, id.into_inner()).await?;
    Ok(HttpResponse::Ok()
        .content_type("text/csv; charset=utf-8")
        .insert_header(("Cache-Control", "no-store"))
        .insert_header((
            actix_web::http::header::CONTENT_DISPOSITION,
            format!("attachment; filename=\"{name}\""),
        ))
        .body(bytes))
}

/// Imports the bank's result file (`debit_id,result,reason`): every row checked first (422
/// `IMPORT_REJECTED` naming rows, nothing applied), successes credited once, failures retried.
#[utoipa::path(post, path = "/api/v1/staff/autodebit/bank-batches/{id}/results", tag = "autodebit", params(("id" = i32, Path)),
    request_body(content = String, content_type = "text/csv"),
    responses((status = 200, body = ResultImport), (status = 404, body = ErrorBody), (status = 413, body = ErrorBody),
        (status = 422, body = ErrorBody)), security(("bearer" = [])))]
pub async fn batch_results(
    state: web::Data<AppState>,
    req: HttpRequest,
    StaffAuth(ctx): StaffAuth,
    id: web::Path<i32>,
    payload: web::Payload,
) -> ApiResult<HttpResponse> {
    let body = read_body(
        &req,
        &mut payload.into_inner(),
        state.settings.server.import_limit_bytes,
    )
    .await?;
    Ok(HttpResponse::Ok().json(bank::import_results(&state, &ctx, id.into_inner(), &body).await?))
}
