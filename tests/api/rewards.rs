//! Rewards and redemptions (issue #15): staff keep a catalog; owners redeem with an
//! Idempotency-Key; balance and stock are taken in one transaction, so concurrent redemptions never
//! overspend either; staff fulfil or cancel once, and a cancellation returns the points to the lots
//! they came from (and their expiry).
use crate::helpers::*;
use crate::payments::{shop, Shop};
use crate::points::{give_points, my_points, points_of, tick};
use serde_json::{json, Value};

async fn reward(s: &Shop, cost: i64, stock: i64, limit: Option<i64>) -> i64 {
    let mut body = json!({"community_id": s.community, "name": "大米5斤", "kind": "goods",
        "points_cost": cost, "stock": stock, "description": "服务中心领取"});
    if let Some(l) = limit {
        body["per_owner_limit"] = json!(l);
    }
    let r = s.app.post("/api/v1/staff/rewards", Some(&s.admin), &body).await;
    assert_eq!(r.status(), 201, "{}", r.text().await.unwrap_or_default());
    r.json::<Value>().await.unwrap()["id"].as_i64().unwrap()
}

async fn redeem_as(app: &TestApp, owner: &str, reward: i64, quantity: i64, key: Option<&str>) -> reqwest::Response {
    let mut rb = app
        .http
        .post(app.url("/api/v1/me/redemptions"))
        .bearer_auth(owner)
        .json(&json!({"reward_id": reward, "quantity": quantity}));
    if let Some(k) = key {
        rb = rb.header("Idempotency-Key", k);
    }
    rb.send().await.unwrap()
}

async fn redeem(s: &Shop, reward: i64, quantity: i64, key: &str) -> reqwest::Response {
    redeem_as(&s.app, &s.owner, reward, quantity, Some(key)).await
}

async fn stock(s: &Shop, reward: i64) -> i64 {
    let admin = s.app.admin_token().await;
    let all: Vec<Value> = s
        .app
        .get_json(
            &format!("/api/v1/staff/rewards?community_id={}", s.community),
            Some(&admin),
        )
        .await;
    all.iter().find(|r| r["id"] == reward).unwrap()["stock"]
        .as_i64()
        .unwrap()
}

#[tokio::test]
async fn twenty_concurrent_redemptions_against_a_balance_for_five_succeed_exactly_five_times() {
    let s = shop().await;
    give_points(&s, 500).await;
    let rice = reward(&s, 100, 1000, None).await;
    let other = s.app.replica().await;
    let tries = (0..20).map(|i| {
        let app = if i % 2 == 0 { &s.app } else { &other };
        let key = format!("k-{i}");
        let owner = s.owner.clone();
        async move {
            let r = redeem_as(app, &owner, rice, 1, Some(&key)).await;
            let status = r.status().as_u16();
            (status, r.json::<Value>().await.unwrap())
        }
    });
    let answers = futures_util::future::join_all(tries).await;
    let ok = answers.iter().filter(|(st, _)| *st == 201).count();
    assert_eq!(ok, 5, "{answers:?}");
    for (st, v) in &answers {
        if *st != 201 {
            assert_eq!((*st, v["code"].as_str()), (409, Some("INSUFFICIENT_POINTS")), "{v}");
        }
    }
    let mine = my_points(&s).await;
    assert_eq!(mine["balance"], 0, "{mine}");
    assert_eq!(stock(&s, rice).await, 995);
    assert_eq!(s.app.count("redemptions").await, 5);
    assert_eq!(
        s.app
            .count("points_entries WHERE kind = 'redeem' AND points = -100")
            .await,
        5
    );
}

