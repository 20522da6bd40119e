//! Hardship cases (issue #17, 困难减免): an owner's request for relief with evidence photos, and
//! finance's time-boxed decision — a percentage reduction or a deferral of the bills due in a
//! window. A unit has one live case at most (`live_unit_id`, unique, NULL once the case is
//! refused, withdrawn or ended); a bill is relieved by a case once (`hardship_case_bills`).
use crate::idx;
use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.create_table(
            Table::create()
                .table("hardship_cases")
                .col(pk_auto("id"))
                .col(integer("community_id"))
                .col(integer("unit_id"))
                .col(integer_null("live_unit_id"))
                .col(integer("account_id"))
                .col(string("category"))
                .col(text("reason"))
                .col(string("status"))
                .col(string_null("relief"))
                .col(string_null("percent"))
                .col(date_null("defer_to"))
                .col(date_null("starts_on"))
                .col(date_null("ends_on"))
                .col(string_null("decided_by"))
                .col(timestamp_with_time_zone_null("decided_at"))
                .col(text_null("decision_reason"))
                .col(text_null("ack_text"))
                .col(string_null("ack_sha256"))
                .col(timestamp_with_time_zone_null("acknowledged_at"))
                .col(string_null("acknowledged_client"))
                .col(string_null("reviewed_by"))
                .col(timestamp_with_time_zone_null("reviewed_at"))
                .col(text_null("review_note"))
                .col(timestamp_with_time_zone("created_at"))
                .col(timestamp_with_time_zone("updated_at"))
                .to_owned(),
        )
        .await?;
        m.create_index(idx(
            "ux_hardship_cases_live_unit",
            "hardship_cases",
            &["live_unit_id"],
            true,
        ))
        .await?;
        m.create_index(idx(
            "ix_hardship_cases_community_status",
            "hardship_cases",
            &["community_id", "status", "id"],
            false,
        ))
        .await?;
        m.create_index(idx(
            "ix_hardship_cases_account",
            "hardship_cases",
            &["account_id", "id"],
            false,
        ))
        .await?;
        m.create_table(
            Table::create()
                .table("hardship_case_bills")
                .col(pk_auto("id"))
                .col(integer("case_id"))
                .col(integer("bill_id"))
                .col(big_integer("reduced_fen"))
                .col(date_null("deferred_from"))
                .col(timestamp_with_time_zone("applied_at"))
                .to_owned(),
        )
        .await?;
        m.create_index(idx(
            "ux_hardship_case_bills",
            "hardship_case_bills",
            &["case_id", "bill_id"],
            true,
        ))
        .await?;
        Ok(())
    }
}
