//! Table `uploads`: photos (JPEG/PNG/WebP, metadata stripped) and the record each is attached to.
use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "uploads")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i32,
    /// `owner:N` or `staff:N`.
    pub uploader: String,
    pub content_type: String,
    pub size_bytes: i32,
    pub sha256: String,
    pub data: Vec<u8>,
    pub attached_kind: Option<String>,
    pub attached_id: Option<i32>,
    pub community_id: Option<i32>,
    pub created_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
