//! Owners' subscribe-message grants and reminder preferences.
use crate::error::{ApiError, ApiResult};
use crate::state::AppState;
use entity::{owner, owner_account, subscribe_grant};
use sea_orm::sea_query::Expr;
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, Set};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

#[derive(Debug, Deserialize, ToSchema)]
pub struct NewSubscriptions {
    #[schema(min_items = 1, max_items = 20)]
    pub template_ids: Vec<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct SubscriptionsRecorded {
    pub granted: usize,
}

/// `POST /me/subscriptions`: each accepted template allows one message.
pub async fn record_subscriptions(
    state: &AppState,
    account_id: i32,
    body: NewSubscriptions,
) -> ApiResult<SubscriptionsRecorded> {
    if body.template_ids.is_empty() || body.template_ids.len() > 20 {
        return Err(ApiError::field("template_ids", "须为 1 到 20 个模板"));
    }
    if body
        .template_ids
        .iter()
        .any(|t| t.trim().is_empty() || t.len() > 128 || t.chars().any(char::is_whitespace))
    {
        return Err(ApiError::field("template_ids", "模板编号无效"));
    }
    let now = state.clock.now();
    let rows = body.template_ids.iter().map(|t| subscribe_grant::ActiveModel {
        account_id: Set(account_id),
        template_id: Set(t.clone()),
        granted_at: Set(now),
        ..Default::default()
    });
    subscribe_grant::Entity::insert_many(rows)
        .exec_without_returning(&state.db)
        .await?;
    Ok(SubscriptionsRecorded {
        granted: body.template_ids.len(),
    })
}

#[derive(Debug, Deserialize, Serialize, ToSchema)]
pub struct ReminderPreferences {
    /// False: no friendly reminders (pre-due, friendly overdue). Formal notices still go out.
    pub friendly: bool,
}

/// `PUT /me/reminder-preferences`: for every owner record the account's verified phone reaches.
pub async fn set_preferences(
    state: &AppState,
    account_id: i32,
    p: ReminderPreferences,
) -> ApiResult<ReminderPreferences> {
    let account = owner_account::Entity::find_by_id(account_id)
        .one(&state.db)
        .await?
        .ok_or(ApiError::Unauthenticated)?;
    let Some(index) = account.phone_index else {
        return Err(ApiError::Conflict("PHONE_NOT_BOUND", "请先绑定手机号".into()));
    };
    owner::Entity::update_many()
        .col_expr(owner::Column::FriendlyOptOut, Expr::value(!p.friendly))
        .filter(owner::Column::PhoneIndex.eq(index))
        .exec(&state.db)
        .await?;
    Ok(p)
}
