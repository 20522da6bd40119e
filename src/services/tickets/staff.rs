//! The staff side of tickets: the queue of the member's communities ordered by SLA deadline,
//! assigning, replies and staff-only notes, merging duplicates, resolving.
//!
//! Who sees what: service staff and admins work every ticket of their communities; collectors read
//! complaints and disputes on units with an open follow-up task (so nobody asks for money without
//! answering them first), read-only; finance reads disputes (it approves what they waive).
use super::events::{self, Stage, Tell};
use super::owner::{add_message, resume, touch};
use super::{body_text, choice, not_now, photo_ids, thread, view_of, views, Author, Reader, TicketView, UPLOAD_KIND};
use crate::domain::role::{Action, Role};
use crate::domain::sla::Pause;
use crate::domain::tickets::{self, TicketCategory, TicketStatus};
use crate::error::{ApiError, ApiResult, FieldErrors};
use crate::services::access::staff::StaffCtx;
use crate::services::setup::{Page, PageQuery};
use crate::services::uploads::{self, Photo, Uploader};
use crate::state::AppState;
use entity::{staff_task, staff_user, ticket, ticket_bill};
use sea_orm::sea_query::{Expr, OnConflict, Query};
use sea_orm::{ColumnTrait, Condition, EntityTrait, QueryFilter, QueryOrder, QuerySelect, Set};
use serde::Deserialize;
use utoipa::{IntoParams, ToSchema};

/// What a member may do with tickets.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Access {
    /// Every ticket of their communities, and act on them.
    Handle,
    /// Complaints and disputes on units with an open follow-up task.
    Collector,
    /// Disputes.
    Finance,
}

fn access(ctx: &StaffCtx) -> ApiResult<Access> {
    if ctx.role.may(Action::HandleTickets) {
        Ok(Access::Handle)
    } else if ctx.role == Role::Collector {
        Ok(Access::Collector)
    } else if ctx.role == Role::Finance {
        Ok(Access::Finance)
    } else {
        Err(ApiError::Forbidden)
    }
}

/// The tickets a member may read, as a condition on `tickets`.
fn readable(ctx: &StaffCtx, a: Access) -> Condition {
    let mut c = Condition::all();
    if !ctx.role.sees_all_communities() {
        c = c.add(ticket::Column::CommunityId.is_in(ctx.communities.clone()));
    }
    match a {
        Access::Handle => c,
        Access::Finance => c.add(ticket::Column::Category.eq(TicketCategory::Dispute)),
        Access::Collector => c
            .add(ticket::Column::Category.is_in([TicketCategory::Complaint, TicketCategory::Dispute]))
            .add(
                ticket::Column::UnitId.in_subquery(
                    Query::select()
                        .column(staff_task::Column::UnitId)
                        .from(staff_task::Entity)
                        .and_where(staff_task::Column::Status.eq("open"))
                        .to_owned(),
                ),
            ),
    }
}

/// A ticket the member may read, or 404.
async fn visible(state: &AppState, ctx: &StaffCtx, id: i32) -> ApiResult<(ticket::Model, Access)> {
    let a = access(ctx)?;
    let t = ticket::Entity::find_by_id(id)
        .filter(readable(ctx, a))
        .one(&state.db)
        .await?
        .ok_or(ApiError::NotFound)?;
    Ok((t, a))
}

/// A ticket the member may act on: 404 if they may not read it, 403 if they may only read it.
pub(super) async fn workable(state: &AppState, ctx: &StaffCtx, id: i32) -> ApiResult<ticket::Model> {
    let (t, a) = visible(state, ctx, id).await?;
    if a != Access::Handle {
        return Err(ApiError::Forbidden);
    }
    Ok(t)
}

