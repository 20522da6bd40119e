//! Table `vacancy_applications`: an owner's application for the vacancy discount.
use crate::states::VacancyStatus;
use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "vacancy_applications")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i32,
    pub community_id: i32,
    pub unit_id: i32,
    /// The unit id while requested or approved, NULL after: one live application per unit.
    pub live_unit_id: Option<i32>,
    pub account_id: i32,
    /// The first day of the first month the owner says the unit stands empty.
    pub from_month: Date,
    #[sea_orm(column_type = "Text", nullable)]
    pub reason: Option<String>,
    pub status: VacancyStatus,
    /// The inspection: who, when, what they found and wrote.
    pub inspected_by: Option<String>,
    pub inspected_at: Option<DateTimeUtc>,
    pub vacant: Option<bool>,
    #[sea_orm(column_type = "Text", nullable)]
    pub inspection_note: Option<String>,
    pub decided_by: Option<String>,
    pub decided_at: Option<DateTimeUtc>,
    #[sea_orm(column_type = "Text", nullable)]
    pub decision_reason: Option<String>,
    /// The community's policy as it stood at approval.
    pub percent: Option<String>,
    pub max_months_per_year: Option<i32>,
    /// The last day a bill's period may start on to be discounted (the end of the year).
    pub ends_on: Option<Date>,
    pub ended_at: Option<DateTimeUtc>,
    #[sea_orm(column_type = "Text", nullable)]
    pub end_reason: Option<String>,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
