//! The staff console over HTTP: cookie sign-in with CSRF, the same roles, scopes and session store
//! as the API, the dashboard's figures equal to the report API's, escaping, and console error pages.
use crate::bills::{estate, run};
use crate::helpers::*;
use reqwest::header::{COOKIE, LOCATION, SET_COOKIE};
use reqwest::Response;
use serde_json::{json, Value};

/// `name=value` of a Set-Cookie header, and the whole header.
fn set_cookie(r: &Response, name: &str) -> Option<(String, String)> {
    r.headers().get_all(SET_COOKIE).iter().find_map(|h| {
        let h = h.to_str().ok()?.to_string();
        let pair = h.split(';').next()?.trim().to_string();
        pair.starts_with(&format!("{name}=")).then_some((pair, h))
    })
}

pub(crate) fn hidden_csrf(html: &str) -> String {
    let at = html.find("name=\"csrf\" value=\"").expect("a CSRF field") + "name=\"csrf\" value=\"".len();
    html[at..].split('"').next().unwrap().to_string()
}

/// Opens the login form: (csrf cookie pair, csrf field).
async fn login_form(app: &TestApp) -> (String, String) {
    let r = app.http.get(app.url("/console/login")).send().await.unwrap();
    assert_eq!(r.status(), 200);
    let (pair, header) = set_cookie(&r, "wuye_csrf").expect("csrf cookie");
    assert!(
        header.contains("HttpOnly") && header.contains("SameSite=Strict"),
        "{header}"
    );
    let html = r.text().await.unwrap();
    (pair, hidden_csrf(&html))
}

async fn post_login(app: &TestApp, cookie: &str, csrf: &str, user: &str, pw: &str) -> Response {
    app.http
        .post(app.url("/console/login"))
        .header(COOKIE, cookie)
        .form(&[("csrf", csrf), ("username", user), ("password", pw)])
        .send()
        .await
        .unwrap()
}

/// Signs in through the form; the session cookie pair.
pub(crate) async fn sign_in(app: &TestApp, user: &str, pw: &str) -> String {
    let (cookie, csrf) = login_form(app).await;
    let r = post_login(app, &cookie, &csrf, user, pw).await;
    assert_eq!(r.status(), 303);
    assert_eq!(r.headers()[LOCATION], "/console/");
    set_cookie(&r, "wuye_staff").expect("session cookie").0
}

/// A member of another community (C9, created here) with `role`, signed in: their session, for
/// checking that a page or form refuses someone outside its scope.
pub(crate) async fn outsider(app: &TestApp, admin: &str, username: &str, role: &str) -> String {
    let other = app.community(admin, "C9").await;
    app.staff_member(admin, username, role, &[other]).await;
    sign_in(app, username, "long-enough-pw").await
}

/// Posts a console form; (status, Location, body).
pub(crate) async fn post_form(app: &TestApp, path: &str, cookie: &str, form: &[(&str, &str)]) -> (u16, String, String) {
    let r = app
        .http
        .post(app.url(path))
        .header(COOKIE, cookie)
        .form(form)
        .send()
        .await
        .unwrap();
    let status = r.status().as_u16();
    let location = r
        .headers()
        .get(LOCATION)
        .map(|l| l.to_str().unwrap().to_string())
        .unwrap_or_default();
    (status, location, r.text().await.unwrap())
}

pub(crate) async fn page(app: &TestApp, path: &str, cookie: &str) -> (u16, String) {
    let r = app.http.get(app.url(path)).header(COOKIE, cookie).send().await.unwrap();
    let status = r.status().as_u16();
    if status == 200 {
        let csp = r.headers()["content-security-policy"].to_str().unwrap().to_string();
        assert!(csp.contains("frame-ancestors 'none'"), "{csp}");
    }
    (status, r.text().await.unwrap())
}

