//! Refunds: finance staff refund all or part of a payment through the channel it came from; a
//! double payment is refunded automatically. A refund that succeeds reopens the bills it paid
//! (latest line first, principal before late fee), so late fees accrue again from that day.
use crate::domain::money::{add_fen, sum_fen};
use crate::domain::role::{Action, Role};
use crate::domain::states::{Channel, PaymentStatus};
use crate::domain::{text, Fen};
use crate::error::{ApiError, ApiResult};
use crate::services::access::staff::StaffCtx;
use crate::services::audit;
use crate::services::billing::ledger::{Ledger, Refunding};
use crate::services::inbox::{self, Item, To};
use crate::state::AppState;
use chrono::{DateTime, Utc};
use entity::{payment, payment_line, refund};
use sea_orm::{ActiveModelTrait, ColumnTrait, EntityTrait, QueryFilter, QueryOrder, QuerySelect, Set};
use serde::{Deserialize, Serialize};

/// `POST /staff/payments/{id}/refunds` body.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
pub struct RefundRequest {
    /// Absent = everything still refundable.
    #[schema(pattern = r#"^(10000000(\.0{1,2})?|[0-9]{1,7}(\.[0-9]{1,2})?)$"#)]
    pub amount: Option<String>,
    #[schema(
        pattern = r#"^[^\u0000-\u001F\u007F-\u009F]*[^\s\u0000-\u001F\u007F-\u009F][^\u0000-\u001F\u007F-\u009F]*$"#,
        min_length = 1,
        max_length = 200
    )]
    pub reason: String,
}

/// A refund as staff see it.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct RefundView {
    pub id: i32,
    pub payment_id: i32,
    pub out_refund_no: String,
    pub amount: String,
    pub reason: String,
    /// `processing`, `success` or `failed`.
    pub status: String,
    pub automatic: bool,
    /// True when no gateway returns this refund: finance transfers it back to the owner and
    /// confirms it with the bank's reference (`POST /staff/refunds/{id}/transferred`).
    pub by_transfer: bool,
    /// The gateway's refund id, or the bank's reference of a transfer confirmed by finance.
    pub reference: Option<String>,
    pub created_at: DateTime<Utc>,
    pub finished_at: Option<DateTime<Utc>>,
}

/// Whether a payment's refunds are made by transfer, not by its gateway: an automatic refund
/// of a bank collection's double debit (staff refunds of counter money are handed back at once).
fn by_transfer(channel: Channel, r: &refund::Model) -> bool {
    r.automatic && !matches!(channel, Channel::Wechat | Channel::Alipay | Channel::Sandbox)
}

fn view(r: refund::Model, channel: Channel) -> RefundView {
    RefundView {
        by_transfer: by_transfer(channel, &r),
        reference: r.gateway_refund_id.clone(),
        id: r.id,
        payment_id: r.payment_id,
        out_refund_no: r.out_refund_no,
        amount: Fen(r.amount_fen).to_yuan_string(),
        reason: r.reason,
        status: r.status,
        automatic: r.automatic,
        created_at: r.created_at,
        finished_at: r.finished_at,
    }
}

/// What is still refundable: paid, less refunds that succeeded or are under way.
async fn refundable(state: &AppState, p: &payment::Model) -> ApiResult<i64> {
    let taken = sum_fen(
        refund::Entity::find()
            .filter(refund::Column::PaymentId.eq(p.id))
            .filter(refund::Column::Status.ne("failed"))
            .all(&state.db)
            .await?
            .iter()
            .map(|r| r.amount_fen),
    )?;
    Ok(p.amount_fen - taken)
}

