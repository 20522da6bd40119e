//! Ways out of arrears: installment plans, hardship cases and vacancy discounts — the owner's
//! requests and staff's decisions.
use crate::error::{ApiResult, ErrorBody};
use crate::routes::extract::{Json, OwnerAuth, StaffAuth};
use crate::routes::uploads::serve;
use crate::services::plans::installments::{self, Acceptance, NewRequest, PlanQuery, PlanView, Rejection};
use crate::services::plans::{hardship, keeping, vacancy};
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

/// The client as it names itself (the mini-program's WebView reports WeChat and its version), for
/// the evidence of what an owner signed.
fn client_of(req: &HttpRequest) -> &str {
    req.headers()
        .get(actix_web::http::header::USER_AGENT)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("未知客户端")
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
    let plan = keeping::accept(&state, who.account_id, id.into_inner(), body.0, client_of(&req)).await?;
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

/// Asks for hardship relief (低保, disability, serious illness, sudden crisis) with evidence photos
/// for one of the owner's units; finance decides.
#[utoipa::path(post, path = "/api/v1/me/hardship-requests", tag = "hardship", request_body = hardship::NewCase,
    responses((status = 201, body = hardship::CaseView), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn hardship_request(
    state: web::Data<AppState>,
    who: OwnerAuth,
    body: Json<hardship::NewCase>,
) -> ApiResult<HttpResponse> {
    Ok(HttpResponse::Created().json(hardship::request(&state, who.account_id, body.0).await?))
}

/// The owner's hardship cases, newest first: the decision, the relief and its end date.
#[utoipa::path(get, path = "/api/v1/me/hardship-cases", tag = "hardship",
    responses((status = 200, body = Vec<hardship::CaseView>)), security(("bearer" = [])))]
pub async fn my_hardship(state: web::Data<AppState>, who: OwnerAuth) -> ApiResult<HttpResponse> {
    Ok(HttpResponse::Ok().json(hardship::mine(&state, who.account_id).await?))
}

/// Withdraws a hardship request not yet decided.
#[utoipa::path(delete, path = "/api/v1/me/hardship-cases/{id}", tag = "hardship", params(("id" = i32, Path)),
    responses((status = 200, body = hardship::CaseView), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn withdraw_hardship(
    state: web::Data<AppState>,
    who: OwnerAuth,
    id: web::Path<i32>,
) -> ApiResult<HttpResponse> {
    Ok(HttpResponse::Ok().json(hardship::withdraw(&state, who.account_id, id.into_inner()).await?))
}

/// Signs a deferral's acknowledgment, naming the SHA-256 of the text read: it restarts limitation
/// for the deferred bills.
#[utoipa::path(post, path = "/api/v1/me/hardship-cases/{id}/acknowledge", tag = "hardship", params(("id" = i32, Path)),
    request_body = hardship::Acknowledgment,
    responses((status = 200, body = hardship::CaseView), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn acknowledge_hardship(
    state: web::Data<AppState>,
    who: OwnerAuth,
    id: web::Path<i32>,
    req: HttpRequest,
    body: Json<hardship::Acknowledgment>,
) -> ApiResult<HttpResponse> {
    let c = hardship::acknowledge(&state, who.account_id, id.into_inner(), body.0, client_of(&req)).await?;
    Ok(HttpResponse::Ok().json(c))
}

/// A photo of the owner's own hardship case.
#[utoipa::path(get, path = "/api/v1/me/hardship-cases/{id}/photos/{upload_id}", tag = "hardship",
    params(("id" = i32, Path), ("upload_id" = i32, Path)),
    responses((status = 200, content_type = "image/jpeg", body = Vec<u8>), (status = 404, body = ErrorBody)), security(("bearer" = [])))]
pub async fn my_hardship_photo(
    state: web::Data<AppState>,
    who: OwnerAuth,
    path: web::Path<(i32, i32)>,
) -> ApiResult<HttpResponse> {
    let (id, upload_id) = path.into_inner();
    Ok(serve(
        hardship::photo_for_owner(&state, who.account_id, id, upload_id).await?,
    ))
}

/// A community's hardship cases (finance and admins).
#[utoipa::path(get, path = "/api/v1/staff/hardship-cases", tag = "hardship", params(hardship::CaseQuery),
    responses((status = 200, body = Vec<hardship::CaseView>), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn hardship_cases(
    state: web::Data<AppState>,
    StaffAuth(ctx): StaffAuth,
    q: crate::routes::extract::Query<hardship::CaseQuery>,
) -> ApiResult<HttpResponse> {
    Ok(HttpResponse::Ok().json(hardship::list(&state, &ctx, q.0).await?))
}

/// A photo of a hardship case of the member's communities (finance and admins).
#[utoipa::path(get, path = "/api/v1/staff/hardship-cases/{id}/photos/{upload_id}", tag = "hardship",
    params(("id" = i32, Path), ("upload_id" = i32, Path)),
    responses((status = 200, content_type = "image/jpeg", body = Vec<u8>), (status = 404, body = ErrorBody)), security(("bearer" = [])))]
