//! Fee transparency (issue #18, 财务公开): a community's monthly income and expense summary as staff
//! publish it — structured lines (income or expense, a category, an amount in fen, a note) and
//! attachments through uploads. A published report is never edited: a correction is a new version
//! of the same month, and owners read the latest.
use crate::idx;
use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.create_table(
            Table::create()
                .table("finance_reports")
                .col(pk_auto("id"))
                .col(integer("community_id"))
                .col(string("period"))
                .col(integer("version"))
                .col(text_null("summary"))
                .col(big_integer("income_fen"))
                .col(big_integer("expense_fen"))
                .col(string("published_by"))
                .col(timestamp_with_time_zone("published_at"))
                .to_owned(),
        )
        .await?;
        m.create_index(idx(
            "ux_finance_reports_version",
            "finance_reports",
            &["community_id", "period", "version"],
            true,
        ))
        .await?;
        m.create_table(
            Table::create()
                .table("finance_report_lines")
                .col(pk_auto("id"))
                .col(integer("report_id"))
                .col(string("kind"))
                .col(string("category"))
                .col(big_integer("amount_fen"))
                .col(text_null("note"))
                .to_owned(),
        )
        .await?;
        m.create_index(idx(
            "ix_finance_report_lines_report",
            "finance_report_lines",
            &["report_id"],
            false,
        ))
        .await?;
        Ok(())
    }
}
