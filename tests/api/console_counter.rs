//! 收费 in the console: refunds from the receipt page (finance and admins, with a reason, the same
//! service as `POST /api/v1/staff/payments/{id}/refunds`) and each channel's day (the same figures
//! as `GET /api/v1/staff/payments/summary`).
use crate::bills::{estate, run, Estate};
use crate::console::{hidden_csrf, page, sign_in};
use crate::helpers::*;
use reqwest::header::{COOKIE, LOCATION};
use reqwest::Response;
use serde_json::Value;

/// Posts a form as the console does.
async fn post_form(app: &TestApp, path: &str, cookie: &str, body: &str) -> Response {
    app.http
        .post(app.url(path))
        .header(COOKIE, cookie)
        .header("content-type", "application/x-www-form-urlencoded")
        .body(body.to_string())
        .send()
        .await
        .unwrap()
}

/// Percent-encodes a form value (everything but ASCII letters and digits).
fn enc(s: &str) -> String {
    s.bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}

/// Records the unit's bill of `period` at the console counter with `method`; the payment id.
async fn pay_at_counter(e: &Estate, session: &str, period: &str, method: &str) -> i64 {
    let (status, html) = page(&e.app, &format!("/console/counter/units/{}", e.unit), session).await;
    assert_eq!(status, 200);
    let bill = e.app.bill_of(&e.admin, e.community, e.unit, period).await;
    let r = post_form(
        &e.app,
        "/console/counter",
        session,
        &format!(
            "csrf={}&bill_ids={bill}&method={method}&reference=R-{period}",
            hidden_csrf(&html)
        ),
    )
    .await;
    assert_eq!(r.status(), 303);
    let to = r.headers()[LOCATION].to_str().unwrap().to_string();
    to.trim_start_matches("/console/payments/")
        .trim_end_matches("/receipt")
        .parse()
        .unwrap()
}

/// Yuan string → fen, parsed here independently of the app's money code.
fn fen(s: &str) -> i64 {
    let (neg, s) = s.strip_prefix('-').map_or((false, s), |r| (true, r));
    let (y, f) = s.split_once('.').unwrap_or((s, "0"));
    let f = format!("{f:0<2}");
    assert_eq!(f.len(), 2, "two decimals: {s}");
    let v = y.parse::<i64>().unwrap() * 100 + f.parse::<i64>().unwrap();
    if neg {
        -v
    } else {
        v
    }
}

/// The text of a table row's cells (`<th>` and `<td>`), tags stripped.
fn row_cells(html: &str, id: &str) -> Vec<String> {
    let at = html
        .find(&format!("id=\"{id}\""))
        .unwrap_or_else(|| panic!("row {id}: {html}"));
    let row = &html[at..];
    let row = &row[..row.find("</tr>").unwrap()];
    let mut cells = Vec::new();
    for part in row.split("<t").skip(1) {
        let inner = &part[part.find('>').unwrap() + 1..];
        let mut text = String::new();
        let mut in_tag = false;
        for c in inner.chars() {
            match c {
                '<' => in_tag = true,
                '>' => in_tag = false,
                c if !in_tag => text.push(c),
                _ => {}
            }
        }
        cells.push(text.trim().to_string());
    }
    cells
}

/// The printed part of the receipt page: everything before the screen-only section.
fn printed(html: &str) -> &str {
    html.split("<section class=\"no-print\"").next().unwrap()
}

