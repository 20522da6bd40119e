//! 工单 in the console: the queue in deadline order with its filters, a thread with staff-only
//! notes marked, the forms that answer (publicly, internally, asking the owner), assign, merge and
//! resolve end to end (checked through the JSON API, the owner's side included), refusals shown on
//! the thread, CSRF, scope and role refusals, escaped text, the SLA form, and a task showing its
//! unit's open complaint.
use crate::console::{hidden_csrf, outsider, page, post_form, sign_in};
use crate::helpers::*;
use crate::reminders::{estate_without_channels, Estate};
use crate::tickets::{household, open, tick, upload};
use chrono::Duration;
use serde_json::{json, Value};

/// The ticket ids of a queue page, in the order it lists them.
fn listed(html: &str) -> Vec<i64> {
    html.split("data-ticket-id=\"")
        .skip(1)
        .map(|rest| rest.split('"').next().unwrap().parse().unwrap())
        .collect()
}

/// The `<tr>` of one ticket in a queue page.
fn row(html: &str, id: i64) -> String {
    let at = html
        .find(&format!("data-ticket-id=\"{id}\""))
        .unwrap_or_else(|| panic!("ticket {id} listed"));
    html[at..].split("</tr>").next().unwrap().to_string()
}

fn id_of(v: &Value) -> i64 {
    v["id"].as_i64().unwrap()
}

/// A ticket as staff read it through the API.
async fn staff_view(e: &Estate, id: i64) -> Value {
    let admin = e.app.admin_token().await;
    e.app
        .get_json(&format!("/api/v1/staff/tickets/{id}"), Some(&admin))
        .await
}

#[tokio::test]
async fn the_queue_lists_open_tickets_soonest_deadline_first_and_filters_them() {
    let e = estate_without_channels().await;
    let app = &e.app;
    let (unit, owner) = household(&e, "Q-1", "13900000021").await;
    let (kefu_id, _) = app.staff_member(&e.admin, "kefu1", "service", &[e.community]).await;
    // Opened at 10:00 local: a complaint (answer within 24 h) and an emergency repair (4 h).
    let complaint = id_of(
        &open(
            app,
            &owner,
            json!({"category": "complaint", "title": "<script>alert(1)</script>噪音", "body": "夜间施工", "unit_id": unit}),
        )
        .await,
    );
    let emergency = id_of(
        &open(
            app,
            &owner,
            json!({"category": "repair", "emergency": true, "title": "水管爆裂", "body": "厨房水管爆裂", "unit_id": unit}),
        )
        .await,
    );
    // An hour later a repair (answer by 11:00 tomorrow) and a suggestion staff ask about (paused).
    app.clock.advance(Duration::hours(1));
    let repair = id_of(
        &open(
            app,
            &owner,
            json!({"category": "repair", "title": "门禁失灵", "body": "刷卡无反应", "unit_id": unit}),
        )
        .await,
    );
    let waiting = id_of(
        &open(
            app,
            &owner,
            json!({"category": "suggestion", "title": "增加充电桩", "body": "地下车库", "unit_id": unit}),
        )
        .await,
    );
    let admin = app.admin_token().await;
    let r = app
        .post(
            &format!("/api/v1/staff/tickets/{waiting}/messages"),
            Some(&admin),
            &json!({"body": "请问需要几个？", "wait_for_owner": true}),
        )
        .await;
    assert_eq!(r.status(), 201);
    let r = app
        .post(
            &format!("/api/v1/staff/tickets/{complaint}/assign"),
            Some(&admin),
            &json!({"staff_id": kefu_id}),
        )
        .await;
    assert_eq!(r.status(), 200);
    // Five hours in, the emergency repair has missed its 4-hour deadline.
    app.clock.advance(Duration::hours(4));
    assert!(tick(app).await.unwrap().breached >= 1);

    let session = sign_in(app, ADMIN_USER, ADMIN_PASSWORD).await;
    let base = format!("/console/tickets?community_id={}", e.community);
    let (status, html) = page(app, &base, &session).await;
    assert_eq!(status, 200);
    assert!(
        html.contains("<a href=\"/console/tickets\">工单</a>"),
        "the header links the queue"
    );
    // The next deadline first; a stopped clock last.
    assert_eq!(listed(&html), [emergency, complaint, repair, waiting], "{html}");
    let urgent = row(&html, emergency);
    assert!(
        urgent.contains("紧急") && urgent.contains("已超时") && urgent.contains("首次响应 2026-10-20 14:00"),
        "{urgent}"
    );
    let c = row(&html, complaint);
    assert!(
        c.contains("首次响应 2026-10-21 10:00") && c.contains("kefu1") && c.contains("处理中"),
        "{c}"
    );
    assert!(!c.contains("已超时"), "{c}");
    assert!(row(&html, repair).contains("首次响应 2026-10-21 11:00"));
    let w = row(&html, waiting);
    assert!(w.contains("已暂停") && w.contains("待业主回复"), "{w}");
    assert!(row(&html, complaint).contains(&format!("href=\"/console/tickets/{complaint}\"")));
    // The title is text, never markup.
    assert!(
        html.contains("&lt;script&gt;alert(1)&lt;/script&gt;噪音") && !html.contains("<script>alert(1)"),
        "{html}"
    );

    for (filter, expected) in [
        ("status=waiting_owner", vec![waiting]),
        ("status=open", vec![emergency, complaint, repair]),
        ("category=repair", vec![emergency, repair]),
        ("breached=true", vec![emergency]),
        ("breached=false", vec![complaint, repair, waiting]),
        (&format!("assignee_id={kefu_id}") as &str, vec![complaint]),
        ("assignee_id=none", vec![emergency, repair, waiting]),
        ("emergency=true", vec![emergency]),
        ("status=resolved", vec![]),
    ] {
        let (status, html) = page(app, &format!("{base}&{filter}"), &session).await;
        assert_eq!(status, 200, "{filter}");
        assert_eq!(listed(&html), expected, "{filter}");
    }
    // The API filters the same way: nobody's tickets, and everything but emergencies.
    let api: Value = app
        .get_json(
            &format!(
                "/api/v1/staff/tickets?community_id={}&unassigned=true&emergency=false",
                e.community
            ),
            Some(&admin),
        )
        .await;
    let ids: Vec<i64> = api["items"].as_array().unwrap().iter().map(id_of).collect();
    assert_eq!(ids, [repair, waiting], "{api}");
    assert_eq!(api["items"][0]["unit_code"], "Q-1");
    // Units are named as people name them, not by row number.
    assert!(row(&html, complaint).contains(">Q-1</a>"), "{}", row(&html, complaint));
    // The filters are kept in the form and the pager.
    let (_, html) = page(app, &format!("{base}&category=repair&breached=true"), &session).await;
    assert!(
        html.contains("<option value=\"repair\" selected>报修</option>")
            && html.contains("<option value=\"true\" selected>已超时</option>"),
        "{html}"
    );
    // A filter the service does not know is refused on the console's page.
    let (status, html) = page(app, &format!("{base}&status=nonsense"), &session).await;
    assert_eq!(status, 422);
    assert!(html.contains("状态无效"), "{html}");
}

