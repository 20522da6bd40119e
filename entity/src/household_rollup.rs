//! Table `household_rollup`: households billed and fully paid as dated deltas (see the migration).
use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "household_rollup")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i32,
    pub community_id: i32,
    pub building: String,
    /// 0: the unit's bills of every fee item together.
    pub fee_item_id: i32,
    /// The first day of the month.
    pub month: Date,
    pub on_date: Date,
    pub billed: i64,
    pub paid: i64,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
