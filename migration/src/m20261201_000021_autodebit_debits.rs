//! Auto-debits (issue #16): one row per mandate and bill, from the plan through the pre-debit
//! notice to each try and its result. Unique per (mandate, bill), so any number of scheduler
//! replicas plan, notify and debit a bill once; a try is claimed by a conditional status change.
//! Bank debits go out in batches (银行托收): one row per file sent to the bank.
use crate::idx;
use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.create_table(
            Table::create()
                .table("autodebit_debits")
                .col(pk_auto("id"))
                .col(integer("mandate_id"))
                .col(integer("bill_id"))
                .col(integer("unit_id"))
                .col(integer("community_id"))
                .col(big_integer("amount_fen"))
                .col(date("debit_on"))
                .col(string("status"))
                .col(integer("attempts"))
                .col(date_null("next_try_on"))
                .col(integer_null("payment_id"))
                .col(integer_null("batch_id"))
                .col(timestamp_with_time_zone_null("noticed_at"))
                .col(string_null("notice_channel"))
                .col(text_null("reason"))
                .col(timestamp_with_time_zone("created_at"))
                .col(timestamp_with_time_zone("updated_at"))
                .to_owned(),
        )
        .await?;
        m.create_index(idx(
            "ux_autodebit_debits_mandate_bill",
            "autodebit_debits",
            &["mandate_id", "bill_id"],
            true,
        ))
        .await?;
        m.create_index(idx(
            "ix_autodebit_debits_status",
            "autodebit_debits",
            &["status", "debit_on"],
            false,
        ))
        .await?;
        m.create_index(idx("ix_autodebit_debits_bill", "autodebit_debits", &["bill_id"], false))
            .await?;
        m.create_index(idx(
            "ix_autodebit_debits_batch",
            "autodebit_debits",
            &["batch_id"],
            false,
        ))
        .await?;
        m.create_table(
            Table::create()
                .table("autodebit_bank_batches")
                .col(pk_auto("id"))
                .col(integer("community_id"))
                .col(date("debit_date"))
                .col(integer("rows"))
                .col(big_integer("total_fen"))
                .col(string("created_by"))
                .col(timestamp_with_time_zone("created_at"))
                .to_owned(),
        )
        .await?;
        Ok(())
    }
}