#[tokio::test]
async fn finance_refunds_part_of_a_cash_payment_with_a_reason_from_the_receipt_page() {
    let e = estate().await;
    run(&e.app, &e.admin, e.community, "2026-09").await;
    let admin = sign_in(&e.app, ADMIN_USER, ADMIN_PASSWORD).await;
    let id = pay_at_counter(&e, &admin, "2026-09", "cash").await;
    let bill = e.app.bill_of(&e.admin, e.community, e.unit, "2026-09").await;
    let paid = e
        .app
        .get_json::<Value>(&format!("/api/v1/staff/bills/{bill}"), Some(&e.admin))
        .await["paid"]
        .as_str()
        .unwrap()
        .to_string();
    assert_eq!(paid, "226.55");
    e.app.staff_member(&e.admin, "fin", "finance", &[e.community]).await;
    let fin = sign_in(&e.app, "fin", "long-enough-pw").await;
    let receipt = format!("/console/payments/{id}/receipt");
    let action = format!("/console/payments/{id}/refunds");
    let (status, html) = page(&e.app, &receipt, &fin).await;
    assert_eq!(status, 200);
    // The form and the list are on screen only; the printed receipt is what the service prints.
    assert!(html.contains(&format!("action=\"{action}\"")), "{html}");
    assert!(
        html.contains("<section class=\"no-print\"") && html.contains("@media print{.no-print{display:none}}"),
        "{html}"
    );
    assert!(html.contains("<label for=\"refund-amount\"") && html.contains("<label for=\"refund-reason\""));
    assert!(html.contains("id=\"no-refunds\""), "{html}");
    assert!(!printed(&html).contains("退款") && printed(&html).contains("收款收据"));
    let csrf = hidden_csrf(&html);
    let post = |body: String| {
        let (app, fin, action) = (&e.app, &fin, &action);
        async move { post_form(app, action, fin, &body).await }
    };

    // A forged token: refused, nothing refunded.
    let r = post(format!("csrf=forged&amount=100.00&reason={}", enc("多收"))).await;
    assert_eq!(r.status(), 403);
    assert_eq!(e.app.count("refunds").await, 0);
    // No reason: the page names it, nothing refunded.
    let r = post(format!("csrf={csrf}&amount=100.00&reason=")).await;
    assert_eq!(r.status(), 422);
    let text = r.text().await.unwrap();
    assert!(text.contains("原因不能为空"), "{text}");
    // More than was paid: the page names the refundable amount, nothing refunded.
    let r = post(format!("csrf={csrf}&amount=226.56&reason={}", enc("多收"))).await;
    assert_eq!(r.status(), 422);
    let text = r.text().await.unwrap();
    assert!(text.contains("不超过可退金额226.55"), "{text}");
    // An amount that is no amount.
    let r = post(format!("csrf={csrf}&amount=1.005&reason={}", enc("多收"))).await;
    assert_eq!(r.status(), 422);
    assert!(r.text().await.unwrap().contains("金额格式不正确"));
    assert_eq!(e.app.count("refunds").await, 0);

    // Part of it, with a reason that is markup.
    let reason = "<b>柜台多收</b>&\"x\"";
    let r = post(format!("csrf={csrf}&amount=100.00&reason={}", enc(reason))).await;
    assert_eq!(r.status(), 303);
    assert_eq!(r.headers()[LOCATION], receipt.as_str());
    assert_eq!(e.app.count("refunds").await, 1);
    let api: Vec<Value> = e
        .app
        .get_json(&format!("/api/v1/staff/payments/{id}/refunds"), Some(&e.admin))
        .await;
    assert_eq!(api.len(), 1, "{api:?}");
    assert_eq!(api[0]["amount"], "100.00");
    assert_eq!(api[0]["reason"], reason);
    assert_eq!(api[0]["status"], "success");
    assert_eq!(api[0]["automatic"], false);
    let (status, html) = page(&e.app, &receipt, &fin).await;
    assert_eq!(status, 200);
    assert!(
        html.contains("&lt;b&gt;柜台多收&lt;/b&gt;&amp;&quot;x&quot;") && !html.contains(reason),
        "escaped: {html}"
    );
    assert!(html.contains(api[0]["out_refund_no"].as_str().unwrap()));
    assert!(html.contains("id=\"refund-list\"") && html.contains("已退款"));
    // The printed receipt says what the receipt service says after a refund, and nothing more.
    let service: String = e
        .app
        .get(&format!("/api/v1/staff/payments/{id}/receipt.html"), Some(&e.admin))
        .await
        .text()
        .await
        .unwrap();
    assert_eq!(
        printed(&html),
        service.trim_end_matches("</body></html>"),
        "the printed part is the service's receipt"
    );
    assert!(printed(&html).contains("已退款：100.00 元"));
    // The bill reopened by the refund.
    let b: Value = e
        .app
        .get_json(&format!("/api/v1/staff/bills/{bill}"), Some(&e.admin))
        .await;
    assert_ne!(b["status"], "paid", "{b}");

    // What is left is the new limit.
    let r = post(format!("csrf={csrf}&amount=126.56&reason={}", enc("多收"))).await;
    assert_eq!(r.status(), 422);
    assert!(r.text().await.unwrap().contains("不超过可退金额126.55"));
    assert_eq!(e.app.count("refunds").await, 1);
}