#[tokio::test]
async fn staff_answer_note_ask_assign_merge_and_resolve_from_the_thread() {
    let e = estate_without_channels().await;
    let app = &e.app;
    let (unit, owner) = household(&e, "W-1", "13900000031").await;
    let (kefu_id, _) = app.staff_member(&e.admin, "kefu1", "service", &[e.community]).await;
    let (cuishou_id, _) = app.staff_member(&e.admin, "cuishou", "collector", &[e.community]).await;
    let photo = upload(app, "/api/v1/me/uploads", &owner).await;
    let id = id_of(
        &open(
            app,
            &owner,
            json!({"category": "complaint", "title": "电梯异响", "body": "三号楼电梯运行时有异响", "unit_id": unit, "upload_ids": [photo]}),
        )
        .await,
    );
    let session = sign_in(app, "kefu1", "long-enough-pw").await;
    let thread = format!("/console/tickets/{id}");
    let (status, html) = page(app, &thread, &session).await;
    assert_eq!(status, 200);
    for part in [
        "电梯异响",
        "三号楼电梯运行时有异响",
        "id=\"reply\"",
        "id=\"assign\"",
        "id=\"resolve\"",
        "id=\"merge\"",
        "首次响应时限",
        "2026-10-21 10:00",
    ] {
        assert!(html.contains(part), "{part}: {html}");
    }
    // The owner's photo through the console's own door.
    let src = format!("/console/tickets/{id}/photos/{photo}");
    assert!(html.contains(&format!("<img src=\"{src}\"")), "{html}");
    let r = app
        .http
        .get(app.url(&src))
        .header(reqwest::header::COOKIE, &session)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(r.headers()["content-type"], "image/png");
    let csrf = hidden_csrf(&html);
    let messages = format!("{thread}/messages");

    // Without the session's token nothing is posted.
    let before = app.count("ticket_messages").await;
    let (status, _, body) = post_form(app, &messages, &session, &[("body", "无令牌")]).await;
    assert_eq!(status, 403, "{body}");
    let (status, _, _) = post_form(app, &messages, &session, &[("csrf", "forged"), ("body", "伪造")]).await;
    assert_eq!(status, 403);
    assert_eq!(app.count("ticket_messages").await, before);

    // A staff-only note: marked on the thread, never on the owner's side.
    let (status, location, _) = post_form(
        app,
        &messages,
        &session,
        &[("csrf", &csrf), ("body", "业主情绪激动，先电话安抚"), ("internal", "1")],
    )
    .await;
    assert_eq!((status, location.as_str()), (303, thread.as_str()));
    let (_, html) = page(app, &thread, &session).await;
    let note = html
        .split("<li ")
        .find(|li| li.contains("先电话安抚"))
        .expect("the note on the thread");
    assert!(
        note.starts_with("class=\"internal\"")
            && note.contains("内部备注（业主不可见）")
            && note.contains("员工 kefu1"),
        "{note}"
    );
    // A reply that asks the owner something: the clock stops.
    let (status, _, _) = post_form(
        app,
        &messages,
        &session,
        &[
            ("csrf", &csrf),
            ("body", "请问异响出现在哪几层？"),
            ("wait_for_owner", "1"),
        ],
    )
    .await;
    assert_eq!(status, 303);
    let v = staff_view(&e, id).await;
    assert_eq!(
        (v["status"].as_str(), v["paused"].as_bool()),
        (Some("waiting_owner"), Some(true))
    );
    let (_, html) = page(app, &thread, &session).await;
    assert!(html.contains("<span id=\"ticket-status\">待业主回复</span>"), "{html}");
    assert!(html.contains("已暂停"), "{html}");
    let mine: Value = app.get_json(&format!("/api/v1/me/tickets/{id}"), Some(&owner)).await;
    assert!(mine.to_string().contains("请问异响出现在哪几层？"), "{mine}");
    assert!(
        !mine.to_string().contains("安抚"),
        "the owner never reads the note: {mine}"
    );

    // A refusal shows the thread again with why, and keeps what was typed.
    let (status, _, body) = post_form(app, &messages, &session, &[("csrf", &csrf), ("body", "   ")]).await;
    assert_eq!(status, 422, "{body}");
    assert!(
        body.contains("class=\"error\"") && body.contains("不能为空") && body.contains("id=\"thread\""),
        "{body}"
    );
    // Assigned to a collector: refused; to the service member: done, and named on the thread.
    let assign = format!("{thread}/assign");
    let (status, _, body) = post_form(
        app,
        &assign,
        &session,
        &[("csrf", &csrf), ("staff_id", &cuishou_id.to_string())],
    )
    .await;
    assert_eq!(status, 422);
    assert!(body.contains("只能指派给负责该小区的客服人员"), "{body}");
    let (status, _, _) = post_form(
        app,
        &assign,
        &session,
        &[("csrf", &csrf), ("staff_id", &kefu_id.to_string())],
    )
    .await;
    assert_eq!(status, 303);
    assert_eq!(staff_view(&e, id).await["assignee_id"], kefu_id);
    let (_, html) = page(app, &thread, &session).await;
    assert!(
        html.contains(&format!("<option value=\"{kefu_id}\" selected>kefu1（客服）</option>")),
        "{html}"
    );

    // A duplicate merged into the first: it ends merged and links there, with no more forms.
    let dup = id_of(
        &open(
            app,
            &owner,
            json!({"category": "complaint", "title": "电梯又响", "body": "同上", "unit_id": unit}),
        )
        .await,
    );
    let merge = format!("/console/tickets/{dup}/merge");
    for bad in [dup.to_string(), "abc".to_string(), "999999".to_string()] {
        let (status, _, body) = post_form(app, &merge, &session, &[("csrf", &csrf), ("into_id", &bad)]).await;
        assert_eq!(status, 422, "{bad}");
        assert!(body.contains("只能合并到同一小区处理中的另一张工单"), "{body}");
    }
    let (status, location, _) =
        post_form(app, &merge, &session, &[("csrf", &csrf), ("into_id", &id.to_string())]).await;
    assert_eq!((status, location), (303, format!("/console/tickets/{dup}")));
    let v = staff_view(&e, dup).await;
    assert_eq!(
        (v["status"].as_str(), v["merged_into"].as_i64()),
        (Some("merged"), Some(id))
    );
    let (_, html) = page(app, &format!("/console/tickets/{dup}"), &session).await;
    assert!(
        html.contains(&format!(
            "<a id=\"merged-into\" href=\"/console/tickets/{id}\">工单 #{id}</a>"
        )),
        "{html}"
    );
    assert!(!html.contains("id=\"reply\""), "a merged ticket takes no more answers");

    // Resolved: the owner reads the resolution; the thread keeps it and offers no more forms.
    let (status, _, _) = post_form(
        app,
        &format!("{thread}/resolve"),
        &session,
        &[("csrf", &csrf), ("resolution", "已更换电梯导靴，异响消除")],
    )
    .await;
    assert_eq!(status, 303);
    let mine: Value = app.get_json(&format!("/api/v1/me/tickets/{id}"), Some(&owner)).await;
    assert_eq!(mine["status"], "resolved");
    assert_eq!(mine["resolution"], "已更换电梯导靴，异响消除");
    assert!(!mine.to_string().contains("安抚"), "{mine}");
    let (_, html) = page(app, &thread, &session).await;
    assert!(
        html.contains("已解决") && html.contains("已更换电梯导靴") && !html.contains("id=\"resolve\""),
        "{html}"
    );
    // Answering it now is a conflict, shown on the thread.
    let (status, _, body) = post_form(app, &messages, &session, &[("csrf", &csrf), ("body", "补充")]).await;
    assert_eq!(status, 409);
    assert!(
        body.contains("class=\"error\"") && body.contains("该工单已解决"),
        "{body}"
    );
}

