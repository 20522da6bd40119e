//! Liveness, readiness and metrics.
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

/// Prometheus metrics: requests by route and status, latency histogram.
#[utoipa::path(get, path = "/metrics", tag = "operations", responses((status = 200, description = "Prometheus text format")))]
pub async fn metrics(metrics: web::Data<Metrics>) -> HttpResponse {
    HttpResponse::Ok()
        .content_type("text/plain; version=0.0.4")
        .body(metrics.render())
}
