//! The collection rollup the ledger keeps beside every bill write: it equals a recomputation from
//! the bills after every kind of write, the reports read from it agree with the full computation
//! over the bills, concurrent writes to one unit never double-count its household, and a database
//! whose bills predate the rollup gets it built at start-up.
use crate::bills::{fee_item, run};
use crate::helpers::*;
use crate::reports::{books, post_ok, Books};
use chrono::NaiveDate;
use serde_json::{json, Value};
use wuye::domain::period::Period;
use wuye::domain::reports::{self, Report};
use wuye::domain::Fen;
use wuye::services::billing::rollup;

/// The books of `reports`, plus a parking fee for unit A-101, 2025-12 arrears for every unit (so
/// the clearance has something to recover), a late-fee waiver and an arrears payment today.
async fn busy_books() -> Books {
    let b = books().await;
    let (app, admin, c1) = (&b.app, &b.admin, b.c1);
    let u1 = unit_id(app, admin, c1, "A-101").await;
    fee_item(
        app,
        admin,
        json!({"community_id": c1, "name": "车位管理费", "kind": "fixed", "unit_price": "150",
        "cycle": "monthly", "due_day": 10, "applies_to": {"unit_ids": [u1]}}),
    )
    .await;
    app.billing_run(admin, c1, "2025-12", "2025-11-20").await;
    run(app, admin, c1, "2026-10").await;
    let dec1 = bills_of(app, admin, c1, u1, "2025-12").await[0];
    post_ok(
        app,
        admin,
        &format!("/api/v1/staff/bills/{dec1}/waive-late-fee"),
        json!({"reason": "困难减免"}),
    )
    .await;
    post_ok(
        app,
        admin,
        "/api/v1/staff/payments/counter",
        json!({"bill_ids": [dec1], "method": "cash", "reference": "收据0002"}),
    )
    .await;
    b
}

/// A unit's bills of a period, property fee first.
async fn bills_of(app: &TestApp, admin: &str, community: i64, unit: i64, period: &str) -> Vec<i64> {
    let bills: Value = app
        .get_json(
            &format!("/api/v1/staff/bills?community_id={community}&unit_id={unit}&period={period}"),
            Some(admin),
        )
        .await;
    let mut found: Vec<(i64, i64)> = bills["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|x| x["period"] == period)
        .map(|x| (x["fee_item_id"].as_i64().unwrap(), x["id"].as_i64().unwrap()))
        .collect();
    found.sort();
    found.into_iter().map(|(_, id)| id).collect()
}

async fn unit_id(app: &TestApp, admin: &str, community: i64, code: &str) -> i64 {
    let units: Value = app
        .get_json(
            &format!("/api/v1/staff/units?community_id={community}&page_size=100"),
            Some(admin),
        )
        .await;
    let list = units["items"]
        .as_array()
        .or(units.as_array())
        .cloned()
        .unwrap_or_default();
    list.iter()
        .find(|u| u["code"] == code)
        .unwrap_or_else(|| panic!("no unit {code}: {units}"))["id"]
        .as_i64()
        .unwrap()
}

pub(crate) async fn assert_rollup_is_recomputation(app: &TestApp, community: i64) {
    let c = i32::try_from(community).unwrap();
    let stored = rollup::stored(&app.db, c).await.unwrap();
    let recomputed = rollup::recomputed(&app.db, c).await.unwrap();
    assert!(!stored.is_empty());
    assert_eq!(stored, recomputed);
}

/// The full computation over every bill (the reference the rollup must agree with).
async fn full_report(app: &TestApp, community: i64, period: &str, as_of: NaiveDate) -> Report {
    use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};
    let c = i32::try_from(community).unwrap();
    let buildings = entity::unit::Entity::find()
        .filter(entity::unit::Column::CommunityId.eq(c))
        .all(&app.db)
        .await
        .unwrap()
        .into_iter()
        .map(|u| (u.id, u.building))
        .collect();
    let bills = entity::bill::Entity::find()
        .filter(entity::bill::Column::CommunityId.eq(c))
        .all(&app.db)
        .await
        .unwrap();
    let facts = rollup::facts(&app.db, bills, &buildings).await.unwrap();
    reports::report(&facts, Period::parse(period).unwrap(), as_of)
}

