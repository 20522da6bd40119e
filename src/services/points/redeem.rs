//! Redemptions: an owner spends points on a reward. Points and stock are checked and taken in one
//! transaction under the reward row's lock and the points account's lock, so concurrent
//! redemptions never overspend either; an `Idempotency-Key` makes a retried request answer the
//! first redemption. Staff hand it over (fulfil) or cancel it, which returns the points to the lots
//! they came from (keeping those lots' expiry) and the stock to the shelf — each exactly once.
use super::{give_back, locked, locked_account, record, spend, Holder, NewEntry};
use crate::domain::role::Action;
use crate::domain::text;
use crate::error::{ApiError, ApiResult};
use crate::services::access::staff::StaffCtx;
use crate::services::audit;
use crate::state::AppState;
use chrono::{DateTime, Utc};
use entity::states::{PointsEntryKind, RedemptionStatus};
use entity::{redemption, reward};
use sea_orm::sea_query::{Expr, ExprTrait};
use sea_orm::{ActiveModelTrait, ColumnTrait, EntityTrait, QueryFilter, QueryOrder, QuerySelect, Set, SqlErr};
use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use utoipa::{IntoParams, ToSchema};

/// `points_takes.source_kind` (and the redeem entry's source) of a redemption.
pub const SOURCE: &str = "redemption";
/// Sources of what a cancellation writes, once per redemption.
const RETURNED: &str = "redemption_cancel";
const LAPSED: &str = "redemption_lapsed";
/// The most of one reward one redemption may take.
const MAX_QUANTITY: i32 = 100;
/// Redemptions a list answers.
const LIST: u64 = 500;

/// `POST /me/redemptions`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewRedemption {
    pub reward_id: i32,
    #[schema(minimum = 1, maximum = 100)]
    pub quantity: i32,
}

/// `POST /me/redemptions` answer.
#[derive(Debug, Serialize, ToSchema)]
pub struct RedemptionCreated {
    pub id: i32,
    pub points_spent: i64,
    /// What the owner may still spend in that community.
    pub balance: i64,
}

/// A redemption as its owner and staff see it.
#[derive(Debug, Serialize, ToSchema)]
pub struct RedemptionView {
    pub id: i32,
    pub community_id: i32,
    pub reward_id: i32,
    pub reward_name: String,
    pub quantity: i32,
    pub points_spent: i64,
    /// `pending` (to hand over), `fulfilled` or `cancelled` (points returned).
    pub status: String,
    pub created_at: DateTime<Utc>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub decided_at: Option<DateTime<Utc>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
    /// The redeeming owner's units in that community (whom to hand it to).
    pub unit_codes: Vec<String>,
}

#[derive(Debug, Deserialize, IntoParams)]
pub struct RedemptionsQuery {
    pub community_id: Option<i32>,
    /// `pending` (default), `fulfilled`, `cancelled` or `all`.
    #[param(pattern = r"^(pending|fulfilled|cancelled|all)$")]
    pub status: Option<String>,
}

/// `POST /staff/redemptions/{id}/fulfil`.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Fulfilment {
    #[schema(
        max_length = 200,
        pattern = r#"^[^\u0000-\u001F\u007F-\u009F]*[^\s\u0000-\u001F\u007F-\u009F][^\u0000-\u001F\u007F-\u009F]*$"#
    )]
    pub note: Option<String>,
}

/// `POST /staff/redemptions/{id}/cancel`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Cancellation {
    #[schema(
        min_length = 1,
        max_length = 200,
        pattern = r#"^[^\u0000-\u001F\u007F-\u009F]*[^\s\u0000-\u001F\u007F-\u009F][^\u0000-\u001F\u007F-\u009F]*$"#
    )]
    pub reason: String,
}

fn key_of(raw: Option<String>) -> ApiResult<String> {
    match raw {
        Some(k) if (1..=64).contains(&k.len()) && k.bytes().all(|b| (0x21..=0x7e).contains(&b)) => Ok(k),
        _ => Err(ApiError::BadRequest(
            "兑换须带 Idempotency-Key 请求头（1到64个可见字符），重试时沿用同一个".into(),
            None,
        )),
    }
}

async fn by_key<C: sea_orm::ConnectionTrait>(
    db: &C,
    account_id: i32,
    key: &str,
) -> ApiResult<Option<redemption::Model>> {
    Ok(redemption::Entity::find()
        .filter(redemption::Column::AccountId.eq(account_id))
        .filter(redemption::Column::IdempotencyKey.eq(key))
        .one(db)
        .await?)
}