#[tokio::test]
async fn other_communities_get_404_collectors_only_read_and_tasks_show_open_complaints() {
    let e = estate_without_channels().await;
    let app = &e.app;
    let (unit, owner) = household(&e, "S-1", "13900000041").await;
    let complaint = id_of(
        &open(
            app,
            &owner,
            json!({"category": "complaint", "title": "保洁不到位", "body": "楼道无人打扫", "unit_id": unit}),
        )
        .await,
    );
    let repair = id_of(
        &open(
            app,
            &owner,
            json!({"category": "repair", "title": "卫生间漏水", "body": "楼上渗水", "unit_id": unit}),
        )
        .await,
    );
    // A service member of another community: the thread, its photos and its forms are not there.
    let admin_session = sign_in(app, ADMIN_USER, ADMIN_PASSWORD).await;
    let stranger = outsider(app, &e.admin, "kefu9", "service").await;
    let (status, html) = page(app, "/console/tickets", &stranger).await;
    assert_eq!(status, 200);
    assert!(listed(&html).is_empty(), "{html}");
    let csrf = hidden_csrf(&html);
    let (status, html) = page(app, &format!("/console/tickets/{complaint}"), &stranger).await;
    assert_eq!(status, 404);
    assert!(html.contains("页面不存在") && !html.contains("保洁不到位"), "{html}");
    let (status, _, _) = post_form(
        app,
        &format!("/console/tickets/{complaint}/messages"),
        &stranger,
        &[("csrf", &csrf), ("body", "越权")],
    )
    .await;
    assert_eq!(status, 404);
    assert_eq!(
        page(app, &format!("/console/tickets/{complaint}/photos/1"), &stranger)
            .await
            .0,
        404
    );

    // A collector reads a complaint on a unit they follow up, and nothing else; no forms, no posts.
    e.exec(&format!(
        "INSERT INTO staff_tasks (community_id, unit_id, kind, status, created_at) VALUES ({}, {unit}, 'call', 'open', '2026-10-20 02:00:00+00:00')",
        e.community
    ))
    .await;
    app.staff_member(&e.admin, "cuishou", "collector", &[e.community]).await;
    let collector = sign_in(app, "cuishou", "long-enough-pw").await;
    let (status, html) = page(app, &format!("/console/tickets/{complaint}"), &collector).await;
    assert_eq!(status, 200);
    assert!(html.contains("保洁不到位"), "{html}");
    for form in ["id=\"reply\"", "id=\"assign\"", "id=\"resolve\"", "id=\"merge\""] {
        assert!(!html.contains(form), "{form} shown to a collector");
    }
    let csrf = hidden_csrf(&html);
    for (path, field, value) in [
        ("messages", "body", "催缴前先回复"),
        ("resolve", "resolution", "已处理"),
        ("merge", "into_id", "1"),
        ("assign", "staff_id", "1"),
    ] {
        let (status, _, body) = post_form(
            app,
            &format!("/console/tickets/{complaint}/{path}"),
            &collector,
            &[("csrf", &csrf), (field, value)],
        )
        .await;
        assert_eq!(status, 403, "{path}: {body}");
        assert!(body.contains("无权访问"), "{body}");
    }
    assert_eq!(staff_view(&e, complaint).await["status"], "open");
    assert_eq!(
        page(app, &format!("/console/tickets/{repair}"), &collector).await.0,
        404
    );
    let (_, html) = page(app, "/console/tickets", &collector).await;
    assert_eq!(listed(&html), [complaint], "{html}");
    assert!(!html.contains("id=\"f-assignee\""), "{html}");

    // The task list shows the unit's open complaint before the call, linked to its thread.
    for session in [&collector, &admin_session] {
        let (status, html) = page(app, "/console/tasks", session).await;
        assert_eq!(status, 200);
        assert!(
            html.contains(&format!(
                "未结投诉/异议：<a href=\"/console/tickets/{complaint}\">#{complaint} 保洁不到位</a>"
            )),
            "{html}"
        );
        assert!(!html.contains("卫生间漏水"), "a repair is not a complaint: {html}");
    }
}

