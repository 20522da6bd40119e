//! 积分报表 in the console (issue #15): a community's points month by month, the same figures as
//! `GET /staff/reports/points` column by column, the last 12 months by default, the report's own
//! refusal of a bad span shown in Chinese, and neither the page nor its header link for a role that
//! may not read reports.
use crate::console::{page, sign_in};
use crate::console_points::{api_reward, redeem};
use crate::helpers::*;
use crate::payments::{shop, Shop};
use crate::points::{december, give_points, november, paid, paid_bills, tick};
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

/// October 2026 in the shop: points given and taken by staff, a redemption cancelled, fees paid
/// partly in points and on time in cash, and the order with points refunded.
async fn october(s: &Shop) {
    let (nov, dec) = (november(s).await, december(s).await);
    give_points(s, 3_000).await;
    give_points(s, -50).await;
    let body = json!({"bill_ids": [nov], "channel": "wechat", "points": 2_237});
    let with_points = paid(s, body, 20_138, "4200000701").await;
    let with_points = with_points["payment_id"].as_i64().unwrap();
    tick(&s.app).await;
    let reward = api_reward(s, "大米5斤", 150, 10).await;
    let redemption = redeem(s, reward, 2, "rice-2").await;
    let r = s
        .app
        .post(
            &format!("/api/v1/staff/redemptions/{redemption}/cancel"),
            Some(&s.admin),
            &json!({"reason": "业主改选其他奖品"}),
        )
        .await;
    assert_eq!(r.status(), 200, "{}", r.text().await.unwrap_or_default());
    paid_bills(s, &[dec], 22_375, "4200000702").await;
    tick(&s.app).await;
    let r = s
        .app
        .post(
            &format!("/api/v1/staff/payments/{with_points}/refunds"),
            Some(&s.admin),
            &json!({"reason": "重复缴费"}),
        )
        .await;
    assert_eq!(r.status(), 201, "{}", r.text().await.unwrap_or_default());
    tick(&s.app).await;
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
