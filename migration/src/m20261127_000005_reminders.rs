//! Reminders: per-community policy, overdue episodes, one claimable row per owner × stage ×
//! episode (the unique key that makes a second send impossible), subscribe-message grants, staff
//! tasks, collection holds, and the per-unit evidence chain.
use crate::idx;
use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.create_table(
            Table::create()
                .table("reminder_policies")
                .col(integer("community_id").primary_key())
                .col(text("policy"))
                .col(string("updated_by"))
                .col(timestamp_with_time_zone("updated_at"))
                .to_owned(),
        )
        .await?;
        // `open_owner` is the owner id while the episode is open and NULL after: a unique index on
        // it allows one open episode per owner record on both backends (NULLs are distinct).
        m.create_table(
            Table::create()
                .table("reminder_episodes")
                .col(pk_auto("id"))
                .col(integer("owner_id"))
                .col(integer("community_id"))
                .col(integer_null("open_owner"))
                .col(date("started_on"))
                .col(date_null("ended_on"))
                .col(integer("top_rank"))
                .to_owned(),
        )
        .await?;
        m.create_index(idx("ux_episodes_open", "reminder_episodes", &["open_owner"], true))
            .await?;
        m.create_index(idx("ix_episodes_owner", "reminder_episodes", &["owner_id"], false))
            .await?;
        m.create_table(
            Table::create()
                .table("reminders")
                .col(pk_auto("id"))
                .col(integer("owner_id"))
                .col(integer("community_id"))
                .col(string("stage"))
                .col(string("episode_key"))
                .col(string("status"))
                .col(timestamp_with_time_zone("not_before"))
                .col(timestamp_with_time_zone_null("lease_until"))
                .col(integer("attempts"))
                .col(text("bill_ids"))
                .col(big_integer("amount_fen"))
                .col(string_null("channel"))
                .col(text_null("content"))
                .col(text_null("provider_answer"))
                .col(string_null("provider_ref"))
                .col(timestamp_with_time_zone("created_at"))
                .col(timestamp_with_time_zone_null("sent_at"))
                .to_owned(),
        )
        .await?;
        m.create_index(idx(
            "ux_reminders_key",
            "reminders",
            &["owner_id", "community_id", "stage", "episode_key"],
            true,
        ))
        .await?;
        m.create_index(idx("ix_reminders_due", "reminders", &["status", "not_before"], false))
            .await?;
        m.create_index(idx(
            "ix_reminders_owner_sent",
            "reminders",
            &["owner_id", "sent_at"],
            false,
        ))
        .await?;
        m.create_table(
            Table::create()
                .table("subscribe_grants")
                .col(pk_auto("id"))
                .col(integer("account_id"))
                .col(string("template_id"))
                .col(timestamp_with_time_zone("granted_at"))
                .col(timestamp_with_time_zone_null("spent_at"))
                .col(integer_null("reminder_id"))
                .to_owned(),
        )
        .await?;
        m.create_index(idx(
            "ix_grants_account",
            "subscribe_grants",
            &["account_id", "template_id", "spent_at"],
            false,
        ))
        .await?;
        m.create_table(
            Table::create()
                .table("staff_tasks")
                .col(pk_auto("id"))
                .col(integer("community_id"))
                .col(integer("unit_id"))
                .col(integer_null("owner_id"))
                .col(integer_null("reminder_id"))
                .col(string("kind"))
                .col(string_null("stage"))
                .col(string("status"))
                .col(text_null("outcome"))
                .col(string_null("delivery"))
                .col(string_null("proof_url"))
                .col(string_null("mail_no"))
                .col(integer_null("completed_by"))
                .col(timestamp_with_time_zone_null("completed_at"))
                .col(timestamp_with_time_zone("created_at"))
                .to_owned(),
        )
        .await?;
        // A resent reminder cannot open its tasks twice.
        m.create_index(idx(
            "ux_tasks_reminder",
            "staff_tasks",
            &["reminder_id", "unit_id", "kind"],
            true,
        ))
        .await?;
        m.create_index(idx("ix_tasks_queue", "staff_tasks", &["community_id", "status"], false))
            .await?;
        m.create_table(
            Table::create()
                .table("collection_holds")
                .col(pk_auto("id"))
                .col(integer("community_id"))
                .col(integer_null("unit_id"))
                .col(integer_null("bill_id"))
                .col(string("reason"))
                .col(date("until"))
                .col(string("created_by"))
                .col(timestamp_with_time_zone("created_at"))
                .to_owned(),
        )
        .await?;
        m.create_index(idx("ix_holds_bill", "collection_holds", &["bill_id", "until"], false))
            .await?;
        m.create_index(idx("ix_holds_unit", "collection_holds", &["unit_id", "until"], false))
            .await?;
        m.create_table(
            Table::create()
                .table("evidence")
                .col(pk_auto("id"))
                .col(integer("unit_id"))
                .col(integer("seq"))
                .col(string("kind"))
                .col(string_null("stage"))
                .col(string("channel"))
                .col(timestamp_with_time_zone("at"))
                .col(text("content"))
                .col(string("content_sha256"))
                .col(string("chain_hash"))
                .col(text("result"))
                .to_owned(),
        )
        .await?;
        // Concurrent appends to one unit cannot fork its chain: the second one fails and retries.
        m.create_index(idx("ux_evidence_seq", "evidence", &["unit_id", "seq"], true))
            .await?;
        // Each unit's latest seq and chain hash: deleting the newest records leaves no gap in the
        // chain itself, so verification compares the tail with this head.
        m.create_table(
            Table::create()
                .table("evidence_heads")
                .col(integer("unit_id").primary_key())
                .col(integer("seq"))
                .col(string("chain_hash"))
                .to_owned(),
        )
        .await?;
        // Only nullable columns are added: SQLite cannot alter columns.
        m.alter_table(
            Table::alter()
                .table("owners")
                .add_column(boolean_null("friendly_opt_out"))
                .to_owned(),
        )
        .await?;
        m.alter_table(
            Table::alter()
                .table("bills")
                .add_column(date_null("limitation_from"))
                .to_owned(),
        )
        .await?;
        Ok(())
    }
}
