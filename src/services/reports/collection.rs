//! `GET /staff/reports/collection`: 收费率, 户收费率 and 清缴率 with their breakdowns, aging and
//! trend (`domain::reports` does the arithmetic; this loads the facts and shapes the answer).
use crate::domain::period::Period;
use crate::domain::reports::{self, Collection, Report};
use crate::domain::role::Action;
use crate::domain::rollup::{self, Households, Money, Recovery, Sums};
use crate::domain::Fen;
use crate::error::{ApiError, ApiResult};
use crate::services::access::staff::StaffCtx;
use crate::state::AppState;
use chrono::{Datelike, NaiveDate};
use entity::{clearance_rollup, collection_rollup, community, fee_item, household_rollup};
use rust_decimal::Decimal;
use sea_orm::sea_query::{Expr, ExprTrait};
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, QuerySelect};
use serde::{Deserialize, Serialize};
use std::collections::HashMap;

/// `GET /staff/reports/collection` parameters.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
pub struct CollectionQuery {
    /// Absent: every community the caller may see, with `by_community`.
    pub community_id: Option<i32>,
    /// A month, `YYYY-MM`.
    #[param(pattern = r#"^(20[0-9]{2}|2100)-(0[1-9]|1[0-2])$"#)]
    pub period: String,
    /// `YYYY-MM-DD`; default today (the community's, or the server's across communities).
    #[param(pattern = r#"^(19[7-9][0-9]|20[0-9]{2}|2100)-(0[1-9]|1[0-2])-(0[1-9]|[12][0-9]|3[01])$"#, format = Date)]
    pub as_of: Option<String>,
    /// `json` (default) or `csv` (UTF-8 with BOM).
    #[param(pattern = "^(json|csv)$")]
    pub format: Option<String>,
}

