use crate::helpers::*;

#[tokio::test]
async fn healthz_and_readyz_answer_and_name_the_backends() {
    let app = spawn_app().await;
    assert_eq!(app.get("/healthz", None).await.status(), 200);
    let r = app.get("/readyz", None).await;
    assert_eq!(r.status(), 200);
    let v: serde_json::Value = r.json().await.unwrap();
    assert_eq!(v["database"], "ok");
    assert_eq!(v["store"], "ok");
    let expected_store = if test_redis_url().is_some() { "redis" } else { "memory" };
    assert_eq!(v["store_kind"], expected_store);
    let backend = app.db.get_database_backend();
    let expected_db = if test_database_url().is_some() {
        sea_orm::DbBackend::Postgres
    } else {
        sea_orm::DbBackend::Sqlite
    };
    assert_eq!(backend, expected_db);
}

#[tokio::test]
async fn every_answer_carries_a_request_id() {
    let app = spawn_app().await;
    let a = app.get("/healthz", None).await;
    let b = app.get("/api/v1/me", None).await;
    let ida = a
        .headers()
        .get("x-request-id")
        .expect("request id")
        .to_str()
        .unwrap()
        .to_string();
    let idb = b
        .headers()
        .get("x-request-id")
        .expect("request id on errors too")
        .to_str()
        .unwrap()
        .to_string();
    assert!(!ida.is_empty());
    assert_ne!(ida, idb);
}

#[tokio::test]
async fn metrics_count_requests_by_route_pattern_and_status() {
    let app = spawn_app().await;
    let admin = app.admin_token().await;
    assert_eq!(app.get("/api/v1/staff/units/424242", Some(&admin)).await.status(), 404);
    let text = app.metrics().await;
    assert!(
        text.contains(r#"wuye_http_requests_total{method="GET",route="/api/v1/staff/units/{id}",status="404"} 1"#),
        "{text}"
    );
    assert!(text.contains("wuye_http_request_duration_seconds_bucket"));
    assert!(!text.contains("424242"), "raw ids must not become labels");
}

#[tokio::test]
async fn metrics_are_private_by_default_and_token_protected_on_the_api_port() {
    // Default: a separate listener (server.metrics_bind) serves them; the API port does not.
    let app = spawn_app().await;
    assert_error(app.get("/metrics", None).await, 404, "NOT_FOUND").await;
    assert!(app.metrics().await.contains("wuye_http_requests_total"));

    // With a token: the API port serves them to that bearer token only (scheme in any case).
    let app = spawn_app_with(TestOptions {
        overrides: vec![("server.metrics_token", "m3trics-t0ken".into())],
        ..Default::default()
    })
    .await;
    assert_error(app.get("/metrics", None).await, 401, "UNAUTHENTICATED").await;
    assert_error(app.get("/metrics", Some("wrong")).await, 401, "UNAUTHENTICATED").await;
    for scheme in ["Bearer", "bearer", "BEARER"] {
        let r = app
            .http
            .get(app.url("/metrics"))
            .header("Authorization", format!("{scheme} m3trics-t0ken"))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200, "{scheme}");
        assert!(r.text().await.unwrap().contains("wuye_http_request_duration_seconds"));
    }

    // An empty metrics_bind turns the listener off.
    let app = spawn_app_with(TestOptions {
        overrides: vec![("server.metrics_bind", String::new())],
        ..Default::default()
    })
    .await;
    assert!(app.metrics_port.is_none());
}
