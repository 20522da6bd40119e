use crate::helpers::*;
use serde_json::Value;

#[tokio::test]
async fn every_registered_route_is_in_the_openapi_document() {
    let app = spawn_app().await;
    let doc: Value = app.get_json("/api-docs/openapi.json", None).await;
    let paths = doc["paths"].as_object().expect("paths");
    let routes = wuye::routes::table(true);
    assert!(routes.len() > 25);
    for r in routes {
        let item = paths
            .get(r.path)
            .unwrap_or_else(|| panic!("{} missing from the OpenAPI document", r.path));
        assert!(
            item.get(r.method).is_some(),
            "{} {} missing from the OpenAPI document",
            r.method,
            r.path
        );
    }
    // And nothing documented that is not served.
    let served: Vec<(String, String)> = wuye::routes::table(true)
        .iter()
        .map(|r| (r.method.to_string(), r.path.to_string()))
        .collect();
    for (p, item) in paths {
        for m in item.as_object().unwrap().keys() {
            assert!(
                served.contains(&(m.clone(), p.clone())),
                "{m} {p} documented but not served"
            );
        }
    }
    let ui = app.get("/docs/", None).await;
    assert_eq!(ui.status(), 200);
    assert!(ui.text().await.unwrap().contains("swagger"));
}
