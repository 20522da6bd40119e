//! What an owner does with tickets: open one for a unit they own, follow and answer the thread,
//! rate the resolution, reopen within seven days. An owner sees only the tickets they opened: any
//! other id is 404, as is a photo of someone else's ticket or of a staff-only note.
use super::clock::{self, deadlines};
use super::events::{self, Stage};
use super::{
    body_text, choice, line, not_now, photo_ids, thread, view_of, views, Author, Reader, TicketView, UPLOAD_KIND,
};
use crate::domain::sla::Pause;
use crate::domain::states::BillStatus;
use crate::domain::tickets::{self, TicketCategory, TicketStatus};
use crate::error::{ApiError, ApiResult, FieldErrors};
use crate::services::setup::{Page, PageQuery};
use crate::services::uploads::{self, Photo, Uploader};
use crate::state::AppState;
use entity::{bill, owner_account, ticket, ticket_bill, ticket_message, unit};
use sea_orm::sea_query::Expr;
use sea_orm::sea_query::ExprTrait;
use sea_orm::{ActiveModelTrait, ColumnTrait, EntityTrait, PaginatorTrait, QueryFilter, QueryOrder, QuerySelect, Set};
use serde::Deserialize;
use utoipa::{IntoParams, ToSchema};

/// `POST /me/tickets`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewTicket {
    /// `complaint`, `repair`, `dispute` (about bills), `suggestion` or `enquiry`.
    #[schema(pattern = r"^(complaint|repair|dispute|suggestion|enquiry)$")]
    pub category: String,
    #[schema(
        pattern = r#"^[^\u0000-\u001F\u007F-\u009F]*[^\s\u0000-\u001F\u007F-\u009F][^\u0000-\u001F\u007F-\u009F]*$"#,
        min_length = 1,
        max_length = 50
    )]
    pub title: String,
    #[schema(
        pattern = r#"^[^\u0000-\u0008\u000B\u000C\u000E-\u001F\u007F-\u009F]*[^\s\u0000-\u001F\u007F-\u009F][^\u0000-\u0008\u000B\u000C\u000E-\u001F\u007F-\u009F]*$"#,
        min_length = 1,
        max_length = 2000
    )]
    pub body: String,
    /// One of the owner's units.
    pub unit_id: i32,
    /// Bills of that unit the ticket is about; a dispute's are out of collection while it is open.
    #[schema(max_items = 50)]
    pub bill_ids: Option<Vec<i32>>,
    /// Photos the owner uploaded (`POST /me/uploads`).
    #[schema(max_items = 9)]
    pub upload_ids: Option<Vec<i32>>,
    /// A repair that cannot wait (water, power, lifts): the emergency clock. Ignored for other categories.
    pub emergency: Option<bool>,
}

/// `POST /me/tickets/{id}/messages`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct OwnerMessage {
    #[schema(
        pattern = r#"^[^\u0000-\u0008\u000B\u000C\u000E-\u001F\u007F-\u009F]*[^\s\u0000-\u001F\u007F-\u009F][^\u0000-\u0008\u000B\u000C\u000E-\u001F\u007F-\u009F]*$"#,
        min_length = 1,
        max_length = 2000
    )]
    pub body: String,
    #[schema(max_items = 9)]
    pub upload_ids: Option<Vec<i32>>,
}

/// `POST /me/tickets/{id}/rating`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Rating {
    #[schema(minimum = 1, maximum = 5)]
    pub score: i64,
    #[schema(max_length = 500)]
    pub comment: Option<String>,
}

/// `POST /me/tickets/{id}/reopen`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Reopen {
    /// What is still wrong.
    #[schema(
        pattern = r#"^[^\u0000-\u0008\u000B\u000C\u000E-\u001F\u007F-\u009F]*[^\s\u0000-\u001F\u007F-\u009F][^\u0000-\u0008\u000B\u000C\u000E-\u001F\u007F-\u009F]*$"#,
        min_length = 1,
        max_length = 2000
    )]
    pub reason: String,
}

#[derive(Debug, Deserialize, IntoParams)]
pub struct MyTicketsQuery {
    #[param(minimum = 1, maximum = 10000)]
    pub page: Option<u64>,
    #[param(minimum = 1, maximum = 200)]
    pub per_page: Option<u64>,
}

