//! Collection reports (API.md "Report definitions") against a hand-computed estate: a payment, an
//! adjustment, a partial refund and a cancellation, two buildings, two communities.
use crate::bills::{fee_item, run};
use crate::helpers::*;
use serde_json::{json, Value};

pub(crate) struct Books {
    pub(crate) app: TestApp,
    pub(crate) admin: String,
    pub(crate) c1: i64,
    c2: i64,
}

pub(crate) async fn post_ok(app: &TestApp, admin: &str, url: &str, body: Value) -> Value {
    let r = app.post(url, Some(admin), &body).await;
    let status = r.status().as_u16();
    let text = r.text().await.unwrap();
    assert!((200..300).contains(&status), "{url}: {status} {text}");
    serde_json::from_str(&text).unwrap_or(Value::Null)
}

/// Today is 2026-10-20. Units 1 and 2 (building A, 223.75 a month) and 3 (building B, 250.00);
/// September and October billed (due on the 10th). October: unit 1 paid at the counter; unit 2
/// adjusted to 200.00; unit 3 paid and then 50.00 refunded. September: unit 3 cancelled, the rest
/// unpaid. Unit 2 is sold today. A second community has no bills.
pub(crate) async fn books() -> Books {
    let app = spawn_app().await;
    let admin = app.admin_token().await;
    let c1 = app.community(&admin, "C1").await;
    let c2 = app.community(&admin, "C2").await;
    let u1 = app.unit(&admin, c1, "A-101").await;
    let u2 = app.unit(&admin, c1, "A-102").await;
    let u3 = post_ok(
        &app,
        &admin,
        "/api/v1/staff/units",
        json!({"community_id": c1, "building": "B", "code": "B-101", "area_m2": "100.00"}),
    )
    .await["id"]
        .as_i64()
        .unwrap();
    fee_item(
        &app,
        &admin,
        json!({"community_id": c1, "name": "物业服务费", "kind": "per_area", "unit_price": "2.50", "cycle": "monthly", "due_day": 10}),
    )
    .await;
    run(&app, &admin, c1, "2026-09").await;
    run(&app, &admin, c1, "2026-10").await;
    let counter = |bill: i64| json!({"bill_ids": [bill], "method": "cash", "reference": "收据0001"});
    let oct1 = app.bill_of(&admin, c1, u1, "2026-10").await;
    post_ok(&app, &admin, "/api/v1/staff/payments/counter", counter(oct1)).await;
    let oct2 = app.bill_of(&admin, c1, u2, "2026-10").await;
    post_ok(
        &app,
        &admin,
        &format!("/api/v1/staff/bills/{oct2}/adjust"),
        json!({"principal": "200.00", "reason": "面积核减"}),
    )
    .await;
    let oct3 = app.bill_of(&admin, c1, u3, "2026-10").await;
    let paid = post_ok(&app, &admin, "/api/v1/staff/payments/counter", counter(oct3)).await;
    post_ok(
        &app,
        &admin,
        &format!("/api/v1/staff/payments/{}/refunds", paid["id"]),
        json!({"amount": "50.00", "reason": "多收"}),
    )
    .await;
    let sep3 = app.bill_of(&admin, c1, u3, "2026-09").await;
    post_ok(
        &app,
        &admin,
        &format!("/api/v1/staff/bills/{sep3}/cancel"),
        json!({"reason": "重复开具"}),
    )
    .await;
    // Unit 2 changes hands today: still one household with the same bills, so no figure moves.
    app.owner(&admin, "卖方", "13800000002", &[u2]).await;
    let buyer = app.owner_in(&admin, c1, "买方", "13800000003").await;
    post_ok(
        &app,
        &admin,
        &format!("/api/v1/staff/units/{u2}/transfer"),
        json!({"to_owner_ids": [buyer], "date": "2026-10-20"}),
    )
    .await;
    Books { app, admin, c1, c2 }
}

async fn report(b: &Books, token: &str, query: &str) -> Value {
    let r = b
        .app
        .get(&format!("/api/v1/staff/reports/collection?{query}"), Some(token))
        .await;
    assert_eq!(r.status(), 200, "{query}");
    r.json().await.unwrap()
}

