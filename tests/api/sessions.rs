use crate::helpers::*;
use serde_json::json;

#[tokio::test]
async fn wrong_and_unknown_staff_credentials_are_refused() {
    let app = spawn_app().await;
    assert_error(
        app.staff_login(ADMIN_USER, "wrong-password").await,
        401,
        "INVALID_CREDENTIALS",
    )
    .await;
    assert_error(
        app.staff_login("nobody", ADMIN_PASSWORD).await,
        401,
        "INVALID_CREDENTIALS",
    )
    .await;
    let r = app.staff_login(ADMIN_USER, ADMIN_PASSWORD).await;
    assert_eq!(r.status(), 200);
    let v: serde_json::Value = r.json().await.unwrap();
    assert_eq!(v["staff"]["role"], "admin");
    assert_eq!(v["expires_in"], 12 * 3600);
}

#[tokio::test]
async fn logout_ends_the_session_at_once() {
    let app = spawn_app().await;
    let token = app.admin_token().await;
    assert_eq!(app.get("/api/v1/staff/communities", Some(&token)).await.status(), 200);
    assert_eq!(
        app.post("/api/v1/auth/logout", Some(&token), &json!({})).await.status(),
        204
    );
    assert_error(
        app.get("/api/v1/staff/communities", Some(&token)).await,
        401,
        "UNAUTHENTICATED",
    )
    .await;
    assert_error(
        app.post("/api/v1/auth/logout", Some(&token), &json!({})).await,
        401,
        "UNAUTHENTICATED",
    )
    .await;

    let (owner, _) = app.owner_login("openid-a").await;
    assert_eq!(
        app.post("/api/v1/auth/logout", Some(&owner), &json!({})).await.status(),
        204
    );
    assert_error(app.get("/api/v1/me", Some(&owner)).await, 401, "UNAUTHENTICATED").await;
}

#[tokio::test]
async fn staff_sessions_expire_after_their_lifetime() {
    let app = spawn_app().await;
    let token = app.admin_token().await;
    app.clock.advance(chrono::Duration::hours(11));
    assert_eq!(app.get("/api/v1/staff/communities", Some(&token)).await.status(), 200);
    app.clock
        .advance(chrono::Duration::hours(1) + chrono::Duration::seconds(1));
    assert_error(
        app.get("/api/v1/staff/communities", Some(&token)).await,
        401,
        "UNAUTHENTICATED",
    )
    .await;
}

#[tokio::test]
async fn owner_sessions_slide_while_used_and_expire_when_idle() {
    let app = spawn_app().await;
    let (token, _) = app.owner_login("openid-a").await;
    for _ in 0..3 {
        app.clock.advance(chrono::Duration::days(29));
        assert_eq!(
            app.get("/api/v1/me", Some(&token)).await.status(),
            200,
            "used within 30 days: still valid"
        );
    }
    app.clock
        .advance(chrono::Duration::days(30) + chrono::Duration::seconds(1));
    assert_error(app.get("/api/v1/me", Some(&token)).await, 401, "UNAUTHENTICATED").await;
}

#[tokio::test]
async fn the_store_holds_only_a_hash_of_each_token() {
    let app = spawn_app().await;
    let token = app.admin_token().await;
    assert!(token.len() >= 22, "at least 128 bits of base64");
    let hash = wuye::crypto::token_hash(&token);
    if app.state.store.kind() == "memory" {
        // The database holds the session under the hash; no column holds the token.
        assert_eq!(app.count(&format!("sessions WHERE token_hash = '{hash}'")).await, 1);
        assert_eq!(app.count(&format!("sessions WHERE token_hash = '{token}'")).await, 0);
    }
    assert_eq!(app.state.store.get(&format!("sess:{token}")).await.unwrap(), None);
    if let Some(url) = test_redis_url() {
        let stored = app
            .state
            .store
            .get(&format!("sess:{hash}"))
            .await
            .unwrap()
            .expect("session stored under the hash");
        assert!(!stored.contains(&token));
        // Dump every key and value of this app's prefix: no token anywhere.
        let client = redis::Client::open(url).unwrap();
        let mut c = client.get_multiplexed_async_connection().await.unwrap();
        let keys: Vec<String> = redis::cmd("KEYS")
            .arg(format!("{}*", app.redis_prefix))
            .query_async(&mut c)
            .await
            .unwrap();
        assert!(!keys.is_empty());
        for k in keys {
            assert!(!k.contains(&token));
            let kind: String = redis::cmd("TYPE").arg(&k).query_async(&mut c).await.unwrap();
            if kind == "string" {
                let v: String = redis::cmd("GET").arg(&k).query_async(&mut c).await.unwrap();
                assert!(!v.contains(&token));
            }
        }
    }
}

