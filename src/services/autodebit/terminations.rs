//! Ending contracts at the gateway. A cancelled mandate stops debiting here at once; the gateway is
//! told right after (WeChat Pay's termination by contract code, `alipay.user.agreement.unsign`) and,
//! if it cannot be reached, again on every scheduler tick until it confirms. Asking twice (two
//! replicas) is harmless: a contract the gateway no longer knows counts as ended.
use crate::error::ApiResult;
use crate::state::AppState;
use entity::autodebit_mandate as mandate;
use entity::states::{MandateChannel, MandateStatus};
use sea_orm::sea_query::Expr;
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, QueryOrder, QuerySelect};

/// Mandates handled per pass.
const BATCH: u64 = 100;

/// Asks the gateway to end `m`'s contract; true once it is ended there (recorded).
pub async fn end_at_gateway(state: &AppState, m: &mandate::Model) -> bool {
    let ended = match (m.channel, &m.gateway_contract_id) {
        (MandateChannel::Bank, _) | (_, None) => Ok(true),
        (MandateChannel::Wechat, Some(_)) => match state.wechatpay.as_ref() {
            Some(wx) => wx
                .terminate_contract(&m.contract_code, "业主申请解除")
                .await
                .map(|_| true)
                .map_err(|e| e.to_string()),
            None => Err("wechat pay not configured".into()),
        },
        (MandateChannel::Alipay, Some(agreement)) => match state.alipay.as_ref() {
            Some(ali) => ali
                .agreement_unsign(agreement)
                .await
                .map(|_| true)
                .map_err(|e| e.to_string()),
            None => Err("alipay not configured".into()),
        },
    };
    match ended {
        Ok(_) => {
            let now = state.clock.now();
            let done = mandate::Entity::update_many()
                .col_expr(mandate::Column::GatewayEndedAt, Expr::value(Some(now)))
                .col_expr(mandate::Column::UpdatedAt, Expr::value(now))
                .filter(mandate::Column::Id.eq(m.id))
                .filter(mandate::Column::GatewayEndedAt.is_null())
                .exec(&state.db)
                .await;
            if let Err(e) = done {
                tracing::warn!(mandate_id = m.id, error = %e, "gateway termination not recorded");
                return false;
            }
            true
        }
        Err(e) => {
            tracing::warn!(mandate_id = m.id, error = %e, "gateway termination failed; retried later");
            false
        }
    }
}

/// Ends at the gateway what was cancelled here and not yet confirmed there; how many it ended.
pub async fn pass(state: &AppState) -> ApiResult<u64> {
    let owed = mandate::Entity::find()
        .filter(mandate::Column::Status.eq(MandateStatus::Terminated))
        .filter(mandate::Column::GatewayEndedAt.is_null())
        .order_by_asc(mandate::Column::Id)
        .limit(BATCH)
        .all(&state.db)
        .await?;
    let mut ended = 0;
    for m in &owed {
        if end_at_gateway(state, m).await {
            ended += 1;
        }
    }
    Ok(ended)
}