/// `GET /staff/tickets`.
#[derive(Debug, Deserialize, IntoParams)]
pub struct StaffTicketQuery {
    pub community_id: Option<i32>,
    /// One state; without it, the tickets that still need staff (`open`, `waiting_owner`).
    #[param(pattern = r"^(answered|open|waiting_owner|resolved|merged)$")]
    pub status: Option<String>,
    #[param(pattern = r"^(complaint|repair|dispute|suggestion|enquiry)$")]
    pub category: Option<String>,
    pub assignee_id: Option<i32>,
    /// Only tickets nobody is assigned to (true) or only assigned ones (false).
    pub unassigned: Option<bool>,
    /// Only emergency repairs (true) or everything else (false).
    pub emergency: Option<bool>,
    /// Only tickets that missed a deadline (true) or never did (false).
    pub breached: Option<bool>,
    pub unit_id: Option<i32>,
    #[param(minimum = 1, maximum = 10000)]
    pub page: Option<u64>,
    #[param(minimum = 1, maximum = 200)]
    pub per_page: Option<u64>,
}

/// Assignees' names as the console shows staff (`员工 kefu1`), by id.
async fn names(state: &AppState, rows: &[ticket::Model]) -> ApiResult<std::collections::HashMap<i32, String>> {
    let actors: Vec<String> = rows
        .iter()
        .filter_map(|t| t.assignee_id)
        .map(|a| format!("staff:{a}"))
        .collect();
    let refs: Vec<&str> = actors.iter().map(String::as_str).collect();
    let named = crate::services::access::staff::actor_names(state, &refs).await?;
    Ok(rows
        .iter()
        .filter_map(|t| t.assignee_id)
        .filter_map(|a| named.get(&format!("staff:{a}")).map(|n| (a, n.clone())))
        .collect())
}

/// `GET /staff/tickets`: the queue, soonest deadline first (the next one each ticket must meet:
/// its first response until answered, then its resolution); stopped clocks and closed tickets last.
pub async fn queue(state: &AppState, ctx: &StaffCtx, q: StaffTicketQuery) -> ApiResult<Page<TicketView>> {
    let a = access(ctx)?;
    let mut errors = FieldErrors::new();
    let status = q
        .status
        .as_deref()
        .and_then(|s| choice::<TicketStatus>("status", s, "状态无效", &mut errors));
    let category = q
        .category
        .as_deref()
        .and_then(|s| choice::<TicketCategory>("category", s, "类别无效", &mut errors));
    let page = PageQuery {
        page: q.page,
        per_page: q.per_page,
    };
    page.bounds()?;
    ApiError::check(errors)?;
    if let Some(c) = q.community_id {
        ctx.require_community(c)?;
    }
    let mut query = ticket::Entity::find().filter(readable(ctx, a));
    query = match status {
        Some(s) => query.filter(ticket::Column::Status.eq(s)),
        None => query.filter(ticket::Column::Status.is_in([TicketStatus::Open, TicketStatus::WaitingOwner])),
    };
    if let Some(c) = category {
        query = query.filter(ticket::Column::Category.eq(c));
    }
    if let Some(c) = q.community_id {
        query = query.filter(ticket::Column::CommunityId.eq(c));
    }
    if let Some(s) = q.assignee_id {
        query = query.filter(ticket::Column::AssigneeId.eq(s));
    }
    match q.unassigned {
        Some(true) => query = query.filter(ticket::Column::AssigneeId.is_null()),
        Some(false) => query = query.filter(ticket::Column::AssigneeId.is_not_null()),
        None => {}
    }
    if let Some(e) = q.emergency {
        query = query.filter(ticket::Column::Emergency.eq(e));
    }
    if let Some(u) = q.unit_id {
        query = query.filter(ticket::Column::UnitId.eq(u));
    }
    let breached = Condition::any()
        .add(ticket::Column::ResponseBreachedAt.is_not_null())
        .add(ticket::Column::ResolutionBreachedAt.is_not_null());
    match q.breached {
        Some(true) => query = query.filter(breached),
        Some(false) => query = query.filter(breached.not()),
        None => {}
    }
    // The deadline to meet next; NULLs (stopped clocks, closed tickets) after every date, on both backends.
    let next_due = "CASE WHEN first_responded_at IS NULL THEN first_response_due_at ELSE resolution_due_at END";
    let query = query
        .order_by_asc(Expr::cust(format!(
            "CASE WHEN status IN ('open', 'waiting_owner') AND ({next_due}) IS NOT NULL THEN 0 ELSE 1 END"
        )))
        .order_by_asc(Expr::cust(next_due))
        .order_by_asc(ticket::Column::Id);
    let (rows, total, page_no, per_page) = crate::services::setup::paginate(state, query, &page).await?;
    let names = names(state, &rows).await?;
    Ok(Page {
        items: views(&state.db, &rows, Reader::Staff)
            .await?
            .into_iter()
            .map(|mut v| {
                v.assignee_name = v.assignee_id.and_then(|id| names.get(&id).cloned());
                v
            })
            .collect(),
        total,
        page: page_no,
        per_page,
    })
}

