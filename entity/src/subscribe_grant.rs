//! Table `subscribe_grants`: A one-time WeChat subscribe-message grant (each accept allows one message).
use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "subscribe_grants")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i32,
    pub account_id: i32,
    pub template_id: String,
    pub granted_at: DateTimeUtc,
    pub spent_at: Option<DateTimeUtc>,
    pub reminder_id: Option<i32>,
    /// What it carried when not a reminder (e.g. `ticket:7:message:12`).
    pub spent_for: Option<String>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
