//! Rewards (issue #15): a per-community catalog with stock and per-owner limits, owners'
//! redemptions (one per idempotency key), which lots each spend took (so a cancellation or a
//! released order puts points back where they came from), per-community points settings, and the
//! expiry notices sent (once per account and date).
use crate::idx;
use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.create_table(
            Table::create()
                .table("rewards")
                .col(pk_auto("id"))
                .col(integer("community_id"))
                .col(string("name"))
                .col(text("description"))
                .col(string("kind"))
                .col(big_integer("points_cost"))
                .col(big_integer("stock"))
                .col(integer_null("per_owner_limit"))
                .col(boolean("active"))
                .col(timestamp_with_time_zone("created_at"))
                .col(timestamp_with_time_zone("updated_at"))
                .to_owned(),
        )
        .await?;
        m.create_index(idx("ix_rewards_community", "rewards", &["community_id", "id"], false))
            .await?;
        m.create_table(
            Table::create()
                .table("redemptions")
                .col(pk_auto("id"))
                .col(integer("community_id"))
                .col(integer("reward_id"))
                .col(integer("points_account_id"))
                .col(integer("account_id"))
                .col(integer("quantity"))
                .col(big_integer("points_spent"))
                .col(string("status"))
                .col(string("idempotency_key"))
                .col(timestamp_with_time_zone("created_at"))
                .col(timestamp_with_time_zone_null("decided_at"))
                .col(string_null("decided_by"))
                .col(text_null("note"))
                .to_owned(),
        )
        .await?;
        m.create_index(idx(
            "ux_redemptions_key",
            "redemptions",
            &["account_id", "idempotency_key"],
            true,
        ))
        .await?;
        m.create_index(idx(
            "ix_redemptions_community",
            "redemptions",
            &["community_id", "status", "id"],
            false,
        ))
        .await?;
        m.create_index(idx(
            "ix_redemptions_reward",
            "redemptions",
            &["reward_id", "account_id"],
            false,
        ))
        .await?;
        m.create_table(
            Table::create()
                .table("points_takes")
                .col(pk_auto("id"))
                .col(integer("points_account_id"))
                .col(integer("lot_id"))
                .col(big_integer("points"))
                .col(string("source_kind"))
                .col(integer("source_id"))
                .to_owned(),
        )
        .await?;
        m.create_index(idx(
            "ix_points_takes_source",
            "points_takes",
            &["source_kind", "source_id"],
            false,
        ))
        .await?;
        m.create_table(
            Table::create()
                .table("points_settings")
                .col(integer("community_id").primary_key())
                .col(big_integer("points_per_yuan"))
                .col(big_integer("prepay_bonus_percent"))
                .col(integer("streak_months"))
                .col(big_integer("streak_bonus"))
                .col(big_integer("grade_a_permille"))
                .col(integer("expiry_years"))
                .col(big_integer("points_per_fee_yuan"))
                .col(big_integer("max_fee_percent"))
                .col(timestamp_with_time_zone("updated_at"))
                .col(string("updated_by"))
                .to_owned(),
        )
        .await?;
        m.create_table(
            Table::create()
                .table("points_expiry_notices")
                .col(pk_auto("id"))
                .col(integer("points_account_id"))
                .col(date("expires_on"))
                .col(big_integer("points"))
                .col(string("result"))
                .col(timestamp_with_time_zone("created_at"))
                .to_owned(),
        )
        .await?;
        m.create_index(idx(
            "ux_points_expiry_notices",
            "points_expiry_notices",
            &["points_account_id", "expires_on"],
            true,
        ))
        .await?;
        Ok(())
    }
}
