//! The staff inbox: what needs each staff member's attention, posted by events (a payment
//! exception now; ticket breaches, failed debits and plan defaults later), marked read by them.
use crate::idx;
use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.create_table(
            Table::create()
                .table("staff_inbox")
                .col(pk_auto("id"))
                .col(integer("staff_id"))
                .col(string("kind"))
                .col(string("title"))
                .col(string("body"))
                .col(string_null("link"))
                // One item per event and recipient, however often the event is posted.
                .col(string("event_key"))
                .col(timestamp_with_time_zone("created_at"))
                .col(timestamp_with_time_zone_null("read_at"))
                .to_owned(),
        )
        .await?;
        m.create_index(idx(
            "ux_staff_inbox_event",
            "staff_inbox",
            &["staff_id", "event_key"],
            true,
        ))
        .await?;
        m.create_index(idx(
            "ix_staff_inbox_unread",
            "staff_inbox",
            &["staff_id", "read_at"],
            false,
        ))
        .await?;
        Ok(())
    }
}
