//! Table `notices`: a printed notice with its number, the scene its mini-program code carries, and
//! a snapshot of the bills and amounts it states (so a reprint is identical).
use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "notices")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i32,
    pub number: String,
    pub scene: String,
    pub community_id: i32,
    pub unit_id: i32,
    pub owner_id: i32,
    pub reminder_id: i32,
    pub stage: String,
    /// JSON: the letter and its table at the moment the notice was made.
    pub snapshot: String,
    /// The mini-program code (PNG, base64) once made.
    pub code_png: Option<String>,
    pub created_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
