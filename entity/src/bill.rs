//! Table `bills`.
use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "bills")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i32,
    pub community_id: i32,
    pub unit_id: i32,
    pub fee_item_id: i32,
    pub period: String,
    pub period_start: Date,
    pub period_end: Date,
    pub due_date: Date,
    pub principal_fen: i64,
    pub paid_principal_fen: i64,
    pub late_fee_paid_fen: i64,
    pub late_fee_waived_fen: i64,
    pub status: crate::states::BillStatus,
    pub paid_at: Option<DateTimeUtc>,
    pub created_at: DateTimeUtc,
    /// When a delivered formal demand last restarted the limitation period (art. 195); else the due date counts.
    pub limitation_from: Option<Date>,
    /// The day the bill was issued (None for bills issued before this was recorded).
    pub issued_on: Option<Date>,
    /// The fee item's due date when `billing.min_notice_days` moved the due date later; else None.
    pub nominal_due_date: Option<Date>,
    /// The installment plan this bill is an instalment of; 0 for an ordinary bill.
    pub installment_plan_id: i32,
    /// Its place in the plan (1 for the first); None for an ordinary bill.
    pub installment_seq: Option<i32>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
