//! Reading the audit trail (admin only): who changed what, when, newest first, filtered by who,
//! by what kind of record, or by one record. Writing it is `services::audit`.
use crate::domain::role::Action;
use crate::error::{ApiError, ApiResult};
use crate::services::access::staff::StaffCtx;
use crate::state::AppState;
use chrono::{DateTime, Utc};
use entity::audit_log;
use sea_orm::{ColumnTrait, EntityTrait, PaginatorTrait, QueryFilter, QueryOrder};

/// Filters of the audit log page.
#[derive(Debug, Default, Clone)]
pub struct AuditQuery {
    /// `staff:3`, `scheduler`, …
    pub actor: Option<String>,
    /// `community`, `unit`, `owner`, `staff_user`, …
    pub entity: Option<String>,
    pub entity_id: Option<i32>,
    pub page: u64,
}

/// One audited action.
#[derive(Debug, Clone)]
pub struct AuditEntry {
    pub id: i32,
    pub actor: String,
    pub action: String,
    pub entity: String,
    pub entity_id: i32,
    /// JSON as recorded (never clear personal data).
    pub detail: String,
    pub at: DateTime<Utc>,
}

/// A page of entries and how many match in all.
pub struct AuditPage {
    pub items: Vec<AuditEntry>,
    pub total: u64,
    pub page: u64,
    pub per_page: u64,
}

const PER_PAGE: u64 = 50;

pub async fn list(state: &AppState, ctx: &StaffCtx, q: AuditQuery) -> ApiResult<AuditPage> {
    ctx.require(Action::ManageStaff)?;
    if q.page == 0 || q.page > 10_000 {
        return Err(ApiError::field("page", "页码应在1到10000之间"));
    }
    let mut find = audit_log::Entity::find().order_by_desc(audit_log::Column::Id);
    if let Some(a) = q.actor.as_deref().filter(|a| !a.is_empty()) {
        find = find.filter(audit_log::Column::Actor.eq(a));
    }
    if let Some(e) = q.entity.as_deref().filter(|e| !e.is_empty()) {
        find = find.filter(audit_log::Column::Entity.eq(e));
    }
    if let Some(id) = q.entity_id {
        find = find.filter(audit_log::Column::EntityId.eq(id));
    }
    let pages = find.paginate(&state.db, PER_PAGE);
    let total = pages.num_items().await?;
    let items = pages
        .fetch_page(q.page - 1)
        .await?
        .into_iter()
        .map(|r| AuditEntry {
            id: r.id,
            actor: r.actor,
            action: r.action,
            entity: r.entity,
            entity_id: r.entity_id,
            detail: r.detail,
            at: r.at,
        })
        .collect();
    Ok(AuditPage {
        items,
        total,
        page: q.page,
        per_page: PER_PAGE,
    })
}
