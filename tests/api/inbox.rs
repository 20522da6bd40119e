//! The staff inbox: a payment exception reaches finance of its community and every admin (an event
//! naming no order of ours, admins only), once each however often the gateway repeats it, with
//! nobody else's items visible; read one or all through the API or the console, whose header shows
//! the unread count on every page.
use crate::fake_pay::*;
use crate::helpers::*;
use crate::payments::{now, shop, wechat_order};
use reqwest::header::{COOKIE, LOCATION, SET_COOKIE};
use serde_json::Value;

async fn inbox(app: &TestApp, token: &str) -> Value {
    app.get_json("/api/v1/staff/inbox", Some(token)).await
}

fn titles(v: &Value) -> Vec<String> {
    v["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["title"].as_str().unwrap().to_string())
        .collect()
}

#[tokio::test]
async fn payment_exceptions_reach_finance_of_their_community_and_admins_once() {
    let s = shop().await;
    let app = &s.app;
    let (_, finance) = app.staff_member(&s.admin, "fin", "finance", &[s.community]).await;
    let other = app.community(&s.admin, "C9").await;
    let (_, finance9) = app.staff_member(&s.admin, "fin9", "finance", &[other]).await;
    let (_, collector) = app.staff_member(&s.admin, "col", "collector", &[s.community]).await;
    let o = wechat_order(&s, &[s.sep]).await;
    let out = o["out_trade_no"].as_str().unwrap();
    // A wrong amount for our order, and a payment for an order we never made; each sent twice.
    for tx in [
        transaction(out, 1, "T-amount"),
        transaction("WYNOSUCHORDER", 22_655, "T-unknown"),
    ] {
        for _ in 0..2 {
            let (h, body) = wechat_notification(&tx, now(&s), &platform_signer(), PLATFORM_KEY_ID);
            assert_eq!(app.notify_wechat(&h, &body).await.status(), 204);
        }
    }
    let admin = inbox(app, &s.admin).await;
    assert_eq!(admin["unread"], 2, "{admin}");
    let mut t = titles(&admin);
    t.sort();
    assert_eq!(
        t,
        vec![
            "支付异常：支付金额或内容与订单不符",
            "支付异常：收到无对应订单的支付通知"
        ]
    );
    let fin = inbox(app, &finance).await;
    assert_eq!(titles(&fin), vec!["支付异常：支付金额或内容与订单不符"]);
    let item = &fin["items"][0];
    assert_eq!(
        item["link"],
        format!("/console/exceptions?community_id={}", s.community)
    );
    assert!(item["body"].as_str().unwrap().contains(out), "{item}");
    assert_eq!(inbox(app, &finance9).await["total"], 0);
    assert_eq!(inbox(app, &collector).await["total"], 0);
    // Marked read by its owner only; again is fine.
    let id = item["id"].as_i64().unwrap();
    let read = |token: String| async move {
        app.post(
            &format!("/api/v1/staff/inbox/{id}/read"),
            Some(&token),
            &serde_json::json!({}),
        )
        .await
    };
    assert_error(read(finance9.clone()).await, 404, "NOT_FOUND").await;
    assert_eq!(read(finance.clone()).await.status(), 204);
    assert_eq!(read(finance.clone()).await.status(), 204);
    let fin = inbox(app, &finance).await;
    assert_eq!(fin["unread"], 0);
    assert!(fin["items"][0]["read_at"].is_string());
    // The admin's copy is theirs: still unread, until they read everything.
    assert_eq!(inbox(app, &s.admin).await["unread"], 2);
    let unread_only: Value = app.get_json("/api/v1/staff/inbox?unread=true", Some(&s.admin)).await;
    assert_eq!(unread_only["total"], 2);
    let r = app
        .post("/api/v1/staff/inbox/read-all", Some(&s.admin), &serde_json::json!({}))
        .await;
    assert_eq!(r.status(), 204);
    assert_eq!(inbox(app, &s.admin).await["unread"], 0);
    assert_error(app.get("/api/v1/staff/inbox", None).await, 401, "UNAUTHENTICATED").await;
}

/// Signs in through the console form; the session cookie pair.
async fn console_session(app: &TestApp, user: &str, pw: &str) -> String {
    let r = app.http.get(app.url("/console/login")).send().await.unwrap();
    let csrf_cookie = r
        .headers()
        .get_all(SET_COOKIE)
        .iter()
        .find_map(|h| {
            let pair = h.to_str().ok()?.split(';').next()?.to_string();
            pair.starts_with("wuye_csrf=").then_some(pair)
        })
        .unwrap();
    let html = r.text().await.unwrap();
    let r = app
        .http
        .post(app.url("/console/login"))
        .header(COOKIE, csrf_cookie)
        .form(&[("csrf", hidden(&html).as_str()), ("username", user), ("password", pw)])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 303);
    r.headers()
        .get_all(SET_COOKIE)
        .iter()
        .find_map(|h| {
            let pair = h.to_str().ok()?.split(';').next()?.to_string();
            pair.starts_with("wuye_staff=").then_some(pair)
        })
        .unwrap()
}

