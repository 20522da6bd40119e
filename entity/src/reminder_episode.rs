//! Table `reminder_episodes`: An owner's overdue episode in a community: from first arrears until none.
use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "reminder_episodes")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i32,
    pub owner_id: i32,
    pub community_id: i32,
    pub open_owner: Option<i32>,
    pub started_on: Date,
    pub ended_on: Option<Date>,
    pub top_rank: i32,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
