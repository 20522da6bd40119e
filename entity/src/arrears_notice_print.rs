//! Table `arrears_notice_prints`: every printed public arrears notice.
use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "arrears_notice_prints")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i32,
    pub community_id: i32,
    pub printed_by: String,
    pub printed_at: DateTimeUtc,
    pub units: i32,
    pub total_fen: i64,
    /// SHA-256 of the printed page.
    pub content_sha256: String,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
