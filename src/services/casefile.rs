//! Limitation periods (art. 188, restarted by a delivered demand under art. 195) and the case
//! file a lawyer takes to court: unit, owner, fee basis, bills with their late-fee arithmetic,
//! and every notice, contact and delivery proof from the evidence chain.
use crate::domain::role::Action;
use crate::error::{ApiError, ApiResult};
use crate::services::bills::{self, BillView};
use crate::services::collection::TaskView;
use crate::services::evidence::{self, EvidenceView, Verification};
use crate::services::staff::StaffCtx;
use crate::state::AppState;
use chrono::{DateTime, Months, NaiveDate, Utc};
use entity::{bill, community, evidence_head, fee_item, owner, staff_task, unit_owner};
use sea_orm::{ColumnTrait, Condition, EntityTrait, QueryFilter, QueryOrder};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// Three years from the due date, or from the last delivered demand.
pub fn limitation_ends(b: &bill::Model) -> NaiveDate {
    let from = b.limitation_from.unwrap_or(b.due_date);
    from.checked_add_months(Months::new(36)).unwrap_or(NaiveDate::MAX)
}

/// How far ahead staff are warned.
const ALERT_DAYS: i64 = 90;

#[derive(Debug, Deserialize, utoipa::IntoParams)]
pub struct AlertQuery {
    pub community_id: i32,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct LimitationAlert {
    pub bill_id: i32,
    pub unit_id: i32,
    pub period: String,
    pub due_date: NaiveDate,
    /// The last delivered demand that restarted the period, if any.
    pub limitation_from: Option<NaiveDate>,
    pub limitation_ends: NaiveDate,
    /// Negative once the period has run out.
    pub days_left: i64,
    pub principal_outstanding_fen: i64,
}

/// `GET /staff/limitation-alerts`: unpaid bills whose period ends within 90 days (or has ended),
/// soonest first.
pub async fn limitation_alerts(state: &AppState, ctx: &StaffCtx, q: AlertQuery) -> ApiResult<Vec<LimitationAlert>> {
    ctx.require(Action::ReadSetup)?;
    ctx.require_community(q.community_id)?;
    let tz = state.community_tz(q.community_id).await?;
    let today = state.clock.now().with_timezone(&tz).date_naive();
    // Ends within the window ⇔ its start is on or before this day.
    let cutoff = (today + chrono::Duration::days(ALERT_DAYS))
        .checked_sub_months(Months::new(36))
        .unwrap_or(NaiveDate::MIN);
    let rows = bill::Entity::find()
        .filter(bill::Column::CommunityId.eq(q.community_id))
        .filter(bill::Column::Status.eq("unpaid"))
        .filter(
            Condition::any()
                .add(
                    Condition::all()
                        .add(bill::Column::LimitationFrom.is_null())
                        .add(bill::Column::DueDate.lte(cutoff)),
                )
                .add(bill::Column::LimitationFrom.lte(cutoff)),
        )
        .all(&state.db)
        .await?;
    let mut out: Vec<LimitationAlert> = rows
        .into_iter()
        .map(|b| {
            let ends = limitation_ends(&b);
            LimitationAlert {
                bill_id: b.id,
                unit_id: b.unit_id,
                period: b.period.clone(),
                due_date: b.due_date,
                limitation_from: b.limitation_from,
                limitation_ends: ends,
                days_left: (ends - today).num_days(),
                principal_outstanding_fen: (b.principal_fen - b.paid_principal_fen).max(0),
            }
        })
        .collect();
    out.sort_by_key(|a| (a.limitation_ends, a.bill_id));
    Ok(out)
}

#[derive(Debug, Serialize, ToSchema)]
pub struct CaseUnit {
    pub id: i32,
    pub code: String,
    pub building: String,
    pub area_m2: String,
    pub community: String,
    pub late_fee_daily_rate: String,
    pub late_fee_grace_days: i32,
    pub late_fee_cap_ratio: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct CaseOwner {
    pub id: i32,
    pub name: String,
    /// Masked: the full number is revealed only through the recorded reveal.
    pub phone: String,
    pub since: NaiveDate,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct FeeBasis {
    pub name: String,
    pub kind: String,
    pub unit_price: String,
    pub cycle: String,
    pub due_day: i32,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct CaseBill {
    #[serde(flatten)]
    pub bill: BillView,
    pub limitation_ends: NaiveDate,
    /// The owner records this bill is claimed from (`domain::ownership`, the rule the owner app
    /// and the reminders use).
    pub owner_ids: Vec<i32>,
}

/// `GET /staff/units/{id}/case-file`.
#[derive(Debug, Serialize, ToSchema)]
pub struct CaseFile {
    pub generated_at: DateTime<Utc>,
    pub unit: CaseUnit,
    pub owners: Vec<CaseOwner>,
    pub fee_basis: Vec<FeeBasis>,
    pub bills: Vec<CaseBill>,
    pub total_due: String,
    pub evidence: Vec<EvidenceView>,
    pub evidence_verification: Verification,
    pub tasks: Vec<TaskView>,
}

pub async fn case_file(state: &AppState, ctx: &StaffCtx, unit_id: i32) -> ApiResult<CaseFile> {
    let u = evidence::visible_unit(state, ctx, unit_id).await?;
    let c = community::Entity::find_by_id(u.community_id)
        .one(&state.db)
        .await?
        .ok_or(ApiError::NotFound)?;
    let links = unit_owner::Entity::find()
        .filter(unit_owner::Column::UnitId.eq(u.id))
        .order_by_asc(unit_owner::Column::StartDate)
        .all(&state.db)
        .await?;
    let mut owners = Vec::new();
    for l in &links {
        if let Some(o) = owner::Entity::find_by_id(l.owner_id).one(&state.db).await? {
            let phone = state
                .cipher
                .decrypt(&o.phone_enc)
                .map(|p| crate::domain::phone::mask(&p))
                .unwrap_or_default();
            owners.push(CaseOwner {
                id: o.id,
                name: o.name,
                phone,
                since: l.start_date,
            });
        }
    }
    // Only arrears are claimed: unpaid bills whose due date has passed on the file's date.
    let tz: chrono_tz::Tz = c.timezone.parse().unwrap_or(state.tz);
    let today = state.clock.now().with_timezone(&tz).date_naive();
    let unpaid = bill::Entity::find()
        .filter(bill::Column::UnitId.eq(u.id))
        .filter(bill::Column::Status.eq("unpaid"))
        .filter(bill::Column::DueDate.lt(today))
        .order_by_asc(bill::Column::DueDate)
        .all(&state.db)
        .await?;
    let item_ids: Vec<i32> = unpaid.iter().map(|b| b.fee_item_id).collect();
    let fee_basis = fee_item::Entity::find()
        .filter(fee_item::Column::Id.is_in(item_ids))
        .order_by_asc(fee_item::Column::Id)
        .all(&state.db)
        .await?
        .into_iter()
        .map(|f| FeeBasis {
            name: f.name,
            kind: f.kind,
            unit_price: f.unit_price,
            cycle: f.cycle,
            due_day: f.due_day,
        })
        .collect();
    let priced = bills::with_amounts(state, unpaid).await?;
    let total = crate::domain::money::sum_fen(priced.iter().map(|(_, _, a)| a.due()))?;
    let unit_links: Vec<crate::domain::ownership::Link> = links.iter().map(bills::link_of).collect();
    let bills = priced
        .into_iter()
        .map(|(b, view, _)| CaseBill {
            limitation_ends: limitation_ends(&b),
            owner_ids: unit_links
                .iter()
                .filter(|l| crate::domain::ownership::owns(l, &unit_links, b.period_start))
                .map(|l| l.owner_id)
                .collect(),
            bill: view,
        })
        .collect();
    let records = evidence::records(&state.db, u.id).await?;
    let head = evidence_head::Entity::find_by_id(u.id).one(&state.db).await?;
    let evidence_verification = evidence::verify_chain(&records, head.as_ref());
    let tasks = staff_task::Entity::find()
        .filter(staff_task::Column::UnitId.eq(u.id))
        .order_by_asc(staff_task::Column::Id)
        .all(&state.db)
        .await?
        .into_iter()
        .map(TaskView::from)
        .collect();
    Ok(CaseFile {
        generated_at: state.clock.now(),
        unit: CaseUnit {
            id: u.id,
            code: u.code,
            building: u.building,
            area_m2: crate::domain::Area(u.area_centi_m2).to_m2_string(),
            community: c.name,
            late_fee_daily_rate: c.late_fee_daily_rate,
            late_fee_grace_days: c.late_fee_grace_days,
            late_fee_cap_ratio: c.late_fee_cap_ratio,
        },
        owners,
        fee_basis,
        bills,
        total_due: crate::domain::Fen(total).to_yuan_string(),
        evidence: records.into_iter().map(EvidenceView::from).collect(),
        evidence_verification,
        tasks,
    })
}

/// Escapes text for HTML element content and attribute values.
pub fn esc(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for ch in s.chars() {
        match ch {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            _ => out.push(ch),
        }
    }
    out
}

/// `GET /staff/units/{id}/case-file.html`: the same file as a printable page.
pub fn case_file_html(f: &CaseFile) -> String {
    let mut h = String::new();
    h.push_str("<!doctype html><html lang=\"zh-CN\"><head><meta charset=\"utf-8\"><title>案卷</title>");
    h.push_str("<style>body{font-family:serif;margin:2em}table{border-collapse:collapse;width:100%}td,th{border:1px solid #999;padding:4px;font-size:12px;vertical-align:top}pre{white-space:pre-wrap;margin:0}</style></head><body>");
    h.push_str(&format!(
        "<h1>物业费纠纷案卷</h1><p>生成时间：{}</p>",
        esc(&f.generated_at.to_rfc3339())
    ));
    h.push_str(&format!(
        "<h2>房屋</h2><p>{} {}（{} 栋，建筑面积 {} 平方米）</p><p>违约金约定：日{}，宽限 {} 天，上限为本金的 {} 倍</p>",
        esc(&f.unit.community),
        esc(&f.unit.code),
        esc(&f.unit.building),
        esc(&f.unit.area_m2),
        esc(&f.unit.late_fee_daily_rate),
        f.unit.late_fee_grace_days,
        esc(&f.unit.late_fee_cap_ratio)
    ));
    h.push_str("<h2>业主</h2><table><tr><th>姓名</th><th>电话</th><th>自</th></tr>");
    for o in &f.owners {
        h.push_str(&format!(
            "<tr><td>{}</td><td>{}</td><td>{}</td></tr>",
            esc(&o.name),
            esc(&o.phone),
            o.since
        ));
    }
    h.push_str(
        "</table><h2>收费依据</h2><table><tr><th>项目</th><th>方式</th><th>单价</th><th>周期</th><th>缴费日</th></tr>",
    );
    for b in &f.fee_basis {
        h.push_str(&format!(
            "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            esc(&b.name),
            esc(&b.kind),
            esc(&b.unit_price),
            esc(&b.cycle),
            b.due_day
        ));
    }
    h.push_str("</table><h2>欠费明细</h2><table><tr><th>账期</th><th>项目</th><th>到期日</th><th>本金</th><th>已缴</th><th>违约金</th><th>应缴</th><th>违约金计算</th><th>时效届满</th></tr>");
    for b in &f.bills {
        let v = &b.bill;
        h.push_str(&format!(
            "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            esc(&v.period),
            esc(&v.fee_item),
            v.due_date,
            esc(&v.principal),
            esc(&v.paid),
            esc(&v.late_fee),
            esc(&v.amount_due),
            esc(&v.late_fee_explanation),
            b.limitation_ends
        ));
    }
    h.push_str(&format!("</table><p>合计应缴：{} 元</p>", esc(&f.total_due)));
    h.push_str(&format!(
        "<h2>证据记录</h2><p>链校验：{}（{} 条）</p><table><tr><th>序号</th><th>类型</th><th>阶段</th><th>渠道</th><th>时间</th><th>内容</th><th>结果</th><th>SHA-256</th></tr>",
        if f.evidence_verification.ok { "完整" } else { "异常" },
        f.evidence_verification.records
    ));
    for e in &f.evidence {
        h.push_str(&format!(
            "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td><pre>{}</pre></td><td><pre>{}</pre></td><td>{}</td></tr>",
            e.seq,
            esc(&e.kind),
            esc(e.stage.as_deref().unwrap_or("")),
            esc(&e.channel),
            esc(&e.at.to_rfc3339()),
            esc(&e.content),
            esc(&e.result),
            esc(&e.content_sha256)
        ));
    }
    h.push_str("</table><h2>催收任务与送达</h2><table><tr><th>任务</th><th>类型</th><th>阶段</th><th>状态</th><th>结果</th><th>送达方式</th><th>凭证</th></tr>");
    for t in &f.tasks {
        h.push_str(&format!(
            "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            t.id,
            esc(&t.kind),
            esc(t.stage.as_deref().unwrap_or("")),
            esc(&t.status),
            esc(t.outcome.as_deref().unwrap_or("")),
            esc(t.delivery.as_deref().unwrap_or("")),
            esc(t.proof_url.as_deref().or(t.mail_no.as_deref()).unwrap_or(""))
        ));
    }
    h.push_str("</table></body></html>");
    h
}