#[tokio::test]
async fn staff_sign_in_with_a_strict_cookie_and_csrf_and_sign_out_ends_the_session() {
    let app = spawn_app().await;
    // Unsigned: the dashboard sends you to the form.
    let r = app.http.get(app.url("/console/")).send().await.unwrap();
    assert_eq!(
        (r.status().as_u16(), r.headers()[LOCATION].to_str().unwrap()),
        (303, "/console/login")
    );
    let (cookie, csrf) = login_form(&app).await;
    let form_html = app
        .http
        .get(app.url("/console/login"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(form_html.contains("<label for=\"username\">") && form_html.contains("<label for=\"password\">"));
    // Without the matching token nothing is tried.
    for (c, t) in [
        (cookie.as_str(), "forged"),
        ("wuye_csrf=other", csrf.as_str()),
        ("", csrf.as_str()),
    ] {
        let r = post_login(&app, c, t, ADMIN_USER, ADMIN_PASSWORD).await;
        assert_eq!(r.status(), 403);
        assert!(set_cookie(&r, "wuye_staff").is_none());
        assert!(r.text().await.unwrap().contains("无权访问"));
    }
    // A wrong password: the form again, in Chinese, no session.
    let r = post_login(&app, &cookie, &csrf, ADMIN_USER, "wrong").await;
    assert_eq!(r.status(), 401);
    assert!(set_cookie(&r, "wuye_staff").is_none());
    assert!(r.text().await.unwrap().contains("用户名或密码错误"));
    // Right: a session cookie, HttpOnly, SameSite=Strict, scoped to /console, not Secure over http.
    let r = post_login(&app, &cookie, &csrf, ADMIN_USER, ADMIN_PASSWORD).await;
    assert_eq!(r.status(), 303);
    let (session, header) = set_cookie(&r, "wuye_staff").unwrap();
    for flag in ["HttpOnly", "SameSite=Strict", "Path=/console"] {
        assert!(header.contains(flag), "{flag}: {header}");
    }
    assert!(!header.contains("Secure"), "{header}");
    let (status, html) = page(&app, "/console/", &session).await;
    assert_eq!(status, 200);
    assert!(html.contains("总览") && html.contains("admin · 管理员"), "{html}");
    // The same session store as the API: the cookie's token is a staff session there too.
    let token = session.trim_start_matches("wuye_staff=");
    assert_eq!(app.get("/api/v1/staff/communities", Some(token)).await.status(), 200);
    // Signing out needs the session's token, then ends the session everywhere.
    let out = |t: String| {
        app.http
            .post(app.url("/console/logout"))
            .header(COOKIE, session.clone())
            .form(&[("csrf", t)])
            .send()
    };
    assert_eq!(out("forged".into()).await.unwrap().status(), 403);
    let r = out(hidden_csrf(&html)).await.unwrap();
    assert_eq!(
        (r.status().as_u16(), r.headers()[LOCATION].to_str().unwrap()),
        (303, "/console/login")
    );
    assert_eq!(page(&app, "/console/", &session).await.0, 303);
    assert_eq!(app.get("/api/v1/staff/communities", Some(token)).await.status(), 401);
}

#[tokio::test]
async fn the_dashboard_shows_the_reports_figures_with_its_chart_escaped_and_scoped() {
    let e = estate().await;
    run(&e.app, &e.admin, e.community, "2026-09").await;
    run(&e.app, &e.admin, e.community, "2026-10").await;
    let r = e
        .app
        .post(
            "/api/v1/staff/payments/counter",
            Some(&e.admin),
            &serde_json::json!({"bill_ids": [e.app.bill_of(&e.admin, e.community, e.unit, "2026-10").await], "method": "cash", "reference": "收据0001"}),
        )
        .await;
    assert_eq!(r.status(), 201);
    // A community name that would run as script if printed raw.
    let evil = e
        .app
        .patch(
            &format!("/api/v1/staff/communities/{}", e.community),
            Some(&e.admin),
            &serde_json::json!({"name": "<script>alert(1)</script>花园"}),
        )
        .await;
    assert_eq!(evil.status(), 200, "{}", evil.text().await.unwrap());
    let session = sign_in(&e.app, ADMIN_USER, ADMIN_PASSWORD).await;
    let q = format!("community_id={}&period=2026-10", e.community);
    let (status, html) = page(&e.app, &format!("/console/?{q}"), &session).await;
    assert_eq!(status, 200);
    let api: Value = e
        .app
        .get_json(&format!("/api/v1/staff/reports/collection?{q}"), Some(&e.admin))
        .await;
    // 1 of 1 October bills paid: 100.00 %; the page says what the API says.
    assert_eq!(api["collection_rate"], "1.0000");
    assert!(
        html.contains("<div class=\"big\" id=\"collection-rate\">100.00%</div>"),
        "{html}"
    );
    assert!(html.contains(&format!(
        "实收 {} / 应收 {} 元",
        api["collected"].as_str().unwrap(),
        api["receivable"].as_str().unwrap()
    )));
    assert!(html.contains("<svg class=\"chart\"") && html.contains("2026-10：100.00%"));
    // Today's money by channel: the one cash payment.
    assert!(
        html.contains("<tr><td>现金</td><td class=\"num\">1</td><td class=\"num\">223.75</td>"),
        "{html}"
    );
    assert!(!html.contains("<script>alert(1)</script>"));
    assert!(html.contains("&lt;script&gt;alert(1)&lt;/script&gt;花园"));
    // The CSV behind the page needs the session too.
    let r = e
        .app
        .http
        .get(e.app.url(&format!("/console/reports/collection.csv?{q}")))
        .header(COOKIE, &session)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert!(r.bytes().await.unwrap().starts_with("\u{feff}类别".as_bytes()));
    // Scope and role: another community's figures are a console 404, customer service a 403 page.
    let other = e.app.community(&e.admin, "C2").await;
    e.app.staff_member(&e.admin, "fin", "finance", &[other]).await;
    let fin = sign_in(&e.app, "fin", "long-enough-pw").await;
    let (status, html) = page(&e.app, &format!("/console/?{q}"), &fin).await;
    assert_eq!(status, 404);
    assert!(html.contains("页面不存在") && html.contains("<!doctype html>"));
    e.app.staff_member(&e.admin, "svc", "service", &[e.community]).await;
    let svc = sign_in(&e.app, "svc", "long-enough-pw").await;
    let (status, html) = page(&e.app, "/console/", &svc).await;
    assert_eq!(status, 403);
    assert!(html.contains("无权访问"));
    // A bad period is a page that says why, not JSON.
    let (status, html) = page(&e.app, "/console/?period=2026-13", &session).await;
    assert_eq!(status, 422);
    assert!(html.contains("<h1>无法完成</h1>"), "{html}");
    // Unknown console paths: the console's own 404 page.
    let (status, html) = page(&e.app, "/console/nope", &session).await;
    assert_eq!(status, 404);
    assert!(html.contains("返回总览"));
}

#[tokio::test]
async fn behind_https_the_session_cookie_is_secure() {
    let app = spawn_app_with(TestOptions {
        overrides: vec![("server.public_url", "https://wuye.example.com".into())],
        ..Default::default()
    })
    .await;
    let (cookie, csrf) = login_form(&app).await;
    let r = post_login(&app, &cookie, &csrf, ADMIN_USER, ADMIN_PASSWORD).await;
    assert_eq!(r.status(), 303);
    let (_, header) = set_cookie(&r, "wuye_staff").unwrap();
    assert!(header.contains("Secure") && header.contains("HttpOnly"), "{header}");
}

#[tokio::test]
async fn the_counter_records_ticked_bills_and_prints_the_receipt() {
    let e = estate().await;
    run(&e.app, &e.admin, e.community, "2026-09").await;
    run(&e.app, &e.admin, e.community, "2026-10").await;
    let session = sign_in(&e.app, ADMIN_USER, ADMIN_PASSWORD).await;
    let (status, html) = page(
        &e.app,
        &format!("/console/counter?community_id={}", e.community),
        &session,
    )
    .await;
    assert_eq!(status, 200);
    assert!(
        html.contains(&format!("href=\"/console/counter/units/{}\"", e.unit)),
        "{html}"
    );
    assert!(html.contains("张三 138****0001"), "owners masked: {html}");
    let (status, html) = page(&e.app, &format!("/console/counter/units/{}", e.unit), &session).await;
    assert_eq!(status, 200);
    let sep = e.app.bill_of(&e.admin, e.community, e.unit, "2026-09").await;
    assert!(html.contains(&format!("name=\"bill_ids\" value=\"{sep}\"")), "{html}");
    let csrf = hidden_csrf(&html);
    let post = |body: String| {
        e.app
            .http
            .post(e.app.url("/console/counter"))
            .header(COOKIE, &session)
            .header("content-type", "application/x-www-form-urlencoded")
            .body(body)
            .send()
    };
    // Without the session's token nothing is recorded.
    let r = post(format!("csrf=forged&bill_ids={sep}&method=cash&reference=R1"))
        .await
        .unwrap();
    assert_eq!(r.status(), 403);
    assert_eq!(e.app.count("payments").await, 0);
    // Nothing ticked: said, not recorded.
    let r = post(format!("csrf={csrf}&method=cash&reference=R1")).await.unwrap();
    assert_eq!(r.status(), 422);
    assert!(r.text().await.unwrap().contains("请至少勾选一张账单"));
    // September only (October stays open), cash with the receipt book number.
    let r = post(format!(
        "csrf={csrf}&bill_ids={sep}&method=cash&reference=%E6%94%B6%E6%8D%AE0012"
    ))
    .await
    .unwrap();
    assert_eq!(r.status(), 303);
    let to = r.headers()[LOCATION].to_str().unwrap().to_string();
    assert!(to.starts_with("/console/payments/") && to.ends_with("/receipt"), "{to}");
    let (status, receipt) = page(&e.app, &to, &session).await;
    assert_eq!(status, 200);
    let bill: Value = e
        .app
        .get_json(&format!("/api/v1/staff/bills/{sep}"), Some(&e.admin))
        .await;
    assert_eq!(bill["status"], "paid");
    assert!(
        receipt.contains(bill["paid"].as_str().unwrap()),
        "the amount paid: {receipt}"
    );
    assert!(
        receipt.contains("2026-09") && receipt.contains("贰佰贰拾陆元伍角伍分"),
        "{receipt}"
    );
    let (_, html) = page(&e.app, &format!("/console/counter/units/{}", e.unit), &session).await;
    assert!(!html.contains(&format!("value=\"{sep}\"")) && html.contains("2026-10"));
    // Customer service may not take money.
    e.app.staff_member(&e.admin, "svc", "service", &[e.community]).await;
    let svc = sign_in(&e.app, "svc", "long-enough-pw").await;
    let (_, svc_page) = page(&e.app, &format!("/console/counter/units/{}", e.unit), &svc).await;
    let r = e
        .app
        .http
        .post(e.app.url("/console/counter"))
        .header(COOKIE, &svc)
        .header("content-type", "application/x-www-form-urlencoded")
        .body(format!(
            "csrf={}&bill_ids={}&method=cash&reference=R2",
            hidden_csrf(&svc_page),
            e.app.bill_of(&e.admin, e.community, e.unit, "2026-10").await
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 403);
    assert_eq!(e.app.count("payments").await, 1);
}

#[tokio::test]
async fn a_unit_page_adds_and_ends_a_hold_with_reasons() {
    let e = estate().await;
    run(&e.app, &e.admin, e.community, "2026-09").await;
    let session = sign_in(&e.app, ADMIN_USER, ADMIN_PASSWORD).await;
    let unit_page = format!("/console/units/{}", e.unit);
    let (status, html) = page(&e.app, &unit_page, &session).await;
    assert_eq!(status, 200);
    assert!(
        html.contains("没有生效中的暂缓") && html.contains("宽限期后自2026-09-26起计收"),
        "{html}"
    );
    let csrf = hidden_csrf(&html);
    let form = |path: String, fields: Vec<(&'static str, String)>, cookie: String| {
        e.app
            .http
            .post(e.app.url(&path))
            .header(COOKIE, cookie)
            .form(&fields)
            .send()
    };
    let add = format!("/console/units/{}/holds", e.unit);
    let fields = |t: &str| {
        vec![
            ("csrf", t.to_string()),
            ("reason", "报修未完成".to_string()),
            ("until", "2026-11-30".to_string()),
        ]
    };
    // A forged token changes nothing.
    assert_eq!(
        form(add.clone(), fields("forged"), session.clone())
            .await
            .unwrap()
            .status(),
        403
    );
    assert_eq!(e.app.count("collection_holds").await, 0);
    let r = form(add.clone(), fields(&csrf), session.clone()).await.unwrap();
    assert_eq!(
        (r.status().as_u16(), r.headers()[LOCATION].to_str().unwrap()),
        (303, unit_page.as_str())
    );
    let holds: Value = e
        .app
        .get_json(&format!("/api/v1/staff/holds?unit_id={}", e.unit), Some(&e.admin))
        .await;
    let hold = holds["items"][0].clone();
    assert_eq!(
        (&hold["reason"], &hold["until"]),
        (&json!("报修未完成"), &json!("2026-11-30"))
    );
    let (_, html) = page(&e.app, &unit_page, &session).await;
    assert!(
        html.contains("<td>整户</td><td>报修未完成</td><td>2026-11-30</td>"),
        "{html}"
    );
    // A past day is refused with the reason on the page.
    let past = vec![
        ("csrf", csrf.clone()),
        ("reason", "x".to_string()),
        ("until", "2026-01-01".to_string()),
    ];
    let r = form(add.clone(), past, session.clone()).await.unwrap();
    assert_eq!(r.status(), 422);
    // Collectors follow up but do not set holds.
    e.app.staff_member(&e.admin, "col", "collector", &[e.community]).await;
    let col = sign_in(&e.app, "col", "long-enough-pw").await;
    let (status, col_page) = page(&e.app, &unit_page, &col).await;
    assert_eq!(status, 200);
    let r = form(add.clone(), fields(&hidden_csrf(&col_page)), col.clone())
        .await
        .unwrap();
    assert_eq!(r.status(), 403);
    // Ended early, with its reason: gone from the page and from the holds in force.
    let end = format!("/console/holds/{}/end", hold["id"]);
    let r = form(
        end,
        vec![
            ("csrf", csrf),
            ("reason", "已修好".to_string()),
            ("unit_id", e.unit.to_string()),
        ],
        session.clone(),
    )
    .await
    .unwrap();
    assert_eq!(r.status(), 303);
    let (_, html) = page(&e.app, &unit_page, &session).await;
    assert!(html.contains("没有生效中的暂缓"), "{html}");
    let holds: Value = e
        .app
        .get_json(&format!("/api/v1/staff/holds?unit_id={}", e.unit), Some(&e.admin))
        .await;
    assert_eq!(holds["items"].as_array().unwrap().len(), 0);
}

/// A multipart/form-data body (what a browser sends for a form with a file): (content type, body).
fn multipart(fields: &[(&str, &str)], photo: Option<&[u8]>) -> (String, Vec<u8>) {
    multipart_file(fields, photo.map(|p| ("photo", "notice.jpg", "image/jpeg", p)))
}

/// The same with any file field: (field name, file name, content type, bytes).
pub(crate) fn multipart_file(fields: &[(&str, &str)], file: Option<(&str, &str, &str, &[u8])>) -> (String, Vec<u8>) {
    let boundary = "----wuyetestboundary7MA4YWxkTrZu0gW";
    let mut body = Vec::new();
    for (name, value) in fields {
        body.extend_from_slice(
            format!("--{boundary}\r\nContent-Disposition: form-data; name=\"{name}\"\r\n\r\n{value}\r\n").as_bytes(),
        );
    }
    if let Some((name, filename, ct, bytes)) = file {
        body.extend_from_slice(
            format!("--{boundary}\r\nContent-Disposition: form-data; name=\"{name}\"; filename=\"{filename}\"\r\nContent-Type: {ct}\r\n\r\n")
                .as_bytes(),
        );
        body.extend_from_slice(bytes);
        body.extend_from_slice(b"\r\n");
    }
    body.extend_from_slice(format!("--{boundary}--\r\n").as_bytes());
    (format!("multipart/form-data; boundary={boundary}"), body)
}

#[tokio::test]
async fn a_unit_page_records_a_delivered_notice_with_its_photo_and_prints_the_case_file() {
    let e = estate().await;
    let app = &e.app;
    let session = sign_in(app, ADMIN_USER, ADMIN_PASSWORD).await;
    let unit_page = format!("/console/units/{}", e.unit);
    let (status, html) = page(app, &unit_page, &session).await;
    assert_eq!(status, 200);
    assert!(
        html.contains("还没有证据记录") && html.contains("id=\"add-contact\""),
        "{html}"
    );
    let csrf = hidden_csrf(&html);
    let photo = std::fs::read(format!("{}/tests/fixtures/gps.jpg", env!("CARGO_MANIFEST_DIR"))).unwrap();
    let post = |fields: Vec<(&'static str, String)>, with_photo: bool, cookie: String| {
        let pairs: Vec<(&str, &str)> = fields.iter().map(|(k, v)| (*k, v.as_str())).collect();
        let (ct, body) = multipart(&pairs, with_photo.then_some(photo.as_slice()));
        app.http
            .post(app.url(&format!("/console/units/{}/contacts", e.unit)))
            .header(COOKIE, cookie)
            .header("content-type", ct)
            .body(body)
            .send()
    };
    let notice = |token: &str, outcome: &str| {
        vec![
            ("csrf", token.to_string()),
            ("kind", "printed_notice".to_string()),
            ("delivery", "in_person".to_string()),
            ("mail_no", String::new()),
            ("outcome", outcome.to_string()),
        ]
    };
    // A forged token stores neither the photo nor a record.
    let r = post(notice("forged", "x"), true, session.clone()).await.unwrap();
    assert_eq!(r.status(), 403);
    assert_eq!((app.count("uploads").await, app.count("evidence").await), (0, 0));
    // In person without a photo is refused on a console page, with the reason.
    let r = post(notice(&csrf, "已送达"), false, session.clone()).await.unwrap();
    assert_eq!(r.status(), 422);
    assert!(r.text().await.unwrap().contains("当面送达须附照片"));
    // With the photo: recorded, and the unit page shows it, escaped text and all.
    let r = post(
        notice(&csrf, "<script>alert(1)</script>已当面交给业主"),
        true,
        session.clone(),
    )
    .await
    .unwrap();
    assert_eq!(r.status(), 303);
    assert_eq!(r.headers()[LOCATION], format!("{unit_page}#evidence"));
    let (_, html) = page(app, &unit_page, &session).await;
    assert!(
        html.contains("&lt;script&gt;alert(1)&lt;/script&gt;已当面交给业主"),
        "{html}"
    );
    assert!(!html.contains("<script>alert"));
    assert!(html.contains("id=\"chain-ok\""), "{html}");
    let at = html.find("src=\"/console/uploads/").expect("a photo") + "src=\"/console/uploads/".len();
    let id: i64 = html[at..].split('"').next().unwrap().parse().unwrap();
    let r = app
        .http
        .get(app.url(&format!("/console/uploads/{id}")))
        .header(COOKIE, session.clone())
        .send()
        .await
        .unwrap();
    assert_eq!(
        (r.status().as_u16(), r.headers()["content-type"].to_str().unwrap()),
        (200, "image/jpeg")
    );
    let served = r.bytes().await.unwrap();
    assert!(!served.windows(11).any(|w| w == b"WuyeTestCam"), "metadata stripped");
    // The case file to print names the photo and its hash.
    let (status, case) = page(app, &format!("/console/units/{}/case-file", e.unit), &session).await;
    assert_eq!(status, 200);
    assert!(case.contains(&format!("图片{id}（SHA-256 ")), "{case}");
    // Another community's collector sees none of it; finance reads the unit but records no contacts.
    let outsider = outsider(app, &e.admin, "col9", "collector").await;
    for path in [
        unit_page.clone(),
        format!("/console/units/{}/case-file", e.unit),
        format!("/console/uploads/{id}"),
    ] {
        let (status, body) = page(app, &path, &outsider).await;
        assert_eq!(status, 404, "{path}");
        assert!(body.contains("页面不存在") || body.contains("不存在"), "{body}");
    }
    app.staff_member(&e.admin, "fin", "finance", &[e.community]).await;
    let fin = sign_in(app, "fin", "long-enough-pw").await;
    let (status, fin_page) = page(app, &unit_page, &fin).await;
    assert_eq!(status, 200);
    assert!(!fin_page.contains("id=\"add-contact\""));
    let uploads = app.count("uploads").await;
    let r = post(notice(&hidden_csrf(&fin_page), "x"), true, fin.clone())
        .await
        .unwrap();
    assert_eq!(r.status(), 403);
    assert_eq!(
        app.count("uploads").await,
        uploads,
        "refused before the photo is stored"
    );
}

#[tokio::test]
async fn units_are_found_by_code_owner_name_or_phone_with_the_search_kept_in_the_url() {
    let e = estate().await;
    let app = &e.app;
    for n in 0..60 {
        app.unit(&e.admin, e.community, &format!("Z-{n:03}")).await;
    }
    let session = sign_in(app, ADMIN_USER, ADMIN_PASSWORD).await;
    let c = e.community;
    // By owner name (the estate's unit belongs to 张三) and by whole phone number.
    for q in ["%E5%BC%A0%E4%B8%89", "13800000001", "A-1-101"] {
        let (status, html) = page(app, &format!("/console/units?community_id={c}&q={q}"), &session).await;
        assert_eq!(status, 200);
        assert!(
            html.contains("<td>A-1-101</td>") && html.contains("共1户"),
            "{q}: {html}"
        );
    }
    let (_, html) = page(app, &format!("/console/units?community_id={c}&q=nobody"), &session).await;
    assert!(html.contains("id=\"no-units\"") && html.contains("共0户"), "{html}");
    // 61 units, 50 a page: the next page keeps the search.
    let (_, html) = page(app, &format!("/console/units?community_id={c}&q=Z-"), &session).await;
    assert!(html.contains("共60户，第1/2页"), "{html}");
    assert!(
        html.contains(&format!("href=\"/console/units?community_id={c}&amp;q=Z-&amp;page=2\"")),
        "{html}"
    );
    let (_, html) = page(app, &format!("/console/units?community_id={c}&page=2&q=Z-"), &session).await;
    assert!(
        html.contains("<td>Z-059</td>") && !html.contains("<td>Z-000</td>"),
        "{html}"
    );
    // What was typed comes back escaped.
    let (_, html) = page(
        app,
        &format!("/console/units?community_id={c}&q=%3Cscript%3Ex"),
        &session,
    )
    .await;
    assert!(
        html.contains("value=\"&lt;script&gt;x\"") && !html.contains("<script>x"),
        "{html}"
    );
    // Another community's staff: not theirs to list.
    let outsider = outsider(app, &e.admin, "col9", "collector").await;
    let (status, _) = page(app, &format!("/console/units?community_id={c}"), &outsider).await;
    assert_eq!(status, 404);
}

#[tokio::test]
async fn the_task_queue_prints_a_notice_and_records_its_delivery_which_closes_the_task() {
    let (app, admin, c, unit) = crate::print::final_notice_estate().await;
    let session = sign_in(&app, ADMIN_USER, ADMIN_PASSWORD).await;
    let (status, html) = page(&app, &format!("/console/tasks?community_id={c}"), &session).await;
    assert_eq!(status, 200);
    // The dashboard counts them and links to the queue.
    let (_, dash) = page(&app, &format!("/console/?community_id={c}"), &session).await;
    assert!(
        dash.contains(&format!(
            "id=\"open-tasks\" href=\"/console/tasks?status=open&amp;community_id={c}\">3</a>"
        )) && dash.contains("id=\"holds-in-force\">0<"),
        "{dash}"
    );
    // A final notice makes three tasks for the unit: a call, a visit and the notice to deliver.
    assert_eq!(html.matches("记录结果").count(), 3, "{html}");
    let at = html.find("<a href=\"/console/tasks/").expect("a notice to print") + "<a href=\"/console/tasks/".len();
    let task: i64 = html[at..].split('/').next().unwrap().parse().unwrap();
    assert!(
        html.contains(&format!("<a href=\"/console/units/{unit}\">A A-3-1201</a>")) && html.contains("打印通知书"),
        "{html}"
    );
    let (status, notice) = page(&app, &format!("/console/tasks/{task}/notice"), &session).await;
    assert_eq!(status, 200, "{notice}");
    assert!(notice.contains("王") && notice.contains("A-3-1201"), "{notice}");
    let outcome = |token: &str, mail: &str, cookie: String| {
        let (ct, body) = multipart(
            &[
                ("csrf", token),
                ("kind", "printed_notice"),
                ("back", &format!("status=open&community_id={c}")),
                ("delivery", "registered_mail"),
                ("mail_no", mail),
                ("outcome", "已寄出"),
            ],
            None,
        );
        app.http
            .post(app.url(&format!("/console/tasks/{task}/outcome")))
            .header(COOKIE, cookie)
            .header("content-type", ct)
            .body(body)
            .send()
    };
    assert_eq!(outcome("forged", "XA123", session.clone()).await.unwrap().status(), 403);
    // Registered mail needs its number.
    let csrf = hidden_csrf(&html);
    assert_eq!(outcome(&csrf, "", session.clone()).await.unwrap().status(), 422);
    let r = outcome(&csrf, "XA123456789CN", session.clone()).await.unwrap();
    assert_eq!(r.status(), 303);
    assert_eq!(
        r.headers()[LOCATION],
        format!("/console/tasks?status=open&community_id={c}")
    );
    let (_, open) = page(&app, &format!("/console/tasks?community_id={c}"), &session).await;
    assert!(
        open.contains("共2项") && !open.contains(&format!("/console/tasks/{task}/outcome")),
        "{open}"
    );
    let (_, done) = page(&app, &format!("/console/tasks?community_id={c}&status=done"), &session).await;
    assert!(done.contains("已寄出"), "{done}");
    // Done once: a second outcome is refused.
    assert_eq!(
        outcome(&csrf, "XA123456789CN", session.clone()).await.unwrap().status(),
        409
    );
    // Another community's staff find neither the task nor its notice.
    let outsider = outsider(&app, &admin, "col9", "collector").await;
    let (status, _) = page(&app, &format!("/console/tasks/{task}/notice"), &outsider).await;
    assert_eq!(status, 404);
    let (_, list) = page(&app, "/console/tasks?status=done", &outsider).await;
    assert!(list.contains("id=\"no-tasks\""), "{list}");
}

#[tokio::test]
async fn a_full_phone_number_is_shown_only_with_a_purpose_which_is_recorded() {
    let e = estate().await;
    let app = &e.app;
    let session = sign_in(app, ADMIN_USER, ADMIN_PASSWORD).await;
    let unit_page = format!("/console/units/{}", e.unit);
    let (_, html) = page(app, &unit_page, &session).await;
    assert!(html.contains("138****0001") && !html.contains("13800000001"), "{html}");
    let at = html.find("action=\"/console/owners/").expect("a reveal form") + "action=\"/console/owners/".len();
    let owner: i64 = html[at..].split('/').next().unwrap().parse().unwrap();
    let csrf = hidden_csrf(&html);
    let reveal = |token: &str, purpose: &str, cookie: &str| {
        app.http
            .post(app.url(&format!("/console/owners/{owner}/reveal")))
            .header(COOKIE, cookie.to_string())
            .form(&[
                ("csrf", token.to_string()),
                ("purpose", purpose.to_string()),
                ("unit_id", e.unit.to_string()),
            ])
            .send()
    };
    assert_eq!(reveal("forged", "催缴电话", &session).await.unwrap().status(), 403);
    assert_eq!(reveal(&csrf, "  ", &session).await.unwrap().status(), 422);
    assert_eq!(app.count("pii_access_log").await, 0, "nothing shown, nothing logged");
    let r = reveal(&csrf, "催缴电话<b>", &session).await.unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(r.headers()["cache-control"], "no-store");
    let shown = r.text().await.unwrap();
    assert!(
        shown.contains("id=\"full-phone\">13800000001<") && shown.contains("用途：催缴电话&lt;b&gt;"),
        "{shown}"
    );
    let log: Value = app
        .get_json(
            &format!("/api/v1/staff/pii-access-log?owner_id={owner}"),
            Some(&e.admin),
        )
        .await;
    assert_eq!(log[0]["purpose"], "催缴电话<b>", "{log}");
    // Finance does not reveal numbers: no form, and a post is refused unlogged.
    app.staff_member(&e.admin, "fin", "finance", &[e.community]).await;
    let fin = sign_in(app, "fin", "long-enough-pw").await;
    let (_, fin_page) = page(app, &unit_page, &fin).await;
    assert!(!fin_page.contains("/reveal\""), "{fin_page}");
    assert_eq!(
        reveal(&hidden_csrf(&fin_page), "对账", &fin).await.unwrap().status(),
        403
    );
    assert_eq!(app.count("pii_access_log").await, 1);
}
