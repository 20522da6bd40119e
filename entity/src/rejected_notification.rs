//! Table `rejected_notifications`: bounded record of notifications that failed verification.
use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "rejected_notifications")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i32,
    pub provider: String,
    /// Client address the request came from.
    pub source: String,
    /// Start of the minute this row counts.
    pub minute: DateTimeUtc,
    pub reason: String,
    pub count: i64,
    /// SHA-256, size and first bytes (escaped) of the first rejected body in that minute.
    pub sample_sha256: String,
    pub sample_size: i32,
    pub sample_head: String,
    pub first_at: DateTimeUtc,
    pub last_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
