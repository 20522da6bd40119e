use crate::helpers::*;
use serde_json::json;

#[tokio::test]
async fn malformed_json_and_wrong_types_are_400_with_the_field_named() {
    let app = spawn_app().await;
    let admin = app.admin_token().await;
    let r = app
        .post_raw(
            "/api/v1/staff/communities",
            Some(&admin),
            "application/json",
            "{\"name\": ",
        )
        .await;
    assert_error(r, 400, "BAD_REQUEST").await;
    let r = app
        .post(
            "/api/v1/staff/units",
            Some(&admin),
            &json!({"community_id": "one", "building": "A", "code": "A", "area_m2": "5"}),
        )
        .await;
    let v = assert_error(r, 400, "BAD_REQUEST").await;
    assert!(v["details"]["fields"].get("community_id").is_some(), "{v}");
    let r = app
        .post(
            "/api/v1/staff/communities",
            Some(&admin),
            &json!({"name": "X", "code": "X"}),
        )
        .await;
    let v = assert_error(r, 422, "VALIDATION_FAILED").await;
    assert!(v["details"]["fields"].get("late_fee").is_some(), "{v}");
    assert_eq!(app.count("communities").await, 0);
}

#[tokio::test]
async fn unknown_ids_routes_and_bad_path_params_are_json_404() {
    let app = spawn_app().await;
    let admin = app.admin_token().await;
    assert_error(app.get("/api/v1/staff/units/999", Some(&admin)).await, 404, "NOT_FOUND").await;
    assert_error(app.get("/api/v1/staff/units/abc", Some(&admin)).await, 404, "NOT_FOUND").await;
    assert_error(app.get("/api/v1/no-such-thing", None).await, 404, "NOT_FOUND").await;
    let r = app.get("/api/v1/staff/units?community_id=abc", Some(&admin)).await;
    assert_error(r, 400, "BAD_REQUEST").await;
}

#[tokio::test]
async fn oversize_json_bodies_are_413_and_change_nothing() {
    let app = spawn_app().await;
    let admin = app.admin_token().await;
    let big = "x".repeat(100_000);
    let r = app
        .post(
            "/api/v1/staff/communities",
            Some(&admin),
            &json!({"name": big, "code": "X"}),
        )
        .await;
    assert_error(r, 413, "PAYLOAD_TOO_LARGE").await;
    assert_eq!(app.count("communities").await, 0);
}

#[tokio::test]
async fn missing_or_wrong_kind_of_session_is_refused() {
    let app = spawn_app().await;
    assert_error(app.get("/api/v1/me", None).await, 401, "UNAUTHENTICATED").await;
    assert_error(app.get("/api/v1/me", Some("not-a-token")).await, 401, "UNAUTHENTICATED").await;
    let admin = app.admin_token().await;
    assert_error(app.get("/api/v1/me", Some(&admin)).await, 403, "FORBIDDEN").await;
    let (owner, _) = app.owner_login("openid-a").await;
    assert_error(
        app.get("/api/v1/staff/communities", Some(&owner)).await,
        403,
        "FORBIDDEN",
    )
    .await;
}
