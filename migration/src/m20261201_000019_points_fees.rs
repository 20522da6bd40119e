//! Points toward fees (issue #15): an order may pay part of its bills with points. The order keeps
//! how many points and what they paid; each points part is a payment line of its own, marked by the
//! points it spent. Only nullable columns (SQLite cannot alter columns).
use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        for col in ["points_used", "points_fen"] {
            m.alter_table(
                Table::alter()
                    .table("payments")
                    .add_column(big_integer_null(col))
                    .to_owned(),
            )
            .await?;
        }
        m.alter_table(
            Table::alter()
                .table("payment_lines")
                .add_column(big_integer_null("points"))
                .to_owned(),
        )
        .await?;
        Ok(())
    }
}
