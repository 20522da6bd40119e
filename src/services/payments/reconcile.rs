//! Reconciliation: orders still open after their expiry are asked about at their gateway and
//! credited or closed, so a lost notification never loses a payment.
use crate::domain::states::{Channel, PaymentStatus};
use crate::error::ApiResult;
use crate::gateways::events::PaymentEvent;
use crate::services::payments::crediting::credit;
use crate::services::payments::crediting::Credit;
use crate::state::AppState;
use entity::payment;
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, QueryOrder, QuerySelect};
use serde::Serialize;

/// What one reconciliation pass did.
#[derive(Debug, Default, Serialize, utoipa::ToSchema, PartialEq, Eq)]
pub struct ReconcileReport {
    pub checked: usize,
    pub credited: usize,
    pub closed: usize,
}

/// Asks the gateways about orders still open after their expiry (pending, or closed by a newer
/// order but possibly paid anyway), and credits or closes them, so a lost notification never
/// loses a payment. Every order is settled once (`reconciled_at`); failures are retried next pass.
pub async fn reconcile(state: &AppState) -> ApiResult<ReconcileReport> {
    let now = state.clock.now();
    // A minute's grace: the gateway may still be delivering the notification.
    let due = payment::Entity::find()
        .filter(payment::Column::Channel.is_in([Channel::Wechat, Channel::Alipay]))
        .filter(payment::Column::Status.is_in([PaymentStatus::Pending, PaymentStatus::Closed]))
        .filter(payment::Column::ReconciledAt.is_null())
        .filter(payment::Column::ExpiresAt.lt(now - chrono::Duration::minutes(1)))
        .order_by_asc(payment::Column::Id)
        .limit(500)
        .all(&state.db)
        .await?;
    let mut report = ReconcileReport::default();
    for p in due {
        report.checked += 1;
        let answer = match p.channel {
            Channel::Wechat => match state.wechatpay.as_ref() {
                Some(wx) => wx.query_event(&p.out_trade_no).await.map_err(|e| e.to_string()),
                None => continue,
            },
            _ => match state.alipay.as_ref() {
                Some(ali) => ali.query_event(&p.out_trade_no).await.map_err(|e| e.to_string()),
                None => continue,
            },
        };
        let paid = match answer {
            Ok(Some(PaymentEvent::Paid(paid))) if paid.amount_fen == p.amount_fen => Some(Some(paid.transaction_id)),
            Ok(Some(PaymentEvent::NotPaid {
                may_still_pay: true, ..
            })) => None,
            Ok(_) => Some(None),
            Err(e) => {
                tracing::warn!(error = %e, payment_id = p.id, "reconciliation query failed");
                None
            }
        };
        // None: ask again next pass. Some(Some(tx)): paid. Some(None): not paid, close it.
        let Some(outcome) = paid else { continue };
        match outcome {
            Some(tx) if !tx.is_empty() => {
                if credit(state, p.id, &tx).await? == Credit::Credited {
                    report.credited += 1;
                }
            }
            _ => {
                payment::Entity::update_many()
                    .col_expr(
                        payment::Column::Status,
                        sea_orm::sea_query::Expr::value(PaymentStatus::Closed),
                    )
                    .filter(payment::Column::Id.eq(p.id))
                    .filter(payment::Column::Status.is_in([PaymentStatus::Pending, PaymentStatus::Closed]))
                    .exec(&state.db)
                    .await?;
                report.closed += 1;
            }
        }
        payment::Entity::update_many()
            .col_expr(payment::Column::ReconciledAt, sea_orm::sea_query::Expr::value(now))
            .filter(payment::Column::Id.eq(p.id))
            .exec(&state.db)
            .await?;
    }
    if report.checked > 0 {
        tracing::info!(
            checked = report.checked,
            credited = report.credited,
            closed = report.closed,
            "reconciliation pass"
        );
    }
    Ok(report)
}
