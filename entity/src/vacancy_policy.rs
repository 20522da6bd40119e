//! Table `vacancy_policies`: a community's vacancy discount (none: the community offers none).
use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "vacancy_policies")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub community_id: i32,
    /// Percentage off the area-based property fee, a decimal string (e.g. "50").
    pub percent: String,
    /// Months a calendar year a unit may be discounted.
    pub max_months_per_year: i32,
    pub updated_by: String,
    pub updated_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
