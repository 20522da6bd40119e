//! Liveness, readiness and metrics.
use crate::error::ApiError;
use crate::state::AppState;
use crate::telemetry::Metrics;
use actix_web::{web, HttpResponse};
use serde::Serialize;

/// `/readyz` answer.
#[derive(Serialize, utoipa::ToSchema)]
pub struct Readiness {
    pub status: String,
    /// `ok` or why not, per dependency.
    pub database: String,
    pub store: String,
    /// `redis` or `memory`.
    pub store_kind: String,
}

/// Liveness: 200 while the process runs.
#[utoipa::path(get, path = "/healthz", tag = "operations", responses((status = 200, description = "alive")))]
pub async fn healthz() -> HttpResponse {
    HttpResponse::Ok().json(serde_json::json!({"status": "ok"}))
}

/// Readiness: pings the database and the store; 503 naming what is down.
#[utoipa::path(get, path = "/readyz", tag = "operations", responses((status = 200, body = Readiness), (status = 503, body = Readiness)))]
pub async fn readyz(state: web::Data<AppState>) -> HttpResponse {
    let db = tokio::time::timeout(std::time::Duration::from_millis(1500), crate::db::ping(&state.db)).await;
    let database = match db {
        Ok(Ok(())) => "ok".to_string(),
        Ok(Err(e)) => format!("down: {e}"),
        Err(_) => "down: timeout".to_string(),
    };
    let store = match state.store.ping().await {
        Ok(()) => "ok".to_string(),
        Err(e) => format!("down: {e}"),
    };
    let ok = database == "ok" && store == "ok";
    let body = Readiness {
        status: if ok { "ok" } else { "unavailable" }.into(),
        database,
        store,
        store_kind: state.store.kind().into(),
    };
    if ok {
        HttpResponse::Ok().json(body)
    } else {
        HttpResponse::ServiceUnavailable().json(body)
    }
}

/// Prometheus metrics: requests by route and status, latency histogram. On the API port only
/// with `server.metrics_token` (as a bearer token); otherwise 404 here and served by the separate
/// listener on `server.metrics_bind`.
#[utoipa::path(get, path = "/metrics", tag = "operations", responses((status = 200, description = "Prometheus text format"),
    (status = 401, body = crate::error::ErrorBody, description = "token missing or wrong"), (status = 404, body = crate::error::ErrorBody, description = "no token configured: see server.metrics_bind")),
    security(("bearer" = [])))]
pub async fn metrics(
    state: web::Data<AppState>,
    req: actix_web::HttpRequest,
    metrics: web::Data<Metrics>,
) -> Result<HttpResponse, ApiError> {
    use secrecy::ExposeSecret;
    let Some(expected) = &state.settings.server.metrics_token else {
        return Err(ApiError::NotFound);
    };
    let given = crate::routes::extract::bearer(&req)?;
    // Compare digests, so the time taken says nothing about how much of the token matched.
    if crate::crypto::sha256_hex(given.as_bytes()) != crate::crypto::sha256_hex(expected.expose_secret().as_bytes()) {
        return Err(ApiError::Unauthenticated);
    }
    Ok(render(&metrics))
}

/// The metrics page itself (the separate listener serves it to anyone who can reach it).
pub fn render(metrics: &Metrics) -> HttpResponse {
    HttpResponse::Ok()
        .content_type("text/plain; version=0.0.4")
        .body(metrics.render())
}
