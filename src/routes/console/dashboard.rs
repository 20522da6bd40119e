//! 总览: the collection report of a community (or all of the caller's) as a page, with its trend
//! drawn as SVG, aging, buildings ranked by arrears and fee items; the same report as CSV.
use super::page::{error_page, html, page};
use super::{require_signed, Signed};
use crate::domain::period::Period;
use crate::domain::role::Action;
use crate::domain::states::{self, Channel};
use crate::domain::text::esc;
use crate::domain::Fen;
use crate::error::ApiError;
use crate::services::payments::views::{self, ChannelDay, SummaryQuery};
use crate::services::reports::collection::{self, CollectionQuery, CollectionReport, Figures};
use crate::state::AppState;
use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};
use chrono::NaiveDate;
use rust_decimal::prelude::ToPrimitive;
use rust_decimal::Decimal;
use serde::Deserialize;
use std::str::FromStr;

#[derive(Deserialize)]
pub(super) struct DashQuery {
    community_id: Option<String>,
    period: Option<String>,
    as_of: Option<String>,
}

/// The report query a page asks for: every field from the URL, the month of today by default.
fn report_query(state: &AppState, q: &DashQuery) -> Result<CollectionQuery, ApiError> {
    let community_id = match q.community_id.as_deref().filter(|s| !s.is_empty()) {
        None => None,
        Some(raw) => Some(
            raw.parse::<i32>()
                .map_err(|_| ApiError::field("community_id", "小区不存在"))?,
        ),
    };
    Ok(CollectionQuery {
        community_id,
        period: q
            .period
            .clone()
            .filter(|s| !s.is_empty())
            .unwrap_or_else(|| Period::month_of(state.today()).to_string()),
        as_of: q.as_of.clone().filter(|s| !s.is_empty()),
        format: None,
    })
}

pub(super) fn percent(rate: &Option<String>) -> String {
    rate.as_deref()
        .and_then(|r| Decimal::from_str(r).ok())
        .map_or("—".to_string(), |d| format!("{:.2}%", d * Decimal::ONE_HUNDRED))
}

fn fen(yuan: &str) -> i64 {
    Fen::parse(yuan).map_or(0, |f| f.0)
}

fn figures_cells(f: &Figures) -> String {
    format!(
        "<td class=\"num\">{}</td><td class=\"num\">{}</td><td class=\"num\">{}</td><td class=\"num\">{}/{}</td><td class=\"num\">{}</td>",
        esc(&f.receivable),
        esc(&f.collected),
        percent(&f.collection_rate),
        f.households_paid,
        f.households_billed,
        percent(&f.household_rate)
    )
}

const FIGURES_HEAD: &str = "<th class=\"num\">应收(元)</th><th class=\"num\">实收(元)</th><th class=\"num\">收费率</th><th class=\"num\">已缴/应缴户</th><th class=\"num\">户收费率</th>";

/// A link to the bills behind a figure: (base list URL for the community, the report's month), or
/// nothing on the all-communities view (its per-community rows link to each community's page).
struct Behind {
    base: String,
    month: String,
    /// Aging and arrears are as of the report's day; the bill list counts days overdue today, so
    /// they link only when the two are the same day.
    as_of_today: bool,
}

impl Behind {
    fn link(&self, extra: &str, text: &str) -> String {
        format!(
            " <a class=\"behind\" href=\"{}{}\">{}</a>",
            self.base,
            esc(extra),
            esc(text)
        )
    }

    fn month(&self, extra: &str, text: &str) -> String {
        self.link(&format!("&due_month={}{extra}", self.month), text)
    }
}

