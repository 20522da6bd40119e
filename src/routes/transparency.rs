//! Fee transparency: finance publishes monthly income and expense reports; owners read their
//! community's.
use crate::error::{ApiResult, ErrorBody};
use crate::routes::extract::{Json, OwnerAuth, Query, StaffAuth};
use crate::routes::uploads::serve;
use crate::services::transparency::{self, NewReport, OwnerQuery, Publication, ReportView};
use crate::state::AppState;
use actix_web::{web, HttpResponse};

/// Publishes a month's income and expense report, or its correction (the next version); finance
/// and admins.
#[utoipa::path(post, path = "/api/v1/staff/communities/{id}/finance-reports", tag = "transparency", params(("id" = i32, Path)),
    request_body = NewReport,
    responses((status = 201, body = ReportView), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn publish(
    state: web::Data<AppState>,
    StaffAuth(ctx): StaffAuth,
    id: web::Path<i32>,
    body: Json<NewReport>,
) -> ApiResult<HttpResponse> {
    Ok(HttpResponse::Created().json(transparency::publish(&state, &ctx, id.into_inner(), body.0).await?))
}

/// A community's reports (every version) and the recent months with none; finance and admins.
#[utoipa::path(get, path = "/api/v1/staff/communities/{id}/finance-reports", tag = "transparency", params(("id" = i32, Path)),
    responses((status = 200, body = Publication), (status = 404, body = ErrorBody)), security(("bearer" = [])))]
pub async fn publication(
    state: web::Data<AppState>,
    StaffAuth(ctx): StaffAuth,
    id: web::Path<i32>,
) -> ApiResult<HttpResponse> {
    Ok(HttpResponse::Ok().json(transparency::publication(&state, &ctx, id.into_inner()).await?))
}

/// An attachment of a report of the member's communities.
#[utoipa::path(get, path = "/api/v1/staff/finance-reports/{id}/attachments/{upload_id}", tag = "transparency",
    params(("id" = i32, Path), ("upload_id" = i32, Path)),
    responses((status = 200, content_type = "image/jpeg", body = Vec<u8>), (status = 404, body = ErrorBody)), security(("bearer" = [])))]
pub async fn staff_attachment(
    state: web::Data<AppState>,
    StaffAuth(ctx): StaffAuth,
    path: web::Path<(i32, i32)>,
) -> ApiResult<HttpResponse> {
    let (id, upload_id) = path.into_inner();
    Ok(serve(
        transparency::attachment_for_staff(&state, &ctx, id, upload_id).await?,
    ))
}

/// The owner's community's published reports, the latest version of each month (404 for a
/// community the owner has no unit in).
#[utoipa::path(get, path = "/api/v1/me/community/finance-reports", tag = "transparency", params(OwnerQuery),
    responses((status = 200, body = Vec<ReportView>), (status = 404, body = ErrorBody)), security(("bearer" = [])))]
pub async fn for_owner(state: web::Data<AppState>, who: OwnerAuth, q: Query<OwnerQuery>) -> ApiResult<HttpResponse> {
    Ok(HttpResponse::Ok().json(transparency::for_owner(&state, who.account_id, q.into_inner()).await?))
}

/// An attachment of a report of the owner's community.
#[utoipa::path(get, path = "/api/v1/me/community/finance-reports/{id}/attachments/{upload_id}", tag = "transparency",
    params(("id" = i32, Path), ("upload_id" = i32, Path)),
    responses((status = 200, content_type = "image/jpeg", body = Vec<u8>), (status = 404, body = ErrorBody)), security(("bearer" = [])))]
pub async fn owner_attachment(
    state: web::Data<AppState>,
    who: OwnerAuth,
    path: web::Path<(i32, i32)>,
) -> ApiResult<HttpResponse> {
    let (id, upload_id) = path.into_inner();
    Ok(serve(
        transparency::attachment_for_owner(&state, who.account_id, id, upload_id).await?,
    ))
}
