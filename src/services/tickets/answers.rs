//! Enquiries answered at once (`domain::answers` picks the topic and words the answer) from the
//! owner's own figures: their unit's unpaid bills with today's amounts and late-fee explanations,
//! and their latest receipts. An answered enquiry runs no SLA clock; asking for staff ("转人工",
//! or simply replying) puts it in the queue and starts the clock.
use crate::domain::answers::{self, Answer, Facts, Owed, Paid};
use crate::domain::states::BillStatus;
use crate::domain::Fen;
use crate::error::ApiResult;
use crate::state::AppState;
use entity::unit;

/// The owner's figures for one of their units.
async fn facts(state: &AppState, account_id: i32, u: &unit::Model) -> ApiResult<Facts> {
    let tz = state.community_tz(u.community_id).await?;
    let bills: Vec<entity::bill::Model> = crate::services::billing::owner::owner_visible(state, account_id)
        .await?
        .into_iter()
        .filter(|b| b.unit_id == u.id && b.status == BillStatus::Unpaid)
        .collect();
    let owed = crate::services::billing::bills::with_amounts(state, bills)
        .await?
        .into_iter()
        .filter(|(_, _, a)| a.due() > 0)
        .map(|(b, v, a)| Owed {
            item: v.fee_item,
            period: v.period,
            due_date: b.due_date,
            amount_due: Fen(a.due()),
            late_fee: Fen(a.outstanding_late_fee),
            late_fee_explanation: v.late_fee_explanation,
        })
        .collect();
    let mut payments = crate::services::payments::views::owner_payments(state, account_id).await?;
    payments.sort_by_key(|p| std::cmp::Reverse(p.paid_at));
    let paid = payments
        .into_iter()
        .filter_map(|p| {
            Some(Paid {
                paid_on: p.paid_at?.with_timezone(&tz).date_naive(),
                amount: p.amount,
                receipt_no: p.receipt_no?,
            })
        })
        .take(3)
        .collect();
    Ok(Facts {
        unit: u.code.clone(),
        today: state.today_in(tz),
        owed,
        paid,
    })
}

/// The instant answer to an enquiry, when a rule recognises what it asks.
pub async fn instant(
    state: &AppState,
    account_id: i32,
    u: &unit::Model,
    title: &str,
    body: &str,
) -> ApiResult<Option<Answer>> {
    let Some(topic) = answers::topic(&format!("{title}\n{body}")) else {
        return Ok(None);
    };
    Ok(Some(answers::answer(topic, &facts(state, account_id, u).await?)))
}
