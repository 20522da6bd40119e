//! The best hour to remind (issue #18): a reminder queued for the hour its owner usually pays in
//! records that hour, so the timing report can compare timed and untimed reminders.
use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.alter_table(
            Table::alter()
                .table("reminders")
                .add_column(integer_null("best_hour"))
                .to_owned(),
        )
        .await
    }
}