#[tokio::test]
async fn only_finance_and_admins_of_the_community_may_refund() {
    let e = estate().await;
    run(&e.app, &e.admin, e.community, "2026-09").await;
    let admin = sign_in(&e.app, ADMIN_USER, ADMIN_PASSWORD).await;
    let id = pay_at_counter(&e, &admin, "2026-09", "cash").await;
    let receipt = format!("/console/payments/{id}/receipt");
    let action = format!("/console/payments/{id}/refunds");
    let body = |csrf: &str| format!("csrf={csrf}&amount=10.00&reason={}", enc("多收"));
    // Collectors and customer service print the receipt but see no refund form and may not post one.
    for (user, role) in [("col", "collector"), ("svc", "service")] {
        e.app.staff_member(&e.admin, user, role, &[e.community]).await;
        let s = sign_in(&e.app, user, "long-enough-pw").await;
        let (status, html) = page(&e.app, &receipt, &s).await;
        assert_eq!(status, 200, "{role}");
        assert!(html.contains("收款收据"), "{role}: {html}");
        assert!(
            !html.contains(&action) && !html.contains("no-print") && !html.contains("name=\"reason\""),
            "{role}: {html}"
        );
        let (_, inbox) = page(&e.app, "/console/inbox", &s).await;
        let r = post_form(&e.app, &action, &s, &body(&hidden_csrf(&inbox))).await;
        assert_eq!(r.status(), 403, "{role}");
        assert!(r.text().await.unwrap().contains("无权访问"));
        assert_eq!(e.app.count("refunds").await, 0, "{role}");
    }
    // Finance of another community: the payment is not there for them.
    let other = e.app.community(&e.admin, "C2").await;
    e.app.staff_member(&e.admin, "fin2", "finance", &[other]).await;
    let s = sign_in(&e.app, "fin2", "long-enough-pw").await;
    let (status, _) = page(&e.app, &receipt, &s).await;
    assert_eq!(status, 404);
    let (_, inbox) = page(&e.app, "/console/inbox", &s).await;
    let r = post_form(&e.app, &action, &s, &body(&hidden_csrf(&inbox))).await;
    assert_eq!(r.status(), 404);
    assert_eq!(e.app.count("refunds").await, 0);
    let p: Vec<Value> = e
        .app
        .get_json(&format!("/api/v1/staff/payments/{id}/refunds"), Some(&e.admin))
        .await;
    assert!(p.is_empty());
    // An admin may, which is the same form.
    let (_, html) = page(&e.app, &receipt, &admin).await;
    let r = post_form(&e.app, &action, &admin, &body(&hidden_csrf(&html))).await;
    assert_eq!(r.status(), 303);
    assert_eq!(e.app.count("refunds").await, 1);
}

