use crate::helpers::*;
use serde_json::{json, Value};

#[tokio::test]
async fn wechat_login_answers_the_same_owner_for_the_same_openid_and_hides_the_session_key() {
    let app = spawn_app().await;
    app.wechat_accepts_code("c1", "openid-a").await;
    app.wechat_accepts_code("c2", "openid-a").await;
    let r1 = app
        .post("/api/v1/auth/wechat/login", None, &json!({"code": "c1"}))
        .await;
    assert_eq!(r1.status(), 200);
    let text = r1.text().await.unwrap();
    assert!(!text.contains("SECRET-SESSION-KEY") && !text.contains("session_key"));
    let v1: Value = serde_json::from_str(&text).unwrap();
    let v2: Value = app
        .post("/api/v1/auth/wechat/login", None, &json!({"code": "c2"}))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(v1["owner"]["id"], v2["owner"]["id"]);
    assert_eq!(v1["owner"]["bound"], false);
    assert_ne!(v1["token"], v2["token"]);
    assert!(v1["expires_in"].as_i64().unwrap() > 0);
}

#[tokio::test]
async fn rejected_wechat_codes_map_to_the_documented_answers() {
    let app = spawn_app().await;
    for (code, errcode, status, api_code) in [
        ("bad", 40029, 401, "INVALID_CREDENTIALS"),
        ("used", 40163, 401, "INVALID_CREDENTIALS"),
        ("busy", 45011, 429, "RATE_LIMITED"),
        ("risky", 40226, 403, "FORBIDDEN"),
    ] {
        app.wechat_rejects_code(code, errcode).await;
        let r = app
            .post("/api/v1/auth/wechat/login", None, &json!({"code": code}))
            .await;
        assert_error(r, status, api_code).await;
    }
    assert_eq!(app.count("owner_accounts").await, 0, "a rejected code creates nothing");
    let r = app.post("/api/v1/auth/wechat/login", None, &json!({"code": ""})).await;
    assert_error(r, 422, "VALIDATION_FAILED").await;
}

#[tokio::test]
async fn binding_a_phone_links_every_owner_record_with_it_and_later_units_appear() {
    let app = spawn_app().await;
    let admin = app.admin_token().await;
    let c1 = app.community(&admin, "C1").await;
    let c2 = app.community(&admin, "C2").await;
    let u1 = app.unit(&admin, c1, "A-1-101").await;
    let u2 = app.unit(&admin, c2, "B-2-202").await;
    app.owner(&admin, "张三", "13800000001", &[u1]).await;
    app.owner(&admin, "张三", "13800000001", &[u2]).await;
    app.owner_in(&admin, c1, "李四", "13900000002").await;

    let (token, _) = app.owner_login("openid-zhang").await;
    let v = app.bind_phone(&token, "13800000001").await;
    let ids: Vec<i64> = v["units"]
        .as_array()
        .unwrap()
        .iter()
        .map(|u| u["id"].as_i64().unwrap())
        .collect();
    assert_eq!(ids, vec![u1, u2]);

    // A unit registered later under the same phone appears by itself.
    let u3 = app.unit(&admin, c1, "A-1-102").await;
    app.owner(&admin, "张三", "13800000001", &[u3]).await;
    let me: Value = app.get_json("/api/v1/me", Some(&token)).await;
    assert_eq!(me["units"].as_array().unwrap().len(), 3);
    assert_eq!(me["phone"], "138****0001");
    assert_eq!(me["bound"], true);
    assert!(me.get("credit_grade").is_none() && me.get("points_balance").is_none());
    let unit = &me["units"][0];
    for field in ["id", "code", "community", "building", "area_m2"] {
        assert!(unit.get(field).is_some(), "{field}");
    }

    // A phone with no owner record binds to nothing.
    let (other, _) = app.owner_login("openid-nobody").await;
    let v = app.bind_phone(&other, "13700000003").await;
    assert_eq!(v["units"], json!([]));
}

