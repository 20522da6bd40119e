//! Billing: price history of fee items, the per-bill ledger of principal and late-fee movements,
//! and a record of billing runs.
use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        // A price applies to periods starting on or after `effective_from`; earlier bills never change.
        m.create_table(
            Table::create()
                .table("fee_item_prices")
                .col(pk_auto("id"))
                .col(integer("fee_item_id"))
                .col(string("unit_price"))
                .col(date("effective_from"))
                .col(string("actor"))
                .col(timestamp_with_time_zone("created_at"))
                .foreign_key(
                    ForeignKey::create()
                        .from("fee_item_prices", "fee_item_id")
                        .to("fee_items", "id"),
                )
                .to_owned(),
        )
        .await?;
        m.create_index(
            Index::create()
                .name("ux_fee_item_prices_item_from")
                .table("fee_item_prices")
                .col("fee_item_id")
                .col("effective_from")
                .unique()
                .to_owned(),
        )
        .await?;

        // Every change to what a bill owes, with who, when and why. `principal_fen` > 0 pays
        // principal (< 0 reopens it, e.g. a refund); `late_fee_fen` likewise for late fee.
        m.create_table(
            Table::create()
                .table("bill_entries")
                .col(pk_auto("id"))
                .col(integer("bill_id"))
                .col(string("kind"))
                .col(big_integer("principal_fen"))
                .col(big_integer("late_fee_fen"))
                .col(date("on_date"))
                .col(string("reason"))
                .col(string("actor"))
                .col(string_null("reference"))
                .col(timestamp_with_time_zone("created_at"))
                .foreign_key(ForeignKey::create().from("bill_entries", "bill_id").to("bills", "id"))
                .to_owned(),
        )
        .await?;
        m.create_index(
            Index::create()
                .name("ix_bill_entries_bill")
                .table("bill_entries")
                .col("bill_id")
                .to_owned(),
        )
        .await?;

        m.create_table(
            Table::create()
                .table("billing_runs")
                .col(pk_auto("id"))
                .col(integer("community_id"))
                .col(string("period"))
                .col(integer("bills_created"))
                .col(integer("bills_existing"))
                .col(string("actor"))
                .col(timestamp_with_time_zone("started_at"))
                .col(timestamp_with_time_zone("finished_at"))
                .to_owned(),
        )
        .await?;
        m.create_index(
            Index::create()
                .name("ix_bills_unit")
                .table("bills")
                .col("unit_id")
                .col("due_date")
                .to_owned(),
        )
        .await?;
        Ok(())
    }
}
