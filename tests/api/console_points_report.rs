//! 积分报表 in the console (issue #15): a community's points month by month, the same figures as
//! `GET /staff/reports/points` column by column, the last 12 months by default, the report's own
//! refusal of a bad span shown in Chinese, and neither the page nor its header link for a role that
//! may not read reports.
use crate::console::{page, sign_in};
use crate::helpers::*;
use crate::payments::{order, pay_wechat, shop, Shop};
use serde_json::{json, Value};

/// The table's columns after 月份, in order, and the report's field each one shows.
const COLUMNS: [(&str, &str); 9] = [
    ("按时缴费获得", "earned"),
    ("人工调增", "adjusted_in"),
    ("人工调减", "adjusted_out"),
    ("兑换奖品", "redeemed_rewards"),
    ("抵扣物业费（积分）", "redeemed_fees"),
    ("抵扣金额（元）", "fee_cost"),
    ("退回", "returned"),
    ("冲回", "reversed"),
    ("过期", "expired"),
];

const NAV_LINK: &str = "href=\"/console/reports/points\"";

/// The text of each `<th>`/`<td>` of one `<tr>…</tr>`, and whether it is right-aligned.
fn cells(row: &str) -> Vec<(String, bool)> {
    row.split("<t")
        .skip(1)
        .filter(|c| c.starts_with('d') || c.starts_with('h'))
        .filter(|c| !c.starts_with("head") && !c.starts_with("able"))
        .map(|c| {
            let (tag, rest) = c.split_once('>').unwrap();
            let text = rest.split("</t").next().unwrap().to_string();
            (text, tag.contains("class=\"num\""))
        })
        .collect()
}

/// The `<tr>` that starts at `marker`.
fn row<'a>(html: &'a str, marker: &str) -> &'a str {
    let at = html.find(marker).unwrap_or_else(|| panic!("{marker} in {html}"));
    html[at..].split("</tr>").next().unwrap()
}

