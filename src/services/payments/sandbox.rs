//! The demo's sandbox pages (`serve --demo` only, labelled 沙箱 wherever they show): the page an
//! order's `sandbox_url` opens, where confirming makes the sandbox gateway send its signed
//! notification through the real `/notify/sandbox` path; and the page a paper notice's code opens
//! in the demo (`reminders.pay_url`), which offers to pay the notice's open bills the same way.
use crate::domain::states::{BillStatus, PaymentStatus};
use crate::domain::text::esc;
use crate::domain::Fen;
use crate::error::{ApiError, ApiResult};
use crate::services::collection::notices;
use crate::state::AppState;
use entity::{bill, payment, payment_line};
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, QueryOrder};

fn page(title: &str, body: &str) -> String {
    format!(
        "<!doctype html><html lang=\"zh-CN\"><head><meta charset=\"utf-8\"><meta name=\"viewport\" content=\"width=device-width\">\
         <title>{t}</title><style>body{{font-family:\"Noto Sans CJK SC\",\"PingFang SC\",\"Microsoft YaHei\",sans-serif;max-width:32em;margin:1.5em auto;padding:0 1em}}\
         .sandbox{{background:#fff3cd;border:1px solid #e0b100;padding:.5em;font-weight:bold}}table{{border-collapse:collapse;width:100%}}\
         td,th{{border:1px solid #ccc;padding:4px}}button{{font-size:1.1em;padding:.5em 1.5em}}</style></head><body>\
         <p class=\"sandbox\">沙箱（演示环境）：此页面模拟支付渠道，不会真实扣款。</p><h1>{t}</h1>{body}</body></html>",
        t = esc(title)
    )
}

async fn order(state: &AppState, out_trade_no: &str) -> ApiResult<payment::Model> {
    payment::Entity::find()
        .filter(payment::Column::OutTradeNo.eq(out_trade_no))
        .filter(payment::Column::Channel.eq("sandbox"))
        .one(&state.db)
        .await?
        .ok_or(ApiError::NotFound)
}

/// `GET /sandbox/pay/{out_trade_no}`: the order, and a button to pay it in the sandbox.
pub async fn pay_page(state: &AppState, out_trade_no: &str) -> ApiResult<String> {
    let p = order(state, out_trade_no).await?;
    let lines = payment_line::Entity::find()
        .filter(payment_line::Column::PaymentId.eq(p.id))
        .order_by_asc(payment_line::Column::Id)
        .all(&state.db)
        .await?;
    let rows: String = lines
        .iter()
        .map(|l| {
            format!(
                "<tr><td>{}</td><td>{}</td></tr>",
                esc(&l.period),
                Fen(l.amount_fen).to_yuan_string()
            )
        })
        .collect();
    let action = match p.status.as_str() {
        "pending" => format!(
            "<form method=\"post\" action=\"/sandbox/pay/{}\"><button type=\"submit\">确认支付（沙箱）</button></form>",
            esc(&p.out_trade_no)
        ),
        "paid" => format!("<p>已支付，收据号 {}。</p>", esc(p.receipt_no.as_deref().unwrap_or(""))),
        other => format!("<p>订单状态：{}，无法支付。</p>", esc(other)),
    };
    Ok(page(
        "沙箱支付",
        &format!(
            "<p>订单号 {}，金额 <strong>{} 元</strong></p><table><tr><th>账期</th><th>金额</th></tr>{rows}</table><p>{action}</p>",
            esc(&p.out_trade_no),
            Fen(p.amount_fen).to_yuan_string()
        ),
    ))
}

