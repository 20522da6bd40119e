//! Table `finance_reports`: one published version of a community's monthly income and expense
//! summary (never edited; a correction is the next version).
use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "finance_reports")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i32,
    pub community_id: i32,
    /// `YYYY-MM`.
    pub period: String,
    /// 1 for the first publication of the month.
    pub version: i32,
    #[sea_orm(column_type = "Text", nullable)]
    pub summary: Option<String>,
    pub income_fen: i64,
    pub expense_fen: i64,
    pub published_by: String,
    pub published_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
