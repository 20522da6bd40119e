//! The reminder policy of a community (stages, quiet hours, channels), defaults until staff set one.
// Joins each bill (`b`) to the owner records it belongs to (`uo`): the one ownership rule.
use crate::domain::reminders::Policy;
use crate::domain::role::Action;
use crate::error::{ApiError, ApiResult, FieldErrors};
use crate::services::access::staff::StaffCtx;
use crate::services::setup::community_in_scope;
use crate::state::AppState;
use entity::reminder_policy;
use sea_orm::sea_query::OnConflict;
use sea_orm::{ConnectionTrait, EntityTrait, Set};

/// A community's policy (the defaults until staff save one).
pub async fn policy_of<C: ConnectionTrait>(db: &C, community_id: i32) -> ApiResult<Policy> {
    let row = reminder_policy::Entity::find_by_id(community_id).one(db).await?;
    Ok(row
        .and_then(|r| serde_json::from_str(&r.policy).ok())
        .unwrap_or_default())
}

/// `GET /staff/communities/{id}/reminder-policy`.
pub async fn get_policy(state: &AppState, ctx: &StaffCtx, community_id: i32) -> ApiResult<Policy> {
    ctx.require(Action::ReadSetup)?;
    community_in_scope(state, ctx, community_id).await?;
    policy_of(&state.db, community_id).await
}

/// `PUT /staff/communities/{id}/reminder-policy`: the whole policy, validated, audited.
pub async fn put_policy(state: &AppState, ctx: &StaffCtx, community_id: i32, p: Policy) -> ApiResult<Policy> {
    let auth = ctx.authorize(state, Action::ManageCollection)?;
    community_in_scope(state, ctx, community_id).await?;
    let mut errors = FieldErrors::default();
    for (f, m) in p.problems() {
        errors.insert(f, m);
    }
    ApiError::check(errors)?;
    let now = state.clock.now();
    let json = serde_json::to_string(&p).map_err(|e| ApiError::internal(anyhow::Error::from(e)))?;
    let cmd = auth.begin().await?;
    let txn = cmd.txn();
    reminder_policy::Entity::insert(reminder_policy::ActiveModel {
        community_id: Set(community_id),
        policy: Set(json.clone()),
        updated_by: Set(ctx.actor()),
        updated_at: Set(now),
    })
    .on_conflict(
        OnConflict::column(reminder_policy::Column::CommunityId)
            .update_columns([
                reminder_policy::Column::Policy,
                reminder_policy::Column::UpdatedBy,
                reminder_policy::Column::UpdatedAt,
            ])
            .to_owned(),
    )
    .exec(txn)
    .await?;
    let detail = serde_json::from_str(&json).unwrap_or_default();
    cmd.audit("reminder_policy.update", "community", community_id, detail)
        .await?;
    cmd.commit().await?;
    Ok(p)
}
