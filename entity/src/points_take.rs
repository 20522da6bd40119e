//! Table `points_takes`: which lots a spend took its points from, so cancelling a redemption or
//! releasing an order's points returns them to the same lots (and so the same expiry).
use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "points_takes")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i32,
    pub points_account_id: i32,
    pub lot_id: i32,
    pub points: i64,
    /// `redemption` or `order`, with its id.
    pub source_kind: String,
    pub source_id: i32,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
