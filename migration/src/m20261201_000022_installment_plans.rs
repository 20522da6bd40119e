//! Installment plans (issue #17, 分期协议): an owner's request to pay chosen unpaid bills of a unit
//! in 3–12 monthly instalments, staff's decision, the agreement the owner accepts, and the
//! instalments. A bill is in at most one live plan (requested, approved or active):
//! `live_bill_id` holds the bill id while the plan is live and NULL after, under a unique index.
use crate::idx;
use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.create_table(
            Table::create()
                .table("installment_plans")
                .col(pk_auto("id"))
                .col(integer("community_id"))
                .col(integer("unit_id"))
                .col(integer("account_id"))
                .col(integer("months"))
                .col(big_integer("principal_fen"))
                .col(big_integer("late_fee_fen"))
                .col(string("status"))
                .col(text_null("owner_reason"))
                .col(string_null("decided_by"))
                .col(timestamp_with_time_zone_null("decided_at"))
                .col(text_null("decision_reason"))
                .col(text_null("agreement_text"))
                .col(string_null("agreement_sha256"))
                .col(timestamp_with_time_zone_null("accepted_at"))
                .col(string_null("accepted_client"))
                .col(timestamp_with_time_zone_null("ended_at"))
                .col(text_null("end_reason"))
                .col(timestamp_with_time_zone("created_at"))
                .col(timestamp_with_time_zone("updated_at"))
                .to_owned(),
        )
        .await?;
        m.create_index(idx(
            "ix_installment_plans_community_status",
            "installment_plans",
            &["community_id", "status", "id"],
            false,
        ))
        .await?;
        m.create_index(idx(
            "ix_installment_plans_account",
            "installment_plans",
            &["account_id", "id"],
            false,
        ))
        .await?;
        m.create_table(
            Table::create()
                .table("installment_plan_bills")
                .col(pk_auto("id"))
                .col(integer("plan_id"))
                .col(integer("bill_id"))
                .col(integer_null("live_bill_id"))
                .col(big_integer("principal_fen"))
                .col(big_integer("late_fee_fen"))
                .to_owned(),
        )
        .await?;
        m.create_index(idx(
            "ux_installment_plan_bills_live",
            "installment_plan_bills",
            &["live_bill_id"],
            true,
        ))
        .await?;
        m.create_index(idx(
            "ix_installment_plan_bills_plan",
            "installment_plan_bills",
            &["plan_id"],
            false,
        ))
        .await?;
        m.create_index(idx(
            "ix_installment_plan_bills_bill",
            "installment_plan_bills",
            &["bill_id"],
            false,
        ))
        .await?;
        m.create_table(
            Table::create()
                .table("installment_plan_instalments")
                .col(pk_auto("id"))
                .col(integer("plan_id"))
                .col(integer("seq"))
                .col(date("due_date"))
                .col(big_integer("amount_fen"))
                .col(integer_null("bill_id"))
                .to_owned(),
        )
        .await?;
        m.create_index(idx(
            "ux_installment_plan_instalments_seq",
            "installment_plan_instalments",
            &["plan_id", "seq"],
            true,
        ))
        .await?;
        Ok(())
    }
}
