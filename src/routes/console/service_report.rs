//! 服务报表: the service report of a community over a span of days (`services::reports::service`),
//! as figures, a table by category and server-drawn charts; the collection split only for roles
//! that read collection reports.
use super::dashboard::percent;
use super::{chart, community_names, community_options, require_signed};
use crate::domain::text::esc;
use crate::error::ApiError;
use crate::services::reports::service::{service, ServiceFiguresView, ServiceQuery};
use crate::state::AppState;
use actix_web::{web, HttpRequest, HttpResponse};
use chrono::Datelike;
use rust_decimal::prelude::ToPrimitive;
use rust_decimal::Decimal;
use serde::Deserialize;
use std::str::FromStr;

#[derive(Deserialize)]
pub(super) struct Params {
    community_id: Option<i32>,
    from: Option<String>,
    to: Option<String>,
}

/// Minutes as a person reads them: `2小时05分`, `45分`, `—`.
fn duration(m: Option<i64>) -> String {
    match m {
        None => "—".into(),
        Some(m) if m >= 60 => format!("{}小时{:02}分", m / 60, m % 60),
        Some(m) => format!("{m}分"),
    }
}

fn cells(f: &ServiceFiguresView) -> String {
    format!(
        "<td class=\"num\">{}</td><td class=\"num\">{}</td><td class=\"num\">{}</td><td class=\"num\">{}</td>\
         <td class=\"num\">{}</td><td class=\"num\">{}</td><td class=\"num\">{}</td><td class=\"num\">{}</td><td class=\"num\">{}</td>",
        f.tickets,
        f.resolved,
        duration(f.first_response_median_minutes),
        duration(f.first_response_p90_minutes),
        duration(f.resolution_median_minutes),
        duration(f.resolution_p90_minutes),
        percent(&f.breach_rate),
        f.average_rating.as_deref().map_or("—".to_string(), esc),
        percent(&f.reopen_rate),
    )
}

fn basis_points(rate: &Option<String>) -> i64 {
    rate.as_deref()
        .and_then(|r| Decimal::from_str(r).ok())
        .and_then(|d| (d * Decimal::from(10_000)).to_i64())
        .unwrap_or(0)
}