#[tokio::test]
async fn collection_report_matches_the_hand_computed_books() {
    let b = books().await;
    let r = report(&b, &b.admin, &format!("community_id={}&period=2026-10", b.c1)).await;
    assert_eq!((&r["period"], &r["as_of"]), (&json!("2026-10"), &json!("2026-10-20")));
    // Receivable 223.75 + 200.00 + 250.00; collected 223.75 + 0 + (250.00 − 50.00).
    assert_eq!(
        (&r["receivable"], &r["collected"], &r["collection_rate"]),
        (&json!("673.75"), &json!("423.75"), &json!("0.6289"))
    );
    assert_eq!(
        (&r["households_billed"], &r["households_paid"], &r["household_rate"]),
        (&json!(3), &json!(1), &json!("0.3333"))
    );
    let building = |name: &str| {
        r["by_building"]
            .as_array()
            .unwrap()
            .iter()
            .find(|x| x["building"] == name)
            .unwrap()
            .clone()
    };
    assert_eq!(
        (&building("A")["receivable"], &building("A")["collection_rate"]),
        (&json!("423.75"), &json!("0.5280"))
    );
    assert_eq!(
        (&building("B")["collected"], &building("B")["collection_rate"]),
        (&json!("200.00"), &json!("0.8000"))
    );
    assert_eq!(r["by_fee_item"][0]["fee_item"], "物业服务费");
    // Aging on 10-20: October's 200.00 + 50.00 are 10 days overdue; September's two 223.75 are 40.
    assert_eq!(
        r["aging"],
        json!({"0-30": "250.00", "31-90": "447.50", "91-180": "0.00", "181+": "0.00"})
    );
    // Nothing was owed on 1 January: no clearance rate rather than a made-up one.
    assert_eq!(
        (&r["arrears_at_year_start"], &r["clearance_rate"]),
        (&json!("0.00"), &Value::Null)
    );
    // Trend: 12 months to October; September as of 09-30 (its cancellation came later): 0 of 697.50.
    let trend = r["trend"].as_array().unwrap();
    assert_eq!(trend.len(), 12);
    assert_eq!(trend[0], json!({"period": "2025-11", "collection_rate": null}));
    assert_eq!(trend[10], json!({"period": "2026-09", "collection_rate": "0.0000"}));
    assert_eq!(trend[11]["collection_rate"], "0.6289");
    // As of an earlier day the later payments and corrections are not yet on the books.
    let early = report(
        &b,
        &b.admin,
        &format!("community_id={}&period=2026-10&as_of=2026-10-01", b.c1),
    )
    .await;
    assert_eq!(
        (&early["receivable"], &early["collected"], &early["collection_rate"]),
        (&json!("697.50"), &json!("0.00"), &json!("0.0000"))
    );
}

#[tokio::test]
async fn collection_report_across_communities_and_scopes() {
    let b = books().await;
    let all = report(&b, &b.admin, "period=2026-10").await;
    assert_eq!(all["receivable"], "673.75");
    let per = all["by_community"].as_array().unwrap();
    assert_eq!(per.len(), 2);
    assert_eq!(
        (&per[0]["community_id"], &per[0]["collected"]),
        (&json!(b.c1), &json!("423.75"))
    );
    assert_eq!(
        (
            &per[1]["community_id"],
            &per[1]["receivable"],
            &per[1]["collection_rate"]
        ),
        (&json!(b.c2), &json!("0.00"), &Value::Null)
    );
    // Finance staff of C2 only: their scope, and nothing of C1.
    let (_, finance) = b.app.staff_member(&b.admin, "fin2", "finance", &[b.c2]).await;
    let theirs = report(&b, &finance, "period=2026-10").await;
    assert_eq!(theirs["by_community"].as_array().unwrap().len(), 1);
    assert_eq!(theirs["receivable"], "0.00");
    let url = |q: &str| format!("/api/v1/staff/reports/collection?{q}");
    assert_error(
        b.app
            .get(&url(&format!("community_id={}&period=2026-10", b.c1)), Some(&finance))
            .await,
        404,
        "NOT_FOUND",
    )
    .await;
    let (_, service) = b.app.staff_member(&b.admin, "svc", "service", &[b.c1]).await;
    assert_error(
        b.app.get(&url("period=2026-10"), Some(&service)).await,
        403,
        "FORBIDDEN",
    )
    .await;
    for bad in [
        "period=2026-Q3",
        "period=2026-13",
        "period=2026-10&as_of=2026-02-30",
        "period=2026-10&format=pdf",
    ] {
        let v = assert_error(b.app.get(&url(bad), Some(&b.admin)).await, 422, "VALIDATION_FAILED").await;
        assert!(
            v["message"].as_str().unwrap().chars().any(|c| c > '\u{2e80}'),
            "{bad}: {v}"
        );
    }
}

#[tokio::test]
async fn collection_report_downloads_as_csv_with_bom() {
    let b = books().await;
    let r = b
        .app
        .get(
            &format!(
                "/api/v1/staff/reports/collection?community_id={}&period=2026-10&format=csv",
                b.c1
            ),
            Some(&b.admin),
        )
        .await;
    assert_eq!(r.status(), 200);
    assert!(r.headers()["content-type"].to_str().unwrap().starts_with("text/csv"));
    let bytes = r.bytes().await.unwrap();
    assert!(bytes.starts_with("\u{feff}".as_bytes()), "BOM first");
    let text = String::from_utf8(bytes[3..].to_vec()).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    assert!(
        lines[0].starts_with("类别,名称,应收(元),实收(元),收费率"),
        "{}",
        lines[0]
    );
    assert!(
        lines[1].starts_with("合计,2026-10（截至2026-10-20）,673.75,423.75,0.6289,3,1,0.3333"),
        "{}",
        lines[1]
    );
    assert!(
        lines.iter().any(|l| l.starts_with("楼栋,B,250.00,200.00,0.8000")),
        "{text}"
    );
    assert!(lines.contains(&"账龄,31-90天,,,,,,,,447.50"), "{text}");
    assert!(lines.contains(&"趋势,2026-09,,,0.0000,,,,,"), "{text}");
}
