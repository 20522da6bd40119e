//! 收费 (the counter): pick a unit, tick its open bills, record cash, POS or a transfer with its
//! reference, and print the receipt. The same counter service as `POST /staff/payments/counter`.
//! Finance and admins also refund from the receipt page (`POST /staff/payments/{id}/refunds`'s
//! service) and see each channel's day (`GET /staff/payments/summary`'s).
use super::page::{error_page, html, page};
use super::{owners_line, require_form, require_signed, see_other, unit_bills};
use crate::domain::role::Action;
use crate::domain::states::{self, Channel};
use crate::domain::text::esc;
use crate::error::ApiError;
use crate::services::payments::counter::{counter, CounterPayment};
use crate::services::payments::receipts::staff_receipt_html;
use crate::services::payments::refunds::{self, RefundRequest, RefundView, TransferredRequest};
use crate::services::payments::views::{daily_summary, ChannelDay, SummaryQuery};
use crate::services::setup::units::get_unit;
use crate::state::AppState;
use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};
use rust_decimal::Decimal;

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
        if s.ctx.role.may(Action::ManageBilling) {
            out.push_str(&format!(
                "<p><a id=\"day-link\" href=\"/console/counter/day?community_id={}\">今日各渠道收款</a></p>",
                u.community_id
            ));
        }
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
    s.respond("收费", body)
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
            points: None,
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
    let id = *id;
    let doc = async {
        let doc = staff_receipt_html(&state, &s.ctx, id).await?;
        // Roles that may not refund see the receipt alone (the refunds service refuses them).
        if !s.ctx.role.may(Action::ManageBilling) {
            return Ok::<_, ApiError>(doc);
        }
        let done = refunds::list(&state, &s.ctx, id).await?;
        let section = refund_section(id, &s.csrf, &done);
        // The receipt is its own printable document: the section goes inside its body, after
        // what it prints, and hides itself in print.
        Ok(match doc.rfind("</body>") {
            Some(at) => format!("{}{section}{}", &doc[..at], &doc[at..]),
            None => format!("{doc}{section}"),
        })
    }
    .await;
    match doc {
        Ok(doc) => html(StatusCode::OK).body(doc),
        Err(e) => error_page(&e, Some(&s.viewer())),
    }
}

fn refund_status(status: &str) -> &'static str {
    match status {
        "success" => "已退款",
        "processing" => "处理中",
        "failed" => "失败",
        _ => "未知",
    }
}

/// The refunds so far and the refund form, for the receipt page's screen only (hidden in print,
/// so the printed receipt carries only what the receipt service prints).
fn refund_section(payment_id: i32, csrf: &str, done: &[RefundView]) -> String {
    let mut out = String::from(
        "<section class=\"no-print\" id=\"refunds\"><style>@media print{.no-print{display:none}}\
         .no-print{margin-top:8mm;padding-top:4mm;border-top:1px dashed #999}\
         .no-print form{display:flex;flex-wrap:wrap;gap:12px;align-items:end}\
         .no-print label{display:flex;flex-direction:column}</style>\
         <p><a href=\"/console/counter\">返回收费</a> · <a id=\"day-link\" href=\"/console/counter/day\">各渠道当日收款</a></p>\
         <h2>退款记录</h2>",
    );
    if done.is_empty() {
        out.push_str("<p id=\"no-refunds\">这笔收款还没有退款。</p>");
    } else {
        out.push_str(
            "<table id=\"refund-list\"><thead><tr><th>退款单号</th><th>时间</th><th class=n>金额(元)</th><th>原因</th><th>状态</th></tr></thead><tbody>",
        );
        for r in done {
            out.push_str(&format!(
                "<tr><td>{}</td><td>{}</td><td class=n>{}</td><td>{}</td><td>{}{}</td></tr>",
                esc(&r.out_refund_no),
                r.created_at.format("%Y-%m-%d %H:%M UTC"),
                esc(&r.amount),
                esc(&r.reason),
                refund_status(&r.status),
                if r.automatic {
                    "（重复缴费自动退款）"
                } else {
                    ""
                },
            ));
        }
        out.push_str("</tbody></table>");
        for r in done.iter().filter(|r| r.by_transfer && r.status == "processing") {
            // No gateway returns it: finance transfers it and says so here.
            out.push_str(&format!(
                "<form class=\"transferred\" method=\"post\" action=\"/console/refunds/{id}/transferred\">\
                 <input type=\"hidden\" name=\"csrf\" value=\"{csrf}\">\
                 <span>退款 {no}（{amount}元）需转账退还业主：</span>\
                 <label for=\"transfer-ref-{id}\">转账的银行流水号<input id=\"transfer-ref-{id}\" name=\"reference\" required maxlength=\"64\"></label>\
                 <button type=\"submit\">确认已转账</button></form>",
                id = r.id,
                csrf = esc(csrf),
                no = esc(&r.out_refund_no),
                amount = esc(&r.amount),
            ));
        }
    }
    out.push_str(&format!(
        "<h2>退款</h2><form method=\"post\" action=\"/console/payments/{payment_id}/refunds\">\
         <input type=\"hidden\" name=\"csrf\" value=\"{}\">\
         <label for=\"refund-amount\">退款金额（元）<input id=\"refund-amount\" name=\"amount\" required inputmode=\"decimal\" maxlength=\"12\"></label>\
         <label for=\"refund-reason\">退款原因<input id=\"refund-reason\" name=\"reason\" required maxlength=\"80\"></label>\
         <button type=\"submit\">退款</button></form><p>现金、POS和转账的退款在柜台当场退还；线上支付原路退回；银行托收的重复扣款由财务转账退还，转账后在上方确认。退款后所缴账单重新变为待缴（重复缴费的退款不影响账单）。</p></section>",
        esc(csrf)
    ));
    out
}

