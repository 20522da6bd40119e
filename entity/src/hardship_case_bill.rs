//! Table `hardship_case_bills`: a bill a hardship case relieved, once (unique case × bill).
use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "hardship_case_bills")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i32,
    pub case_id: i32,
    pub bill_id: i32,
    /// Principal taken off by a reduction (0 for a deferral).
    pub reduced_fen: i64,
    /// A deferral's original due date.
    pub deferred_from: Option<Date>,
    pub applied_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
