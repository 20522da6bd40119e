//! Photo uploads (API.md `POST /me/uploads`, `POST /staff/uploads`): kind sniffed from content,
//! 5 MB at most, location metadata stripped, kept in the database; seen by the uploader until a
//! record takes it, then by those who may read that record; the first record is a contact on a
//! unit (a notice delivered in person), which cites the photo's hash in the evidence chain.
use crate::bills::estate;
use crate::helpers::*;
use serde_json::{json, Value};

fn fixture(name: &str) -> Vec<u8> {
    std::fs::read(format!("{}/tests/fixtures/{name}", env!("CARGO_MANIFEST_DIR"))).unwrap()
}

fn contains(hay: &[u8], needle: &[u8]) -> bool {
    hay.windows(needle.len()).any(|w| w == needle)
}

async fn upload(app: &TestApp, path: &str, token: &str, body: Vec<u8>, claimed: &str) -> reqwest::Response {
    app.post_raw(path, Some(token), claimed, body).await
}

#[tokio::test]
async fn photos_are_sniffed_stripped_of_location_and_served_only_to_their_uploader() {
    let e = estate().await;
    let app = &e.app;
    for (name, kind) in [
        ("gps.jpg", "image/jpeg"),
        ("gps.png", "image/png"),
        ("gps.webp", "image/webp"),
    ] {
        // The declared type is ignored: the content says what it is.
        let r = upload(
            app,
            "/api/v1/staff/uploads",
            &e.admin,
            fixture(name),
            "application/octet-stream",
        )
        .await;
        assert_eq!(r.status(), 201, "{name}");
        let u: Value = r.json().await.unwrap();
        assert_eq!(u["content_type"], kind);
        let url = u["url"].as_str().unwrap().to_string();
        assert_eq!(url, format!("/api/v1/staff/uploads/{}", u["id"]));
        let r = app.get(&url, Some(&e.admin)).await;
        assert_eq!(r.status(), 200);
        assert_eq!(r.headers()["content-type"], kind);
        assert_eq!(r.headers()["x-content-type-options"], "nosniff");
        let bytes = r.bytes().await.unwrap();
        assert!(!contains(&bytes, b"WuyeTestCam"), "{name}: camera and GPS EXIF gone");
        assert_eq!(
            wuye::crypto::sha256_hex(&bytes),
            u["sha256"].as_str().unwrap(),
            "{name}: the hash is of what is served"
        );
    }
    // Owners upload too, and see their own only.
    let r = upload(app, "/api/v1/me/uploads", &e.owner, fixture("gps.png"), "image/png").await;
    assert_eq!(r.status(), 201);
    let mine: Value = r.json().await.unwrap();
    assert_eq!(mine["url"], format!("/api/v1/me/uploads/{}", mine["id"]));
    let r = app.get(mine["url"].as_str().unwrap(), Some(&e.owner)).await;
    assert_eq!(r.status(), 200);
    let (other, _) = app.owner_login("openid-someone-else").await;
    assert_error(
        app.get(mine["url"].as_str().unwrap(), Some(&other)).await,
        404,
        "NOT_FOUND",
    )
    .await;
    // Staff do not see an owner's unattached photo, nor another member's.
    assert_error(
        app.get(&format!("/api/v1/staff/uploads/{}", mine["id"]), Some(&e.admin))
            .await,
        404,
        "NOT_FOUND",
    )
    .await;
    let (_, collector) = app
        .staff_member(&e.admin, "collector1", "collector", &[e.community])
        .await;
    assert_error(
        app.get("/api/v1/staff/uploads/1", Some(&collector)).await,
        404,
        "NOT_FOUND",
    )
    .await;
    assert_error(app.get("/api/v1/staff/uploads/1", None).await, 401, "UNAUTHENTICATED").await;
}

