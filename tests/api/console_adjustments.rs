//! 账单调整 in the console: service staff ask for a correction from a dispute's thread, the ticket
//! cannot be resolved while it waits, finance decides on 调整审批 (a refusal needs a reason, nobody
//! decides their own request), and an approval reaches the bill (checked through the JSON API).
//! Refusals are shown on the page the form was on; the queue and its link are finance's only.
use crate::console::{hidden_csrf, outsider, page, post_form, sign_in};
use crate::helpers::*;
use crate::reminders::{estate_without_channels, Estate};
use crate::tickets::{household, open};
use serde_json::{json, Value};

const NAV: &str = "<a href=\"/console/adjustments\">调整审批</a>";

async fn bill(e: &Estate, id: i32) -> Value {
    e.app
        .get_json(&format!("/api/v1/staff/bills/{id}"), Some(&e.admin))
        .await
}

/// A dispute about one bill 60 days overdue: (unit, ticket id, bill id).
async fn dispute(e: &Estate, code: &str, phone: &str) -> (i64, i64, i32) {
    let (unit, owner) = household(e, code, phone).await;
    let b = e.bill_due(unit, 60).await;
    let t = open(
        &e.app,
        &owner,
        json!({"category": "dispute", "title": "滞纳金不合理", "body": "停水期间不应计滞纳金", "unit_id": unit, "bill_ids": [b]}),
    )
    .await;
    (unit, t["id"].as_i64().unwrap(), b)
}

/// The `<tr>` of one request.
fn row(html: &str, id: i64) -> String {
    let at = html
        .find(&format!("data-adjustment-id=\"{id}\""))
        .unwrap_or_else(|| panic!("request {id} listed: {html}"));
    html[at..].split("</tr>").next().unwrap().to_string()
}

/// The ids of the requests a page lists.
fn listed(html: &str) -> Vec<i64> {
    html.split("data-adjustment-id=\"")
        .skip(1)
        .map(|rest| rest.split('"').next().unwrap().parse().unwrap())
        .collect()
}

async fn status_of(e: &Estate, token: &str, aid: i64) -> String {
    let v: Value = e
        .app
        .get_json(&format!("/api/v1/staff/adjustments/{aid}"), Some(token))
        .await;
    v["status"].as_str().unwrap().to_string()
}

