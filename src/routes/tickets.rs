//! Tickets: owners open and follow theirs; staff work the queue; each community's SLA settings.
use crate::error::{ApiResult, ErrorBody};
use crate::routes::extract::{Json, OwnerAuth, Query, StaffAuth};
use crate::routes::uploads::serve;
use crate::services::setup::Page;
use crate::services::tickets::adjustments::{self, AdjustmentQuery, AdjustmentView, Approval, NewAdjustment, Refusal};
use crate::services::tickets::clock::{self, SlaSettings};
use crate::services::tickets::owner::{self, MyTicketsQuery, NewTicket, OwnerMessage, Rating, Reopen};
use crate::services::tickets::staff::{self, Assign, Merge, Resolve, StaffMessage, StaffTicketQuery};
use crate::services::tickets::TicketView;
use crate::state::AppState;
use actix_web::{web, HttpResponse};

/// Opens a ticket for one of the owner's units; its SLA clock starts now.
#[utoipa::path(post, path = "/api/v1/me/tickets", tag = "tickets", request_body = NewTicket,
    responses((status = 201, body = TicketView), (status = 422, body = ErrorBody)), security(("bearer" = [])))]
pub async fn open(state: web::Data<AppState>, who: OwnerAuth, body: Json<NewTicket>) -> ApiResult<HttpResponse> {
    Ok(HttpResponse::Created().json(owner::open(&state, who.account_id, body.0).await?))
}

/// The owner's own tickets, newest first.
#[utoipa::path(get, path = "/api/v1/me/tickets", tag = "tickets", params(MyTicketsQuery),
    responses((status = 200, body = Page<TicketView>)), security(("bearer" = [])))]
pub async fn mine(state: web::Data<AppState>, who: OwnerAuth, q: Query<MyTicketsQuery>) -> ApiResult<HttpResponse> {
    Ok(HttpResponse::Ok().json(owner::list(&state, who.account_id, q.into_inner()).await?))
}

/// One of the owner's tickets with its thread (never staff-only notes).
#[utoipa::path(get, path = "/api/v1/me/tickets/{id}", tag = "tickets", params(("id" = i32, Path)),
    responses((status = 200, body = TicketView), (status = 404, body = ErrorBody)), security(("bearer" = [])))]
pub async fn my_ticket(state: web::Data<AppState>, who: OwnerAuth, id: web::Path<i32>) -> ApiResult<HttpResponse> {
    Ok(HttpResponse::Ok().json(owner::get(&state, who.account_id, id.into_inner()).await?))
}

/// The owner answers in the thread; a clock waiting for them runs again.
#[utoipa::path(post, path = "/api/v1/me/tickets/{id}/messages", tag = "tickets", params(("id" = i32, Path)), request_body = OwnerMessage,
    responses((status = 201, body = TicketView), (status = 409, body = ErrorBody)), security(("bearer" = [])))]
pub async fn owner_message(
    state: web::Data<AppState>,
    who: OwnerAuth,
    id: web::Path<i32>,
    body: Json<OwnerMessage>,
) -> ApiResult<HttpResponse> {
    Ok(HttpResponse::Created().json(owner::reply(&state, who.account_id, id.into_inner(), body.0).await?))
}

/// Rates the resolution 1–5, once, while the ticket stands resolved.
#[utoipa::path(post, path = "/api/v1/me/tickets/{id}/rating", tag = "tickets", params(("id" = i32, Path)), request_body = Rating,
    responses((status = 200, body = TicketView), (status = 409, body = ErrorBody)), security(("bearer" = [])))]
pub async fn rate(
    state: web::Data<AppState>,
    who: OwnerAuth,
    id: web::Path<i32>,
    body: Json<Rating>,
) -> ApiResult<HttpResponse> {
    Ok(HttpResponse::Ok().json(owner::rate(&state, who.account_id, id.into_inner(), body.0).await?))
}

/// Reopens a resolved ticket within 7 days of its resolution.
#[utoipa::path(post, path = "/api/v1/me/tickets/{id}/reopen", tag = "tickets", params(("id" = i32, Path)), request_body = Reopen,
    responses((status = 200, body = TicketView), (status = 409, body = ErrorBody)), security(("bearer" = [])))]
pub async fn reopen(
    state: web::Data<AppState>,
    who: OwnerAuth,
    id: web::Path<i32>,
    body: Json<Reopen>,
) -> ApiResult<HttpResponse> {
    Ok(HttpResponse::Ok().json(owner::reopen(&state, who.account_id, id.into_inner(), body.0).await?))
}

/// "转人工": an enquiry answered at once goes to staff, and its SLA clock starts now.
#[utoipa::path(post, path = "/api/v1/me/tickets/{id}/handoff", tag = "tickets", params(("id" = i32, Path)),
    responses((status = 200, body = TicketView), (status = 409, body = ErrorBody)), security(("bearer" = [])))]
pub async fn handoff(state: web::Data<AppState>, who: OwnerAuth, id: web::Path<i32>) -> ApiResult<HttpResponse> {
    Ok(HttpResponse::Ok().json(owner::handoff(&state, who.account_id, id.into_inner()).await?))
}

