//! 房屋 setup in the console: add a unit, correct it, with the units service's checks (a billed
//! unit keeps its building), CSRF and role refusals, escaped text, and holds naming who set them.
use crate::bills::{estate, run};
use crate::console::{hidden_csrf, outsider, page, post_form, sign_in};
use crate::helpers::*;
use serde_json::{json, Value};

#[tokio::test]
async fn units_are_added_and_corrected_in_the_console_through_the_units_service() {
    let e = estate().await;
    let app = &e.app;
    let session = sign_in(app, ADMIN_USER, ADMIN_PASSWORD).await;
    let (status, html) = page(app, &format!("/console/units?community_id={}", e.community), &session).await;
    assert_eq!(status, 200);
    assert!(html.contains("id=\"new-unit\""), "{html}");
    let csrf = hidden_csrf(&html);
    let c = e.community.to_string();
    let units = app.count("units").await;
    let form = |token: &'static str, area: &'static str| {
        vec![
            ("csrf", token),
            ("building", "<b>B</b>栋"),
            ("code", "B-201"),
            ("area_m2", area),
            ("handover_date", ""),
        ]
    };
    let token: &'static str = Box::leak(csrf.clone().into_boxed_str());
    let with_c = |mut f: Vec<(&'static str, &'static str)>| {
        let c: &'static str = Box::leak(c.clone().into_boxed_str());
        f.push(("community_id", c));
        f
    };
    assert_eq!(
        post_form(app, "/console/units/new", &session, &with_c(form("forged", "90")))
            .await
            .0,
        403
    );
    let (status, _, body) = post_form(app, "/console/units/new", &session, &with_c(form(token, "0"))).await;
    assert_eq!(status, 422, "{body}");
    assert_eq!(app.count("units").await, units);
    let (status, location, _) = post_form(app, "/console/units/new", &session, &with_c(form(token, "90.5"))).await;
    assert_eq!(status, 303);
    let id: i64 = location.trim_start_matches("/console/units/").parse().unwrap();
    let (_, html) = page(app, &location, &session).await;
    assert!(
        html.contains("&lt;b&gt;B&lt;/b&gt;栋 B-201") && !html.contains("<b>B</b>"),
        "{html}"
    );
    let unit: Value = app.get_json(&format!("/api/v1/staff/units/{id}"), Some(&e.admin)).await;
    assert_eq!(
        (unit["area_m2"].as_str(), unit["code"].as_str()),
        (Some("90.50"), Some("B-201"))
    );

    // Corrected: area and handover date; the building stays as shown.
    let edit = format!("/console/units/{id}/edit");
    let (status, _, _) = post_form(
        app,
        &edit,
        &session,
        &[
            ("csrf", token),
            ("building", "<b>B</b>栋"),
            ("code", "B-201"),
            ("area_m2", "91.00"),
            ("handover_date", "2026-01-15"),
        ],
    )
    .await;
    assert_eq!(status, 303);
    let unit: Value = app.get_json(&format!("/api/v1/staff/units/{id}"), Some(&e.admin)).await;
    assert_eq!(
        (&unit["area_m2"], &unit["handover_date"]),
        (&json!("91.00"), &json!("2026-01-15"))
    );
    // The estate's unit has bills: its area may be corrected, its building not (409 page).
    run(app, &e.admin, e.community, "2026-10").await;
    let billed = format!("/console/units/{}/edit", e.unit);
    let (status, _, body) = post_form(
        app,
        &billed,
        &session,
        &[
            ("csrf", token),
            ("building", "Z"),
            ("code", "A-1-101"),
            ("area_m2", "89.50"),
            ("handover_date", ""),
        ],
    )
    .await;
    assert_eq!(status, 409, "{body}");

    // A collector sees no forms and is refused; another community's staff get 404.
    app.staff_member(&e.admin, "col", "collector", &[e.community]).await;
    let col = sign_in(app, "col", "long-enough-pw").await;
    let (_, html) = page(app, &format!("/console/units/{id}"), &col).await;
    assert!(!html.contains("id=\"edit-unit\""), "{html}");
    let col_csrf = hidden_csrf(&html);
    let (status, _, _) = post_form(
        app,
        &edit,
        &col,
        &[
            ("csrf", &col_csrf),
            ("building", "C"),
            ("code", "B-201"),
            ("area_m2", "1"),
        ],
    )
    .await;
    assert_eq!(status, 403);
    let svc = outsider(app, &e.admin, "svc9", "service").await;
    let (_, home) = page(app, "/console/", &svc).await;
    let (status, _, _) = post_form(
        app,
        &edit,
        &svc,
        &[
            ("csrf", &hidden_csrf(&home)),
            ("building", "C"),
            ("code", "B-201"),
            ("area_m2", "1"),
        ],
    )
    .await;
    assert_eq!(status, 404);
    let unit: Value = app.get_json(&format!("/api/v1/staff/units/{id}"), Some(&e.admin)).await;
    assert_eq!(unit["area_m2"], "91.00", "nothing changed by refused posts");
}

