//! CSV import of units and owners.
use crate::error::{ApiResult, ErrorBody};
use crate::routes::extract::{read_body, Query, StaffAuth};
use crate::services::setup::import::{self, ImportResult};
use crate::state::AppState;
use actix_web::{web, HttpRequest, HttpResponse};
use serde::Deserialize;

/// Which community the file is for.
#[derive(Deserialize, utoipa::IntoParams)]
pub struct ImportQuery {
    pub community_id: i32,
}

/// Imports `text/csv` (UTF-8, UTF-8 with BOM or GBK) or an `.xlsx` workbook with header
/// `building,unit_code,area_m2,owner_name,owner_phone` (or 楼栋,房号,建筑面积,业主姓名,业主手机号); any
/// bad row rejects the whole file (422 `IMPORT_REJECTED`, errors by row and column).
#[utoipa::path(post, path = "/api/v1/staff/imports", tag = "staff-setup", params(ImportQuery),
    request_body(content(
        (String = "text/csv"),
        (Vec<u8> = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")
    )),
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
    Ok(HttpResponse::Created()
        .json(import::import_csv(&state, &ctx, q.community_id, &body, &crate::progress::Progress::none()).await?))
}

/// `format` of the import template.
#[derive(Deserialize, utoipa::IntoParams)]
pub struct TemplateQuery {
    /// `csv` (UTF-8 with BOM, default) or `xlsx`.
    #[param(pattern = "^(csv|xlsx)$")]
    pub format: Option<String>,
}

/// The import file's header as a download: CSV (UTF-8 with BOM, so Excel opens it) or `.xlsx`.
#[utoipa::path(get, path = "/api/v1/staff/imports/template", tag = "staff-setup", params(TemplateQuery),
    responses((status = 200, description = "the template file", content_type = "text/csv"),
        (status = 422, body = ErrorBody)), security(("bearer" = [])))]
pub async fn template(StaffAuth(ctx): StaffAuth, q: Query<TemplateQuery>) -> ApiResult<HttpResponse> {
    ctx.require(crate::domain::role::Action::ReadSetup)?;
    let (body, mime, name) = match q.format.as_deref().unwrap_or("csv") {
        "csv" => (import::template_csv(), "text/csv; charset=utf-8", "wuye-import.csv"),
        "xlsx" => (
            import::template_xlsx()?,
            "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
            "wuye-import.xlsx",
        ),
        _ => return Err(crate::error::ApiError::field("format", "格式应为csv或xlsx")),
    };
    Ok(HttpResponse::Ok()
        .content_type(mime)
        .insert_header((
            actix_web::http::header::CONTENT_DISPOSITION,
            format!("attachment; filename=\"{name}\""),
        ))
        .body(body))
}