pub async fn hardship_photo(
    state: web::Data<AppState>,
    StaffAuth(ctx): StaffAuth,
    path: web::Path<(i32, i32)>,
) -> ApiResult<HttpResponse> {
    let (id, upload_id) = path.into_inner();
    Ok(serve(hardship::photo_for_staff(&state, &ctx, id, upload_id).await?))
}

/// Grants a reduction or a deferral for a window of due dates, with a reason (finance and admins).
#[utoipa::path(post, path = "/api/v1/staff/hardship-cases/{id}/approve", tag = "hardship", params(("id" = i32, Path)),
    request_body = hardship::Decision,
    responses((status = 200, body = hardship::CaseView), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn approve_hardship(
    state: web::Data<AppState>,
    StaffAuth(ctx): StaffAuth,
    id: web::Path<i32>,
    body: Json<hardship::Decision>,
) -> ApiResult<HttpResponse> {
    Ok(HttpResponse::Ok().json(hardship::approve(&state, &ctx, id.into_inner(), body.0).await?))
}

/// Refuses a hardship request with a reason the owner reads (finance and admins).
#[utoipa::path(post, path = "/api/v1/staff/hardship-cases/{id}/reject", tag = "hardship", params(("id" = i32, Path)),
    request_body = hardship::Note,
    responses((status = 200, body = hardship::CaseView), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn reject_hardship(
    state: web::Data<AppState>,
    StaffAuth(ctx): StaffAuth,
    id: web::Path<i32>,
    body: Json<hardship::Note>,
) -> ApiResult<HttpResponse> {
    Ok(HttpResponse::Ok().json(hardship::reject(&state, &ctx, id.into_inner(), body.0).await?))
}

/// Records the review of a case whose window is over (finance and admins).
#[utoipa::path(post, path = "/api/v1/staff/hardship-cases/{id}/review", tag = "hardship", params(("id" = i32, Path)),
    request_body = hardship::Note,
    responses((status = 200, body = hardship::CaseView), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn review_hardship(
    state: web::Data<AppState>,
    StaffAuth(ctx): StaffAuth,
    id: web::Path<i32>,
    body: Json<hardship::Note>,
) -> ApiResult<HttpResponse> {
    Ok(HttpResponse::Ok().json(hardship::review(&state, &ctx, id.into_inner(), body.0).await?))
}

/// A community's vacancy policy (finance and admins); 404 when it has none.
#[utoipa::path(get, path = "/api/v1/staff/communities/{id}/vacancy-policy", tag = "vacancy", params(("id" = i32, Path)),
    responses((status = 200, body = vacancy::PolicyBody), (status = 404, body = ErrorBody)), security(("bearer" = [])))]
pub async fn vacancy_policy(
    state: web::Data<AppState>,
    StaffAuth(ctx): StaffAuth,
    id: web::Path<i32>,
) -> ApiResult<HttpResponse> {
    Ok(HttpResponse::Ok().json(vacancy::get_policy(&state, &ctx, id.into_inner()).await?))
}

/// Sets a community's vacancy policy: a percentage off the area-based property fee, at most so many
/// months a calendar year (finance and admins).
#[utoipa::path(put, path = "/api/v1/staff/communities/{id}/vacancy-policy", tag = "vacancy", params(("id" = i32, Path)),
    request_body = vacancy::PolicyBody,
    responses((status = 200, body = vacancy::PolicyBody), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn put_vacancy_policy(
    state: web::Data<AppState>,
    StaffAuth(ctx): StaffAuth,
    id: web::Path<i32>,
    body: Json<vacancy::PolicyBody>,
) -> ApiResult<HttpResponse> {
    Ok(HttpResponse::Ok().json(vacancy::put_policy(&state, &ctx, id.into_inner(), body.0).await?))
}

/// Applies for the vacancy discount for one of the owner's units from a month on.
#[utoipa::path(post, path = "/api/v1/me/vacancy-requests", tag = "vacancy", request_body = vacancy::NewApplication,
    responses((status = 201, body = vacancy::ApplicationView), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn vacancy_request(
    state: web::Data<AppState>,
    who: OwnerAuth,
    body: Json<vacancy::NewApplication>,
) -> ApiResult<HttpResponse> {
    Ok(HttpResponse::Created().json(vacancy::request(&state, who.account_id, body.0).await?))
}

/// The owner's vacancy applications, newest first: status, terms, the bills discounted.
#[utoipa::path(get, path = "/api/v1/me/vacancy-applications", tag = "vacancy",
    responses((status = 200, body = Vec<vacancy::ApplicationView>)), security(("bearer" = [])))]
pub async fn my_vacancy(state: web::Data<AppState>, who: OwnerAuth) -> ApiResult<HttpResponse> {
    Ok(HttpResponse::Ok().json(vacancy::mine(&state, who.account_id).await?))
}

/// Withdraws an application not yet decided, or ends an approved one (the owner moved in).
#[utoipa::path(delete, path = "/api/v1/me/vacancy-applications/{id}", tag = "vacancy", params(("id" = i32, Path)),
    responses((status = 200, body = vacancy::ApplicationView), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn withdraw_vacancy(
    state: web::Data<AppState>,
    who: OwnerAuth,
    id: web::Path<i32>,
) -> ApiResult<HttpResponse> {
    Ok(HttpResponse::Ok().json(vacancy::withdraw(&state, who.account_id, id.into_inner()).await?))
}

/// A community's vacancy applications (finance and admins; collectors, who inspect).
#[utoipa::path(get, path = "/api/v1/staff/vacancy-applications", tag = "vacancy", params(vacancy::ApplicationQuery),
    responses((status = 200, body = Vec<vacancy::ApplicationView>), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn vacancy_applications(
    state: web::Data<AppState>,
    StaffAuth(ctx): StaffAuth,
    q: crate::routes::extract::Query<vacancy::ApplicationQuery>,
) -> ApiResult<HttpResponse> {
    Ok(HttpResponse::Ok().json(vacancy::list(&state, &ctx, q.0).await?))
}

/// An inspection photo of an application of the member's communities.
#[utoipa::path(get, path = "/api/v1/staff/vacancy-applications/{id}/photos/{upload_id}", tag = "vacancy",
    params(("id" = i32, Path), ("upload_id" = i32, Path)),
    responses((status = 200, content_type = "image/jpeg", body = Vec<u8>), (status = 404, body = ErrorBody)), security(("bearer" = [])))]
pub async fn vacancy_photo(
    state: web::Data<AppState>,
    StaffAuth(ctx): StaffAuth,
    path: web::Path<(i32, i32)>,
) -> ApiResult<HttpResponse> {
    let (id, upload_id) = path.into_inner();
    Ok(serve(vacancy::photo(&state, &ctx, id, upload_id).await?))
}

/// Records the inspection of a unit: found vacant or not, a note and photos (collectors, finance and
/// admins); once.
#[utoipa::path(post, path = "/api/v1/staff/vacancy-applications/{id}/inspection", tag = "vacancy", params(("id" = i32, Path)),
    request_body = vacancy::Inspection,
    responses((status = 200, body = vacancy::ApplicationView), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn inspect_vacancy(
    state: web::Data<AppState>,
    StaffAuth(ctx): StaffAuth,
    id: web::Path<i32>,
    body: Json<vacancy::Inspection>,
) -> ApiResult<HttpResponse> {
    Ok(HttpResponse::Ok().json(vacancy::inspect(&state, &ctx, id.into_inner(), body.0).await?))
}

/// Grants an inspected, found-vacant application under the community's policy (finance and admins).
#[utoipa::path(post, path = "/api/v1/staff/vacancy-applications/{id}/approve", tag = "vacancy", params(("id" = i32, Path)),
    request_body = vacancy::Reasoned,
    responses((status = 200, body = vacancy::ApplicationView), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn approve_vacancy(
    state: web::Data<AppState>,
    StaffAuth(ctx): StaffAuth,
    id: web::Path<i32>,
    body: Json<vacancy::Reasoned>,
) -> ApiResult<HttpResponse> {
    Ok(HttpResponse::Ok().json(vacancy::approve(&state, &ctx, id.into_inner(), body.0).await?))
}

/// Refuses an application with a reason the owner reads (finance and admins).
#[utoipa::path(post, path = "/api/v1/staff/vacancy-applications/{id}/reject", tag = "vacancy", params(("id" = i32, Path)),
    request_body = vacancy::Reasoned,
    responses((status = 200, body = vacancy::ApplicationView), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn reject_vacancy(
    state: web::Data<AppState>,
    StaffAuth(ctx): StaffAuth,
    id: web::Path<i32>,
    body: Json<vacancy::Reasoned>,
) -> ApiResult<HttpResponse> {
    Ok(HttpResponse::Ok().json(vacancy::reject(&state, &ctx, id.into_inner(), body.0).await?))
}
