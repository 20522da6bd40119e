use crate::helpers::*;
use serde_json::{json, Value};

#[tokio::test]
async fn admins_create_list_and_edit_staff_and_others_cannot() {
    let app = spawn_app().await;
    let admin = app.admin_token().await;
    let c = app.community(&admin, "C1").await;
    let (id, service) = app.staff_member(&admin, "xiaowang", "service", &[c]).await;
    let list: Vec<Value> = app.get_json("/api/v1/staff/staff-users", Some(&admin)).await;
    let me = list.iter().find(|s| s["id"] == id).unwrap();
    assert_eq!(me["role"], "service");
    assert_eq!(me["community_ids"], json!([c]));
    assert!(list.iter().all(|s| s.get("password_hash").is_none()));

    assert_error(
        app.get("/api/v1/staff/staff-users", Some(&service)).await,
        403,
        "FORBIDDEN",
    )
    .await;
    let body = json!({"username": "sneaky", "password": "long-enough-pw", "role": "admin", "community_ids": []});
    assert_error(
        app.post("/api/v1/staff/staff-users", Some(&service), &body).await,
        403,
        "FORBIDDEN",
    )
    .await;

    let r = app
        .patch(
            &format!("/api/v1/staff/staff-users/{id}"),
            Some(&admin),
            &json!({"role": "collector"}),
        )
        .await;
    assert_eq!(r.status(), 200);
    assert_eq!(r.json::<Value>().await.unwrap()["role"], "collector");
    // The role change takes effect on the existing session: collectors cannot create units.
    let unit = json!({"community_id": c, "building": "A", "code": "A-1", "area_m2": "50"});
    assert_error(
        app.post("/api/v1/staff/units", Some(&service), &unit).await,
        403,
        "FORBIDDEN",
    )
    .await;

    let dup = json!({"username": "XiaoWang", "password": "long-enough-pw", "role": "finance", "community_ids": []});
    assert_error(
        app.post("/api/v1/staff/staff-users", Some(&admin), &dup).await,
        409,
        "USERNAME_TAKEN",
    )
    .await;
}

#[tokio::test]
async fn bad_staff_input_names_each_field() {
    let app = spawn_app().await;
    let admin = app.admin_token().await;
    let body = json!({"username": "x", "password": "short", "role": "boss", "community_ids": [9999]});
    let v = assert_error(
        app.post("/api/v1/staff/staff-users", Some(&admin), &body).await,
        422,
        "VALIDATION_FAILED",
    )
    .await;
    for f in ["username", "password", "role", "community_ids"] {
        assert!(v["details"]["fields"].get(f).is_some(), "{f}: {v}");
    }
    assert_eq!(app.count("staff_users").await, 1);
}

#[tokio::test]
async fn deactivation_ends_every_session_of_that_member() {
    let app = spawn_app().await;
    let admin = app.admin_token().await;
    let (id, token1) = app.staff_member(&admin, "laoli", "finance", &[]).await;
    let token2 = app
        .staff_login("laoli", "long-enough-pw")
        .await
        .json::<Value>()
        .await
        .unwrap()["token"]
        .as_str()
        .unwrap()
        .to_string();
    assert_eq!(app.get("/api/v1/staff/communities", Some(&token1)).await.status(), 200);
    let r = app
        .patch(
            &format!("/api/v1/staff/staff-users/{id}"),
            Some(&admin),
            &json!({"active": false}),
        )
        .await;
    assert_eq!(r.status(), 200);
    for t in [&token1, &token2] {
        assert_error(
            app.get("/api/v1/staff/communities", Some(t)).await,
            401,
            "UNAUTHENTICATED",
        )
        .await;
        let hash = wuye::crypto::token_hash(t);
        assert_eq!(
            app.state.store.get(&format!("sess:{hash}")).await.unwrap(),
            None,
            "session deleted from the store"
        );
    }
    assert_error(
        app.staff_login("laoli", "long-enough-pw").await,
        401,
        "INVALID_CREDENTIALS",
    )
    .await;
    // An admin cannot lock themselves out.
    let me = app
        .get("/api/v1/staff/staff-users", Some(&admin))
        .await
        .json::<Vec<Value>>()
        .await
        .unwrap();
    let admin_id = me.iter().find(|s| s["username"] == ADMIN_USER).unwrap()["id"]
        .as_i64()
        .unwrap();
    let r = app
        .patch(
            &format!("/api/v1/staff/staff-users/{admin_id}"),
            Some(&admin),
            &json!({"active": false}),
        )
        .await;
    assert_error(r, 422, "VALIDATION_FAILED").await;
}