/// `GET /staff/tickets/{id}`: with the whole thread, internal notes included.
pub async fn get(state: &AppState, ctx: &StaffCtx, id: i32) -> ApiResult<TicketView> {
    let (t, _) = visible(state, ctx, id).await?;
    detail(state, &t).await
}

async fn detail(state: &AppState, t: &ticket::Model) -> ApiResult<TicketView> {
    let mut v = view_of(&state.db, t, Reader::Staff).await?;
    let authors: Vec<String> = entity::ticket_message::Entity::find()
        .filter(entity::ticket_message::Column::TicketId.eq(t.id))
        .filter(entity::ticket_message::Column::AuthorKind.eq("staff"))
        .all(&state.db)
        .await?
        .iter()
        .filter_map(|m| m.author_id.map(|a| format!("staff:{a}")))
        .chain(t.assignee_id.map(|a| format!("staff:{a}")))
        .collect();
    let refs: Vec<&str> = authors.iter().map(String::as_str).collect();
    let names = crate::services::access::staff::actor_names(state, &refs).await?;
    v.assignee_name = t.assignee_id.and_then(|a| names.get(&format!("staff:{a}")).cloned());
    v.messages = Some(thread(&state.db, t, Reader::Staff, &names).await?);
    if t.category == TicketCategory::Dispute {
        v.adjustments = Some(super::adjustments::of_ticket(state, t.id).await?);
    }
    Ok(v)
}

/// `POST /staff/tickets/{id}/assign`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Assign {
    /// An active service member (or admin) who sees the ticket's community.
    pub staff_id: i32,
}

pub async fn assign(state: &AppState, ctx: &StaffCtx, id: i32, body: Assign) -> ApiResult<TicketView> {
    let t = workable(state, ctx, id).await?;
    if !tickets::is_active(t.status) {
        return Err(not_now(&t));
    }
    let who = crate::services::access::staff::load_ctx(state, body.staff_id, String::new())
        .await
        .ok()
        .filter(|s| s.role.may(Action::HandleTickets) && s.sees(t.community_id))
        .ok_or_else(|| ApiError::field("staff_id", "只能指派给负责该小区的客服人员"))?;
    let now = state.clock.now();
    let txn = crate::db::begin_write(&state.db).await?;
    ticket::Entity::update_many()
        .col_expr(ticket::Column::AssigneeId, Expr::value(who.id))
        .col_expr(ticket::Column::UpdatedAt, Expr::value(now))
        .filter(ticket::Column::Id.eq(t.id))
        .exec(&txn)
        .await?;
    add_message(
        &txn,
        t.id,
        Author::System,
        &format!("{} 指派给 {}", ctx.username, who.username),
        true,
        &[],
        now,
    )
    .await?;
    if who.id != ctx.id {
        crate::services::inbox::post(
            &txn,
            crate::services::inbox::To::Member(who.id),
            crate::services::inbox::Item {
                kind: "ticket_assigned",
                title: format!("工单{}指派给您", t.id),
                body: format!("{}「{}」", tickets::category_label(t.category), t.title),
                link: Some(format!("/console/tickets/{}", t.id)),
                event_key: format!("ticket:{}:assigned:{}", t.id, now.timestamp_micros()),
            },
            now,
        )
        .await?;
    }
    crate::services::audit::record(
        &txn,
        &ctx.actor(),
        "ticket.assign",
        "ticket",
        t.id,
        serde_json::json!({"staff_id": who.id}),
        now,
    )
    .await?;
    txn.commit().await?;
    get(state, ctx, id).await
}