#[tokio::test]
async fn service_asks_from_the_thread_and_finance_approves_on_the_adjustments_page() {
    let e = estate_without_channels().await;
    let app = &e.app;
    let (unit, id, b) = dispute(&e, "A-1", "13900000061").await;
    let before = bill(&e, b).await;
    let late_fee = before["late_fee"].as_str().unwrap().to_string();
    assert_ne!(late_fee, "0.00", "{before}");
    app.staff_member(&e.admin, "kefu", "service", &[e.community]).await;
    let (_, caiwu) = app.staff_member(&e.admin, "caiwu", "finance", &[e.community]).await;

    // The thread of a dispute: its (empty) requests and the form that asks finance.
    let kefu = sign_in(app, "kefu", "long-enough-pw").await;
    let thread = format!("/console/tickets/{id}");
    let (status, html) = page(app, &thread, &kefu).await;
    assert_eq!(status, 200);
    for part in [
        "<h2>账单调整</h2>",
        "id=\"no-adjustments\"",
        &format!("action=\"/console/tickets/{id}/adjustments\"") as &str,
        &format!("<option value=\"{b}\">账单 #{b}</option>"),
        "<option value=\"waive_late_fee\">减免滞纳金</option>",
        "<option value=\"adjust\">调整本金</option>",
        "<option value=\"cancel\">撤销账单</option>",
        "留空则减免全部未缴滞纳金",
        "name=\"reason\" rows=\"2\" maxlength=\"200\" required",
        "提交财务审批",
        "审批完成前本工单不能标记为已解决",
    ] {
        assert!(html.contains(part), "{part}: {html}");
    }
    assert!(
        !html.contains(NAV),
        "service staff decide nothing: no link to the queue"
    );
    let csrf = hidden_csrf(&html);
    let ask = format!("{thread}/adjustments");

    // Without the session's token nothing is asked.
    let (status, _, _) = post_form(
        app,
        &ask,
        &kefu,
        &[("bill_id", &b.to_string()), ("kind", "cancel"), ("reason", "x")],
    )
    .await;
    assert_eq!(status, 403);
    // A bad amount: the thread again, 422, the field's message and what was typed.
    let bill_id = b.to_string();
    for (amount, message) in [
        ("abc", "金额格式不正确"),
        ("9999.00", "减免金额应大于0且不超过未缴滞纳金"),
    ] {
        let (status, _, html) = post_form(
            app,
            &ask,
            &kefu,
            &[
                ("csrf", &csrf),
                ("bill_id", &bill_id),
                ("kind", "waive_late_fee"),
                ("amount", amount),
                ("principal", ""),
                ("reason", "小区停水三天"),
            ],
        )
        .await;
        assert_eq!(status, 422, "{amount}: {html}");
        assert!(
            html.contains("id=\"form-error\"") && html.contains(message),
            "{amount}: {html}"
        );
        assert!(
            html.contains(&format!("value=\"{amount}\"")) && html.contains(">小区停水三天</textarea>"),
            "typed again: {html}"
        );
    }
    assert_eq!(app.count("ticket_adjustments").await, 0);

    // All the outstanding late fee (amount left empty): asked, nothing moves yet.
    let (status, location, body) = post_form(
        app,
        &ask,
        &kefu,
        &[
            ("csrf", &csrf),
            ("bill_id", &bill_id),
            ("kind", "waive_late_fee"),
            ("amount", ""),
            ("principal", ""),
            ("reason", "小区停水三天，滞纳金全部减免"),
        ],
    )
    .await;
    assert_eq!((status, location.as_str()), (303, thread.as_str()), "{body}");
    let (_, html) = page(app, &thread, &kefu).await;
    let ids = listed(&html);
    assert_eq!(ids.len(), 1, "{html}");
    let aid = ids[0];
    let r = row(&html, aid);
    for part in [
        format!("#{b}"),
        format!("减免滞纳金¥{late_fee}"),
        "小区停水三天，滞纳金全部减免".to_string(),
        "待财务审批".to_string(),
        "员工 kefu".to_string(),
    ] {
        assert!(r.contains(&part), "{part}: {r}");
    }
    assert!(html.contains("<table id=\"adjustments\">"), "{html}");
    let now = bill(&e, b).await;
    assert_eq!(now["late_fee_waived"], "0.00", "{now}");
    assert_eq!(now["late_fee"], late_fee.as_str());

    // Resolving while finance has not decided: refused on the thread.
    let (status, _, html) = post_form(
        app,
        &format!("{thread}/resolve"),
        &kefu,
        &[("csrf", &csrf), ("resolution", "滞纳金已减免")],
    )
    .await;
    assert_eq!(status, 409, "{html}");
    assert!(
        html.contains("id=\"form-error\"") && html.contains("该工单有待财务审批的账单调整"),
        "{html}"
    );
    let t: Value = app
        .get_json(&format!("/api/v1/staff/tickets/{id}"), Some(&e.admin))
        .await;
    assert_eq!(t["status"], "open");

    // The queue is finance's: service staff get the console's 403 page, without the link.
    let (status, html) = page(app, "/console/adjustments", &kefu).await;
    assert_eq!(status, 403);
    assert!(html.contains("无权访问") && !html.contains(NAV), "{html}");
    let (status, _, _) = post_form(
        app,
        &format!("/console/adjustments/{aid}/approve"),
        &kefu,
        &[("csrf", &csrf)],
    )
    .await;
    assert_eq!(status, 403);

    // Finance: the link in the header, the request with its ticket, unit and bill as it stands.
    let fin = sign_in(app, "caiwu", "long-enough-pw").await;
    let (status, html) = page(app, "/console/", &fin).await;
    assert_eq!(status, 200);
    assert!(html.contains(NAV), "{html}");
    let (status, html) = page(app, "/console/adjustments", &fin).await;
    assert_eq!(status, 200);
    assert!(html.contains("<h1>账单调整审批</h1>") && html.contains(NAV), "{html}");
    assert!(html.contains("<table id=\"adjustment-queue\">"), "{html}");
    assert!(
        html.contains("<option value=\"pending\" selected>待审批</option>"),
        "{html}"
    );
    assert_eq!(listed(&html), [aid]);
    let r = row(&html, aid);
    for part in [
        format!("href=\"/console/tickets/{id}\""),
        format!("href=\"/console/units/{unit}\">A-1</a>"),
        before["period"].as_str().unwrap().to_string(),
        "物业服务费".to_string(),
        format!("现应缴 ¥{}", before["amount_due"].as_str().unwrap()),
        format!("滞纳金 ¥{late_fee}"),
        format!("减免滞纳金¥{late_fee}"),
        "小区停水三天，滞纳金全部减免".to_string(),
        "员工 kefu".to_string(),
        "2026-10-20 10:00".to_string(),
        "待财务审批".to_string(),
        format!("action=\"/console/adjustments/{aid}/approve\""),
        format!("action=\"/console/adjustments/{aid}/reject\""),
        "批准并入账".to_string(),
    ] {
        assert!(r.contains(&part), "{part}: {r}");
    }
    assert!(r.contains("class=\"approve\"") && r.contains("class=\"reject\""), "{r}");
    // Filters: another ticket lists nothing; an empty field (as a GET form sends it) is no filter.
    let (_, html) = page(app, &format!("/console/adjustments?ticket_id={}", id + 1), &fin).await;
    assert!(
        listed(&html).is_empty() && html.contains("id=\"no-adjustments\""),
        "{html}"
    );
    let (status, html) = page(app, "/console/adjustments?community_id=&ticket_id=&status=", &fin).await;
    assert_eq!((status, listed(&html)), (200, vec![aid]), "{html}");
    let (status, html) = page(app, "/console/adjustments?ticket_id=abc", &fin).await;
    assert_eq!(status, 422);
    assert!(html.contains("工单编号无效"), "{html}");
    // The thread shows finance where to decide.
    let (_, html) = page(app, &thread, &fin).await;
    assert!(
        html.contains(&format!("href=\"/console/adjustments?ticket_id={id}\"")),
        "{html}"
    );
    let csrf = hidden_csrf(&html);

    // A refusal without a reason is refused, on the queue, and the request still waits.
    let reject = format!("/console/adjustments/{aid}/reject");
    let (status, _, html) = post_form(app, &reject, &fin, &[("csrf", &csrf), ("note", "  ")]).await;
    assert_eq!(status, 422, "{html}");
    assert!(
        html.contains("id=\"form-error\"") && html.contains("不能为空") && html.contains("<h1>账单调整审批</h1>"),
        "{html}"
    );
    assert_eq!(status_of(&e, &caiwu, aid).await, "pending");

    // Approved (from the queue filtered to the ticket, where it returns): the ledger waives it.
    let (status, location, body) = post_form(
        app,
        &format!("/console/adjustments/{aid}/approve"),
        &fin,
        &[
            ("csrf", &csrf),
            ("note", "停水属实，同意"),
            ("ticket_id", &id.to_string()),
            ("community_id", ""),
        ],
    )
    .await;
    assert_eq!(status, 303, "{body}");
    assert_eq!(location, format!("/console/adjustments?ticket_id={id}"));
    let after = bill(&e, b).await;
    assert_eq!(after["late_fee_waived"], late_fee.as_str(), "{after}");
    assert_eq!(after["amount_due"], after["principal"], "{after}");
    assert_eq!(status_of(&e, &caiwu, aid).await, "approved");
    let (_, html) = page(app, "/console/adjustments", &fin).await;
    assert!(html.contains("id=\"no-adjustments\""), "nothing waits: {html}");
    let (_, html) = page(app, "/console/adjustments?status=approved", &fin).await;
    let r = row(&html, aid);
    assert!(
        r.contains("已批准并入账") && r.contains("员工 caiwu") && r.contains("停水属实，同意"),
        "{r}"
    );
    assert!(!r.contains("class=\"approve\""), "decided: no forms: {r}");
    // Decided once: a second decision is refused on the queue.
    let (status, _, html) = post_form(app, &reject, &fin, &[("csrf", &csrf), ("note", "不同意")]).await;
    assert_eq!(status, 409);
    assert!(html.contains("该申请已处理"), "{html}");

    // The thread shows the decision and the owner-visible message; now it can be resolved.
    let (_, html) = page(app, &thread, &kefu).await;
    let r = row(&html, aid);
    assert!(
        r.contains("已批准并入账") && r.contains("员工 caiwu") && r.contains("停水属实，同意"),
        "{r}"
    );
    assert!(html.contains("经财务审核"), "{html}");
    let csrf = hidden_csrf(&html);
    let (status, _, _) = post_form(
        app,
        &format!("{thread}/resolve"),
        &kefu,
        &[("csrf", &csrf), ("resolution", "停水期间的滞纳金已全部减免")],
    )
    .await;
    assert_eq!(status, 303);
    let (_, html) = page(app, &thread, &kefu).await;
    assert!(!html.contains("id=\"adjust\""), "no form on a resolved ticket");
    assert!(html.contains("<table id=\"adjustments\">"), "the record stays");
}

