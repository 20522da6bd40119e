//! The public arrears notice (issue #18, 欠费公示): masked unit codes and amounts of arrears older
//! than `arrears_notice.min_days` only — no name, no phone — with units under a dispute or a
//! hardship case left out; printed only after an admin's legal review, and every print recorded.
use crate::bills::{estate, my_bills, run};
use crate::helpers::*;
use serde_json::{json, Value};

#[tokio::test]
async fn the_notice_masks_codes_names_nobody_leaves_protected_units_out_and_prints_only_once_reviewed() {
    let e = estate().await;
    // Three more households: one disputes June, one asks for hardship help, one paid its old bills.
    let mut owners = Vec::new();
    for (code, name, phone, openid) in [
        ("A-1-102", "李四", "13800000002", "openid-li"),
        ("A-1-103", "王五", "13800000003", "openid-wang"),
        ("A-1-104", "赵六", "13800000004", "openid-zhao"),
    ] {
        let unit = e.app.unit(&e.admin, e.community, code).await;
        e.app.owner(&e.admin, name, phone, &[unit]).await;
        let (token, _) = e.app.owner_login(openid).await;
        e.app.bind_phone(&token, phone).await;
        owners.push((unit, token));
    }
    for p in ["2026-06", "2026-07", "2026-09"] {
        run(&e.app, &e.admin, e.community, p).await;
    }
    let june = |token: &str| {
        let (app, token) = (&e.app, token.to_string());
        async move {
            my_bills(app, &token, "unpaid")
                .await
                .into_iter()
                .find(|b| b["period"] == "2026-06")
                .unwrap()["id"]
                .as_i64()
                .unwrap()
        }
    };
    let (u2, li) = &owners[0];
    crate::tickets::open(
        &e.app,
        li,
        json!({"category": "dispute", "title": "6月账单有误", "body": "面积计算错误", "unit_id": u2, "bill_ids": [june(li).await]}),
    )
    .await;
    let (_, wang) = &owners[1];
    let photo = crate::tickets::upload(&e.app, "/api/v1/me/uploads", wang).await;
    let r = e
        .app
        .post(
            "/api/v1/me/hardship-requests",
            Some(wang),
            &json!({"category": "serious_illness", "reason": "重病住院", "upload_ids": [photo]}),
        )
        .await;
    assert_eq!(r.status(), 201);
    let (_, zhao) = &owners[2];
    let zhao_old: Vec<i64> = my_bills(&e.app, zhao, "unpaid")
        .await
        .iter()
        .filter(|b| b["period"] != "2026-09")
        .map(|b| b["id"].as_i64().unwrap())
        .collect();
    let r = e
        .app
        .post(
            "/api/v1/staff/payments/counter",
            Some(&e.admin),
            &json!({"bill_ids": zhao_old, "method": "cash", "reference": "收据7001"}),
        )
        .await;
    assert_eq!(r.status(), 201);

    // June (due 06-10) and July (07-10) are more than 90 days old on 2026-10-20; September is not.
    let owed: i64 = my_bills(&e.app, &e.owner, "unpaid")
        .await
        .iter()
        .filter(|b| b["period"] != "2026-09")
        .map(|b| wuye::domain::Fen::parse(b["amount_due"].as_str().unwrap()).unwrap().0)
        .sum();
    let path = format!("/api/v1/staff/reports/arrears-notice?community_id={}", e.community);
    let n: Value = e.app.get_json(&path, Some(&e.admin)).await;
    let amount = wuye::domain::Fen(owed).to_yuan_string();
    assert_eq!(n["lines"], json!([{"unit": "A-1-1**", "amount": amount}]), "{n}");
    assert_eq!(
        (n["total"].as_str(), n["min_days"].as_i64()),
        (Some(amount.as_str()), Some(90))
    );
    let text = n.to_string();
    for secret in ["张三", "李四", "王五", "赵六", "13800000001", "A-1-101", "A-1-102"] {
        assert!(!text.contains(secret), "the notice names {secret}: {text}");
    }
    assert!(n["review"].is_null());

    // Not printable before an admin records the legal review; finance cannot record it.
    let html = format!("/api/v1/staff/reports/arrears-notice.html?community_id={}", e.community);
    assert_error(e.app.get(&html, Some(&e.admin)).await, 409, "NOTICE_NOT_REVIEWED").await;
    let (_, finance) = e.app.staff_member(&e.admin, "fin", "finance", &[e.community]).await;
    let review = format!("/api/v1/staff/communities/{}/arrears-notice-review", e.community);
    let body = json!({"note": "法务部2026-10-18审核：仅公示隐去房号的欠费金额"});
    assert_eq!(e.app.put(&review, Some(&finance), &body).await.status(), 403);
    assert_eq!(e.app.put(&review, Some(&e.admin), &body).await.status(), 200);
    let n: Value = e.app.get_json(&path, Some(&finance)).await;
    assert_eq!(n["review"]["note"], body["note"]);
    for _ in 0..2 {
        let r = e.app.get(&html, Some(&finance)).await;
        assert_eq!(r.status(), 200);
        let page = r.text().await.unwrap();
        assert!(page.contains("A-1-1**") && page.contains(&amount), "{page}");
        for secret in ["张三", "李四", "王五", "13800000001", "A-1-101"] {
            assert!(!page.contains(secret), "the printed notice names {secret}");
        }
    }
    assert_eq!(e.app.count("arrears_notice_prints").await, 2, "each print is recorded");
    assert_eq!(e.app.count("audit_log WHERE action = 'arrears_notice.print'").await, 2);
    // Withdrawn, it cannot be printed again.
    assert_eq!(e.app.delete(&review, Some(&e.admin), &json!({})).await.status(), 204);
    assert_error(e.app.get(&html, Some(&finance)).await, 409, "NOTICE_NOT_REVIEWED").await;
    assert_eq!(e.app.delete(&review, Some(&e.admin), &json!({})).await.status(), 404);
}

