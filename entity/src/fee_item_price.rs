//! Table `fee_item_prices`.
use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "fee_item_prices")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i32,
    pub fee_item_id: i32,
    pub unit_price: String,
    pub effective_from: Date,
    pub actor: String,
    pub created_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