fn yuan(fen: i64) -> Value {
    json!(Fen(fen).to_yuan_string())
}

fn rate(r: Option<rust_decimal::Decimal>) -> Value {
    r.map_or(Value::Null, |d| json!(format!("{d:.4}")))
}

#[tokio::test]
async fn the_rollup_equals_a_recomputation_after_every_kind_of_write() {
    let b = busy_books().await;
    assert_rollup_is_recomputation(&b.app, b.c1).await;
    // Every report figure, for several periods and days, as the full computation gives it.
    for (period, as_of) in [
        ("2026-10", "2026-10-20"),
        ("2026-10", "2026-10-01"),
        ("2026-09", "2026-09-30"),
        ("2025-12", "2026-10-20"),
        ("2026-11", "2026-12-31"),
        ("2026-10", "2025-06-01"),
    ] {
        let day = NaiveDate::parse_from_str(as_of, "%Y-%m-%d").unwrap();
        let want = full_report(&b.app, b.c1, period, day).await;
        let got: Value = b
            .app
            .get_json(
                &format!(
                    "/api/v1/staff/reports/collection?community_id={}&period={period}&as_of={as_of}",
                    b.c1
                ),
                Some(&b.admin),
            )
            .await;
        let t = &want.total;
        assert_eq!(
            (
                &got["receivable"],
                &got["collected"],
                &got["late_fee_collected"],
                &got["households_billed"],
                &got["households_paid"]
            ),
            (
                &yuan(t.receivable_fen),
                &yuan(t.collected_fen),
                &yuan(t.late_fee_collected_fen),
                &json!(t.households_billed),
                &json!(t.households_paid)
            ),
            "{period} as of {as_of}"
        );
        let c = &want.clearance;
        assert_eq!(
            (
                &got["arrears_at_year_start"],
                &got["arrears_recovered"],
                &got["arrears_waived"]
            ),
            (
                &yuan(c.arrears_at_year_start_fen),
                &yuan(c.recovered_fen),
                &yuan(c.waived_fen)
            ),
            "{period} as of {as_of}"
        );
        let a = &want.aging;
        assert_eq!(
            got["aging"],
            json!({"0-30": yuan(a.d0_30), "31-90": yuan(a.d31_90), "91-180": yuan(a.d91_180), "181+": yuan(a.d181_plus)}),
            "{period} as of {as_of}"
        );
        let trend: Vec<Value> = want.trend.iter().map(|p| rate(p.collection_rate)).collect();
        let got_trend: Vec<Value> = got["trend"]
            .as_array()
            .unwrap()
            .iter()
            .map(|p| p["collection_rate"].clone())
            .collect();
        assert_eq!(got_trend, trend, "{period} as of {as_of}");
        for ((_, building), f) in &want.by_building {
            let row = got["by_building"]
                .as_array()
                .unwrap()
                .iter()
                .find(|r| r["building"] == building.as_str())
                .unwrap_or_else(|| panic!("{building} missing in {period} as of {as_of}"));
            assert_eq!(
                (&row["receivable"], &row["collected"], &row["households_paid"]),
                (
                    &yuan(f.receivable_fen),
                    &yuan(f.collected_fen),
                    &json!(f.households_paid)
                )
            );
        }
        for (item, f) in &want.by_fee_item {
            let row = got["by_fee_item"]
                .as_array()
                .unwrap()
                .iter()
                .find(|r| r["fee_item_id"] == *item)
                .unwrap();
            assert_eq!(
                (&row["receivable"], &row["households_billed"], &row["households_paid"]),
                (
                    &yuan(f.receivable_fen),
                    &json!(f.households_billed),
                    &json!(f.households_paid)
                )
            );
        }
    }
    // The books hold what the assertions above lean on: a recovery and a waiver this year.
    let r = full_report(&b.app, b.c1, "2026-10", NaiveDate::from_ymd_opt(2026, 10, 20).unwrap()).await;
    assert!(r.clearance.recovered_fen > 0 && r.clearance.arrears_at_year_start_fen > 0);
    assert_eq!(r.by_fee_item.len(), 2);
}