#[tokio::test]
async fn admins_record_the_review_and_staff_print_from_the_console() {
    use crate::console::{hidden_csrf, page, post_form, sign_in};
    let e = estate().await;
    for p in ["2026-06", "2026-09"] {
        run(&e.app, &e.admin, e.community, p).await;
    }
    e.app.staff_member(&e.admin, "fin", "finance", &[e.community]).await;
    let path = format!("/console/arrears-notice?community_id={}", e.community);
    let fin = sign_in(&e.app, "fin", "long-enough-pw").await;
    let (status, html) = page(&e.app, &path, &fin).await;
    assert_eq!(status, 200);
    assert!(
        html.contains("id=\"arrears-notice-link\"") && html.contains("A-1-1**"),
        "{html}"
    );
    assert!(
        html.contains("尚未经法律审核") && !html.contains("确认已审核"),
        "finance records no review: {html}"
    );
    let print = format!("/console/arrears-notice/print?community_id={}", e.community);
    let (status, _) = page(&e.app, &print, &fin).await;
    assert_eq!(status, 409, "not before the review");
    let admin = sign_in(&e.app, ADMIN_USER, ADMIN_PASSWORD).await;
    let (_, html) = page(&e.app, &path, &admin).await;
    let csrf = hidden_csrf(&html);
    let community = e.community.to_string();
    let (status, _, body) = post_form(
        &e.app,
        "/console/arrears-notice/review",
        &admin,
        &[("csrf", &csrf), ("community_id", &community), ("note", " ")],
    )
    .await;
    assert_eq!(status, 422);
    assert!(body.contains("审核说明不能为空"), "{body}");
    let (status, _, _) = post_form(
        &e.app,
        "/console/arrears-notice/review",
        &admin,
        &[("csrf", &csrf), ("community_id", &community), ("note", "法务已审核")],
    )
    .await;
    assert_eq!(status, 303);
    let (_, html) = page(&e.app, &path, &fin).await;
    assert!(
        html.contains("已审核：法务已审核") && html.contains("id=\"print\""),
        "{html}"
    );
    let (status, printed) = page(&e.app, &print, &fin).await;
    assert_eq!(status, 200);
    assert!(printed.contains("物业费欠费公示") && printed.contains("A-1-1**") && !printed.contains("张三"));
    assert_eq!(e.app.count("arrears_notice_prints").await, 1);
}
