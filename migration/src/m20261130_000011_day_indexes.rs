//! Indexes for a day's money at the counter (`GET /staff/payments/summary`, the console's 今日收款):
//! the day's orders, payments, refunds and exceptions without reading a community's whole history.
use crate::idx;
use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.create_index(idx(
            "ix_payments_community_created",
            "payments",
            &["community_id", "created_at"],
            false,
        ))
        .await?;
        m.create_index(idx(
            "ix_payments_community_paid",
            "payments",
            &["community_id", "paid_at"],
            false,
        ))
        .await?;
        m.create_index(idx("ix_refunds_finished", "refunds", &["finished_at"], false))
            .await?;
        m.create_index(idx(
            "ix_payment_exceptions_created",
            "payment_exceptions",
            &["created_at"],
            false,
        ))
        .await?;
        Ok(())
    }
}