/// `POST /sandbox/pay/{out_trade_no}`: the payer confirms; the sandbox gateway signs its
/// notification and posts it to this process's `/api/v1/notify/sandbox`, which verifies and
/// credits it like any gateway's. Answers the page with the outcome.
pub async fn confirm(state: &AppState, out_trade_no: &str) -> ApiResult<String> {
    let sb = state.sandbox.as_ref().ok_or(ApiError::NotFound)?;
    let p = order(state, out_trade_no).await?;
    if p.status != PaymentStatus::Pending {
        return pay_page(state, out_trade_no).await;
    }
    let now = state.clock.now();
    let trade_no = format!("SBX{}{}", now.format("%Y%m%d%H%M%S"), p.id);
    let notify_time = now
        .with_timezone(&chrono_tz::Asia::Shanghai)
        .format("%Y-%m-%d %H:%M:%S")
        .to_string();
    let body = sb
        .notification(
            &p.out_trade_no,
            &Fen(p.amount_fen).to_yuan_string(),
            &trade_no,
            &notify_time,
        )
        .map_err(ApiError::internal)?;
    let accepted = sb.send(body).await.map_err(|e| {
        tracing::warn!(error = %e, "sandbox notification could not be delivered");
        ApiError::Unavailable("sandbox".into())
    })?;
    let p = order(state, out_trade_no).await?;
    let outcome = if accepted && p.status == PaymentStatus::Paid {
        format!(
            "<p>支付成功（沙箱）。收据号 <strong>{}</strong>，可在小程序“我的缴费”中查看电子收据。</p>",
            esc(p.receipt_no.as_deref().unwrap_or(""))
        )
    } else {
        "<p>通知未被受理，订单未入账。</p>".to_string()
    };
    Ok(page("沙箱支付结果", &outcome))
}

/// `GET /sandbox/notices/{number}`: what a paper notice's code opens in the demo: the notice's bills
/// with what is due today, and a button to pay the open ones in the sandbox.
pub async fn notice_page(state: &AppState, number: &str) -> ApiResult<String> {
    let n = notices::by_number(state, number).await?;
    let s = notices::snapshot_of(&n)?;
    let priced = notices::bills_now(state, &s).await?;
    let rows: String = priced
        .iter()
        .map(|(_, v, _)| {
            format!(
                "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
                esc(&v.fee_item),
                esc(&v.period),
                esc(&v.amount_due),
                esc(if v.status == "unpaid" { "未缴" } else { "已结清" })
            )
        })
        .collect();
    let open = priced
        .iter()
        .any(|(b, _, a)| b.status == BillStatus::Unpaid && a.due() > 0);
    let due = crate::domain::money::sum_fen(priced.iter().map(|(_, _, a)| a.due()))?;
    let action = if open {
        format!(
            "<form method=\"post\" action=\"/sandbox/notices/{}/pay\"><button type=\"submit\">沙箱支付 {} 元</button></form>",
            esc(&n.number),
            Fen(due).to_yuan_string()
        )
    } else {
        "<p>通知书所列账单均已结清。</p>".to_string()
    };
    Ok(page(
        &format!("催缴通知书 {}", n.number),
        &format!(
            "<p>{}</p><table><tr><th>项目</th><th>账期</th><th>今日应缴</th><th>状态</th></tr>{rows}</table>{action}",
            esc(&s.community)
        ),
    ))
}

/// `POST /sandbox/notices/{number}/pay`: a sandbox order for the notice's open bills; the answer
/// is where to confirm it.
pub async fn pay_notice(state: &AppState, number: &str) -> ApiResult<String> {
    let n = notices::by_number(state, number).await?;
    let s = notices::snapshot_of(&n)?;
    let ids: Vec<i32> = s.rows.iter().map(|r| r.bill_id).collect();
    let open: Vec<i32> = bill::Entity::find()
        .filter(bill::Column::Id.is_in(ids))
        .filter(bill::Column::Status.eq(BillStatus::Unpaid))
        .all(&state.db)
        .await?
        .iter()
        .map(|b| b.id)
        .collect();
    let created = crate::services::payments::orders::sandbox_order_for_bills(state, &open).await?;
    Ok(format!("/sandbox/pay/{}", created.out_trade_no))
}
