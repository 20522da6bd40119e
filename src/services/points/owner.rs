//! `GET /me/points?community_id=`: the owner's balance in one community, what expires next and
//! when, and the history (newest first), as API.md's points call gives it.
use crate::domain::points::{self, Lot};
use crate::error::{ApiError, ApiResult};
use crate::state::AppState;
use chrono::{DateTime, NaiveDate, Utc};
use entity::{owner_account, points_account, points_entry, points_lot};
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, QueryOrder, QuerySelect};
use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use utoipa::{IntoParams, ToSchema};

/// Entries the answer lists (newest first).
const HISTORY: u64 = 100;

#[derive(Debug, Deserialize, IntoParams)]
pub struct PointsQuery {
    /// Points are per community.
    pub community_id: i32,
}

/// One line of the history.
#[derive(Debug, Serialize, ToSchema)]
pub struct PointsEntryView {
    /// `earn`, `redeem`, `expire`, `adjust` or `reverse`.
    pub kind: String,
    /// Signed.
    pub points: i64,
    pub reason: String,
    pub created_at: DateTime<Utc>,
    /// For earned points: the last day they may be spent.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub expires_at: Option<NaiveDate>,
}

/// The next points to expire.
#[derive(Debug, Serialize, ToSchema)]
pub struct NextExpiry {
    pub points: i64,
    /// The last day they may be spent.
    pub on: NaiveDate,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct PointsView {
    pub community_id: i32,
    /// What may be spent today (never below 0; `owed` is kept apart).
    pub balance: i64,
    /// Points reversed after they were spent, settled by the next points earned.
    pub owed: i64,
    /// Points held by unpaid orders (not in `balance`): spent when the order is paid, back when it
    /// closes.
    pub held: i64,
    pub next_expiry: Option<NextExpiry>,
    pub entries: Vec<PointsEntryView>,
}

impl PointsView {
    /// Nothing earned yet.
    pub(crate) fn empty(community_id: i32) -> Self {
        PointsView {
            community_id,
            balance: 0,
            owed: 0,
            held: 0,
            next_expiry: None,
            entries: Vec::new(),
        }
    }
}

/// The owner's points in a community: one where they hold points or own a unit (404 otherwise,
/// like a community that does not exist).
pub async fn get(state: &AppState, account_id: i32, q: PointsQuery) -> ApiResult<PointsView> {
    let held = points_account::Entity::find()
        .filter(points_account::Column::CommunityId.eq(q.community_id))
        .filter(points_account::Column::AccountId.eq(account_id))
        .one(&state.db)
        .await?;
    let Some(held) = held else {
        let account = owner_account::Entity::find_by_id(account_id)
            .one(&state.db)
            .await?
            .ok_or(ApiError::NotFound)?;
        let units = crate::services::access::me::units_of_account(state, &account).await?;
        if !units.iter().any(|u| u.community.id == q.community_id) {
            return Err(ApiError::NotFound);
        }
        return Ok(PointsView::empty(q.community_id));
    };
    view(state, q.community_id, &held).await
}

/// What a holder's points account shows (the owner's answer, and staff's on the unit page).
pub(crate) async fn view(state: &AppState, community_id: i32, held: &points_account::Model) -> ApiResult<PointsView> {
    let tz = state.community_tz(community_id).await?;
    let today = state.today_in(tz);
    let lots = points_lot::Entity::find()
        .filter(points_lot::Column::PointsAccountId.eq(held.id))
        .all(&state.db)
        .await?;
    let as_lots: Vec<Lot> = lots
        .iter()
        .map(|l| Lot {
            id: l.id as i64,
            expires_on: l.expires_on,
            remaining: l.remaining,
        })
        .collect();
    let next_expiry = as_lots
        .iter()
        .filter(|l| l.remaining > 0 && l.expires_on >= today)
        .map(|l| l.expires_on)
        .min()
        .map(|on| NextExpiry {
            points: as_lots
                .iter()
                .filter(|l| l.remaining > 0 && l.expires_on == on)
                .map(|l| l.remaining)
                .sum(),
            on,
        });
    let expiry: HashMap<i32, NaiveDate> = lots.iter().map(|l| (l.id, l.expires_on)).collect();
    let entries = points_entry::Entity::find()
        .filter(points_entry::Column::PointsAccountId.eq(held.id))
        .order_by_desc(points_entry::Column::Id)
        .limit(HISTORY)
        .all(&state.db)
        .await?
        .into_iter()
        .map(|e| PointsEntryView {
            kind: e.kind.to_string(),
            points: e.points,
            reason: e.reason,
            created_at: e.created_at,
            expires_at: e.lot_id.and_then(|l| expiry.get(&l).copied()),
        })
        .collect();
    Ok(PointsView {
        community_id,
        balance: points::balance(&as_lots, held.debt, today).max(0),
        owed: held.debt,
        held: entity::points_take::Entity::find()
            .filter(entity::points_take::Column::PointsAccountId.eq(held.id))
            .filter(entity::points_take::Column::SourceKind.eq(super::fees::HOLD))
            .all(&state.db)
            .await?
            .iter()
            .map(|t| t.points)
            .sum(),
        next_expiry,
        entries,
    })
}

/// What an account may spend today, read inside the caller's transaction.
pub(crate) async fn balance_of<C: sea_orm::ConnectionTrait>(
    db: &C,
    held: &points_account::Model,
    today: NaiveDate,
) -> ApiResult<i64> {
    let lots: Vec<Lot> = points_lot::Entity::find()
        .filter(points_lot::Column::PointsAccountId.eq(held.id))
        .all(db)
        .await?
        .iter()
        .map(|l| Lot {
            id: l.id as i64,
            expires_on: l.expires_on,
            remaining: l.remaining,
        })
        .collect();
    Ok(points::balance(&lots, held.debt, today))
}
