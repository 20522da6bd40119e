//! Table `points_expiry_notices`: an owner told that points expire on a date — once per points
//! account and date (the unique index decides between replicas).
use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "points_expiry_notices")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i32,
    pub points_account_id: i32,
    pub expires_on: Date,
    pub points: i64,
    /// What the channel said: `sent`, `failed`, or why nothing was sent.
    pub result: String,
    pub created_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
