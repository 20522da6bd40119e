//! What a try's result does: a paid debit ends the mandate's run of failed cycles; a failed one is
//! told to the owner and retried, or given up and counted, suspending the mandate after too many
//! cycles in a row; a claimed try that may not run is skipped with the reason.
use super::debits::{mandates_of, move_debit, pages, record, tell, DebitReport, FAILED, NOTICE_LEASE_MINUTES};
use crate::domain::debits::next_try;
use crate::domain::role::Role;
use crate::domain::states::PaymentStatus;
use crate::domain::Fen;
use crate::error::ApiResult;
use crate::services::inbox::{self, Item, To};
use crate::services::messaging::{Message, SpentFor};
use crate::state::AppState;
use chrono::{Duration, NaiveDate};
use entity::states::{DebitStatus, MandateStatus};
use entity::{autodebit_debit as debit, autodebit_mandate as mandate, payment};
use sea_orm::sea_query::Expr;
use sea_orm::{ActiveModelTrait, ColumnTrait, EntityTrait, QueryFilter, QuerySelect, Set};
use std::collections::HashMap;

/// Settles tries whose orders have an outcome: paid (the mandate's run of failed cycles ends) or
/// closed unpaid (a failed try).
pub(super) async fn follow(state: &AppState, r: &mut DebitReport) -> ApiResult<()> {
    // Every running try, a page at a time: those still waiting must not hide the ones behind them.
    let find = |after: i32| {
        debit::Entity::find()
            .filter(debit::Column::Id.gt(after))
            .filter(debit::Column::Status.eq(DebitStatus::Debiting))
    };
    pages(state, find, |rows| follow_page(state, rows), r).await
}

async fn follow_page(state: &AppState, rows: Vec<debit::Model>) -> ApiResult<DebitReport> {
    let mut r = DebitReport::default();
    let orders: HashMap<i32, payment::Model> = payment::Entity::find()
        .filter(payment::Column::Id.is_in(rows.iter().filter_map(|d| d.payment_id)))
        .all(&state.db)
        .await?
        .into_iter()
        .map(|p| (p.id, p))
        .collect();
    let mandates = mandates_of(state, &rows).await?;
    let now = state.clock.now();
    for d in &rows {
        let Some(m) = mandates.get(&d.mandate_id) else {
            continue;
        };
        match d.payment_id.and_then(|p| orders.get(&p)).map(|p| p.status) {
            Some(PaymentStatus::Paid | PaymentStatus::PartiallyRefunded | PaymentStatus::Refunded)
                if settle_paid(state, d, m).await? =>
            {
                r.paid += 1;
            }
            Some(PaymentStatus::Closed) => {
                fail(
                    state,
                    d,
                    m,
                    "支付渠道未完成扣款（可能余额不足或协议已失效）".into(),
                    &mut r,
                )
                .await?;
            }
            Some(_) => {}
            // Claimed but no order placed (the pass stopped in between): the try did not happen.
            None if d.updated_at < now - Duration::minutes(NOTICE_LEASE_MINUTES) => {
                let back = if d.attempts <= 1 {
                    DebitStatus::Noticed
                } else {
                    DebitStatus::Failed
                };
                debit::Entity::update_many()
                    .col_expr(debit::Column::Status, Expr::value(back))
                    .col_expr(debit::Column::Attempts, Expr::value(d.attempts - 1))
                    .filter(debit::Column::Id.eq(d.id))
                    .filter(debit::Column::Status.eq(DebitStatus::Debiting))
                    .exec(&state.db)
                    .await?;
            }
            None => {}
        }
    }
    Ok(r)
}

/// A try that paid: the debit is paid and the mandate's run of failed cycles ends. True when this
/// call settled it.
pub(super) async fn settle_paid(state: &AppState, d: &debit::Model, m: &mandate::Model) -> ApiResult<bool> {
    if !move_debit(state, d.id, DebitStatus::Debiting, DebitStatus::Paid, None).await? {
        return Ok(false);
    }
    mandate::Entity::update_many()
        .col_expr(mandate::Column::FailedCycles, Expr::value(0))
        .filter(mandate::Column::Id.eq(m.id))
        .exec(&state.db)
        .await?;
    Ok(true)
}

/// A claimed try that may not run after all (`why`, in the owner's words).
pub(super) async fn skip_claimed(state: &AppState, id: i32, why: String, r: &mut DebitReport) -> ApiResult<()> {
    skip(state, id, DebitStatus::Debiting, why, r).await
}

