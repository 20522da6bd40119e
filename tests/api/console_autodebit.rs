//! Console 自动扣款: tomorrow's debits, failures with the owner's reason, bank batches made,
//! downloaded and answered from the page (finance), a unit's mandates masked; in Chromium too.
use crate::autodebit::{bank, created};
use crate::autodebit_debits::{at, bill_status, debits_with, pass, Debits};
use crate::browser::{browser, browser_present, click, driver, shoot, sign_in_as, until_shown};
use crate::console::{page, post_form, sign_in};
use crate::helpers::*;
use fantoccini::Locator;

/// A bank mandate whose November debit (223.75, due 2026-11-10) was noticed; the clock on the 9th.
async fn noticed_bank_debit() -> Debits {
    let d = debits_with(Vec::new()).await;
    let s = &d.s;
    created(s, bank(s.unit)).await;
    pass(s).await;
    at(s, "2026-11-07 10:00");
    assert_eq!(pass(s).await.noticed, 1);
    at(s, "2026-11-09 10:00");
    d
}

fn csrf_of(html: &str) -> String {
    let at = html.find("name=\"csrf\" value=\"").expect("a form") + "name=\"csrf\" value=\"".len();
    html[at..].split('"').next().unwrap_or_default().to_string()
}

#[tokio::test]
async fn finance_sees_tomorrows_debit_makes_the_bank_batch_and_imports_the_answer() {
    let d = noticed_bank_debit().await;
    let s = &d.s;
    s.app
        .staff_member(&s.app.admin_token().await, "fin", "finance", &[s.community])
        .await;
    let fin = sign_in(&s.app, "fin", "long-enough-pw").await;
    let path = format!("/console/autodebit?community_id={}", s.community);
    let (status, html) = page(&s.app, &path, &fin).await;
    assert_eq!(status, 200, "{html}");
    let upcoming = html.split("id=\"upcoming\"").nth(1).expect("the upcoming table");
    for text in [
        "A A-1-101",
        "2026-11-10（明天）",
        "223.75",
        "银行托收",
        "已通知，待扣款",
    ] {
        assert!(upcoming.contains(text), "{text}: {upcoming}");
    }
    // The unit page shows the mandate, masked.
    let (_, unit) = page(&s.app, &format!("/console/units/{}", s.unit), &fin).await;
    let mandates = unit.split("id=\"mandates\"").nth(1).expect("the mandates table");
    assert!(
        mandates.contains("工商银行 **** 5678") && mandates.contains("生效中"),
        "{mandates}"
    );
    assert!(!unit.contains("6222021234565678"));
    // A day with nothing due is refused in the page, saying why.
    let csrf = csrf_of(&html);
    let community = s.community.to_string();
    let (status, _, refused) = post_form(
        &s.app,
        "/console/autodebit/bank-batches",
        &fin,
        &[("csrf", &csrf), ("community_id", &community), ("date", "2026-11-09")],
    )
    .await;
    assert_eq!(status, 422);
    assert!(refused.contains("该日没有待托收的银行扣款"), "{refused}");
    // On the 10th: the batch, its file, and the bank's answer pasted back.
    at(s, "2026-11-10 09:00");
    let fin = sign_in(&s.app, "fin", "long-enough-pw").await;
    let (_, html) = page(&s.app, &path, &fin).await;
    let csrf = csrf_of(&html);
    let (status, to, _) = post_form(
        &s.app,
        "/console/autodebit/bank-batches",
        &fin,
        &[("csrf", &csrf), ("community_id", &community), ("date", "2026-11-10")],
    )
    .await;
    assert_eq!(status, 303);
    let batch: i64 = to
        .split("batch=")
        .nth(1)
        .and_then(|r| r.split(['&', '#']).next())
        .and_then(|n| n.parse().ok())
        .expect("the batch in the redirect");
    let r = s
        .app
        .http
        .get(s.app.url(&format!("/console/autodebit/bank-batches/{batch}/file")))
        .header(reqwest::header::COOKIE, &fin)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(r.headers()["cache-control"], "no-store");
    let file = r.text().await.unwrap();
    let row = file.lines().nth(1).expect("one debit");
    assert!(row.contains("6222021234565678") && row.contains("223.75"), "{row}");
    let debit = row.split(',').next().unwrap_or_default();
    let answer = format!("debit_id,result,reason\r\n{debit},failed,账户余额不足\r\n");
    let (status, to, body) = post_form(
        &s.app,
        &format!("/console/autodebit/bank-batches/{batch}/results"),
        &fin,
        &[("csrf", &csrf), ("csv", &answer)],
    )
    .await;
    assert_eq!(status, 303, "{body}");
    let (_, html) = page(&s.app, &to, &fin).await;
    assert!(html.contains("入账0笔，未成功1笔"), "{html}");
    let problems = html.split("id=\"problems\"").nth(1).expect("the problems table");
    assert!(
        problems.contains("账户余额不足") && problems.contains("未成功，待重试"),
        "{problems}"
    );
    assert_eq!(bill_status(s, d.nov).await, "unpaid");
}

