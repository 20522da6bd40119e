//! Table `installment_plan_bills`: the bills a plan covers.
use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "installment_plan_bills")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i32,
    pub plan_id: i32,
    pub bill_id: i32,
    /// The bill id while the plan is live (requested, approved, active), NULL after: unique, so a
    /// bill is in one live plan at most.
    pub live_bill_id: Option<i32>,
    /// Its outstanding principal when the plan was asked for.
    pub principal_fen: i64,
    /// Its outstanding late fee then.
    pub late_fee_fen: i64,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
