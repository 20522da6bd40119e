//! Uploaded photos, in the database so every replica serves them. Each belongs to its uploader
//! until it is attached to a record (a contact, later a ticket), whose readers may then see it.
use crate::idx;
use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.create_table(
            Table::create()
                .table("uploads")
                .col(pk_auto("id"))
                // `owner:N` or `staff:N`.
                .col(string("uploader"))
                .col(string("content_type"))
                .col(integer("size_bytes"))
                .col(string("sha256"))
                .col(blob("data"))
                // What it is attached to (`contact`: a contact record in the evidence of unit `attached_id`), and its community.
                .col(string_null("attached_kind"))
                .col(integer_null("attached_id"))
                .col(integer_null("community_id"))
                .col(timestamp_with_time_zone("created_at"))
                .to_owned(),
        )
        .await?;
        m.create_index(idx(
            "ix_uploads_attached",
            "uploads",
            &["attached_kind", "attached_id"],
            false,
        ))
        .await?;
        Ok(())
    }
}
