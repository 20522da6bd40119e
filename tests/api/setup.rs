use crate::helpers::*;
use serde_json::{json, Value};

#[tokio::test]
async fn communities_keep_their_late_fee_policy_and_refuse_bad_terms() {
    let app = spawn_app().await;
    let admin = app.admin_token().await;
    let id = app.community(&admin, "CH01").await;
    let v: Value = app
        .get_json(&format!("/api/v1/staff/communities/{id}"), Some(&admin))
        .await;
    assert_eq!(
        v["late_fee"],
        json!({"daily_rate": "0.0005", "grace_days": 15, "cap_ratio": "1.00"})
    );
    assert_eq!(v["timezone"], "Asia/Shanghai");

    let bad =
        json!({"name": "X", "code": "X1", "late_fee": {"daily_rate": "-1", "grace_days": 400, "cap_ratio": "abc"}});
    let e = assert_error(
        app.post("/api/v1/staff/communities", Some(&admin), &bad).await,
        422,
        "VALIDATION_FAILED",
    )
    .await;
    for f in ["late_fee.daily_rate", "late_fee.grace_days", "late_fee.cap_ratio"] {
        assert!(e["details"]["fields"].get(f).is_some(), "{f}: {e}");
    }
    let dup = json!({"name": "Y", "code": "CH01", "late_fee": {"daily_rate": "0.0005", "grace_days": 15, "cap_ratio": "1.00"}});
    assert_error(
        app.post("/api/v1/staff/communities", Some(&admin), &dup).await,
        422,
        "VALIDATION_FAILED",
    )
    .await;
    assert_eq!(app.count("communities").await, 1);

    let r = app
        .patch(
            &format!("/api/v1/staff/communities/{id}"),
            Some(&admin),
            &json!({"late_fee": {"daily_rate": "0.0003", "grace_days": 30, "cap_ratio": "0.5"}}),
        )
        .await;
    assert_eq!(r.status(), 200);
    assert_eq!(r.json::<Value>().await.unwrap()["late_fee"]["grace_days"], 30);
}

