//! Sessions in the database when there is no Redis (the embedded default), so they survive a
//! restart: keyed by the token's SHA-256, never the token.
use crate::idx;
use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.create_table(
            Table::create()
                .table("sessions")
                .col(string("token_hash").primary_key())
                .col(string("subject"))
                .col(integer("subject_id"))
                .col(timestamp_with_time_zone("expires_at"))
                .col(timestamp_with_time_zone("created_at"))
                .to_owned(),
        )
        .await?;
        m.create_index(idx(
            "ix_sessions_subject",
            "sessions",
            &["subject", "subject_id"],
            false,
        ))
        .await?;
        m.create_index(idx("ix_sessions_expires", "sessions", &["expires_at"], false))
            .await?;
        Ok(())
    }
}
