//! What a ticket event leaves behind besides the ticket: a record in the unit's evidence chain (a
//! court will ask whether the owner complained, and what the company answered), and for staff
//! replies and resolutions a message to the owner through their channels. Internal notes leave
//! neither: they are the staff's working notes, not an exchange with the owner.
use crate::domain::tickets;
use crate::error::ApiResult;
use crate::services::collection::evidence::{self, NewEvidence};
use crate::services::messaging::{self, Message, SpentFor};
use crate::services::uploads::Cited;
use crate::state::AppState;
use chrono::{DateTime, Utc};
use entity::{owner_account, ticket};
use sea_orm::{DatabaseTransaction, EntityTrait, TransactionTrait};

/// What happened, as the evidence record's stage names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stage {
    Opened,
    /// An enquiry answered at once from the owner's own figures.
    Answered,
    OwnerReply,
    StaffReply,
    Resolved,
    Reopened,
    Rated,
    Merged,
    /// Finance approved a bill correction the dispute asked for; the ledger applied it.
    Adjusted,
    /// The owner was told of a reply or resolution (what the channel carried).
    Notice,
}

impl Stage {
    pub fn as_str(self) -> &'static str {
        match self {
            Stage::Opened => "ticket_opened",
            Stage::Answered => "ticket_answered",
            Stage::OwnerReply => "ticket_owner_reply",
            Stage::StaffReply => "ticket_staff_reply",
            Stage::Resolved => "ticket_resolved",
            Stage::Reopened => "ticket_reopened",
            Stage::Rated => "ticket_rated",
            Stage::Merged => "ticket_merged",
            Stage::Adjusted => "ticket_adjusted",
            Stage::Notice => "ticket_notice",
        }
    }
}

/// Appends one ticket event to the unit's chain, inside the caller's transaction. `fields` adds
/// to the ticket's number, category and title (the body, bills, photos by hash, the answer…).
pub async fn append(
    txn: &DatabaseTransaction,
    t: &ticket::Model,
    stage: Stage,
    channel: &str,
    mut fields: serde_json::Map<String, serde_json::Value>,
    by: &str,
    at: DateTime<Utc>,
) -> ApiResult<()> {
    let mut content = serde_json::Map::new();
    content.insert("ticket_id".into(), t.id.into());
    content.insert("category".into(), tickets::category_label(t.category).into());
    content.insert("title".into(), t.title.clone().into());
    content.append(&mut fields);
    evidence::append(
        txn,
        t.unit_id,
        at,
        NewEvidence {
            kind: "ticket",
            stage: Some(stage.as_str().into()),
            channel: channel.into(),
            content: serde_json::Value::Object(content).to_string(),
            result: by.into(),
        },
    )
    .await?;
    Ok(())
}

/// Photos as evidence cites them: number and hash of the stored bytes.
pub fn cited(photos: &[Cited]) -> serde_json::Value {
    serde_json::Value::Array(
        photos
            .iter()
            .map(|p| serde_json::json!({"id": p.id, "sha256": p.sha256}))
            .collect(),
    )
}

/// Why the owner is being told.
#[derive(Debug, Clone, Copy)]
pub enum Tell {
    Reply,
    Resolved,
}

impl Tell {
    fn purpose(self) -> &'static str {
        match self {
            Tell::Reply => "ticket_reply",
            Tell::Resolved => "ticket_resolved",
        }
    }

    fn words(self) -> &'static str {
        match self {
            Tell::Reply => "已回复",
            Tell::Resolved => "已解决",
        }
    }
}

/// Tells the owner who opened the ticket (WeChat, else SMS to the account's verified phone) and
/// keeps what was transmitted as evidence. After the event is committed: a channel that fails
/// leaves the reply in the app, where the owner sees it anyway, so this never fails the request.
pub async fn tell_owner(state: &AppState, t: &ticket::Model, why: Tell, excerpt: &str, message_ref: i32) {
    if let Err(e) = try_tell(state, t, why, excerpt, message_ref).await {
        tracing::warn!(ticket_id = t.id, error = %e, "telling the owner about a ticket failed");
    }
}

async fn try_tell(state: &AppState, t: &ticket::Model, why: Tell, excerpt: &str, message_ref: i32) -> ApiResult<()> {
    let Some(account) = owner_account::Entity::find_by_id(t.account_id).one(&state.db).await? else {
        return Ok(());
    };
    let now = state.clock.now();
    let tz = state.community_tz(t.community_id).await?;
    let msg = Message {
        purpose: why.purpose(),
        wechat_fields: vec![
            ("thing1", t.title.chars().take(20).collect()),
            ("phrase2", why.words().into()),
            ("thing3", excerpt.chars().take(20).collect()),
            ("time4", now.with_timezone(&tz).format("%Y-%m-%d %H:%M").to_string()),
        ],
        page: format!("pages/tickets/detail?id={}", t.id),
        sms_params: vec![t.id.to_string(), why.words().into()],
        context: format!("ticket:{}:{}", t.id, message_ref),
        spent_for: SpentFor::Other(format!("ticket:{}:{}:{}", t.id, why.purpose(), message_ref)),
    };
    let d = messaging::send_to(state, &account, &msg).await?;
    // Evidence keeps exactly what was transmitted: nothing, when nothing was.
    if let (Some(ch), Some(payload)) = (d.channel, d.transmitted) {
        let txn = state.db.begin().await?;
        evidence::append(
            &txn,
            t.unit_id,
            now,
            NewEvidence {
                kind: "ticket",
                stage: Some(Stage::Notice.as_str().into()),
                channel: ch.into(),
                content: payload,
                result: d.answers.join("\n"),
            },
        )
        .await?;
        txn.commit().await?;
    }
    Ok(())
}