#[tokio::test]
async fn stock_never_goes_negative_and_limits_keys_and_bad_input_are_refused_with_nothing_changed() {
    let s = shop().await;
    give_points(&s, 10_000).await;
    let fan = reward(&s, 100, 3, None).await;
    let tries = (0..10).map(|i| {
        let key = format!("fan-{i}");
        let (app, owner) = (&s.app, s.owner.clone());
        async move { redeem_as(app, &owner, fan, 1, Some(&key)).await.status().as_u16() }
    });
    let statuses = futures_util::future::join_all(tries).await;
    assert_eq!(statuses.iter().filter(|st| **st == 201).count(), 3, "{statuses:?}");
    assert_eq!(stock(&s, fan).await, 0);
    let r = redeem(&s, fan, 1, "fan-more").await;
    let err = assert_error(r, 409, "OUT_OF_STOCK").await;
    assert!(err["message"].as_str().unwrap().contains("剩余0件"), "{err}");
    assert_eq!(my_points(&s).await["balance"], 9_700);

    // The same key answers the first redemption and spends nothing more.
    let limited = reward(&s, 1_000, 50, Some(2)).await;
    let r = redeem(&s, limited, 1, "once").await;
    assert_eq!(r.status(), 201);
    let first: Value = r.json().await.unwrap();
    assert_eq!(
        (first["points_spent"].as_i64(), first["balance"].as_i64()),
        (Some(1_000), Some(8_700))
    );
    let again: Value = redeem(&s, limited, 1, "once").await.json().await.unwrap();
    assert_eq!(again["id"], first["id"]);
    assert_eq!(again["balance"], 8_700);
    // Two per owner: a third is refused, naming the limit.
    let r = redeem(&s, limited, 2, "twice").await;
    let err = assert_error(r, 409, "LIMIT_REACHED").await;
    assert!(err["message"].as_str().unwrap().contains("每户限兑2件"), "{err}");
    assert_eq!(redeem(&s, limited, 1, "second").await.status(), 201);

    // No key, a bad quantity, someone else's community, a withdrawn reward: refused, nothing moves.
    let r = redeem_as(&s.app, &s.owner, limited, 1, None).await;
    assert_error(r, 400, "BAD_REQUEST").await;
    let r = redeem(&s, limited, 0, "zero").await;
    assert_error(r, 422, "VALIDATION_FAILED").await;
    let r = redeem(&s, 999_999, 1, "ghost").await;
    assert_error(r, 404, "NOT_FOUND").await;
    let elsewhere = s.app.community(&s.admin, "C2").await;
    let r = s
        .app
        .post(
            "/api/v1/staff/rewards",
            Some(&s.admin),
            &json!({"community_id": elsewhere, "name": "洗车券", "kind": "service", "points_cost": 1, "stock": 5}),
        )
        .await;
    let far = r.json::<Value>().await.unwrap()["id"].as_i64().unwrap();
    assert_error(redeem(&s, far, 1, "far").await, 404, "NOT_FOUND").await;
    let r = s
        .app
        .patch(
            &format!("/api/v1/staff/rewards/{fan}"),
            Some(&s.admin),
            &json!({"active": false, "stock": 10}),
        )
        .await;
    assert_eq!(r.status(), 200);
    assert_error(redeem(&s, fan, 1, "gone").await, 409, "REWARD_WITHDRAWN").await;
    assert_eq!(my_points(&s).await["balance"], 7_700);
    assert_eq!(s.app.count("redemptions").await, 5);

    // Owners see active rewards of their own communities, cheapest first; staff see the catalog.
    let offered: Vec<Value> = s.app.get_json("/api/v1/rewards", Some(&s.owner)).await;
    let ids: Vec<i64> = offered.iter().map(|r| r["id"].as_i64().unwrap()).collect();
    assert_eq!(ids, vec![limited]);
    assert_eq!(offered[0]["per_owner_limit"], 2);
    assert_eq!(offered[0]["kind"], "goods");
    let r = s
        .app
        .get(&format!("/api/v1/rewards?community_id={elsewhere}"), Some(&s.owner))
        .await;
    assert_error(r, 404, "NOT_FOUND").await;

    // Collectors may not keep the catalog; bad fields are named.
    let (_, cuishou) = s
        .app
        .staff_member(&s.admin, "cuishou", "collector", &[s.community])
        .await;
    let body = json!({"community_id": s.community, "name": "x", "kind": "goods", "points_cost": 1, "stock": 1});
    assert_error(
        s.app.post("/api/v1/staff/rewards", Some(&cuishou), &body).await,
        403,
        "FORBIDDEN",
    )
    .await;
    let r = s
        .app
        .post(
            "/api/v1/staff/rewards",
            Some(&s.admin),
            &json!({"community_id": s.community, "name": " ", "kind": "gift", "points_cost": 0, "stock": -1}),
        )
        .await;
    let err = assert_error(r, 422, "VALIDATION_FAILED").await;
    for f in ["name", "kind", "points_cost", "stock"] {
        assert!(err["details"]["fields"][f].is_string(), "{f}: {err}");
    }
    assert_eq!(s.app.count("audit_log WHERE action LIKE 'reward.%'").await, 4);
}

