use crate::helpers::*;
use serde_json::json;
use std::time::{Duration, Instant};

/// A TCP listener that accepts connections and never answers: a hung Redis.
async fn black_hole() -> (u16, tokio::task::JoinHandle<()>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let handle = tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((sock, _)) = listener.accept().await {
            held.push(sock);
        }
    });
    (port, handle)
}

#[tokio::test]
async fn a_hung_redis_gives_503_within_a_bound_instead_of_hanging() {
    let (port, _hole) = black_hole().await;
    let app = spawn_app_with(TestOptions {
        redis_url: Some(format!("redis://127.0.0.1:{port}")),
        ..Default::default()
    })
    .await;
    let client = reqwest::Client::builder()
        .timeout(Duration::from_millis(1500))
        .build()
        .unwrap();

    let started = Instant::now();
    let r = client
        .get(app.url("/api/v1/me"))
        .bearer_auth("some-token-value")
        .send()
        .await
        .expect("answered within 1.5 s");
    assert_error(r, 503, "UNAVAILABLE").await;
    let r = client
        .post(app.url("/api/v1/auth/staff/login"))
        .json(&json!({"username": ADMIN_USER, "password": ADMIN_PASSWORD}))
        .send()
        .await
        .expect("answered within 1.5 s");
    assert_error(r, 503, "UNAVAILABLE").await;
    let r = client
        .get(app.url("/readyz"))
        .send()
        .await
        .expect("answered within 1.5 s");
    assert_eq!(r.status(), 503);
    let v: serde_json::Value = r.json().await.unwrap();
    assert_eq!(v["database"], "ok");
    assert!(v["store"].as_str().unwrap().starts_with("down"), "{v}");
    assert_eq!(
        client.get(app.url("/healthz")).send().await.unwrap().status(),
        200,
        "liveness is not readiness"
    );
    // Each answer was bounded; the whole sequence was too.
    assert!(started.elapsed() < Duration::from_secs(6));
}
