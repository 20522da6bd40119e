//! Append-only audit trail: who changed what, when, and why.
use chrono::{DateTime, Utc};
use entity::audit_log;
use sea_orm::{ActiveModelTrait, ConnectionTrait, DbErr, Set};

/// Records one action. `actor` is like `staff:3`; `detail` is JSON and must hold no clear personal data.
pub async fn record<C: ConnectionTrait>(
    db: &C,
    actor: &str,
    action: &str,
    entity: &str,
    entity_id: i32,
    detail: serde_json::Value,
    at: DateTime<Utc>,
) -> Result<(), DbErr> {
    audit_log::ActiveModel {
        actor: Set(actor.to_string()),
        action: Set(action.to_string()),
        entity: Set(entity.to_string()),
        entity_id: Set(entity_id),
        detail: Set(detail.to_string()),
        at: Set(at),
        ..Default::default()
    }
    .insert(db)
    .await
    .map(|_| ())
}