/// The SLA form's fields: every category's row as given, and the community.
fn sla_form(csrf: &str, community: i64, complaint: [&str; 4]) -> Vec<(String, String)> {
    let mut f = vec![
        ("csrf".to_string(), csrf.to_string()),
        ("community_id".to_string(), community.to_string()),
    ];
    for key in [
        "complaint",
        "repair",
        "emergency_repair",
        "dispute",
        "suggestion",
        "enquiry",
    ] {
        let [first, resolution, open, close] = if key == "complaint" {
            complaint
        } else {
            ["60", "1440", "", ""]
        };
        for (k, v) in [
            ("first_response_minutes", first),
            ("resolution_minutes", resolution),
            ("open", open),
            ("close", close),
        ] {
            f.push((format!("{key}_{k}"), v.to_string()));
        }
    }
    f.push(("repair_skip_closed_days".into(), "1".into()));
    f
}

async fn post_sla(app: &TestApp, session: &str, form: &[(String, String)]) -> (u16, String, String) {
    let pairs: Vec<(&str, &str)> = form.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    post_form(app, "/console/tickets/sla", session, &pairs).await
}

#[tokio::test]
async fn the_sla_form_saves_all_six_rules_for_admins_and_refuses_everyone_else() {
    let e = estate_without_channels().await;
    let app = &e.app;
    let api = format!("/api/v1/staff/communities/{}/ticket-sla", e.community);
    let session = sign_in(app, ADMIN_USER, ADMIN_PASSWORD).await;
    let path = format!("/console/tickets/sla?community_id={}", e.community);
    let (status, html) = page(app, &path, &session).await;
    assert_eq!(status, 200);
    // The company defaults, in minutes and hours.
    for shown in [
        "1440 分钟（24 小时）",
        "10080 分钟（168 小时）",
        "240 分钟（4 小时）",
        "紧急报修",
        "账单异议",
    ] {
        assert!(html.contains(shown), "{shown}: {html}");
    }
    assert!(html.contains("type=\"time\"") && html.contains("name=\"dispute_skip_closed_days\""));
    let csrf = hidden_csrf(&html);

    // A service member reads the settings in a disabled form and cannot save them.
    app.staff_member(&e.admin, "kefu1", "service", &[e.community]).await;
    let kefu = sign_in(app, "kefu1", "long-enough-pw").await;
    let (status, html) = page(app, &path, &kefu).await;
    assert_eq!(status, 200);
    assert!(html.contains("<fieldset class=\"inline\" disabled>"), "{html}");
    let kefu_csrf = hidden_csrf(&html);
    let (status, _, body) = post_sla(
        app,
        &kefu,
        &sla_form(&kefu_csrf, e.community, ["120", "600", "09:00", "18:00"]),
    )
    .await;
    assert_eq!(status, 403, "{body}");
    // Nor anyone without the session's token.
    let (status, _, _) = post_sla(
        app,
        &session,
        &sla_form("forged", e.community, ["120", "600", "09:00", "18:00"]),
    )
    .await;
    assert_eq!(status, 403);
    let unchanged: Value = app.get_json(&api, Some(&e.admin)).await;
    assert_eq!(unchanged["complaint"]["first_response_minutes"], 24 * 60);

    // Bad values: the form again naming each, nothing saved.
    let (status, _, body) = post_sla(app, &session, &sla_form(&csrf, e.community, ["0", "abc", "09:00", ""])).await;
    assert_eq!(status, 422, "{body}");
    for named in [
        "投诉 · 首次响应",
        "投诉 · 解决时限",
        "投诉 · 结束时间",
        "class=\"error\"",
    ] {
        assert!(body.contains(named), "{named}: {body}");
    }
    assert!(body.contains("value=\"09:00\""), "what was typed stays: {body}");
    let unchanged: Value = app.get_json(&api, Some(&e.admin)).await;
    assert_eq!(unchanged["complaint"]["first_response_minutes"], 24 * 60);

    // Saved: every rule as posted, business hours and the holiday box included.
    let (status, location, _) = post_sla(
        app,
        &session,
        &sla_form(&csrf, e.community, ["120", "600", "09:00", "18:00"]),
    )
    .await;
    assert_eq!(status, 303);
    assert_eq!(
        location,
        format!("/console/tickets/sla?community_id={}&saved=1", e.community)
    );
    let saved: Value = app.get_json(&api, Some(&e.admin)).await;
    assert_eq!(
        saved["complaint"],
        json!({"first_response_minutes": 120, "resolution_minutes": 600,
               "business_hours": {"open": "09:00", "close": "18:00"}, "skip_closed_days": false})
    );
    assert_eq!(
        saved["repair"],
        json!({"first_response_minutes": 60, "resolution_minutes": 1440, "business_hours": null, "skip_closed_days": true})
    );
    assert_eq!(saved["enquiry"]["resolution_minutes"], 1440);
    let (_, html) = page(app, &location, &session).await;
    assert!(
        html.contains("SLA 时限已保存") && html.contains("600 分钟（10 小时）") && html.contains("value=\"18:00\""),
        "{html}"
    );
}

