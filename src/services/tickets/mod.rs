//! Tickets (issue #14): owners open complaints, repairs, bill disputes, suggestions and enquiries
//! for one of their units and follow the thread; staff work a queue ordered by SLA deadline. This
//! context owns the `tickets`, `ticket_messages`, `ticket_bills` and `ticket_sla` tables.
//!
//! - `owner`: what an owner does (open, reply, rate, reopen) and sees (their own tickets only).
//! - `staff`: the queue, assigning, replies and internal notes, merging, resolving.
//! - `clock`: SLA settings, the deadlines they give, and the scheduler's near-breach/breach tick.
//! - `answers`: enquiries answered at once from the owner's own figures, until they ask for staff.
//! - `adjustments`: bill corrections a dispute asks for, decided by finance, applied by the ledger.
//! - `events`: what each event leaves behind: evidence on the unit, a message to the owner.
//!
//! A dispute's bills leave collection through the `dispute` clause of `domain::suppression`, which
//! reads `ticket_bills`; nothing here calls the reminder pass or the task queue.
pub mod adjustments;
pub mod answers;
pub mod clock;
pub mod events;
pub mod owner;
pub mod staff;

use crate::domain::text;
use crate::domain::tickets::{self, TicketCategory, TicketStatus};
use crate::error::{ApiError, ApiResult, FieldErrors};
use chrono::{DateTime, Utc};
use entity::{ticket, ticket_bill, ticket_message};
use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder};
use serde::Serialize;
use utoipa::ToSchema;

/// Who wrote a message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Author {
    Owner(i32),
    Staff(i32),
    System,
}

impl Author {
    pub(crate) fn kind(self) -> &'static str {
        match self {
            Author::Owner(_) => "owner",
            Author::Staff(_) => "staff",
            Author::System => "system",
        }
    }

    fn id(self) -> Option<i32> {
        match self {
            Author::Owner(id) | Author::Staff(id) => Some(id),
            Author::System => None,
        }
    }
}

/// A photo of a ticket, with where the reader fetches it.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct PhotoRef {
    pub id: i32,
    pub url: String,
}

/// One message of the thread.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct MessageView {
    pub id: i32,
    /// `owner`, `staff` or `system`.
    pub author: String,
    /// Who, as the reader may know it (owners see the service centre, staff see the member).
    pub author_name: String,
    pub body: String,
    /// A staff-only note (never in an owner's answer).
    pub internal: bool,
    pub photos: Vec<PhotoRef>,
    /// An instant answer's mini-program page (e.g. `pages/bills/index`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub link: Option<String>,
    pub created_at: DateTime<Utc>,
}

/// A ticket as its reader sees it; `messages` only in the single-ticket answer.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct TicketView {
    pub id: i32,
    pub community_id: i32,
    pub unit_id: i32,
    /// The unit as people name it (e.g. `1-101`).
    pub unit_code: String,
    #[schema(value_type = String)]
    pub category: TicketCategory,
    pub category_label: String,
    pub emergency: bool,
    pub title: String,
    pub body: String,
    #[schema(value_type = String)]
    pub status: TicketStatus,
    pub status_label: String,
    pub created_at: DateTime<Utc>,
    /// None once answered, or while no staff are needed.
    pub first_response_due_at: Option<DateTime<Utc>>,
    pub first_responded_at: Option<DateTime<Utc>>,
    /// None while the clock is stopped (waiting for the owner) or once resolved.
    pub resolution_due_at: Option<DateTime<Utc>>,
    /// Waiting for the owner: the SLA clock is stopped.
    pub paused: bool,
    /// A deadline was missed (staff only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub breached: Option<bool>,
    /// Staff only.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub assignee_id: Option<i32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub assignee_name: Option<String>,
    pub resolved_at: Option<DateTime<Utc>>,
    pub resolution: Option<String>,
    /// Until when the owner may reopen it (resolved tickets).
    pub reopen_until: Option<DateTime<Utc>>,
    pub rating: Option<i32>,
    pub rating_comment: Option<String>,
    pub reopen_count: i32,
    pub merged_into: Option<i32>,
    /// Bills the ticket names (a dispute's are out of collection while it is open).
    pub bill_ids: Vec<i32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub messages: Option<Vec<MessageView>>,
    /// A dispute's requested bill corrections and finance's decisions (staff, single-ticket answer).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub adjustments: Option<Vec<adjustments::AdjustmentView>>,
}

