//! Fee items, billing runs and bills for staff.
use crate::error::{ApiResult, ErrorBody};
use crate::progress::Progress;
use crate::routes::extract::{Json, Query, StaffAuth};
use crate::services::billing::bills::BillDetail;
use crate::services::billing::corrections::{self, AdjustRequest, CancelRequest, WaiveRequest};
use crate::services::billing::fee_items::{self, FeeItemPatch, FeeItemQuery, FeeItemView, NewFeeItem, NewPrice};
use crate::services::billing::runs::{self as billing, RunRequest, RunResult};
use crate::services::billing::staff::{self as listing, StaffBillPage, StaffBillQuery};
use crate::services::setup::PageQuery;
use crate::state::AppState;
use actix_web::{web, HttpResponse};

/// Creates a fee item.
#[utoipa::path(post, path = "/api/v1/staff/fee-items", tag = "staff-billing", request_body = NewFeeItem,
    responses((status = 201, body = FeeItemView), (status = 403, body = ErrorBody), (status = 422, body = ErrorBody)), security(("bearer" = [])))]
pub async fn create_item(
    state: web::Data<AppState>,
    StaffAuth(ctx): StaffAuth,
    body: Json<NewFeeItem>,
) -> ApiResult<HttpResponse> {
    Ok(HttpResponse::Created().json(fee_items::create(&state, &ctx, body.0).await?))
}

/// A community's fee items.
#[utoipa::path(get, path = "/api/v1/staff/fee-items", tag = "staff-billing", params(FeeItemQuery),
    responses((status = 200, body = Vec<FeeItemView>), (status = 404, body = ErrorBody)), security(("bearer" = [])))]
pub async fn list_items(
    state: web::Data<AppState>,
    StaffAuth(ctx): StaffAuth,
    q: Query<FeeItemQuery>,
) -> ApiResult<HttpResponse> {
    Ok(HttpResponse::Ok().json(fee_items::list(&state, &ctx, q.into_inner()).await?))
}

/// One fee item with its price history.
#[utoipa::path(get, path = "/api/v1/staff/fee-items/{id}", tag = "staff-billing", params(("id" = i32, Path)),
    responses((status = 200, body = FeeItemView), (status = 404, body = ErrorBody)), security(("bearer" = [])))]
pub async fn get_item(
    state: web::Data<AppState>,
    StaffAuth(ctx): StaffAuth,
    id: web::Path<i32>,
) -> ApiResult<HttpResponse> {
    Ok(HttpResponse::Ok().json(fee_items::get(&state, &ctx, id.into_inner()).await?))
}

/// Edits a fee item (not its price: see prices).
#[utoipa::path(patch, path = "/api/v1/staff/fee-items/{id}", tag = "staff-billing", params(("id" = i32, Path)), request_body = FeeItemPatch,
    responses((status = 200, body = FeeItemView), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)), security(("bearer" = [])))]
pub async fn update_item(
    state: web::Data<AppState>,
    StaffAuth(ctx): StaffAuth,
    id: web::Path<i32>,
    body: Json<FeeItemPatch>,
) -> ApiResult<HttpResponse> {
    Ok(HttpResponse::Ok().json(fee_items::update(&state, &ctx, id.into_inner(), body.0).await?))
}

/// Changes the price for periods starting on or after `effective_from`; issued bills never change.
#[utoipa::path(post, path = "/api/v1/staff/fee-items/{id}/prices", tag = "staff-billing", params(("id" = i32, Path)), request_body = NewPrice,
    responses((status = 201, body = FeeItemView), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)), security(("bearer" = [])))]
pub async fn add_price(
    state: web::Data<AppState>,
    StaffAuth(ctx): StaffAuth,
    id: web::Path<i32>,
    body: Json<NewPrice>,
) -> ApiResult<HttpResponse> {
    Ok(HttpResponse::Created().json(fee_items::add_price(&state, &ctx, id.into_inner(), body.0).await?))
}