async fn account(state: &AppState, account_id: i32) -> ApiResult<owner_account::Model> {
    owner_account::Entity::find_by_id(account_id)
        .one(&state.db)
        .await?
        .ok_or(ApiError::Unauthenticated)
}

/// The owner's own ticket, or 404.
async fn mine(state: &AppState, account_id: i32, id: i32) -> ApiResult<ticket::Model> {
    ticket::Entity::find_by_id(id)
        .filter(ticket::Column::AccountId.eq(account_id))
        .one(&state.db)
        .await?
        .ok_or(ApiError::NotFound)
}

/// The same, locked for the write that follows (PostgreSQL; SQLite's write transaction is already exclusive).
async fn mine_locked(txn: &sea_orm::DatabaseTransaction, account_id: i32, id: i32) -> ApiResult<ticket::Model> {
    ticket::Entity::find_by_id(id)
        .filter(ticket::Column::AccountId.eq(account_id))
        .lock_exclusive()
        .one(txn)
        .await?
        .ok_or(ApiError::NotFound)
}

/// The ticket with its thread, as its owner sees it.
async fn detail(state: &AppState, t: &ticket::Model) -> ApiResult<TicketView> {
    let mut v = view_of(&state.db, t, Reader::Owner).await?;
    v.messages = Some(thread(&state.db, t, Reader::Owner, &Default::default()).await?);
    Ok(v)
}