/// Who reads a view: what it may show and where photos are fetched.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reader {
    Owner,
    Staff,
}

impl Reader {
    fn photo_url(self, ticket_id: i32, upload_id: i32) -> String {
        match self {
            Reader::Owner => format!("/api/v1/me/tickets/{ticket_id}/photos/{upload_id}"),
            Reader::Staff => format!("/api/v1/staff/tickets/{ticket_id}/photos/{upload_id}"),
        }
    }
}

/// What an upload of a ticket is attached as.
pub const UPLOAD_KIND: &str = "ticket";

pub(crate) fn upload_ids(m: &ticket_message::Model) -> Vec<i32> {
    serde_json::from_str(&m.upload_ids).unwrap_or_default()
}

/// Bills named by tickets, by ticket.
pub(crate) async fn bills_of<C: ConnectionTrait>(
    db: &C,
    ticket_ids: &[i32],
) -> ApiResult<std::collections::BTreeMap<i32, Vec<i32>>> {
    let mut out: std::collections::BTreeMap<i32, Vec<i32>> = std::collections::BTreeMap::new();
    for r in ticket_bill::Entity::find()
        .filter(ticket_bill::Column::TicketId.is_in(ticket_ids.iter().copied()))
        .order_by_asc(ticket_bill::Column::BillId)
        .all(db)
        .await?
    {
        out.entry(r.ticket_id).or_default().push(r.bill_id);
    }
    Ok(out)
}

/// The thread as `reader` may see it (owners never see internal notes).
pub(crate) async fn thread<C: ConnectionTrait>(
    db: &C,
    t: &ticket::Model,
    reader: Reader,
    staff_names: &std::collections::HashMap<String, String>,
) -> ApiResult<Vec<MessageView>> {
    let rows = ticket_message::Entity::find()
        .filter(ticket_message::Column::TicketId.eq(t.id))
        .order_by_asc(ticket_message::Column::Id)
        .all(db)
        .await?;
    Ok(rows
        .into_iter()
        .filter(|m| reader == Reader::Staff || !m.internal)
        .map(|m| {
            let author_name = match (m.author_kind.as_str(), reader) {
                ("owner", Reader::Owner) => "我".to_string(),
                ("owner", Reader::Staff) => "业主".to_string(),
                ("system", _) if m.link.is_some() => "智能客服".to_string(),
                ("staff", Reader::Owner) => "物业服务中心".to_string(),
                ("staff", Reader::Staff) => m
                    .author_id
                    .and_then(|id| staff_names.get(&format!("staff:{id}")).cloned())
                    .unwrap_or_else(|| "员工".into()),
                _ => "系统".to_string(),
            };
            MessageView {
                id: m.id,
                photos: upload_ids(&m)
                    .into_iter()
                    .map(|u| PhotoRef {
                        id: u,
                        url: reader.photo_url(t.id, u),
                    })
                    .collect(),
                link: m.link,
                author: m.author_kind,
                author_name,
                body: m.body,
                internal: m.internal,
                created_at: m.created_at,
            }
        })
        .collect())
}

/// Tickets' views without their threads: their bills and units' codes read once for all.
pub(crate) async fn views<C: ConnectionTrait>(
    db: &C,
    rows: &[ticket::Model],
    reader: Reader,
) -> ApiResult<Vec<TicketView>> {
    let ids: Vec<i32> = rows.iter().map(|t| t.id).collect();
    let mut bills = bills_of(db, &ids).await?;
    let units: std::collections::HashMap<i32, String> = entity::unit::Entity::find()
        .filter(entity::unit::Column::Id.is_in(rows.iter().map(|t| t.unit_id)))
        .all(db)
        .await?
        .into_iter()
        .map(|u| (u.id, u.code))
        .collect();
    Ok(rows
        .iter()
        .map(|t| {
            let mut v = view(t, bills.remove(&t.id).unwrap_or_default(), reader);
            v.unit_code = units.get(&t.unit_id).cloned().unwrap_or_default();
            v
        })
        .collect())
}

/// One ticket's view without its thread.
pub(crate) async fn view_of<C: ConnectionTrait>(db: &C, t: &ticket::Model, reader: Reader) -> ApiResult<TicketView> {
    views(db, std::slice::from_ref(t), reader)
        .await?
        .pop()
        .ok_or(ApiError::NotFound)
}