#[derive(serde::Deserialize)]
pub(super) struct RefundForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    amount: String,
    #[serde(default)]
    reason: String,
}

/// `POST /console/payments/{id}/refunds`: refunds part or all of a payment (finance and admins),
/// then back to its receipt page.
pub(super) async fn refund(
    state: web::Data<AppState>,
    req: HttpRequest,
    id: web::Path<i32>,
    form: web::Form<RefundForm>,
) -> HttpResponse {
    let s = match require_form(&state, &req, &form.csrf).await {
        Ok(s) => s,
        Err(r) => return r,
    };
    let form = form.into_inner();
    // The amount is always stated: an empty field is a mistake, never "everything refundable".
    let body = RefundRequest {
        amount: Some(form.amount),
        reason: form.reason,
    };
    match refunds::staff_refund(&state, &s.ctx, *id, body).await {
        Ok(r) => see_other(&format!("/console/payments/{}/receipt", r.payment_id)),
        Err(e) => error_page(&e, Some(&s.viewer())),
    }
}

#[derive(serde::Deserialize)]
pub(super) struct TransferredForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    reference: String,
}

/// `POST /console/refunds/{id}/transferred`: finance confirms a refund it transferred by hand,
/// then back to the payment's receipt page.
pub(super) async fn transferred(
    state: web::Data<AppState>,
    req: HttpRequest,
    id: web::Path<i32>,
    form: web::Form<TransferredForm>,
) -> HttpResponse {
    let s = match require_form(&state, &req, &form.csrf).await {
        Ok(s) => s,
        Err(r) => return r,
    };
    let body = TransferredRequest {
        reference: form.into_inner().reference,
    };
    match refunds::confirm_transferred(&state, &s.ctx, *id, body).await {
        Ok(r) => see_other(&format!("/console/payments/{}/receipt", r.payment_id)),
        Err(e) => error_page(&e, Some(&s.viewer())),
    }
}

#[derive(serde::Deserialize)]
pub(super) struct DayQuery {
    community_id: Option<String>,
    date: Option<String>,
}

/// `GET /console/counter/day?community_id=&date=`: what came in through each channel on one day
/// in one community, with a total row summed exactly.
pub(super) async fn day(state: web::Data<AppState>, req: HttpRequest, q: web::Query<DayQuery>) -> HttpResponse {
    let s = match require_signed(&state, &req).await {
        Ok(s) => s,
        Err(r) => return r,
    };
    let body = async {
        s.ctx.require(Action::ManageBilling)?;
        let names = super::community_names(&state, &s.ctx).await?;
        let asked = match q.community_id.as_deref().map(str::trim).filter(|c| !c.is_empty()) {
            Some(c) => Some(
                c.parse::<i32>()
                    .map_err(|_| ApiError::field("community_id", "小区编号无效"))?,
            ),
            None => None,
        };
        let Some(community) = super::shown_community(asked, &names) else {
            return Ok::<_, ApiError>("<h1>各渠道当日收款</h1><p>您没有负责的小区。</p>".to_string());
        };
        let date = match q.date.as_deref().map(str::trim).filter(|d| !d.is_empty()) {
            Some(d) => d.to_string(),
            None => state
                .today_in(state.community_tz(community).await?)
                .format("%Y-%m-%d")
                .to_string(),
        };
        let rows = daily_summary(
            &state,
            &s.ctx,
            SummaryQuery {
                community_id: community,
                date: Some(date.clone()),
            },
        )
        .await?;
        let day = crate::domain::period::parse_date(&date).map_err(|m| ApiError::field("date", m))?;
        let nav = |d: Option<chrono::NaiveDate>, rel: &str, text: &str| {
            d.map_or(String::new(), |d| {
                format!(
                    " <a rel=\"{rel}\" href=\"/console/counter/day?community_id={community}&amp;date={}\">{text}</a>",
                    d.format("%Y-%m-%d")
                )
            })
        };
        let mut out = format!(
            "<h1>各渠道当日收款</h1><form class=\"inline\" method=\"get\" action=\"/console/counter/day\">\
             <label for=\"community_id\">小区<select id=\"community_id\" name=\"community_id\">{}</select></label>\
             <label for=\"date\">日期<input id=\"date\" name=\"date\" type=\"date\" required value=\"{}\"></label>\
             <button type=\"submit\">查看</button></form><p>{}{}{}</p>",
            super::community_options(&names, Some(community), None),
            esc(&date),
            esc(&date),
            nav(day.pred_opt(), "prev", "前一天"),
            nav(day.succ_opt(), "next", "后一天"),
        );
        out.push_str(&day_table(community, &rows)?);
        out.push_str(
            "<p class=\"muted\">下单：当天创建的订单；到账：当天支付成功的笔数与金额；退款：当天完成的退款（可能退的是以前的收款）；净额 = 到账金额 − 退款金额。</p>",
        );
        Ok(out)
    }
    .await;
    s.respond("各渠道当日收款", body)
}