#[tokio::test]
async fn nobody_decides_their_own_request_nor_one_outside_their_communities() {
    let e = estate_without_channels().await;
    let app = &e.app;
    let (_, id, b) = dispute(&e, "A-2", "13900000062").await;
    let admin = sign_in(app, ADMIN_USER, ADMIN_PASSWORD).await;
    let thread = format!("/console/tickets/{id}");
    let (_, html) = page(app, &thread, &admin).await;
    let csrf = hidden_csrf(&html);
    // The admin asks for a new principal.
    let (status, _, body) = post_form(
        app,
        &format!("{thread}/adjustments"),
        &admin,
        &[
            ("csrf", &csrf),
            ("bill_id", &b.to_string()),
            ("kind", "adjust"),
            ("amount", ""),
            ("principal", "250.00"),
            ("reason", "按实测面积重新计费"),
        ],
    )
    .await;
    assert_eq!(status, 303, "{body}");
    let (_, html) = page(app, &thread, &admin).await;
    let aid = listed(&html)[0];
    assert!(row(&html, aid).contains("本金由¥300.00调整为¥250.00"), "{html}");

    // On the queue their own request offers them no decision; posted anyway, it is refused.
    let (status, html) = page(app, "/console/adjustments", &admin).await;
    assert_eq!(status, 200);
    assert!(html.contains(NAV), "the admin decides corrections: {html}");
    let r = row(&html, aid);
    assert!(r.contains("本人提交") && !r.contains("class=\"approve\""), "{r}");
    let approve = format!("/console/adjustments/{aid}/approve");
    let (status, _, html) = post_form(app, &approve, &admin, &[("csrf", &csrf)]).await;
    assert_eq!(status, 409, "{html}");
    assert!(
        html.contains("id=\"form-error\"") && html.contains("不能审批自己提交的调整申请"),
        "{html}"
    );
    // A forged token, or finance of another community: nothing is decided.
    let (status, _, _) = post_form(app, &approve, &admin, &[("csrf", "forged")]).await;
    assert_eq!(status, 403);
    let other = outsider(app, &e.admin, "caiwu9", "finance").await;
    let (_, html) = page(app, "/console/adjustments", &other).await;
    assert!(listed(&html).is_empty(), "{html}");
    let other_csrf = hidden_csrf(&html);
    let (status, _, html) = post_form(app, &approve, &other, &[("csrf", &other_csrf)]).await;
    assert_eq!(status, 404);
    assert!(html.contains("页面不存在"), "{html}");
    assert_eq!(status_of(&e, &e.admin, aid).await, "pending");
    assert_eq!(bill(&e, b).await["principal"], "300.00");
}
