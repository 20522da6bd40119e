//! Reminders, holds, follow-up tasks, evidence, limitation alerts and case files for staff.
use crate::domain::reminders::Policy;
use crate::error::{ApiResult, ErrorBody};
use crate::routes::extract::{Json, Query, StaffAuth};
use crate::services::collection::arrears_notice;
use crate::services::collection::casefile::{self, AlertQuery, CaseFile, LimitationAlert};
use crate::services::collection::evidence::{self, EvidenceView, Verification};
use crate::services::collection::holds::{self, EndHold, HoldQuery, HoldView, NewHold};
use crate::services::collection::reminders::pass::{self, RunReport, RunRequest};
use crate::services::collection::reminders::{self, policy};
use crate::services::collection::tasks::{self, ContactRecorded, NewContact, TaskQuery, TaskView};
use crate::services::setup::Page;
use crate::state::AppState;
use actix_web::{web, HttpResponse};

/// A community's reminder policy (API.md's defaults until one is saved).
#[utoipa::path(get, path = "/api/v1/staff/communities/{id}/reminder-policy", tag = "staff-reminders", params(("id" = i32, Path)),
    responses((status = 200, body = Policy), (status = 404, body = ErrorBody)), security(("bearer" = [])))]
pub async fn get_policy(
    state: web::Data<AppState>,
    StaffAuth(ctx): StaffAuth,
    id: web::Path<i32>,
) -> ApiResult<HttpResponse> {
    Ok(HttpResponse::Ok().json(policy::get_policy(&state, &ctx, id.into_inner()).await?))
}

/// Replaces a community's reminder policy.
#[utoipa::path(put, path = "/api/v1/staff/communities/{id}/reminder-policy", tag = "staff-reminders", params(("id" = i32, Path)), request_body = Policy,
    responses((status = 200, body = Policy), (status = 403, body = ErrorBody), (status = 422, body = ErrorBody)), security(("bearer" = [])))]
pub async fn put_policy(
    state: web::Data<AppState>,
    StaffAuth(ctx): StaffAuth,
    id: web::Path<i32>,
    body: Json<Policy>,
) -> ApiResult<HttpResponse> {
    Ok(HttpResponse::Ok().json(policy::put_policy(&state, &ctx, id.into_inner(), body.0).await?))
}

/// Runs one reminder pass now (the scheduler also runs by itself).
#[utoipa::path(post, path = "/api/v1/staff/reminder-runs", tag = "staff-reminders", request_body = RunRequest,
    responses((status = 200, body = RunReport), (status = 403, body = ErrorBody)), security(("bearer" = [])))]
pub async fn run(
    state: web::Data<AppState>,
    StaffAuth(ctx): StaffAuth,
    body: Json<RunRequest>,
) -> ApiResult<HttpResponse> {
    Ok(HttpResponse::Ok().json(pass::run_now(&state, &ctx, body.0, &crate::progress::Progress::none()).await?))
}

/// Holds bills or a whole unit out of reminders until a date.
#[utoipa::path(post, path = "/api/v1/staff/holds", tag = "staff-reminders", request_body = NewHold,
    responses((status = 201, body = Vec<HoldView>), (status = 422, body = ErrorBody)), security(("bearer" = [])))]
pub async fn create_hold(
    state: web::Data<AppState>,
    StaffAuth(ctx): StaffAuth,
    body: Json<NewHold>,
) -> ApiResult<HttpResponse> {
    Ok(HttpResponse::Created().json(holds::create_hold(&state, &ctx, body.0).await?))
}

/// Holds in force today.
#[utoipa::path(get, path = "/api/v1/staff/holds", tag = "staff-reminders", params(HoldQuery),
    responses((status = 200, body = Page<HoldView>), (status = 422, body = ErrorBody)), security(("bearer" = [])))]
pub async fn list_holds(
    state: web::Data<AppState>,
    StaffAuth(ctx): StaffAuth,
    q: Query<HoldQuery>,
) -> ApiResult<HttpResponse> {
    Ok(HttpResponse::Ok().json(holds::list_holds(&state, &ctx, q.into_inner()).await?))
}

/// Ends a hold before its date (reason required; audited, kept as evidence): reminders and the
/// tasks it suspended resume.
#[utoipa::path(delete, path = "/api/v1/staff/holds/{id}", tag = "staff-reminders", params(("id" = i32, Path)), request_body = EndHold,
    responses((status = 200, body = HoldView), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)), security(("bearer" = [])))]
