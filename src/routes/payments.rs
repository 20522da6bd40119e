//! Owner payments, counter payments, payment exceptions, and the gateways' notifications.
use crate::error::{ApiError, ApiResult, ErrorBody};
use crate::routes::extract::{client_ip, read_body, Json, OwnerAuth, Query, StaffAuth};
use crate::services::autodebit::mandates;
use crate::services::payments::counter::{self, CounterPayment};
use crate::services::payments::notifications::{self, NotifyAnswer};
use crate::services::payments::orders::{self, NewPayment, PaymentCreated};
use crate::services::payments::receipts::{self, Receipt};
use crate::services::payments::refunds::{self, RefundRequest, RefundView, TransferredRequest};
use crate::services::payments::views::{self, ChannelDay, ExceptionQuery, ExceptionView, PaymentView, SummaryQuery};
use crate::state::AppState;
use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse, ResponseError};

/// Notifications are small; anything bigger is not from a gateway.
const NOTIFY_LIMIT: usize = 64 * 1024;

/// Creates a payment order for bills or a prepayment; honours `Idempotency-Key`.
#[utoipa::path(post, path = "/api/v1/payments", tag = "payments", request_body = NewPayment,
    params(("Idempotency-Key" = Option<String>, Header, min_length = 1, max_length = 64, pattern = r"^[\x21-\x7e]+$", description = "a repeat with the same key answers the first order")),
    responses((status = 201, body = PaymentCreated), (status = 422, body = ErrorBody), (status = 503, body = ErrorBody)), security(("bearer" = [])))]
pub async fn create(
    state: web::Data<AppState>,
    req: HttpRequest,
    who: OwnerAuth,
    body: Json<NewPayment>,
) -> ApiResult<HttpResponse> {
    let key = req
        .headers()
        .get("Idempotency-Key")
        .map(|v| v.to_str().map(str::to_string))
        .transpose()
        .map_err(|_| ApiError::BadRequest("Idempotency-Key 格式错误".into(), None))?;
    Ok(HttpResponse::Created().json(orders::create(&state, who.account_id, key, body.0).await?))
}

/// One of the owner's payments; 404 for anyone else's.
#[utoipa::path(get, path = "/api/v1/payments/{id}", tag = "payments", params(("id" = i32, Path)),
    responses((status = 200, body = PaymentView), (status = 404, body = ErrorBody)), security(("bearer" = [])))]
pub async fn get(state: web::Data<AppState>, who: OwnerAuth, id: web::Path<i32>) -> ApiResult<HttpResponse> {
    Ok(HttpResponse::Ok().json(views::owner_payment(&state, who.account_id, id.into_inner()).await?))
}

/// The owner's payments with receipt numbers, newest first.
#[utoipa::path(get, path = "/api/v1/me/payments", tag = "payments", responses((status = 200, body = Vec<PaymentView>)), security(("bearer" = [])))]
pub async fn mine(state: web::Data<AppState>, who: OwnerAuth) -> ApiResult<HttpResponse> {
    Ok(HttpResponse::Ok().json(views::owner_payments(&state, who.account_id).await?))
}

/// Records a cash, POS or bank-transfer payment at the office; answers with the receipt number.
#[utoipa::path(post, path = "/api/v1/staff/payments/counter", tag = "payments", request_body = CounterPayment,
    responses((status = 201, body = PaymentView), (status = 403, body = ErrorBody), (status = 422, body = ErrorBody)), security(("bearer" = [])))]
pub async fn counter(
    state: web::Data<AppState>,
    StaffAuth(ctx): StaffAuth,
    body: Json<CounterPayment>,
) -> ApiResult<HttpResponse> {
    Ok(HttpResponse::Created().json(counter::counter(&state, &ctx, body.0).await?))
}

/// Verified gateway events that matched no order or the wrong amount, and double payments.
#[utoipa::path(get, path = "/api/v1/staff/payment-exceptions", tag = "payments", params(ExceptionQuery),
    responses((status = 200, body = Vec<ExceptionView>), (status = 403, body = ErrorBody)), security(("bearer" = [])))]
pub async fn exceptions(
    state: web::Data<AppState>,
    StaffAuth(ctx): StaffAuth,
    q: Query<ExceptionQuery>,
) -> ApiResult<HttpResponse> {
    Ok(HttpResponse::Ok().json(views::exceptions(&state, &ctx, q.into_inner()).await?))
}

