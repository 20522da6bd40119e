//! Table `collection_rollup`: bills' report money as dated deltas (see the migration).
use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "collection_rollup")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i32,
    pub community_id: i32,
    pub building: String,
    pub fee_item_id: i32,
    pub due_date: Date,
    /// The last day of the due date's month (the trend reads each month as of it).
    pub period_end: Date,
    pub on_date: Date,
    pub receivable_fen: i64,
    pub collected_fen: i64,
    pub late_fee_fen: i64,
    pub unpaid_fen: i64,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
