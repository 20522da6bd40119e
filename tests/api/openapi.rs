use crate::helpers::*;
use serde_json::Value;

#[tokio::test]
async fn every_registered_route_is_in_the_openapi_document() {
    let app = spawn_app().await;
    let doc: Value = app.get("/api-docs/openapi.json", None).await.json().await.unwrap();
    let paths = doc["paths"].as_object().expect("paths");
    let routes = wuye::routes::table(true);
    assert!(routes.len() > 25);
    for r in routes {
        let item = paths.get(r.path).unwrap_or_else(|| panic!("{} missing from the OpenAPI document", r.path));
        assert!(item.get(r.method).is_some(), "{} {} missing from the OpenAPI document", r.method, r.path);
    }
    let ui = app.get("/docs/", None).await;
    assert_eq!(ui.status(), 200);
    assert!(ui.text().await.unwrap().contains("swagger"));
}
