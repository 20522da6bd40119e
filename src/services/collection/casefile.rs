//! Limitation periods (art. 188, restarted by a delivered demand under art. 195) and the case
//! file a lawyer takes to court: unit, owner, fee basis, bills with their late-fee arithmetic,
//! and every notice, contact and delivery proof from the evidence chain.
use crate::domain::role::Action;
use crate::domain::states::BillStatus;
use crate::domain::text::esc;
use crate::error::{ApiError, ApiResult};
use crate::services::access::staff::StaffCtx;
use crate::services::billing::bills::{self, BillView};
use crate::services::collection::evidence::{self, EvidenceView, Verification};
use crate::services::collection::tasks::TaskView;
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
    let today = state.today_in(tz);
    // Ends within the window ⇔ its start is on or before this day.
    let cutoff = (today + chrono::Duration::days(ALERT_DAYS))
        .checked_sub_months(Months::new(36))
        .unwrap_or(NaiveDate::MIN);
    let rows = bill::Entity::find()
        .filter(bill::Column::CommunityId.eq(q.community_id))
        .filter(bill::Column::Status.eq(BillStatus::Unpaid))
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
    /// The owner records this bill is claimed from (`domain::billing::ownership`, the rule the owner app
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
    /// The community's late-fee terms over time (the first, then each dated change).
    pub late_fee_terms: Vec<crate::services::setup::communities::LateFeeTermsView>,
    /// The community's zone: times in the printed file are local to it.
    pub timezone: String,
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
    let tz = state.zone_of(&c);
    let today = state.today_in(tz);
    let unpaid = bill::Entity::find()
        .filter(bill::Column::UnitId.eq(u.id))
        .filter(bill::Column::Status.eq(BillStatus::Unpaid))
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
    let unit_links: Vec<crate::domain::billing::ownership::Link> = links.iter().map(bills::link_of).collect();
    let bills = priced
        .into_iter()
        .map(|(b, view, _)| CaseBill {
            limitation_ends: limitation_ends(&b),
            owner_ids: unit_links
                .iter()
                .filter(|l| crate::domain::billing::ownership::owns(l, &unit_links, b.period_start))
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
    let view = crate::services::setup::communities::get_community(state, ctx, c.id).await?;
    Ok(CaseFile {
        late_fee_terms: view.late_fee_terms,
        timezone: c.timezone.clone(),
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

/// Chinese words for the codes a case file carries, so a judge reads no `per_area` or `open`.
pub fn label(code: &str) -> &str {
    match code {
        "per_area" => "按面积计费",
        "fixed" => "固定金额",
        "monthly" => "按月",
        "quarterly" => "按季",
        "yearly" => "按年",
        "reminder" => "催缴提醒",
        "payment" => "缴费",
        "refund" => "退款",
        "hold" => "暂缓催缴",
        "hold_end" => "结束暂缓",
        "call" => "电话联系",
        "visit" => "上门",
        "printed_notice" => "书面通知",
        "pre_due" => "到期前提醒",
        "overdue_friendly" => "逾期友情提醒",
        "overdue_formal" => "催告函",
        "final_notice" => "最终催告通知书",
        "sms" => "短信",
        "wechat" => "微信订阅消息",
        "staff" => "工作人员",
        "staff_task" => "转工作人员",
        "cash" => "现金",
        "pos" => "POS刷卡",
        "bank_transfer" => "银行转账",
        "alipay" => "支付宝",
        "sandbox" => "沙箱支付（演示）",
        "open" => "待办",
        "done" => "已完成",
        "in_person" => "当面送达",
        "registered_mail" => "挂号信",
        "credited" => "已入账",
        "unpaid" => "未缴",
        "paid" => "已缴清",
        "waived" => "已减免",
        "cancelled" => "已取消",
        "rescheduled" => "已转入分期",
        "ticket" => "工单",
        "ticket_opened" => "业主提交工单",
        "ticket_answered" => "智能客服即时答复",
        "ticket_owner_reply" => "业主回复",
        "ticket_staff_reply" => "物业回复",
        "ticket_resolved" => "工单已解决",
        "ticket_reopened" => "业主重新打开工单",
        "ticket_rated" => "业主评价",
        "ticket_merged" => "工单合并",
        "ticket_adjusted" => "争议账单经财务审批调整",
        "ticket_notice" => "工单进度通知",
        "app" => "小程序",
        other => other,
    }
}

/// Chinese names of the fields evidence records keep as JSON.
fn field_label(key: &str) -> &str {
    match key {
        "payment_id" => "支付记录号",
        "out_trade_no" => "商户订单号",
        "transaction_id" => "渠道交易号",
        "bills" => "所缴账单",
        "outcome" => "结果",
        "task_id" => "任务号",
        "delivery" => "送达方式",
        "proof_url" => "送达凭证",
        "mail_no" => "挂号信号",
        "notice" => "送达的通知书",
        "number" => "通知书号",
        "letter" => "通知内容",
        "rows" => "所列账单",
        "due" => "应缴合计",
        "limitation_restarted_for" => "诉讼时效中断的账单",
        "unit_id" => "房屋编号",
        "bill_id" => "账单编号",
        "hold_id" => "暂缓记录",
        "until" => "暂缓至",
        "reason" => "原因",
        "photos" => "照片",
        "ticket_id" => "工单号",
        "category" => "类别",
        "title" => "标题",
        "body" => "内容",
        "resolution" => "处理结果",
        "score" => "评分",
        "comment" => "评价",
        "into" => "合并至工单",
        "answer" => "答复",
        "adjustment" => "调整内容",
        "entry_id" => "账务流水号",
        "topic" => "问题类型",
        other => other,
    }
}

/// An evidence record's content as lines a person reads: JSON becomes "名称：值" lines.
pub fn readable(content: &str) -> String {
    fn value(v: &serde_json::Value, depth: usize) -> String {
        match v {
            serde_json::Value::Null => "（无）".into(),
            serde_json::Value::String(s) => label(s).to_string(),
            serde_json::Value::Array(a) if a.iter().all(|x| !x.is_object()) => {
                a.iter().map(|x| value(x, depth)).collect::<Vec<_>>().join("、")
            }
            // Photos by number and the hash of what is stored, so a print can be matched to the file.
            serde_json::Value::Array(a) if a.iter().all(|x| x.get("sha256").is_some()) => a
                .iter()
                .map(|x| {
                    format!(
                        "图片{}（SHA-256 {}）",
                        x["id"],
                        x["sha256"].as_str().unwrap_or_default()
                    )
                })
                .collect::<Vec<_>>()
                .join("、"),
            serde_json::Value::Array(a) => format!("{}项", a.len()),
            serde_json::Value::Object(o) => fields(o, depth + 1),
            other => other.to_string(),
        }
    }
    fn fields(o: &serde_json::Map<String, serde_json::Value>, depth: usize) -> String {
        o.iter()
            .filter(|(_, v)| !v.is_null())
            .map(|(k, v)| format!("\n{}{}：{}", "　".repeat(depth), field_label(k), value(v, depth)))
            .collect::<String>()
    }
    match serde_json::from_str::<serde_json::Value>(content) {
        Ok(serde_json::Value::Object(o)) => fields(&o, 0).trim_start().to_string(),
        _ => content.to_string(),
    }
}

/// A record's result in words: "credited" → 已入账, "by staff:3" → 经办：staff:3.
fn result_words(r: &str) -> String {
    match r.strip_prefix("by ") {
        Some(who) => format!("经办：{who}"),
        None => label(r).to_string(),
    }
}

/// The chain verification stated in words.
fn verification_words(v: &Verification) -> String {
    if v.ok {
        format!(
            "证据链完整：共{}条记录，每条记录的内容哈希与记录一致，且与前一条记录的链哈希相连，未发现修改、删除或顺序变动。",
            v.records
        )
    } else {
        format!(
            "证据链异常：自第{}条记录起与链不符（记录可能被修改、删除或调换顺序），共核对{}条记录。",
            v.first_bad_seq.map(|s| s.to_string()).unwrap_or_else(|| "?".into()),
            v.records
        )
    }
}

/// `GET /staff/units/{id}/case-file.html`: the same file as a printable A4 page: Chinese labels,
/// local times, readable records, the chain verification in words, full hashes in an appendix.
pub fn case_file_html(f: &CaseFile) -> String {
    let tz: chrono_tz::Tz = f.timezone.parse().unwrap_or(chrono_tz::Asia::Shanghai);
    let local = |t: DateTime<Utc>| t.with_timezone(&tz).format("%Y-%m-%d %H:%M").to_string();
    let short = |h: &str| format!("{}…", h.chars().take(12).collect::<String>());
    let mut h = String::new();
    h.push_str("<!doctype html><html lang=\"zh-CN\"><head><meta charset=\"utf-8\"><title>物业费纠纷案卷</title><style>\
        @page{size:A4 portrait;margin:15mm 12mm}\
        body{font-family:\"Noto Serif CJK SC\",\"Noto Sans CJK SC\",\"Source Han Serif SC\",\"SimSun\",\"Songti SC\",sans-serif;font-size:10pt;color:#000}\
        h1{font-size:16pt;text-align:center}h2{font-size:12pt;margin:5mm 0 2mm;break-after:avoid}\
        table{border-collapse:collapse;width:100%;table-layout:fixed;margin-bottom:3mm}\
        td,th{border:1px solid #555;padding:2px 3px;font-size:8.5pt;vertical-align:top;word-break:break-all;overflow-wrap:anywhere}\
        tr{break-inside:avoid}pre{white-space:pre-wrap;margin:0;font-family:inherit}.hash{font-family:\"Noto Sans Mono CJK SC\",monospace;font-size:7.5pt}\
        </style></head><body>");
    h.push_str(&format!(
        "<h1>物业费纠纷案卷</h1><p>生成时间：{}（{}）</p>",
        local(f.generated_at),
        esc(&f.timezone)
    ));
    h.push_str(&format!(
        "<h2>房屋</h2><p>{} {}（{} 栋，建筑面积 {} 平方米）</p>",
        esc(&f.unit.community),
        esc(&f.unit.code),
        esc(&f.unit.building),
        esc(&f.unit.area_m2)
    ));
    h.push_str("<h2>滞纳金约定</h2><table><thead><tr><th>生效日期</th><th>日利率</th><th>宽限天数</th><th>上限（占本金）</th></tr></thead><tbody>");
    for t in &f.late_fee_terms {
        h.push_str(&format!(
            "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            t.effective_from
                .map(|d| d.to_string())
                .unwrap_or_else(|| "最初约定".into()),
            esc(&t.daily_rate),
            t.grace_days,
            esc(&t.cap_ratio)
        ));
    }
    h.push_str("</tbody></table><h2>业主</h2><table><thead><tr><th>编号</th><th>姓名</th><th>电话</th><th>登记自</th></tr></thead><tbody>");
    for o in &f.owners {
        h.push_str(&format!(
            "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            o.id,
            esc(&o.name),
            esc(&o.phone),
            o.since
        ));
    }
    h.push_str(
        "</tbody></table><h2>收费依据</h2><table><thead><tr><th>收费项目</th><th>计费方式</th><th>单价</th><th>周期</th><th>缴费日</th></tr></thead><tbody>",
    );
    for b in &f.fee_basis {
        h.push_str(&format!(
            "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>每期第{}日</td></tr>",
            esc(&b.name),
            esc(label(&b.kind)),
            esc(&b.unit_price),
            esc(label(&b.cycle)),
            b.due_day
        ));
    }
    h.push_str("</tbody></table><h2>欠费明细</h2><table><colgroup><col style=\"width:8%\"><col style=\"width:10%\"><col style=\"width:10%\"><col style=\"width:8%\"><col style=\"width:7%\"><col style=\"width:7%\"><col style=\"width:8%\"><col style=\"width:8%\"><col style=\"width:24%\"><col style=\"width:10%\"></colgroup>\
        <thead><tr><th>账期</th><th>收费项目</th><th>到期日</th><th>本金</th><th>已缴</th><th>滞纳金</th><th>应缴</th><th>欠费业主</th><th>滞纳金计算</th><th>时效届满</th></tr></thead><tbody>");
    let owner_name = |id: &i32| {
        f.owners
            .iter()
            .find(|o| o.id == *id)
            .map(|o| o.name.clone())
            .unwrap_or_else(|| id.to_string())
    };
    for b in &f.bills {
        let v = &b.bill;
        h.push_str(&format!(
            "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            esc(&v.period),
            esc(&v.fee_item),
            v.due_date,
            esc(&v.principal),
            esc(&v.paid),
            esc(&v.late_fee),
            esc(&v.amount_due),
            esc(&b.owner_ids.iter().map(owner_name).collect::<Vec<_>>().join("、")),
            esc(&v.late_fee_explanation),
            b.limitation_ends
        ));
    }
    h.push_str(&format!(
        "</tbody></table><p>合计应缴（截至生成之日已到期的账单）：{} 元</p>",
        esc(&f.total_due)
    ));
    h.push_str(&format!(
        "<h2>证据记录</h2><p>{}</p><table><colgroup><col style=\"width:5%\"><col style=\"width:8%\"><col style=\"width:9%\"><col style=\"width:8%\"><col style=\"width:14%\"><col style=\"width:33%\"><col style=\"width:12%\"><col style=\"width:11%\"></colgroup>\
        <thead><tr><th>序号</th><th>类型</th><th>阶段</th><th>渠道</th><th>时间</th><th>内容</th><th>结果</th><th>内容哈希</th></tr></thead><tbody>",
        esc(&verification_words(&f.evidence_verification))
    ));
    for e in &f.evidence {
        h.push_str(&format!(
            "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td><pre>{}</pre></td><td><pre>{}</pre></td><td class=\"hash\">{}</td></tr>",
            e.seq,
            esc(label(&e.kind)),
            esc(e.stage.as_deref().map(label).unwrap_or("")),
            esc(label(&e.channel)),
            local(e.at),
            esc(&readable(&e.content)),
            esc(&result_words(&e.result)),
            esc(&short(&e.content_sha256))
        ));
    }
    h.push_str("</tbody></table><h2>催收任务与送达</h2><table><thead><tr><th>任务</th><th>类型</th><th>阶段</th><th>状态</th><th>结果</th><th>送达方式</th><th>凭证</th></tr></thead><tbody>");
    for t in &f.tasks {
        h.push_str(&format!(
            "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            t.id,
            esc(label(&t.kind)),
            esc(t.stage.as_deref().map(label).unwrap_or("")),
            esc(if t.suspended {
                "暂停（暂缓期间）"
            } else {
                label(&t.status)
            }),
            esc(t.outcome.as_deref().unwrap_or("")),
            esc(t.delivery.as_deref().map(label).unwrap_or("")),
            esc(t.proof_url.as_deref().or(t.mail_no.as_deref()).unwrap_or(""))
        ));
    }
    h.push_str("</tbody></table><h2>附录：证据哈希（完整值）</h2><table><colgroup><col style=\"width:8%\"><col style=\"width:46%\"><col style=\"width:46%\"></colgroup><thead><tr><th>序号</th><th>内容SHA-256</th><th>链哈希</th></tr></thead><tbody>");
    for e in &f.evidence {
        h.push_str(&format!(
            "<tr><td>{}</td><td class=\"hash\">{}</td><td class=\"hash\">{}</td></tr>",
            e.seq,
            esc(&e.content_sha256),
            esc(&e.chain_hash)
        ));
    }
    h.push_str("</tbody></table></body></html>");
    h
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn records_read_as_chinese_not_json() {
        let r = readable(
            r#"{"payment_id":7,"out_trade_no":"W1","bills":["2026-09 226.55"],"delivery":"in_person","proof_url":null}"#,
        );
        assert_eq!(
            r,
            "所缴账单：2026-09 226.55\n送达方式：当面送达\n商户订单号：W1\n支付记录号：7"
        );
        assert_eq!(readable("短信\n模板：1"), "短信\n模板：1");
        for code in [
            "per_area",
            "monthly",
            "staff_task",
            "open",
            "final_notice",
            "registered_mail",
        ] {
            assert!(
                label(code).chars().any(|c| ('\u{4e00}'..='\u{9fff}').contains(&c)),
                "{code}"
            );
        }
    }

    #[test]
    fn verification_is_stated_in_words() {
        let ok = verification_words(&Verification {
            ok: true,
            records: 3,
            first_bad_seq: None,
        });
        assert!(ok.starts_with("证据链完整：共3条记录"));
        let bad = verification_words(&Verification {
            ok: false,
            records: 3,
            first_bad_seq: Some(2),
        });
        assert!(bad.contains("自第2条记录起"));
    }
}