/// `GET /console/reports/service`.
pub(super) async fn show(state: web::Data<AppState>, req: HttpRequest, q: web::Query<Params>) -> HttpResponse {
    let s = match require_signed(&state, &req).await {
        Ok(s) => s,
        Err(r) => return r,
    };
    let body = async {
        let names = community_names(&state, &s.ctx).await?;
        let Some(community) = super::shown_community(q.community_id, &names) else {
            return Ok("<h1>服务报表</h1><p>您还没有负责的小区。</p>".to_string());
        };
        let today = state.today_in(state.community_tz(community).await?);
        let to = q.to.clone().filter(|t| !t.is_empty()).unwrap_or_else(|| today.to_string());
        let from = q
            .from
            .clone()
            .filter(|f| !f.is_empty())
            .unwrap_or_else(|| today.with_day(1).unwrap_or(today).to_string());
        let r = service(
            &state,
            &s.ctx,
            &ServiceQuery {
                community_id: community,
                from: from.clone(),
                to: to.clone(),
            },
        )
        .await?;
        let mut out = format!(
            "<h1>服务报表</h1><form class=\"inline\" method=\"get\" action=\"/console/reports/service\">\
             <label for=\"community_id\">小区<select id=\"community_id\" name=\"community_id\">{}</select></label>\
             <label for=\"from\">自<input id=\"from\" type=\"date\" name=\"from\" value=\"{}\"></label>\
             <label for=\"to\">至<input id=\"to\" type=\"date\" name=\"to\" value=\"{}\"></label>\
             <button type=\"submit\">查看</button></form>\
             <p class=\"muted\">统计期间内新建的工单（不含合并的重复工单和无需人工的即时答复），时间为自提交起的实际经过时间；中位数、P90 按最近秩计算。<a href=\"/console/tickets?community_id={community}\">工单队列</a></p>",
            community_options(&names, Some(community), None),
            esc(&from),
            esc(&to),
        );
        let o = &r.overall;
        out.push_str(&format!(
            "<div class=\"cards\" id=\"service-cards\"><div class=\"card\">工单<div class=\"big\" id=\"tickets\">{}</div></div>\
             <div class=\"card\">首次响应中位数<div class=\"big\">{}</div></div>\
             <div class=\"card\">超时率<div class=\"big\" id=\"breach-rate\">{}</div></div>\
             <div class=\"card\">平均评分<div class=\"big\" id=\"average-rating\">{}</div></div>\
             <div class=\"card\">重开率<div class=\"big\">{}</div></div></div>",
            o.tickets,
            duration(o.first_response_median_minutes),
            percent(&o.breach_rate),
            o.average_rating.as_deref().map_or("—".to_string(), esc),
            percent(&o.reopen_rate),
        ));
        out.push_str(
            "<h2>按类别</h2><table id=\"by-category\"><tr><th>类别</th><th class=\"num\">工单</th><th class=\"num\">已解决</th>\
             <th class=\"num\">首次响应中位数</th><th class=\"num\">首次响应P90</th><th class=\"num\">解决中位数</th><th class=\"num\">解决P90</th>\
             <th class=\"num\">超时率</th><th class=\"num\">平均评分</th><th class=\"num\">重开率</th></tr>",
        );
        for c in &r.by_category {
            out.push_str(&format!("<tr><td>{}</td>{}</tr>", esc(&c.label), cells(&c.figures)));
        }
        out.push_str(&format!("<tr><th>合计</th>{}</tr></table>", cells(o)));
        let counts: Vec<(String, i64, String)> = r
            .by_category
            .iter()
            .map(|c| {
                let n = i64::try_from(c.figures.tickets).unwrap_or(0);
                (c.label.clone(), n, format!("{n}件"))
            })
            .collect();
        out.push_str(&chart::bars("各类工单数", &counts));
        let resolution: Vec<(String, i64, String)> = r
            .by_category
            .iter()
            .map(|c| {
                let m = c.figures.resolution_median_minutes;
                (c.label.clone(), m.unwrap_or(0), duration(m))
            })
            .collect();
        out.push_str(&chart::bars("解决时长中位数", &resolution));
        if let Some(split) = &r.collection {
            out.push_str(&format!(
                "<h2>投诉与收费</h2><p class=\"muted\">{}账期截至{}的收费率：期末仍有未解决投诉或账单异议的房屋（{}户）与其他房屋。</p>\
                 <table id=\"collection-split\"><tr><th></th><th class=\"num\">应收(元)</th><th class=\"num\">实收(元)</th><th class=\"num\">收费率</th></tr>\
                 <tr><td>有未解决投诉</td><td class=\"num\">{}</td><td class=\"num\">{}</td><td class=\"num\">{}</td></tr>\
                 <tr><td>无未解决投诉</td><td class=\"num\">{}</td><td class=\"num\">{}</td><td class=\"num\">{}</td></tr></table>",
                esc(&split.period),
                split.as_of,
                split.units_with_unresolved,
                esc(&split.with_unresolved.receivable),
                esc(&split.with_unresolved.collected),
                percent(&split.with_unresolved.collection_rate),
                esc(&split.without_unresolved.receivable),
                esc(&split.without_unresolved.collected),
                percent(&split.without_unresolved.collection_rate),
            ));
            out.push_str(&chart::bars(
                "收费率：有无未解决投诉",
                &[
                    (
                        "有未解决投诉".into(),
                        basis_points(&split.with_unresolved.collection_rate),
                        percent(&split.with_unresolved.collection_rate),
                    ),
                    (
                        "无未解决投诉".into(),
                        basis_points(&split.without_unresolved.collection_rate),
                        percent(&split.without_unresolved.collection_rate),
                    ),
                ],
            ));
        }
        Ok::<_, ApiError>(out)
    }
    .await;
    s.respond("服务报表", body)
}