#[tokio::test]
async fn collectors_see_the_debits_but_not_the_bank_batches() {
    let d = noticed_bank_debit().await;
    let s = &d.s;
    s.app
        .staff_member(&s.app.admin_token().await, "col", "collector", &[s.community])
        .await;
    let col = sign_in(&s.app, "col", "long-enough-pw").await;
    let (status, html) = page(
        &s.app,
        &format!("/console/autodebit?community_id={}", s.community),
        &col,
    )
    .await;
    assert_eq!(status, 200);
    assert!(
        html.contains("id=\"upcoming\"") && !html.contains("id=\"new-batch\""),
        "{html}"
    );
    let csrf = csrf_of(&html);
    let community = s.community.to_string();
    let (status, _, _) = post_form(
        &s.app,
        "/console/autodebit/bank-batches",
        &col,
        &[("csrf", &csrf), ("community_id", &community), ("date", "2026-11-10")],
    )
    .await;
    assert_eq!(status, 403);
    assert_eq!(s.app.count("autodebit_bank_batches").await, 0);
}

#[tokio::test]
async fn a_bank_batch_is_made_from_the_page_in_chromium() {
    if !browser_present() {
        return;
    }
    let d = noticed_bank_debit().await;
    let s = &d.s;
    at(s, "2026-11-10 09:00");
    let drv = driver().await;
    let c = browser(&drv, 1280, 900).await;
    sign_in_as(&c, &s.app, ADMIN_USER, ADMIN_PASSWORD).await;
    click(&c, Locator::Id("autodebit-link")).await;
    c.wait().for_element(Locator::Id("upcoming")).await.unwrap();
    let upcoming = c.find(Locator::Id("upcoming")).await.unwrap().text().await.unwrap();
    assert!(
        upcoming.contains("223.75") && upcoming.contains("银行托收"),
        "{upcoming}"
    );
    click(&c, Locator::Css("#new-batch button")).await;
    until_shown(&c, "id=\"batches\"").await;
    let batches = c.find(Locator::Id("batches")).await.unwrap().text().await.unwrap();
    assert!(
        batches.contains("2026-11-10") && batches.contains("223.75"),
        "{batches}"
    );
    shoot(&c, "console-autodebit-1280").await;
    c.close().await.unwrap();
    assert_eq!(s.app.count("autodebit_bank_batches WHERE rows = 1").await, 1);
}

#[tokio::test]
async fn the_dashboard_shows_auto_debits_share_of_the_months_money() {
    let d = debits_with(Vec::new()).await;
    let s = &d.s;
    crate::autodebit_debits::signed_alipay(s).await;
    pass(s).await;
    at(s, "2026-11-07 10:00");
    pass(s).await;
    // Another unit, billed for November later, pays its 223.75 at the counter in November too.
    at(s, "2026-11-08 10:00");
    let admin = s.app.admin_token().await;
    let other = s.app.unit(&admin, s.community, "A-1-102").await;
    s.app.owner(&admin, "李四", "13800000002", &[other]).await;
    s.app.billing_run(&admin, s.community, "2026-11", "2026-11-08").await;
    let bill = s.app.bill_of(&admin, s.community, other, "2026-11").await;
    let r = s
        .app
        .post(
            "/api/v1/staff/payments/counter",
            Some(&admin),
            &serde_json::json!({"bill_ids": [bill], "method": "cash", "reference": "R-1"}),
        )
        .await;
    assert_eq!(r.status(), 201, "{}", r.text().await.unwrap_or_default());
    at(s, "2026-11-10 10:00");
    assert_eq!(pass(s).await.tried, 1);
    let fin = {
        let admin = s.app.admin_token().await;
        s.app.staff_member(&admin, "fin", "finance", &[s.community]).await;
        sign_in(&s.app, "fin", "long-enough-pw").await
    };
    let (status, html) = page(&s.app, &format!("/console/?community_id={}", s.community), &fin).await;
    assert_eq!(status, 200, "{html}");
    for (id, text) in [
        ("autodebit-units", "1 / 2"),
        ("autodebit-month", "223.75 元"),
        ("autodebit-share", "50.0%"),
        ("autodebit-paid", "1 笔成功"),
    ] {
        let at = html
            .find(&format!("id=\"{id}\">"))
            .unwrap_or_else(|| panic!("{id}: {html}"));
        assert!(
            html[at..].starts_with(&format!("id=\"{id}\">{text}<")),
            "{id}: {}",
            &html[at..at + 80]
        );
    }
    assert!(html.contains("占本月全部入账 447.50 元的"), "{html}");
}
