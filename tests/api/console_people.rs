//! 设置 · 员工与角色, 操作日志 and 个人信息查看记录 in the console: admin only, CSRF checked, the same
//! staff service as the API (a deactivated member is signed out at once), user text escaped.
use crate::bills::estate;
use crate::console::{hidden_csrf, page, post_form, sign_in};
use crate::helpers::*;
use reqwest::header::{COOKIE, LOCATION};
use serde_json::{json, Value};

#[tokio::test]
async fn admins_add_change_and_deactivate_staff_in_the_console_and_see_it_in_the_audit_log() {
    let e = estate().await;
    let app = &e.app;
    let other = app.community(&e.admin, "C2").await;
    let session = sign_in(app, ADMIN_USER, ADMIN_PASSWORD).await;
    let (status, html) = page(app, "/console/setup/staff", &session).await;
    assert_eq!(status, 200);
    assert!(html.contains(&format!("<td>{ADMIN_USER}</td>")), "{html}");
    let csrf = hidden_csrf(&html);
    let (c1, c2) = (e.community.to_string(), other.to_string());
    let new = |token: String, username: &'static str| {
        let (c1, c2) = (c1.clone(), c2.clone());
        let session = session.clone();
        async move {
            post_form(
                app,
                "/console/setup/staff",
                &session,
                &[
                    ("csrf", token.as_str()),
                    ("username", username),
                    ("password", "long-enough-pw"),
                    ("role", "collector"),
                    ("community_ids", c1.as_str()),
                    ("community_ids", c2.as_str()),
                ],
            )
            .await
        }
    };
    let staff = app.count("staff_users").await;
    assert_eq!(new("forged".into(), "wang").await.0, 403);
    let (status, _, body) = new(csrf.clone(), "x").await;
    assert_eq!(status, 422);
    assert!(body.contains("用户名应为3到32位"), "{body}");
    assert_eq!(app.count("staff_users").await, staff);
    let (status, location, _) = new(csrf.clone(), "wang").await;
    assert_eq!(status, 303, "{location}");
    let users: Vec<Value> = app.get_json("/api/v1/staff/staff-users", Some(&e.admin)).await;
    let wang = users.iter().find(|u| u["username"] == "wang").expect("created");
    assert_eq!(wang["role"], "collector");
    assert_eq!(wang["community_ids"], json!([e.community, other]), "both ticked boxes");
    let id = wang["id"].as_i64().unwrap();

    // Wang signs in; a non-admin sees none of these pages and changes nothing.
    let wang_session = sign_in(app, "wang", "long-enough-pw").await;
    for path in [
        "/console/setup/staff",
        "/console/setup/audit-log",
        "/console/setup/pii-log",
    ] {
        let (status, body) = page(app, path, &wang_session).await;
        assert_eq!(status, 403, "{path}: {body}");
    }
    let (_, wang_home) = page(app, "/console/", &wang_session).await;
    let (status, _, _) = post_form(
        app,
        &format!("/console/setup/staff/{id}"),
        &wang_session,
        &[("csrf", &hidden_csrf(&wang_home)), ("role", "admin"), ("active", "1")],
    )
    .await;
    assert_eq!(status, 403);

    // The admin narrows Wang to one community, then deactivates them: signed out at once.
    let path = format!("/console/setup/staff/{id}");
    let (status, _, _) = post_form(
        app,
        &path,
        &session,
        &[
            ("csrf", &csrf),
            ("role", "finance"),
            ("community_ids", &c1),
            ("active", "1"),
        ],
    )
    .await;
    assert_eq!(status, 303);
    let users: Vec<Value> = app.get_json("/api/v1/staff/staff-users", Some(&e.admin)).await;
    let wang = users.iter().find(|u| u["username"] == "wang").unwrap();
    assert_eq!(
        (wang["role"].as_str(), wang["community_ids"].clone()),
        (Some("finance"), json!([e.community]))
    );
    let (status, _) = page(app, "/console/", &wang_session).await;
    assert_eq!(status, 200, "a role change keeps the session");
    let (status, _, _) = post_form(
        app,
        &path,
        &session,
        &[("csrf", &csrf), ("role", "finance"), ("community_ids", &c1)],
    )
    .await;
    assert_eq!(status, 303);
    let r = app
        .http
        .get(app.url("/console/"))
        .header(COOKIE, &wang_session)
        .send()
        .await
        .unwrap();
    assert_eq!(
        (r.status().as_u16(), r.headers()[LOCATION].to_str().unwrap()),
        (303, "/console/login")
    );
    let (_, html) = page(app, "/console/setup/staff", &session).await;
    assert!(
        html.contains("<td>wang</td><td>财务</td>") && html.contains("已停用"),
        "{html}"
    );

    // The audit log names who did what, filtered by record.
    let (status, html) = page(
        app,
        &format!("/console/setup/audit-log?entity=staff_user&entity_id={id}"),
        &session,
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(html.matches("<td>修改员工</td>").count(), 2, "{html}");
    assert_eq!(html.matches("<td>新增员工</td>").count(), 1, "{html}");
    assert!(html.contains(&format!("员工 {ADMIN_USER}")), "{html}");
    assert!(html.contains("共3条"), "{html}");
    let (_, html) = page(app, "/console/setup/audit-log?entity=nothing", &session).await;
    assert!(html.contains("id=\"no-audit\""), "{html}");
    let (status, _) = page(app, "/console/setup/audit-log?page=0", &session).await;
    assert_eq!(status, 422);
}

#[tokio::test]
async fn the_reveal_log_shows_who_saw_a_full_phone_and_why_escaped() {
    let e = estate().await;
    let app = &e.app;
    let owners: Value = app
        .get_json(
            &format!("/api/v1/staff/owners?community_id={}", e.community),
            Some(&e.admin),
        )
        .await;
    let owner = owners["items"][0]["id"].as_i64().unwrap();
    let r = app
        .post(
            &format!("/api/v1/staff/owners/{owner}/reveal-phone"),
            Some(&e.admin),
            &json!({"purpose": "<b>核对</b>缴费人"}),
        )
        .await;
    assert_eq!(r.status(), 200);
    let session = sign_in(app, ADMIN_USER, ADMIN_PASSWORD).await;
    let (status, html) = page(app, &format!("/console/setup/pii-log?owner_id={owner}"), &session).await;
    assert_eq!(status, 200);
    assert!(
        html.contains("&lt;b&gt;核对&lt;/b&gt;缴费人") && !html.contains("<b>核对"),
        "{html}"
    );
    assert!(
        html.contains(&format!("员工 {ADMIN_USER}")) && html.contains("手机号"),
        "{html}"
    );
    assert!(!html.contains("13800000001"), "the log never shows the number itself");
    let (_, html) = page(
        app,
        &format!("/console/setup/pii-log?owner_id={}", owner + 1000),
        &session,
    )
    .await;
    assert!(html.contains("id=\"no-reveals\""), "{html}");
}
