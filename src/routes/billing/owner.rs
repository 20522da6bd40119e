//! Owner bill look-ups and prepayment quotes.
use crate::error::{ApiResult, ErrorBody};
use crate::routes::extract::{Bearer, OwnerAuth, Query};
use crate::services::billing::bills::{BillDetail, BillView};
use crate::services::billing::owner::{self, Arrears, OwnerBillQuery, PrepayQuery, PrepayQuote, StatusFilter};
use crate::state::AppState;
use actix_web::{web, HttpResponse};

fn json_text(body: String) -> HttpResponse {
    HttpResponse::Ok().content_type("application/json").body(body)
}

/// The owner's bills over all their units (`status=unpaid` also lists bills not yet due).
#[utoipa::path(get, path = "/api/v1/me/bills", tag = "owner-bills", params(OwnerBillQuery),
    responses((status = 200, body = Vec<BillView>), (status = 401, body = ErrorBody)), security(("bearer" = [])))]
pub async fn list(state: web::Data<AppState>, token: Bearer, q: Query<OwnerBillQuery>) -> ApiResult<HttpResponse> {
    let filter = q.status.unwrap_or(StatusFilter::All);
    Ok(json_text(owner::owner_bills(&state, &token.0, filter).await?))
}

/// One bill with how its amount is made up and its payments; 404 for anyone else's.
#[utoipa::path(get, path = "/api/v1/me/bills/{id}", tag = "owner-bills", params(("id" = i32, Path)),
    responses((status = 200, body = BillDetail), (status = 404, body = ErrorBody)), security(("bearer" = [])))]
pub async fn get(state: web::Data<AppState>, who: OwnerAuth, id: web::Path<i32>) -> ApiResult<HttpResponse> {
    Ok(HttpResponse::Ok().json(owner::owner_bill(&state, who.account_id, id.into_inner()).await?))
}

/// Totals over arrears (unpaid bills past their due date).
#[utoipa::path(get, path = "/api/v1/me/arrears", tag = "owner-bills",
    responses((status = 200, body = Arrears), (status = 401, body = ErrorBody)), security(("bearer" = [])))]
pub async fn arrears(state: web::Data<AppState>, token: Bearer) -> ApiResult<HttpResponse> {
    Ok(json_text(owner::owner_arrears(&state, &token.0).await?))
}

/// What paying `months` ahead costs, with the prepayment discount.
#[utoipa::path(get, path = "/api/v1/me/prepay-quote", tag = "owner-bills", params(PrepayQuery),
    responses((status = 200, body = PrepayQuote), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)), security(("bearer" = [])))]
pub async fn prepay_quote(
    state: web::Data<AppState>,
    who: OwnerAuth,
    q: Query<PrepayQuery>,
) -> ApiResult<HttpResponse> {
    Ok(HttpResponse::Ok().json(owner::prepay_quote(&state, who.account_id, q.into_inner()).await?))
}
