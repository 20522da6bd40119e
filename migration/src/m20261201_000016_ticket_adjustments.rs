//! Bill corrections a dispute's resolution asks for (issue #14): service staff request them, finance
//! approves or refuses, and an approval is applied by the ledger with the ticket's reason.
use crate::idx;
use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.create_table(
            Table::create()
                .table("ticket_adjustments")
                .col(pk_auto("id"))
                .col(integer("ticket_id"))
                .col(integer("community_id"))
                .col(integer("unit_id"))
                .col(integer("bill_id"))
                // `waive_late_fee`, `adjust` or `cancel`.
                .col(string("kind"))
                // The late fee to waive, or the new principal (fen); null for a cancellation.
                .col(big_integer_null("amount_fen"))
                // The bill's principal when asked: an approval applies only to the bill as requested.
                .col(big_integer("principal_before_fen"))
                .col(text("reason"))
                // `pending`, `approved` or `rejected`.
                .col(string("status"))
                .col(integer("requested_by"))
                .col(timestamp_with_time_zone("requested_at"))
                .col(integer_null("decided_by"))
                .col(timestamp_with_time_zone_null("decided_at"))
                .col(text_null("decision_note"))
                // The ledger entry an approval wrote.
                .col(integer_null("entry_id"))
                .to_owned(),
        )
        .await?;
        m.create_index(idx(
            "ix_ticket_adjustments_ticket",
            "ticket_adjustments",
            &["ticket_id"],
            false,
        ))
        .await?;
        m.create_index(idx(
            "ix_ticket_adjustments_queue",
            "ticket_adjustments",
            &["community_id", "status"],
            false,
        ))
        .await?;
        // One pending request per bill, however many staff ask at once (both backends take a
        // partial unique index in this spelling).
        m.get_connection()
            .execute_unprepared(
                "CREATE UNIQUE INDEX ux_ticket_adjustments_pending ON ticket_adjustments (bill_id) \
                 WHERE status = 'pending'",
            )
            .await?;
        Ok(())
    }
}
