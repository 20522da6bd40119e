//! Counter payments: cash, POS or bank transfer recorded at the office and credited at once
//! through the same path as a gateway's.
use crate::domain::role::Action;
use crate::domain::states::{self, Channel, PaymentStatus};
use crate::domain::text;
use crate::error::{ApiError, ApiResult};
use crate::services::access::staff::StaffCtx;
use crate::services::audit;
use crate::services::payments::crediting::credit;
use crate::services::payments::orders::close_at_gateways;
use crate::services::payments::orders::close_orders_holding;
use crate::services::payments::orders::out_trade_no;
use crate::services::payments::orders::plan_bills;
use crate::services::payments::views::view;
use crate::services::payments::views::PaymentView;
use crate::state::AppState;
use entity::{bill, payment};
use sea_orm::{ActiveModelTrait, ColumnTrait, EntityTrait, QueryFilter, Set};
use serde::Deserialize;
use std::collections::BTreeSet;

/// `POST /staff/payments/counter` body.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
pub struct CounterPayment {
    #[schema(min_items = 1, max_items = 120)]
    pub bill_ids: Vec<i32>,
    /// `cash`, `pos` or `bank_transfer`.
    #[schema(pattern = r#"^(cash|pos|bank_transfer)$"#)]
    pub method: String,
    /// POS slip or bank reference; for cash, the receipt book number.
    #[schema(
        pattern = r#"^[^\u0000-\u001F\u007F-\u009F]*[^\s\u0000-\u001F\u007F-\u009F][^\u0000-\u001F\u007F-\u009F]*$"#,
        min_length = 1,
        max_length = 64
    )]
    pub reference: String,
    /// Never accepted (422): points are spent only by their owner, in the app — at the counter the
    /// owner is not there to consent.
    pub points: Option<i64>,
}

/// Records a cash, POS or bank-transfer payment at the office and credits it at once.
pub async fn counter(state: &AppState, ctx: &StaffCtx, body: CounterPayment) -> ApiResult<PaymentView> {
    ctx.require(Action::ManageBilling)?;
    if body.points.is_some() {
        return Err(ApiError::field(
            "points",
            "柜台缴费不能使用积分抵扣：积分须由业主本人在小程序内使用",
        ));
    }
    let Some(method) = states::parse::<Channel>(&body.method)
        .filter(|c| matches!(c, Channel::Cash | Channel::Pos | Channel::BankTransfer))
    else {
        return Err(ApiError::field("method", "收款方式应为cash、pos或bank_transfer"));
    };
    let reference = text::name(&body.reference, 64).map_err(|m| ApiError::field("reference", m))?;
    let ids: Vec<i32> = body
        .bill_ids
        .iter()
        .copied()
        .collect::<BTreeSet<_>>()
        .into_iter()
        .collect();
    let in_scope: Vec<bill::Model> = bill::Entity::find()
        .filter(bill::Column::Id.is_in(ids.clone()))
        .all(&state.db)
        .await?
        .into_iter()
        .filter(|b| ctx.sees(b.community_id))
        .collect();
    let plan = plan_bills(state, in_scope, &ids).await?;
    let now = state.clock.now();
    let txn = crate::db::begin_write(&state.db).await?;
    let p = payment::ActiveModel {
        out_trade_no: Set(out_trade_no(now)?),
        community_id: Set(plan.community_id),
        account_id: Set(None),
        staff_id: Set(Some(ctx.id)),
        channel: Set(method),
        kind: Set("bills".into()),
        amount_fen: Set(plan.amount),
        refunded_fen: Set(0),
        status: Set(PaymentStatus::Pending),
        reference: Set(Some(reference.clone())),
        expires_at: Set(now),
        created_at: Set(now),
        ..Default::default()
    }
    .insert(&txn)
    .await?;
    let replaced = close_orders_holding(&txn, &plan.bill_ids, &[p.id]).await?;
    for mut l in plan.lines {
        l.payment_id = Set(p.id);
        l.insert(&txn).await?;
    }
    audit::record(
        &txn,
        &ctx.actor(),
        "payment.counter",
        "payment",
        p.id,
        serde_json::json!({"method": body.method, "reference": reference, "amount_fen": p.amount_fen}),
        now,
    )
    .await?;
    txn.commit().await?;
    close_at_gateways(state, replaced).await;
    credit(state, p.id, &format!("counter-{}", p.id)).await?;
    view(
        state,
        payment::Entity::find_by_id(p.id)
            .one(&state.db)
            .await?
            .ok_or(ApiError::NotFound)?,
    )
    .await
}