/// WeChat Pay API v3 notification: 204 once recorded (also for a verified mismatch, never credited);
/// 401 `{"code":"FAIL"}` for a bad signature, stale timestamp or repeated header; every other
/// failure (too large, too many, a dependency down) is also `{"code":"FAIL"}`, so WeChat Pay retries.
#[utoipa::path(post, path = "/api/v1/notify/wechatpay", tag = "gateways", request_body(content = String, content_type = "application/json"),
    responses((status = 204), (status = 401, description = "FAIL: signature"), (status = 400, description = "FAIL: retry"),
        (status = 413, description = "FAIL: too large"), (status = 429, description = "FAIL: too many from this source"),
        (status = 503, description = "FAIL: a dependency is down")))]
pub async fn wechatpay(state: web::Data<AppState>, req: HttpRequest, payload: web::Payload) -> HttpResponse {
    let fail = |status: StatusCode, m: &str| {
        HttpResponse::build(status).json(serde_json::json!({"code": "FAIL", "message": m}))
    };
    let answer = async {
        let body = read_body(&req, &mut payload.into_inner(), NOTIFY_LIMIT).await?;
        let headers = |n: &str| {
            req.headers()
                .get_all(n)
                .map(|v| v.to_str().unwrap_or_default().to_string())
                .collect()
        };
        let answer = notifications::wechatpay_notification(&state, &client_ip(&req), headers, &body).await?;
        mandates::settle(&state, answer).await
    };
    match answer.await {
        Ok(NotifyAnswer::Recorded) => HttpResponse::NoContent().finish(),
        Ok(NotifyAnswer::Refused(m)) => fail(StatusCode::UNAUTHORIZED, m),
        Ok(NotifyAnswer::Retry(m)) => fail(StatusCode::BAD_REQUEST, m),
        // Settled above; never answered as done unless it was.
        Ok(NotifyAnswer::Mandate(_)) => fail(StatusCode::BAD_REQUEST, "稍后重试"),
        Err(e) => {
            e.log();
            fail(e.status_code(), &e.message())
        }
    }
}

/// Alipay notification (form-encoded): `success` once recorded; `fail` for a bad signature or a
/// repeated key, and for anything else that should make Alipay retry.
#[utoipa::path(post, path = "/api/v1/notify/alipay", tag = "gateways", request_body(content = String, content_type = "application/x-www-form-urlencoded"),
    responses((status = 200, description = "success"), (status = 400, description = "fail"), (status = 413, description = "fail: too large"),
        (status = 429, description = "fail: too many from this source"), (status = 503, description = "fail: a dependency is down")))]
pub async fn alipay(state: web::Data<AppState>, req: HttpRequest, payload: web::Payload) -> HttpResponse {
    let answer = async {
        let body = read_body(&req, &mut payload.into_inner(), NOTIFY_LIMIT).await?;
        let answer = notifications::alipay_notification(&state, &client_ip(&req), &body).await?;
        mandates::settle(&state, answer).await
    };
    form_answer(answer.await)
}

/// How a form-notification gateway (Alipay, and the demo sandbox that speaks its format) is
/// answered: exactly `success`, else `fail` with the status (so it retries).
fn form_answer(answer: ApiResult<NotifyAnswer>) -> HttpResponse {
    let fail = |status: StatusCode| HttpResponse::build(status).content_type("text/plain").body("fail");
    match answer {
        Ok(NotifyAnswer::Recorded) => HttpResponse::Ok().content_type("text/plain").body("success"),
        Ok(NotifyAnswer::Refused(_) | NotifyAnswer::Retry(_) | NotifyAnswer::Mandate(_)) => {
            fail(StatusCode::BAD_REQUEST)
        }
        Err(e) => {
            e.log();
            fail(e.status_code())
        }
    }
}

/// Refunds all or part of a payment through its channel (finance); paid bills reopen.
#[utoipa::path(post, path = "/api/v1/staff/payments/{id}/refunds", tag = "payments", params(("id" = i32, Path)), request_body = RefundRequest,
    responses((status = 201, body = RefundView), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)), security(("bearer" = [])))]
pub async fn refund(
    state: web::Data<AppState>,
    StaffAuth(ctx): StaffAuth,
    id: web::Path<i32>,
    body: Json<RefundRequest>,
) -> ApiResult<HttpResponse> {
    Ok(HttpResponse::Created().json(refunds::staff_refund(&state, &ctx, id.into_inner(), body.0).await?))
}

