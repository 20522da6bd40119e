//! Table `autodebit_mandate_units`: the units a mandate debits.
use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "autodebit_mandate_units")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i32,
    pub mandate_id: i32,
    pub unit_id: i32,
    pub community_id: i32,
    /// The unit id while the mandate is live (pending, active, suspended), NULL after: unique, so a
    /// unit has one live mandate at most.
    pub live_unit_id: Option<i32>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