#[tokio::test]
async fn staff_fulfil_or_cancel_once_and_cancelled_points_return_to_their_own_lots_and_expiry() {
    let s = shop().await;
    // One lot earned in 2026 (last day 2028-12-31), one in 2027 (2029-12-31).
    give_points(&s, 100).await;
    s.app.clock.advance(chrono::Duration::days(120));
    give_points(&s, 100).await;
    let (owner, _) = s.app.owner_login("openid-zhang").await;
    let s = Shop {
        admin: s.app.admin_token().await,
        ..s
    };
    let voucher = reward(&s, 150, 10, None).await;
    let r = redeem_as(&s.app, &owner, voucher, 1, Some("v1")).await;
    assert_eq!(r.status(), 201);
    let id = r.json::<Value>().await.unwrap()["id"].as_i64().unwrap();
    let mine = points_of(&s.app, &owner, s.community).await;
    // The older lot went first: 50 left, all in the 2029 lot.
    assert_eq!(mine["balance"], 50);
    assert_eq!(mine["next_expiry"], json!({"points": 50, "on": "2029-12-31"}));

    let queue: Vec<Value> = s
        .app
        .get_json(
            &format!("/api/v1/staff/redemptions?community_id={}", s.community),
            Some(&s.admin),
        )
        .await;
    assert_eq!(queue.len(), 1);
    assert_eq!(queue[0]["reward_name"], "大米5斤");
    assert_eq!(queue[0]["unit_codes"], json!(["A-1-101"]));
    assert_eq!(queue[0]["status"], "pending");

    // Cancelled twice at once: once. Points back to both lots; stock back on the shelf.
    let cancel = format!("/api/v1/staff/redemptions/{id}/cancel");
    let body = json!({"reason": "业主改选其他奖品"});
    let (a, b) = tokio::join!(
        s.app.post(&cancel, Some(&s.admin), &body),
        s.app.post(&cancel, Some(&s.admin), &body)
    );
    let mut statuses = [a.status().as_u16(), b.status().as_u16()];
    statuses.sort();
    assert_eq!(statuses, [200, 409]);
    let mine = points_of(&s.app, &owner, s.community).await;
    assert_eq!(mine["balance"], 200, "{mine}");
    assert_eq!(mine["next_expiry"], json!({"points": 100, "on": "2028-12-31"}));
    assert_eq!(mine["entries"][0]["kind"], "reverse");
    assert_eq!(mine["entries"][0]["points"], 150);
    assert_eq!(stock(&s, voucher).await, 10);
    let r = s
        .app
        .post(
            &format!("/api/v1/staff/redemptions/{id}/fulfil"),
            Some(&s.admin),
            &json!({}),
        )
        .await;
    assert_error(r, 409, "REDEMPTION_DECIDED").await;

    // Redeemed twice more: the first takes the 2028 lot's 100 and 50 of the 2029 lot; the second,
    // after 100 more are given, is handed over.
    let r = redeem_as(&s.app, &owner, voucher, 1, Some("v2")).await;
    assert_eq!(r.status(), 201);
    let id2 = r.json::<Value>().await.unwrap()["id"].as_i64().unwrap();
    assert_eq!(
        redeem_as(&s.app, &owner, voucher, 1, Some("v3")).await.status(),
        409,
        "50 left"
    );
    give_points(&s, 100).await;
    let r = redeem_as(&s.app, &owner, voucher, 1, Some("v4")).await;
    assert_eq!(r.status(), 201);
    let id4 = r.json::<Value>().await.unwrap()["id"].as_i64().unwrap();
    let r = s
        .app
        .post(
            &format!("/api/v1/staff/redemptions/{id4}/fulfil"),
            Some(&s.admin),
            &json!({"note": "已于服务中心领取"}),
        )
        .await;
    assert_eq!(r.status(), 200);
    let v: Value = r.json().await.unwrap();
    assert_eq!(
        (v["status"].as_str(), v["note"].as_str()),
        (Some("fulfilled"), Some("已于服务中心领取"))
    );
    let mine: Vec<Value> = s.app.get_json("/api/v1/me/redemptions", Some(&owner)).await;
    let statuses: Vec<&str> = mine.iter().map(|r| r["status"].as_str().unwrap()).collect();
    assert_eq!(statuses, ["fulfilled", "pending", "cancelled"]);

    // The second is cancelled after the 2028 lot's last day: its 100 from that lot come back
    // expired (a lot cannot outlive its date); the 50 return to the 2029 lot.
    s.app.clock.set(
        chrono::DateTime::parse_from_rfc3339("2029-01-01T02:00:00Z")
            .unwrap()
            .to_utc(),
    );
    tick(&s.app).await;
    let (owner, _) = s.app.owner_login("openid-zhang").await;
    assert_eq!(points_of(&s.app, &owner, s.community).await["balance"], 0);
    let r = s
        .app
        .post(
            &format!("/api/v1/staff/redemptions/{id2}/cancel"),
            Some(&s.app.admin_token().await),
            &json!({"reason": "奖品停发"}),
        )
        .await;
    assert_eq!(r.status(), 200, "{}", r.text().await.unwrap_or_default());
    let mine = points_of(&s.app, &owner, s.community).await;
    let kinds: Vec<(String, i64)> = mine["entries"].as_array().unwrap()[..2]
        .iter()
        .map(|e| (e["kind"].as_str().unwrap().to_string(), e["points"].as_i64().unwrap()))
        .collect();
    assert_eq!(kinds, [("expire".to_string(), -100), ("reverse".to_string(), 150)]);
    assert_eq!(mine["balance"], 50);
    assert_eq!(mine["next_expiry"], json!({"points": 50, "on": "2029-12-31"}));
    assert_eq!(stock(&s, voucher).await, 9, "one handed over");
    assert_eq!(s.app.count("audit_log WHERE action LIKE 'redemption.%'").await, 3);
}
