//! Photo uploads: the body is the image itself (JPEG, PNG or WebP, at most 5 MB), whatever
//! `Content-Type` says; what is served back is the cleaned copy, as an image only.
use crate::error::{ApiResult, ErrorBody};
use crate::routes::extract::{read_body, OwnerAuth, StaffAuth};
use crate::services::uploads::{self, Photo, Uploaded, Uploader};
use crate::state::AppState;
use actix_web::{web, HttpRequest, HttpResponse};

/// A little over the limit, so an image of exactly 5 MB is read whole and judged by `domain::images`.
const BODY_LIMIT: usize = crate::domain::images::MAX_BYTES + 1;

/// An owner uploads a photo (for a ticket or a request that cites it).
#[utoipa::path(post, path = "/api/v1/me/uploads", tag = "uploads", request_body(content = String, content_type = "application/octet-stream", description = "the image file itself: JPEG, PNG or WebP, at most 5 MB"),
    responses((status = 201, body = Uploaded), (status = 413, body = ErrorBody), (status = 422, body = ErrorBody)), security(("bearer" = [])))]
pub async fn owner_upload(
    state: web::Data<AppState>,
    req: HttpRequest,
    who: OwnerAuth,
    payload: web::Payload,
) -> ApiResult<HttpResponse> {
    let body = read_body(&req, &mut payload.into_inner(), BODY_LIMIT).await?;
    Ok(HttpResponse::Created().json(uploads::create(&state, Uploader::Owner(who.account_id), &body).await?))
}

/// A staff member uploads a photo (e.g. of a notice delivered in person, for `POST /staff/contacts`).
#[utoipa::path(post, path = "/api/v1/staff/uploads", tag = "uploads", request_body(content = String, content_type = "application/octet-stream", description = "the image file itself: JPEG, PNG or WebP, at most 5 MB"),
    responses((status = 201, body = Uploaded), (status = 413, body = ErrorBody), (status = 422, body = ErrorBody)), security(("bearer" = [])))]
pub async fn staff_upload(
    state: web::Data<AppState>,
    req: HttpRequest,
    StaffAuth(ctx): StaffAuth,
    payload: web::Payload,
) -> ApiResult<HttpResponse> {
    let body = read_body(&req, &mut payload.into_inner(), BODY_LIMIT).await?;
    Ok(HttpResponse::Created().json(uploads::create(&state, Uploader::Staff(ctx.id), &body).await?))
}

/// The image, as an image and nothing else: no sniffing, no scripts, private to the reader.
pub fn serve(p: Photo) -> HttpResponse {
    HttpResponse::Ok()
        .content_type(p.content_type)
        .insert_header(("X-Content-Type-Options", "nosniff"))
        .insert_header(("Content-Security-Policy", "default-src 'none'; sandbox"))
        .insert_header(("Cache-Control", "private, max-age=3600"))
        .insert_header(("Content-Disposition", "inline"))
        .body(p.data)
}

/// A photo the owner uploaded; 404 for anyone else's.
#[utoipa::path(get, path = "/api/v1/me/uploads/{id}", tag = "uploads", params(("id" = i32, Path)),
    responses((status = 200, content_type = "image/jpeg", body = Vec<u8>), (status = 404, body = ErrorBody)), security(("bearer" = [])))]
pub async fn owner_get(state: web::Data<AppState>, who: OwnerAuth, id: web::Path<i32>) -> ApiResult<HttpResponse> {
    Ok(serve(
        uploads::for_owner(&state, who.account_id, id.into_inner()).await?,
    ))
}

/// A photo: the caller's own unattached upload, or one on a record of their communities; 404 otherwise.
#[utoipa::path(get, path = "/api/v1/staff/uploads/{id}", tag = "uploads", params(("id" = i32, Path)),
    responses((status = 200, content_type = "image/jpeg", body = Vec<u8>), (status = 404, body = ErrorBody)), security(("bearer" = [])))]
pub async fn staff_get(
    state: web::Data<AppState>,
    StaffAuth(ctx): StaffAuth,
    id: web::Path<i32>,
) -> ApiResult<HttpResponse> {
    Ok(serve(uploads::for_staff(&state, &ctx, id.into_inner()).await?))
}
