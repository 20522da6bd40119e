//! Table `arrears_notice_reviews`: a community's legal review of its public arrears notice; none:
//! nothing may be printed there.
use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "arrears_notice_reviews")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub community_id: i32,
    /// `staff:{id}`, an admin.
    pub reviewed_by: String,
    pub reviewed_at: DateTimeUtc,
    #[sea_orm(column_type = "Text")]
    pub note: String,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
