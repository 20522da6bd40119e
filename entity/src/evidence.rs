//! Table `evidence`: Append-only, hash-chained evidence per unit.
use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "evidence")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i32,
    pub unit_id: i32,
    pub seq: i32,
    pub kind: String,
    pub stage: Option<String>,
    pub channel: String,
    pub at: DateTimeUtc,
    pub content: String,
    pub content_sha256: String,
    pub chain_hash: String,
    pub result: String,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