/// `POST /me/tickets`: 201 with the ticket; its clock starts now.
pub async fn open(state: &AppState, account_id: i32, body: NewTicket) -> ApiResult<TicketView> {
    let a = account(state, account_id).await?;
    let mut errors = FieldErrors::new();
    let category = choice::<TicketCategory>(
        "category",
        &body.category,
        "类别应为投诉、报修、账单异议、建议或咨询之一",
        &mut errors,
    );
    let title = line("title", &body.title, tickets::MAX_TITLE, &mut errors);
    let text = body_text("body", &body.body, &mut errors);
    let bill_ids = body.bill_ids.unwrap_or_default();
    let upload_ids = body.upload_ids.unwrap_or_default();
    if bill_ids.len() > 50 {
        errors.insert("bill_ids".into(), "最多50张账单".into());
    }
    photo_ids("upload_ids", &upload_ids, &mut errors);
    ApiError::check(errors)?;
    let Some(category) = category else {
        return Err(ApiError::field("category", "类别无效"));
    };
    // The unit must be one the owner reaches today; another's is refused like a missing one.
    if !crate::services::access::me::unit_ids_of_account(state, &a)
        .await?
        .contains(&body.unit_id)
    {
        return Err(ApiError::field("unit_id", "不是您名下的房屋"));
    }
    let u = unit::Entity::find_by_id(body.unit_id)
        .one(&state.db)
        .await?
        .ok_or(ApiError::NotFound)?;
    let mut distinct = bill_ids.clone();
    distinct.sort_unstable();
    distinct.dedup();
    if distinct.len() != bill_ids.len() {
        return Err(ApiError::field("bill_ids", "账单重复"));
    }
    if !distinct.is_empty() {
        let found = bill::Entity::find()
            .filter(bill::Column::Id.is_in(distinct.clone()))
            .filter(bill::Column::UnitId.eq(u.id))
            .filter(bill::Column::Status.ne(BillStatus::Cancelled))
            .count(&state.db)
            .await?;
        if found != distinct.len() as u64 {
            return Err(ApiError::field("bill_ids", "只能选择该房屋的有效账单"));
        }
    }
    let emergency = category == TicketCategory::Repair && body.emergency == Some(true);
    // An enquiry a rule recognises is answered now from the owner's own figures: no staff needed,
    // no clock, until the owner asks for staff.
    let answer = if category == TicketCategory::Enquiry {
        super::answers::instant(state, account_id, &u, &title, &text).await?
    } else {
        None
    };
    let key = tickets::sla_key(category, emergency);
    let c = clock::clock_for(state, u.community_id, key).await?;
    let now = state.clock.now();
    let clock_from = answer.is_none().then_some(now);
    let (first_due, resolution_due) = deadlines(&c, clock_from, false, &[]);

    let txn = crate::db::begin_write(&state.db).await?;
    let t = ticket::ActiveModel {
        community_id: Set(u.community_id),
        unit_id: Set(u.id),
        account_id: Set(account_id),
        category: Set(category),
        emergency: Set(emergency),
        title: Set(title),
        body: Set(text.clone()),
        status: Set(if answer.is_some() {
            TicketStatus::Answered
        } else {
            TicketStatus::Open
        }),
        assignee_id: Set(None),
        created_at: Set(now),
        updated_at: Set(now),
        clock_from: Set(clock_from),
        first_response_due_at: Set(first_due),
        first_responded_at: Set(None),
        resolution_due_at: Set(resolution_due),
        pauses: Set("[]".into()),
        reopen_count: Set(0),
        ..Default::default()
    }
    .insert(&txn)
    .await?;
    for b in &distinct {
        ticket_bill::ActiveModel {
            ticket_id: Set(t.id),
            bill_id: Set(*b),
            ..Default::default()
        }
        .insert(&txn)
        .await?;
    }
    let photos = uploads::attach(
        &txn,
        &Uploader::Owner(account_id),
        &upload_ids,
        UPLOAD_KIND,
        t.id,
        u.community_id,
        "upload_ids",
    )
    .await?;
    // The opening text is the thread's first message, so its photos follow the thread's rules.
    add_message(&txn, t.id, Author::Owner(account_id), &text, false, &upload_ids, now).await?;
    let mut fields = serde_json::Map::new();
    fields.insert("body".into(), text.into());
    if !distinct.is_empty() {
        fields.insert("bills".into(), serde_json::json!(distinct));
    }
    if !photos.is_empty() {
        fields.insert("photos".into(), events::cited(&photos));
    }
    events::append(
        &txn,
        &t,
        Stage::Opened,
        "app",
        fields,
        &format!("owner_account:{account_id}"),
        now,
    )
    .await?;
    if let Some(a) = &answer {
        ticket_message::ActiveModel {
            ticket_id: Set(t.id),
            author_kind: Set(Author::System.kind().into()),
            author_id: Set(None),
            body: Set(a.text.clone()),
            internal: Set(false),
            upload_ids: Set("[]".into()),
            link: Set(Some(a.link.clone())),
            created_at: Set(now),
            ..Default::default()
        }
        .insert(&txn)
        .await?;
        // What the owner was told is evidence like any staff answer.
        let mut fields = serde_json::Map::new();
        fields.insert("topic".into(), a.topic.as_str().into());
        fields.insert("answer".into(), a.text.clone().into());
        events::append(&txn, &t, Stage::Answered, "app", fields, "system", now).await?;
    }
    txn.commit().await?;
    detail(state, &t).await
}

/// Puts an answered enquiry in the staff queue and starts its clock now; the caller's transaction.
async fn hand_to_staff(
    state: &AppState,
    txn: &sea_orm::DatabaseTransaction,
    t: &ticket::Model,
    now: chrono::DateTime<chrono::Utc>,
) -> ApiResult<()> {
    let c = clock::clock_for(state, t.community_id, tickets::sla_key(t.category, t.emergency)).await?;
    let (first, resolution) = deadlines(&c, Some(now), false, &[]);
    ticket::Entity::update_many()
        .col_expr(ticket::Column::Status, Expr::value(TicketStatus::Open))
        .col_expr(ticket::Column::ClockFrom, Expr::value(now))
        .col_expr(ticket::Column::FirstResponseDueAt, Expr::value(first))
        .col_expr(ticket::Column::ResolutionDueAt, Expr::value(resolution))
        .col_expr(ticket::Column::UpdatedAt, Expr::value(now))
        .filter(ticket::Column::Id.eq(t.id))
        .filter(ticket::Column::Status.eq(TicketStatus::Answered))
        .exec(txn)
        .await?;
    add_message(
        txn,
        t.id,
        Author::System,
        "已转人工客服，物业客服会尽快回复。",
        false,
        &[],
        now,
    )
    .await?;
    Ok(())
}

