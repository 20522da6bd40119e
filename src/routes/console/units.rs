//! 房屋: one unit's owners (masked), bills with their late-fee explanations, the holds that keep
//! it out of reminders — added for the whole unit and ended early, each with its reason (audited by
//! the holds service, as through the API) — and its points and credit grade (`points`).
use super::page::{error_page, html, page};
use super::{owners_line, require_form, require_signed, see_other, unit_bills};
use crate::domain::text::esc;
use crate::error::ApiError;
use crate::services::collection::casefile::label;
use crate::services::collection::holds::{create_hold, end_hold, list_holds, EndHold, HoldQuery, NewHold};
use crate::services::setup::units::{get_unit, list_units, UnitQuery};
use crate::services::setup::PageQuery;
use crate::state::AppState;
use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};
use serde::Deserialize;

#[derive(Deserialize)]
pub(super) struct UnitsQuery {
    community_id: Option<i32>,
    building: Option<String>,
    q: Option<String>,
    page: Option<u64>,
}

/// `GET /console/units` and `GET /console/counter`: a community's units by building, code, owner
/// name or phone, 50 a page, the search and page kept in the URL; each a link to its page and its
/// counter.
pub(super) async fn find(
    state: web::Data<AppState>,
    req: HttpRequest,
    q: web::Query<UnitsQuery>,
    title: &str,
    action: &str,
) -> HttpResponse {
    let s = match require_signed(&state, &req).await {
        Ok(s) => s,
        Err(r) => return r,
    };
    let body = async {
        let names = super::community_names(&state, &s.ctx).await?;
        let Some(community) = super::shown_community(q.community_id, &names) else {
            return Ok(format!("<h1>{}</h1><p>您负责的范围内还没有小区。</p>", esc(title)));
        };
        let building = q.building.clone().filter(|b| !b.trim().is_empty());
        let search = q.q.clone().filter(|t| !t.trim().is_empty());
        let units = list_units(
            &state,
            &s.ctx,
            UnitQuery {
                community_id: community,
                building: building.clone(),
                q: search.clone(),
            },
            PageQuery {
                page: q.page,
                per_page: Some(50),
            },
        )
        .await?;
        let options = super::community_options(&names, Some(community), None);
        let mut out = format!(
            "<h1>{}</h1><form class=\"inline\" method=\"get\" action=\"{action}\">\
             <label for=\"community_id\">小区<select id=\"community_id\" name=\"community_id\">{options}</select></label>\
             <label for=\"building\">楼栋<input id=\"building\" name=\"building\" value=\"{}\"></label>\
             <label for=\"q\">房号、业主姓名或手机号<input id=\"q\" name=\"q\" maxlength=\"32\" value=\"{}\"></label>\
             <button type=\"submit\">查找</button></form>\
             <table id=\"units\"><tr><th>楼栋</th><th>房号</th><th>业主</th><th></th></tr>",
            esc(title),
            esc(building.as_deref().unwrap_or_default()),
            esc(search.as_deref().unwrap_or_default())
        );
        for u in &units.items {
            out.push_str(&format!(
                "<tr><td>{}</td><td>{}</td><td>{}</td><td><a href=\"/console/counter/units/{id}\">收费</a> <a href=\"/console/units/{id}\">房屋</a></td></tr>",
                esc(&u.building),
                esc(&u.code),
                esc(&owners_line(u)),
                id = u.id
            ));
        }
        out.push_str("</table>");
        if units.items.is_empty() {
            out.push_str("<p id=\"no-units\">没有找到房屋。</p>");
        }
        // The same search, another page: every filter stays in the link.
        out.push_str(&super::pager(
            action,
            &[
                ("community_id", community.to_string()),
                ("building", building.clone().unwrap_or_default()),
                ("q", search.clone().unwrap_or_default()),
            ],
            units.total,
            units.page,
            units.per_page,
            "户",
        ));
        if action == "/console/units" {
            out.push_str(&super::unit_setup::new_form(&s, community));
        }
        Ok::<_, ApiError>(out)
    }
    .await;
    s.respond(title, body)
}

/// `GET /console/units`.
pub(super) async fn index(state: web::Data<AppState>, req: HttpRequest, q: web::Query<UnitsQuery>) -> HttpResponse {
    find(state, req, q, "房屋", "/console/units").await
}

