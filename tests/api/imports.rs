use crate::helpers::*;
use serde_json::Value;

const HEADER: &str = "building,unit_code,area_m2,owner_name,owner_phone\n";

#[tokio::test]
async fn a_good_file_imports_units_co_owners_and_multi_unit_owners() {
    let app = spawn_app().await;
    let admin = app.admin_token().await;
    let c = app.community(&admin, "C1").await;
    let csv = format!(
        "{HEADER}A,A-1-101,89.50,张三,13800000001\nA,A-1-101,89.50,张太太,13800000002\nA,A-1-102,120,张三,13800000001\nB,B-1-101,60.25,李四,13800000003\n"
    );
    let r = app
        .post_raw(
            &format!("/api/v1/staff/imports?community_id={c}"),
            Some(&admin),
            "text/csv",
            csv,
        )
        .await;
    assert_eq!(r.status(), 201);
    let v: Value = r.json().await.unwrap();
    assert_eq!(v["units_created"], 3);
    assert_eq!(v["owners_created"], 3);
    assert_eq!(app.count("unit_owners").await, 4);

    let (token, _) = app.owner_login("openid-zhang").await;
    let bound = app.bind_phone(&token, "13800000001").await;
    assert_eq!(bound["units"].as_array().unwrap().len(), 2);
}

#[tokio::test]
async fn one_bad_row_rejects_the_whole_file_naming_row_and_column() {
    let app = spawn_app().await;
    let admin = app.admin_token().await;
    let c = app.community(&admin, "C1").await;
    let csv = format!(
        "{HEADER}A,A-1-101,89.50,张三,13800000001\nA,A-1-102,89.505,李四,13800000002\nA,A-1-103,70,王五,13800000003\n"
    );
    let r = app
        .post_raw(
            &format!("/api/v1/staff/imports?community_id={c}"),
            Some(&admin),
            "text/csv",
            csv,
        )
        .await;
    let v = assert_error(r, 422, "IMPORT_REJECTED").await;
    let errors = v["details"]["errors"].as_array().unwrap();
    assert_eq!(errors.len(), 1);
    assert_eq!(errors[0]["row"], 3);
    assert_eq!(errors[0]["column"], "area_m2");
    assert_eq!(app.count("units").await, 0);
    assert_eq!(app.count("owners").await, 0);

    // An existing unit code is also a row error.
    app.unit(&admin, c, "A-1-101").await;
    let csv = format!("{HEADER}A,A-1-101,89.50,张三,13800000001\n");
    let r = app
        .post_raw(
            &format!("/api/v1/staff/imports?community_id={c}"),
            Some(&admin),
            "text/csv",
            csv,
        )
        .await;
    let v = assert_error(r, 422, "IMPORT_REJECTED").await;
    assert_eq!(v["details"]["errors"][0]["column"], "unit_code");
    assert_eq!(app.count("owners").await, 0);

    let r = app
        .post_raw(
            &format!("/api/v1/staff/imports?community_id={c}"),
            Some(&admin),
            "text/csv",
            "name,phone\n".to_string(),
        )
        .await;
    let v = assert_error(r, 422, "IMPORT_REJECTED").await;
    assert_eq!(v["details"]["errors"][0]["row"], 1);
}

#[tokio::test]
async fn an_oversize_file_is_refused_with_413() {
    let app = spawn_app_with(TestOptions {
        overrides: vec![("server.import_limit_bytes", "1024".into())],
        ..Default::default()
    })
    .await;
    let admin = app.admin_token().await;
    let c = app.community(&admin, "C1").await;
    let mut csv = HEADER.to_string();
    for i in 0..100 {
        csv.push_str(&format!("A,A-{i},50,某某,13800000001\n"));
    }
    let r = app
        .post_raw(
            &format!("/api/v1/staff/imports?community_id={c}"),
            Some(&admin),
            "text/csv",
            csv,
        )
        .await;
    assert_error(r, 413, "PAYLOAD_TOO_LARGE").await;
    assert_eq!(app.count("units").await, 0);
}