pub async fn end_hold(
    state: web::Data<AppState>,
    StaffAuth(ctx): StaffAuth,
    id: web::Path<i32>,
    body: Json<EndHold>,
) -> ApiResult<HttpResponse> {
    Ok(HttpResponse::Ok().json(holds::end_hold(&state, &ctx, id.into_inner(), body.0).await?))
}

/// The follow-up queue: calls, visits and printed notices to deliver.
#[utoipa::path(get, path = "/api/v1/staff/tasks", tag = "staff-reminders", params(TaskQuery),
    responses((status = 200, body = Page<TaskView>), (status = 422, body = ErrorBody)), security(("bearer" = [])))]
pub async fn list_tasks(
    state: web::Data<AppState>,
    StaffAuth(ctx): StaffAuth,
    q: Query<TaskQuery>,
) -> ApiResult<HttpResponse> {
    Ok(HttpResponse::Ok().json(tasks::list_tasks(&state, &ctx, q.into_inner()).await?))
}

/// Records a call, visit or printed-notice delivery (completing its task), as evidence.
#[utoipa::path(post, path = "/api/v1/staff/contacts", tag = "staff-reminders", request_body = NewContact,
    responses((status = 201, body = ContactRecorded), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)), security(("bearer" = [])))]
pub async fn contact(
    state: web::Data<AppState>,
    StaffAuth(ctx): StaffAuth,
    body: Json<NewContact>,
) -> ApiResult<HttpResponse> {
    Ok(HttpResponse::Created().json(tasks::record_contact(&state, &ctx, body.0).await?))
}

/// A unit's evidence chain, oldest first.
#[utoipa::path(get, path = "/api/v1/staff/units/{id}/evidence", tag = "staff-reminders", params(("id" = i32, Path)),
    responses((status = 200, body = Vec<EvidenceView>), (status = 404, body = ErrorBody)), security(("bearer" = [])))]
pub async fn evidence_list(
    state: web::Data<AppState>,
    StaffAuth(ctx): StaffAuth,
    id: web::Path<i32>,
) -> ApiResult<HttpResponse> {
    Ok(HttpResponse::Ok().json(evidence::list(&state, &ctx, id.into_inner()).await?))
}

/// Checks a unit's evidence chain for edited, deleted or reordered records.
#[utoipa::path(get, path = "/api/v1/staff/units/{id}/evidence/verify", tag = "staff-reminders", params(("id" = i32, Path)),
    responses((status = 200, body = Verification), (status = 404, body = ErrorBody)), security(("bearer" = [])))]
pub async fn evidence_verify(
    state: web::Data<AppState>,
    StaffAuth(ctx): StaffAuth,
    id: web::Path<i32>,
) -> ApiResult<HttpResponse> {
    Ok(HttpResponse::Ok().json(evidence::verify(&state, &ctx, id.into_inner()).await?))
}

/// The court-ready case file of a unit.
#[utoipa::path(get, path = "/api/v1/staff/units/{id}/case-file", tag = "staff-reminders", params(("id" = i32, Path)),
    responses((status = 200, body = CaseFile), (status = 404, body = ErrorBody)), security(("bearer" = [])))]
pub async fn case_file(
    state: web::Data<AppState>,
    StaffAuth(ctx): StaffAuth,
    id: web::Path<i32>,
) -> ApiResult<HttpResponse> {
    Ok(HttpResponse::Ok().json(casefile::case_file(&state, &ctx, id.into_inner()).await?))
}

/// The case file as a printable page.
#[utoipa::path(get, path = "/api/v1/staff/units/{id}/case-file.html", tag = "staff-reminders", params(("id" = i32, Path)),
    responses((status = 200, content_type = "text/html"), (status = 404, body = ErrorBody)), security(("bearer" = [])))]
pub async fn case_file_html(
    state: web::Data<AppState>,
    StaffAuth(ctx): StaffAuth,
    id: web::Path<i32>,
) -> ApiResult<HttpResponse> {
    let f = casefile::case_file(&state, &ctx, id.into_inner()).await?;
    Ok(HttpResponse::Ok()
        .content_type("text/html; charset=utf-8")
        .body(casefile::case_file_html(&f)))
}

/// Unpaid bills whose three-year limitation period ends within 90 days.
#[utoipa::path(get, path = "/api/v1/staff/limitation-alerts", tag = "staff-reminders", params(AlertQuery),
    responses((status = 200, body = Vec<LimitationAlert>), (status = 404, body = ErrorBody)), security(("bearer" = [])))]
