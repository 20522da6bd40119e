//! What staff must know before asking a unit for money (PRODUCT.md: "staff see context"): its
//! complaints and disputes still being worked on. Read from the tickets tables, which the tickets
//! context owns and writes; collection only looks.
use crate::domain::tickets::{self, TicketCategory, TicketStatus};
use crate::error::ApiResult;
use chrono::{DateTime, Utc};
use entity::ticket;
use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder};
use serde::Serialize;
use utoipa::ToSchema;

/// An open complaint or dispute, as a follow-up task shows it.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct OpenTicket {
    pub id: i32,
    pub unit_id: i32,
    /// `complaint` or `dispute`.
    pub category: String,
    pub category_label: String,
    pub title: String,
    pub status_label: String,
    pub created_at: DateTime<Utc>,
}

/// Complaints and disputes still being worked on these units, oldest first.
pub async fn open_tickets<C: ConnectionTrait>(db: &C, unit_ids: &[i32]) -> ApiResult<Vec<OpenTicket>> {
    if unit_ids.is_empty() {
        return Ok(Vec::new());
    }
    Ok(ticket::Entity::find()
        .filter(ticket::Column::UnitId.is_in(unit_ids.iter().copied()))
        .filter(ticket::Column::Category.is_in([TicketCategory::Complaint, TicketCategory::Dispute]))
        .filter(ticket::Column::Status.is_in([TicketStatus::Open, TicketStatus::WaitingOwner]))
        .order_by_asc(ticket::Column::Id)
        .all(db)
        .await?
        .into_iter()
        .map(|t| OpenTicket {
            id: t.id,
            unit_id: t.unit_id,
            category: t.category.as_str().into(),
            category_label: tickets::category_label(t.category).into(),
            title: t.title,
            status_label: tickets::status_label(t.status).into(),
            created_at: t.created_at,
        })
        .collect())
}
