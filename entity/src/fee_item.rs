//! Table `fee_items`.
use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "fee_items")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i32,
    pub community_id: i32,
    pub name: String,
    pub kind: String,
    pub unit_price: String,
    pub cycle: String,
    pub due_day: i32,
    pub applies_to: Option<String>,
    pub prepay_discounts: Option<String>,
    pub effective_from: Option<Date>,
    pub active: bool,
    pub created_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
