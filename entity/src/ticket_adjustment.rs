//! Table `ticket_adjustments`: a bill correction a dispute's resolution asks for, and finance's
//! decision on it (an approval is applied by the ledger and names its entry).
use crate::states::{AdjustmentKind, AdjustmentStatus};
use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "ticket_adjustments")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i32,
    pub ticket_id: i32,
    pub community_id: i32,
    pub unit_id: i32,
    pub bill_id: i32,
    pub kind: AdjustmentKind,
    pub amount_fen: Option<i64>,
    pub principal_before_fen: i64,
    #[sea_orm(column_type = "Text")]
    pub reason: String,
    pub status: AdjustmentStatus,
    pub requested_by: i32,
    pub requested_at: DateTimeUtc,
    pub decided_by: Option<i32>,
    pub decided_at: Option<DateTimeUtc>,
    #[sea_orm(column_type = "Text", nullable)]
    pub decision_note: Option<String>,
    pub entry_id: Option<i32>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
