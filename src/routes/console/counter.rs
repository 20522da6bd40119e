//! 收费 (the counter): pick a unit, tick its open bills, record cash, POS or a transfer with its
//! reference, and print the receipt. The same counter service as `POST /staff/payments/counter`.
use super::page::{error_page, html, page};
use super::{owners_line, require_signed, see_other, unit_bills};
use crate::domain::text::esc;
use crate::error::ApiError;
use crate::services::payments::counter::{counter, CounterPayment};
use crate::services::payments::receipts::staff_receipt_html;
use crate::services::setup::units::get_unit;
use crate::state::AppState;
use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};

/// `GET /console/counter`: find a unit, then take its open bills.
pub(super) async fn units(
    state: web::Data<AppState>,
    req: HttpRequest,
    q: web::Query<super::units::UnitsQuery>,
) -> HttpResponse {
    super::units::find(state, req, q, "收费", "/console/counter").await
}

/// `GET /console/counter/units/{id}`: the unit's open bills to tick and the form that records them.
pub(super) async fn unit(state: web::Data<AppState>, req: HttpRequest, id: web::Path<i32>) -> HttpResponse {
    let s = match require_signed(&state, &req).await {
        Ok(s) => s,
        Err(r) => return r,
    };
    let body = async {
        let u = get_unit(&state, &s.ctx, *id).await?;
        let bills = unit_bills(&state, &s.ctx, &u, Some("unpaid")).await?;
        let mut out = format!(
            "<h1>收费 · {} {}</h1><p>业主：{}</p>",
            esc(&u.building),
            esc(&u.code),
            esc(&owners_line(&u))
        );
        if bills.page.items.is_empty() {
            out.push_str("<p>这户没有待缴账单。</p>");
            return Ok::<_, ApiError>(out);
        }
        out.push_str(&format!(
            "<form method=\"post\" action=\"/console/counter\"><input type=\"hidden\" name=\"csrf\" value=\"{}\">\
             <table><tr><th>收取</th><th>账期</th><th>收费项目</th><th class=\"num\">本金</th><th class=\"num\">滞纳金</th>\
             <th class=\"num\">应缴(元)</th><th>说明</th></tr>",
            esc(&s.csrf)
        ));
        for b in &bills.page.items {
            out.push_str(&format!(
                "<tr><td><input type=\"checkbox\" id=\"bill-{id}\" name=\"bill_ids\" value=\"{id}\" checked aria-label=\"收取{period}\"></td>\
                 <td><label for=\"bill-{id}\">{period}</label></td><td>{}</td><td class=\"num\">{}</td><td class=\"num\">{}</td>\
                 <td class=\"num\">{}</td><td class=\"muted\">{}</td></tr>",
                esc(&b.fee_item),
                esc(&b.principal),
                esc(&b.late_fee),
                esc(&b.amount_due),
                esc(&b.late_fee_explanation),
                id = b.id,
                period = esc(&b.period),
            ));
        }
        out.push_str(&format!(
            "</table><p>全部待缴合计 {} 元</p><div class=\"inline\" style=\"display:flex;gap:12px;align-items:end\">\
             <label for=\"method\">方式<select id=\"method\" name=\"method\"><option value=\"cash\">现金</option>\
             <option value=\"pos\">POS刷卡</option><option value=\"bank_transfer\">银行转账</option></select></label>\
             <label for=\"reference\">凭证号（收据本号、POS单号或转账流水）<input id=\"reference\" name=\"reference\" required maxlength=\"64\"></label>\
             <button type=\"submit\">收款并开收据</button></div></form>",
            esc(&bills.totals.amount_due)
        ));
        Ok(out)
    }
    .await;
    match body {
        Ok(b) => html(StatusCode::OK).body(page("收费", Some(&s.viewer()), &b)),
        Err(e) => error_page(&e, Some(&s.viewer())),
    }
}

/// `POST /console/counter`: records the payment, then shows its receipt.
pub(super) async fn record(state: web::Data<AppState>, req: HttpRequest, body: web::Bytes) -> HttpResponse {
    let s = match require_signed(&state, &req).await {
        Ok(s) => s,
        Err(r) => return r,
    };
    // Repeated `bill_ids` fields (one per ticked box), which serde's form decoding cannot collect.
    let (mut csrf, mut method, mut reference, mut bill_ids, mut bad) =
        (String::new(), String::new(), String::new(), Vec::new(), false);
    for (k, v) in url::form_urlencoded::parse(&body) {
        match k.as_ref() {
            "csrf" => csrf = v.into_owned(),
            "method" => method = v.into_owned(),
            "reference" => reference = v.into_owned(),
            "bill_ids" => match v.parse::<i32>() {
                Ok(id) => bill_ids.push(id),
                Err(_) => bad = true,
            },
            _ => {}
        }
    }
    if let Some(r) = s.refuse_forged(&csrf) {
        return r;
    }
    if bad || bill_ids.is_empty() {
        return error_page(&ApiError::field("bill_ids", "请至少勾选一张账单"), Some(&s.viewer()));
    }
    match counter(
        &state,
        &s.ctx,
        CounterPayment {
            bill_ids,
            method,
            reference,
        },
    )
    .await
    {
        Ok(p) => see_other(&format!("/console/payments/{}/receipt", p.id)),
        Err(e) => error_page(&e, Some(&s.viewer())),
    }
}

/// `GET /console/payments/{id}/receipt`: the printable receipt.
pub(super) async fn receipt(state: web::Data<AppState>, req: HttpRequest, id: web::Path<i32>) -> HttpResponse {
    let s = match require_signed(&state, &req).await {
        Ok(s) => s,
        Err(r) => return r,
    };
    match staff_receipt_html(&state, &s.ctx, *id).await {
        Ok(doc) => html(StatusCode::OK).body(doc),
        Err(e) => error_page(&e, Some(&s.viewer())),
    }
}

#[derive(serde::Deserialize)]
pub(super) struct ExceptionsQuery {
    community_id: Option<i32>,
}

/// `GET /console/exceptions`: verified gateway events that matched no order, the wrong amount or a
/// bill already paid — what finance must look at (the inbox links here).
pub(super) async fn exceptions(
    state: web::Data<AppState>,
    req: HttpRequest,
    q: web::Query<ExceptionsQuery>,
) -> HttpResponse {
    use crate::services::payments::views::{exceptions, ExceptionQuery};
    let s = match require_signed(&state, &req).await {
        Ok(s) => s,
        Err(r) => return r,
    };
    let rows = match exceptions(
        &state,
        &s.ctx,
        ExceptionQuery {
            community_id: q.community_id,
        },
    )
    .await
    {
        Ok(r) => r,
        Err(e) => return error_page(&e, Some(&s.viewer())),
    };
    let mut out = String::from("<h1>支付异常</h1>");
    if rows.is_empty() {
        out.push_str("<p id=\"no-exceptions\">没有待核对的支付异常。</p>");
    } else {
        out.push_str(
            "<table id=\"exceptions\"><tr><th>编号</th><th>时间</th><th>渠道</th><th>类型</th><th>订单号</th><th>说明</th></tr>",
        );
        for r in &rows {
            out.push_str(&format!(
                "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td class=\"muted\">{}</td></tr>",
                r.id,
                r.created_at.with_timezone(&state.tz).format("%Y-%m-%d %H:%M"),
                esc(&r.provider),
                esc(&r.kind),
                esc(r.out_trade_no.as_deref().unwrap_or("")),
                esc(&r.detail)
            ));
        }
        out.push_str("</table>");
    }
    html(StatusCode::OK).body(page("支付异常", Some(&s.viewer()), &out))
}