fn hidden(html: &str) -> String {
    let at = html.find("name=\"csrf\" value=\"").unwrap() + "name=\"csrf\" value=\"".len();
    html[at..].split('"').next().unwrap().to_string()
}

#[tokio::test]
async fn the_console_shows_the_unread_count_and_marks_items_read() {
    let s = shop().await;
    let app = &s.app;
    let tx = transaction("WYNOSUCHORDER", 22_655, "T-unknown");
    let (h, body) = wechat_notification(&tx, now(&s), &platform_signer(), PLATFORM_KEY_ID);
    assert_eq!(app.notify_wechat(&h, &body).await.status(), 204);
    let session = console_session(app, ADMIN_USER, ADMIN_PASSWORD).await;
    let get = |path: &'static str| {
        let session = session.clone();
        async move {
            let r = app
                .http
                .get(app.url(path))
                .header(COOKIE, session)
                .send()
                .await
                .unwrap();
            (r.status().as_u16(), r.text().await.unwrap())
        }
    };
    // Every page's header carries the badge.
    let (_, dash) = get("/console/").await;
    assert!(dash.contains("aria-label=\"1条未读\">1</span>"), "{dash}");
    let (status, page) = get("/console/inbox").await;
    assert_eq!(status, 200);
    assert!(
        page.contains("支付异常：收到无对应订单的支付通知") && page.contains("class=\"unread\""),
        "{page}"
    );
    let inbox_id = inbox(app, &s.admin).await["items"][0]["id"].as_i64().unwrap();
    let post = |csrf: String| {
        app.http
            .post(app.url(&format!("/console/inbox/{inbox_id}/read")))
            .header(COOKIE, session.clone())
            .form(&[("csrf", csrf)])
            .send()
    };
    assert_eq!(post("forged".into()).await.unwrap().status(), 403);
    assert_eq!(inbox(app, &s.admin).await["unread"], 1);
    let r = post(hidden(&page)).await.unwrap();
    assert_eq!(
        (r.status().as_u16(), r.headers()[LOCATION].to_str().unwrap()),
        (303, "/console/inbox")
    );
    let (_, page) = get("/console/inbox").await;
    assert!(page.contains("已读") && !page.contains("class=\"badge\""), "{page}");
    // Where the item links: the exceptions page, with the order named (admins and finance only).
    let (status, page) = get("/console/exceptions").await;
    assert_eq!(status, 200);
    assert!(
        page.contains("WYNOSUCHORDER") && page.contains("unknown_order"),
        "{page}"
    );
    app.staff_member(&s.admin, "col", "collector", &[s.community]).await;
    let col = console_session(app, "col", "long-enough-pw").await;
    let r = app
        .http
        .get(app.url("/console/exceptions"))
        .header(COOKIE, col)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 403);
}
