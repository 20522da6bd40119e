//! Tickets (issue #14): the owner–staff round trip, who may see a ticket and its photos, internal
//! notes, rating and the reopen window, SLA clocks (pause, near-breach, breach, on two replicas
//! once each, business hours), merging, and a dispute suppressing collection on exactly its bills.
use crate::helpers::*;
use crate::reminders::{estate_without_channels, Estate};
use chrono::{DateTime, Duration, Utc};
use serde_json::{json, Value};

fn fixture(name: &str) -> Vec<u8> {
    std::fs::read(format!("{}/tests/fixtures/{name}", env!("CARGO_MANIFEST_DIR"))).unwrap()
}

fn at(v: &Value) -> DateTime<Utc> {
    v.as_str().unwrap_or_else(|| panic!("a time, not {v}")).parse().unwrap()
}

/// A household whose owner is signed in with the household's phone: (unit, owner token).
pub(crate) async fn household(e: &Estate, code: &str, phone: &str) -> (i64, String) {
    let (unit, _) = e.household(code, phone).await;
    let (token, _) = e.app.owner_login(&format!("openid-{code}")).await;
    e.app.bind_phone(&token, phone).await;
    (unit, token)
}

pub(crate) async fn login(app: &TestApp, username: &str) -> String {
    let r = app.staff_login(username, "long-enough-pw").await;
    assert_eq!(r.status(), 200);
    r.json::<Value>().await.unwrap()["token"].as_str().unwrap().to_string()
}

pub(crate) async fn upload(app: &TestApp, path: &str, token: &str) -> i64 {
    let r = app.post_raw(path, Some(token), "image/png", fixture("gps.png")).await;
    assert_eq!(r.status(), 201);
    r.json::<Value>().await.unwrap()["id"].as_i64().unwrap()
}

pub(crate) async fn open(app: &TestApp, owner: &str, body: Value) -> Value {
    let r = app.post("/api/v1/me/tickets", Some(owner), &body).await;
    assert_eq!(r.status(), 201, "{}", r.text().await.unwrap_or_default());
    r.json().await.unwrap()
}

async fn staff_post(app: &TestApp, token: &str, path: &str, body: Value, status: u16) -> Value {
    let r = app.post(path, Some(token), &body).await;
    assert_eq!(r.status(), status, "{path}: {}", r.text().await.unwrap_or_default());
    r.json().await.unwrap()
}

pub(crate) async fn tick(a: &TestApp) -> Result<wuye::services::tickets::clock::TickReport, wuye::error::ApiError> {
    wuye::services::tickets::clock::tick(&a.state).await
}

fn stages(records: &[Value]) -> Vec<String> {
    records
        .iter()
        .filter(|r| r["kind"] == "ticket")
        .map(|r| r["stage"].as_str().unwrap().to_string())
        .collect()
}

