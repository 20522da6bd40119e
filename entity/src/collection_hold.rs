//! Table `collection_holds`: A staff collection hold on bills or a whole unit, until a date.
use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "collection_holds")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i32,
    pub community_id: i32,
    pub unit_id: Option<i32>,
    pub bill_id: Option<i32>,
    pub reason: String,
    pub until: Date,
    pub created_by: String,
    pub created_at: DateTimeUtc,
    /// Set when staff end the hold before `until` (`DELETE /staff/holds/{id}`).
    pub ended_at: Option<DateTimeUtc>,
    pub ended_by: Option<String>,
    pub end_reason: Option<String>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