pub async fn limitation_alerts(
    state: web::Data<AppState>,
    StaffAuth(ctx): StaffAuth,
    q: Query<AlertQuery>,
) -> ApiResult<HttpResponse> {
    Ok(HttpResponse::Ok().json(casefile::limitation_alerts(&state, &ctx, q.into_inner()).await?))
}

/// The printable notice of a printed-notice task (amount, basis, QR code to pay, receipt).
#[utoipa::path(get, path = "/api/v1/staff/tasks/{id}/notice.html", tag = "staff-reminders", params(("id" = i32, Path)),
    responses((status = 200, content_type = "text/html"), (status = 404, body = ErrorBody)), security(("bearer" = [])))]
pub async fn notice_html(
    state: web::Data<AppState>,
    StaffAuth(ctx): StaffAuth,
    id: web::Path<i32>,
) -> ApiResult<HttpResponse> {
    let page = crate::services::collection::notices::task_notice_html(&state, &ctx, id.into_inner()).await?;
    Ok(HttpResponse::Ok().content_type("text/html; charset=utf-8").body(page))
}

/// A community's reminders (what was sent to whom, when, how), newest first.
#[utoipa::path(get, path = "/api/v1/staff/reminders", tag = "staff-reminders", params(reminders::ReminderQuery),
    responses((status = 200, body = crate::services::setup::Page<reminders::ReminderView>), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)), security(("bearer" = [])))]
pub async fn list_reminders(
    state: web::Data<AppState>,
    StaffAuth(ctx): StaffAuth,
    q: Query<reminders::ReminderQuery>,
) -> ApiResult<HttpResponse> {
    Ok(HttpResponse::Ok().json(reminders::list(&state, &ctx, q.into_inner()).await?))
}

/// The public arrears notice as it stands today: masked unit codes and amounts of old arrears
/// only, units kept off by a clause (dispute, plan, hardship) left out; with its legal review.
#[utoipa::path(get, path = "/api/v1/staff/reports/arrears-notice", tag = "staff-reminders", params(arrears_notice::NoticeQuery),
    responses((status = 200, body = arrears_notice::ArrearsNotice), (status = 404, body = ErrorBody)), security(("bearer" = [])))]
pub async fn arrears_notice(
    state: web::Data<AppState>,
    StaffAuth(ctx): StaffAuth,
    q: Query<arrears_notice::NoticeQuery>,
) -> ApiResult<HttpResponse> {
    Ok(HttpResponse::Ok().json(arrears_notice::notice(&state, &ctx, q.into_inner()).await?))
}

/// The notice as a printable page: only once an admin recorded its legal review (409 otherwise);
/// each print is recorded.
#[utoipa::path(get, path = "/api/v1/staff/reports/arrears-notice.html", tag = "staff-reminders", params(arrears_notice::NoticeQuery),
    responses((status = 200, content_type = "text/html"), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn arrears_notice_html(
    state: web::Data<AppState>,
    StaffAuth(ctx): StaffAuth,
    q: Query<arrears_notice::NoticeQuery>,
) -> ApiResult<HttpResponse> {
    let page = arrears_notice::print_html(&state, &ctx, q.into_inner()).await?;
    Ok(HttpResponse::Ok().content_type("text/html; charset=utf-8").body(page))
}

/// Records the legal review of a community's arrears notice (admins).
#[utoipa::path(put, path = "/api/v1/staff/communities/{id}/arrears-notice-review", tag = "staff-reminders", params(("id" = i32, Path)),
    request_body = arrears_notice::ReviewBody,
    responses((status = 200, body = arrears_notice::ReviewView), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn set_arrears_notice_review(
    state: web::Data<AppState>,
    StaffAuth(ctx): StaffAuth,
    id: web::Path<i32>,
    body: Json<arrears_notice::ReviewBody>,
) -> ApiResult<HttpResponse> {
    Ok(HttpResponse::Ok().json(arrears_notice::set_review(&state, &ctx, id.into_inner(), body.0).await?))
}

/// Withdraws the legal review (admins): nothing can be printed until it is given again.
#[utoipa::path(delete, path = "/api/v1/staff/communities/{id}/arrears-notice-review", tag = "staff-reminders", params(("id" = i32, Path)),
    responses((status = 204), (status = 404, body = ErrorBody)), security(("bearer" = [])))]
pub async fn withdraw_arrears_notice_review(
    state: web::Data<AppState>,
    StaffAuth(ctx): StaffAuth,
    id: web::Path<i32>,
) -> ApiResult<HttpResponse> {
    arrears_notice::withdraw_review(&state, &ctx, id.into_inner()).await?;
    Ok(HttpResponse::NoContent().finish())
}
