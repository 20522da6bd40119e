//! Table `reminders`: One message per owner × stage × episode: claimed, sent (or suppressed) once.
use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "reminders")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i32,
    pub owner_id: i32,
    pub community_id: i32,
    pub stage: String,
    pub episode_key: String,
    pub status: crate::states::ReminderStatus,
    pub not_before: DateTimeUtc,
    pub lease_until: Option<DateTimeUtc>,
    pub attempts: i32,
    pub bill_ids: String,
    pub amount_fen: i64,
    pub channel: Option<String>,
    pub content: Option<String>,
    pub provider_answer: Option<String>,
    pub provider_ref: Option<String>,
    pub created_at: DateTimeUtc,
    pub sent_at: Option<DateTimeUtc>,
    /// The owner's learned hour this reminder was queued for (local); None: sent when due.
    pub best_hour: Option<i32>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
