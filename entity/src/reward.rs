//! Table `rewards`: a community's catalog of goods and services that points buy.
use crate::states::RewardKind;
use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "rewards")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i32,
    pub community_id: i32,
    pub name: String,
    #[sea_orm(column_type = "Text")]
    pub description: String,
    pub kind: RewardKind,
    pub points_cost: i64,
    /// Never below 0: redemptions take from it under the row's lock.
    pub stock: i64,
    /// How many one owner may hold (not cancelled), if limited.
    pub per_owner_limit: Option<i32>,
    /// Withdrawn rewards stay for history but are not offered.
    pub active: bool,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