/// `POST /staff/tickets/{id}/messages`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct StaffMessage {
    #[schema(
        pattern = r#"^[^\u0000-\u0008\u000B\u000C\u000E-\u001F\u007F-\u009F]*[^\s\u0000-\u001F\u007F-\u009F][^\u0000-\u0008\u000B\u000C\u000E-\u001F\u007F-\u009F]*$"#,
        min_length = 1,
        max_length = 2000
    )]
    pub body: String,
    /// A staff-only note: the owner never sees it, it is not sent and is not evidence.
    pub internal: Option<bool>,
    /// The reply asks the owner something: the SLA clock stops until they answer.
    pub wait_for_owner: Option<bool>,
    /// Photos the member uploaded (`POST /staff/uploads`).
    #[schema(max_items = 9)]
    pub upload_ids: Option<Vec<i32>>,
}

pub async fn message(state: &AppState, ctx: &StaffCtx, id: i32, body: StaffMessage) -> ApiResult<TicketView> {
    let mut errors = FieldErrors::new();
    let text = body_text("body", &body.body, &mut errors);
    let upload_ids = body.upload_ids.unwrap_or_default();
    photo_ids("upload_ids", &upload_ids, &mut errors);
    ApiError::check(errors)?;
    let internal = body.internal == Some(true);
    let t = workable(state, ctx, id).await?;
    if !tickets::is_active(t.status) {
        return Err(not_now(&t));
    }
    let now = state.clock.now();
    let txn = crate::db::begin_write(&state.db).await?;
    let t = ticket::Entity::find_by_id(id)
        .lock_exclusive()
        .one(&txn)
        .await?
        .ok_or(ApiError::NotFound)?;
    if !tickets::is_active(t.status) {
        return Err(not_now(&t));
    }
    let photos = uploads::attach(
        &txn,
        &Uploader::Staff(ctx.id),
        &upload_ids,
        UPLOAD_KIND,
        t.id,
        t.community_id,
        "upload_ids",
    )
    .await?;
    let m = add_message(&txn, t.id, Author::Staff(ctx.id), &text, internal, &upload_ids, now).await?;
    if internal {
        touch(&txn, t.id, now).await?;
    } else {
        let mut update = ticket::Entity::update_many()
            .col_expr(ticket::Column::UpdatedAt, Expr::value(now))
            .filter(ticket::Column::Id.eq(t.id));
        if t.first_responded_at.is_none() {
            update = update.col_expr(ticket::Column::FirstRespondedAt, Expr::value(now));
        }
        if body.wait_for_owner == Some(true) && t.status == TicketStatus::Open {
            let mut pauses = tickets::pauses_of(&t.pauses);
            pauses.push(Pause { from: now, to: None });
            update = update
                .col_expr(ticket::Column::Status, Expr::value(TicketStatus::WaitingOwner))
                .col_expr(ticket::Column::Pauses, Expr::value(tickets::pauses_json(&pauses)))
                // Stopped: no deadline until the owner answers.
                .col_expr(
                    ticket::Column::ResolutionDueAt,
                    Expr::value(Option::<chrono::DateTime<chrono::Utc>>::None),
                );
        }
        update.exec(&txn).await?;
        let mut fields = serde_json::Map::new();
        fields.insert("body".into(), text.clone().into());
        if !photos.is_empty() {
            fields.insert("photos".into(), events::cited(&photos));
        }
        events::append(&txn, &t, Stage::StaffReply, "app", fields, &ctx.actor(), now).await?;
    }
    txn.commit().await?;
    if !internal {
        events::tell_owner(state, &t, Tell::Reply, &text, m.id).await;
    }
    get(state, ctx, id).await
}