/// The unit's payments (paid, or refunded since), each with its receipt.
async fn payments_section(state: &AppState, s: &super::Signed, unit_id: i32) -> Result<String, ApiError> {
    use crate::domain::states::{self, Channel};
    let payments = crate::services::payments::views::unit_payments(state, &s.ctx, unit_id).await?;
    if payments.is_empty() {
        return Ok("<h2>缴费记录</h2><p id=\"no-payments\">还没有缴费记录。</p>".to_string());
    }
    let mut out = String::from(
        "<h2>缴费记录</h2><table id=\"payments\"><tr><th>缴费时间</th><th>渠道</th><th>账期</th><th class=\"num\">金额(元)</th><th>状态</th><th>收据</th></tr>",
    );
    for p in &payments {
        let periods: Vec<&str> = p
            .lines
            .iter()
            .filter(|l| l.unit_id == unit_id)
            .map(|l| l.period.as_str())
            .collect();
        let status = match p.status.as_str() {
            "paid" => "已缴费",
            "refunded" => "已全额退款",
            "partially_refunded" => "已部分退款",
            other => other,
        };
        out.push_str(&format!(
            "<tr><td>{}</td><td>{}</td><td>{}</td><td class=\"num\">{}</td><td>{}</td><td><a href=\"/console/payments/{}/receipt\">{}</a></td></tr>",
            p.paid_at.map(|t| t.format("%Y-%m-%d %H:%M UTC").to_string()).unwrap_or_default(),
            esc(states::parse::<Channel>(&p.channel).map_or(p.channel.as_str(), |c| states::channel_name(c))),
            esc(&periods.join("、")),
            esc(&p.amount),
            status,
            p.id,
            esc(p.receipt_no.as_deref().unwrap_or("查看"))
        ));
    }
    out.push_str("</table>");
    Ok(out)
}

/// `GET /console/units/{id}`.
pub(super) async fn show(state: web::Data<AppState>, req: HttpRequest, id: web::Path<i32>) -> HttpResponse {
    let s = match require_signed(&state, &req).await {
        Ok(s) => s,
        Err(r) => return r,
    };
    s.respond("房屋", unit_page(&state, &s, *id, None).await)
}