/// Finance staff refund all or part of a paid payment.
pub async fn staff_refund(
    state: &AppState,
    ctx: &StaffCtx,
    payment_id: i32,
    req: RefundRequest,
) -> ApiResult<RefundView> {
    ctx.require(Action::ManageBilling)?;
    let p = payment::Entity::find_by_id(payment_id)
        .one(&state.db)
        .await?
        .ok_or(ApiError::NotFound)?;
    ctx.require_community(p.community_id)?;
    let reason = text::name(&req.reason, 80).map_err(|m| ApiError::field("reason", format!("原因{m}")))?;
    if !matches!(p.status, PaymentStatus::Paid | PaymentStatus::PartiallyRefunded) {
        return Err(ApiError::Conflict(
            "PAYMENT_NOT_REFUNDABLE",
            "该支付未成功或已全额退款".into(),
        ));
    }
    let left = refundable(state, &p).await?;
    let amount = match &req.amount {
        Some(a) => Fen::parse(a).map_err(|m| ApiError::field("amount", m))?.0,
        None => left,
    };
    if amount <= 0 || amount > left {
        return Err(ApiError::field(
            "amount",
            format!("退款金额应大于0且不超过可退金额{}", Fen(left).to_yuan_string()),
        ));
    }
    let r = start(state, &p, amount, &reason, &ctx.actor(), false).await?;
    audit::record(
        &state.db,
        &ctx.actor(),
        "payment.refund",
        "payment",
        p.id,
        serde_json::json!({"amount_fen": amount, "reason": reason, "refund_id": r.id}),
        state.clock.now(),
    )
    .await?;
    Ok(view(r, p.channel))
}

/// Refunds the part of a payment that paid bills already paid through another channel (the first
/// credit wins). Idempotent per payment: a second call finds the refund already started.
pub async fn automatic_for_double_payment(state: &AppState, payment_id: i32, amount: i64) -> ApiResult<()> {
    let exists = refund::Entity::find()
        .filter(refund::Column::PaymentId.eq(payment_id))
        .filter(refund::Column::Automatic.eq(true))
        .one(&state.db)
        .await?;
    if exists.is_some() {
        return Ok(());
    }
    let p = payment::Entity::find_by_id(payment_id)
        .one(&state.db)
        .await?
        .ok_or(ApiError::NotFound)?;
    start(state, &p, amount, "重复缴费自动退款", "system", true).await?;
    Ok(())
}

/// Records a refund and asks the payment's gateway for it; counter payments are refunded at once.
async fn start(
    state: &AppState,
    p: &payment::Model,
    amount: i64,
    reason: &str,
    actor: &str,
    automatic: bool,
) -> ApiResult<refund::Model> {
    let now = state.clock.now();
    let suffix: String = crate::crypto::new_token()
        .map_err(ApiError::internal)?
        .chars()
        .filter(char::is_ascii_alphanumeric)
        .take(6)
        .collect();
    let r = refund::ActiveModel {
        payment_id: Set(p.id),
        out_refund_no: Set(format!("RF{}{}", p.id, suffix.to_uppercase())),
        amount_fen: Set(amount),
        reason: Set(reason.to_string()),
        status: Set("processing".into()),
        automatic: Set(automatic),
        // A double payment's money never reached the bills, so its refund reopens nothing.
        reopens_bills: Set(!automatic),
        actor: Set(actor.to_string()),
        gateway_refund_id: Set(None),
        created_at: Set(now),
        finished_at: Set(None),
        ..Default::default()
    }
    .insert(&state.db)
    .await?;
    let result = match p.channel.as_str() {
        "wechat" => match state.wechatpay.as_ref() {
            Some(wx) => wx
                .refund(&p.out_trade_no, &r.out_refund_no, amount, p.amount_fen, reason)
                .await
                .map(|(id, st)| (st, Some(id)))
                .map_err(|e| e.to_string()),
            None => Err("wechat pay not configured".into()),
        },
        "alipay" => match state.alipay.as_ref() {
            Some(ali) => ali
                .refund(&p.out_trade_no, &Fen(amount).to_yuan_string(), &r.out_refund_no, reason)
                .await
                .map(|ok| (if ok { "SUCCESS" } else { "PROCESSING" }.to_string(), None))
                .map_err(|e| e.to_string()),
            None => Err("alipay not configured".into()),
        },
        // Nobody hands back an automatic refund of money no gateway can return (a bank
        // collection's double debit): finance transfers it and confirms it with the bank's
        // reference, so until then it reads as under way, never as done.
        _ if by_transfer(p.channel, &r) => {
            ask_finance_to_transfer(state, p, &r).await?;
            Ok(("PROCESSING".to_string(), None))
        }
        // Cash, POS and transfers are handed back at the counter by whoever records the refund.
        _ => Ok(("SUCCESS".to_string(), None)),
    };
    match result {
        Ok((status, gateway_id)) => {
            on_gateway_result(state, &r.out_refund_no, &status, gateway_id).await?;
        }
        Err(e) => {
            tracing::warn!(error = %e, refund_id = r.id, "refund request failed");
            on_gateway_result(state, &r.out_refund_no, "FAILED", None).await?;
        }
    }
    refund::Entity::find_by_id(r.id)
        .one(&state.db)
        .await?
        .ok_or(ApiError::NotFound)
}