/// `POST /staff/tickets/{id}/resolve`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Resolve {
    /// What was done, as the owner will read it.
    #[schema(
        pattern = r#"^[^\u0000-\u0008\u000B\u000C\u000E-\u001F\u007F-\u009F]*[^\s\u0000-\u001F\u007F-\u009F][^\u0000-\u0008\u000B\u000C\u000E-\u001F\u007F-\u009F]*$"#,
        min_length = 1,
        max_length = 2000
    )]
    pub resolution: String,
}

pub async fn resolve(state: &AppState, ctx: &StaffCtx, id: i32, body: Resolve) -> ApiResult<TicketView> {
    let mut errors = FieldErrors::new();
    let text = body_text("resolution", &body.resolution, &mut errors);
    ApiError::check(errors)?;
    let t = workable(state, ctx, id).await?;
    if !tickets::is_active(t.status) {
        return Err(not_now(&t));
    }
    let now = state.clock.now();
    let (pauses, _, _) = resume(state, &t, now).await?;
    let txn = crate::db::begin_write(&state.db).await?;
    let done = ticket::Entity::update_many()
        .col_expr(ticket::Column::Status, Expr::value(TicketStatus::Resolved))
        .col_expr(ticket::Column::ResolvedAt, Expr::value(now))
        .col_expr(ticket::Column::Resolution, Expr::value(text.clone()))
        .col_expr(ticket::Column::ResolvedBy, Expr::value(ctx.id))
        .col_expr(ticket::Column::Pauses, Expr::value(tickets::pauses_json(&pauses)))
        .col_expr(
            ticket::Column::FirstRespondedAt,
            Expr::value(t.first_responded_at.unwrap_or(now)),
        )
        .col_expr(ticket::Column::UpdatedAt, Expr::value(now))
        .filter(ticket::Column::Id.eq(t.id))
        .filter(ticket::Column::Status.is_in([TicketStatus::Open, TicketStatus::WaitingOwner]))
        .exec(&txn)
        .await?;
    if done.rows_affected != 1 {
        return Err(ApiError::Conflict(
            "TICKET_STATE",
            "工单状态已变化，请刷新后再试".into(),
        ));
    }
    // A correction still waiting for finance cannot be announced as done (the update above holds
    // the ticket's row, so a request cannot slip in between).
    super::adjustments::none_pending(&txn, t.id).await?;
    // The thread keeps every resolution, even one a reopen later sets aside.
    let m = add_message(
        &txn,
        t.id,
        Author::Staff(ctx.id),
        &format!("【处理结果】{text}"),
        false,
        &[],
        now,
    )
    .await?;
    let mut fields = serde_json::Map::new();
    fields.insert("resolution".into(), text.clone().into());
    events::append(&txn, &t, Stage::Resolved, "app", fields, &ctx.actor(), now).await?;
    txn.commit().await?;
    events::tell_owner(state, &t, Tell::Resolved, &text, m.id).await;
    get(state, ctx, id).await
}

/// `POST /staff/tickets/{id}/merge`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Merge {
    /// The ticket that carries on: open, in the same community, not this one.
    pub into_id: i32,
}

