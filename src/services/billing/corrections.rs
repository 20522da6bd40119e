//! Staff corrections of one bill — waive late fee, adjust principal, cancel — each a ledger
//! correction with its reason, who and when, audited in the same transaction.
use crate::domain::role::Action;
use crate::domain::{text, Fen};
use crate::error::{ApiError, ApiResult};
use crate::services::access::staff::StaffCtx;
use crate::services::audit;
use crate::services::billing::bills::{detail_of, BillDetail};
use crate::services::billing::ledger::{By, Correction, Ledger};
use crate::state::AppState;
use entity::bill;
use sea_orm::EntityTrait;
use serde::Deserialize;

/// `POST /staff/bills/{id}/waive-late-fee`.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
pub struct WaiveRequest {
    /// Part of the outstanding late fee to waive; absent = all of it.
    #[schema(pattern = r#"^(10000000(\.0{1,2})?|[0-9]{1,7}(\.[0-9]{1,2})?)$"#)]
    pub amount: Option<String>,
    #[schema(
        pattern = r#"^[^\u0000-\u001F\u007F-\u009F]*[^\s\u0000-\u001F\u007F-\u009F][^\u0000-\u001F\u007F-\u009F]*$"#,
        min_length = 1,
        max_length = 200
    )]
    pub reason: String,
}

/// `POST /staff/bills/{id}/adjust`.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
pub struct AdjustRequest {
    /// The corrected principal.
    #[schema(pattern = r#"^(10000000(\.0{1,2})?|[0-9]{1,7}(\.[0-9]{1,2})?)$"#)]
    pub principal: String,
    #[schema(
        pattern = r#"^[^\u0000-\u001F\u007F-\u009F]*[^\s\u0000-\u001F\u007F-\u009F][^\u0000-\u001F\u007F-\u009F]*$"#,
        min_length = 1,
        max_length = 200
    )]
    pub reason: String,
}

/// `POST /staff/bills/{id}/cancel`.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
pub struct CancelRequest {
    #[schema(
        pattern = r#"^[^\u0000-\u001F\u007F-\u009F]*[^\s\u0000-\u001F\u007F-\u009F][^\u0000-\u001F\u007F-\u009F]*$"#,
        min_length = 1,
        max_length = 200
    )]
    pub reason: String,
}

fn reason(raw: &str) -> ApiResult<String> {
    text::name(raw, 200).map_err(|m| ApiError::field("reason", format!("原因{m}")))
}

/// One staff correction: role, the bill locked and in scope, the ledger's correction, the audit
/// record, one commit (which bumps the unit's cached answers), and the bill as it now stands.
async fn correct(
    state: &AppState,
    ctx: &StaffCtx,
    id: i32,
    action: &str,
    c: Correction,
    why: String,
) -> ApiResult<BillDetail> {
    ctx.require(Action::ManageBilling)?;
    let now = state.clock.now();
    let mut ledger = Ledger::begin(state).await?;
    let b = ledger.lock_bill(id).await?.ok_or(ApiError::NotFound)?;
    ctx.require_community(b.community_id)?;
    crate::services::billing::ledger::not_in_a_plan(&b)?;
    let actor = ctx.actor();
    let e = ledger
        .correct(
            &b,
            c,
            By {
                actor: &actor,
                reason: &why,
                at: now,
            },
        )
        .await?;
    audit::record(
        ledger.txn(),
        &actor,
        action,
        "bill",
        id,
        serde_json::json!({"reason": e.reason, "principal_fen": e.principal_fen, "late_fee_fen": e.late_fee_fen}),
        now,
    )
    .await?;
    ledger.commit(state).await?;
    let b = bill::Entity::find_by_id(id)
        .one(&state.db)
        .await?
        .ok_or(ApiError::NotFound)?;
    detail_of(state, &b).await
}

/// Waives all or part of a bill's outstanding late fee.
pub async fn waive_late_fee(state: &AppState, ctx: &StaffCtx, id: i32, req: WaiveRequest) -> ApiResult<BillDetail> {
    let why = reason(&req.reason)?;
    let amount = match &req.amount {
        Some(a) => Some(Fen::parse(a).map_err(|m| ApiError::field("amount", m))?.0),
        None => None,
    };
    correct(
        state,
        ctx,
        id,
        "bill.waive_late_fee",
        Correction::WaiveLateFee(amount),
        why,
    )
    .await
}

/// Corrects a bill's principal (never below what was already paid).
pub async fn adjust(state: &AppState, ctx: &StaffCtx, id: i32, req: AdjustRequest) -> ApiResult<BillDetail> {
    let why = reason(&req.reason)?;
    let new = Fen::parse(&req.principal).map_err(|m| ApiError::field("principal", m))?;
    correct(state, ctx, id, "bill.adjust", Correction::Adjust(new.0), why).await
}

/// Cancels a bill nothing has been paid on.
pub async fn cancel(state: &AppState, ctx: &StaffCtx, id: i32, req: CancelRequest) -> ApiResult<BillDetail> {
    let why = reason(&req.reason)?;
    correct(state, ctx, id, "bill.cancel", Correction::Cancel, why).await
}