/// Receivable, collected and households of one group (amounts in yuan; rates with four decimals,
/// absent when nothing was receivable).
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct Figures {
    pub receivable: String,
    pub collected: String,
    pub collection_rate: Option<String>,
    pub households_billed: usize,
    pub households_paid: usize,
    pub household_rate: Option<String>,
    /// Late fee collected on these bills, beside the rates (never in them).
    pub late_fee_collected: String,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct BuildingFigures {
    pub community_id: i32,
    pub building: String,
    #[serde(flatten)]
    pub figures: Figures,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct FeeItemFigures {
    pub fee_item_id: i32,
    pub fee_item: String,
    #[serde(flatten)]
    pub figures: Figures,
}

/// Unpaid principal due by `as_of`, by days overdue on `as_of`.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct AgingView {
    #[serde(rename = "0-30")]
    pub d0_30: String,
    #[serde(rename = "31-90")]
    pub d31_90: String,
    #[serde(rename = "91-180")]
    pub d91_180: String,
    #[serde(rename = "181+")]
    pub d181_plus: String,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct TrendView {
    pub period: String,
    pub collection_rate: Option<String>,
}

/// One report: a community's, or the caller's communities' together.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct CollectionReport {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub community_id: Option<i32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub community: Option<String>,
    pub period: String,
    pub as_of: NaiveDate,
    #[serde(flatten)]
    pub figures: Figures,
    pub arrears_at_year_start: String,
    pub arrears_recovered: String,
    /// Of the arrears at year start, principal waived, adjusted away or cancelled since (out of the base).
    pub arrears_waived: String,
    pub clearance_rate: Option<String>,
    pub by_building: Vec<BuildingFigures>,
    pub by_fee_item: Vec<FeeItemFigures>,
    pub aging: AgingView,
    pub trend: Vec<TrendView>,
    /// Present when the report spans several communities: each one's own report.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(no_recursion)]
    pub by_community: Option<Vec<CollectionReport>>,
}

fn yuan(fen: i64) -> String {
    Fen(fen).to_yuan_string()
}

pub(crate) fn rate_text(r: Option<Decimal>) -> Option<String> {
    r.map(|d| format!("{d:.4}"))
}

pub(crate) fn figures(c: &Collection) -> Figures {
    Figures {
        receivable: yuan(c.receivable_fen),
        collected: yuan(c.collected_fen),
        collection_rate: rate_text(c.collection_rate()),
        households_billed: c.households_billed,
        households_paid: c.households_paid,
        household_rate: rate_text(c.household_rate()),
        late_fee_collected: yuan(c.late_fee_collected_fen),
    }
}

/// `SUM(col)` as a BIGINT on both backends (PostgreSQL sums BIGINTs to NUMERIC), 0 over no rows.
fn total(col: &str) -> Expr {
    Expr::cust(format!("CAST(COALESCE(SUM({col}), 0) AS BIGINT)"))
}

/// The rollup's sums for a report over some communities (`domain::rollup::Sums`).
async fn sums(state: &AppState, communities: &[i32], period: Period, as_of: NaiveDate) -> ApiResult<Sums> {
    use collection_rollup::Column as M;
    let db = &state.db;
    let ids = communities.to_vec();
    let money: Vec<(i32, String, i32, i64, i64, i64, i64)> = collection_rollup::Entity::find()
        .select_only()
        .columns([M::CommunityId, M::Building, M::FeeItemId])
        .expr(total("receivable_fen"))
        .expr(total("collected_fen"))
        .expr(total("late_fee_fen"))
        .expr(total("unpaid_fen"))
        .filter(M::CommunityId.is_in(ids.clone()))
        .filter(M::DueDate.between(period.start(), period.end()))
        .filter(M::OnDate.lte(as_of))
        .group_by(M::CommunityId)
        .group_by(M::Building)
        .group_by(M::FeeItemId)
        .into_tuple()
        .all(db)
        .await?;
    let households: Vec<(i32, String, i32, i64, i64)> = household_rollup::Entity::find()
        .select_only()
        .columns([
            household_rollup::Column::CommunityId,
            household_rollup::Column::Building,
            household_rollup::Column::FeeItemId,
        ])
        .expr(total("billed"))
        .expr(total("paid"))
        .filter(household_rollup::Column::CommunityId.is_in(ids.clone()))
        .filter(household_rollup::Column::Month.eq(period.start()))
        .filter(household_rollup::Column::OnDate.lte(as_of))
        .group_by(household_rollup::Column::CommunityId)
        .group_by(household_rollup::Column::Building)
        .group_by(household_rollup::Column::FeeItemId)
        .into_tuple()
        .all(db)
        .await?;
    let unpaid_by_due_date: Vec<(NaiveDate, i64)> = collection_rollup::Entity::find()
        .select_only()
        .column(M::DueDate)
        .expr(total("unpaid_fen"))
        .filter(M::CommunityId.is_in(ids.clone()))
        .filter(M::DueDate.lte(as_of))
        .filter(M::OnDate.lte(as_of))
        .group_by(M::DueDate)
        .into_tuple()
        .all(db)
        .await?;
    let months = reports::trend_months(period);
    let trend: Vec<(NaiveDate, i64, i64)> = collection_rollup::Entity::find()
        .select_only()
        .column(M::PeriodEnd)
        .expr(total("receivable_fen"))
        .expr(total("collected_fen"))
        .filter(M::CommunityId.is_in(ids.clone()))
        .filter(M::DueDate.between(months[0].start(), period.end()))
        .filter(Expr::col(M::OnDate).lte(Expr::col(M::PeriodEnd)))
        .group_by(M::PeriodEnd)
        .into_tuple()
        .all(db)
        .await?;
    let (year_start, eve) = reports::year_start(period);
    let arrears: Option<i64> = collection_rollup::Entity::find()
        .select_only()
        .expr(total("unpaid_fen"))
        .filter(M::CommunityId.is_in(ids.clone()))
        .filter(M::DueDate.lt(year_start))
        .filter(M::OnDate.lte(std::cmp::min(eve, as_of)))
        .into_tuple()
        .one(db)
        .await?;
    let recovery: Option<(i64, i64)> = clearance_rollup::Entity::find()
        .select_only()
        .expr(total("recovered_fen"))
        .expr(total("waived_fen"))
        .filter(clearance_rollup::Column::CommunityId.is_in(ids))
        .filter(clearance_rollup::Column::Year.eq(year_start.year()))
        .filter(clearance_rollup::Column::OnDate.lte(as_of))
        .into_tuple()
        .one(db)
        .await?;
    let (recovered_fen, waived_fen) = recovery.unwrap_or_default();
    Ok(Sums {
        money: money
            .into_iter()
            .map(|(c, b, f, receivable_fen, collected_fen, late_fee_fen, unpaid_fen)| {
                (
                    (c, b, f),
                    Money {
                        receivable_fen,
                        collected_fen,
                        late_fee_fen,
                        unpaid_fen,
                    },
                )
            })
            .collect(),
        households: households
            .into_iter()
            .map(|(c, b, f, billed, paid)| ((c, b, f), Households { billed, paid }))
            .collect(),
        unpaid_by_due_date,
        trend: trend
            .into_iter()
            .map(|(end, receivable_fen, collected_fen)| {
                (
                    Period::month_of(end).start(),
                    Money {
                        receivable_fen,
                        collected_fen,
                        ..Money::default()
                    },
                )
            })
            .collect(),
        arrears_at_year_start_fen: arrears.unwrap_or_default(),
        recovery: Recovery {
            recovered_fen,
            waived_fen,
        },
    })
}

/// A report from the rollup.
async fn report(state: &AppState, communities: &[i32], period: Period, as_of: NaiveDate) -> ApiResult<Report> {
    Ok(rollup::report(
        &sums(state, communities, period, as_of).await?,
        period,
        as_of,
    ))
}

fn view(r: &Report, items: &HashMap<i32, String>, community: Option<&community::Model>) -> CollectionReport {
    CollectionReport {
        community_id: community.map(|c| c.id),
        community: community.map(|c| c.name.clone()),
        period: r.period.to_string(),
        as_of: r.as_of,
        figures: figures(&r.total),
        arrears_at_year_start: yuan(r.clearance.arrears_at_year_start_fen),
        arrears_recovered: yuan(r.clearance.recovered_fen),
        arrears_waived: yuan(r.clearance.waived_fen),
        clearance_rate: rate_text(r.clearance.clearance_rate()),
        by_building: r
            .by_building
            .iter()
            .map(|((community_id, building), c)| BuildingFigures {
                community_id: *community_id,
                building: building.clone(),
                figures: figures(c),
            })
            .collect(),
        by_fee_item: r
            .by_fee_item
            .iter()
            .map(|(id, c)| FeeItemFigures {
                fee_item_id: *id,
                fee_item: items.get(id).cloned().unwrap_or_default(),
                figures: figures(c),
            })
            .collect(),
        aging: AgingView {
            d0_30: yuan(r.aging.d0_30),
            d31_90: yuan(r.aging.d31_90),
            d91_180: yuan(r.aging.d91_180),
            d181_plus: yuan(r.aging.d181_plus),
        },
        trend: r
            .trend
            .iter()
            .map(|t| TrendView {
                period: t.period.to_string(),
                collection_rate: rate_text(t.collection_rate),
            })
            .collect(),
        by_community: None,
    }
}

/// The collection report the caller asked for.
pub async fn collection(state: &AppState, ctx: &StaffCtx, q: &CollectionQuery) -> ApiResult<CollectionReport> {
    ctx.require(Action::ReadReports)?;
    let period = match Period::parse(&q.period) {
        Ok(p @ Period::Month { .. }) => p,
        _ => return Err(ApiError::field("period", "账期应为月份，如2026-11")),
    };
    let mut communities: Vec<community::Model> = match q.community_id {
        Some(id) => {
            ctx.require_community(id)?;
            vec![community::Entity::find_by_id(id)
                .one(&state.db)
                .await?
                .ok_or(ApiError::NotFound)?]
        }
        None => community::Entity::find()
            .all(&state.db)
            .await?
            .into_iter()
            .filter(|c| ctx.sees(c.id))
            .collect(),
    };
    communities.sort_by_key(|c| c.id);
    let as_of = match &q.as_of {
        Some(raw) => crate::domain::period::parse_date(raw).map_err(|m| ApiError::field("as_of", m))?,
        None => match communities.as_slice() {
            [c] => state.today_in(state.zone_of(c)),
            _ => state.today(),
        },
    };
    let ids: Vec<i32> = communities.iter().map(|c| c.id).collect();
    let items: HashMap<i32, String> = fee_item::Entity::find()
        .filter(fee_item::Column::CommunityId.is_in(ids.clone()))
        .all(&state.db)
        .await?
        .into_iter()
        .map(|f| (f.id, f.name))
        .collect();
    let total = report(state, &ids, period, as_of).await?;
    match q.community_id {
        Some(_) => Ok(view(&total, &items, communities.first())),
        None => {
            let mut out = view(&total, &items, None);
            let mut each = Vec::with_capacity(communities.len());
            for c in &communities {
                each.push(view(&report(state, &[c.id], period, as_of).await?, &items, Some(c)));
            }
            out.by_community = Some(each);
            Ok(out)
        }
    }
}

/// The report as CSV (UTF-8 with BOM so Excel opens it): one row per scope, then aging and trend.
pub fn to_csv(r: &CollectionReport) -> ApiResult<Vec<u8>> {
    let mut w = csv::Writer::from_writer("\u{feff}".as_bytes().to_vec());
    let row = |w: &mut csv::Writer<Vec<u8>>, kind: &str, name: &str, f: Option<&Figures>, extra: &[&str]| {
        let mut cells: Vec<String> = vec![kind.into(), name.into()];
        match f {
            Some(f) => cells.extend([
                f.receivable.clone(),
                f.collected.clone(),
                f.collection_rate.clone().unwrap_or_default(),
                f.households_billed.to_string(),
                f.households_paid.to_string(),
                f.household_rate.clone().unwrap_or_default(),
                f.late_fee_collected.clone(),
            ]),
            None => cells.extend(std::iter::repeat_n(String::new(), 7)),
        }
        cells.extend(extra.iter().map(|s| s.to_string()));
        w.write_record(&cells)
    };
    let csv_err = |e: csv::Error| ApiError::internal(anyhow::anyhow!(e));
    w.write_record([
        "类别",
        "名称",
        "应收(元)",
        "实收(元)",
        "收费率",
        "应缴户数",
        "已缴户数",
        "户收费率",
        "滞纳金实收(元)",
        "金额(元)",
    ])
    .map_err(csv_err)?;
    let scope = format!("{}（截至{}）", r.period, r.as_of);
    row(&mut w, "合计", &scope, Some(&r.figures), &[""]).map_err(csv_err)?;
    for c in r.by_community.iter().flatten() {
        row(
            &mut w,
            "小区",
            c.community.as_deref().unwrap_or_default(),
            Some(&c.figures),
            &[""],
        )
        .map_err(csv_err)?;
    }
    for b in &r.by_building {
        row(&mut w, "楼栋", &b.building, Some(&b.figures), &[""]).map_err(csv_err)?;
    }
    for f in &r.by_fee_item {
        row(&mut w, "收费项目", &f.fee_item, Some(&f.figures), &[""]).map_err(csv_err)?;
    }
    for (name, v) in [
        ("年初欠费", &r.arrears_at_year_start),
        ("清欠回收", &r.arrears_recovered),
        ("清欠减免", &r.arrears_waived),
    ] {
        row(&mut w, "清缴", name, None, &[v]).map_err(csv_err)?;
    }
    // Rates in the 收费率 column, amounts in 金额.
    let plain = |w: &mut csv::Writer<Vec<u8>>, kind: &str, name: &str, rate: &str, amount: &str| {
        w.write_record([kind, name, "", "", rate, "", "", "", "", amount])
    };
    plain(
        &mut w,
        "清缴",
        "清缴率",
        r.clearance_rate.as_deref().unwrap_or_default(),
        "",
    )
    .map_err(csv_err)?;
    for (name, v) in [
        ("0-30天", &r.aging.d0_30),
        ("31-90天", &r.aging.d31_90),
        ("91-180天", &r.aging.d91_180),
        ("181天以上", &r.aging.d181_plus),
    ] {
        plain(&mut w, "账龄", name, "", v).map_err(csv_err)?;
    }
    for t in &r.trend {
        plain(
            &mut w,
            "趋势",
            &t.period,
            t.collection_rate.as_deref().unwrap_or_default(),
            "",
        )
        .map_err(csv_err)?;
    }
    w.into_inner()
        .map_err(|e| ApiError::internal(anyhow::anyhow!(e.to_string())))
}
