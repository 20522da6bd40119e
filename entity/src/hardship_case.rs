//! Table `hardship_cases`: an owner's hardship case (困难减免), from request to review.
use crate::states::{HardshipCategory, HardshipStatus, Relief};
use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "hardship_cases")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i32,
    pub community_id: i32,
    pub unit_id: i32,
    /// The unit id while the case is requested or approved, NULL after: unique, so a unit has one
    /// live case at most.
    pub live_unit_id: Option<i32>,
    /// The owner account that asked.
    pub account_id: i32,
    pub category: HardshipCategory,
    #[sea_orm(column_type = "Text")]
    pub reason: String,
    pub status: HardshipStatus,
    pub relief: Option<Relief>,
    /// A reduction's percentage off the principal, a decimal string (e.g. "30" or "12.5").
    pub percent: Option<String>,
    /// A deferral's new due date.
    pub defer_to: Option<Date>,
    /// The window: bills due from `starts_on` to `ends_on` (inclusive) are relieved, and
    /// reminders on the unit pause meanwhile.
    pub starts_on: Option<Date>,
    pub ends_on: Option<Date>,
    /// `staff:{id}` who approved or rejected.
    pub decided_by: Option<String>,
    pub decided_at: Option<DateTimeUtc>,
    #[sea_orm(column_type = "Text", nullable)]
    pub decision_reason: Option<String>,
    /// A deferral's acknowledgment the owner may sign (it restarts limitation, art. 195).
    #[sea_orm(column_type = "Text", nullable)]
    pub ack_text: Option<String>,
    pub ack_sha256: Option<String>,
    pub acknowledged_at: Option<DateTimeUtc>,
    pub acknowledged_client: Option<String>,
    /// The review once the window is over.
    pub reviewed_by: Option<String>,
    pub reviewed_at: Option<DateTimeUtc>,
    #[sea_orm(column_type = "Text", nullable)]
    pub review_note: Option<String>,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
