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

#[tokio::test]
async fn every_operation_declares_the_errors_it_can_answer() {
    let app = spawn_app().await;
    let doc: Value = app.get_json("/api-docs/openapi.json", None).await;
    let mut checked = 0;
    for (path, item) in doc["paths"].as_object().unwrap() {
        for (method, op) in item.as_object().unwrap() {
            let has = |code: &str| op["responses"].get(code).is_some();
            let secured = op["security"].as_array().is_some_and(|s| !s.is_empty());
            let params = op["parameters"].as_array().cloned().unwrap_or_default();
            let with_input = op.get("requestBody").is_some() || params.iter().any(|p| p["in"] == "query");
            if path.starts_with("/api/") {
                assert!(has("503"), "{method} {path}: 503");
            }
            if secured {
                assert!(has("401") && has("403"), "{method} {path}: 401/403");
            }
            if with_input {
                assert!(has("400") && has("422"), "{method} {path}: 400/422");
            }
            if op.get("requestBody").is_some() {
                assert!(has("413"), "{method} {path}: 413");
            }
            checked += 1;
        }
    }
    assert!(checked > 70);
    // Every reference resolves (GET /me/bills' `status` once pointed at a missing schema).
    let text = doc.to_string();
    for r in text.split("\"$ref\":\"#/components/schemas/").skip(1) {
        let name = r.split('"').next().unwrap();
        assert!(
            doc["components"]["schemas"].get(name).is_some(),
            "missing schema {name}"
        );
    }
}

#[test]
fn no_two_schemas_share_a_name() {
    // utoipa keys components by type name: two `RunRequest`s once made billing runs document the
    // reminder run's body. Every ToSchema type needs its own name (or `#[schema(as = …)]`).
    let mut names = std::collections::BTreeMap::new();
    let mut stack = vec![std::path::PathBuf::from("src")];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                stack.push(path);
                continue;
            }
            let text = std::fs::read_to_string(&path).unwrap();
            let lines: Vec<&str> = text.lines().collect();
            for (i, line) in lines.iter().enumerate() {
                let Some(rest) = line
                    .strip_prefix("pub struct ")
                    .or_else(|| line.strip_prefix("pub enum "))
                else {
                    continue;
                };
                let attrs = lines[i.saturating_sub(4)..i].join("\n");
                if !attrs.contains("ToSchema") {
                    continue;
                }
                let name = attrs
                    .split("#[schema(as = ")
                    .nth(1)
                    .and_then(|r| r.split(')').next())
                    .map(str::to_string)
                    .unwrap_or_else(|| {
                        rest.split(|c: char| !c.is_alphanumeric() && c != '_')
                            .next()
                            .unwrap()
                            .to_string()
                    });
                if let Some(other) = names.insert(name.clone(), path.display().to_string()) {
                    panic!("schema {name} is defined in {other} and {}", path.display());
                }
            }
        }
    }
    assert!(names.len() > 50);
}

#[tokio::test]
async fn the_schemas_state_the_constraints_the_handlers_enforce() {
    let app = spawn_app().await;
    let doc: Value = app.get_json("/api-docs/openapi.json", None).await;
    let schema = |name: &str, field: &str| doc["components"]["schemas"][name]["properties"][field].clone();
    let re = |name: &str, field: &str| regex_of(&schema(name, field));
    // Money: at most two decimals and 10,000,000.00.
    let money = re("AdjustRequest", "principal");
    assert!(money.contains("10000000"), "{money}");
    // Enums, areas, dates, non-empty names, ranges.
    assert!(re("NewPayment", "channel").contains("wechat|alipay"));
    assert!(re("NewUnit", "area_m2").starts_with('^'));
    assert!(re("NewLateFeeTerms", "effective_from").contains("2100"));
    assert!(re("NewOwner", "phone").contains("1[3-9]"));
    assert_eq!(schema("NewOwner", "name")["minLength"], 1);
    assert_eq!(schema("NewFeeItem", "due_day")["maximum"], 31);
    assert_eq!(schema("NewPayment", "bill_ids")["maxItems"], 120);
    let params = doc["paths"]["/api/v1/staff/units"]["get"]["parameters"]
        .as_array()
        .unwrap()
        .clone();
    let page = params.iter().find(|p| p["name"] == "page").unwrap();
    assert_eq!(
        (page["schema"]["minimum"].as_i64(), page["schema"]["maximum"].as_i64()),
        (Some(1), Some(10000))
    );
}

/// A property's pattern, looking through `oneOf`/`type: [.., null]` wrappers.
fn regex_of(v: &Value) -> String {
    if let Some(p) = v["pattern"].as_str() {
        return p.to_string();
    }
    for key in ["oneOf", "anyOf", "allOf"] {
        if let Some(list) = v[key].as_array() {
            for item in list {
                let p = regex_of(item);
                if !p.is_empty() {
                    return p;
                }
            }
        }
    }
    String::new()
}