#[tokio::test]
async fn staff_outside_a_community_get_404_for_everything_in_it() {
    let app = spawn_app().await;
    let admin = app.admin_token().await;
    let mine = app.community(&admin, "MINE").await;
    let other = app.community(&admin, "OTHER").await;
    let unit = app.unit(&admin, other, "A-1-101").await;
    let owner = app.owner(&admin, "王五", "13800000009", &[unit]).await;
    let (_, service) = app.staff_member(&admin, "svc", "service", &[mine]).await;

    let list: Value = app.get_json("/api/v1/staff/communities", Some(&service)).await;
    assert_eq!(list["total"], 1);
    assert_eq!(
        list["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| c["id"].as_i64().unwrap())
            .collect::<Vec<_>>(),
        vec![mine]
    );
    for p in [
        format!("/api/v1/staff/communities/{other}"),
        format!("/api/v1/staff/units/{unit}"),
        format!("/api/v1/staff/units?community_id={other}"),
        format!("/api/v1/staff/owners/{owner}"),
        format!("/api/v1/staff/owners?community_id={other}"),
    ] {
        assert_error(app.get(&p, Some(&service)).await, 404, "NOT_FOUND").await;
    }
    let r = app
        .patch(
            &format!("/api/v1/staff/units/{unit}"),
            Some(&service),
            &json!({"area_m2": "1"}),
        )
        .await;
    assert_error(r, 404, "NOT_FOUND").await;
    let r = app
        .post_raw(
            &format!("/api/v1/staff/imports?community_id={other}"),
            Some(&service),
            "text/csv",
            "x",
        )
        .await;
    assert_error(r, 404, "NOT_FOUND").await;
    // Creating a unit in someone else's community is a bad id in the body: 422, nothing written.
    let r = app
        .post(
            "/api/v1/staff/units",
            Some(&service),
            &json!({"community_id": other, "building": "A", "code": "Z-1", "area_m2": "50"}),
        )
        .await;
    assert_error(r, 422, "VALIDATION_FAILED").await;
    assert_eq!(app.count("units").await, 1);
}

#[tokio::test]
async fn units_are_created_listed_and_edited_with_checked_values() {
    let app = spawn_app().await;
    let admin = app.admin_token().await;
    let c = app.community(&admin, "C1").await;
    let r = app
        .post("/api/v1/staff/units", Some(&admin), &json!({"community_id": c, "building": "3", "code": "A-3-1201", "area_m2": "89.5", "handover_date": "2026-03-15"}))
        .await;
    assert_eq!(r.status(), 201);
    let u: Value = r.json().await.unwrap();
    assert_eq!(u["area_m2"], "89.50");
    assert_eq!(u["handover_date"], "2026-03-15");
    let id = u["id"].as_i64().unwrap();

    let bad =
        json!({"community_id": c, "building": "", "code": "A 3", "area_m2": "89.505", "handover_date": "2026-02-30"});
    let e = assert_error(
        app.post("/api/v1/staff/units", Some(&admin), &bad).await,
        422,
        "VALIDATION_FAILED",
    )
    .await;
    for f in ["building", "code", "area_m2", "handover_date"] {
        assert!(e["details"]["fields"].get(f).is_some(), "{f}: {e}");
    }
    let dup = json!({"community_id": c, "building": "3", "code": "A-3-1201", "area_m2": "50"});
    assert_error(
        app.post("/api/v1/staff/units", Some(&admin), &dup).await,
        422,
        "VALIDATION_FAILED",
    )
    .await;
    let r = app
        .post(
            "/api/v1/staff/units",
            Some(&admin),
            &json!({"community_id": 4242, "building": "3", "code": "Q-1", "area_m2": "50"}),
        )
        .await;
    assert_error(r, 422, "VALIDATION_FAILED").await;

    let r = app
        .patch(
            &format!("/api/v1/staff/units/{id}"),
            Some(&admin),
            &json!({"area_m2": "90.25"}),
        )
        .await;
    assert_eq!(r.json::<Value>().await.unwrap()["area_m2"], "90.25");
    let r = app
        .patch(
            &format!("/api/v1/staff/units/{id}"),
            Some(&admin),
            &json!({"area_m2": "0"}),
        )
        .await;
    assert_error(r, 422, "VALIDATION_FAILED").await;
    app.unit(&admin, c, "A-3-1202").await;
    let page: Value = app
        .get_json(
            &format!("/api/v1/staff/units?community_id={c}&per_page=1"),
            Some(&admin),
        )
        .await;
    assert_eq!(page["total"], 2);
    assert_eq!(page["items"].as_array().unwrap().len(), 1);
}

#[tokio::test]
async fn a_transfer_keeps_history_and_moves_the_unit_between_owner_accounts() {
    let app = spawn_app().await;
    let admin = app.admin_token().await;
    let c = app.community(&admin, "C1").await;
    let unit = app.unit(&admin, c, "A-1-101").await;
    let seller = app.owner(&admin, "卖方", "13800000001", &[unit]).await;
    let buyer = app.owner_in(&admin, c, "买方", "13800000002").await;
    let (seller_token, _) = app.owner_login("openid-seller").await;
    app.bind_phone(&seller_token, "13800000001").await;
    let (buyer_token, _) = app.owner_login("openid-buyer").await;
    app.bind_phone(&buyer_token, "13800000002").await;

    let r = app
        .post(
            &format!("/api/v1/staff/units/{unit}/transfer"),
            Some(&admin),
            &json!({"to_owner_ids": [buyer], "date": "2026-10-20"}),
        )
        .await;
    assert_eq!(r.status(), 200);
    let v: Value = r.json().await.unwrap();
    assert_eq!(
        v["owners"]
            .as_array()
            .unwrap()
            .iter()
            .map(|o| o["owner_id"].as_i64().unwrap())
            .collect::<Vec<_>>(),
        vec![buyer]
    );
    let history = v["history"].as_array().unwrap();
    assert_eq!(history.len(), 2);
    assert_eq!(history[0]["owner_id"], seller);
    assert_eq!(history[0]["end_date"], "2026-10-20");
    assert_eq!(history[0]["phone"], "138****0001");

    let seller_me: Value = app.get_json("/api/v1/me", Some(&seller_token)).await;
    assert_eq!(seller_me["units"], json!([]));
    assert_eq!(
        app.get(&format!("/api/v1/me/units/{unit}"), Some(&buyer_token))
            .await
            .status(),
        200
    );

    let r = app
        .post(
            &format!("/api/v1/staff/units/{unit}/transfer"),
            Some(&admin),
            &json!({"to_owner_ids": [9999], "date": "2026-13-01"}),
        )
        .await;
    let e = assert_error(r, 422, "VALIDATION_FAILED").await;
    assert!(e["details"]["fields"].get("to_owner_ids").is_some() && e["details"]["fields"].get("date").is_some());
    assert_eq!(app.count("unit_owners").await, 2);
}

#[tokio::test]
async fn owners_are_created_edited_and_found_by_phone() {
    let app = spawn_app().await;
    let admin = app.admin_token().await;
    let c = app.community(&admin, "C1").await;
    let u1 = app.unit(&admin, c, "A-1").await;
    let u2 = app.unit(&admin, c, "A-2").await;
    let id = app.owner(&admin, "赵六", "138-0000-0007", &[u1]).await;
    let found: Value = app
        .get_json(
            &format!("/api/v1/staff/owners?community_id={c}&phone=13800000007"),
            Some(&admin),
        )
        .await;
    assert_eq!(found["total"], 1);
    assert_eq!(found["items"][0]["id"], id);
    assert_eq!(found["items"][0]["phone"], "138****0007");

    let r = app
        .patch(
            &format!("/api/v1/staff/owners/{id}"),
            Some(&admin),
            &json!({"unit_ids": [u2], "name": "赵六六"}),
        )
        .await;
    let v: Value = r.json().await.unwrap();
    assert_eq!(v["unit_ids"], json!([u2]));
    assert_eq!(v["name"], "赵六六");

    let bad = json!({"name": "", "phone": "12345", "unit_ids": [u1, 9999]});
    let e = assert_error(
        app.post("/api/v1/staff/owners", Some(&admin), &bad).await,
        422,
        "VALIDATION_FAILED",
    )
    .await;
    for f in ["name", "phone", "unit_ids"] {
        assert!(e["details"]["fields"].get(f).is_some(), "{f}: {e}");
    }
    assert_eq!(app.count("owners").await, 1);
}
