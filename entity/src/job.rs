//! Table `jobs`: one piece of long work, queued, leased by the replica running it, with its progress.
use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "jobs")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i32,
    pub kind: String,
    pub community_id: Option<i32>,
    /// JSON: what was asked.
    #[sea_orm(column_type = "Text")]
    pub params: String,
    /// A sealed upload, while the job has not ended.
    #[sea_orm(column_type = "Text", nullable)]
    pub payload: Option<String>,
    pub status: String,
    pub done: i64,
    pub total: i64,
    /// JSON: what it did, or why it failed.
    #[sea_orm(column_type = "Text", nullable)]
    pub result: Option<String>,
    pub created_by: i32,
    pub created_at: DateTimeUtc,
    pub started_at: Option<DateTimeUtc>,
    pub finished_at: Option<DateTimeUtc>,
    pub lease_owner: Option<String>,
    pub lease_until: Option<DateTimeUtc>,
    pub attempts: i32,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
