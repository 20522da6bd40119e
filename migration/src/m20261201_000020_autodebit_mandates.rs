//! Auto-debit mandates (issue #16): an owner's standing authorisation to debit chosen units' bills
//! through a WeChat Pay contract, an Alipay agreement or a bank account. Bank details are personal
//! data: the account number and holder are stored encrypted, the number also as a blind index and
//! its last four digits. A unit has at most one live mandate: `live_unit_id` holds the unit id while
//! the mandate is pending, active or suspended and NULL after, under a unique index (NULLs never
//! collide on either backend).
use crate::idx;
use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.create_table(
            Table::create()
                .table("autodebit_mandates")
                .col(pk_auto("id"))
                .col(integer("account_id"))
                .col(string("channel"))
                .col(string("status"))
                .col(string("contract_code"))
                .col(string_null("gateway_contract_id"))
                .col(string_null("bank_name"))
                .col(text_null("account_no_enc"))
                .col(string_null("account_no_index"))
                .col(string_null("account_last4"))
                .col(text_null("holder_enc"))
                .col(big_integer_null("max_fen"))
                .col(integer("failed_cycles"))
                .col(timestamp_with_time_zone("created_at"))
                .col(timestamp_with_time_zone_null("signed_at"))
                .col(timestamp_with_time_zone_null("ended_at"))
                .col(string_null("ended_by"))
                .col(text_null("end_reason"))
                .col(timestamp_with_time_zone_null("gateway_ended_at"))
                .col(timestamp_with_time_zone("updated_at"))
                .to_owned(),
        )
        .await?;
        m.create_index(idx(
            "ux_autodebit_mandates_code",
            "autodebit_mandates",
            &["contract_code"],
            true,
        ))
        .await?;
        m.create_index(idx(
            "ix_autodebit_mandates_account",
            "autodebit_mandates",
            &["account_id", "id"],
            false,
        ))
        .await?;
        m.create_index(idx(
            "ix_autodebit_mandates_status",
            "autodebit_mandates",
            &["status", "id"],
            false,
        ))
        .await?;
        m.create_table(
            Table::create()
                .table("autodebit_mandate_units")
                .col(pk_auto("id"))
                .col(integer("mandate_id"))
                .col(integer("unit_id"))
                .col(integer("community_id"))
                .col(integer_null("live_unit_id"))
                .to_owned(),
        )
        .await?;
        m.create_index(idx(
            "ux_autodebit_mandate_units_live",
            "autodebit_mandate_units",
            &["live_unit_id"],
            true,
        ))
        .await?;
        m.create_index(idx(
            "ix_autodebit_mandate_units_mandate",
            "autodebit_mandate_units",
            &["mandate_id"],
            false,
        ))
        .await?;
        m.create_index(idx(
            "ix_autodebit_mandate_units_unit",
            "autodebit_mandate_units",
            &["unit_id", "mandate_id"],
            false,
        ))
        .await?;
        Ok(())
    }
}
