//! Table `tickets`: one complaint, repair, dispute, suggestion or enquiry from an owner, with its
//! SLA clock and how it ended.
use crate::states::{TicketCategory, TicketStatus};
use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "tickets")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i32,
    pub community_id: i32,
    pub unit_id: i32,
    pub account_id: i32,
    pub category: TicketCategory,
    pub emergency: bool,
    pub title: String,
    #[sea_orm(column_type = "Text")]
    pub body: String,
    pub status: TicketStatus,
    pub assignee_id: Option<i32>,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
    pub clock_from: Option<DateTimeUtc>,
    pub first_response_due_at: Option<DateTimeUtc>,
    pub first_responded_at: Option<DateTimeUtc>,
    pub resolution_due_at: Option<DateTimeUtc>,
    /// JSON [{"from","to"}].
    #[sea_orm(column_type = "Text")]
    pub pauses: String,
    pub response_breached_at: Option<DateTimeUtc>,
    pub resolution_breached_at: Option<DateTimeUtc>,
    pub resolved_at: Option<DateTimeUtc>,
    #[sea_orm(column_type = "Text", nullable)]
    pub resolution: Option<String>,
    pub resolved_by: Option<i32>,
    pub rating: Option<i32>,
    #[sea_orm(column_type = "Text", nullable)]
    pub rating_comment: Option<String>,
    pub rated_at: Option<DateTimeUtc>,
    pub reopen_count: i32,
    pub merged_into: Option<i32>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