/// The unit page's body; `refused` is a points adjustment the service refused, shown in its section.
pub(super) async fn unit_page(
    state: &AppState,
    s: &super::Signed,
    id: i32,
    refused: Option<&super::points::AdjustRefusal>,
) -> Result<String, ApiError> {
    let u = get_unit(state, &s.ctx, id).await?;
    let bills = unit_bills(state, &s.ctx, &u, None).await?;
    let holds = list_holds(
        state,
        &s.ctx,
        HoldQuery {
            community_id: Some(u.community_id),
            unit_id: Some(u.id),
            page: Some(1),
            per_page: Some(200),
        },
    )
    .await?;
    let mut out = format!(
        "<h1>房屋 · {} {}</h1><p>业主：{} · 建筑面积 {} m² · <a href=\"/console/counter/units/{}\">收费</a></p>",
        esc(&u.building),
        esc(&u.code),
        esc(&owners_line(&u)),
        esc(&u.area_m2),
        u.id
    );
    out.push_str(&super::unit_setup::edit_form(s, &u));
    out.push_str(&super::unit_setup::owner_form(s, &u));
    // Full numbers only on purpose, one owner at a time, and recorded (PIPL).
    if s.ctx.require(crate::domain::role::Action::RevealPhone).is_ok() {
        for o in &u.owners {
            out.push_str(&format!(
                "<form class=\"inline reveal\" method=\"post\" action=\"/console/owners/{id}/reveal\">\
                 <input type=\"hidden\" name=\"csrf\" value=\"{}\"><input type=\"hidden\" name=\"unit_id\" value=\"{}\">\
                 <label for=\"purpose-{id}\">{} 的完整手机号，用途<input id=\"purpose-{id}\" name=\"purpose\" required maxlength=\"100\" placeholder=\"如：催缴电话\"></label>\
                 <button type=\"submit\">显示并记录</button></form>",
                esc(&s.csrf),
                u.id,
                esc(&o.name),
                id = o.owner_id
            ));
        }
    }
    out.push_str("<h2>暂缓催缴</h2>");
    if holds.items.is_empty() {
        out.push_str("<p id=\"no-holds\">没有生效中的暂缓。</p>");
    } else {
        out.push_str(
            "<table id=\"holds\"><tr><th>范围</th><th>原因</th><th>截至</th><th>设置人</th><th>提前结束</th></tr>",
        );
        let actors: Vec<&str> = holds.items.iter().map(|h| h.created_by.as_str()).collect();
        let who = crate::services::access::staff::actor_names(state, &actors).await?;
        for h in &holds.items {
            let scope = match h.bill_id {
                Some(b) => format!("账单 {b}"),
                None => "整户".to_string(),
            };
            out.push_str(&format!(
                "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td><form class=\"inline\" method=\"post\" action=\"/console/holds/{}/end\">\
                 <input type=\"hidden\" name=\"csrf\" value=\"{}\"><input type=\"hidden\" name=\"unit_id\" value=\"{}\">\
                 <label for=\"end-{}\">结束原因<input id=\"end-{}\" name=\"reason\" required maxlength=\"200\"></label>\
                 <button type=\"submit\">结束暂缓</button></form></td></tr>",
                esc(&scope),
                esc(&h.reason),
                h.until,
                esc(who.get(&h.created_by).map_or(h.created_by.as_str(), String::as_str)),
                h.id,
                esc(&s.csrf),
                u.id,
                h.id,
                h.id
            ));
        }
        out.push_str("</table>");
    }
    out.push_str(&mandates_section(state, s, u.id).await?);
    out.push_str(&format!(
        "<form class=\"inline\" id=\"add-hold\" method=\"post\" action=\"/console/units/{}/holds\">\
         <input type=\"hidden\" name=\"csrf\" value=\"{}\">\
         <label for=\"hold-reason\">暂缓原因（如：报修未完成、协商中）<input id=\"hold-reason\" name=\"reason\" required maxlength=\"200\"></label>\
         <label for=\"hold-until\">截至（含当日）<input id=\"hold-until\" name=\"until\" type=\"date\" required></label>\
         <button type=\"submit\">整户暂缓催缴</button></form>",
        u.id,
        esc(&s.csrf)
    ));
    out.push_str(&format!(
        "<h2>账单</h2><table><tr><th>账期</th><th>收费项目</th><th>状态</th><th class=\"num\">本金</th><th class=\"num\">已缴</th>\
         <th class=\"num\">滞纳金</th><th class=\"num\">应缴(元)</th><th>说明</th></tr>{}</table><p>待缴合计 {} 元</p>",
        bills
            .page
            .items
            .iter()
            .map(|b| format!(
                "<tr><td>{}</td><td>{}</td><td>{}</td><td class=\"num\">{}</td><td class=\"num\">{}</td><td class=\"num\">{}</td>\
                 <td class=\"num\">{}</td><td class=\"muted\">{}</td></tr>",
                esc(&b.period),
                esc(&b.fee_item),
                esc(label(&b.status)),
                esc(&b.principal),
                esc(&b.paid),
                esc(&b.late_fee),
                esc(&b.amount_due),
                esc(&b.late_fee_explanation)
            ))
            .collect::<String>(),
        esc(&bills.totals.amount_due)
    ));
    out.push_str(&payments_section(state, s, u.id).await?);
    out.push_str(&format!(
        "<section id=\"points-section\">{}</section>",
        super::points::unit_section(state, s, u.id, u.community_id, refused).await?
    ));
    out.push_str(&format!(
        "<section id=\"evidence-section\">{}</section>",
        super::evidence::section(state, s, u.id, u.community_id).await?
    ));
    Ok(out)
}

#[derive(Deserialize)]
pub(super) struct HoldForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    reason: String,
    #[serde(default)]
    until: String,
    unit_id: Option<i32>,
}

/// `POST /console/units/{id}/holds`: holds the whole unit out of reminders until a day.
pub(super) async fn add_hold(
    state: web::Data<AppState>,
    req: HttpRequest,
    id: web::Path<i32>,
    form: web::Form<HoldForm>,
) -> HttpResponse {
    let s = match require_form(&state, &req, &form.csrf).await {
        Ok(s) => s,
        Err(r) => return r,
    };
    let hold = NewHold {
        bill_ids: None,
        unit_id: Some(*id),
        reason: form.reason.clone(),
        until: form.until.clone(),
    };
    match create_hold(&state, &s.ctx, hold).await {
        Ok(_) => see_other(&format!("/console/units/{}", *id)),
        Err(e) => error_page(&e, Some(&s.viewer())),
    }
}

