//! One reminder pass: for each community at its local time, decide who is due which stage (the
//! suppression clauses and the ownership rule in SQL), queue the messages once per owner × stage ×
//! episode, and claim and send them under a lease, so many replicas never send one twice.

// Joins each bill (`b`) to the owner records it belongs to (`uo`): the one ownership rule.
use crate::domain::billing::ownership::BILL_OWNER_JOIN;
use crate::domain::reminders::{self as rules, Stage};
use crate::domain::role::Action;
use crate::domain::states::ReminderStatus;
use crate::domain::suppression::{self, Effect};
use crate::error::{ApiError, ApiResult};
use crate::progress::Progress;
use crate::services::access::staff::StaffCtx;
use crate::services::collection::reminders::delivery::deliver;
use crate::services::collection::reminders::moment::stmt;
use crate::services::collection::reminders::moment::Moment;
use crate::services::collection::reminders::moment::Outcome;
use crate::services::setup::community_in_scope;
use crate::state::AppState;
use chrono::{DateTime, Duration, NaiveDate, Timelike, Utc};
use entity::{community, reminder};
use futures_util::StreamExt;
use sea_orm::sea_query::{Expr, ExprTrait, LockBehavior, LockType, OnConflict, Query};
use sea_orm::{
    ColumnTrait, ConnectionTrait, EntityTrait, FromQueryResult, QueryFilter, QuerySelect, Set, TransactionTrait, Value,
};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use utoipa::ToSchema;

/// What one pass did; every count is of owner messages. `sent`: accepted by a channel (WeChat,
/// SMS); `tasks`: formal notices with no electronic channel, handed to staff (call, print); `skipped`:
/// courtesy reminders with no channel (never turned into calls); `by_stage` counts `sent` only.
#[derive(Debug, Default, Serialize, ToSchema, PartialEq, Eq)]
pub struct RunReport {
    pub sent: u64,
    pub tasks: u64,
    pub skipped: u64,
    pub suppressed: u64,
    /// Due but waiting: quiet hours, a no-send date, or the per-owner rate limit.
    pub deferred: u64,
    pub by_stage: BTreeMap<String, u64>,
}

#[derive(Debug, Deserialize, ToSchema, Default)]
#[schema(as = ReminderRunRequest)]
pub struct RunRequest {
    pub community_id: Option<i32>,
}

/// `POST /staff/reminder-runs`: one pass now.
pub async fn run_now(state: &AppState, ctx: &StaffCtx, req: RunRequest, progress: &Progress) -> ApiResult<RunReport> {
    ctx.require(Action::ManageCollection)?;
    if let Some(id) = req.community_id {
        community_in_scope(state, ctx, id).await?;
    }
    pass(
        state,
        |id| req.community_id.map_or(ctx.sees(id), |only| only == id),
        progress,
    )
    .await
}

/// The scheduler's pass over every community.
pub async fn tick(state: &AppState) -> ApiResult<RunReport> {
    pass(state, |_| true, &Progress::none()).await
}

/// One pass over the communities `wanted` keeps.
async fn pass(state: &AppState, wanted: impl Fn(i32) -> bool, progress: &Progress) -> ApiResult<RunReport> {
    let ids: Vec<i32> = community::Entity::find()
        .select_only()
        .column(community::Column::Id)
        .into_tuple()
        .all(&state.db)
        .await?;
    let mut report = RunReport::default();
    let ids: Vec<i32> = ids.into_iter().filter(|id| wanted(*id)).collect();
    progress.set(0, ids.len() as u64);
    for (i, id) in ids.iter().enumerate() {
        pass_community(state, *id, &mut report).await?;
        progress.set(i as u64 + 1, ids.len() as u64);
    }
    Ok(report)
}

/// One community's pass. Replicas deciding at once may lock the same episode rows in different
/// orders; PostgreSQL then aborts one statement as a deadlock, and the pass simply runs again
/// (every step is idempotent).
async fn pass_community(state: &AppState, community_id: i32, report: &mut RunReport) -> ApiResult<()> {
    let mut attempt = 0;
    loop {
        let m = Moment::load(state, &state.db, community_id).await?;
        let result = async {
            decide(state, &m, report).await?;
            send_due(state, &m, report).await
        }
        .await;
        match result {
            Err(ApiError::Internal(e)) if attempt < 3 && is_lock_conflict(&e) => {
                attempt += 1;
                tracing::warn!(
                    community_id,
                    attempt,
                    "reminder pass hit a lock conflict; running it again"
                );
            }
            other => return other,
        }
    }
}

fn is_lock_conflict(e: &anyhow::Error) -> bool {
    let text = format!("{e:#}");
    text.contains("deadlock detected") || text.contains("could not serialize")
}

