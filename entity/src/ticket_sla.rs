//! Table `ticket_sla`: a community's SLA budgets for one ticket category (defaults apply without a row).
use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "ticket_sla")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i32,
    pub community_id: i32,
    /// A ticket category, or `emergency_repair`.
    pub category: String,
    pub first_response_minutes: i32,
    pub resolution_minutes: i32,
    pub business_start: Option<String>,
    pub business_end: Option<String>,
    pub skip_closed_days: bool,
    pub updated_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