#[tokio::test]
async fn an_owner_cannot_see_another_owners_unit() {
    let app = spawn_app().await;
    let admin = app.admin_token().await;
    let c = app.community(&admin, "C1").await;
    let mine = app.unit(&admin, c, "A-1-101").await;
    let theirs = app.unit(&admin, c, "A-1-102").await;
    app.owner(&admin, "张三", "13800000001", &[mine]).await;
    app.owner(&admin, "李四", "13800000002", &[theirs]).await;
    let (token, _) = app.owner_login("openid-zhang").await;
    app.bind_phone(&token, "13800000001").await;
    assert_eq!(
        app.get(&format!("/api/v1/me/units/{mine}"), Some(&token))
            .await
            .status(),
        200
    );
    assert_error(
        app.get(&format!("/api/v1/me/units/{theirs}"), Some(&token)).await,
        404,
        "NOT_FOUND",
    )
    .await;
    assert_error(app.get("/api/v1/me/units/999999", Some(&token)).await, 404, "NOT_FOUND").await;
}

#[tokio::test]
async fn twenty_concurrent_bindings_on_two_replicas_fetch_the_access_token_once() {
    let app = spawn_app().await;
    let replica = app.replica().await;
    let admin = app.admin_token().await;
    let c = app.community(&admin, "C1").await;
    app.wechat_token("shared-token").await;
    let mut logins = Vec::new();
    for i in 0..20 {
        let phone = format!("138000001{i:02}");
        let u = app.unit(&admin, c, &format!("A-1-{i:03}")).await;
        app.owner(&admin, "业主", &phone, &[u]).await;
        let (token, _) = app.owner_login(&format!("openid-{i}")).await;
        let code = format!("pcode-{i}");
        app.wechat_phone(&code, &phone).await;
        logins.push((token, code));
    }
    assert_eq!(app.wechat_calls("/cgi-bin/token").await, 0);
    let tasks: Vec<_> = logins
        .into_iter()
        .enumerate()
        .map(|(i, (token, code))| {
            let base = if i % 2 == 0 {
                app.address.clone()
            } else {
                replica.address.clone()
            };
            let http = app.http.clone();
            tokio::spawn(async move {
                let r = http
                    .post(format!("{base}/api/v1/me/phone"))
                    .bearer_auth(token)
                    .json(&json!({"code": code}))
                    .send()
                    .await
                    .unwrap();
                let status = r.status();
                let v: Value = r.json().await.unwrap();
                (status, v["units"].as_array().map(Vec::len))
            })
        })
        .collect();
    for t in tasks {
        let (status, units) = t.await.unwrap();
        assert_eq!(status, 200);
        assert_eq!(units, Some(1));
    }
    assert_eq!(
        app.wechat_calls("/cgi-bin/token").await,
        1,
        "exactly one access-token fetch across replicas"
    );
}

#[tokio::test]
async fn an_invalidated_access_token_is_refetched_once() {
    use wiremock::matchers::{method, path, query_param};
    use wiremock::{Mock, ResponseTemplate};
    let app = spawn_app().await;
    let admin = app.admin_token().await;
    let c = app.community(&admin, "C1").await;
    let u = app.unit(&admin, c, "A-1-101").await;
    app.owner(&admin, "张三", "13800000001", &[u]).await;
    let (token, _) = app.owner_login("openid-a").await;
    // First fetch gives "old" (which WeChat then rejects with 40001), the second gives "new".
    Mock::given(method("GET"))
        .and(path("/cgi-bin/token"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"access_token": "old", "expires_in": 7200})))
        .up_to_n_times(1)
        .with_priority(1)
        .mount(&app.wechat)
        .await;
    app.wechat_token("new").await;
    Mock::given(method("POST"))
        .and(path("/wxa/business/getuserphonenumber"))
        .and(query_param("access_token", "old"))
        .respond_with(
            ResponseTemplate::new(200).set_body_json(json!({"errcode": 40001, "errmsg": "invalid credential"})),
        )
        .with_priority(1)
        .mount(&app.wechat)
        .await;
    app.wechat_phone("p1", "13800000001").await;
    let r = app.post("/api/v1/me/phone", Some(&token), &json!({"code": "p1"})).await;
    assert_eq!(r.status(), 200);
    assert_eq!(app.wechat_calls("/cgi-bin/token").await, 2);
    let v: Value = r.json().await.unwrap();
    assert_eq!(v["units"].as_array().unwrap().len(), 1);
}