#[tokio::test]
async fn a_hold_names_the_member_who_set_it() {
    let e = estate().await;
    let app = &e.app;
    let r = app
        .post(
            "/api/v1/staff/holds",
            Some(&e.admin),
            &json!({"community_id": e.community, "unit_id": e.unit, "reason": "报修未完成", "until": "2026-11-30"}),
        )
        .await;
    assert_eq!(r.status(), 201, "{}", r.text().await.unwrap());
    let session = sign_in(app, ADMIN_USER, ADMIN_PASSWORD).await;
    let (_, html) = page(app, &format!("/console/units/{}", e.unit), &session).await;
    assert!(html.contains(&format!("<td>员工 {ADMIN_USER}</td>")), "{html}");
    assert!(!html.contains("<td>staff:"), "{html}");
    // The dashboard's count links to the community's holds, each linked to its unit.
    let (_, dash) = page(app, &format!("/console/?community_id={}", e.community), &session).await;
    let holds = format!("/console/holds?community_id={}", e.community);
    assert!(dash.contains(&format!("href=\"{holds}\"")), "{dash}");
    let (status, list) = page(app, &holds, &session).await;
    assert_eq!(status, 200);
    assert!(
        list.contains(&format!("<a href=\"/console/units/{}\">A A-1-101</a>", e.unit))
            && list.contains("<td>报修未完成</td><td>2026-11-30</td>")
            && list.contains(&format!("员工 {ADMIN_USER}"))
            && list.contains("共1项"),
        "{list}"
    );
    let svc = outsider(app, &e.admin, "svc9", "service").await;
    let (status, _) = page(app, &holds, &svc).await;
    assert_eq!(status, 404);
}

#[tokio::test]
async fn a_unit_page_lists_its_payments_with_their_receipts() {
    let e = estate().await;
    let app = &e.app;
    let session = sign_in(app, ADMIN_USER, ADMIN_PASSWORD).await;
    let path = format!("/console/units/{}", e.unit);
    let (_, html) = page(app, &path, &session).await;
    assert!(html.contains("id=\"no-payments\""), "{html}");
    run(app, &e.admin, e.community, "2026-10").await;
    let bill = app.bill_of(&e.admin, e.community, e.unit, "2026-10").await;
    let r = app
        .post(
            "/api/v1/staff/payments/counter",
            Some(&e.admin),
            &json!({"bill_ids": [bill], "method": "pos", "reference": "POS-<1>"}),
        )
        .await;
    assert_eq!(r.status(), 201);
    let paid: Value = r.json().await.unwrap();
    let (_, html) = page(app, &path, &session).await;
    let table = &html[html.find("id=\"payments\"").expect("a payments table")..];
    let table = &table[..table.find("</table>").unwrap()];
    assert_eq!(table.matches("<tr><td>").count(), 1, "{table}");
    assert!(
        table.contains("POS刷卡") && table.contains("2026-10") && table.contains("已缴费"),
        "{table}"
    );
    let receipt = format!("/console/payments/{}/receipt", paid["id"]);
    assert!(table.contains(&format!("href=\"{receipt}\"")), "{table}");
    let (status, _) = page(app, &receipt, &session).await;
    assert_eq!(status, 200);
}

#[tokio::test]
async fn an_owner_is_registered_on_a_unit_page_with_the_phone_sealed_and_masked() {
    let e = estate().await;
    let app = &e.app;
    let session = sign_in(app, ADMIN_USER, ADMIN_PASSWORD).await;
    let path = format!("/console/units/{}", e.unit);
    let (_, html) = page(app, &path, &session).await;
    assert!(html.contains("id=\"add-owner\""), "{html}");
    let csrf = hidden_csrf(&html);
    let to = format!("{path}/owners");
    let owners = app.count("owners").await;
    let (status, _, _) = post_form(
        app,
        &to,
        &session,
        &[("csrf", "forged"), ("name", "李四"), ("phone", "13900000009")],
    )
    .await;
    assert_eq!(status, 403);
    let (status, _, body) = post_form(
        app,
        &to,
        &session,
        &[("csrf", &csrf), ("name", "李四"), ("phone", "12345")],
    )
    .await;
    assert_eq!(status, 422);
    assert!(body.contains("<li>"), "{body}");
    assert_eq!(app.count("owners").await, owners);
    let (status, location, _) = post_form(
        app,
        &to,
        &session,
        &[("csrf", &csrf), ("name", "<i>李四</i>"), ("phone", "13900000009")],
    )
    .await;
    assert_eq!((status, location.as_str()), (303, path.as_str()));
    let (_, html) = page(app, &path, &session).await;
    assert!(
        html.contains("&lt;i&gt;李四&lt;/i&gt;") && !html.contains("<i>李四"),
        "{html}"
    );
    assert!(!html.contains("13900000009"), "masked on the page");
    assert_eq!(
        app.count("owners WHERE phone_enc LIKE '%13900000009%'").await,
        0,
        "sealed at rest"
    );
    let unit: Value = app
        .get_json(&format!("/api/v1/staff/units/{}", e.unit), Some(&e.admin))
        .await;
    assert_eq!(unit["owners"].as_array().unwrap().len(), 2);
    // Another community's member: 404, nothing added.
    let svc = outsider(app, &e.admin, "svc9", "service").await;
    let (_, home) = page(app, "/console/", &svc).await;
    let (status, _, _) = post_form(
        app,
        &to,
        &svc,
        &[
            ("csrf", &hidden_csrf(&home)),
            ("name", "王五"),
            ("phone", "13900000010"),
        ],
    )
    .await;
    assert_eq!(status, 404);
    assert_eq!(app.count("owners").await, owners + 1);
}
