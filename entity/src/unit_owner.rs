//! Table `unit_owners`.
use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "unit_owners")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i32,
    pub unit_id: i32,
    pub owner_id: i32,
    pub start_date: Date,
    pub end_date: Option<Date>,
    pub created_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