#[tokio::test]
async fn failed_logins_are_limited_per_username_and_client() {
    let app = spawn_app_with(TestOptions {
        overrides: vec![("rate_limits.login_failures_per_client_per_15_minutes", "3".into())],
        ..Default::default()
    })
    .await;
    for _ in 0..3 {
        assert_error(
            app.staff_login(ADMIN_USER, "wrong-password").await,
            401,
            "INVALID_CREDENTIALS",
        )
        .await;
    }
    // Even the right password is refused to this client while the limit holds.
    assert_error(app.staff_login(ADMIN_USER, ADMIN_PASSWORD).await, 429, "RATE_LIMITED").await;
    app.clock.advance(chrono::Duration::minutes(16));
    assert_eq!(app.staff_login(ADMIN_USER, ADMIN_PASSWORD).await.status(), 200);
}

#[tokio::test]
async fn logins_are_rate_limited_per_ip() {
    let app = spawn_app_with(TestOptions {
        overrides: vec![("rate_limits.login_per_ip_per_minute", "4".into())],
        ..Default::default()
    })
    .await;
    for i in 0..4 {
        assert_error(
            app.staff_login(&format!("user{i}"), "whatever-pw").await,
            401,
            "INVALID_CREDENTIALS",
        )
        .await;
    }
    assert_error(app.staff_login("user9", "whatever-pw").await, 429, "RATE_LIMITED").await;
    app.wechat_accepts_code("c", "openid-x").await;
    assert_error(
        app.post("/api/v1/auth/wechat/login", None, &json!({"code": "c"})).await,
        429,
        "RATE_LIMITED",
    )
    .await;
}

#[tokio::test]
async fn sessions_survive_a_restart() {
    let app = spawn_app().await;
    let staff = app.admin_token().await;
    let (owner, _) = app.owner_login("openid-restart").await;
    // The same database (and Redis prefix, when Redis holds sessions), a fresh process: every
    // in-process cache and store is gone.
    let restarted = spawn_app_with(TestOptions {
        database_url: Some(app.database_url.clone()),
        redis_prefix: Some(app.redis_prefix.clone()),
        wechat: Some(app.wechat.clone()),
        ..Default::default()
    })
    .await;
    assert_eq!(
        restarted.get("/api/v1/staff/communities", Some(&staff)).await.status(),
        200
    );
    assert_eq!(restarted.get("/api/v1/me", Some(&owner)).await.status(), 200);
    // Ending a session ends it for every process.
    let r = restarted
        .http
        .post(restarted.url("/api/v1/auth/logout"))
        .bearer_auth(&staff)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 204);
    assert_error(
        app.get("/api/v1/staff/communities", Some(&staff)).await,
        401,
        "UNAUTHENTICATED",
    )
    .await;
    if app.state.store.kind() == "memory" {
        // On the embedded default the database holds them, by token hash only.
        assert_eq!(app.count("sessions").await, 1);
        assert_eq!(app.count(&format!("sessions WHERE token_hash = '{owner}'")).await, 0);
        // Expired ones are swept.
        app.clock.advance(chrono::Duration::days(31));
        assert_eq!(wuye::services::access::sessions::prune(&app.state).await.unwrap(), 1);
    }
}