#[derive(Debug, FromQueryResult)]
struct OwnerArrears {
    owner_id: i32,
    /// Oldest due date among the bills reminders may mention; None when all are suppressed.
    oldest_live: Option<NaiveDate>,
    oldest_any: NaiveDate,
    episode_id: i32,
    top_rank: i32,
    friendly_opt_out: Option<bool>,
}

#[derive(Debug, FromQueryResult)]
struct OwnerUpcoming {
    owner_id: i32,
    due: NaiveDate,
    friendly_opt_out: Option<bool>,
}

/// A reminder row to create (the unique key drops it if it already exists).
struct Due {
    owner_id: i32,
    stage: Stage,
    episode_key: String,
    episode: Option<i32>,
}

/// Decides what is due: closes episodes whose arrears are gone, opens episodes for new arrears,
/// and queues the highest passed overdue stage not yet sent in each episode, plus pre-due notices.
/// Streams the owners (never loads all bills) and writes in batches.
async fn decide(state: &AppState, m: &Moment, report: &mut RunReport) -> ApiResult<()> {
    let db = &state.db;
    let c = m.community.id;
    let today = Value::from(m.today);
    // Overdue = unpaid and past its due date (held bills still count: the episode is about arrears).
    let arrears = format!(
        "SELECT 1 FROM bills b {BILL_OWNER_JOIN} WHERE uo.owner_id = reminder_episodes.owner_id \
         AND b.community_id = $1 AND b.status = 'unpaid' AND b.due_date < $2"
    );
    db.execute_raw(stmt(
        db,
        &format!(
            "UPDATE reminder_episodes SET open_owner = NULL, ended_on = $2 \
             WHERE community_id = $1 AND open_owner IS NOT NULL AND NOT EXISTS ({arrears})"
        ),
        vec![c.into(), today.clone()],
    ))
    .await?;
    db.execute_raw(stmt(
        db,
        &format!(
            "INSERT INTO reminder_episodes (owner_id, community_id, open_owner, started_on, top_rank) \
         SELECT DISTINCT uo.owner_id, $1, uo.owner_id, $2, 0 FROM bills b \
         {BILL_OWNER_JOIN} \
         WHERE b.community_id = $1 AND b.status = 'unpaid' AND b.due_date < $2 \
         ON CONFLICT (open_owner) DO NOTHING"
        ),
        vec![c.into(), today.clone()],
    ))
    .await?;

    let suppressed = suppression::sql(Effect::Reminders, "$2");
    let mut batch = Vec::new();
    {
        let overdue = OwnerArrears::find_by_statement(stmt(
            db,
            &format!(
                "SELECT uo.owner_id, MIN(CASE WHEN {suppressed} THEN NULL ELSE b.due_date END) AS oldest_live, \
             MIN(b.due_date) AS oldest_any, e.id AS episode_id, e.top_rank, o.friendly_opt_out \
             FROM bills b {BILL_OWNER_JOIN} \
             JOIN owners o ON o.id = uo.owner_id \
             JOIN reminder_episodes e ON e.open_owner = uo.owner_id \
             WHERE b.community_id = $1 AND b.status = 'unpaid' AND b.due_date < $2 \
             GROUP BY uo.owner_id, e.id, e.top_rank, o.friendly_opt_out"
            ),
            vec![c.into(), today.clone()],
        ))
        .stream(db)
        .await?;
        futures_util::pin_mut!(overdue);
        while let Some(row) = overdue.next().await {
            let row = row?;
            let opted_out = row.friendly_opt_out.unwrap_or(false);
            let Some(oldest) = row.oldest_live else {
                // Everything overdue is held: the message that would be due is suppressed.
                let would = m.policy.overdue_stage(m.today, row.oldest_any);
                if would.is_some_and(|s| s.rank() > row.top_rank && !(s.is_friendly() && opted_out)) {
                    report.suppressed += 1;
                }
                continue;
            };
            let Some(mut stage) = m.policy.overdue_stage(m.today, oldest) else {
                continue;
            };
            // Grade A owners get the friendly stage later (read only when it is that stage's turn).
            if stage == Stage::OverdueFriendly
                && stage.rank() > row.top_rank
                && crate::services::points::grade::owner_history_is_a(state, row.owner_id, c).await?
            {
                match m.policy.overdue_stage_for(m.today, oldest, true) {
                    Some(s) => stage = s,
                    None => continue,
                }
            }
            // Never a lower stage after a higher one, never a stage twice in an episode.
            if stage.rank() <= row.top_rank || (stage.is_friendly() && opted_out) {
                continue;
            }
            batch.push(Due {
                owner_id: row.owner_id,
                stage,
                episode_key: format!("episode:{}", row.episode_id),
                episode: Some(row.episode_id),
            });
            if batch.len() >= 500 {
                queue(state, m, std::mem::take(&mut batch)).await?;
            }
        }
    } // the stream (and its connection) ends here
    queue(state, m, std::mem::take(&mut batch)).await?;

    if m.policy.stages.pre_due.enabled {
        let until = Value::from(m.today + Duration::days(m.policy.stages.pre_due.days));
        let upcoming = OwnerUpcoming::find_by_statement(stmt(
            db,
            &format!(
                "SELECT uo.owner_id, MIN(b.due_date) AS due, o.friendly_opt_out FROM bills b \
                 {BILL_OWNER_JOIN} \
                 JOIN owners o ON o.id = uo.owner_id \
                 WHERE b.community_id = $1 AND b.status = 'unpaid' AND b.due_date >= $2 AND b.due_date <= $3 \
                 AND NOT {suppressed} GROUP BY uo.owner_id, o.friendly_opt_out"
            ),
            vec![c.into(), today.clone(), until],
        ))
        .stream(db)
        .await?;
        futures_util::pin_mut!(upcoming);
        while let Some(u) = upcoming.next().await {
            let u = u?;
            if u.friendly_opt_out.unwrap_or(false) {
                continue;
            }
            batch.push(Due {
                owner_id: u.owner_id,
                stage: Stage::PreDue,
                episode_key: format!("due:{}", u.due),
                episode: None,
            });
            if batch.len() >= 500 {
                queue(state, m, std::mem::take(&mut batch)).await?;
            }
        }
    }
    queue(state, m, batch).await?;
    Ok(())
}