/// Posts a refund that finance must transfer by hand to the community's finance staff.
async fn ask_finance_to_transfer(state: &AppState, p: &payment::Model, r: &refund::Model) -> ApiResult<()> {
    inbox::post(
        &state.db,
        To::Community {
            community_id: p.community_id,
            roles: &[Role::Finance],
        },
        Item {
            kind: "refund_to_transfer",
            title: format!("待退款：{}元（{}）", Fen(r.amount_fen).to_yuan_string(), r.reason),
            body: format!(
                "收款 {}（{}）无法由支付渠道原路退回，请转账退还业主后在收据页填写银行流水号确认。退款单号 {}",
                p.out_trade_no,
                crate::domain::states::channel_name(p.channel),
                r.out_refund_no
            ),
            link: Some(format!("/console/payments/{}/receipt", p.id)),
            event_key: format!("refund_to_transfer:{}", r.id),
        },
        state.clock.now(),
    )
    .await?;
    Ok(())
}

/// `POST /staff/refunds/{id}/transferred` body.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TransferredRequest {
    /// The bank's reference of the transfer back to the owner (流水号).
    #[schema(
        pattern = r#"^[^\u0000-\u001F\u007F-\u009F]*[^\s\u0000-\u001F\u007F-\u009F][^\u0000-\u001F\u007F-\u009F]*$"#,
        min_length = 1,
        max_length = 64
    )]
    pub reference: String,
}

/// Finance confirms that a refund no gateway could make was transferred back to the owner: the
/// refund completes once (the payment and its bills as for any refund), with the bank's reference.
pub async fn confirm_transferred(
    state: &AppState,
    ctx: &StaffCtx,
    refund_id: i32,
    req: TransferredRequest,
) -> ApiResult<RefundView> {
    ctx.require(Action::ManageBilling)?;
    let r = refund::Entity::find_by_id(refund_id)
        .one(&state.db)
        .await?
        .ok_or(ApiError::NotFound)?;
    let p = payment::Entity::find_by_id(r.payment_id)
        .one(&state.db)
        .await?
        .ok_or(ApiError::NotFound)?;
    ctx.require_community(p.community_id)?;
    let reference = text::name(&req.reference, 64).map_err(|m| ApiError::field("reference", format!("流水号{m}")))?;
    if !by_transfer(p.channel, &r) {
        return Err(ApiError::Conflict(
            "REFUND_NOT_BY_TRANSFER",
            "该退款不需要人工转账确认（线上支付原路退回，柜台退款当场退还）".into(),
        ));
    }
    if r.status != "processing" || complete(state, r.id, Some(reference.clone())).await? != "refunded" {
        return Err(ApiError::Conflict("REFUND_NOT_PROCESSING", "该退款不在处理中".into()));
    }
    audit::record(
        &state.db,
        &ctx.actor(),
        "refund.transferred",
        "refund",
        r.id,
        serde_json::json!({"payment_id": p.id, "amount_fen": r.amount_fen, "reference": reference}),
        state.clock.now(),
    )
    .await?;
    let done = refund::Entity::find_by_id(r.id)
        .one(&state.db)
        .await?
        .ok_or(ApiError::NotFound)?;
    Ok(view(done, p.channel))
}

