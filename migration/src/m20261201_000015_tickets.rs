//! Tickets (issue #14): complaints, repairs, bill disputes, suggestions and enquiries from owners,
//! their message threads (with staff-only notes), the bills a dispute names (a suppression clause
//! reads them), and each community's SLA budgets per category.
use crate::idx;
use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.create_table(
            Table::create()
                .table("tickets")
                .col(pk_auto("id"))
                .col(integer("community_id"))
                .col(integer("unit_id"))
                // The owner account that opened it (the only owner who sees it).
                .col(integer("account_id"))
                .col(string("category"))
                .col(boolean("emergency"))
                .col(string("title"))
                .col(text("body"))
                .col(string("status"))
                .col(integer_null("assignee_id"))
                .col(timestamp_with_time_zone("created_at"))
                .col(timestamp_with_time_zone("updated_at"))
                // When staff became needed (an enquiry answered at once starts no clock); a
                // reopen restarts the resolution clock from here.
                .col(timestamp_with_time_zone_null("clock_from"))
                .col(timestamp_with_time_zone_null("first_response_due_at"))
                .col(timestamp_with_time_zone_null("first_responded_at"))
                .col(timestamp_with_time_zone_null("resolution_due_at"))
                // JSON [{"from","to"}]: stretches spent waiting for the owner (the clock stops).
                .col(text("pauses"))
                .col(timestamp_with_time_zone_null("response_breached_at"))
                .col(timestamp_with_time_zone_null("resolution_breached_at"))
                .col(timestamp_with_time_zone_null("resolved_at"))
                .col(text_null("resolution"))
                .col(integer_null("resolved_by"))
                .col(integer_null("rating"))
                .col(text_null("rating_comment"))
                .col(timestamp_with_time_zone_null("rated_at"))
                .col(integer("reopen_count"))
                .col(integer_null("merged_into"))
                .to_owned(),
        )
        .await?;
        m.create_index(idx("ix_tickets_queue", "tickets", &["community_id", "status"], false))
            .await?;
        m.create_index(idx("ix_tickets_unit", "tickets", &["unit_id", "status"], false))
            .await?;
        m.create_index(idx("ix_tickets_account", "tickets", &["account_id"], false))
            .await?;
        m.create_table(
            Table::create()
                .table("ticket_messages")
                .col(pk_auto("id"))
                .col(integer("ticket_id"))
                // `owner`, `staff` or `system`.
                .col(string("author_kind"))
                .col(integer_null("author_id"))
                .col(text("body"))
                // Staff-only notes: never shown to the owner, never sent, not evidence.
                .col(boolean("internal"))
                // JSON [upload id…] attached to the ticket.
                .col(text("upload_ids"))
                // Where an instant answer sends the owner in the mini-program (a page path).
                .col(string_null("link"))
                .col(timestamp_with_time_zone("created_at"))
                .to_owned(),
        )
        .await?;
        m.create_index(idx(
            "ix_ticket_messages_ticket",
            "ticket_messages",
            &["ticket_id", "id"],
            false,
        ))
        .await?;
        m.create_table(
            Table::create()
                .table("ticket_bills")
                .col(pk_auto("id"))
                .col(integer("ticket_id"))
                .col(integer("bill_id"))
                .to_owned(),
        )
        .await?;
        m.create_index(idx("ux_ticket_bills", "ticket_bills", &["ticket_id", "bill_id"], true))
            .await?;
        m.create_index(idx("ix_ticket_bills_bill", "ticket_bills", &["bill_id"], false))
            .await?;
        m.create_table(
            Table::create()
                .table("ticket_sla")
                .col(pk_auto("id"))
                .col(integer("community_id"))
                // A ticket category, or `emergency_repair`.
                .col(string("category"))
                .col(integer("first_response_minutes"))
                .col(integer("resolution_minutes"))
                // Local `HH:MM` opening and closing; both null: the clock runs all day.
                .col(string_null("business_start"))
                .col(string_null("business_end"))
                // Whether the clock stops on the community's no-send dates.
                .col(boolean("skip_closed_days"))
                .col(timestamp_with_time_zone("updated_at"))
                .to_owned(),
        )
        .await?;
        m.create_index(idx("ux_ticket_sla", "ticket_sla", &["community_id", "category"], true))
            .await?;
        // What a spent subscribe grant carried when it was not a reminder (a ticket reply).
        m.alter_table(
            Table::alter()
                .table("subscribe_grants")
                .add_column(string_null("spent_for"))
                .to_owned(),
        )
        .await?;
        Ok(())
    }
}
