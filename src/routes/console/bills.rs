//! 账单: a community's bills filtered as the dashboard's figures are made (due in a month, by
//! building, fee item, status or days overdue), with totals over every match — the list behind
//! each figure. The same service as `GET /staff/bills`.
use super::{community_names, community_options, pager, require_signed};
use crate::domain::text::esc;
use crate::error::ApiError;
use crate::services::billing::staff::{staff_bills, StaffBillQuery};
use crate::services::setup::PageQuery;
use crate::state::AppState;
use actix_web::{web, HttpRequest, HttpResponse};
use serde::Deserialize;

#[derive(Deserialize)]
pub(super) struct BillsQuery {
    community_id: Option<i32>,
    status: Option<String>,
    building: Option<String>,
    due_month: Option<String>,
    fee_item_id: Option<i32>,
    min_days_overdue: Option<i64>,
    max_days_overdue: Option<i64>,
    page: Option<u64>,
}

fn given(s: &Option<String>) -> Option<String> {
    s.as_deref()
        .map(str::trim)
        .filter(|v| !v.is_empty())
        .map(str::to_string)
}

fn status_name(s: &str) -> &str {
    match s {
        "unpaid" => "未缴清",
        "paid" => "已缴清",
        "waived" => "已减免",
        "cancelled" => "已取消",
        "rescheduled" => "已转入分期",
        other => other,
    }
}

/// `GET /console/bills`.
pub(super) async fn list(state: web::Data<AppState>, req: HttpRequest, q: web::Query<BillsQuery>) -> HttpResponse {
    let s = match require_signed(&state, &req).await {
        Ok(s) => s,
        Err(r) => return r,
    };
    let body = async {
        let names = community_names(&state, &s.ctx).await?;
        let Some(community) = super::shown_community(q.community_id, &names) else {
            return Ok("<h1>账单</h1><p>您还没有负责的小区。</p>".to_string());
        };
        let (status, building, due_month) = (given(&q.status), given(&q.building), given(&q.due_month));
        let bills = staff_bills(
            &state,
            &s.ctx,
            StaffBillQuery {
                community_id: community,
                unit_id: None,
                status: status.clone(),
                building: building.clone(),
                min_days_overdue: q.min_days_overdue,
                max_days_overdue: q.max_days_overdue,
                period: None,
                due_month: due_month.clone(),
                fee_item_id: q.fee_item_id,
            },
            PageQuery {
                page: q.page,
                per_page: Some(50),
            },
        )
        .await?;
        let statuses: String = ["unpaid", "paid", "waived", "cancelled", "rescheduled"]
            .iter()
            .map(|v| {
                let sel = if status.as_deref() == Some(*v) { " selected" } else { "" };
                format!("<option value=\"{v}\"{sel}>{}</option>", status_name(v))
            })
            .collect();
        let number = |n: Option<i64>| n.map(|v| v.to_string()).unwrap_or_default();
        let mut out = format!(
            "<h1>账单</h1><form class=\"inline\" method=\"get\" action=\"/console/bills\">\
             <label for=\"community_id\">小区<select id=\"community_id\" name=\"community_id\">{}</select></label>\
             <label for=\"due_month\">到期月份<input id=\"due_month\" name=\"due_month\" placeholder=\"2026-11\" value=\"{}\"></label>\
             <label for=\"building\">楼栋<input id=\"building\" name=\"building\" value=\"{}\"></label>\
             <label for=\"status\">状态<select id=\"status\" name=\"status\"><option value=\"\">全部</option>{statuses}</select></label>\
             <label for=\"min_days\">逾期至少（天）<input id=\"min_days\" name=\"min_days_overdue\" type=\"number\" min=\"0\" value=\"{}\"></label>\
             <label for=\"max_days\">逾期至多（天）<input id=\"max_days\" name=\"max_days_overdue\" type=\"number\" min=\"0\" value=\"{}\"></label>{}\
             <button type=\"submit\">筛选</button></form>",
            community_options(&names, Some(community), None),
            esc(due_month.as_deref().unwrap_or("")),
            esc(building.as_deref().unwrap_or("")),
            number(q.min_days_overdue),
            number(q.max_days_overdue),
            q.fee_item_id
                .map(|f| format!("<input type=\"hidden\" name=\"fee_item_id\" value=\"{f}\">"))
                .unwrap_or_default(),
        );
        let t = &bills.totals;
        out.push_str(&format!(
            "<p id=\"bill-totals\">共 {} 张：本金 {} 元，已缴 {} 元，滞纳金 {} 元，尚欠 {} 元（逾期天数按今天计）。</p>",
            t.bills,
            esc(&t.principal),
            esc(&t.paid),
            esc(&t.late_fee),
            esc(&t.amount_due)
        ));
        if bills.page.items.is_empty() {
            out.push_str("<p id=\"no-bills\">没有符合条件的账单。</p>");
        } else {
            out.push_str(
                "<table id=\"bills\"><tr><th>房屋</th><th>账期</th><th>收费项目</th><th>到期日</th><th>状态</th><th class=\"num\">逾期天数</th>\
                 <th class=\"num\">本金</th><th class=\"num\">已缴</th><th class=\"num\">滞纳金</th><th class=\"num\">尚欠(元)</th></tr>",
            );
            for b in &bills.page.items {
                out.push_str(&format!(
                    "<tr><td><a href=\"/console/units/{}\">{}</a></td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td class=\"num\">{}</td>\
                     <td class=\"num\">{}</td><td class=\"num\">{}</td><td class=\"num\">{}</td><td class=\"num\">{}</td></tr>",
                    b.unit_id,
                    esc(&b.unit_code),
                    esc(&b.period),
                    esc(&b.fee_item),
                    b.due_date,
                    esc(status_name(&b.status)),
                    b.days_overdue,
                    esc(&b.principal),
                    esc(&b.paid),
                    esc(&b.late_fee),
                    esc(&b.amount_due)
                ));
            }
            out.push_str("</table>");
        }
        out.push_str(&pager(
            "/console/bills",
            &[
                ("community_id", community.to_string()),
                ("due_month", due_month.unwrap_or_default()),
                ("building", building.unwrap_or_default()),
                ("status", status.unwrap_or_default()),
                ("fee_item_id", q.fee_item_id.map(|f| f.to_string()).unwrap_or_default()),
                ("min_days_overdue", number(q.min_days_overdue)),
                ("max_days_overdue", number(q.max_days_overdue)),
            ],
            bills.page.total,
            bills.page.page,
            bills.page.per_page,
            "张",
        ));
        Ok::<_, ApiError>(out)
    }
    .await;
    s.respond("账单", body)
}
