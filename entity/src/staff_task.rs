//! Table `staff_tasks`: A collector's task: a call, a visit or the delivery of a printed notice.
use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "staff_tasks")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i32,
    pub community_id: i32,
    pub unit_id: i32,
    pub owner_id: Option<i32>,
    pub reminder_id: Option<i32>,
    pub kind: String,
    pub stage: Option<String>,
    pub status: String,
    pub outcome: Option<String>,
    pub delivery: Option<String>,
    pub proof_url: Option<String>,
    pub mail_no: Option<String>,
    pub completed_by: Option<i32>,
    pub completed_at: Option<DateTimeUtc>,
    pub created_at: DateTimeUtc,
    /// The printed notice a printed-notice task delivers.
    pub notice_id: Option<i32>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