#[derive(Debug, FromQueryResult)]
struct PaidAt {
    owner_id: i32,
    paid_at: DateTime<Utc>,
}

/// The learned hour of each of these owners who has one (`rules::best_hour` over the local hours
/// their bills here were paid in).
async fn learned_hours(
    state: &AppState,
    m: &Moment,
    owners: impl Iterator<Item = i32>,
) -> ApiResult<std::collections::BTreeMap<i32, u32>> {
    let ids: Vec<String> = owners
        .collect::<std::collections::BTreeSet<i32>>()
        .iter()
        .map(|o| o.to_string())
        .collect();
    if ids.is_empty() {
        return Ok(Default::default());
    }
    let mut paid: std::collections::BTreeMap<i32, Vec<u32>> = Default::default();
    for row in PaidAt::find_by_statement(stmt(
        &state.db,
        &format!(
            // One payment settles several bills at one instant: it is one payment, not several.
            "SELECT DISTINCT uo.owner_id, b.paid_at FROM bills b {BILL_OWNER_JOIN} \
             WHERE b.community_id = $1 AND b.status = 'paid' AND b.paid_at IS NOT NULL AND uo.owner_id IN ({})",
            ids.join(",")
        ),
        vec![m.community.id.into()],
    ))
    .all(&state.db)
    .await?
    {
        paid.entry(row.owner_id)
            .or_default()
            .push(row.paid_at.with_timezone(&m.tz).hour());
    }
    Ok(paid
        .into_iter()
        .filter_map(|(o, hours)| rules::best_hour(&hours, m.quiet).map(|h| (o, h)))
        .collect())
}

/// Inserts reminder rows (a repeat of an existing key is dropped) and raises episodes' top stage.
async fn queue(state: &AppState, m: &Moment, due: Vec<Due>) -> ApiResult<()> {
    if due.is_empty() {
        return Ok(());
    }
    let now = state.clock.now();
    let hours = learned_hours(state, m, due.iter().map(|d| d.owner_id)).await?;
    // An owner with a paying habit is reminded at their own hour (within a day); others when due.
    let local_now = now.with_timezone(&m.tz).naive_local();
    let when = |owner: i32| -> (DateTime<Utc>, Option<i32>) {
        match hours.get(&owner) {
            Some(h) => {
                let at = rules::at_hour(local_now, *h)
                    .and_local_timezone(m.tz)
                    .earliest()
                    .map_or(now, |t| t.with_timezone(&Utc));
                (m.next_send(at), i32::try_from(*h).ok())
            }
            None => (m.next_send(now), None),
        }
    };
    let txn = state.db.begin().await?;
    let rows = due.iter().map(|d| {
        let (not_before, best_hour) = when(d.owner_id);
        reminder::ActiveModel {
            owner_id: Set(d.owner_id),
            community_id: Set(m.community.id),
            stage: Set(d.stage.as_str().into()),
            episode_key: Set(d.episode_key.clone()),
            status: Set(ReminderStatus::Pending),
            not_before: Set(not_before),
            best_hour: Set(best_hour),
            lease_until: Set(None),
            attempts: Set(0),
            bill_ids: Set("[]".into()),
            amount_fen: Set(0),
            created_at: Set(now),
            ..Default::default()
        }
    });
    reminder::Entity::insert_many(rows)
        .on_conflict(
            OnConflict::columns([
                reminder::Column::OwnerId,
                reminder::Column::CommunityId,
                reminder::Column::Stage,
                reminder::Column::EpisodeKey,
            ])
            .do_nothing()
            .to_owned(),
        )
        .exec_without_returning(&txn)
        .await?;
    for stage in Stage::OVERDUE {
        let ids: Vec<i32> = due
            .iter()
            .filter(|d| d.stage == stage)
            .filter_map(|d| d.episode)
            .collect();
        if ids.is_empty() {
            continue;
        }
        entity::reminder_episode::Entity::update_many()
            .col_expr(entity::reminder_episode::Column::TopRank, Expr::value(stage.rank()))
            .filter(entity::reminder_episode::Column::Id.is_in(ids))
            .filter(entity::reminder_episode::Column::TopRank.lt(stage.rank()))
            .exec(&txn)
            .await?;
    }
    txn.commit().await?;
    Ok(())
}

