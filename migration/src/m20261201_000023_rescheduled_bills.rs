//! Accepted installment plans in the ledger (issue #17): an instalment bill names its plan and its
//! place in it, so a unit may hold an instalment bill beside the ordinary bill of the same fee
//! item and month (the unique key now includes the plan: 0 for every ordinary bill); a ledger
//! entry may move principal for late-fee purposes on a day other than its own (instalments paid
//! before a plan defaulted count from the day they were paid); a plan records the local day it
//! was accepted.
use crate::idx;
use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        // NOT NULL with a constant default is an ADD COLUMN SQLite accepts.
        m.alter_table(
            Table::alter()
                .table("bills")
                .add_column(integer("installment_plan_id").default(0))
                .to_owned(),
        )
        .await?;
        m.alter_table(
            Table::alter()
                .table("bills")
                .add_column(integer_null("installment_seq"))
                .to_owned(),
        )
        .await?;
        m.drop_index(
            Index::drop()
                .name("ux_bills_unit_item_period")
                .table("bills")
                .to_owned(),
        )
        .await?;
        m.create_index(idx(
            "ux_bills_unit_item_period_plan",
            "bills",
            &["unit_id", "fee_item_id", "period", "installment_plan_id"],
            true,
        ))
        .await?;
        m.alter_table(
            Table::alter()
                .table("bill_entries")
                .add_column(date_null("effective_on"))
                .to_owned(),
        )
        .await?;
        m.alter_table(
            Table::alter()
                .table("installment_plans")
                .add_column(date_null("accepted_on"))
                .to_owned(),
        )
        .await?;
        m.create_index(idx(
            "ix_bills_installment_plan",
            "bills",
            &["installment_plan_id"],
            false,
        ))
        .await?;
        Ok(())
    }
}