#[tokio::test]
async fn the_service_report_page_shows_figures_charts_and_money_only_to_those_who_read_it() {
    let e = estate_without_channels().await;
    let app = &e.app;
    let (unit, owner) = household(&e, "R-1", "13900000061").await;
    e.bill_due(unit, 5).await;
    let t = open(
        app,
        &owner,
        json!({"category": "complaint", "title": "门口积水", "body": "下雨积水", "unit_id": unit}),
    )
    .await;
    let r = app
        .post(
            &format!("/api/v1/staff/tickets/{}/messages", id_of(&t)),
            Some(&e.admin),
            &json!({"body": "已安排清理"}),
        )
        .await;
    assert_eq!(r.status(), 201);
    let admin = sign_in(app, ADMIN_USER, ADMIN_PASSWORD).await;
    let path = format!(
        "/console/reports/service?community_id={}&from=2026-10-01&to=2026-10-20",
        e.community
    );
    let (status, html) = page(app, &path, &admin).await;
    assert_eq!(status, 200);
    assert!(html.contains("<div class=\"big\" id=\"tickets\">1</div>"), "{html}");
    // Answered at once (0 minutes), unresolved, nothing breached or rated yet.
    assert!(
        html.contains("<td>投诉</td><td class=\"num\">1</td><td class=\"num\">0</td><td class=\"num\">0分</td>"),
        "{html}"
    );
    assert_eq!(html.matches("<svg class=\"chart\"").count(), 3);
    // The unit with the open complaint owes its bill: 0 % collected, 1 unit.
    assert!(html.contains("id=\"collection-split\""));
    assert!(html.contains("（1户）"));
    // Customer service reads the same figures without money.
    app.staff_member(&e.admin, "kefu1", "service", &[e.community]).await;
    let kefu = sign_in(app, "kefu1", "long-enough-pw").await;
    let (status, html) = page(app, &path, &kefu).await;
    assert_eq!(status, 200);
    assert!(
        html.contains("id=\"by-category\"") && !html.contains("collection-split"),
        "{html}"
    );
    // A bad date is the console's 422 page; another community's staff get 404.
    let (status, _) = page(
        app,
        &format!("/console/reports/service?community_id={}&from=2026-02-30", e.community),
        &admin,
    )
    .await;
    assert_eq!(status, 422);
    let other = outsider(app, &e.admin, "kefu9", "service").await;
    let (status, _) = page(app, &path, &other).await;
    assert_eq!(status, 404);
}