fn render(r: &CollectionReport, names: &[(i32, String)], q: &CollectionQuery, today: NaiveDate) -> String {
    let behind = q.community_id.map(|c| Behind {
        base: format!("/console/bills?community_id={c}"),
        month: r.period.clone(),
        as_of_today: r.as_of == today,
    });
    let month_link = |extra: &str, text: &str| behind.as_ref().map_or(String::new(), |b| b.month(extra, text));
    let overdue_link = |min: i64, max: Option<i64>, text: &str| {
        behind.as_ref().filter(|b| b.as_of_today).map_or(String::new(), |b| {
            let max = max.map_or(String::new(), |m| format!("&max_days_overdue={m}"));
            b.link(&format!("&status=unpaid&min_days_overdue={min}{max}"), text)
        })
    };
    let scope = match (&r.community, q.community_id) {
        (Some(name), _) => name.clone(),
        (None, _) => format!("全部小区（{}个）", names.len()),
    };
    let options = super::community_options(names, q.community_id, Some("全部小区"));
    let csv_link = format!(
        "/console/reports/collection.csv?community_id={}&amp;period={}&amp;as_of={}",
        q.community_id.map(|c| c.to_string()).unwrap_or_default(),
        esc(&r.period),
        r.as_of
    );
    let total_unpaid = [&r.aging.d0_30, &r.aging.d31_90, &r.aging.d91_180, &r.aging.d181_plus]
        .iter()
        .map(|s| fen(s))
        .sum::<i64>();
    let mut out = format!(
        "<h1>总览 · {}</h1>\
         <form class=\"inline\" method=\"get\" action=\"/console/\">\
         <label for=\"community_id\">小区<select id=\"community_id\" name=\"community_id\">{options}</select></label>\
         <label for=\"period\">账期<input id=\"period\" name=\"period\" value=\"{}\" pattern=\"\\d{{4}}-\\d{{2}}\" placeholder=\"2026-11\"></label>\
         <label for=\"as_of\">截至<input id=\"as_of\" name=\"as_of\" type=\"date\" value=\"{}\"></label>\
         <button type=\"submit\">查看</button> <a href=\"{csv_link}\">下载CSV</a></form>\
         <p class=\"muted\">{}账期，数据截至{}日终；只计本金，滞纳金另列。</p>\
         <div class=\"cards\">\
         <div class=\"card\"><div>收费率</div><div class=\"big\" id=\"collection-rate\">{}</div><div class=\"muted\">实收 {} / 应收 {} 元{}</div></div>\
         <div class=\"card\"><div>户收费率</div><div class=\"big\" id=\"household-rate\">{}</div><div class=\"muted\">已缴清 {} / 应缴 {} 户{}</div></div>\
         <div class=\"card\"><div>清缴率（{}年初欠费）</div><div class=\"big\" id=\"clearance-rate\">{}</div><div class=\"muted\">收回 {} / 年初欠费 {} 元（减免 {}）</div></div>\
         <div class=\"card\"><div>欠费本金</div><div class=\"big\">{}</div><div class=\"muted\">截至{}未缴、已到期{}</div></div>\
         </div>",
        esc(&scope),
        esc(&r.period),
        r.as_of,
        esc(&r.period),
        r.as_of,
        percent(&r.figures.collection_rate),
        esc(&r.figures.collected),
        esc(&r.figures.receivable),
        month_link("", "查看本期账单"),
        percent(&r.figures.household_rate),
        r.figures.households_paid,
        r.figures.households_billed,
        month_link("&status=unpaid", "未缴清的账单"),
        esc(r.period.get(..4).unwrap_or_default()),
        percent(&r.clearance_rate),
        esc(&r.arrears_recovered),
        esc(&r.arrears_at_year_start),
        esc(&r.arrears_waived),
        Fen(total_unpaid).to_yuan_string(),
        r.as_of,
        overdue_link(0, None, "查看欠费账单"),
    );
    // Rates come with four decimals: basis points exactly.
    let points: Vec<(String, Option<i64>)> = r
        .trend
        .iter()
        .map(|t| {
            let bp = t
                .collection_rate
                .as_deref()
                .and_then(|s| Decimal::from_str(s).ok())
                .and_then(|d| (d * Decimal::from(10_000)).to_i64());
            (t.period.clone(), bp)
        })
        .collect();
    out.push_str("<h2>近12个月当期收费率</h2>");
    out.push_str(&super::chart::rate_line("近12个月当期收费率", &points));
    out.push_str(&format!(
        "<h2>欠费账龄</h2><table><tr><th>逾期天数</th><th class=\"num\">欠费本金(元)</th></tr>\
         <tr><td>0–30天{}</td><td class=\"num\">{}</td></tr><tr><td>31–90天{}</td><td class=\"num\">{}</td></tr>\
         <tr><td>91–180天{}</td><td class=\"num\">{}</td></tr><tr><td>181天以上{}</td><td class=\"num\">{}</td></tr></table>",
        overdue_link(0, Some(30), "账单"),
        esc(&r.aging.d0_30),
        overdue_link(31, Some(90), "账单"),
        esc(&r.aging.d31_90),
        overdue_link(91, Some(180), "账单"),
        esc(&r.aging.d91_180),
        overdue_link(181, None, "账单"),
        esc(&r.aging.d181_plus)
    ));
    let mut buildings: Vec<_> = r.by_building.iter().collect();
    buildings.sort_by_key(|b| std::cmp::Reverse(fen(&b.figures.receivable) - fen(&b.figures.collected)));
    out.push_str(&format!(
        "<h2>楼栋（按本期欠费排序）</h2><table><tr><th>楼栋</th><th class=\"num\">本期欠费(元)</th>{FIGURES_HEAD}</tr>"
    ));
    for b in buildings {
        let name = match names.iter().find(|(id, _)| *id == b.community_id) {
            Some((_, c)) if r.community.is_none() => format!("{c} {}", b.building),
            _ => b.building.clone(),
        };
        out.push_str(&format!(
            "<tr><td>{}{}</td><td class=\"num\">{}</td>{}</tr>",
            esc(&name),
            month_link(
                &format!(
                    "&building={}",
                    url::form_urlencoded::byte_serialize(b.building.as_bytes()).collect::<String>()
                ),
                "账单",
            ),
            Fen(fen(&b.figures.receivable) - fen(&b.figures.collected)).to_yuan_string(),
            figures_cells(&b.figures)
        ));
    }
    out.push_str("</table>");
    out.push_str(&format!(
        "<h2>收费项目</h2><table><tr><th>收费项目</th>{FIGURES_HEAD}</tr>"
    ));
    for f in &r.by_fee_item {
        out.push_str(&format!(
            "<tr><td>{}{}</td>{}</tr>",
            esc(&f.fee_item),
            month_link(&format!("&fee_item_id={}", f.fee_item_id), "账单"),
            figures_cells(&f.figures)
        ));
    }
    out.push_str("</table>");
    if let Some(per) = &r.by_community {
        out.push_str(&format!("<h2>各小区</h2><table><tr><th>小区</th>{FIGURES_HEAD}</tr>"));
        for c in per {
            out.push_str(&format!(
                "<tr><td><a href=\"/console/?community_id={}&amp;period={}\">{}</a></td>{}</tr>",
                c.community_id.unwrap_or_default(),
                esc(&c.period),
                esc(c.community.as_deref().unwrap_or_default()),
                figures_cells(&c.figures)
            ));
        }
        out.push_str("</table>");
    }
    out
}