/// Creates a community's bills for a period; a repeat creates nothing and reports what exists.
#[utoipa::path(post, path = "/api/v1/staff/billing-runs", tag = "staff-billing", request_body = RunRequest,
    responses((status = 201, body = RunResult), (status = 403, body = ErrorBody), (status = 422, body = ErrorBody)), security(("bearer" = [])))]
pub async fn run(
    state: web::Data<AppState>,
    StaffAuth(ctx): StaffAuth,
    body: Json<RunRequest>,
) -> ApiResult<HttpResponse> {
    Ok(HttpResponse::Created().json(billing::run_for_staff(&state, &ctx, body.0, &Progress::none()).await?))
}

/// Bills of a community with filters and totals.
#[utoipa::path(get, path = "/api/v1/staff/bills", tag = "staff-billing", params(StaffBillQuery, PageQuery),
    responses((status = 200, body = StaffBillPage), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)), security(("bearer" = [])))]
pub async fn list_bills(
    state: web::Data<AppState>,
    StaffAuth(ctx): StaffAuth,
    q: Query<StaffBillQuery>,
    p: Query<PageQuery>,
) -> ApiResult<HttpResponse> {
    Ok(HttpResponse::Ok().json(listing::staff_bills(&state, &ctx, q.into_inner(), p.into_inner()).await?))
}

/// One bill with its ledger.
#[utoipa::path(get, path = "/api/v1/staff/bills/{id}", tag = "staff-billing", params(("id" = i32, Path)),
    responses((status = 200, body = BillDetail), (status = 404, body = ErrorBody)), security(("bearer" = [])))]
pub async fn get_bill(
    state: web::Data<AppState>,
    StaffAuth(ctx): StaffAuth,
    id: web::Path<i32>,
) -> ApiResult<HttpResponse> {
    Ok(HttpResponse::Ok().json(listing::staff_bill(&state, &ctx, id.into_inner()).await?))
}

/// Waives all or part of the outstanding late fee, with a reason.
#[utoipa::path(post, path = "/api/v1/staff/bills/{id}/waive-late-fee", tag = "staff-billing", params(("id" = i32, Path)), request_body = WaiveRequest,
    responses((status = 200, body = BillDetail), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)), security(("bearer" = [])))]
pub async fn waive(
    state: web::Data<AppState>,
    StaffAuth(ctx): StaffAuth,
    id: web::Path<i32>,
    body: Json<WaiveRequest>,
) -> ApiResult<HttpResponse> {
    Ok(HttpResponse::Ok().json(corrections::waive_late_fee(&state, &ctx, id.into_inner(), body.0).await?))
}

/// Corrects the principal, with a reason.
#[utoipa::path(post, path = "/api/v1/staff/bills/{id}/adjust", tag = "staff-billing", params(("id" = i32, Path)), request_body = AdjustRequest,
    responses((status = 200, body = BillDetail), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)), security(("bearer" = [])))]
pub async fn adjust(
    state: web::Data<AppState>,
    StaffAuth(ctx): StaffAuth,
    id: web::Path<i32>,
    body: Json<AdjustRequest>,
) -> ApiResult<HttpResponse> {
    Ok(HttpResponse::Ok().json(corrections::adjust(&state, &ctx, id.into_inner(), body.0).await?))
}

/// Cancels an unpaid bill, with a reason.
#[utoipa::path(post, path = "/api/v1/staff/bills/{id}/cancel", tag = "staff-billing", params(("id" = i32, Path)), request_body = CancelRequest,
    responses((status = 200, body = BillDetail), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)), security(("bearer" = [])))]
pub async fn cancel(
    state: web::Data<AppState>,
    StaffAuth(ctx): StaffAuth,
    id: web::Path<i32>,
    body: Json<CancelRequest>,
) -> ApiResult<HttpResponse> {
    Ok(HttpResponse::Ok().json(corrections::cancel(&state, &ctx, id.into_inner(), body.0).await?))
}
