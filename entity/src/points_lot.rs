//! Table `points_lots`: points earned together, expiring together; spending takes the soonest
//! expiring first.
use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "points_lots")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i32,
    pub points_account_id: i32,
    pub earned_on: Date,
    /// The last day its points may be spent.
    pub expires_on: Date,
    pub points: i64,
    pub remaining: i64,
    pub created_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
