//! Table `ticket_messages`: one message of a ticket's thread (internal ones are staff-only).
use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "ticket_messages")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i32,
    pub ticket_id: i32,
    /// `owner`, `staff` or `system`.
    pub author_kind: String,
    pub author_id: Option<i32>,
    #[sea_orm(column_type = "Text")]
    pub body: String,
    pub internal: bool,
    /// JSON [upload id…].
    #[sea_orm(column_type = "Text")]
    pub upload_ids: String,
    /// An instant answer's mini-program page.
    pub link: Option<String>,
    pub created_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
