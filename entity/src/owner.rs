//! Table `owners`.
use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "owners")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i32,
    pub community_id: i32,
    pub name: String,
    pub phone_enc: String,
    pub phone_index: String,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
    /// The owner asked for no friendly reminders (formal notices still go out).
    pub friendly_opt_out: Option<bool>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
