//! The staff inbox over the API: one's own items, marked read one at a time or all at once.
use crate::error::{ApiResult, ErrorBody};
use crate::routes::extract::{Query, StaffAuth};
use crate::services::inbox::{self, Inbox, InboxQuery};
use crate::state::AppState;
use actix_web::{web, HttpResponse};

/// The caller's items, newest first, with the unread count.
#[utoipa::path(get, path = "/api/v1/staff/inbox", tag = "staff-inbox", params(InboxQuery),
    responses((status = 200, body = Inbox), (status = 401, body = ErrorBody)), security(("bearer" = [])))]
pub async fn list(
    state: web::Data<AppState>,
    StaffAuth(ctx): StaffAuth,
    q: Query<InboxQuery>,
) -> ApiResult<HttpResponse> {
    Ok(HttpResponse::Ok().json(inbox::list(&state, &ctx, q.0).await?))
}

/// Marks one of the caller's items read.
#[utoipa::path(post, path = "/api/v1/staff/inbox/{id}/read", tag = "staff-inbox", params(("id" = i32, Path)),
    responses((status = 204), (status = 404, body = ErrorBody)), security(("bearer" = [])))]
pub async fn read(
    state: web::Data<AppState>,
    StaffAuth(ctx): StaffAuth,
    id: web::Path<i32>,
) -> ApiResult<HttpResponse> {
    inbox::mark_read(&state, &ctx, id.into_inner()).await?;
    Ok(HttpResponse::NoContent().finish())
}

/// Marks all of the caller's items read.
#[utoipa::path(post, path = "/api/v1/staff/inbox/read-all", tag = "staff-inbox",
    responses((status = 204), (status = 401, body = ErrorBody)), security(("bearer" = [])))]
pub async fn read_all(state: web::Data<AppState>, StaffAuth(ctx): StaffAuth) -> ApiResult<HttpResponse> {
    inbox::mark_all_read(&state, &ctx).await?;
    Ok(HttpResponse::NoContent().finish())
}
