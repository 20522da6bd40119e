//! Table `bill_entries`.
use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "bill_entries")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i32,
    pub bill_id: i32,
    pub kind: crate::states::EntryKind,
    pub principal_fen: i64,
    pub late_fee_fen: i64,
    pub on_date: Date,
    pub reason: String,
    pub actor: String,
    pub reference: Option<String>,
    pub created_at: DateTimeUtc,
    /// The day the entry moved principal for late-fee purposes when not `on_date` (an instalment's
    /// payment credited back to the bill when its plan defaulted counts from the day it was paid).
    pub effective_on: Option<Date>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
