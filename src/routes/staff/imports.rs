//! CSV import of units and owners.
use crate::error::{ApiResult, ErrorBody};
use crate::routes::extract::{read_body, Query, StaffAuth};
use crate::services::import::{self, ImportResult};
use crate::state::AppState;
use actix_web::{web, HttpRequest, HttpResponse};
use serde::Deserialize;

/// Which community the file is for.
#[derive(Deserialize, utoipa::IntoParams)]
pub struct ImportQuery {
    pub community_id: i32,
}

/// Imports `text/csv` with header `building,unit_code,area_m2,owner_name,owner_phone`; any bad
/// row rejects the whole file (422 `IMPORT_REJECTED`, errors by row and column).
#[utoipa::path(post, path = "/api/v1/staff/imports", tag = "staff-setup", params(ImportQuery),
    request_body(content = String, content_type = "text/csv"),
    responses((status = 201, body = ImportResult), (status = 413, body = ErrorBody), (status = 422, body = ErrorBody)), security(("bearer" = [])))]
pub async fn import_csv(
    state: web::Data<AppState>,
    req: HttpRequest,
    StaffAuth(ctx): StaffAuth,
    q: Query<ImportQuery>,
    payload: web::Payload,
) -> ApiResult<HttpResponse> {
    let body = read_body(
        &req,
        &mut payload.into_inner(),
        state.settings.server.import_limit_bytes,
    )
    .await?;
    Ok(HttpResponse::Created().json(import::import_csv(&state, &ctx, q.community_id, &body).await?))
}
