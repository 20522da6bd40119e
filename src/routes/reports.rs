//! Reports for staff.
use crate::error::{ApiResult, ErrorBody};
use crate::routes::extract::{Query, StaffAuth};
use crate::services::reports::collection::{self, CollectionQuery, CollectionReport};
use crate::services::reports::points::{self, PointsReport, PointsReportQuery};
use crate::services::reports::service::{self, ServiceQuery, ServiceReport};
use crate::state::AppState;
use actix_web::{web, HttpResponse};

/// 收费率, 户收费率 and 清缴率 of a month as of a day, by building and fee item, with aging and a
/// 12-month trend (API.md "Report definitions"); `format=csv` downloads it.
#[utoipa::path(get, path = "/api/v1/staff/reports/collection", tag = "staff-reports", params(CollectionQuery),
    responses((status = 200, body = CollectionReport), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody),
        (status = 422, body = ErrorBody)), security(("bearer" = [])))]
pub async fn collection(
    state: web::Data<AppState>,
    StaffAuth(ctx): StaffAuth,
    q: Query<CollectionQuery>,
) -> ApiResult<HttpResponse> {
    let csv = match q.format.as_deref() {
        None | Some("json") => false,
        Some("csv") => true,
        Some(_) => return Err(crate::error::ApiError::field("format", "格式应为json或csv")),
    };
    let report = collection::collection(&state, &ctx, &q).await?;
    if !csv {
        return Ok(HttpResponse::Ok().json(report));
    }
    let name = format!("collection-{}.csv", report.period);
    Ok(HttpResponse::Ok()
        .content_type("text/csv; charset=utf-8")
        .insert_header((
            actix_web::http::header::CONTENT_DISPOSITION,
            format!("attachment; filename=\"{name}\""),
        ))
        .body(collection::to_csv(&report)?))
}

/// How owners were served: tickets by category, median and p90 first-response and resolution
/// times, breach rate, average rating, reopen rate, and collection with vs without unresolved
/// complaints (README "Service report" has the definitions).
#[utoipa::path(get, path = "/api/v1/staff/reports/service", tag = "staff-reports", params(ServiceQuery),
    responses((status = 200, body = ServiceReport), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody),
        (status = 422, body = ErrorBody)), security(("bearer" = [])))]
pub async fn service(
    state: web::Data<AppState>,
    StaffAuth(ctx): StaffAuth,
    q: Query<ServiceQuery>,
) -> ApiResult<HttpResponse> {
    Ok(HttpResponse::Ok().json(service::service(&state, &ctx, &q).await?))
}

/// A community's points month by month: issued, redeemed on rewards and on fees (with the fees
/// they paid), given back, taken back and expired.
#[utoipa::path(get, path = "/api/v1/staff/reports/points", tag = "staff-reports", params(PointsReportQuery),
    responses((status = 200, body = PointsReport), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody),
        (status = 422, body = ErrorBody)), security(("bearer" = [])))]
pub async fn points_report(
    state: web::Data<AppState>,
    StaffAuth(ctx): StaffAuth,
    q: Query<PointsReportQuery>,
) -> ApiResult<HttpResponse> {
    Ok(HttpResponse::Ok().json(points::points(&state, &ctx, &q).await?))
}

/// The risk watch list: owners whose own history signals trouble ahead, each with the reasons (and
/// their points) and a suggested action, highest score first. Staff only; it changes nothing.
#[utoipa::path(get, path = "/api/v1/staff/reports/watch-list", tag = "reports", params(crate::services::reports::watch_list::WatchQuery),
    responses((status = 200, body = Vec<crate::services::reports::watch_list::WatchEntry>), (status = 404, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn watch_list(
    state: web::Data<AppState>,
    StaffAuth(ctx): StaffAuth,
    q: crate::routes::extract::Query<crate::services::reports::watch_list::WatchQuery>,
) -> ApiResult<HttpResponse> {
    Ok(HttpResponse::Ok().json(crate::services::reports::watch_list::watch_list(&state, &ctx, q.0).await?))
}

/// Whether reminding owners at their own hour moves payment: sent reminders in a window, timed
/// (at the owner's learned hour) against the rest, each with the share paid within 3 days.
#[utoipa::path(get, path = "/api/v1/staff/reports/reminder-timing", tag = "reports", params(crate::services::reports::reminder_timing::TimingQuery),
    responses((status = 200, body = crate::services::reports::reminder_timing::TimingReport), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn reminder_timing(
    state: web::Data<AppState>,
    StaffAuth(ctx): StaffAuth,
    q: crate::routes::extract::Query<crate::services::reports::reminder_timing::TimingQuery>,
) -> ApiResult<HttpResponse> {
    Ok(HttpResponse::Ok().json(crate::services::reports::reminder_timing::timing(&state, &ctx, q.0).await?))
}
