//! Points (issue #15): who holds them per community, lots that expire together, and the
//! append-only history whose sources are unique (each award and reversal happens once).
use crate::idx;
use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.create_table(
            Table::create()
                .table("points_accounts")
                .col(pk_auto("id"))
                .col(integer("community_id"))
                // An owner account, or (while none is linked) the unit whose counter payments earned.
                .col(integer_null("account_id"))
                .col(integer_null("unit_id"))
                .col(big_integer("debt"))
                .col(timestamp_with_time_zone("created_at"))
                .to_owned(),
        )
        .await?;
        // One holder per community and account, and per community and unit while unlinked (both
        // backends take partial unique indexes in this spelling).
        let db = m.get_connection();
        db.execute_unprepared(
            "CREATE UNIQUE INDEX ux_points_accounts_account ON points_accounts (community_id, account_id) \
             WHERE account_id IS NOT NULL",
        )
        .await?;
        db.execute_unprepared(
            "CREATE UNIQUE INDEX ux_points_accounts_unit ON points_accounts (community_id, unit_id) \
             WHERE account_id IS NULL",
        )
        .await?;
        m.create_table(
            Table::create()
                .table("points_lots")
                .col(pk_auto("id"))
                .col(integer("points_account_id"))
                .col(date("earned_on"))
                .col(date("expires_on"))
                .col(big_integer("points"))
                .col(big_integer("remaining"))
                .col(timestamp_with_time_zone("created_at"))
                .to_owned(),
        )
        .await?;
        m.create_index(idx(
            "ix_points_lots_account",
            "points_lots",
            &["points_account_id", "expires_on"],
            false,
        ))
        .await?;
        m.create_table(
            Table::create()
                .table("points_entries")
                .col(pk_auto("id"))
                .col(integer("points_account_id"))
                .col(string("kind"))
                .col(big_integer("points"))
                .col(integer_null("lot_id"))
                .col(string_null("source_kind"))
                .col(integer_null("source_id"))
                .col(text("reason"))
                .col(string("actor"))
                .col(timestamp_with_time_zone("created_at"))
                .to_owned(),
        )
        .await?;
        m.create_index(idx(
            "ux_points_entries_source",
            "points_entries",
            &["source_kind", "source_id"],
            true,
        ))
        .await?;
        m.create_index(idx(
            "ix_points_entries_account",
            "points_entries",
            &["points_account_id", "id"],
            false,
        ))
        .await?;
        // The earning pass looks for recently paid orders.
        m.create_index(idx("ix_payments_paid_at", "payments", &["paid_at"], false))
            .await?;
        Ok(())
    }
}