/// An amount the service rendered (`"1234.50"`), exactly.
fn yuan(s: &str) -> Result<Decimal, ApiError> {
    crate::domain::money::parse_decimal(s, 2)
        .ok_or_else(|| ApiError::internal(anyhow::anyhow!("summary amount not a decimal: {s}")))
}

fn yuan_string(mut d: Decimal) -> String {
    d.rescale(2);
    d.to_string()
}

/// One channel's figures, in the table's column order: orders, paid, amount, refunds, refunded,
/// net, exceptions.
struct Figures {
    orders: usize,
    paid: usize,
    amount: Decimal,
    refunds: usize,
    refunded: Decimal,
    exceptions: usize,
}

impl Figures {
    fn net(&self) -> Result<Decimal, ApiError> {
        self.amount
            .checked_sub(self.refunded)
            .ok_or_else(|| ApiError::internal(anyhow::anyhow!("net out of range")))
    }

    fn add(&mut self, o: &Figures) -> Result<(), ApiError> {
        let overflow = || ApiError::internal(anyhow::anyhow!("total out of range"));
        self.orders = self.orders.checked_add(o.orders).ok_or_else(overflow)?;
        self.paid = self.paid.checked_add(o.paid).ok_or_else(overflow)?;
        self.amount = self.amount.checked_add(o.amount).ok_or_else(overflow)?;
        self.refunds = self.refunds.checked_add(o.refunds).ok_or_else(overflow)?;
        self.refunded = self.refunded.checked_add(o.refunded).ok_or_else(overflow)?;
        self.exceptions = self.exceptions.checked_add(o.exceptions).ok_or_else(overflow)?;
        Ok(())
    }

    fn cells(&self, community: i32) -> Result<String, ApiError> {
        let exceptions = if self.exceptions > 0 {
            format!(
                "<a href=\"/console/exceptions?community_id={community}\">{}</a>",
                self.exceptions
            )
        } else {
            "0".to_string()
        };
        Ok(format!(
            "<td class=\"num\">{}</td><td class=\"num\">{}</td><td class=\"num\">{}</td><td class=\"num\">{}</td>\
             <td class=\"num\">{}</td><td class=\"num\">{}</td><td class=\"num\">{exceptions}</td>",
            self.orders,
            self.paid,
            yuan_string(self.amount),
            self.refunds,
            yuan_string(self.refunded),
            yuan_string(self.net()?),
        ))
    }
}

/// The channels' rows and their total.
fn day_table(community: i32, rows: &[ChannelDay]) -> Result<String, ApiError> {
    let mut out = String::from(
        "<table id=\"channel-day\"><thead><tr><th>渠道</th><th class=\"num\">下单笔数</th><th class=\"num\">到账笔数</th>\
         <th class=\"num\">到账金额(元)</th><th class=\"num\">退款笔数</th><th class=\"num\">退款金额(元)</th>\
         <th class=\"num\">净额(元)</th><th class=\"num\">支付异常</th></tr></thead><tbody>",
    );
    let mut total = Figures {
        orders: 0,
        paid: 0,
        amount: Decimal::ZERO,
        refunds: 0,
        refunded: Decimal::ZERO,
        exceptions: 0,
    };
    for r in rows {
        let f = Figures {
            orders: r.orders,
            paid: r.paid,
            amount: yuan(&r.amount)?,
            refunds: r.refunds,
            refunded: yuan(&r.refunded)?,
            exceptions: r.exceptions,
        };
        total.add(&f)?;
        let name = match states::parse::<Channel>(&r.channel) {
            Some(c) => states::channel_name(c),
            None => &r.channel,
        };
        out.push_str(&format!(
            "<tr id=\"channel-{}\"><th scope=\"row\">{}</th>{}</tr>",
            esc(&r.channel),
            esc(name),
            f.cells(community)?
        ));
    }
    out.push_str(&format!(
        "</tbody><tfoot><tr id=\"channel-total\"><th scope=\"row\">合计</th>{}</tr></tfoot></table>",
        total.cells(community)?
    ));
    Ok(out)
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
    let mut out = format!(
        "<h1>支付异常</h1><p><a id=\"day-link\" href=\"/console/counter/day{}\">各渠道当日收款</a></p>",
        q.community_id.map_or(String::new(), |c| format!("?community_id={c}"))
    );
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