/// Applies a gateway's refund status (answer or notification); `SUCCESS` completes the refund
/// exactly once. Returns the notification verdict.
pub async fn on_gateway_result(
    state: &AppState,
    out_refund_no: &str,
    status: &str,
    gateway_id: Option<String>,
) -> ApiResult<&'static str> {
    let Some(r) = refund::Entity::find()
        .filter(refund::Column::OutRefundNo.eq(out_refund_no))
        .one(&state.db)
        .await?
    else {
        return Ok("mismatch");
    };
    match status {
        "SUCCESS" => complete(state, r.id, gateway_id).await,
        "PROCESSING" => Ok("processing"),
        _ => {
            refund::Entity::update_many()
                .col_expr(refund::Column::Status, sea_orm::sea_query::Expr::value("failed"))
                .col_expr(
                    refund::Column::FinishedAt,
                    sea_orm::sea_query::Expr::value(state.clock.now()),
                )
                .filter(refund::Column::Id.eq(r.id))
                .filter(refund::Column::Status.eq("processing"))
                .exec(&state.db)
                .await?;
            Ok("refund_failed")
        }
    }
}

/// Marks a refund successful once, updates the payment, and reopens the bills it had paid.
async fn complete(state: &AppState, refund_id: i32, gateway_id: Option<String>) -> ApiResult<&'static str> {
    let now = state.clock.now();
    let mut ledger = Ledger::begin(state).await?;
    let moved = refund::Entity::update_many()
        .col_expr(refund::Column::Status, sea_orm::sea_query::Expr::value("success"))
        .col_expr(refund::Column::FinishedAt, sea_orm::sea_query::Expr::value(now))
        .col_expr(
            refund::Column::GatewayRefundId,
            sea_orm::sea_query::Expr::value(gateway_id),
        )
        .filter(refund::Column::Id.eq(refund_id))
        .filter(refund::Column::Status.eq("processing"))
        .exec(ledger.txn())
        .await?;
    if moved.rows_affected != 1 {
        return Ok("duplicate");
    }
    let r = refund::Entity::find_by_id(refund_id)
        .one(ledger.txn())
        .await?
        .ok_or(ApiError::NotFound)?;
    let p = payment::Entity::find_by_id(r.payment_id)
        .lock_exclusive()
        .one(ledger.txn())
        .await?
        .ok_or(ApiError::NotFound)?;
    let refunded = add_fen(p.refunded_fen, r.amount_fen)?;
    let mut pm: payment::ActiveModel = p.clone().into();
    pm.refunded_fen = Set(refunded);
    pm.status = Set(if refunded >= p.amount_fen {
        PaymentStatus::Refunded
    } else {
        PaymentStatus::PartiallyRefunded
    });
    pm.update(ledger.txn()).await?;
    if r.reopens_bills {
        let today = now
            .with_timezone(&state.community_tz_on(ledger.txn(), p.community_id).await?)
            .date_naive();
        // The cash reopens what cash paid; the points part comes back with the points (points::fees).
        let lines = payment_line::Entity::find()
            .filter(payment_line::Column::PaymentId.eq(p.id))
            .filter(payment_line::Column::Points.is_null())
            .order_by_desc(payment_line::Column::Id)
            .all(ledger.txn())
            .await?;
        let by = Refunding {
            on: today,
            at: now,
            reason: &r.reason,
            actor: &r.actor,
            reference: format!("refund:{}", r.id),
        };
        ledger.refund_lines(&lines, r.amount_fen, &by).await?;
    }
    ledger.commit(state).await?;
    tracing::info!(refund_id, payment_id = p.id, "refund completed");
    Ok("refunded")
}

/// Refunds of a payment (staff).
pub async fn list(state: &AppState, ctx: &StaffCtx, payment_id: i32) -> ApiResult<Vec<RefundView>> {
    ctx.require(Action::ManageBilling)?;
    let p = payment::Entity::find_by_id(payment_id)
        .one(&state.db)
        .await?
        .ok_or(ApiError::NotFound)?;
    ctx.require_community(p.community_id)?;
    Ok(refund::Entity::find()
        .filter(refund::Column::PaymentId.eq(payment_id))
        .order_by_asc(refund::Column::Id)
        .limit(1000)
        .all(&state.db)
        .await?
        .into_iter()
        .map(|r| view(r, p.channel))
        .collect())
}
