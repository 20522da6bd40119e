//! Table `owner_accounts`.
use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "owner_accounts")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i32,
    pub openid: String,
    pub unionid: Option<String>,
    pub phone_enc: Option<String>,
    pub phone_index: Option<String>,
    pub phone_verified_at: Option<DateTimeUtc>,
    pub created_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
