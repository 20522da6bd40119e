//! Refunds and reconciliation: a refund per request (manual or automatic for double payments),
//! what each payment line actually credited, and when an order was last reconciled.
use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.create_table(
            Table::create()
                .table("refunds")
                .col(pk_auto("id"))
                .col(integer("payment_id"))
                .col(string_uniq("out_refund_no"))
                .col(big_integer("amount_fen"))
                .col(string("reason"))
                .col(string("status"))
                .col(boolean("automatic"))
                .col(boolean("reopens_bills"))
                .col(string("actor"))
                .col(string_null("gateway_refund_id"))
                .col(timestamp_with_time_zone("created_at"))
                .col(timestamp_with_time_zone_null("finished_at"))
                .foreign_key(ForeignKey::create().from("refunds", "payment_id").to("payments", "id"))
                .to_owned(),
        )
        .await?;
        m.create_index(
            Index::create()
                .name("ix_refunds_payment")
                .table("refunds")
                .col("payment_id")
                .to_owned(),
        )
        .await?;
        // Only nullable columns are added: SQLite cannot alter columns.
        m.alter_table(
            Table::alter()
                .table("payments")
                .add_column(timestamp_with_time_zone_null("reconciled_at"))
                .to_owned(),
        )
        .await?;
        m.alter_table(
            Table::alter()
                .table("payment_lines")
                .add_column(big_integer_null("credited_fen"))
                .to_owned(),
        )
        .await?;
        Ok(())
    }
}
