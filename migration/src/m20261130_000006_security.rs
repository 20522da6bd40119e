//! Security hardening: a bounded record of rejected gateway notifications (one row per provider ×
//! source × minute × reason with a count and the first sample's hash, size and first bytes), so
//! junk sent to `/notify/*` cannot grow the database without bound.
use crate::idx;
use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.create_table(
            Table::create()
                .table("rejected_notifications")
                .col(pk_auto("id"))
                .col(string("provider"))
                .col(string("source"))
                .col(timestamp_with_time_zone("minute"))
                .col(string("reason"))
                .col(big_integer("count"))
                .col(string("sample_sha256"))
                .col(integer("sample_size"))
                .col(string("sample_head"))
                .col(timestamp_with_time_zone("first_at"))
                .col(timestamp_with_time_zone("last_at"))
                .to_owned(),
        )
        .await?;
        m.create_index(idx(
            "ux_rejected_notifications_slot",
            "rejected_notifications",
            &["provider", "source", "minute", "reason"],
            true,
        ))
        .await?;
        m.create_index(idx(
            "ix_rejected_notifications_minute",
            "rejected_notifications",
            &["minute"],
            false,
        ))
        .await?;
        Ok(())
    }
}
