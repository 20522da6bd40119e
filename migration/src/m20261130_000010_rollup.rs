//! The collection rollup: every bill's part of the report figures as dated deltas, kept by the
//! ledger in the same transaction as each bill write, so a report over 100,000 units sums a few
//! thousand rows instead of reading millions of bills. A figure as of a day is the sum of the rows
//! dated (`on_date`) by then; `1970-01-01` holds what a bill counts before any of its entries.
use crate::idx;
use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        // Money by community × building × fee item × due date (its month is the bill's period).
        m.create_table(
            Table::create()
                .table("collection_rollup")
                .col(pk_auto("id"))
                .col(integer("community_id"))
                .col(string("building"))
                .col(integer("fee_item_id"))
                .col(date("due_date"))
                .col(date("period_end"))
                .col(date("on_date"))
                .col(big_integer("receivable_fen"))
                .col(big_integer("collected_fen"))
                .col(big_integer("late_fee_fen"))
                .col(big_integer("unpaid_fen"))
                .to_owned(),
        )
        .await?;
        m.create_index(idx(
            "ux_collection_rollup_key",
            "collection_rollup",
            &["community_id", "building", "fee_item_id", "due_date", "on_date"],
            true,
        ))
        .await?;
        m.create_index(idx(
            "ix_collection_rollup_due",
            "collection_rollup",
            &["community_id", "due_date", "on_date"],
            false,
        ))
        .await?;
        // Households billed and fully paid by community × building × fee item (0: all items) × month.
        m.create_table(
            Table::create()
                .table("household_rollup")
                .col(pk_auto("id"))
                .col(integer("community_id"))
                .col(string("building"))
                .col(integer("fee_item_id"))
                .col(date("month"))
                .col(date("on_date"))
                .col(big_integer("billed"))
                .col(big_integer("paid"))
                .to_owned(),
        )
        .await?;
        m.create_index(idx(
            "ux_household_rollup_key",
            "household_rollup",
            &["community_id", "month", "building", "fee_item_id", "on_date"],
            true,
        ))
        .await?;
        // Of bills in arrears at the start of `year`: principal recovered and waived since.
        m.create_table(
            Table::create()
                .table("clearance_rollup")
                .col(pk_auto("id"))
                .col(integer("community_id"))
                .col(string("building"))
                .col(integer("fee_item_id"))
                .col(integer("year"))
                .col(date("on_date"))
                .col(big_integer("recovered_fen"))
                .col(big_integer("waived_fen"))
                .to_owned(),
        )
        .await?;
        m.create_index(idx(
            "ux_clearance_rollup_key",
            "clearance_rollup",
            &["community_id", "year", "building", "fee_item_id", "on_date"],
            true,
        ))
        .await?;
        Ok(())
    }
}
