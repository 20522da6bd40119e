use crate::helpers::*;
use serde_json::{json, Value};

#[tokio::test]
async fn staff_see_masked_phones_and_every_reveal_is_recorded() {
    let app = spawn_app().await;
    let admin = app.admin_token().await;
    let c = app.community(&admin, "C1").await;
    let u = app.unit(&admin, c, "A-1").await;
    let owner = app.owner(&admin, "张三", "13800000001", &[u]).await;
    let (collector_id, collector) = app.staff_member(&admin, "collector1", "collector", &[c]).await;
    let (_, finance) = app.staff_member(&admin, "finance1", "finance", &[c]).await;

    let v: Value = app
        .get_json(&format!("/api/v1/staff/owners/{owner}"), Some(&collector))
        .await;
    assert_eq!(v["phone"], "138****0001");
    let unit: Value = app
        .get_json(&format!("/api/v1/staff/units/{u}"), Some(&collector))
        .await;
    assert!(!unit.to_string().contains("13800000001"));

    let r = app
        .post(
            &format!("/api/v1/staff/owners/{owner}/reveal-phone"),
            Some(&finance),
            &json!({"purpose": "对账"}),
        )
        .await;
    assert_error(r, 403, "FORBIDDEN").await;
    assert_eq!(app.count("pii_access_log").await, 0);

    // Without a purpose nothing is revealed and nothing recorded.
    for body in [json!({}), json!({"purpose": ""})] {
        let r = app
            .post(
                &format!("/api/v1/staff/owners/{owner}/reveal-phone"),
                Some(&collector),
                &body,
            )
            .await;
        let v = assert_error(r, 422, "VALIDATION_FAILED").await;
        assert!(v["details"]["fields"]["purpose"].is_string(), "{v}");
    }
    assert_eq!(app.count("pii_access_log").await, 0);
    app.clock.advance(chrono::Duration::minutes(5));
    let r = app
        .post(
            &format!("/api/v1/staff/owners/{owner}/reveal-phone"),
            Some(&collector),
            &json!({"purpose": "催缴电话"}),
        )
        .await;
    assert_eq!(r.status(), 200);
    assert_eq!(r.json::<Value>().await.unwrap()["phone"], "13800000001");
    let log: Vec<Value> = app
        .get_json(&format!("/api/v1/staff/pii-access-log?owner_id={owner}"), Some(&admin))
        .await;
    assert_eq!(log.len(), 1);
    assert_eq!(log[0]["staff_id"], collector_id);
    assert_eq!(log[0]["owner_id"], owner);
    assert_eq!(log[0]["purpose"], "催缴电话");
    let at = chrono::DateTime::parse_from_rfc3339(log[0]["at"].as_str().unwrap()).unwrap();
    assert_eq!(at, t0() + chrono::Duration::minutes(5));
}

#[tokio::test]
async fn no_phone_number_is_stored_in_clear_anywhere_in_the_database() {
    let app = spawn_app().await;
    let admin = app.admin_token().await;
    let c = app.community(&admin, "C1").await;
    let csv = "building,unit_code,area_m2,owner_name,owner_phone\nA,A-1,50,张三,13812345678\n";
    assert_eq!(
        app.post_raw(
            &format!("/api/v1/staff/imports?community_id={c}"),
            Some(&admin),
            "text/csv",
            csv
        )
        .await
        .status(),
        201
    );
    let u = app.unit(&admin, c, "A-2").await;
    let o = app.owner(&admin, "李四", "13987654321", &[u]).await;
    app.patch(
        &format!("/api/v1/staff/owners/{o}"),
        Some(&admin),
        &json!({"phone": "13711112222"}),
    )
    .await;
    let (token, _) = app.owner_login("openid-a").await;
    app.bind_phone(&token, "13812345678").await;
    app.post(
        &format!("/api/v1/staff/owners/{o}/reveal-phone"),
        Some(&admin),
        &json!({"purpose": "核对"}),
    )
    .await;

    // Two encryptions of one phone differ (fresh nonce), while the blind index matches.
    use sea_orm::EntityTrait;
    let owners = entity::owner::Entity::find().all(&app.db).await.unwrap();
    let account = entity::owner_account::Entity::find()
        .one(&app.db)
        .await
        .unwrap()
        .unwrap();
    let zhang = owners.iter().find(|o| o.name == "张三").unwrap();
    assert_ne!(Some(zhang.phone_enc.clone()), account.phone_enc);
    assert_eq!(Some(zhang.phone_index.clone()), account.phone_index);

    let dump = dump_database(&app).await;
    assert!(dump.len() > 1000, "the dump read real data");
    for phone in ["13812345678", "13987654321", "13711112222", "12345678", "87654321"] {
        assert!(!dump.contains(phone), "{phone} found in clear");
    }
}

/// Every byte the database holds: the SQLite file and its WAL, or every row of every table on PostgreSQL.
async fn dump_database(app: &TestApp) -> String {
    use sea_orm::ConnectionTrait;
    if let Some(path) = wuye::db::sqlite_path(&app.database_url) {
        let _ = app.db.execute_unprepared("PRAGMA wal_checkpoint(FULL)").await;
        let mut bytes = std::fs::read(&path).unwrap();
        bytes.extend(std::fs::read(format!("{path}-wal")).unwrap_or_default());
        return String::from_utf8_lossy(&bytes).into_owned();
    }
    let backend = app.db.get_database_backend();
    let tables = app
        .db
        .query_all_raw(sea_orm::Statement::from_string(
            backend,
            "SELECT tablename FROM pg_tables WHERE schemaname = 'public'",
        ))
        .await
        .unwrap();
    let mut out = String::new();
    for t in tables {
        let name: String = t.try_get("", "tablename").unwrap();
        let rows = app
            .db
            .query_all_raw(sea_orm::Statement::from_string(
                backend,
                format!("SELECT t::text AS r FROM \"{name}\" t"),
            ))
            .await
            .unwrap();
        for r in rows {
            out.push_str(&r.try_get::<String>("", "r").unwrap());
        }
    }
    out
}