#[tokio::test]
async fn concurrent_payments_of_one_units_bills_count_its_household_once() {
    let b = busy_books().await;
    let (app, admin, c1) = (&b.app, &b.admin, b.c1);
    let u1 = unit_id(app, admin, c1, "A-101").await;
    run(app, admin, c1, "2026-11").await;
    // Both of A-101's November bills (property and parking), paid at two counters at once.
    let nov = bills_of(app, admin, c1, u1, "2026-11").await;
    assert_eq!(nov.len(), 2);
    let pay = |bill: i64| async move {
        app.post(
            "/api/v1/staff/payments/counter",
            Some(admin),
            &json!({"bill_ids": [bill], "method": "cash", "reference": format!("收据{bill}")}),
        )
        .await
        .status()
        .as_u16()
    };
    let (s1, s2) = tokio::join!(pay(nov[0]), pay(nov[1]));
    assert_eq!((s1, s2), (201, 201));
    let r: Value = app
        .get_json(
            &format!("/api/v1/staff/reports/collection?community_id={c1}&period=2026-11&as_of=2026-11-30"),
            Some(admin),
        )
        .await;
    assert_eq!((&r["households_billed"], &r["households_paid"]), (&json!(3), &json!(1)));
    assert_rollup_is_recomputation(app, c1).await;
}

#[tokio::test]
async fn a_billed_units_building_cannot_change_and_an_unbilled_ones_can() {
    let b = books().await;
    let (app, admin, c1) = (&b.app, &b.admin, b.c1);
    let billed = unit_id(app, admin, c1, "A-101").await;
    let r = app
        .patch(
            &format!("/api/v1/staff/units/{billed}"),
            Some(admin),
            &json!({"building": "C"}),
        )
        .await;
    let body = assert_error(r, 409, "UNIT_HAS_BILLS").await;
    assert!(body["message"].as_str().unwrap().contains("楼栋"));
    let fresh = app.unit(admin, c1, "A-999").await;
    let r = app
        .patch(
            &format!("/api/v1/staff/units/{fresh}"),
            Some(admin),
            &json!({"building": "C"}),
        )
        .await;
    assert_eq!(r.status(), 200);
    // Same building spelled again is no change.
    let r = app
        .patch(
            &format!("/api/v1/staff/units/{billed}"),
            Some(admin),
            &json!({"building": "A", "area_m2": "89.50"}),
        )
        .await;
    assert_eq!(r.status(), 200, "{}", r.text().await.unwrap());
    assert_rollup_is_recomputation(app, c1).await;
}

#[tokio::test]
async fn bills_from_before_the_rollup_get_it_built_at_start_up() {
    use sea_orm::ConnectionTrait;
    let b = busy_books().await;
    for t in ["collection_rollup", "household_rollup", "clearance_rollup"] {
        b.app.db.execute_unprepared(&format!("DELETE FROM {t}")).await.unwrap();
    }
    let emptied = rollup::stored(&b.app.db, i32::try_from(b.c1).unwrap()).await.unwrap();
    assert!(emptied.is_empty());
    wuye::db::migrate(&b.app.db).await.unwrap();
    assert_rollup_is_recomputation(&b.app, b.c1).await;
    // A second start finds it built and leaves it alone (no doubled sums).
    wuye::db::migrate(&b.app.db).await.unwrap();
    assert_rollup_is_recomputation(&b.app, b.c1).await;
}
