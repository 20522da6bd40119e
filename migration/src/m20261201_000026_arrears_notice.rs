//! The public arrears notice (issue #18, 欠费公示): a community's legal review, which an admin sets
//! before any notice can be printed there (and may withdraw), and a record of every print — who,
//! when, how many units, what total, the SHA-256 of what was printed.
use crate::idx;
use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.create_table(
            Table::create()
                .table("arrears_notice_reviews")
                .col(integer("community_id").primary_key())
                .col(string("reviewed_by"))
                .col(timestamp_with_time_zone("reviewed_at"))
                .col(text("note"))
                .to_owned(),
        )
        .await?;
        m.create_table(
            Table::create()
                .table("arrears_notice_prints")
                .col(pk_auto("id"))
                .col(integer("community_id"))
                .col(string("printed_by"))
                .col(timestamp_with_time_zone("printed_at"))
                .col(integer("units"))
                .col(big_integer("total_fen"))
                .col(string("content_sha256"))
                .to_owned(),
        )
        .await?;
        m.create_index(idx(
            "ix_arrears_notice_prints_community",
            "arrears_notice_prints",
            &["community_id", "id"],
            false,
        ))
        .await?;
        Ok(())
    }
}
