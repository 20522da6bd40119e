//! Vacant units (issue #17, 空置房优惠): a community's vacancy policy (a percentage off the
//! area-based property fee, for at most so many months a calendar year); an owner's application,
//! staff's inspection with photos and decision; and each discount the ledger gave (a bill is
//! discounted once: unique `bill_id`), with the months it used toward the unit's yearly cap.
use crate::idx;
use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.create_table(
            Table::create()
                .table("vacancy_policies")
                .col(integer("community_id").primary_key())
                .col(string("percent"))
                .col(integer("max_months_per_year"))
                .col(string("updated_by"))
                .col(timestamp_with_time_zone("updated_at"))
                .to_owned(),
        )
        .await?;
        m.create_table(
            Table::create()
                .table("vacancy_applications")
                .col(pk_auto("id"))
                .col(integer("community_id"))
                .col(integer("unit_id"))
                .col(integer_null("live_unit_id"))
                .col(integer("account_id"))
                .col(date("from_month"))
                .col(text_null("reason"))
                .col(string("status"))
                .col(string_null("inspected_by"))
                .col(timestamp_with_time_zone_null("inspected_at"))
                .col(boolean_null("vacant"))
                .col(text_null("inspection_note"))
                .col(string_null("decided_by"))
                .col(timestamp_with_time_zone_null("decided_at"))
                .col(text_null("decision_reason"))
                .col(string_null("percent"))
                .col(integer_null("max_months_per_year"))
                .col(date_null("ends_on"))
                .col(timestamp_with_time_zone_null("ended_at"))
                .col(text_null("end_reason"))
                .col(timestamp_with_time_zone("created_at"))
                .col(timestamp_with_time_zone("updated_at"))
                .to_owned(),
        )
        .await?;
        m.create_index(idx(
            "ux_vacancy_applications_live_unit",
            "vacancy_applications",
            &["live_unit_id"],
            true,
        ))
        .await?;
        m.create_index(idx(
            "ix_vacancy_applications_community_status",
            "vacancy_applications",
            &["community_id", "status", "id"],
            false,
        ))
        .await?;
        m.create_index(idx(
            "ix_vacancy_applications_account",
            "vacancy_applications",
            &["account_id", "id"],
            false,
        ))
        .await?;
        m.create_table(
            Table::create()
                .table("vacancy_discounts")
                .col(pk_auto("id"))
                .col(integer("application_id"))
                .col(integer("bill_id"))
                .col(integer("unit_id"))
                .col(integer("year"))
                .col(integer("months"))
                .col(big_integer("discount_fen"))
                .col(timestamp_with_time_zone("applied_at"))
                .to_owned(),
        )
        .await?;
        m.create_index(idx(
            "ux_vacancy_discounts_bill",
            "vacancy_discounts",
            &["bill_id"],
            true,
        ))
        .await?;
        m.create_index(idx(
            "ix_vacancy_discounts_unit_year",
            "vacancy_discounts",
            &["unit_id", "year"],
            false,
        ))
        .await?;
        Ok(())
    }
}