/// Folds a duplicate into another ticket: the duplicate ends as `merged`, its bills (a dispute's
/// stay out of collection) and its owner's thread point to the one that carries on.
pub async fn merge(state: &AppState, ctx: &StaffCtx, id: i32, body: Merge) -> ApiResult<TicketView> {
    let t = workable(state, ctx, id).await?;
    if !tickets::is_active(t.status) {
        return Err(not_now(&t));
    }
    let into = ticket::Entity::find_by_id(body.into_id)
        .filter(readable(ctx, Access::Handle))
        .one(&state.db)
        .await?
        .filter(|o| o.id != t.id && o.community_id == t.community_id && tickets::is_active(o.status))
        .ok_or_else(|| ApiError::field("into_id", "只能合并到同一小区处理中的另一张工单"))?;
    let now = state.clock.now();
    let txn = crate::db::begin_write(&state.db).await?;
    let done = ticket::Entity::update_many()
        .col_expr(ticket::Column::Status, Expr::value(TicketStatus::Merged))
        .col_expr(ticket::Column::MergedInto, Expr::value(into.id))
        .col_expr(ticket::Column::UpdatedAt, Expr::value(now))
        .filter(ticket::Column::Id.eq(t.id))
        .filter(ticket::Column::Status.is_in([TicketStatus::Open, TicketStatus::WaitingOwner]))
        .exec(&txn)
        .await?;
    if done.rows_affected != 1 {
        return Err(ApiError::Conflict(
            "TICKET_STATE",
            "工单状态已变化，请刷新后再试".into(),
        ));
    }
    super::adjustments::none_pending(&txn, t.id).await?;
    let bills: Vec<i32> = super::bills_of(&txn, &[t.id]).await?.remove(&t.id).unwrap_or_default();
    if !bills.is_empty() {
        ticket_bill::Entity::insert_many(bills.iter().map(|b| ticket_bill::ActiveModel {
            ticket_id: Set(into.id),
            bill_id: Set(*b),
            ..Default::default()
        }))
        .on_conflict(
            OnConflict::columns([ticket_bill::Column::TicketId, ticket_bill::Column::BillId])
                .do_nothing()
                .to_owned(),
        )
        .exec_without_returning(&txn)
        .await?;
    }
    add_message(
        &txn,
        t.id,
        Author::System,
        &format!(
            "此工单与工单{}反映的是同一问题，已合并到工单{}统一处理。",
            into.id, into.id
        ),
        false,
        &[],
        now,
    )
    .await?;
    add_message(
        &txn,
        into.id,
        Author::System,
        &format!("{} 将工单{}合并到此工单", ctx.username, t.id),
        true,
        &[],
        now,
    )
    .await?;
    let mut fields = serde_json::Map::new();
    fields.insert("into".into(), into.id.into());
    events::append(&txn, &t, Stage::Merged, "app", fields, &ctx.actor(), now).await?;
    txn.commit().await?;
    get(state, ctx, id).await
}

/// `GET /staff/tickets/{id}/photos/{upload_id}`: a photo of a ticket the member may read.
pub async fn photo(state: &AppState, ctx: &StaffCtx, id: i32, upload_id: i32) -> ApiResult<Photo> {
    let (t, _) = visible(state, ctx, id).await?;
    uploads::attached_photo(&state.db, upload_id, UPLOAD_KIND, t.id).await
}

/// Someone a ticket of a community can be assigned to.
#[derive(Debug, Clone, serde::Serialize, ToSchema)]
pub struct Assignee {
    pub id: i32,
    pub username: String,
    pub role: String,
}

/// Active members who may work tickets of the community (its service staff, and admins), for the
/// assign form.
pub async fn assignees(state: &AppState, ctx: &StaffCtx, community_id: i32) -> ApiResult<Vec<Assignee>> {
    ctx.require(Action::HandleTickets)?;
    ctx.require_community(community_id)?;
    let scoped: Vec<i32> = entity::staff_community::Entity::find()
        .filter(entity::staff_community::Column::CommunityId.eq(community_id))
        .all(&state.db)
        .await?
        .into_iter()
        .map(|s| s.staff_id)
        .collect();
    Ok(staff_user::Entity::find()
        .filter(staff_user::Column::Active.eq(true))
        .order_by_asc(staff_user::Column::Username)
        .all(&state.db)
        .await?
        .into_iter()
        .filter(|s| match Role::parse(&s.role) {
            Some(Role::Admin) => true,
            Some(r) => r.may(Action::HandleTickets) && scoped.contains(&s.id),
            None => false,
        })
        .map(|s| Assignee {
            id: s.id,
            username: s.username,
            role: s.role,
        })
        .collect())
}