fn today_by_channel(day: &[ChannelDay], community_id: i32) -> String {
    let mut out = format!(
        "<h2>今日收款（按渠道） <a class=\"behind\" href=\"/console/counter/day?community_id={community_id}\">明细</a></h2><table><tr><th>渠道</th><th class=\"num\">笔数</th><th class=\"num\">金额(元)</th>\
         <th class=\"num\">退款笔数</th><th class=\"num\">退款(元)</th><th class=\"num\">异常</th></tr>",
    );
    for c in day {
        out.push_str(&format!(
            "<tr><td>{}</td><td class=\"num\">{}</td><td class=\"num\">{}</td><td class=\"num\">{}</td><td class=\"num\">{}</td><td class=\"num\">{}</td></tr>",
            esc(states::parse::<Channel>(&c.channel).map_or(&c.channel[..], |ch| states::channel_name(ch))),
            c.paid,
            esc(&c.amount),
            c.refunds,
            esc(&c.refunded),
            c.exceptions
        ));
    }
    out.push_str("</table>");
    out
}

async fn load(
    state: &AppState,
    signed: &Signed,
    q: &DashQuery,
) -> Result<(CollectionReport, CollectionQuery), ApiError> {
    let query = report_query(state, q)?;
    let report = collection::collection(state, &signed.ctx, &query).await?;
    Ok((report, query))
}