/// The answer for a redemption: what it spent and what is left to spend now.
async fn created(state: &AppState, r: &redemption::Model) -> ApiResult<RedemptionCreated> {
    let held = account_row(state, r.points_account_id).await?;
    let balance = super::owner::view(state, r.community_id, &held).await?.balance;
    Ok(RedemptionCreated {
        id: r.id,
        points_spent: r.points_spent,
        balance,
    })
}

async fn account_row(state: &AppState, id: i32) -> ApiResult<entity::points_account::Model> {
    entity::points_account::Entity::find_by_id(id)
        .one(&state.db)
        .await?
        .ok_or(ApiError::NotFound)
}

/// `POST /me/redemptions`.
pub async fn redeem(
    state: &AppState,
    account_id: i32,
    key: Option<String>,
    body: NewRedemption,
) -> ApiResult<RedemptionCreated> {
    let key = key_of(key)?;
    if let Some(first) = by_key(&state.db, account_id, &key).await? {
        return created(state, &first).await;
    }
    if !(1..=MAX_QUANTITY).contains(&body.quantity) {
        return Err(ApiError::field("quantity", "兑换数量应在1到100之间"));
    }
    let r = reward::Entity::find_by_id(body.reward_id)
        .one(&state.db)
        .await?
        .ok_or(ApiError::NotFound)?;
    if !super::rewards::owner_communities(state, account_id)
        .await?
        .contains(&r.community_id)
    {
        return Err(ApiError::NotFound);
    }
    if !super::rewards::points_on(state, r.community_id).await? {
        return Err(ApiError::Conflict("POINTS_OFF", "本小区暂未开通积分".into()));
    }
    let today = state.today_in(state.community_tz(r.community_id).await?);
    let now = state.clock.now();
    let txn = crate::db::begin_write(&state.db).await?;
    // Everyone redeeming this reward queues here; the stock read below is the one that counts.
    let r = reward::Entity::find_by_id(r.id)
        .lock_exclusive()
        .one(&txn)
        .await?
        .ok_or(ApiError::NotFound)?;
    // The same key may have won while we waited.
    if let Some(first) = by_key(&txn, account_id, &key).await? {
        drop(txn);
        return created(state, &first).await;
    }
    if !r.active {
        return Err(ApiError::Conflict("REWARD_WITHDRAWN", "该奖品已下架".into()));
    }
    let quantity = i64::from(body.quantity);
    if r.stock < quantity {
        return Err(ApiError::Conflict(
            "OUT_OF_STOCK",
            format!("库存不足：当前剩余{}件", r.stock),
        ));
    }
    if let Some(limit) = r.per_owner_limit {
        let held: i64 = redemption::Entity::find()
            .filter(redemption::Column::RewardId.eq(r.id))
            .filter(redemption::Column::AccountId.eq(account_id))
            .filter(redemption::Column::Status.ne(RedemptionStatus::Cancelled))
            .all(&txn)
            .await?
            .iter()
            .map(|x| i64::from(x.quantity))
            .sum();
        if held + quantity > i64::from(limit) {
            return Err(ApiError::Conflict(
                "LIMIT_REACHED",
                format!("每户限兑{limit}件，您已兑换{held}件"),
            ));
        }
    }
    let cost = r.points_cost * quantity;
    let account = locked_account(&txn, r.community_id, Holder::Account(account_id), now).await?;
    let row = redemption::ActiveModel {
        community_id: Set(r.community_id),
        reward_id: Set(r.id),
        points_account_id: Set(account.id),
        account_id: Set(account_id),
        quantity: Set(body.quantity),
        points_spent: Set(cost),
        status: Set(RedemptionStatus::Pending),
        idempotency_key: Set(key.clone()),
        created_at: Set(now),
        ..Default::default()
    }
    .insert(&txn)
    .await
    .map_err(|e| match e.sql_err() {
        Some(SqlErr::UniqueConstraintViolation(_)) => ApiError::Conflict(
            "IDEMPOTENCY_KEY_IN_USE",
            "该 Idempotency-Key 的兑换正在处理，请稍后重试".into(),
        ),
        _ => e.into(),
    })?;
    spend(&txn, &account, cost, today, Some((SOURCE, row.id))).await?;
    reward::Entity::update_many()
        .col_expr(reward::Column::Stock, Expr::col(reward::Column::Stock).sub(quantity))
        .filter(reward::Column::Id.eq(r.id))
        .exec(&txn)
        .await?;
    record(
        &txn,
        NewEntry {
            account_id: account.id,
            kind: PointsEntryKind::Redeem,
            points: -cost,
            lot_id: None,
            source: Some((SOURCE, row.id)),
            reason: format!("兑换{}×{}", r.name, body.quantity),
            actor: format!("owner:{account_id}"),
            at: now,
        },
    )
    .await?;
    txn.commit().await?;
    created(state, &row).await
}

