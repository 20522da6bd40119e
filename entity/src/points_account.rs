//! Table `points_accounts`: who holds points in one community — an owner account, or a unit while
//! no account is linked to its first-listed owner — and what a reversal left owing.
use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "points_accounts")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i32,
    pub community_id: i32,
    pub account_id: Option<i32>,
    pub unit_id: Option<i32>,
    /// Points reversed after they were spent: later earnings settle this first.
    pub debt: i64,
    pub created_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
