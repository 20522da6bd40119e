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

async fn upload(app: &TestApp, admin: &str, c: i64, content_type: &str, body: Vec<u8>) -> reqwest::Response {
    app.post_raw(
        &format!("/api/v1/staff/imports?community_id={c}"),
        Some(admin),
        content_type,
        body,
    )
    .await
}

const XLSX: &str = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet";

/// A workbook as an office makes one: numbers typed as numbers (area, phone).
fn workbook(rows: &[(&str, &str, f64, &str, f64)]) -> Vec<u8> {
    let mut book = rust_xlsxwriter::Workbook::new();
    let sheet = book.add_worksheet();
    for (i, h) in ["楼栋", "房号", "建筑面积", "业主姓名", "业主手机号"]
        .iter()
        .enumerate()
    {
        sheet.write_string(0, i as u16, *h).unwrap();
    }
    for (r, (b, code, area, name, phone)) in rows.iter().enumerate() {
        let r = r as u32 + 1;
        sheet.write_string(r, 0, *b).unwrap();
        sheet.write_string(r, 1, *code).unwrap();
        sheet.write_number(r, 2, *area).unwrap();
        sheet.write_string(r, 3, *name).unwrap();
        sheet.write_number(r, 4, *phone).unwrap();
    }
    book.save_to_buffer().unwrap()
}

#[tokio::test]
async fn offices_upload_gbk_csv_bom_csv_and_excel() {
    let app = spawn_app().await;
    let admin = app.admin_token().await;
    let c = app.community(&admin, "C1").await;
    // GBK, as Excel on Chinese Windows saves "CSV".
    let text = format!("{HEADER}A,A-1-101,89.50,张三,13800000001\r\n");
    let gbk = encoding_rs::GBK.encode(&text).0.into_owned();
    let r = upload(&app, &admin, c, "text/csv", gbk).await;
    assert_eq!(r.status(), 201, "{}", r.text().await.unwrap());
    // UTF-8 with a BOM.
    let mut bom = "\u{feff}".as_bytes().to_vec();
    bom.extend_from_slice(format!("{HEADER}A,A-1-102,90,李四,13800000002\n").as_bytes());
    assert_eq!(upload(&app, &admin, c, "text/csv", bom).await.status(), 201);
    // Excel with numbers in number cells and Chinese headers.
    let book = workbook(&[
        ("B", "B-1-101", 60.25, "王五", 13800000003.0),
        ("B", "B-1-102", 75.5, "赵六", 13800000004.0),
    ]);
    let r = upload(&app, &admin, c, XLSX, book).await;
    assert_eq!(r.status(), 201, "{}", r.text().await.unwrap());
    assert_eq!(r.json::<Value>().await.unwrap()["units_created"], 2);
    let units: Value = app
        .get_json(
            &format!("/api/v1/staff/units?community_id={c}&building=B"),
            Some(&admin),
        )
        .await;
    let areas: Vec<&str> = units["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|u| u["area_m2"].as_str().unwrap())
        .collect();
    assert_eq!(areas, ["60.25", "75.50"]);
    let owners: Value = app
        .get_json(
            &format!("/api/v1/staff/owners?community_id={c}&phone=13800000004"),
            Some(&admin),
        )
        .await;
    assert_eq!(owners["items"][0]["name"], "赵六");
    // A bad Excel row rejects the whole workbook, by row and column, and imports nothing.
    let before = app.count("units").await;
    let book = workbook(&[
        ("C", "C-1-101", 80.0, "钱七", 13800000005.0),
        ("C", "C-1-102", -3.0, "孙八", 12345.0),
    ]);
    let v = assert_error(upload(&app, &admin, c, XLSX, book).await, 422, "IMPORT_REJECTED").await;
    let cells: Vec<(i64, String)> = v["details"]["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| (e["row"].as_i64().unwrap(), e["column"].as_str().unwrap().to_string()))
        .collect();
    assert_eq!(cells, [(3, "area_m2".to_string()), (3, "owner_phone".to_string())]);
    assert_eq!(app.count("units").await, before);
    // Junk that is neither.
    let v = assert_error(
        upload(&app, &admin, c, "text/csv", vec![0xff, 0xfe, 0x00, 0x81]).await,
        422,
        "IMPORT_REJECTED",
    )
    .await;
    assert_eq!(v["details"]["errors"][0]["column"], "file");
}

#[tokio::test]
async fn the_template_downloads_as_csv_with_bom_or_as_a_workbook() {
    use calamine::Reader;
    let app = spawn_app().await;
    let admin = app.admin_token().await;
    let r = app.get("/api/v1/staff/imports/template", Some(&admin)).await;
    assert_eq!(r.status(), 200);
    assert!(r.headers()["content-type"].to_str().unwrap().starts_with("text/csv"));
    assert!(r.headers()["content-disposition"]
        .to_str()
        .unwrap()
        .contains("wuye-import.csv"));
    let body = r.bytes().await.unwrap();
    assert!(body.starts_with("\u{feff}building,unit_code,area_m2,owner_name,owner_phone".as_bytes()));
    let r = app
        .get("/api/v1/staff/imports/template?format=xlsx", Some(&admin))
        .await;
    assert_eq!(r.headers()["content-type"], XLSX);
    let bytes = r.bytes().await.unwrap().to_vec();
    let mut book = calamine::Xlsx::new(std::io::Cursor::new(bytes)).unwrap();
    let sheet = book.worksheet_range_at(0).unwrap().unwrap();
    let header: Vec<String> = sheet.rows().next().unwrap().iter().map(|c| c.to_string()).collect();
    assert_eq!(
        header,
        ["building", "unit_code", "area_m2", "owner_name", "owner_phone"]
    );
    let v = assert_error(
        app.get("/api/v1/staff/imports/template?format=pdf", Some(&admin)).await,
        422,
        "VALIDATION_FAILED",
    )
    .await;
    assert!(v["details"]["fields"]["format"].is_string());
}
