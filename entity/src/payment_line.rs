//! Table `payment_lines`.
use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "payment_lines")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i32,
    pub payment_id: i32,
    pub bill_id: Option<i32>,
    pub unit_id: i32,
    pub fee_item_id: i32,
    pub period: String,
    pub principal_fen: i64,
    pub late_fee_fen: i64,
    pub discount_fen: i64,
    pub amount_fen: i64,
    /// What this line actually credited to its bill (0 for a double payment).
    pub credited_fen: Option<i64>,
    /// Set on a points line: the points that paid it (its amount is not in the order's cash).
    pub points: Option<i64>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