#[tokio::test]
async fn consents_are_recorded_once_per_policy_version() {
    let app = spawn_app().await;
    let (token, _) = app.owner_login("openid-a").await;
    let r = app
        .post(
            "/api/v1/me/consents",
            Some(&token),
            &json!({"policy_version": "2026-10"}),
        )
        .await;
    assert_eq!(r.status(), 201);
    let first: Value = r.json().await.unwrap();
    app.clock.advance(chrono::Duration::days(1));
    let again: Value = app
        .post(
            "/api/v1/me/consents",
            Some(&token),
            &json!({"policy_version": "2026-10"}),
        )
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(first["accepted_at"], again["accepted_at"]);
    assert_eq!(
        app.post(
            "/api/v1/me/consents",
            Some(&token),
            &json!({"policy_version": "2027-01"})
        )
        .await
        .status(),
        201
    );
    assert_eq!(app.count("consents").await, 2);
    assert_error(
        app.post("/api/v1/me/consents", Some(&token), &json!({"policy_version": " "}))
            .await,
        422,
        "VALIDATION_FAILED",
    )
    .await;
}

#[tokio::test]
async fn demo_login_exists_only_in_demo_mode_and_the_demo_company_is_seeded() {
    let app = spawn_app().await;
    let r = app
        .post("/api/v1/auth/demo/login", None, &json!({"phone": "13800000001"}))
        .await;
    assert_error(r, 404, "NOT_FOUND").await;

    let demo = spawn_demo().await;
    let r = demo
        .post("/api/v1/auth/demo/login", None, &json!({"phone": "13800000001"}))
        .await;
    assert_eq!(r.status(), 200);
    let token = r.json::<Value>().await.unwrap()["token"].as_str().unwrap().to_string();
    let me: Value = demo.get_json("/api/v1/me", Some(&token)).await;
    assert_eq!(me["units"].as_array().unwrap().len(), 1);
    assert_eq!(demo.count("communities").await, 2);
    assert!(demo.count("units").await >= 200);
    assert!(demo.count("owners").await >= 200);
    assert!(demo.count("fee_items").await >= 2);
    let paid = count_where(&demo, "bills", "status = 'paid'").await;
    let unpaid = count_where(&demo, "bills", "status = 'unpaid'").await;
    assert!(
        paid > unpaid && unpaid > 50,
        "a realistic mix: {paid} paid, {unpaid} unpaid"
    );
    let periods = count_where(&demo, "(SELECT DISTINCT period FROM bills) AS p", "1 = 1").await;
    // The last six months, plus two old debts migrated from an earlier system.
    assert_eq!(periods, 8, "the last six months and two migrated periods");
    assert_error(
        demo.post("/api/v1/auth/demo/login", None, &json!({"phone": "13999999999"}))
            .await,
        404,
        "NOT_FOUND",
    )
    .await;
}

async fn spawn_demo() -> TestApp {
    spawn_app_with(TestOptions {
        demo: true,
        ..Default::default()
    })
    .await
}

async fn count_where(app: &TestApp, table: &str, cond: &str) -> i64 {
    use sea_orm::ConnectionTrait;
    let sql = format!("SELECT COUNT(*) AS n FROM {table} WHERE {cond}");
    let row = app
        .db
        .query_one_raw(sea_orm::Statement::from_string(app.db.get_database_backend(), sql))
        .await
        .unwrap()
        .unwrap();
    row.try_get::<i64>("", "n").unwrap()
}

#[tokio::test]
async fn a_rejected_phone_code_names_the_field_and_binds_nothing() {
    use wiremock::matchers::{method, path};
    use wiremock::{Mock, ResponseTemplate};
    let app = spawn_app().await;
    let (token, _) = app.owner_login("openid-a").await;
    app.wechat_token("tok").await;
    Mock::given(method("POST"))
        .and(path("/wxa/business/getuserphonenumber"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"errcode": 40029, "errmsg": "invalid code"})))
        .mount(&app.wechat)
        .await;
    let r = app
        .post("/api/v1/me/phone", Some(&token), &json!({"code": "stale"}))
        .await;
    let v = assert_error(r, 422, "VALIDATION_FAILED").await;
    assert!(v["details"]["fields"].get("code").is_some());
    let me: Value = app.get_json("/api/v1/me", Some(&token)).await;
    assert_eq!(me["bound"], false);
}