/// `POST /me/tickets/{id}/handoff` ("转人工"): an answered enquiry goes to staff.
pub async fn handoff(state: &AppState, account_id: i32, id: i32) -> ApiResult<TicketView> {
    let now = state.clock.now();
    let txn = crate::db::begin_write(&state.db).await?;
    let t = mine_locked(&txn, account_id, id).await?;
    match t.status {
        TicketStatus::Answered => hand_to_staff(state, &txn, &t, now).await?,
        // Already with staff: nothing to do.
        TicketStatus::Open | TicketStatus::WaitingOwner => {}
        _ => return Err(not_now(&t)),
    }
    txn.commit().await?;
    get(state, account_id, id).await
}

/// Inserts one message of a thread.
pub(crate) async fn add_message<C: sea_orm::ConnectionTrait>(
    db: &C,
    ticket_id: i32,
    author: Author,
    body: &str,
    internal: bool,
    upload_ids: &[i32],
    now: chrono::DateTime<chrono::Utc>,
) -> ApiResult<ticket_message::Model> {
    Ok(ticket_message::ActiveModel {
        ticket_id: Set(ticket_id),
        author_kind: Set(author.kind().into()),
        author_id: Set(author.id()),
        body: Set(body.to_string()),
        internal: Set(internal),
        upload_ids: Set(serde_json::to_string(upload_ids).unwrap_or_else(|_| "[]".into())),
        link: Set(None),
        created_at: Set(now),
        ..Default::default()
    }
    .insert(db)
    .await?)
}

/// `GET /me/tickets`: the owner's tickets, newest first, without threads.
pub async fn list(state: &AppState, account_id: i32, q: MyTicketsQuery) -> ApiResult<Page<TicketView>> {
    let page = PageQuery {
        page: q.page,
        per_page: q.per_page,
    };
    let query = ticket::Entity::find()
        .filter(ticket::Column::AccountId.eq(account_id))
        .order_by_desc(ticket::Column::Id);
    let (rows, total, page_no, per_page) = crate::services::setup::paginate(state, query, &page).await?;
    Ok(Page {
        items: views(&state.db, &rows, Reader::Owner).await?,
        total,
        page: page_no,
        per_page,
    })
}

/// `GET /me/tickets/{id}`.
pub async fn get(state: &AppState, account_id: i32, id: i32) -> ApiResult<TicketView> {
    let t = mine(state, account_id, id).await?;
    detail(state, &t).await
}

/// Closes a running pause at `now` and gives back the deadlines the clock now reaches.
pub(crate) async fn resume(
    state: &AppState,
    t: &ticket::Model,
    now: chrono::DateTime<chrono::Utc>,
) -> ApiResult<(
    Vec<Pause>,
    Option<chrono::DateTime<chrono::Utc>>,
    Option<chrono::DateTime<chrono::Utc>>,
)> {
    let mut pauses = tickets::pauses_of(&t.pauses);
    for p in pauses.iter_mut().filter(|p| p.to.is_none()) {
        p.to = Some(now);
    }
    let c = clock::clock_for(state, t.community_id, tickets::sla_key(t.category, t.emergency)).await?;
    let (first, resolution) = deadlines(&c, t.clock_from, t.first_responded_at.is_some(), &pauses);
    Ok((pauses, first.or(t.first_response_due_at), resolution))
}

