//! Table `installment_plans`: an owner's installment plan (分期协议), from request to its end.
use crate::states::PlanStatus;
use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "installment_plans")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i32,
    pub community_id: i32,
    pub unit_id: i32,
    /// The owner account that asked.
    pub account_id: i32,
    pub months: i32,
    /// Outstanding principal of the covered bills when asked (what the instalments pay).
    pub principal_fen: i64,
    /// Their outstanding late fee when asked (frozen at acceptance, waived when the plan is kept).
    pub late_fee_fen: i64,
    pub status: PlanStatus,
    #[sea_orm(column_type = "Text", nullable)]
    pub owner_reason: Option<String>,
    /// `staff:{id}` who approved or rejected.
    pub decided_by: Option<String>,
    pub decided_at: Option<DateTimeUtc>,
    #[sea_orm(column_type = "Text", nullable)]
    pub decision_reason: Option<String>,
    /// The agreement the owner is asked to accept, fixed at approval.
    #[sea_orm(column_type = "Text", nullable)]
    pub agreement_text: Option<String>,
    pub agreement_sha256: Option<String>,
    pub accepted_at: Option<DateTimeUtc>,
    pub accepted_client: Option<String>,
    pub ended_at: Option<DateTimeUtc>,
    #[sea_orm(column_type = "Text", nullable)]
    pub end_reason: Option<String>,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
    /// The community's local day the owner accepted: instalments are due from it, and the
    /// covered bills' late fee stops growing on it.
    pub accepted_on: Option<Date>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
