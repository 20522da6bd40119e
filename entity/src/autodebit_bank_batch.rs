//! Table `autodebit_bank_batches`: a batch file of bank debits (银行托收) for one community and day.
use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "autodebit_bank_batches")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i32,
    pub community_id: i32,
    /// The day the bank is asked to debit.
    pub debit_date: Date,
    pub rows: i32,
    pub total_fen: i64,
    /// `staff:{id}`.
    pub created_by: String,
    pub created_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