async fn views(state: &AppState, rows: Vec<redemption::Model>) -> ApiResult<Vec<RedemptionView>> {
    let names: HashMap<i32, String> = reward::Entity::find()
        .filter(reward::Column::Id.is_in(rows.iter().map(|r| r.reward_id)))
        .all(&state.db)
        .await?
        .into_iter()
        .map(|r| (r.id, r.name))
        .collect();
    // Each redeeming account's units, read once per account.
    let mut units: HashMap<i32, Vec<entity::unit::Model>> = HashMap::new();
    for account_id in rows
        .iter()
        .map(|r| r.account_id)
        .collect::<std::collections::BTreeSet<_>>()
    {
        let found = match entity::owner_account::Entity::find_by_id(account_id)
            .one(&state.db)
            .await?
        {
            Some(a) => {
                let ids = crate::services::access::me::unit_ids_of_account(state, &a).await?;
                entity::unit::Entity::find()
                    .filter(entity::unit::Column::Id.is_in(ids))
                    .order_by_asc(entity::unit::Column::Id)
                    .all(&state.db)
                    .await?
            }
            None => Vec::new(),
        };
        units.insert(account_id, found);
    }
    let mut out = Vec::with_capacity(rows.len());
    for r in rows {
        let unit_codes = units
            .get(&r.account_id)
            .map(|us| {
                us.iter()
                    .filter(|u| u.community_id == r.community_id)
                    .map(|u| u.code.clone())
                    .collect()
            })
            .unwrap_or_default();
        out.push(RedemptionView {
            id: r.id,
            community_id: r.community_id,
            reward_id: r.reward_id,
            reward_name: names.get(&r.reward_id).cloned().unwrap_or_default(),
            quantity: r.quantity,
            points_spent: r.points_spent,
            status: r.status.to_string(),
            created_at: r.created_at,
            decided_at: r.decided_at,
            note: r.note,
            unit_codes,
        });
    }
    Ok(out)
}

/// `GET /me/redemptions`: the owner's own, newest first.
pub async fn mine(state: &AppState, account_id: i32) -> ApiResult<Vec<RedemptionView>> {
    let rows = redemption::Entity::find()
        .filter(redemption::Column::AccountId.eq(account_id))
        .order_by_desc(redemption::Column::Id)
        .limit(LIST)
        .all(&state.db)
        .await?;
    views(state, rows).await
}

/// `GET /staff/redemptions`: what waits to be handed over (oldest first), or any status.
pub async fn staff_list(state: &AppState, ctx: &StaffCtx, q: RedemptionsQuery) -> ApiResult<Vec<RedemptionView>> {
    ctx.require(Action::ReadSetup)?;
    if let Some(c) = q.community_id {
        ctx.require_community(c)?;
    }
    let mut find = redemption::Entity::find().order_by_asc(redemption::Column::Id);
    match q.status.as_deref().unwrap_or("pending") {
        "all" => {}
        s => match crate::domain::states::parse::<RedemptionStatus>(s) {
            Some(st) => find = find.filter(redemption::Column::Status.eq(st)),
            None => {
                return Err(ApiError::field(
                    "status",
                    "状态应为 pending、fulfilled、cancelled 或 all",
                ))
            }
        },
    }
    if let Some(c) = q.community_id {
        find = find.filter(redemption::Column::CommunityId.eq(c));
    } else if !ctx.role.sees_all_communities() {
        find = find.filter(redemption::Column::CommunityId.is_in(ctx.communities.clone()));
    }
    let rows = find.limit(LIST).all(&state.db).await?;
    views(state, rows).await
}

fn one_line(field: &str, raw: &str, what: &str) -> ApiResult<String> {
    text::name(raw, 200).map_err(|m| ApiError::field(field, format!("{what}{m}")))
}

