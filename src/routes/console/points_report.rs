//! 积分报表: a community's points month by month (`services::reports::points`) — earned, adjusted,
//! redeemed on rewards and on fees (with the fees they paid), given back, taken back, expired — as
//! a table with the months added up. For the roles that read reports.
use super::{community_names, community_options, require_signed};
use crate::domain::role::Action;
use crate::domain::text::esc;
use crate::error::ApiError;
use crate::services::reports::points::{points, PointsMonth, PointsReportQuery};
use crate::state::AppState;
use actix_web::{web, HttpRequest, HttpResponse};
use chrono::{Datelike, Months};
use serde::Deserialize;

#[derive(Deserialize)]
pub(super) struct Params {
    community_id: Option<i32>,
    from: Option<String>,
    to: Option<String>,
}

/// The figures of one row, after its label: the columns of the table's heading, in its order.
fn cells(m: &PointsMonth) -> String {
    [
        m.earned.to_string(),
        m.adjusted_in.to_string(),
        m.adjusted_out.to_string(),
        m.redeemed_rewards.to_string(),
        m.redeemed_fees.to_string(),
        m.fee_cost.clone(),
        m.returned.to_string(),
        m.reversed.to_string(),
        m.expired.to_string(),
    ]
    .iter()
    .map(|v| format!("<td class=\"num\">{}</td>", esc(v)))
    .collect()
}

/// `GET /console/reports/points`.
pub(super) async fn show(state: web::Data<AppState>, req: HttpRequest, q: web::Query<Params>) -> HttpResponse {
    let s = match require_signed(&state, &req).await {
        Ok(s) => s,
        Err(r) => return r,
    };
    let body = async {
        s.ctx.require(Action::ReadReports)?;
        let names = community_names(&state, &s.ctx).await?;
        let Some(community) = super::shown_community(q.community_id, &names) else {
            return Ok("<h1>积分报表</h1><p>您还没有负责的小区。</p>".to_string());
        };
        // By default the last 12 months, this one (in the community's time) included.
        let today = state.today_in(state.community_tz(community).await?);
        let this_month = today.with_day(1).unwrap_or(today);
        let to = q
            .to
            .clone()
            .filter(|t| !t.is_empty())
            .unwrap_or_else(|| this_month.format("%Y-%m").to_string());
        let from = q.from.clone().filter(|f| !f.is_empty()).unwrap_or_else(|| {
            this_month
                .checked_sub_months(Months::new(11))
                .unwrap_or(this_month)
                .format("%Y-%m")
                .to_string()
        });
        let r = points(
            &state,
            &s.ctx,
            &PointsReportQuery {
                community_id: community,
                from: from.clone(),
                to: to.clone(),
            },
        )
        .await?;
        let mut out = format!(
            "<h1>积分报表</h1><form class=\"inline\" method=\"get\" action=\"/console/reports/points\">\
             <label for=\"community_id\">小区<select id=\"community_id\" name=\"community_id\">{}</select></label>\
             <label for=\"from\">自<input id=\"from\" type=\"month\" name=\"from\" value=\"{}\"></label>\
             <label for=\"to\">至<input id=\"to\" type=\"month\" name=\"to\" value=\"{}\"></label>\
             <button type=\"submit\">查看</button></form>\
             <p class=\"muted\">按积分流水发生时的小区当地月份统计，最多36个月；各项均为积分数（抵扣金额除外）。\
             抵扣金额为积分抵扣的物业费，即少收的现金；退回为取消兑换、订单退款或未入账时退还的积分；冲回为缴费退款后收回的已获积分。</p>",
            community_options(&names, Some(community), None),
            esc(&from),
            esc(&to),
        );
        out.push_str(
            "<table id=\"points-report\"><tr><th>月份</th><th class=\"num\">按时缴费获得</th><th class=\"num\">人工调增</th>\
             <th class=\"num\">人工调减</th><th class=\"num\">兑换奖品</th><th class=\"num\">抵扣物业费（积分）</th>\
             <th class=\"num\">抵扣金额（元）</th><th class=\"num\">退回</th><th class=\"num\">冲回</th><th class=\"num\">过期</th></tr>",
        );
        for m in &r.months {
            out.push_str(&format!(
                "<tr data-month=\"{0}\"><td>{0}</td>{1}</tr>",
                esc(&m.month),
                cells(m)
            ));
        }
        out.push_str(&format!(
            "<tr id=\"points-total\"><th>合计</th>{}</tr></table>",
            cells(&r.total)
        ));
        Ok::<_, ApiError>(out)
    }
    .await;
    s.respond("积分报表", body)
}