/// `POST /me/tickets/{id}/messages`: the owner answers; a clock waiting for them runs again.
pub async fn reply(state: &AppState, account_id: i32, id: i32, body: OwnerMessage) -> ApiResult<TicketView> {
    let mut errors = FieldErrors::new();
    let text = body_text("body", &body.body, &mut errors);
    let upload_ids = body.upload_ids.unwrap_or_default();
    photo_ids("upload_ids", &upload_ids, &mut errors);
    ApiError::check(errors)?;
    let t = mine(state, account_id, id).await?;
    let answered = |s: TicketStatus| tickets::is_active(s) || s == TicketStatus::Answered;
    if !answered(t.status) {
        return Err(not_now(&t));
    }
    let now = state.clock.now();
    let (pauses, first, resolution) = resume(state, &t, now).await?;
    let txn = crate::db::begin_write(&state.db).await?;
    let t = mine_locked(&txn, account_id, id).await?;
    if !answered(t.status) {
        return Err(not_now(&t));
    }
    // Answering an instant answer is asking for staff.
    if t.status == TicketStatus::Answered {
        hand_to_staff(state, &txn, &t, now).await?;
    }
    let photos = uploads::attach(
        &txn,
        &Uploader::Owner(account_id),
        &upload_ids,
        UPLOAD_KIND,
        t.id,
        t.community_id,
        "upload_ids",
    )
    .await?;
    add_message(&txn, t.id, Author::Owner(account_id), &text, false, &upload_ids, now).await?;
    if t.status == TicketStatus::WaitingOwner {
        ticket::Entity::update_many()
            .col_expr(ticket::Column::Status, Expr::value(TicketStatus::Open))
            .col_expr(ticket::Column::Pauses, Expr::value(tickets::pauses_json(&pauses)))
            .col_expr(ticket::Column::FirstResponseDueAt, Expr::value(first))
            .col_expr(ticket::Column::ResolutionDueAt, Expr::value(resolution))
            .col_expr(ticket::Column::UpdatedAt, Expr::value(now))
            .filter(ticket::Column::Id.eq(t.id))
            .exec(&txn)
            .await?;
    } else {
        touch(&txn, t.id, now).await?;
    }
    let mut fields = serde_json::Map::new();
    fields.insert("body".into(), text.into());
    if !photos.is_empty() {
        fields.insert("photos".into(), events::cited(&photos));
    }
    events::append(
        &txn,
        &t,
        Stage::OwnerReply,
        "app",
        fields,
        &format!("owner_account:{account_id}"),
        now,
    )
    .await?;
    txn.commit().await?;
    get(state, account_id, id).await
}

pub(crate) async fn touch<C: sea_orm::ConnectionTrait>(
    db: &C,
    id: i32,
    now: chrono::DateTime<chrono::Utc>,
) -> ApiResult<()> {
    ticket::Entity::update_many()
        .col_expr(ticket::Column::UpdatedAt, Expr::value(now))
        .filter(ticket::Column::Id.eq(id))
        .exec(db)
        .await?;
    Ok(())
}

/// `POST /me/tickets/{id}/rating`: once per resolution, only while it stands resolved.
pub async fn rate(state: &AppState, account_id: i32, id: i32, body: Rating) -> ApiResult<TicketView> {
    let mut errors = FieldErrors::new();
    let score = tickets::score(body.score).unwrap_or_else(|m| {
        errors.insert("score".into(), m);
        0
    });
    let comment = match body.comment.as_deref().map(str::trim).filter(|c| !c.is_empty()) {
        Some(c) if c.chars().count() > tickets::MAX_COMMENT => {
            errors.insert("comment".into(), format!("不能超过{}个字符", tickets::MAX_COMMENT));
            None
        }
        Some(c) => Some(
            c.chars()
                .filter(|ch| !ch.is_control() || *ch == '\n')
                .collect::<String>(),
        ),
        None => None,
    };
    ApiError::check(errors)?;
    let now = state.clock.now();
    let txn = crate::db::begin_write(&state.db).await?;
    let t = mine_locked(&txn, account_id, id).await?;
    if t.status != TicketStatus::Resolved {
        return Err(ApiError::Conflict("TICKET_NOT_RESOLVED", "工单解决后才能评价".into()));
    }
    if t.rating.is_some() {
        return Err(ApiError::Conflict("TICKET_ALREADY_RATED", "您已评价过这次处理".into()));
    }
    ticket::Entity::update_many()
        .col_expr(ticket::Column::Rating, Expr::value(score))
        .col_expr(ticket::Column::RatingComment, Expr::value(comment.clone()))
        .col_expr(ticket::Column::RatedAt, Expr::value(now))
        .col_expr(ticket::Column::UpdatedAt, Expr::value(now))
        .filter(ticket::Column::Id.eq(t.id))
        .exec(&txn)
        .await?;
    let mut fields = serde_json::Map::new();
    fields.insert("score".into(), score.into());
    fields.insert("comment".into(), comment.into());
    events::append(
        &txn,
        &t,
        Stage::Rated,
        "app",
        fields,
        &format!("owner_account:{account_id}"),
        now,
    )
    .await?;
    txn.commit().await?;
    get(state, account_id, id).await
}

