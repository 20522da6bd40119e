//! Ways out of arrears (issue #17): installment plans (分期协议) — the request and decision
//! (`installments`), then the plan in force (`keeping`: acceptance, completion, default); hardship
//! relief (`hardship`); vacant-unit discounts (`vacancy`). Their bill changes go through the
//! ledger; each step goes on the unit's evidence chain. What the three share lives here: the
//! evidence record, the guarded status move, the owner's unit a request names, telling the owner.
use crate::error::{ApiError, ApiResult};
use crate::services::access::me;
use crate::services::collection::evidence::{self, NewEvidence};
use crate::services::messaging::{self, Message, SpentFor};
use crate::state::AppState;
use chrono::{DateTime, Utc};
use entity::{owner_account, unit};
use sea_orm::{ActiveModelTrait, ColumnTrait, ConnectionTrait, DatabaseTransaction, EntityTrait, QueryFilter, Value};

pub mod hardship;
pub mod installments;
pub mod keeping;
pub mod vacancy;

/// Appends a step of a way out (`kind`: `installment`, `hardship`, `vacancy`) to its unit's
/// evidence chain inside the caller's transaction.
pub(crate) async fn note(
    txn: &DatabaseTransaction,
    kind: &'static str,
    unit_id: i32,
    at: DateTime<Utc>,
    content: String,
    result: &str,
) -> ApiResult<()> {
    evidence::append(
        txn,
        unit_id,
        at,
        NewEvidence {
            kind,
            stage: None,
            channel: "app".into(),
            content,
            result: result.into(),
        },
    )
    .await?;
    Ok(())
}

/// Moves a row to what `set` says, only while its `status` column is one of `from`: whether it
/// moved (false when something else moved it first — the race is decided here).
pub(crate) async fn moved<E, A, S, C>(
    db: &C,
    set: A,
    id: (E::Column, i32),
    status: E::Column,
    from: &[S],
) -> ApiResult<bool>
where
    E: EntityTrait,
    A: ActiveModelTrait<Entity = E>,
    S: Into<Value> + Copy,
    C: ConnectionTrait,
{
    let r = E::update_many()
        .set(set)
        .filter(id.0.eq(id.1))
        .filter(status.is_in(from.iter().copied()))
        .exec(db)
        .await?;
    Ok(r.rows_affected == 1)
}

/// The owner's unit a request names, or their only unit when it names none; 422 on `unit_id`
/// otherwise.
pub(crate) async fn owners_unit(state: &AppState, account_id: i32, unit_id: Option<i32>) -> ApiResult<unit::Model> {
    let account = owner_account::Entity::find_by_id(account_id)
        .one(&state.db)
        .await?
        .ok_or(ApiError::Unauthenticated)?;
    let units = me::unit_ids_of_account(state, &account).await?;
    let id = match (unit_id, units.len()) {
        (Some(u), _) if units.contains(&u) => u,
        (Some(_), _) => return Err(ApiError::field("unit_id", "只能为您名下的房屋申请")),
        (None, 1) => units.iter().next().copied().ok_or(ApiError::NotFound)?,
        (None, 0) => return Err(ApiError::field("unit_id", "您名下还没有房屋")),
        (None, _) => return Err(ApiError::field("unit_id", "您名下有多套房屋，请选择申请的房屋")),
    };
    unit::Entity::find_by_id(id)
        .one(&state.db)
        .await?
        .ok_or(ApiError::NotFound)
}

/// A decision the owner is told: which request (`subject`, after the unit), the verdict and what
/// it means, sent with template `purpose` opening mini-program `page`.
pub(crate) struct Told<'a> {
    pub purpose: &'static str,
    pub kind: &'static str,
    pub account_id: i32,
    pub unit_id: i32,
    pub subject: &'a str,
    pub verdict: &'a str,
    pub next: &'a str,
    pub page: &'static str,
    /// Names the decision once (the send is spent for it).
    pub key: String,
}

/// Tells the owner a decision (subscribe message or SMS where a template is configured); what went
/// out is on the evidence chain beside the decision's own record.
pub(crate) async fn tell(state: &AppState, t: Told<'_>) -> ApiResult<()> {
    let Some(a) = owner_account::Entity::find_by_id(t.account_id).one(&state.db).await? else {
        return Ok(());
    };
    let unit = crate::services::setup::units::labels_of(&state.db, [t.unit_id])
        .await?
        .remove(&t.unit_id)
        .unwrap_or_default();
    let msg = Message {
        purpose: t.purpose,
        wechat_fields: vec![
            ("thing1", format!("{unit} {}", t.subject)),
            ("phrase2", t.verdict.to_string()),
            ("thing3", t.next.chars().take(20).collect()),
        ],
        page: t.page.into(),
        sms_params: vec![unit, t.verdict.to_string(), t.next.to_string()],
        context: t.key.clone(),
        spent_for: SpentFor::Other(t.key),
    };
    let d = messaging::send_to(state, &a, &msg).await?;
    if let Some(channel) = d.channel {
        let txn = crate::db::begin_write(&state.db).await?;
        note(
            &txn,
            t.kind,
            t.unit_id,
            state.clock.now(),
            d.transmitted.unwrap_or_default(),
            &format!("told_{channel}"),
        )
        .await?;
        txn.commit().await?;
    }
    Ok(())
}
