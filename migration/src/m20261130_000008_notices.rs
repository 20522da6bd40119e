//! Notices that say only what is true: a printed notice has an identity (number, mini-program code
//! scene, a snapshot of its bills and amounts), a hold can end early, and communities switch the
//! ways out (points, installments, hardship help, disputes, auto-debit) they offer.
use crate::idx;
use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.create_table(
            Table::create()
                .table("notices")
                .col(pk_auto("id"))
                .col(string_uniq("number"))
                .col(string_uniq("scene"))
                .col(integer("community_id"))
                .col(integer("unit_id"))
                .col(integer("owner_id"))
                .col(integer("reminder_id"))
                .col(string("stage"))
                .col(text("snapshot"))
                .col(string_null("code_png"))
                .col(timestamp_with_time_zone("created_at"))
                .foreign_key(
                    ForeignKey::create()
                        .from("notices", "reminder_id")
                        .to("reminders", "id"),
                )
                .to_owned(),
        )
        .await?;
        m.create_index(idx(
            "ux_notices_reminder_unit",
            "notices",
            &["reminder_id", "unit_id"],
            true,
        ))
        .await?;
        // Only nullable columns are added: SQLite cannot alter columns.
        m.alter_table(
            Table::alter()
                .table("staff_tasks")
                .add_column(integer_null("notice_id"))
                .to_owned(),
        )
        .await?;
        for col in [
            timestamp_with_time_zone_null("ended_at"),
            string_null("ended_by"),
            string_null("end_reason"),
        ] {
            let mut col = col;
            m.alter_table(Table::alter().table("collection_holds").add_column(&mut col).to_owned())
                .await?;
        }
        m.alter_table(
            Table::alter()
                .table("communities")
                .add_column(text_null("features"))
                .to_owned(),
        )
        .await?;
        Ok(())
    }
}