/// Open follow-up: tasks waiting for someone, tasks a hold suspends, and holds in force, each a link
/// to its list.
async fn follow_up(state: &AppState, signed: &super::Signed, community_id: Option<i32>) -> Result<String, ApiError> {
    use crate::services::collection::holds::{list_holds, HoldQuery};
    let (open, suspended) = crate::services::collection::tasks::open_counts(state, &signed.ctx, community_id).await?;
    let scope = community_id.map_or(String::new(), |c| format!("&amp;community_id={c}"));
    let holds_link = community_id.map_or(String::new(), |c| format!("/console/holds?community_id={c}"));
    let holds = match community_id {
        Some(c) => Some(
            list_holds(
                state,
                &signed.ctx,
                HoldQuery {
                    community_id: Some(c),
                    unit_id: None,
                    page: Some(1),
                    per_page: Some(1),
                },
            )
            .await?
            .total,
        ),
        None => None,
    };
    Ok(format!(
        "<h2>催缴跟进</h2><div class=\"cards\">\
         <div class=\"card\"><div>待跟进任务</div><div class=\"big\"><a id=\"open-tasks\" href=\"/console/tasks?status=open{scope}\">{open}</a></div><div class=\"muted\">电话、上门、书面通知送达</div></div>\
         <div class=\"card\"><div>暂缓中的任务</div><div class=\"big\"><a id=\"suspended-tasks\" href=\"/console/tasks?status=suspended{scope}\">{suspended}</a></div><div class=\"muted\">暂缓催缴期间暂停跟进</div></div>{}</div>",
        holds.map_or(String::new(), |h| format!(
            "<div class=\"card\"><div>生效中的暂缓</div><div class=\"big\" id=\"holds-in-force\">{h}</div><div class=\"muted\"><a class=\"behind\" href=\"{holds_link}\">查看暂缓</a></div></div>"
        ))
    ))
}

/// The auto-debit cards: units covered, this month's money through it and its share of all the
/// money credited this month, debits paid and failing.
fn autodebit_share(s: &crate::services::autodebit::overview::Share, community_id: i32) -> String {
    use crate::domain::Fen;
    let share = if s.month_all_fen > 0 {
        // Whole per-mille, shown with one decimal: integer arithmetic, no floats.
        let permille = (s.month_autodebit_fen * 1000 + s.month_all_fen / 2) / s.month_all_fen;
        format!("{}.{}%", permille / 10, permille % 10)
    } else {
        "—".into()
    };
    format!(
        "<h2>自动扣款 <a class=\"behind\" href=\"/console/autodebit?community_id={community_id}\">明细</a></h2><div class=\"cards\">\
         <div class=\"card\"><div>已开通的房屋</div><div class=\"big\" id=\"autodebit-units\">{} / {}</div><div class=\"muted\">生效中的自动扣款协议</div></div>\
         <div class=\"card\"><div>本月经自动扣款入账</div><div class=\"big\" id=\"autodebit-month\">{} 元</div><div class=\"muted\">占本月全部入账 {} 元的 <span id=\"autodebit-share\">{share}</span></div></div>\
         <div class=\"card\"><div>本月扣款</div><div class=\"big\" id=\"autodebit-paid\">{} 笔成功</div><div class=\"muted\">{} 笔曾未成功</div></div></div>",
        s.units_covered,
        s.units_total,
        Fen(s.month_autodebit_fen).to_yuan_string(),
        Fen(s.month_all_fen).to_yuan_string(),
        s.month_paid,
        s.month_failed
    )
}