#[tokio::test]
async fn anything_but_a_small_image_is_refused_and_nothing_is_stored() {
    let e = estate().await;
    let app = &e.app;
    let before = app.count("uploads").await;
    for (body, claimed) in [
        (b"GIF89a\x01\x00\x01\x00".to_vec(), "image/gif"),
        (
            b"<svg xmlns=\"http://www.w3.org/2000/svg\" onload=\"alert(1)\"/>".to_vec(),
            "image/png",
        ),
        (b"\x89PNG\r\n\x1a\nnot really".to_vec(), "image/png"),
        (Vec::new(), "image/jpeg"),
    ] {
        let r = upload(app, "/api/v1/staff/uploads", &e.admin, body, claimed).await;
        let err = assert_error(r, 422, "VALIDATION_FAILED").await;
        let msg = err["details"]["fields"]["file"].as_str().unwrap();
        assert!(msg.contains("图片"), "{msg}");
    }
    let mut big = fixture("gps.jpg");
    big.resize(5 * 1024 * 1024 + 10, 0);
    let r = upload(app, "/api/v1/me/uploads", &e.owner, big, "image/jpeg").await;
    assert_eq!(r.status(), 413);
    assert_eq!(app.count("uploads").await, before);
}

#[tokio::test]
async fn a_notice_delivered_in_person_cites_its_photo_which_its_readers_may_then_see() {
    let e = estate().await;
    let app = &e.app;
    let (_, collector) = app
        .staff_member(&e.admin, "collector1", "collector", &[e.community])
        .await;
    let other_c = app.community(&e.admin, "C9").await;
    let (_, outsider) = app.staff_member(&e.admin, "collector9", "collector", &[other_c]).await;
    let (_, finance) = app.staff_member(&e.admin, "finance1", "finance", &[e.community]).await;
    let photo: Value = upload(
        app,
        "/api/v1/staff/uploads",
        &collector,
        fixture("gps.jpg"),
        "image/jpeg",
    )
    .await
    .json()
    .await
    .unwrap();
    let id = photo["id"].as_i64().unwrap();
    // Someone else's photo cannot be cited.
    let admins: Value = upload(app, "/api/v1/staff/uploads", &e.admin, fixture("gps.png"), "image/png")
        .await
        .json()
        .await
        .unwrap();
    let contact = |ids: Vec<i64>| {
        json!({"unit_id": e.unit, "kind": "printed_notice", "delivery": "in_person",
               "outcome": "已当面交给业主本人", "upload_ids": ids})
    };
    let r = app
        .post(
            "/api/v1/staff/contacts",
            Some(&collector),
            &contact(vec![admins["id"].as_i64().unwrap()]),
        )
        .await;
    let err = assert_error(r, 422, "VALIDATION_FAILED").await;
    assert!(err["details"]["fields"]["upload_ids"]
        .as_str()
        .unwrap()
        .contains("不是本人上传"));
    // In person needs a photo (or a proof URL).
    let r = app
        .post("/api/v1/staff/contacts", Some(&collector), &contact(vec![]))
        .await;
    assert_error(r, 422, "VALIDATION_FAILED").await;
    let r = app
        .post("/api/v1/staff/contacts", Some(&collector), &contact(vec![id]))
        .await;
    assert_eq!(r.status(), 201, "{}", r.text().await.unwrap());
    // The evidence record cites the photo by id and hash.
    let records: Vec<Value> = app
        .get_json(&format!("/api/v1/staff/units/{}/evidence", e.unit), Some(&e.admin))
        .await;
    let last: Value = serde_json::from_str(records.last().unwrap()["content"].as_str().unwrap()).unwrap();
    assert_eq!(last["photos"][0]["id"], id);
    assert_eq!(last["photos"][0]["sha256"], photo["sha256"]);
    // Used once: it cannot be cited again.
    let r = app
        .post("/api/v1/staff/contacts", Some(&collector), &contact(vec![id]))
        .await;
    assert_error(r, 422, "VALIDATION_FAILED").await;
    // Those who follow up this community see it now; finance and other communities do not.
    let url = format!("/api/v1/staff/uploads/{id}");
    assert_eq!(app.get(&url, Some(&e.admin)).await.status(), 200);
    assert_eq!(app.get(&url, Some(&collector)).await.status(), 200);
    assert_error(app.get(&url, Some(&outsider)).await, 404, "NOT_FOUND").await;
    assert_error(app.get(&url, Some(&finance)).await, 404, "NOT_FOUND").await;
    // The printable case file names the photo and its hash.
    let r = app
        .get(
            &format!("/api/v1/staff/units/{}/case-file.html", e.unit),
            Some(&e.admin),
        )
        .await;
    let html = r.text().await.unwrap();
    assert!(
        html.contains(&format!("图片{id}（SHA-256 {}）", photo["sha256"].as_str().unwrap())),
        "{html}"
    );
}
