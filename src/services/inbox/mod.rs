//! The staff inbox: events post items to the staff members they concern (by role and community
//! scope; admins always), once per event and person however often the event is posted, and each
//! member reads and marks their own. The console shows the unread count on every page.
use crate::domain::role::Role;
use crate::error::{ApiError, ApiResult};
use crate::services::access::staff::StaffCtx;
use crate::services::setup::{Page, PageQuery};
use crate::state::AppState;
use chrono::{DateTime, Utc};
use entity::{staff_community, staff_inbox, staff_user};
use sea_orm::sea_query::{Expr, OnConflict};
use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, PaginatorTrait, QueryFilter, QueryOrder, QuerySelect, Set};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

/// Who an item is for.
pub enum To {
    /// Active staff of these roles whose scope includes the community, and every admin.
    Community { community_id: i32, roles: &'static [Role] },
    /// Every active admin (when no community can be named).
    Admins,
    /// One member (if still active), e.g. a ticket's assignee.
    Member(i32),
}

/// One thing to look at.
pub struct Item {
    /// e.g. `payment_exception`.
    pub kind: &'static str,
    pub title: String,
    pub body: String,
    /// Where in the console to act on it.
    pub link: Option<String>,
    /// Names the event: posting it again adds nothing.
    pub event_key: String,
}

/// Posts an item inside the caller's transaction; how many staff members got it new.
pub async fn post<C: ConnectionTrait>(db: &C, to: To, item: Item, now: DateTime<Utc>) -> ApiResult<u64> {
    let staff = staff_user::Entity::find()
        .filter(staff_user::Column::Active.eq(true))
        .all(db)
        .await?;
    let (community, roles, member) = match to {
        To::Community { community_id, roles } => (Some(community_id), roles, None),
        To::Admins => (None, &[][..], None),
        To::Member(id) => (None, &[][..], Some(id)),
    };
    let scoped: Vec<i32> = match community {
        Some(c) => staff_community::Entity::find()
            .filter(staff_community::Column::CommunityId.eq(c))
            .all(db)
            .await?
            .into_iter()
            .map(|s| s.staff_id)
            .collect(),
        None => Vec::new(),
    };
    let recipients: Vec<i32> = staff
        .into_iter()
        .filter(|s| match Role::parse(&s.role) {
            _ if member.is_some() => member == Some(s.id),
            Some(Role::Admin) => true,
            Some(r) => roles.contains(&r) && scoped.contains(&s.id),
            None => false,
        })
        .map(|s| s.id)
        .collect();
    if recipients.is_empty() {
        return Ok(0);
    }
    let rows = recipients.into_iter().map(|staff_id| staff_inbox::ActiveModel {
        staff_id: Set(staff_id),
        kind: Set(item.kind.to_string()),
        title: Set(item.title.clone()),
        body: Set(item.body.clone()),
        link: Set(item.link.clone()),
        event_key: Set(item.event_key.clone()),
        created_at: Set(now),
        read_at: Set(None),
        ..Default::default()
    });
    Ok(staff_inbox::Entity::insert_many(rows)
        .on_conflict(
            OnConflict::columns([staff_inbox::Column::StaffId, staff_inbox::Column::EventKey])
                .do_nothing()
                .to_owned(),
        )
        .exec_without_returning(db)
        .await?)
}

#[derive(Debug, Deserialize, IntoParams)]
pub struct InboxQuery {
    /// Only unread items.
    pub unread: Option<bool>,
    #[param(minimum = 1, maximum = 10000)]
    pub page: Option<u64>,
    #[param(minimum = 1, maximum = 200)]
    pub per_page: Option<u64>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct InboxItem {
    pub id: i32,
    pub kind: String,
    pub title: String,
    pub body: String,
    pub link: Option<String>,
    pub created_at: DateTime<Utc>,
    pub read_at: Option<DateTime<Utc>>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct Inbox {
    pub unread: u64,
    #[serde(flatten)]
    pub page: Page<InboxItem>,
}

/// How many of the member's items are unread (the console's badge).
pub async fn unread(state: &AppState, staff_id: i32) -> ApiResult<u64> {
    Ok(staff_inbox::Entity::find()
        .filter(staff_inbox::Column::StaffId.eq(staff_id))
        .filter(staff_inbox::Column::ReadAt.is_null())
        .count(&state.db)
        .await?)
}

/// The member's own items, newest first.
pub async fn list(state: &AppState, ctx: &StaffCtx, q: InboxQuery) -> ApiResult<Inbox> {
    let mut query = staff_inbox::Entity::find().filter(staff_inbox::Column::StaffId.eq(ctx.id));
    if q.unread == Some(true) {
        query = query.filter(staff_inbox::Column::ReadAt.is_null());
    }
    let page = PageQuery {
        page: q.page,
        per_page: q.per_page,
    };
    let (rows, total, page_no, per_page) =
        crate::services::setup::paginate(state, query.order_by_desc(staff_inbox::Column::Id), &page).await?;
    Ok(Inbox {
        unread: unread(state, ctx.id).await?,
        page: Page {
            items: rows
                .into_iter()
                .map(|r| InboxItem {
                    id: r.id,
                    kind: r.kind,
                    title: r.title,
                    body: r.body,
                    link: r.link,
                    created_at: r.created_at,
                    read_at: r.read_at,
                })
                .collect(),
            total,
            page: page_no,
            per_page,
        },
    })
}

/// Marks one of the member's items read (again is fine); 404 for anyone else's.
pub async fn mark_read(state: &AppState, ctx: &StaffCtx, id: i32) -> ApiResult<()> {
    let found = staff_inbox::Entity::find_by_id(id)
        .select_only()
        .column(staff_inbox::Column::StaffId)
        .into_tuple::<i32>()
        .one(&state.db)
        .await?;
    if found != Some(ctx.id) {
        return Err(ApiError::NotFound);
    }
    staff_inbox::Entity::update_many()
        .col_expr(staff_inbox::Column::ReadAt, Expr::value(state.clock.now()))
        .filter(staff_inbox::Column::Id.eq(id))
        .filter(staff_inbox::Column::ReadAt.is_null())
        .exec(&state.db)
        .await?;
    Ok(())
}

/// Marks all of the member's items read.
pub async fn mark_all_read(state: &AppState, ctx: &StaffCtx) -> ApiResult<u64> {
    Ok(staff_inbox::Entity::update_many()
        .col_expr(staff_inbox::Column::ReadAt, Expr::value(state.clock.now()))
        .filter(staff_inbox::Column::StaffId.eq(ctx.id))
        .filter(staff_inbox::Column::ReadAt.is_null())
        .exec(&state.db)
        .await?
        .rows_affected)
}