#[tokio::test]
async fn an_owner_and_staff_work_a_complaint_from_opening_to_rating() {
    let mut e = estate_without_channels().await;
    let (unit, owner) = household(&e, "T-1", "13900000001").await;
    let (kefu_id, kefu) = e.app.staff_member(&e.admin, "kefu1", "service", &[e.community]).await;
    let photo = upload(&e.app, "/api/v1/me/uploads", &owner).await;
    let t = open(
        &e.app,
        &owner,
        json!({"category": "complaint", "title": "电梯异响", "body": "三号楼电梯运行时有异响\n已持续一周",
               "unit_id": unit, "upload_ids": [photo]}),
    )
    .await;
    let id = t["id"].as_i64().unwrap();
    assert_eq!(t["status"], "open");
    // Defaults: first response within 24 h, a complaint resolved within 7 days, all day.
    assert_eq!(at(&t["first_response_due_at"]), t0() + Duration::hours(24));
    assert_eq!(at(&t["resolution_due_at"]), t0() + Duration::days(7));
    let url = t["messages"][0]["photos"][0]["url"].as_str().unwrap().to_string();
    assert_eq!(url, format!("/api/v1/me/tickets/{id}/photos/{photo}"));
    assert_eq!(e.app.get(&url, Some(&owner)).await.status(), 200);
    assert!(t.get("breached").is_none() && t.get("assignee_id").is_none(), "{t}");

    // The service member's queue has it; admins assign it.
    let q: Value = e
        .app
        .get_json(
            &format!("/api/v1/staff/tickets?community_id={}", e.community),
            Some(&kefu),
        )
        .await;
    assert_eq!(q["total"], 1, "{q}");
    assert_eq!(q["items"][0]["breached"], false);
    let v = staff_post(
        &e.app,
        &e.admin,
        &format!("/api/v1/staff/tickets/{id}/assign"),
        json!({"staff_id": kefu_id}),
        200,
    )
    .await;
    assert_eq!(v["assignee_name"], "员工 kefu1", "{v}");
    assert_eq!(e.app.count("staff_inbox WHERE kind = 'ticket_assigned'").await, 1);
    // An internal note, then a question that stops the clock until the owner answers.
    let path = format!("/api/v1/staff/tickets/{id}/messages");
    staff_post(
        &e.app,
        &kefu,
        &path,
        json!({"body": "业主情绪激动，先电话安抚", "internal": true}),
        201,
    )
    .await;
    let v = staff_post(
        &e.app,
        &kefu,
        &path,
        json!({"body": "请问异响出现在哪几层？", "wait_for_owner": true}),
        201,
    )
    .await;
    assert_eq!(v["status"], "waiting_owner");
    assert_eq!(v["paused"], true);
    assert!(v["resolution_due_at"].is_null(), "a stopped clock has no deadline: {v}");
    assert_eq!(at(&v["first_responded_at"]), t0());

    // The owner sees the answer and never the note.
    let mine: Value = e.app.get_json(&format!("/api/v1/me/tickets/{id}"), Some(&owner)).await;
    let bodies: Vec<&str> = mine["messages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["body"].as_str().unwrap())
        .collect();
    assert!(bodies.contains(&"请问异响出现在哪几层？"), "{bodies:?}");
    assert!(!mine.to_string().contains("安抚"), "{mine}");
    assert!(!mine.to_string().contains("指派"), "{mine}");
    assert!(mine["messages"]
        .as_array()
        .unwrap()
        .iter()
        .all(|m| m["internal"] == false));
    // Ten hours later the owner answers: the resolution deadline moves by the ten hours waited.
    e.advance(Duration::hours(10)).await;
    let r = e
        .app
        .post(
            &format!("/api/v1/me/tickets/{id}/messages"),
            Some(&owner),
            &json!({"body": "8到12层"}),
        )
        .await;
    assert_eq!(r.status(), 201);
    let v: Value = r.json().await.unwrap();
    assert_eq!(v["status"], "open");
    assert_eq!(
        at(&v["resolution_due_at"]),
        t0() + Duration::days(7) + Duration::hours(10)
    );
    // Rating waits for the resolution.
    let r = e
        .app
        .post(
            &format!("/api/v1/me/tickets/{id}/rating"),
            Some(&owner),
            &json!({"score": 5}),
        )
        .await;
    assert_error(r, 409, "TICKET_NOT_RESOLVED").await;
    let kefu = login(&e.app, "kefu1").await;
    let v = staff_post(
        &e.app,
        &kefu,
        &format!("/api/v1/staff/tickets/{id}/resolve"),
        json!({"resolution": "已更换电梯导靴，异响消除"}),
        200,
    )
    .await;
    assert_eq!(v["status"], "resolved");
    let r = e
        .app
        .post(
            &format!("/api/v1/me/tickets/{id}/rating"),
            Some(&owner),
            &json!({"score": 5, "comment": "处理很快"}),
        )
        .await;
    assert_eq!(r.status(), 200);
    let v: Value = r.json().await.unwrap();
    assert_eq!(v["rating"], 5);
    assert_eq!(at(&v["reopen_until"]), at(&v["resolved_at"]) + Duration::days(7));
    let r = e
        .app
        .post(
            &format!("/api/v1/me/tickets/{id}/rating"),
            Some(&owner),
            &json!({"score": 1}),
        )
        .await;
    assert_error(r, 409, "TICKET_ALREADY_RATED").await;
    // A resolved ticket takes no more messages: reopening is the way.
    let r = e
        .app
        .post(
            &format!("/api/v1/me/tickets/{id}/messages"),
            Some(&owner),
            &json!({"body": "x"}),
        )
        .await;
    assert_error(r, 409, "TICKET_RESOLVED").await;

    // Evidence: every exchange with the owner, chained; the internal note is not among them.
    let records = e.evidence(unit).await;
    assert_eq!(
        stages(&records),
        [
            "ticket_opened",
            "ticket_staff_reply",
            "ticket_owner_reply",
            "ticket_resolved",
            "ticket_rated"
        ]
    );
    assert!(!serde_json::to_string(&records).unwrap().contains("安抚"));
    let opened = &records.iter().find(|r| r["stage"] == "ticket_opened").unwrap()["content"];
    assert!(
        opened.as_str().unwrap().contains("sha256"),
        "photos are cited by hash: {opened}"
    );
    let ok: Value = e
        .app
        .get_json(&format!("/api/v1/staff/units/{unit}/evidence/verify"), Some(&e.admin))
        .await;
    assert_eq!(ok["ok"], true);
    let html = e
        .app
        .get(&format!("/api/v1/staff/units/{unit}/case-file.html"), Some(&e.admin))
        .await
        .text()
        .await
        .unwrap();
    for words in ["业主提交工单", "电梯异响", "工单已解决", "已更换电梯导靴", "评分"] {
        assert!(html.contains(words), "the case file shows {words}");
    }
}

#[tokio::test]
async fn other_owners_collectors_and_other_communities_never_see_a_ticket_or_its_photos() {
    let e = estate_without_channels().await;
    let (unit_a, a) = household(&e, "T-1", "13900000001").await;
    let (_, b) = household(&e, "T-2", "13900000002").await;
    let (_, kefu) = e.app.staff_member(&e.admin, "kefu1", "service", &[e.community]).await;
    let photo = upload(&e.app, "/api/v1/me/uploads", &a).await;
    let t = open(
        &e.app,
        &a,
        json!({"category": "repair", "title": "卫生间漏水", "body": "楼上渗水", "unit_id": unit_a, "upload_ids": [photo]}),
    )
    .await;
    let id = t["id"].as_i64().unwrap();
    let note_photo = upload(&e.app, "/api/v1/staff/uploads", &kefu).await;
    let reply_photo = upload(&e.app, "/api/v1/staff/uploads", &kefu).await;
    let path = format!("/api/v1/staff/tickets/{id}/messages");
    staff_post(
        &e.app,
        &kefu,
        &path,
        json!({"body": "内部：维修工照片", "internal": true, "upload_ids": [note_photo]}),
        201,
    )
    .await;
    staff_post(
        &e.app,
        &kefu,
        &path,
        json!({"body": "维修完成照片", "upload_ids": [reply_photo]}),
        201,
    )
    .await;

    // Another owner: every door is a 404, and their list is empty.
    for p in [
        format!("/api/v1/me/tickets/{id}"),
        format!("/api/v1/me/tickets/{id}/photos/{photo}"),
        format!("/api/v1/me/tickets/{id}/photos/{reply_photo}"),
        format!("/api/v1/me/uploads/{photo}"),
    ] {
        assert_eq!(e.app.get(&p, Some(&b)).await.status(), 404, "{p}");
    }
    for (p, body) in [
        (format!("/api/v1/me/tickets/{id}/messages"), json!({"body": "x"})),
        (format!("/api/v1/me/tickets/{id}/rating"), json!({"score": 3})),
        (format!("/api/v1/me/tickets/{id}/reopen"), json!({"reason": "x"})),
    ] {
        assert_error(e.app.post(&p, Some(&b), &body).await, 404, "NOT_FOUND").await;
    }
    let theirs: Value = e.app.get_json("/api/v1/me/tickets", Some(&b)).await;
    assert_eq!(theirs["total"], 0);
    // Nor can they open one on a unit that is not theirs.
    let r = e
        .app
        .post(
            "/api/v1/me/tickets",
            Some(&b),
            &json!({"category": "complaint", "title": "x", "body": "y", "unit_id": unit_a}),
        )
        .await;
    let err = assert_error(r, 422, "VALIDATION_FAILED").await;
    assert!(err["details"]["fields"]["unit_id"].is_string(), "{err}");
    // The owner sees the staff's public photo, not the note's.
    let ok = e
        .app
        .get(&format!("/api/v1/me/tickets/{id}/photos/{reply_photo}"), Some(&a))
        .await;
    assert_eq!(ok.status(), 200);
    let hidden = e
        .app
        .get(&format!("/api/v1/me/tickets/{id}/photos/{note_photo}"), Some(&a))
        .await;
    assert_eq!(hidden.status(), 404);
    assert_eq!(
        e.app
            .get(&format!("/api/v1/me/uploads/{reply_photo}"), Some(&a))
            .await
            .status(),
        404
    );

    // A collector reads no repairs, and no complaint on a unit without an open task of theirs;
    // finance reads disputes only; a member of another community sees nothing.
    let (_, collector) = e
        .app
        .staff_member(&e.admin, "cuishou", "collector", &[e.community])
        .await;
    let (_, finance) = e.app.staff_member(&e.admin, "caiwu", "finance", &[e.community]).await;
    let other = e.app.community(&e.admin, "R9").await;
    let (_, outsider) = e.app.staff_member(&e.admin, "kefu9", "service", &[other]).await;
    for token in [&collector, &finance, &outsider] {
        assert_eq!(
            e.app
                .get(&format!("/api/v1/staff/tickets/{id}"), Some(token))
                .await
                .status(),
            404
        );
        assert_eq!(
            e.app
                .get(&format!("/api/v1/staff/tickets/{id}/photos/{photo}"), Some(token))
                .await
                .status(),
            404
        );
        let q: Value = e.app.get_json("/api/v1/staff/tickets", Some(token)).await;
        assert_eq!(q["total"], 0, "{q}");
    }
    // The generic photo door serves ticket photos to nobody (not even the staff who posted them).
    for token in [&collector, &kefu, &e.admin] {
        assert_eq!(
            e.app
                .get(&format!("/api/v1/staff/uploads/{photo}"), Some(token))
                .await
                .status(),
            404
        );
    }
    assert_eq!(
        e.app
            .get(&format!("/api/v1/staff/tickets/{id}/photos/{note_photo}"), Some(&kefu))
            .await
            .status(),
        200
    );

    // A complaint on a unit with an open follow-up task: the collector reads it, and only reads.
    let c = open(
        &e.app,
        &a,
        json!({"category": "complaint", "title": "保洁不到位", "body": "楼道无人打扫", "unit_id": unit_a}),
    )
    .await;
    let cid = c["id"].as_i64().unwrap();
    e.exec(&format!(
        "INSERT INTO staff_tasks (community_id, unit_id, kind, status, created_at) VALUES ({}, {unit_a}, 'call', 'open', '2026-10-20 02:00:00+00:00')",
        e.community
    ))
    .await;
    let seen: Value = e
        .app
        .get_json(&format!("/api/v1/staff/tickets/{cid}"), Some(&collector))
        .await;
    assert_eq!(seen["title"], "保洁不到位");
    assert_eq!(
        e.app
            .get(&format!("/api/v1/staff/tickets/{id}"), Some(&collector))
            .await
            .status(),
        404
    );
    let r = e
        .app
        .post(
            &format!("/api/v1/staff/tickets/{cid}/messages"),
            Some(&collector),
            &json!({"body": "x"}),
        )
        .await;
    assert_error(r, 403, "FORBIDDEN").await;
    // The task shows the collector the unit's open complaint before any call about money.
    let tasks = e.tasks().await;
    let task = tasks.iter().find(|t| t["unit_id"] == unit_a).expect("the task");
    let open_tickets = task["open_tickets"].as_array().expect("open_tickets on the task");
    assert_eq!(open_tickets.len(), 1, "{task}");
    assert_eq!(open_tickets[0]["title"], "保洁不到位");
}

#[tokio::test]
async fn ratings_wait_for_a_resolution_and_reopening_has_a_seven_day_window() {
    let mut e = estate_without_channels().await;
    let (unit, owner) = household(&e, "T-1", "13900000001").await;
    let t = open(
        &e.app,
        &owner,
        json!({"category": "suggestion", "title": "增加充电桩", "body": "地下车库需要充电桩", "unit_id": unit}),
    )
    .await;
    let id = t["id"].as_i64().unwrap();
    let reopen = |reason: &str| json!({ "reason": reason });
    let r = e
        .app
        .post(&format!("/api/v1/me/tickets/{id}/reopen"), Some(&owner), &reopen("x"))
        .await;
    assert_error(r, 409, "TICKET_NOT_RESOLVED").await;
    let r = e
        .app
        .post(
            &format!("/api/v1/me/tickets/{id}/rating"),
            Some(&owner),
            &json!({"score": 6}),
        )
        .await;
    assert_eq!(r.status(), 422);
    let resolve = format!("/api/v1/staff/tickets/{id}/resolve");
    staff_post(&e.app, &e.admin, &resolve, json!({"resolution": "已列入明年计划"}), 200).await;
    // A resolved ticket is not assigned (nor answered) any more.
    let r = e
        .app
        .post(
            &format!("/api/v1/staff/tickets/{id}/assign"),
            Some(&e.admin),
            &json!({"staff_id": 1}),
        )
        .await;
    assert_error(r, 409, "TICKET_RESOLVED").await;
    let r = e
        .app
        .post(
            &format!("/api/v1/me/tickets/{id}/rating"),
            Some(&owner),
            &json!({"score": 2}),
        )
        .await;
    assert_eq!(r.status(), 200);
    // Six days on: reopened; the resolution clock starts again; the rating is set aside.
    e.advance(Duration::days(6)).await;
    let r = e
        .app
        .post(
            &format!("/api/v1/me/tickets/{id}/reopen"),
            Some(&owner),
            &reopen("希望今年解决"),
        )
        .await;
    assert_eq!(r.status(), 200);
    let v: Value = r.json().await.unwrap();
    assert_eq!(v["status"], "open");
    assert_eq!(v["reopen_count"], 1);
    assert!(v["rating"].is_null());
    assert_eq!(
        at(&v["resolution_due_at"]),
        t0() + Duration::days(6) + Duration::days(7)
    );
    // The thread keeps the first resolution.
    assert!(v["messages"].to_string().contains("已列入明年计划"), "{v}");
    staff_post(&e.app, &e.admin, &resolve, json!({"resolution": "年内安装"}), 200).await;
    // Seven days and a minute after that: too late to reopen.
    e.advance(Duration::days(7) + Duration::minutes(1)).await;
    let r = e
        .app
        .post(&format!("/api/v1/me/tickets/{id}/reopen"), Some(&owner), &reopen("x"))
        .await;
    assert_error(r, 409, "REOPEN_WINDOW_PASSED").await;
    // Nothing changed by the refusal.
    let v: Value = e.app.get_json(&format!("/api/v1/me/tickets/{id}"), Some(&owner)).await;
    assert_eq!(v["status"], "resolved");
    assert_eq!(v["reopen_count"], 1);
    assert_eq!(
        stages(&e.evidence(unit).await),
        [
            "ticket_opened",
            "ticket_resolved",
            "ticket_rated",
            "ticket_reopened",
            "ticket_resolved"
        ]
    );
}

#[tokio::test]
async fn near_breach_and_breach_are_raised_once_on_two_replicas_and_flag_the_ticket() {
    let e = estate_without_channels().await;
    let (unit, owner) = household(&e, "T-1", "13900000001").await;
    let (kefu_id, _) = e.app.staff_member(&e.admin, "kefu1", "service", &[e.community]).await;
    let t = open(
        &e.app,
        &owner,
        json!({"category": "complaint", "title": "噪音扰民", "body": "夜间施工", "unit_id": unit}),
    )
    .await;
    let id = t["id"].as_i64().unwrap();
    staff_post(
        &e.app,
        &e.admin,
        &format!("/api/v1/staff/tickets/{id}/assign"),
        json!({"staff_id": kefu_id}),
        200,
    )
    .await;
    // A ticket waiting for the owner runs no clock: it is never warned or breached.
    let waiting = open(
        &e.app,
        &owner,
        json!({"category": "repair", "title": "门禁失灵", "body": "刷卡无反应", "unit_id": unit}),
    )
    .await;
    let wid = waiting["id"].as_i64().unwrap();
    staff_post(
        &e.app,
        &e.admin,
        &format!("/api/v1/staff/tickets/{wid}/messages"),
        json!({"body": "请问哪天方便上门？", "wait_for_owner": true}),
        201,
    )
    .await;
    let replica = e.app.replica().await;
    // 19 hours: under four fifths of the 24-hour first response budget, nothing yet.
    e.app.clock.advance(Duration::hours(19));
    replica.clock.advance(Duration::hours(19));
    let (x, y) = tokio::join!(tick(&e.app), tick(&replica));
    assert_eq!(x.unwrap().warned + y.unwrap().warned, 0);
    // 20 hours: near the breach; the assignee is warned once, however many replicas look.
    e.app.clock.advance(Duration::hours(1));
    replica.clock.advance(Duration::hours(1));
    let (x, y) = tokio::join!(tick(&e.app), tick(&replica));
    assert_eq!(x.unwrap().warned + y.unwrap().warned, 1);
    tick(&e.app).await.unwrap();
    assert_eq!(
        e.app
            .count(&format!(
                "staff_inbox WHERE kind = 'ticket_near_breach' AND staff_id = {kefu_id}"
            ))
            .await,
        1
    );
    // 25 hours: breached; flagged once; the admins and the assignee are told once each.
    e.app.clock.advance(Duration::hours(5));
    replica.clock.advance(Duration::hours(5));
    let (x, y) = tokio::join!(tick(&e.app), tick(&replica));
    assert_eq!(x.unwrap().breached + y.unwrap().breached, 1);
    assert_eq!(tick(&replica).await.unwrap().breached, 0);
    assert_eq!(e.app.count("staff_inbox WHERE kind = 'ticket_breach'").await, 2);
    assert_eq!(
        e.app
            .count(&format!(
                "staff_inbox WHERE kind = 'ticket_breach' AND staff_id = {kefu_id}"
            ))
            .await,
        1
    );
    assert_eq!(e.app.count("tickets WHERE response_breached_at IS NOT NULL").await, 1);
    let admin = e.app.admin_token().await;
    let q: Value = e
        .app
        .get_json("/api/v1/staff/tickets?breached=true", Some(&admin))
        .await;
    assert_eq!(q["total"], 1);
    assert_eq!(q["items"][0]["id"], id);
    let q: Value = e
        .app
        .get_json("/api/v1/staff/tickets?breached=false", Some(&admin))
        .await;
    assert_eq!(q["total"], 1);
    assert_eq!(q["items"][0]["id"], wid);
    assert_eq!(q["items"][0]["paused"], true);
}

#[tokio::test]
async fn sla_settings_run_clocks_on_business_hours_and_only_admins_change_them() {
    let e = estate_without_channels().await;
    let (unit, owner) = household(&e, "T-1", "13900000001").await;
    let path = format!("/api/v1/staff/communities/{}/ticket-sla", e.community);
    let defaults: Value = e.app.get_json(&path, Some(&e.admin)).await;
    assert_eq!(defaults["repair"]["resolution_minutes"], 72 * 60);
    assert_eq!(defaults["emergency_repair"]["resolution_minutes"], 4 * 60);
    assert_eq!(defaults["dispute"]["resolution_minutes"], 7 * 24 * 60);
    let (_, kefu) = e.app.staff_member(&e.admin, "kefu1", "service", &[e.community]).await;
    let rule = json!({"complaint": {"first_response_minutes": 120, "resolution_minutes": 600,
        "business_hours": {"open": "09:00", "close": "18:00"}, "skip_closed_days": false}});
    let r = e.app.put(&path, Some(&kefu), &rule).await;
    assert_error(r, 403, "FORBIDDEN").await;
    let r = e.app.put(&path, Some(&e.admin), &rule).await;
    assert_eq!(r.status(), 200, "{}", r.text().await.unwrap_or_default());
    let saved: Value = r.json().await.unwrap();
    assert_eq!(saved["complaint"]["first_response_minutes"], 120);
    assert_eq!(
        saved["repair"]["resolution_minutes"],
        72 * 60,
        "others keep the defaults"
    );
    // Opened at 10:00 local on a Tuesday: answered by 12:00; ten working hours run out at 11:00
    // the next day (8 hours to 18:00, then 2 from 09:00).
    let t = open(
        &e.app,
        &owner,
        json!({"category": "complaint", "title": "绿化", "body": "草坪枯黄", "unit_id": unit}),
    )
    .await;
    assert_eq!(at(&t["first_response_due_at"]), t0() + Duration::hours(2));
    assert_eq!(at(&t["resolution_due_at"]), t0() + Duration::hours(25));
    // An emergency repair keeps the 4-hour default.
    let t = open(
        &e.app,
        &owner,
        json!({"category": "repair", "emergency": true, "title": "水管爆裂", "body": "厨房水管爆裂", "unit_id": unit}),
    )
    .await;
    assert_eq!(t["emergency"], true);
    assert_eq!(at(&t["resolution_due_at"]), t0() + Duration::hours(4));
    // Bad settings change nothing.
    let r = e
        .app
        .put(
            &path,
            Some(&e.admin),
            &json!({"repair": {"first_response_minutes": 0, "resolution_minutes": 60, "business_hours": null, "skip_closed_days": false}}),
        )
        .await;
    assert_eq!(r.status(), 422);
    let after: Value = e.app.get_json(&path, Some(&e.admin)).await;
    assert_eq!(after["complaint"]["first_response_minutes"], 120);
}

#[tokio::test]
async fn a_dispute_stops_reminders_on_exactly_its_bills_until_resolved_and_merging_keeps_it() {
    let e = estate_without_channels().await;
    let (u1, owner1) = household(&e, "D-1", "13900000011").await;
    let (u2, _) = household(&e, "D-2", "13900000012").await;
    let disputed = e.bill_due(u1, 5).await;
    let other = e.bill_due(u2, 5).await;
    // A dispute names a bill of the owner's unit; a bill of another unit is refused.
    let r = e
        .app
        .post(
            "/api/v1/me/tickets",
            Some(&owner1),
            &json!({"category": "dispute", "title": "面积有误", "body": "实际面积小于计费面积", "unit_id": u1, "bill_ids": [other]}),
        )
        .await;
    assert_error(r, 422, "VALIDATION_FAILED").await;
    let t = open(
        &e.app,
        &owner1,
        json!({"category": "dispute", "title": "面积有误", "body": "实际面积小于计费面积", "unit_id": u1, "bill_ids": [disputed]}),
    )
    .await;
    let id = t["id"].as_i64().unwrap();
    assert_eq!(t["bill_ids"], json!([disputed]));
    // A duplicate from the same owner, merged into the first: the dispute goes on there.
    let dup = open(
        &e.app,
        &owner1,
        json!({"category": "dispute", "title": "面积", "body": "同上", "unit_id": u1, "bill_ids": [disputed]}),
    )
    .await;
    let dup_id = dup["id"].as_i64().unwrap();
    let v = staff_post(
        &e.app,
        &e.admin,
        &format!("/api/v1/staff/tickets/{dup_id}/merge"),
        json!({"into_id": id}),
        200,
    )
    .await;
    assert_eq!(v["status"], "merged");
    assert_eq!(v["merged_into"], id);
    let r = e
        .app
        .post(
            &format!("/api/v1/me/tickets/{dup_id}/messages"),
            Some(&owner1),
            &json!({"body": "x"}),
        )
        .await;
    assert_error(r, 409, "TICKET_MERGED").await;
    let mine: Value = e
        .app
        .get_json(&format!("/api/v1/me/tickets/{dup_id}"), Some(&owner1))
        .await;
    assert!(
        mine["messages"].to_string().contains(&format!("已合并到工单{id}")),
        "{mine}"
    );

    // The pass reminds the other owner and not the disputing one.
    e.run().await;
    let named =
        |unit: i64| format!("reminders r JOIN unit_owners uo ON uo.owner_id = r.owner_id WHERE uo.unit_id = {unit}");
    assert_eq!(e.app.count(&named(u1)).await, 0, "no reminder about a disputed bill");
    assert!(e.app.count(&named(u2)).await >= 1);
    // Resolved: the bill is collectable again, and the next pass reminds its owner.
    staff_post(
        &e.app,
        &e.admin,
        &format!("/api/v1/staff/tickets/{id}/resolve"),
        json!({"resolution": "经复核面积无误，已向业主出示测绘报告"}),
        200,
    )
    .await;
    e.run().await;
    assert!(e.app.count(&named(u1)).await >= 1, "reminders resume after the dispute");
}