/// A planned debit that will not run (`why`, in the owner's words).
pub(super) async fn skip_planned(state: &AppState, id: i32, why: String, r: &mut DebitReport) -> ApiResult<()> {
    skip(state, id, DebitStatus::Scheduled, why, r).await
}

async fn skip(state: &AppState, id: i32, from: DebitStatus, why: String, r: &mut DebitReport) -> ApiResult<()> {
    if move_debit(state, id, from, DebitStatus::Skipped, Some(why)).await? {
        r.skipped += 1;
    }
    Ok(())
}

fn failed_message(d: &debit::Model, why: &str, next: Option<NaiveDate>) -> Message {
    let amount = Fen(d.amount_fen).to_yuan_string();
    let then = match next {
        Some(day) => format!("将于{}再次扣款", day.format("%Y-%m-%d")),
        None => "本期不再自动扣款，请在小程序内缴纳".into(),
    };
    let key = format!("autodebit:{}:failed:{}", d.id, d.attempts);
    Message {
        purpose: FAILED,
        wechat_fields: vec![
            ("thing1", "物业费自动扣款未成功".into()),
            ("amount2", format!("{amount}元")),
            ("thing3", why.chars().take(20).collect()),
            ("thing4", then.clone()),
        ],
        page: "pages/autodebit/index".into(),
        sms_params: vec![amount, why.to_string(), then],
        context: key.clone(),
        spent_for: SpentFor::Other(key),
    }
}

/// A failed try: tried again on the next retry day, or given up (the bill back with the reminders)
/// after the last, counting a failed cycle against the mandate and suspending it after
/// `suspend_after_failed_cycles` in a row. The owner is told each time.
pub(super) async fn fail(
    state: &AppState,
    d: &debit::Model,
    m: &mandate::Model,
    why: String,
    r: &mut DebitReport,
) -> ApiResult<()> {
    let s = &state.settings.autodebit;
    let next = next_try(d.debit_on, d.attempts, &s.retry_days);
    let moved = debit::Entity::update_many()
        .col_expr(
            debit::Column::Status,
            Expr::value(if next.is_some() {
                DebitStatus::Failed
            } else {
                DebitStatus::GivenUp
            }),
        )
        .col_expr(debit::Column::NextTryOn, Expr::value(next))
        .col_expr(debit::Column::Reason, Expr::value(Some(why.clone())))
        .col_expr(debit::Column::UpdatedAt, Expr::value(state.clock.now()))
        .filter(debit::Column::Id.eq(d.id))
        .filter(debit::Column::Status.eq(DebitStatus::Debiting))
        .exec(&state.db)
        .await?;
    if moved.rows_affected != 1 {
        return Ok(());
    }
    let told = tell(state, m, &failed_message(d, &why, next)).await?;
    let result = if next.is_some() { "failed" } else { "given_up" };
    record(
        state,
        d.unit_id,
        told.as_ref().map_or("none", |(c, _)| *c),
        format!(
            "自动扣款第{}次未成功（{}元）：{why}；{}",
            d.attempts,
            Fen(d.amount_fen).to_yuan_string(),
            match told {
                Some((c, _)) => format!("已通过{c}告知业主"),
                None => "未能告知业主".into(),
            }
        ),
        result,
    )
    .await?;
    if next.is_some() {
        r.failed += 1;
        return Ok(());
    }
    r.given_up += 1;
    let txn = crate::db::begin_write(&state.db).await?;
    let Some(locked) = mandate::Entity::find_by_id(m.id).lock_exclusive().one(&txn).await? else {
        return Ok(());
    };
    let cycles = locked.failed_cycles + 1;
    let suspend = cycles >= s.suspend_after_failed_cycles && locked.status == MandateStatus::Active;
    let mut a: mandate::ActiveModel = locked.into();
    a.failed_cycles = Set(cycles);
    if suspend {
        a.status = Set(MandateStatus::Suspended);
    }
    a.updated_at = Set(state.clock.now());
    let locked = a.update(&txn).await?;
    if suspend {
        r.suspended += 1;
        inbox::post(
            &txn,
            To::Community {
                community_id: d.community_id,
                roles: &[Role::Finance, Role::Service],
            },
            Item {
                kind: "autodebit_suspended",
                title: format!("自动扣款已暂停：连续{cycles}期扣款失败"),
                body: format!("签约编号 {}，最近一次原因：{why}", locked.contract_code),
                link: Some(format!("/console/units/{}", d.unit_id)),
                event_key: format!("autodebit_suspended:{}:{cycles}", locked.id),
            },
            state.clock.now(),
        )
        .await?;
    }
    txn.commit().await?;
    Ok(())
}
