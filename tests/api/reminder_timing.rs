//! The best hour to remind (issue #18): an owner with enough paid bills is reminded at the hour
//! they usually pay in (never a quiet one, never more than a day later); others when due; and a
//! report compares how often each kind of reminder was followed by a payment within 3 days.
use crate::reminders::estate;
use chrono::Duration;
use serde_json::{json, Value};

#[tokio::test]
async fn an_owner_with_a_paying_habit_is_reminded_at_their_hour_and_the_report_compares() {
    let mut e = estate().await;
    let (habit, _) = e.household("T-1", "13900000061").await;
    let (fresh, _) = e.household("T-2", "13900000062").await;
    // Five bills the first owner paid, each at about 20:10 Shanghai time (12:10 UTC).
    for (n, days) in [200, 170, 140, 110, 80].into_iter().enumerate() {
        let id = e.bill_due(habit, days).await;
        e.exec(&format!(
            "UPDATE bills SET status = 'paid', paid_principal_fen = principal_fen, \
             paid_at = '2026-0{}-0{} 12:1{}:00+00:00' WHERE id = {id}",
            n + 3,
            n + 1,
            n
        ))
        .await;
    }
    let late = e.bill_due(habit, 40).await;
    e.bill_due(fresh, 40).await;
    // At 10:00 the owner without a habit is reminded at once; the other waits for 20:00.
    let first = e.run().await;
    assert_eq!(first["sent"], 1, "{first}");
    let rows: Vec<(i64, Option<i32>, chrono::DateTime<chrono::Utc>)> = {
        use sea_orm::EntityTrait;
        entity::reminder::Entity::find()
            .all(&e.app.db)
            .await
            .unwrap()
            .into_iter()
            .map(|r| (i64::from(r.owner_id), r.best_hour, r.not_before))
            .collect()
    };
    let timed = rows.iter().find(|r| r.1.is_some()).expect("a timed reminder");
    assert_eq!(timed.1, Some(20));
    assert_eq!(
        timed.2.to_rfc3339(),
        "2026-10-20T12:00:00+00:00",
        "20:00 Shanghai, the same day"
    );
    assert_eq!(rows.iter().filter(|r| r.1.is_none()).count(), 1);
    // At 20:00 it goes out; the owner pays the next day, within 3 days of it.
    e.advance(Duration::hours(10)).await;
    let second = e.run().await;
    assert_eq!(second["sent"], 1, "{second}");
    e.advance(Duration::hours(14)).await;
    let r = e
        .app
        .post(
            "/api/v1/staff/payments/counter",
            Some(&e.admin),
            &json!({"bill_ids": [late], "method": "cash", "reference": "收据9001"}),
        )
        .await;
    assert_eq!(r.status(), 201, "{}", r.text().await.unwrap_or_default());
    let report: Value = e
        .app
        .get_json(
            &format!("/api/v1/staff/reports/reminder-timing?community_id={}", e.community),
            Some(&e.admin),
        )
        .await;
    assert_eq!(
        report["timed"],
        json!({"sent": 1, "paid_within_3_days": 1, "rate": "1.0000"}),
        "{report}"
    );
    assert_eq!(
        report["untimed"],
        json!({"sent": 1, "paid_within_3_days": 0, "rate": "0.0000"}),
        "{report}"
    );
}