/// A ticket's view without its thread.
fn view(t: &ticket::Model, bills: Vec<i32>, reader: Reader) -> TicketView {
    let pauses = tickets::pauses_of(&t.pauses);
    let staff = reader == Reader::Staff;
    TicketView {
        id: t.id,
        community_id: t.community_id,
        unit_id: t.unit_id,
        unit_code: String::new(),
        category: t.category,
        category_label: tickets::category_label(t.category).into(),
        emergency: t.emergency,
        title: t.title.clone(),
        body: t.body.clone(),
        status: t.status,
        status_label: tickets::status_label(t.status).into(),
        created_at: t.created_at,
        first_response_due_at: t.first_response_due_at.filter(|_| t.first_responded_at.is_none()),
        first_responded_at: t.first_responded_at,
        resolution_due_at: t.resolution_due_at.filter(|_| tickets::is_active(t.status)),
        paused: t.status == TicketStatus::WaitingOwner && tickets::paused(&pauses),
        breached: staff.then(|| t.response_breached_at.is_some() || t.resolution_breached_at.is_some()),
        assignee_id: if staff { t.assignee_id } else { None },
        assignee_name: None,
        resolved_at: t.resolved_at,
        resolution: t.resolution.clone(),
        reopen_until: t
            .resolved_at
            .filter(|_| t.status == TicketStatus::Resolved)
            .map(|r| r + chrono::Duration::days(tickets::REOPEN_DAYS)),
        rating: t.rating,
        rating_comment: t.rating_comment.clone(),
        reopen_count: t.reopen_count,
        merged_into: t.merged_into,
        bill_ids: bills,
        messages: None,
        adjustments: None,
    }
}

/// A message body: trimmed, 1 to 2,000 characters; line breaks allowed, other control characters not.
pub(crate) fn body_text(field: &str, raw: &str, errors: &mut FieldErrors) -> String {
    let t = raw.trim();
    if t.is_empty() {
        errors.insert(field.into(), "不能为空".into());
    } else if t.chars().count() > tickets::MAX_BODY {
        errors.insert(field.into(), format!("不能超过{}个字符", tickets::MAX_BODY));
    } else if t.chars().any(|c| c.is_control() && c != '\n' && c != '\r' && c != '\t') {
        errors.insert(field.into(), "含有非法字符".into());
    }
    t.to_string()
}

/// One of `T`'s stored spellings, or `message` as the field's problem.
pub(crate) fn choice<T: sea_orm::ActiveEnum<Value = String>>(
    field: &str,
    raw: &str,
    message: &str,
    errors: &mut FieldErrors,
) -> Option<T> {
    let parsed = crate::domain::states::parse::<T>(raw);
    if parsed.is_none() {
        errors.insert(field.into(), message.into());
    }
    parsed
}

/// A short line (title, resolution summary) of at most `max` characters.
pub(crate) fn line(field: &str, raw: &str, max: usize, errors: &mut FieldErrors) -> String {
    match text::name(raw, max) {
        Ok(v) => v,
        Err(m) => {
            errors.insert(field.into(), m);
            String::new()
        }
    }
}

/// At most nine photos, no repeats.
pub(crate) fn photo_ids(field: &str, ids: &[i32], errors: &mut FieldErrors) {
    if ids.len() > tickets::MAX_PHOTOS {
        errors.insert(field.into(), format!("最多{}张图片", tickets::MAX_PHOTOS));
    }
    let distinct: std::collections::BTreeSet<_> = ids.iter().collect();
    if distinct.len() != ids.len() {
        errors.insert(field.into(), "图片重复".into());
    }
}

/// 409 naming why a ticket in this state cannot take the action.
pub(crate) fn not_now(t: &ticket::Model) -> ApiError {
    match t.status {
        TicketStatus::Merged => ApiError::Conflict(
            "TICKET_MERGED",
            format!("该工单已合并到工单{}处理", t.merged_into.unwrap_or_default()),
        ),
        TicketStatus::Resolved => ApiError::Conflict("TICKET_RESOLVED", "该工单已解决；如仍有问题请重新打开".into()),
        _ => ApiError::Conflict("TICKET_STATE", "工单当前状态不允许此操作".into()),
    }
}
