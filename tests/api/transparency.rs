//! Fee transparency (issue #18, 财务公开): finance publishes a community's monthly income and
//! expense report with structured lines and attachments; a correction is the next version; the
//! community's owners — and only they — read the latest; staff see the months with none.
use crate::bills::estate;
use crate::helpers::*;
use crate::tickets::upload;
use serde_json::{json, Value};

#[tokio::test]
async fn finance_publishes_owners_of_the_community_read_and_the_gaps_show() {
    let e = estate().await;
    let path = format!("/api/v1/staff/communities/{}/finance-reports", e.community);
    let photo = upload(&e.app, "/api/v1/staff/uploads", &e.admin).await;
    let october = json!({
        "period": "2026-10",
        "summary": "10月收支情况",
        "lines": [
            {"category": "property_fee", "amount": "12000.00"},
            {"category": "cleaning", "amount": "3500.50", "note": "保洁外包10月"},
            {"category": "repairs", "amount": "9000"}
        ],
        "upload_ids": [photo]
    });
    // Bad reports change nothing.
    for (patch, field) in [
        (json!({"period": "2026-12"}), "period"),
        (json!({"lines": [{"category": "bonus", "amount": "1"}]}), "lines"),
        (json!({"lines": [{"category": "cleaning", "amount": "0"}]}), "lines"),
        (json!({"lines": []}), "lines"),
    ] {
        let mut body = october.clone();
        for (k, v) in patch.as_object().unwrap() {
            body[k] = v.clone();
        }
        body["upload_ids"] = json!([]);
        let v = assert_error(e.app.post(&path, Some(&e.admin), &body).await, 422, "VALIDATION_FAILED").await;
        assert!(v["details"]["fields"][field].is_string(), "{v}");
    }
    assert_eq!(e.app.count("finance_reports").await, 0);
    let (_, collector) = e.app.staff_member(&e.admin, "col", "collector", &[e.community]).await;
    assert_eq!(e.app.post(&path, Some(&collector), &october).await.status(), 403);
    let r = e.app.post(&path, Some(&e.admin), &october).await;
    assert_eq!(r.status(), 201, "{}", r.text().await.unwrap_or_default());
    let first: Value = r.json().await.unwrap();
    assert_eq!(
        (
            first["version"].as_i64(),
            first["income"].as_str(),
            first["expense"].as_str(),
            first["balance"].as_str()
        ),
        (Some(1), Some("12000.00"), Some("12500.50"), Some("-500.50"))
    );
    assert_eq!(first["lines"][1]["category_label"], "保洁费用");
    // A correction is the next version; owners read the latest.
    let (_, finance) = e.app.staff_member(&e.admin, "fin", "finance", &[e.community]).await;
    let scan = upload(&e.app, "/api/v1/staff/uploads", &finance).await;
    let corrected = json!({
        "period": "2026-10",
        "summary": "更正：维修费含电梯年检",
        "lines": [
            {"category": "property_fee", "amount": "12000.00"},
            {"category": "cleaning", "amount": "3500.50"},
            {"category": "repairs", "amount": "8000.00", "note": "电梯年检"}
        ],
        "upload_ids": [scan]
    });
    let r = e.app.post(&path, Some(&finance), &corrected).await;
    assert_eq!(r.status(), 201);
    let second: Value = r.json().await.unwrap();
    assert_eq!(
        (second["version"].as_i64(), second["balance"].as_str()),
        (Some(2), Some("499.50"))
    );

    let mine: Vec<Value> = e
        .app
        .get_json(
            &format!("/api/v1/me/community/finance-reports?community_id={}", e.community),
            Some(&e.owner),
        )
        .await;
    assert_eq!(mine.len(), 1, "the latest version of each month");
    assert_eq!(
        (mine[0]["version"].as_i64(), mine[0]["summary"].as_str()),
        (Some(2), Some("更正：维修费含电梯年检"))
    );
    let attachment = format!(
        "/api/v1/me/community/finance-reports/{}/attachments/{scan}",
        second["id"]
    );
    assert_eq!(e.app.get(&attachment, Some(&e.owner)).await.status(), 200);

    // Owners of another community see nothing of these books.
    let other = e.app.community(&e.admin, "C2").await;
    let unit = e.app.unit(&e.admin, other, "B-1-101").await;
    e.app.owner(&e.admin, "钱七", "13800000077", &[unit]).await;
    let (stranger, _) = e.app.owner_login("openid-qian").await;
    e.app.bind_phone(&stranger, "13800000077").await;
    let r = e
        .app
        .get(
            &format!("/api/v1/me/community/finance-reports?community_id={}", e.community),
            Some(&stranger),
        )
        .await;
    assert_error(r, 404, "NOT_FOUND").await;
    assert_error(e.app.get(&attachment, Some(&stranger)).await, 404, "NOT_FOUND").await;

    // Staff: every version, and the months of the last twelve with no report.
    let p: Value = e.app.get_json(&path, Some(&finance)).await;
    assert_eq!(p["reports"].as_array().unwrap().len(), 2);
    let missing: Vec<&str> = p["missing"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m.as_str().unwrap())
        .collect();
    assert_eq!(missing.len(), 11);
    assert_eq!((missing[0], missing[10]), ("2025-11", "2026-09"));
    assert_eq!(
        e.app.count("audit_log WHERE action = 'finance_report.publish'").await,
        2
    );
}

#[tokio::test]
async fn finance_publishes_from_the_console_and_the_dashboard_shows_the_gaps() {
    use crate::console::{hidden_csrf, page, post_form, sign_in};
    let e = estate().await;
    e.app.staff_member(&e.admin, "fin", "finance", &[e.community]).await;
    let fin = sign_in(&e.app, "fin", "long-enough-pw").await;
    let path = format!("/console/finance-reports?community_id={}", e.community);
    let (status, html) = page(&e.app, &path, &fin).await;
    assert_eq!(status, 200);
    assert!(
        html.contains("id=\"finance-reports-link\"") && html.contains("尚未公布任何月份"),
        "{html}"
    );
    let csrf = hidden_csrf(&html);
    let community = e.community.to_string();
    let publish = |period: &'static str| {
        let (app, fin, csrf, community) = (&e.app, fin.clone(), csrf.clone(), community.clone());
        async move {
            let form = [
                ("csrf", csrf.as_str()),
                ("community_id", community.as_str()),
                ("period", period),
                ("summary", "10月收支"),
                ("amount_property_fee", "12000"),
                ("amount_cleaning", "3500.50"),
                ("amount_parking", ""),
            ];
            post_form(app, "/console/finance-reports/publish", &fin, &form).await
        }
    };
    let (status, _, body) = publish("2027-01").await;
    assert_eq!(status, 422);
    assert!(body.contains("不能公布尚未开始的月份"), "{body}");
    assert_eq!(publish("2026-10").await.0, 303);
    let (_, html) = page(&e.app, &path, &fin).await;
    assert!(
        html.contains("2026-10 第1版") && html.contains("12000.00 / 3500.50 / 8499.50"),
        "{html}"
    );
    assert!(html.contains("近12个月未公布：2025-11"), "{html}");
    let (_, dash) = page(&e.app, &format!("/console/?community_id={}", e.community), &fin).await;
    assert!(
        dash.contains("最近公布：2026-10（第1版）") && dash.contains("近12个月未公布11个月"),
        "{dash}"
    );
}
