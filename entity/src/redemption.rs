//! Table `redemptions`: an owner's points spent on a reward, until staff fulfil or cancel it.
use crate::states::RedemptionStatus;
use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "redemptions")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i32,
    pub community_id: i32,
    pub reward_id: i32,
    pub points_account_id: i32,
    /// The owner account that redeemed.
    pub account_id: i32,
    pub quantity: i32,
    pub points_spent: i64,
    pub status: RedemptionStatus,
    /// Unique per account: a repeat answers the first redemption.
    pub idempotency_key: String,
    pub created_at: DateTimeUtc,
    pub decided_at: Option<DateTimeUtc>,
    pub decided_by: Option<String>,
    #[sea_orm(column_type = "Text", nullable)]
    pub note: Option<String>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