/// `POST /console/holds/{id}/end`: ends a hold early, with the reason.
pub(super) async fn end(
    state: web::Data<AppState>,
    req: HttpRequest,
    id: web::Path<i32>,
    form: web::Form<HoldForm>,
) -> HttpResponse {
    let s = match require_form(&state, &req, &form.csrf).await {
        Ok(s) => s,
        Err(r) => return r,
    };
    match end_hold(
        &state,
        &s.ctx,
        *id,
        EndHold {
            reason: form.reason.clone(),
        },
    )
    .await
    {
        Ok(h) => see_other(&format!(
            "/console/units/{}",
            form.unit_id.or(h.unit_id).unwrap_or_default()
        )),
        Err(e) => error_page(&e, Some(&s.viewer())),
    }
}

#[derive(Deserialize)]
pub(super) struct RevealForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    purpose: String,
    unit_id: Option<i32>,
}

/// `POST /console/owners/{id}/reveal`: an owner's full phone number on a page of its own (never in
/// a URL), after the purpose is recorded in the reveal log.
pub(super) async fn reveal(
    state: web::Data<AppState>,
    req: HttpRequest,
    id: web::Path<i32>,
    form: web::Form<RevealForm>,
) -> HttpResponse {
    use crate::services::setup::owners::{reveal_phone, RevealRequest};
    let s = match require_form(&state, &req, &form.csrf).await {
        Ok(s) => s,
        Err(r) => return r,
    };
    let purpose = form.purpose.clone();
    match reveal_phone(
        &state,
        &s.ctx,
        *id,
        RevealRequest {
            purpose: purpose.clone(),
        },
    )
    .await
    {
        Ok(p) => {
            let back = form.unit_id.map_or(String::new(), |u| {
                format!("<p><a href=\"/console/units/{u}\">返回房屋</a></p>")
            });
            let body = format!(
                "<h1>完整手机号</h1><p class=\"big\" id=\"full-phone\">{}</p>\
                 <p class=\"muted\">已记录：{} 于本次查看，用途：{}。</p>{back}",
                esc(&p.phone),
                esc(&s.ctx.username),
                esc(purpose.trim())
            );
            html(StatusCode::OK).body(page("完整手机号", Some(&s.viewer()), &body))
        }
        Err(e) => error_page(&e, Some(&s.viewer())),
    }
}

/// The unit's auto-debit mandates, bank accounts masked.
async fn mandates_section(state: &AppState, s: &super::Signed, unit_id: i32) -> Result<String, ApiError> {
    let ms = crate::services::autodebit::mandates::of_unit(state, &s.ctx, unit_id).await?;
    let mut out = String::from("<h2>自动扣款协议</h2>");
    if ms.is_empty() {
        out.push_str("<p id=\"no-mandates\">未开通自动扣款。</p>");
        return Ok(out);
    }
    out.push_str(
        "<table id=\"mandates\"><tr><th>方式</th><th>状态</th><th>账户</th><th class=\"num\">单次上限(元)</th><th>签约时间</th><th>下次扣款</th></tr>",
    );
    for m in &ms {
        let channel = crate::services::autodebit::mandates::channel_label(&m.channel);
        let status = match m.status.as_str() {
            "pending" => "待业主签约",
            "active" => "生效中",
            "suspended" => "已暂停（连续扣款失败）",
            _ => "已解除",
        };
        let next = m
            .next_debit
            .as_ref()
            .map_or("—".to_string(), |n| format!("{} {} 元", n.date, n.amount));
        out.push_str(&format!(
            "<tr><td>{channel}</td><td>{status}</td><td>{}</td><td class=\"num\">{}</td><td>{}</td><td>{}</td></tr>",
            esc(m.account.as_deref().unwrap_or("—")),
            esc(m.max_amount.as_deref().unwrap_or("—")),
            m.signed_at.map_or("—".to_string(), |t| t
                .with_timezone(&chrono_tz::Asia::Shanghai)
                .format("%Y-%m-%d %H:%M")
                .to_string()),
            esc(&next)
        ));
    }
    out.push_str("</table>");
    Ok(out)
}
