//! Table `communities`.
use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "communities")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i32,
    pub code: String,
    pub name: String,
    pub timezone: String,
    pub late_fee_daily_rate: String,
    pub late_fee_grace_days: i32,
    pub late_fee_cap_ratio: String,
    pub created_at: DateTimeUtc,
    /// JSON `{"points":bool,…}`: the ways out this community offers (absent = all on).
    pub features: Option<String>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