/// Moves a pending redemption to `to`, once: whoever comes second is told it was decided.
async fn decide<C: sea_orm::ConnectionTrait>(
    db: &C,
    ctx: &StaffCtx,
    r: &redemption::Model,
    to: RedemptionStatus,
    note: Option<String>,
    now: DateTime<Utc>,
) -> ApiResult<()> {
    let done = redemption::Entity::update_many()
        .col_expr(redemption::Column::Status, Expr::value(to))
        .col_expr(redemption::Column::DecidedAt, Expr::value(now))
        .col_expr(redemption::Column::DecidedBy, Expr::value(ctx.actor()))
        .col_expr(redemption::Column::Note, Expr::value(note))
        .filter(redemption::Column::Id.eq(r.id))
        .filter(redemption::Column::Status.eq(RedemptionStatus::Pending))
        .exec(db)
        .await?;
    if done.rows_affected == 0 {
        return Err(ApiError::Conflict("REDEMPTION_DECIDED", "该兑换已处理".into()));
    }
    Ok(())
}

async fn in_scope(state: &AppState, ctx: &StaffCtx, id: i32) -> ApiResult<redemption::Model> {
    ctx.require(Action::ManageRewards)?;
    let r = redemption::Entity::find_by_id(id)
        .one(&state.db)
        .await?
        .ok_or(ApiError::NotFound)?;
    ctx.require_community(r.community_id)?;
    Ok(r)
}

async fn one(state: &AppState, id: i32) -> ApiResult<RedemptionView> {
    let rows = redemption::Entity::find_by_id(id).all(&state.db).await?;
    views(state, rows).await?.pop().ok_or(ApiError::NotFound)
}

/// `POST /staff/redemptions/{id}/fulfil`: handed over.
pub async fn fulfil(state: &AppState, ctx: &StaffCtx, id: i32, body: Fulfilment) -> ApiResult<RedemptionView> {
    let note = body.note.as_deref().map(|n| one_line("note", n, "备注")).transpose()?;
    let r = in_scope(state, ctx, id).await?;
    let now = state.clock.now();
    let txn = crate::db::begin_write(&state.db).await?;
    decide(&txn, ctx, &r, RedemptionStatus::Fulfilled, note.clone(), now).await?;
    audit::record(
        &txn,
        &ctx.actor(),
        "redemption.fulfil",
        "redemption",
        r.id,
        serde_json::json!({"note": note}),
        now,
    )
    .await?;
    txn.commit().await?;
    one(state, id).await
}

/// `POST /staff/redemptions/{id}/cancel`: the points go back to the lots they came from and the
/// stock back to the reward. Points whose lot has meanwhile passed its last day are shown
/// returned and expired, since they cannot outlive their lot.
pub async fn cancel(state: &AppState, ctx: &StaffCtx, id: i32, body: Cancellation) -> ApiResult<RedemptionView> {
    let reason = one_line("reason", &body.reason, "原因")?;
    let r = in_scope(state, ctx, id).await?;
    let today = state.today_in(state.community_tz(r.community_id).await?);
    let now = state.clock.now();
    let txn = crate::db::begin_write(&state.db).await?;
    decide(&txn, ctx, &r, RedemptionStatus::Cancelled, Some(reason.clone()), now).await?;
    let account = locked(&txn, r.points_account_id).await?;
    let (returned, lapsed) = give_back(&txn, (SOURCE, r.id), today).await?;
    reward::Entity::update_many()
        .col_expr(
            reward::Column::Stock,
            Expr::col(reward::Column::Stock).add(i64::from(r.quantity)),
        )
        .filter(reward::Column::Id.eq(r.reward_id))
        .exec(&txn)
        .await?;
    let entry = |kind, points, source, reason| NewEntry {
        account_id: account.id,
        kind,
        points,
        lot_id: None,
        source: Some((source, r.id)),
        reason,
        actor: ctx.actor(),
        at: now,
    };
    record(
        &txn,
        entry(
            PointsEntryKind::Reverse,
            returned,
            RETURNED,
            format!("兑换取消（{reason}），积分退回原批次"),
        ),
    )
    .await?;
    if lapsed > 0 {
        record(
            &txn,
            entry(
                PointsEntryKind::Expire,
                -lapsed,
                LAPSED,
                "退回的积分所属批次已过有效期".into(),
            ),
        )
        .await?;
    }
    audit::record(
        &txn,
        &ctx.actor(),
        "redemption.cancel",
        "redemption",
        r.id,
        serde_json::json!({"reason": reason, "points_returned": returned, "points_lapsed": lapsed}),
        now,
    )
    .await?;
    txn.commit().await?;
    one(state, id).await
}
