//! Table `installment_plan_instalments`: a plan's schedule (the instalment bill once it is issued).
use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "installment_plan_instalments")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i32,
    pub plan_id: i32,
    /// 1 for the first.
    pub seq: i32,
    pub due_date: Date,
    pub amount_fen: i64,
    /// The instalment's bill, once the plan is accepted.
    pub bill_id: Option<i32>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
