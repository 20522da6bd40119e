//! Table `clearance_rollup`: of bills in arrears at a year's start, principal recovered and waived
//! since, as dated deltas (see the migration).
use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "clearance_rollup")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i32,
    pub community_id: i32,
    pub building: String,
    pub fee_item_id: i32,
    pub year: i32,
    pub on_date: Date,
    pub recovered_fen: i64,
    pub waived_fen: i64,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
