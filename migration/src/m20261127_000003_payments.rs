//! Payments: orders with their frozen lines, every gateway notification (append-only, evidence),
//! exceptions for staff, and receipts.
use crate::idx;
use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.create_table(
            Table::create()
                .table("payments")
                .col(pk_auto("id"))
                .col(string_uniq("out_trade_no"))
                .col(integer("community_id"))
                .col(integer_null("account_id"))
                .col(integer_null("staff_id"))
                .col(string("channel"))
                .col(string("kind"))
                .col(big_integer("amount_fen"))
                .col(big_integer("refunded_fen"))
                .col(string("status"))
                .col(text_null("pay_params"))
                .col(string_null("idempotency_key"))
                .col(string_null("transaction_id"))
                .col(string_null("receipt_no"))
                .col(string_null("reference"))
                .col(text_null("prepay"))
                .col(timestamp_with_time_zone("expires_at"))
                .col(timestamp_with_time_zone_null("paid_at"))
                .col(timestamp_with_time_zone("created_at"))
                .to_owned(),
        )
        .await?;
        // A gateway transaction credits one order at most; receipts and idempotency keys are unique.
        m.create_index(idx(
            "ux_payments_transaction",
            "payments",
            &["channel", "transaction_id"],
            true,
        ))
        .await?;
        m.create_index(idx("ux_payments_receipt", "payments", &["receipt_no"], true))
            .await?;
        m.create_index(idx(
            "ux_payments_idempotency",
            "payments",
            &["account_id", "idempotency_key"],
            true,
        ))
        .await?;
        m.create_index(idx("ix_payments_status", "payments", &["status", "expires_at"], false))
            .await?;

        m.create_table(
            Table::create()
                .table("payment_lines")
                .col(pk_auto("id"))
                .col(integer("payment_id"))
                .col(integer_null("bill_id"))
                .col(integer("unit_id"))
                .col(integer("fee_item_id"))
                .col(string("period"))
                .col(big_integer("principal_fen"))
                .col(big_integer("late_fee_fen"))
                .col(big_integer("discount_fen"))
                .col(big_integer("amount_fen"))
                .foreign_key(
                    ForeignKey::create()
                        .from("payment_lines", "payment_id")
                        .to("payments", "id"),
                )
                .to_owned(),
        )
        .await?;
        m.create_index(idx("ix_payment_lines_payment", "payment_lines", &["payment_id"], false))
            .await?;
        m.create_index(idx("ix_payment_lines_bill", "payment_lines", &["bill_id"], false))
            .await?;

        m.create_table(
            Table::create()
                .table("gateway_notifications")
                .col(pk_auto("id"))
                .col(string("provider"))
                .col(string_null("event_key"))
                .col(string_null("out_trade_no"))
                .col(text("headers"))
                .col(text("raw_body"))
                .col(string("verdict"))
                .col(text_null("detail"))
                .col(timestamp_with_time_zone("received_at"))
                .to_owned(),
        )
        .await?;
        m.create_index(idx(
            "ix_notifications_trade",
            "gateway_notifications",
            &["out_trade_no"],
            false,
        ))
        .await?;

        m.create_table(
            Table::create()
                .table("payment_exceptions")
                .col(pk_auto("id"))
                .col(string("provider"))
                .col(string("kind"))
                .col(integer_null("payment_id"))
                .col(integer_null("notification_id"))
                .col(string_null("out_trade_no"))
                .col(text("detail"))
                .col(timestamp_with_time_zone("created_at"))
                .col(timestamp_with_time_zone_null("resolved_at"))
                .to_owned(),
        )
        .await?;
        Ok(())
    }
}