/// The report's figure as the page prints it.
fn figure(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// Checks a page row against the report's month (or total) cell by cell.
fn same_row(html: &str, marker: &str, label: &str, api: &Value) {
    let got = cells(row(html, marker));
    assert_eq!(got.len(), 1 + COLUMNS.len(), "{got:?}");
    assert_eq!(got[0].0, label);
    for ((text, right), (heading, field)) in got[1..].iter().zip(COLUMNS) {
        assert_eq!(text, &figure(&api[field]), "{heading} ({field}) of {label}: {api}");
        assert!(right, "{heading} is right-aligned");
    }
}

async fn adjust(s: &Shop, n: i64) {
    let r = s
        .app
        .post(
            &format!("/api/v1/staff/units/{}/points/adjustments", s.unit),
            Some(&s.admin),
            &json!({"points": n, "reason": "社区活动奖励"}),
        )
        .await;
    assert_eq!(r.status(), 201, "{}", r.text().await.unwrap_or_default());
}

async fn tick(s: &Shop) {
    wuye::services::points::tick(&s.app.state).await.unwrap();
}

/// An order through the API, paid by WeChat for its cash amount: its payment id.
async fn paid(s: &Shop, body: Value, tx: &str) -> i64 {
    let r = order(s, body, None).await;
    assert_eq!(r.status(), 201, "{}", r.text().await.unwrap_or_default());
    let o: Value = r.json().await.unwrap();
    // Yuan with two decimals, as the API writes money: fen without the point.
    let amount = o["amount"].as_str().unwrap();
    assert_eq!(amount.split_once('.').map(|(_, f)| f.len()), Some(2), "{o}");
    let fen: i64 = amount.replace('.', "").parse().unwrap();
    assert_eq!(
        pay_wechat(s, &s.app, o["out_trade_no"].as_str().unwrap(), fen, tx).await,
        204
    );
    o["payment_id"].as_i64().unwrap()
}

/// October 2026 in the shop: points given and taken by staff, a redemption cancelled, fees paid
/// partly in points and on time in cash, and the order with points refunded.
async fn october(s: &Shop) {
    s.app.billing_run(&s.admin, s.community, "2026-11", "2026-10-15").await;
    s.app.billing_run(&s.admin, s.community, "2026-12", "2026-10-15").await;
    let nov = s.app.bill_of(&s.admin, s.community, s.unit, "2026-11").await;
    let dec = s.app.bill_of(&s.admin, s.community, s.unit, "2026-12").await;
    adjust(s, 3_000).await;
    adjust(s, -50).await;
    let with_points = paid(
        s,
        json!({"bill_ids": [nov], "channel": "wechat", "points": 2_237}),
        "4200000701",
    )
    .await;
    tick(s).await;
    let r = s
        .app
        .post(
            "/api/v1/staff/rewards",
            Some(&s.admin),
            &json!({"community_id": s.community, "name": "大米5斤", "kind": "goods", "points_cost": 150, "stock": 10}),
        )
        .await;
    assert_eq!(r.status(), 201, "{}", r.text().await.unwrap_or_default());
    let reward = r.json::<Value>().await.unwrap()["id"].as_i64().unwrap();
    let r = s
        .app
        .http
        .post(s.app.url("/api/v1/me/redemptions"))
        .bearer_auth(&s.owner)
        .header("Idempotency-Key", "rice-2")
        .json(&json!({"reward_id": reward, "quantity": 2}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 201, "{}", r.text().await.unwrap_or_default());
    let redemption = r.json::<Value>().await.unwrap()["id"].as_i64().unwrap();
    let r = s
        .app
        .post(
            &format!("/api/v1/staff/redemptions/{redemption}/cancel"),
            Some(&s.admin),
            &json!({"reason": "业主改选其他奖品"}),
        )
        .await;
    assert_eq!(r.status(), 200, "{}", r.text().await.unwrap_or_default());
    paid(s, json!({"bill_ids": [dec], "channel": "wechat"}), "4200000702").await;
    tick(s).await;
    let r = s
        .app
        .post(
            &format!("/api/v1/staff/payments/{with_points}/refunds"),
            Some(&s.admin),
            &json!({"reason": "重复缴费"}),
        )
        .await;
    assert_eq!(r.status(), 201, "{}", r.text().await.unwrap_or_default());
    tick(s).await;
}

#[tokio::test]
async fn the_points_report_page_shows_the_reports_figures_column_by_column() {
    let s = shop().await;
    october(&s).await;
    let api: Value = s
        .app
        .get_json(
            &format!(
                "/api/v1/staff/reports/points?community_id={}&from=2026-09&to=2026-10",
                s.community
            ),
            Some(&s.admin),
        )
        .await;
    let oct = &api["months"][1];
    assert_eq!(oct["month"], "2026-10", "{api}");
    // Every column but 过期 differs from every other, so a column shown under another's heading or
    // left out cannot pass unnoticed.
    let shown: Vec<String> = COLUMNS[..8].iter().map(|(_, f)| figure(&oct[f])).collect();
    for (i, a) in shown.iter().enumerate() {
        assert!(a != "0" && a != "0.00", "{} is 0: {api}", COLUMNS[i].1);
        assert!(!shown[i + 1..].contains(a), "{} repeats: {api}", COLUMNS[i].1);
    }
    assert_eq!(
        (
            oct["adjusted_in"].as_i64(),
            oct["adjusted_out"].as_i64(),
            oct["fee_cost"].as_str()
        ),
        (Some(3_000), Some(50), Some("22.37")),
        "{api}"
    );

    let admin = sign_in(&s.app, ADMIN_USER, ADMIN_PASSWORD).await;
    let path = format!(
        "/console/reports/points?community_id={}&from=2026-09&to=2026-10",
        s.community
    );
    let (status, html) = page(&s.app, &path, &admin).await;
    assert_eq!(status, 200);
    assert!(html.contains("<h1>积分报表</h1>") && html.contains(NAV_LINK), "{html}");
    assert!(
        html.contains("value=\"2026-09\"") && html.contains("value=\"2026-10\""),
        "the span stays in the form: {html}"
    );
    let headings: Vec<String> = cells(row(&html, "<table id=\"points-report\"><tr>"))
        .into_iter()
        .map(|(t, _)| t)
        .collect();
    let expected: Vec<&str> = std::iter::once("月份").chain(COLUMNS.iter().map(|(h, _)| *h)).collect();
    assert_eq!(headings, expected);
    same_row(&html, "<tr data-month=\"2026-10\">", "2026-10", oct);
    same_row(&html, "<tr data-month=\"2026-09\">", "2026-09", &api["months"][0]);
    same_row(&html, "<tr id=\"points-total\">", "合计", &api["total"]);
    assert_eq!(html.matches("<tr data-month=").count(), 2);

    // Unasked, the last 12 months up to this one (October 2026, the shop's clock).
    let (status, html) = page(
        &s.app,
        &format!("/console/reports/points?community_id={}", s.community),
        &admin,
    )
    .await;
    assert_eq!(status, 200);
    let months: Vec<&str> = html
        .split("<tr data-month=\"")
        .skip(1)
        .map(|r| r.split('"').next().unwrap())
        .collect();
    assert_eq!(months.len(), 12, "{html}");
    assert_eq!((months[0], months[11]), ("2025-11", "2026-10"));
    same_row(&html, "<tr data-month=\"2026-10\">", "2026-10", oct);
}

#[tokio::test]
async fn a_bad_span_is_refused_in_chinese_and_those_who_may_not_read_reports_get_403_and_no_link() {
    let s = shop().await;
    let admin = sign_in(&s.app, ADMIN_USER, ADMIN_PASSWORD).await;
    let (status, html) = page(
        &s.app,
        &format!(
            "/console/reports/points?community_id={}&from=2026-10&to=2026-09",
            s.community
        ),
        &admin,
    )
    .await;
    assert_eq!(status, 422);
    assert!(html.contains("结束月份应不早于开始月份，且最多36个月"), "{html}");
    let (status, html) = page(
        &s.app,
        &format!("/console/reports/points?community_id={}&from=2026-13", s.community),
        &admin,
    )
    .await;
    assert_eq!(status, 422);
    assert!(html.contains("月份格式应为2026-09"), "{html}");

    // Finance reads it, linked from the header.
    s.app.staff_member(&s.admin, "caiwu", "finance", &[s.community]).await;
    let caiwu = sign_in(&s.app, "caiwu", "long-enough-pw").await;
    let (status, html) = page(&s.app, "/console/reports/points", &caiwu).await;
    assert_eq!(status, 200);
    assert!(
        html.contains(NAV_LINK) && html.contains("id=\"points-report\""),
        "{html}"
    );

    // Customer service: the 403 page, and no link to it anywhere in the header.
    s.app.staff_member(&s.admin, "kefu", "service", &[s.community]).await;
    let kefu = sign_in(&s.app, "kefu", "long-enough-pw").await;
    let path = format!("/console/reports/points?community_id={}", s.community);
    let (status, html) = page(&s.app, &path, &kefu).await;
    assert_eq!(status, 403);
    assert!(
        html.contains("无权访问") && !html.contains("id=\"points-report\""),
        "{html}"
    );
    assert!(!html.contains(NAV_LINK), "{html}");
    let (status, html) = page(&s.app, "/console/tickets", &kefu).await;
    assert_eq!(status, 200);
    assert!(!html.contains(NAV_LINK) && !html.contains("积分报表"), "{html}");
}