/// A payment's refunds, automatic ones included.
#[utoipa::path(get, path = "/api/v1/staff/payments/{id}/refunds", tag = "payments", params(("id" = i32, Path)),
    responses((status = 200, body = Vec<RefundView>), (status = 404, body = ErrorBody)), security(("bearer" = [])))]
pub async fn refunds_of(
    state: web::Data<AppState>,
    StaffAuth(ctx): StaffAuth,
    id: web::Path<i32>,
) -> ApiResult<HttpResponse> {
    Ok(HttpResponse::Ok().json(refunds::list(&state, &ctx, id.into_inner()).await?))
}

/// Confirms that a refund no gateway could make (a bank collection's double debit) was transferred
/// back to the owner (finance), with the bank's reference; it completes once.
#[utoipa::path(post, path = "/api/v1/staff/refunds/{id}/transferred", tag = "payments", params(("id" = i32, Path)), request_body = TransferredRequest,
    responses((status = 200, body = RefundView), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)), security(("bearer" = [])))]
pub async fn refund_transferred(
    state: web::Data<AppState>,
    StaffAuth(ctx): StaffAuth,
    id: web::Path<i32>,
    body: Json<TransferredRequest>,
) -> ApiResult<HttpResponse> {
    Ok(HttpResponse::Ok().json(refunds::confirm_transferred(&state, &ctx, id.into_inner(), body.0).await?))
}

/// The day per channel: orders, paid, amount, refunds, exceptions.
#[utoipa::path(get, path = "/api/v1/staff/payments/summary", tag = "payments", params(SummaryQuery),
    responses((status = 200, body = Vec<ChannelDay>), (status = 404, body = ErrorBody)), security(("bearer" = [])))]
pub async fn summary(
    state: web::Data<AppState>,
    StaffAuth(ctx): StaffAuth,
    q: Query<SummaryQuery>,
) -> ApiResult<HttpResponse> {
    Ok(HttpResponse::Ok().json(views::daily_summary(&state, &ctx, q.into_inner()).await?))
}

/// The owner's e-receipt of one of their payments (409 while it is not paid).
#[utoipa::path(get, path = "/api/v1/payments/{id}/receipt", tag = "payments", params(("id" = i32, Path)),
    responses((status = 200, body = Receipt), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)), security(("bearer" = [])))]
pub async fn receipt(state: web::Data<AppState>, who: OwnerAuth, id: web::Path<i32>) -> ApiResult<HttpResponse> {
    Ok(HttpResponse::Ok().json(receipts::owner_receipt(&state, who.account_id, id.into_inner()).await?))
}

/// The printable receipt: company, community, unit, payer (masked), bills and periods, amount in
/// figures and in 大写, method, receipt number, operator, time and a seal line.
#[utoipa::path(get, path = "/api/v1/staff/payments/{id}/receipt.html", tag = "payments", params(("id" = i32, Path)),
    responses((status = 200, content_type = "text/html", body = String), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)), security(("bearer" = [])))]
pub async fn receipt_html(
    state: web::Data<AppState>,
    StaffAuth(ctx): StaffAuth,
    id: web::Path<i32>,
) -> ApiResult<HttpResponse> {
    let html = receipts::staff_receipt_html(&state, &ctx, id.into_inner()).await?;
    Ok(HttpResponse::Ok().content_type("text/html; charset=utf-8").body(html))
}

/// The demo sandbox's notification (`serve --demo` only), form-encoded and signed like Alipay's with
/// the sandbox's demo-only key: `success` once recorded, `fail` otherwise.
#[utoipa::path(post, path = "/api/v1/notify/sandbox", tag = "gateways", request_body(content = String, content_type = "application/x-www-form-urlencoded"),
    responses((status = 200, description = "success"), (status = 400, description = "fail"), (status = 413, description = "fail: too large"),
        (status = 429, description = "fail: too many from this source"), (status = 503, description = "fail: a dependency is down")))]
pub async fn sandbox(state: web::Data<AppState>, req: HttpRequest, payload: web::Payload) -> HttpResponse {
    let answer = async {
        let body = read_body(&req, &mut payload.into_inner(), NOTIFY_LIMIT).await?;
        notifications::sandbox_notification(&state, &client_ip(&req), &body).await
    };
    form_answer(answer.await)
}