/// A photo of the owner's ticket (not of a staff-only note).
#[utoipa::path(get, path = "/api/v1/me/tickets/{id}/photos/{upload_id}", tag = "tickets", params(("id" = i32, Path), ("upload_id" = i32, Path)),
    responses((status = 200, content_type = "image/jpeg", body = Vec<u8>), (status = 404, body = ErrorBody)), security(("bearer" = [])))]
pub async fn my_photo(
    state: web::Data<AppState>,
    who: OwnerAuth,
    path: web::Path<(i32, i32)>,
) -> ApiResult<HttpResponse> {
    let (id, upload_id) = path.into_inner();
    Ok(serve(owner::photo(&state, who.account_id, id, upload_id).await?))
}

/// The queue of the member's communities, soonest SLA deadline first.
#[utoipa::path(get, path = "/api/v1/staff/tickets", tag = "staff-tickets", params(StaffTicketQuery),
    responses((status = 200, body = Page<TicketView>)), security(("bearer" = [])))]
pub async fn queue(
    state: web::Data<AppState>,
    StaffAuth(ctx): StaffAuth,
    q: Query<StaffTicketQuery>,
) -> ApiResult<HttpResponse> {
    Ok(HttpResponse::Ok().json(staff::queue(&state, &ctx, q.into_inner()).await?))
}

/// One ticket with its whole thread, staff-only notes included.
#[utoipa::path(get, path = "/api/v1/staff/tickets/{id}", tag = "staff-tickets", params(("id" = i32, Path)),
    responses((status = 200, body = TicketView)), security(("bearer" = [])))]
pub async fn get(state: web::Data<AppState>, StaffAuth(ctx): StaffAuth, id: web::Path<i32>) -> ApiResult<HttpResponse> {
    Ok(HttpResponse::Ok().json(staff::get(&state, &ctx, id.into_inner()).await?))
}

/// Assigns a ticket to a service member of its community.
#[utoipa::path(post, path = "/api/v1/staff/tickets/{id}/assign", tag = "staff-tickets", params(("id" = i32, Path)), request_body = Assign,
    responses((status = 200, body = TicketView)), security(("bearer" = [])))]
pub async fn assign(
    state: web::Data<AppState>,
    StaffAuth(ctx): StaffAuth,
    id: web::Path<i32>,
    body: Json<Assign>,
) -> ApiResult<HttpResponse> {
    Ok(HttpResponse::Ok().json(staff::assign(&state, &ctx, id.into_inner(), body.0).await?))
}

/// A reply to the owner (told through their channels) or a staff-only note.
#[utoipa::path(post, path = "/api/v1/staff/tickets/{id}/messages", tag = "staff-tickets", params(("id" = i32, Path)), request_body = StaffMessage,
    responses((status = 201, body = TicketView), (status = 409, body = ErrorBody)), security(("bearer" = [])))]
pub async fn staff_message(
    state: web::Data<AppState>,
    StaffAuth(ctx): StaffAuth,
    id: web::Path<i32>,
    body: Json<StaffMessage>,
) -> ApiResult<HttpResponse> {
    Ok(HttpResponse::Created().json(staff::message(&state, &ctx, id.into_inner(), body.0).await?))
}

/// Resolves a ticket with what was done; the owner is told and may rate or reopen it.
#[utoipa::path(post, path = "/api/v1/staff/tickets/{id}/resolve", tag = "staff-tickets", params(("id" = i32, Path)), request_body = Resolve,
    responses((status = 200, body = TicketView), (status = 409, body = ErrorBody)), security(("bearer" = [])))]
pub async fn resolve(
    state: web::Data<AppState>,
    StaffAuth(ctx): StaffAuth,
    id: web::Path<i32>,
    body: Json<Resolve>,
) -> ApiResult<HttpResponse> {
    Ok(HttpResponse::Ok().json(staff::resolve(&state, &ctx, id.into_inner(), body.0).await?))
}

/// Folds a duplicate into another open ticket of the same community.
#[utoipa::path(post, path = "/api/v1/staff/tickets/{id}/merge", tag = "staff-tickets", params(("id" = i32, Path)), request_body = Merge,
    responses((status = 200, body = TicketView), (status = 409, body = ErrorBody)), security(("bearer" = [])))]
pub async fn merge(
    state: web::Data<AppState>,
    StaffAuth(ctx): StaffAuth,
    id: web::Path<i32>,
    body: Json<Merge>,
) -> ApiResult<HttpResponse> {
    Ok(HttpResponse::Ok().json(staff::merge(&state, &ctx, id.into_inner(), body.0).await?))
}

/// Asks finance to correct one of a dispute's bills (waive late fee, new principal, or withdraw it);
/// the ticket cannot be resolved until finance decides.
#[utoipa::path(post, path = "/api/v1/staff/tickets/{id}/adjustments", tag = "staff-tickets", params(("id" = i32, Path)), request_body = NewAdjustment,
    responses((status = 201, body = TicketView), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)), security(("bearer" = [])))]
