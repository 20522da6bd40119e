//! Jobs: long work started from the console (billing runs, imports, reminder passes), queued in the
//! database so any replica may run it, with its progress and result for the page that follows it.
use crate::idx;
use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.create_table(
            Table::create()
                .table("jobs")
                .col(pk_auto("id"))
                .col(string("kind"))
                .col(integer_null("community_id"))
                .col(text("params"))
                // An uploaded file, sealed (it may hold phone numbers); cleared when the job ends.
                .col(text_null("payload"))
                .col(string("status"))
                .col(big_integer("done"))
                .col(big_integer("total"))
                .col(text_null("result"))
                .col(integer("created_by"))
                .col(timestamp_with_time_zone("created_at"))
                .col(timestamp_with_time_zone_null("started_at"))
                .col(timestamp_with_time_zone_null("finished_at"))
                // Who runs it and until when: a replica that dies lets the lease lapse and another
                // takes the job up again (every kind is safe to repeat).
                .col(string_null("lease_owner"))
                .col(timestamp_with_time_zone_null("lease_until"))
                .col(integer("attempts"))
                .to_owned(),
        )
        .await?;
        m.create_index(idx("ix_jobs_status", "jobs", &["status", "id"], false))
            .await?;
        Ok(())
    }
}
