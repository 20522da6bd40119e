//! Truthful terms and dates: late-fee terms with an effective date (a community's row keeps the
//! first terms; each change is a row here, never retroactive), and each bill's issue date and the
//! nominal due date it had before `billing.min_notice_days` moved it.
use crate::idx;
use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.create_table(
            Table::create()
                .table("late_fee_terms")
                .col(pk_auto("id"))
                .col(integer("community_id"))
                .col(string("daily_rate"))
                .col(integer("grace_days"))
                .col(string("cap_ratio"))
                .col(date("effective_from"))
                .col(string("created_by"))
                .col(timestamp_with_time_zone("created_at"))
                .foreign_key(
                    ForeignKey::create()
                        .from("late_fee_terms", "community_id")
                        .to("communities", "id"),
                )
                .to_owned(),
        )
        .await?;
        m.create_index(idx(
            "ix_late_fee_terms_community",
            "late_fee_terms",
            &["community_id", "effective_from"],
            false,
        ))
        .await?;
        // Only nullable columns are added: SQLite cannot alter columns. Bills issued before this
        // migration keep their due dates and have no issue date on record.
        m.alter_table(
            Table::alter()
                .table("bills")
                .add_column(date_null("issued_on"))
                .to_owned(),
        )
        .await?;
        m.alter_table(
            Table::alter()
                .table("bills")
                .add_column(date_null("nominal_due_date"))
                .to_owned(),
        )
        .await?;
        Ok(())
    }
}