#[tokio::test]
async fn each_channels_day_equals_the_summary_api_with_an_exact_total() {
    let e = estate().await;
    run(&e.app, &e.admin, e.community, "2026-09").await;
    run(&e.app, &e.admin, e.community, "2026-10").await;
    let admin = sign_in(&e.app, ADMIN_USER, ADMIN_PASSWORD).await;
    let cash = pay_at_counter(&e, &admin, "2026-09", "cash").await;
    pay_at_counter(&e, &admin, "2026-10", "pos").await;
    let (_, html) = page(&e.app, &format!("/console/payments/{cash}/receipt"), &admin).await;
    let r = post_form(
        &e.app,
        &format!("/console/payments/{cash}/refunds"),
        &admin,
        &format!("csrf={}&amount=0.55&reason={}", hidden_csrf(&html), enc("找零")),
    )
    .await;
    assert_eq!(r.status(), 303);
    assert!(
        html.contains("href=\"/console/counter/day\""),
        "the receipt links the day"
    );

    e.app.staff_member(&e.admin, "fin", "finance", &[e.community]).await;
    let fin = sign_in(&e.app, "fin", "long-enough-pw").await;
    let date = "2026-10-20"; // the test clock's day in Shanghai
    let path = format!("/console/counter/day?community_id={}&date={date}", e.community);
    let (status, html) = page(&e.app, &path, &fin).await;
    assert_eq!(status, 200, "{html}");
    let api: Vec<Value> = e
        .app
        .get_json(
            &format!(
                "/api/v1/staff/payments/summary?community_id={}&date={date}",
                e.community
            ),
            Some(&e.admin),
        )
        .await;
    assert_eq!(api.len(), 6, "{api:?}");
    let mut total = [0i64; 7];
    for c in &api {
        let cells = row_cells(&html, &format!("channel-{}", c["channel"].as_str().unwrap()));
        assert_eq!(cells.len(), 8, "{cells:?}");
        let n = |k: &str| c[k].as_i64().unwrap();
        let (amount, refunded) = (fen(c["amount"].as_str().unwrap()), fen(c["refunded"].as_str().unwrap()));
        let want = [
            n("orders"),
            n("paid"),
            amount,
            n("refunds"),
            refunded,
            amount - refunded,
            n("exceptions"),
        ];
        let got: Vec<i64> = cells[1..]
            .iter()
            .enumerate()
            .map(|(i, s)| {
                if [2, 4, 5].contains(&i) {
                    fen(s)
                } else {
                    s.parse().unwrap()
                }
            })
            .collect();
        assert_eq!(got, want, "{}: {cells:?}", c["channel"]);
        for (t, w) in total.iter_mut().zip(want) {
            *t += w;
        }
    }
    // The figures this day really has: cash 226.55 with 0.55 back, POS 223.75.
    let cash_row = row_cells(&html, "channel-cash");
    assert_eq!(cash_row[..7], ["现金", "1", "1", "226.55", "1", "0.55", "226.00"]);
    let total_row = row_cells(&html, "channel-total");
    assert_eq!(total_row[0], "合计");
    assert_eq!(
        total_row[1..],
        [
            total[0].to_string(),
            total[1].to_string(),
            "450.30".to_string(),
            total[3].to_string(),
            "0.55".to_string(),
            "449.75".to_string(),
            total[6].to_string(),
        ]
    );
    assert_eq!(fen("450.30"), total[2]);
    assert_eq!(fen("449.75"), total[5]);
    // The date stays in the URL: the form holds it, the neighbours link with theirs.
    assert!(html.contains(&format!("name=\"date\" type=\"date\" required value=\"{date}\"")));
    assert!(html.contains("<label for=\"date\"") && html.contains("<label for=\"community_id\""));
    assert!(html.contains(&format!(
        "href=\"/console/counter/day?community_id={}&amp;date=2026-10-19\"",
        e.community
    )));
    assert!(html.contains(&format!("<option value=\"{}\" selected>", e.community)));
    // Without a date: today in the community, written into the form.
    let (status, today) = page(
        &e.app,
        &format!("/console/counter/day?community_id={}", e.community),
        &fin,
    )
    .await;
    assert_eq!(status, 200);
    assert!(today.contains(&format!("value=\"{date}\"")));
    // Another day has nothing.
    let (_, before) = page(
        &e.app,
        &format!("/console/counter/day?community_id={}&date=2026-10-19", e.community),
        &fin,
    )
    .await;
    assert_eq!(
        row_cells(&before, "channel-total")[1..],
        ["0", "0", "0.00", "0", "0.00", "0.00", "0"]
    );
    // The counter's unit page and the exceptions page link here.
    let (_, unit) = page(&e.app, &format!("/console/counter/units/{}", e.unit), &fin).await;
    assert!(unit.contains(&format!("href=\"/console/counter/day?community_id={}\"", e.community)));
    let (_, exc) = page(&e.app, "/console/exceptions", &fin).await;
    assert!(exc.contains("href=\"/console/counter/day\""), "{exc}");

    // A bad date or community: a page naming it.
    let (status, bad) = page(
        &e.app,
        &format!("/console/counter/day?community_id={}&date=2026-13-01", e.community),
        &fin,
    )
    .await;
    assert_eq!(status, 422);
    assert!(bad.contains("日期格式应为YYYY-MM-DD"), "{bad}");
    let (status, bad) = page(&e.app, "/console/counter/day?community_id=9223372036854775808", &fin).await;
    assert_eq!(status, 422);
    assert!(bad.contains("小区编号无效"), "{bad}");
    // Another community's staff: not there for them; collectors: not their work.
    let other = e.app.community(&e.admin, "C2").await;
    e.app.staff_member(&e.admin, "fin2", "finance", &[other]).await;
    let fin2 = sign_in(&e.app, "fin2", "long-enough-pw").await;
    let (status, _) = page(&e.app, &path, &fin2).await;
    assert_eq!(status, 404);
    e.app.staff_member(&e.admin, "col", "collector", &[e.community]).await;
    let col = sign_in(&e.app, "col", "long-enough-pw").await;
    let (status, _) = page(&e.app, &path, &col).await;
    assert_eq!(status, 403);
    let (_, unit) = page(&e.app, &format!("/console/counter/units/{}", e.unit), &col).await;
    assert!(!unit.contains("/console/counter/day"));
}