/// `POST /me/tickets/{id}/reopen`: within seven days of the resolution; the resolution clock
/// starts again and any rating of the answer that did not help is set aside.
pub async fn reopen(state: &AppState, account_id: i32, id: i32, body: Reopen) -> ApiResult<TicketView> {
    let mut errors = FieldErrors::new();
    let reason = body_text("reason", &body.reason, &mut errors);
    ApiError::check(errors)?;
    let t = mine(state, account_id, id).await?;
    let now = state.clock.now();
    if !tickets::may_reopen(t.status, t.resolved_at, now) {
        return Err(if t.status == TicketStatus::Resolved {
            ApiError::Conflict(
                "REOPEN_WINDOW_PASSED",
                format!("工单解决已超过{}天，请新建工单", tickets::REOPEN_DAYS),
            )
        } else {
            ApiError::Conflict("TICKET_NOT_RESOLVED", "只有已解决的工单可以重新打开".into())
        });
    }
    let c = clock::clock_for(state, t.community_id, tickets::sla_key(t.category, t.emergency)).await?;
    let (_, resolution) = deadlines(&c, Some(now), true, &[]);
    let txn = crate::db::begin_write(&state.db).await?;
    let reopened = ticket::Entity::update_many()
        .col_expr(ticket::Column::Status, Expr::value(TicketStatus::Open))
        .col_expr(ticket::Column::ClockFrom, Expr::value(now))
        .col_expr(ticket::Column::Pauses, Expr::value("[]"))
        .col_expr(ticket::Column::ResolutionDueAt, Expr::value(resolution))
        .col_expr(
            ticket::Column::ResolvedAt,
            Expr::value(Option::<chrono::DateTime<chrono::Utc>>::None),
        )
        .col_expr(ticket::Column::Resolution, Expr::value(Option::<String>::None))
        .col_expr(ticket::Column::Rating, Expr::value(Option::<i32>::None))
        .col_expr(ticket::Column::RatingComment, Expr::value(Option::<String>::None))
        .col_expr(
            ticket::Column::RatedAt,
            Expr::value(Option::<chrono::DateTime<chrono::Utc>>::None),
        )
        .col_expr(
            ticket::Column::ReopenCount,
            Expr::col(ticket::Column::ReopenCount).add(1),
        )
        .col_expr(ticket::Column::UpdatedAt, Expr::value(now))
        .filter(ticket::Column::Id.eq(t.id))
        .filter(ticket::Column::Status.eq(TicketStatus::Resolved))
        .filter(ticket::Column::ResolvedAt.eq(t.resolved_at))
        .exec(&txn)
        .await?;
    if reopened.rows_affected != 1 {
        return Err(ApiError::Conflict(
            "TICKET_STATE",
            "工单状态已变化，请刷新后再试".into(),
        ));
    }
    add_message(&txn, t.id, Author::Owner(account_id), &reason, false, &[], now).await?;
    let mut fields = serde_json::Map::new();
    fields.insert("reason".into(), reason.into());
    events::append(
        &txn,
        &t,
        Stage::Reopened,
        "app",
        fields,
        &format!("owner_account:{account_id}"),
        now,
    )
    .await?;
    txn.commit().await?;
    get(state, account_id, id).await
}

/// `GET /me/tickets/{id}/photos/{upload_id}`: a photo of the owner's ticket that is not in a
/// staff-only note.
pub async fn photo(state: &AppState, account_id: i32, id: i32, upload_id: i32) -> ApiResult<Photo> {
    let t = mine(state, account_id, id).await?;
    let shown = ticket_message::Entity::find()
        .filter(ticket_message::Column::TicketId.eq(t.id))
        .filter(ticket_message::Column::Internal.eq(false))
        .all(&state.db)
        .await?
        .iter()
        .any(|m| super::upload_ids(m).contains(&upload_id));
    if !shown {
        return Err(ApiError::NotFound);
    }
    uploads::attached_photo(&state.db, upload_id, UPLOAD_KIND, t.id).await
}
