//! Graduated reminders: each community's policy, the pass that decides who is due a message at
//! which stage and sends it exactly once across replicas and crashes, and the staff view of what
//! went out.
pub mod delivery;
pub mod moment;
pub mod pass;
pub mod policy;

// Joins each bill (`b`) to the owner records it belongs to (`uo`): the one ownership rule.
use crate::domain::reminders::Stage;
use crate::domain::role::Action;
use crate::domain::states::{self, ReminderStatus};
use crate::domain::Fen;
use crate::error::{ApiError, ApiResult};
use crate::services::access::staff::StaffCtx;
use crate::state::AppState;
use chrono::{DateTime, Utc};
use entity::reminder;
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, QueryOrder};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

// ---------- policy ----------

/// A reminder as staff see it: what was (or will be) sent to whom, when and through which channel.
#[derive(Debug, Serialize, ToSchema)]
pub struct ReminderView {
    pub id: i32,
    pub owner_id: i32,
    /// The owner record's name (whom it went to).
    pub owner_name: String,
    pub community_id: i32,
    pub stage: String,
    /// `pending`, `sending`, `sent` (a channel accepted it), `task` (handed to staff), `skipped`
    /// (a courtesy reminder with no channel), `suppressed` or `failed`.
    pub status: String,
    pub not_before: DateTime<Utc>,
    pub attempts: i32,
    pub channel: Option<String>,
    pub bill_ids: Vec<i32>,
    pub amount: String,
    pub content: Option<String>,
    pub provider_answer: Option<String>,
    pub sent_at: Option<DateTime<Utc>>,
}

impl From<reminder::Model> for ReminderView {
    fn from(r: reminder::Model) -> Self {
        ReminderView {
            id: r.id,
            owner_id: r.owner_id,
            owner_name: String::new(),
            community_id: r.community_id,
            stage: r.stage,
            status: r.status.to_string(),
            not_before: r.not_before,
            attempts: r.attempts,
            channel: r.channel,
            bill_ids: serde_json::from_str(&r.bill_ids).unwrap_or_default(),
            amount: Fen(r.amount_fen).to_yuan_string(),
            content: r.content,
            provider_answer: r.provider_answer,
            sent_at: r.sent_at,
        }
    }
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
pub struct ReminderQuery {
    pub community_id: i32,
    #[param(pattern = r#"^(pre_due|overdue_friendly|overdue_formal|final_notice)$"#)]
    pub stage: Option<String>,
    #[param(pattern = r#"^(pending|sending|sent|task|skipped|suppressed|failed)$"#)]
    pub status: Option<String>,
    pub owner_id: Option<i32>,
    #[param(minimum = 1, maximum = 10000)]
    pub page: Option<u64>,
    #[param(minimum = 1, maximum = 200)]
    pub per_page: Option<u64>,
}

/// `GET /staff/reminders`: a community's reminders, newest first.
pub async fn list(
    state: &AppState,
    ctx: &StaffCtx,
    q: ReminderQuery,
) -> ApiResult<crate::services::setup::Page<ReminderView>> {
    ctx.require(Action::ReadSetup)?;
    ctx.require_community(q.community_id)?;
    let mut find = reminder::Entity::find().filter(reminder::Column::CommunityId.eq(q.community_id));
    if let Some(s) = &q.stage {
        let stage = Stage::parse(s).ok_or_else(|| ApiError::field("stage", "未知的提醒阶段"))?;
        find = find.filter(reminder::Column::Stage.eq(stage.as_str()));
    }
    if let Some(s) = &q.status {
        let status = states::parse::<ReminderStatus>(s).ok_or_else(|| ApiError::field("status", "未知的状态"))?;
        find = find.filter(reminder::Column::Status.eq(status));
    }
    if let Some(o) = q.owner_id {
        find = find.filter(reminder::Column::OwnerId.eq(o));
    }
    let page = crate::services::setup::PageQuery {
        page: q.page,
        per_page: q.per_page,
    };
    let (rows, total, page_no, per_page) =
        crate::services::setup::paginate(state, find.order_by_desc(reminder::Column::Id), &page).await?;
    let ids: Vec<i32> = rows.iter().map(|r| r.owner_id).collect();
    let names: std::collections::HashMap<i32, String> = entity::owner::Entity::find()
        .filter(entity::owner::Column::Id.is_in(ids))
        .all(&state.db)
        .await?
        .into_iter()
        .map(|o| (o.id, o.name))
        .collect();
    Ok(crate::services::setup::Page {
        items: rows
            .into_iter()
            .map(|r| {
                let name = names.get(&r.owner_id).cloned().unwrap_or_default();
                ReminderView {
                    owner_name: name,
                    ..ReminderView::from(r)
                }
            })
            .collect(),
        total,
        page: page_no,
        per_page,
    })
}