pub async fn request_adjustment(
    state: web::Data<AppState>,
    StaffAuth(ctx): StaffAuth,
    id: web::Path<i32>,
    body: Json<NewAdjustment>,
) -> ApiResult<HttpResponse> {
    Ok(HttpResponse::Created().json(adjustments::request(&state, &ctx, id.into_inner(), body.0).await?))
}

/// Finance's queue of requested bill corrections (pending first by default).
#[utoipa::path(get, path = "/api/v1/staff/adjustments", tag = "staff-tickets", params(AdjustmentQuery),
    responses((status = 200, body = Page<AdjustmentView>)), security(("bearer" = [])))]
pub async fn adjustment_queue(
    state: web::Data<AppState>,
    StaffAuth(ctx): StaffAuth,
    q: Query<AdjustmentQuery>,
) -> ApiResult<HttpResponse> {
    Ok(HttpResponse::Ok().json(adjustments::queue(&state, &ctx, q.into_inner()).await?))
}

/// One requested bill correction.
#[utoipa::path(get, path = "/api/v1/staff/adjustments/{id}", tag = "staff-tickets", params(("id" = i32, Path)),
    responses((status = 200, body = AdjustmentView), (status = 404, body = ErrorBody)), security(("bearer" = [])))]
pub async fn adjustment(
    state: web::Data<AppState>,
    StaffAuth(ctx): StaffAuth,
    id: web::Path<i32>,
) -> ApiResult<HttpResponse> {
    Ok(HttpResponse::Ok().json(adjustments::get(&state, &ctx, id.into_inner()).await?))
}

/// Finance approves: the ledger applies the correction with the ticket as its reason.
#[utoipa::path(post, path = "/api/v1/staff/adjustments/{id}/approve", tag = "staff-tickets", params(("id" = i32, Path)), request_body = Approval,
    responses((status = 200, body = AdjustmentView), (status = 409, body = ErrorBody)), security(("bearer" = [])))]
pub async fn approve_adjustment(
    state: web::Data<AppState>,
    StaffAuth(ctx): StaffAuth,
    id: web::Path<i32>,
    body: Json<Approval>,
) -> ApiResult<HttpResponse> {
    Ok(HttpResponse::Ok().json(adjustments::approve(&state, &ctx, id.into_inner(), body.0).await?))
}

/// Finance refuses, saying why; nothing changes on the bill.
#[utoipa::path(post, path = "/api/v1/staff/adjustments/{id}/reject", tag = "staff-tickets", params(("id" = i32, Path)), request_body = Refusal,
    responses((status = 200, body = AdjustmentView), (status = 409, body = ErrorBody)), security(("bearer" = [])))]
pub async fn reject_adjustment(
    state: web::Data<AppState>,
    StaffAuth(ctx): StaffAuth,
    id: web::Path<i32>,
    body: Json<Refusal>,
) -> ApiResult<HttpResponse> {
    Ok(HttpResponse::Ok().json(adjustments::reject(&state, &ctx, id.into_inner(), body.0).await?))
}

/// A photo of a ticket the member may read.
#[utoipa::path(get, path = "/api/v1/staff/tickets/{id}/photos/{upload_id}", tag = "staff-tickets", params(("id" = i32, Path), ("upload_id" = i32, Path)),
    responses((status = 200, content_type = "image/jpeg", body = Vec<u8>), (status = 404, body = ErrorBody)), security(("bearer" = [])))]
pub async fn staff_photo(
    state: web::Data<AppState>,
    StaffAuth(ctx): StaffAuth,
    path: web::Path<(i32, i32)>,
) -> ApiResult<HttpResponse> {
    let (id, upload_id) = path.into_inner();
    Ok(serve(staff::photo(&state, &ctx, id, upload_id).await?))
}

/// A community's SLA budgets per ticket category (company defaults where none are set).
#[utoipa::path(get, path = "/api/v1/staff/communities/{id}/ticket-sla", tag = "staff-tickets", params(("id" = i32, Path)),
    responses((status = 200, body = SlaSettings)), security(("bearer" = [])))]
pub async fn get_sla(
    state: web::Data<AppState>,
    StaffAuth(ctx): StaffAuth,
    id: web::Path<i32>,
) -> ApiResult<HttpResponse> {
    Ok(HttpResponse::Ok().json(clock::get_settings(&state, &ctx, id.into_inner()).await?))
}

/// Replaces a community's SLA budgets (admins); tickets already open keep their deadlines.
#[utoipa::path(put, path = "/api/v1/staff/communities/{id}/ticket-sla", tag = "staff-tickets", params(("id" = i32, Path)), request_body = SlaSettings,
    responses((status = 200, body = SlaSettings)), security(("bearer" = [])))]
pub async fn put_sla(
    state: web::Data<AppState>,
    StaffAuth(ctx): StaffAuth,
    id: web::Path<i32>,
    body: Json<SlaSettings>,
) -> ApiResult<HttpResponse> {
    Ok(HttpResponse::Ok().json(clock::put_settings(&state, &ctx, id.into_inner(), body.0).await?))
}