/// `GET /console/`.
/// The publication status of a community's monthly finance reports.
fn publication(p: &crate::services::transparency::Publication, community_id: i32) -> String {
    let latest = p
        .reports
        .first()
        .map(|r| format!("最近公布：{}（第{}版）", esc(&r.period), r.version))
        .unwrap_or_else(|| "尚未公布任何月份".into());
    let missing = if p.missing.is_empty() {
        "近12个月均已公布".to_string()
    } else {
        format!("近12个月未公布{}个月：{}", p.missing.len(), esc(&p.missing.join("、")))
    };
    format!(
        "<h2>财务公开 <a class=\"behind\" href=\"/console/finance-reports?community_id={community_id}\">公布</a></h2>\
         <p id=\"publication\">{latest}；{missing}</p>"
    )
}

pub(super) async fn show(state: web::Data<AppState>, req: HttpRequest, q: web::Query<DashQuery>) -> HttpResponse {
    let signed = match require_signed(&state, &req).await {
        Ok(s) => s,
        Err(r) => return r,
    };
    let (report, query) = match load(&state, &signed, &q).await {
        Ok(x) => x,
        Err(e) => return error_page(&e, Some(&signed.viewer())),
    };
    let names = match super::community_names(&state, &signed.ctx).await {
        Ok(n) => n,
        Err(e) => return error_page(&e, Some(&signed.viewer())),
    };
    let today = match query.community_id {
        Some(c) => match state.community_tz(c).await {
            Ok(tz) => state.today_in(tz),
            Err(e) => return error_page(&e, Some(&signed.viewer())),
        },
        None => state.today(),
    };
    let mut body = render(&report, &names, &query, today);
    match follow_up(&state, &signed, query.community_id).await {
        Ok(section) => body.push_str(&section),
        Err(e) => return error_page(&e, Some(&signed.viewer())),
    }
    // Auto-debit's part, for one community.
    if let Some(community_id) = query.community_id {
        match crate::services::autodebit::overview::share(&state, &signed.ctx, community_id).await {
            Ok(s) => body.push_str(&autodebit_share(&s, community_id)),
            Err(e) => return error_page(&e, Some(&signed.viewer())),
        }
    }
    // A single community's day at the counter and gateways, for those who handle money.
    if let Some(community_id) = query
        .community_id
        .filter(|_| signed.ctx.role.may(Action::ManageBilling))
    {
        let day = views::daily_summary(
            &state,
            &signed.ctx,
            SummaryQuery {
                community_id,
                date: None,
            },
        )
        .await;
        match day {
            Ok(day) => body.push_str(&today_by_channel(&day, community_id)),
            Err(e) => return error_page(&e, Some(&signed.viewer())),
        }
        // Fee transparency: what was published, and the months owners are still waiting for.
        match crate::services::transparency::publication(&state, &signed.ctx, community_id).await {
            Ok(p) => body.push_str(&publication(&p, community_id)),
            Err(e) => return error_page(&e, Some(&signed.viewer())),
        }
    }
    html(StatusCode::OK).body(page("总览", Some(&signed.viewer()), &body))
}

/// `GET /console/reports/collection.csv`: the report as the API's CSV.
pub(super) async fn csv(state: web::Data<AppState>, req: HttpRequest, q: web::Query<DashQuery>) -> HttpResponse {
    let signed = match require_signed(&state, &req).await {
        Ok(s) => s,
        Err(r) => return r,
    };
    let bytes = load(&state, &signed, &q)
        .await
        .and_then(|(r, _)| Ok((collection::to_csv(&r)?, r.period)));
    match bytes {
        Ok((body, period)) => HttpResponse::Ok()
            .content_type("text/csv; charset=utf-8")
            .insert_header(("Cache-Control", "no-store"))
            .insert_header((
                "Content-Disposition",
                format!("attachment; filename=\"collection-{period}.csv\""),
            ))
            .body(body),
        Err(e) => error_page(&e, Some(&signed.viewer())),
    }
}
