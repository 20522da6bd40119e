//! Table `points_settings`: a community's points rules, edited in the console; a community without
//! a row uses the defaults (`domain::points::EarnRules::default`).
use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "points_settings")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub community_id: i32,
    pub points_per_yuan: i64,
    pub prepay_bonus_percent: i64,
    pub streak_months: i32,
    pub streak_bonus: i64,
    pub grade_a_permille: i64,
    pub expiry_years: i32,
    /// Points that pay one yuan of fees.
    pub points_per_fee_yuan: i64,
    /// The most of an order points may pay, in percent.
    pub max_fee_percent: i64,
    pub updated_at: DateTimeUtc,
    pub updated_by: String,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