/// Claims up to `limit` due reminders of a community: pending ones whose time has come and
/// claimed ones whose lease ran out. Public so tests can play a sender that dies after claiming.
pub async fn claim(state: &AppState, community_id: i32, limit: u64) -> ApiResult<Vec<reminder::Model>> {
    let now = state.clock.now();
    let lease = Duration::seconds(Ord::max(state.settings.reminders.lease_seconds, 1));
    let due = Query::select()
        .column(reminder::Column::Id)
        .from(reminder::Entity)
        .and_where(Expr::col(reminder::Column::CommunityId).eq(community_id))
        .and_where(
            Expr::col(reminder::Column::Status)
                .eq(ReminderStatus::Pending.as_str())
                .and(Expr::col(reminder::Column::NotBefore).lte(now))
                .or(Expr::col(reminder::Column::Status)
                    .eq(ReminderStatus::Sending.as_str())
                    .and(Expr::col(reminder::Column::LeaseUntil).lt(now))),
        )
        .order_by(reminder::Column::Id, sea_orm::Order::Asc)
        .limit(limit)
        .lock_with_behavior(LockType::Update, LockBehavior::SkipLocked)
        .to_owned();
    let txn = crate::db::begin_write(&state.db).await?;
    let mut rows = reminder::Entity::update_many()
        .col_expr(reminder::Column::Status, Expr::value(ReminderStatus::Sending))
        .col_expr(reminder::Column::LeaseUntil, Expr::value(now + lease))
        .col_expr(reminder::Column::Attempts, Expr::col(reminder::Column::Attempts).add(1))
        .filter(reminder::Column::Id.in_subquery(due))
        .exec_with_returning(&txn)
        .await?;
    txn.commit().await?;
    rows.sort_by_key(|r| r.id);
    Ok(rows)
}

/// Sends what is due now, batch by batch; outside the allowed hours nothing is claimed.
async fn send_due(state: &AppState, m: &Moment, report: &mut RunReport) -> ApiResult<()> {
    let now = state.clock.now();
    let may_send = m.next_send(now) == now;
    if may_send {
        loop {
            let claimed = claim(state, m.community.id, Ord::max(state.settings.reminders.batch_size, 1)).await?;
            if claimed.is_empty() {
                break;
            }
            // Messages go out concurrently (each is one owner's own row, so they never collide).
            let width = Ord::max(state.settings.reminders.send_concurrency, 1);
            let mut outcomes = futures_util::stream::iter(claimed)
                .map(|r| deliver(state, m, r))
                .buffer_unordered(width);
            while let Some(outcome) = outcomes.next().await {
                match outcome? {
                    Outcome::Sent(stage) => {
                        report.sent += 1;
                        *report.by_stage.entry(stage.as_str().into()).or_default() += 1;
                    }
                    Outcome::Task => report.tasks += 1,
                    Outcome::Skipped => report.skipped += 1,
                    Outcome::Suppressed => report.suppressed += 1,
                    // Counted below with everything else that waits.
                    Outcome::Deferred | Outcome::Lost => {}
                }
            }
        }
    }
    // Waiting: everything pending while the community may not be messaged, else what is not due yet.
    let mut waiting = reminder::Entity::find()
        .filter(reminder::Column::CommunityId.eq(m.community.id))
        .filter(reminder::Column::Status.eq(ReminderStatus::Pending));
    if may_send {
        waiting = waiting.filter(reminder::Column::NotBefore.gt(state.clock.now()));
    }
    report.deferred += waiting.count(&state.db).await?;
    Ok(())
}

use sea_orm::PaginatorTrait;
