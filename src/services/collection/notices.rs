//! Printed notices with an identity: each has a number, a mini-program code scene, and a snapshot of
//! the letter and the bills and amounts it states at the moment it was made — so a reprint is
//! identical, with a dated "due today" line when payments or refunds happened since. The owner the
//! notice is for opens it in the mini-program from its code (`GET /notices/{scene}`).
use crate::domain::money::sum_fen;
use crate::domain::states::BillStatus;
use crate::domain::suppression::Effect;
use crate::domain::text::esc;
use crate::domain::Fen;
use crate::error::{ApiError, ApiResult};
use crate::services::access::staff::StaffCtx;
use crate::services::billing::bills::{self, Amounts, BillView};
use crate::services::collection::suppressed;
use crate::state::AppState;
use chrono::{DateTime, NaiveDate, Utc};
use entity::{bill, community, notice, staff_task};
use sea_orm::sea_query::Expr;
use sea_orm::{ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder, Set};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// One bill as the notice states it. `principal + late_fee − paid = due`, always.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct NoticeRow {
    pub bill_id: i32,
    pub unit_code: String,
    pub fee_item: String,
    pub period: String,
    pub due_date: NaiveDate,
    pub principal: String,
    pub late_fee: String,
    pub paid: String,
    pub due: String,
}

/// What a notice states, frozen when it was made.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct NoticeSnapshot {
    pub stage: String,
    pub letter: String,
    pub owner_name: String,
    pub company: String,
    pub company_address: Option<String>,
    pub company_phone: Option<String>,
    pub community: String,
    pub made_on: NaiveDate,
    pub rows: Vec<NoticeRow>,
    pub principal: String,
    pub late_fee: String,
    pub paid: String,
    pub due: String,
}

impl NoticeSnapshot {
    /// The snapshot of `letter` and its bills, priced as of now.
    pub fn new(
        state: &AppState,
        stage: &str,
        letter: String,
        owner_name: &str,
        community: &str,
        made_on: NaiveDate,
        with: &[(bill::Model, BillView, Amounts)],
    ) -> ApiResult<NoticeSnapshot> {
        let paid_of = |b: &bill::Model| b.paid_principal_fen + b.late_fee_paid_fen;
        let rows = with
            .iter()
            .map(|(b, v, a)| NoticeRow {
                bill_id: b.id,
                unit_code: v.unit_code.clone(),
                fee_item: v.fee_item.clone(),
                period: v.period.clone(),
                due_date: b.due_date,
                principal: Fen(b.principal_fen).to_yuan_string(),
                late_fee: Fen(a.charged_late_fee).to_yuan_string(),
                paid: Fen(paid_of(b)).to_yuan_string(),
                due: Fen(a.due()).to_yuan_string(),
            })
            .collect();
        let r = &state.settings.reminders;
        Ok(NoticeSnapshot {
            stage: stage.into(),
            letter,
            owner_name: owner_name.into(),
            company: r.company_name.clone(),
            company_address: r.company_address.clone(),
            company_phone: r.company_phone.clone(),
            community: community.into(),
            made_on,
            rows,
            principal: Fen(sum_fen(with.iter().map(|(b, _, _)| b.principal_fen))?).to_yuan_string(),
            late_fee: Fen(sum_fen(with.iter().map(|(_, _, a)| a.charged_late_fee))?).to_yuan_string(),
            paid: Fen(sum_fen(with.iter().map(|(b, _, _)| paid_of(b)))?).to_yuan_string(),
            due: Fen(sum_fen(with.iter().map(|(_, _, a)| a.due()))?).to_yuan_string(),
        })
    }

    fn any_paid(&self) -> bool {
        self.rows.iter().any(|r| r.paid != "0.00")
    }
}

/// Makes the notice row for a printed-notice task (inside the reminder's transaction): number
/// `TZ<yyyymmdd><id>`, and a scene for its mini-program code (unguessable, ≤ 32 characters).
pub async fn create<C: ConnectionTrait>(
    db: &C,
    community_id: i32,
    unit_id: i32,
    owner_id: i32,
    reminder_id: i32,
    snapshot: &NoticeSnapshot,
    now: DateTime<Utc>,
) -> ApiResult<notice::Model> {
    let scene = crate::crypto::new_token()
        .map_err(ApiError::internal)?
        .chars()
        .filter(char::is_ascii_alphanumeric)
        .take(24)
        .collect::<String>();
    let json = serde_json::to_string(snapshot).map_err(ApiError::internal)?;
    let n = notice::ActiveModel {
        number: Set(format!("pending-{scene}")),
        scene: Set(scene),
        community_id: Set(community_id),
        unit_id: Set(unit_id),
        owner_id: Set(owner_id),
        reminder_id: Set(reminder_id),
        stage: Set(snapshot.stage.clone()),
        snapshot: Set(json),
        code_png: Set(None),
        created_at: Set(now),
        ..Default::default()
    }
    .insert(db)
    .await?;
    let number = format!("TZ{}{:06}", snapshot.made_on.format("%Y%m%d"), n.id);
    notice::Entity::update_many()
        .col_expr(notice::Column::Number, Expr::value(number.clone()))
        .filter(notice::Column::Id.eq(n.id))
        .exec(db)
        .await?;
    Ok(notice::Model { number, ..n })
}

pub fn snapshot_of(n: &notice::Model) -> ApiResult<NoticeSnapshot> {
    serde_json::from_str(&n.snapshot).map_err(ApiError::internal)
}

/// A notice by the number printed on it.
pub async fn by_number(state: &AppState, number: &str) -> ApiResult<notice::Model> {
    notice::Entity::find()
        .filter(notice::Column::Number.eq(number))
        .one(&state.db)
        .await?
        .ok_or(ApiError::NotFound)
}

/// The notice's bills as they stand now, priced for today, earliest due first.
pub async fn bills_now(state: &AppState, s: &NoticeSnapshot) -> ApiResult<Vec<(bill::Model, BillView, Amounts)>> {
    let ids: Vec<i32> = s.rows.iter().map(|r| r.bill_id).collect();
    let current = bill::Entity::find()
        .filter(bill::Column::Id.is_in(ids))
        .order_by_asc(bill::Column::DueDate)
        .all(&state.db)
        .await?;
    bills::with_amounts(state, current).await
}

/// The amount the notice's bills come to today, when payments or refunds changed it since.
async fn due_today(state: &AppState, s: &NoticeSnapshot) -> ApiResult<Option<(NaiveDate, String)>> {
    let priced = bills_now(state, s).await?;
    let paid_now = sum_fen(
        priced
            .iter()
            .map(|(b, _, _)| b.paid_principal_fen + b.late_fee_paid_fen),
    )?;
    if Fen(paid_now).to_yuan_string() == s.paid {
        return Ok(None);
    }
    let due = sum_fen(priced.iter().map(|(_, _, a)| a.due()))?;
    Ok(Some((state.today(), Fen(due).to_yuan_string())))
}

/// Where the paper's code leads: the stored mini-program code, else `reminders.pay_url`.
fn code_block(state: &AppState, n: &notice::Model) -> String {
    if let Some(png) = &n.code_png {
        return format!(
            "<img alt=\"小程序码\" width=\"160\" height=\"160\" src=\"data:image/png;base64,{}\"><br>微信扫码查看并缴费",
            esc(png)
        );
    }
    // No code and no page the company runs: print no code rather than one that leads nowhere.
    let Some(url) = state
        .settings
        .reminders
        .pay_url
        .as_ref()
        .filter(|u| !u.is_empty())
        .map(|u| {
            u.replace("{notice}", &n.number)
                .replace("{unit}", &n.unit_id.to_string())
        })
    else {
        return format!(
            "请在微信小程序“物业缴费”内缴费，或到物业服务中心缴费<br>（通知书号 {}）",
            esc(&n.number)
        );
    };
    let svg = qrcode::QrCode::new(url.as_bytes())
        .map(|c| {
            c.render::<qrcode::render::svg::Color>()
                .min_dimensions(160, 160)
                .build()
        })
        .unwrap_or_default();
    format!("{svg}<br>扫码缴费（通知书号 {}）", esc(&n.number))
}

/// The printable notice: its letter and table from the snapshot, company contacts, a seal space,
/// the code, a "due today" line if anything changed since, and a delivery receipt.
pub async fn render_html(state: &AppState, n: &notice::Model) -> ApiResult<String> {
    let s = snapshot_of(n)?;
    let paid_col = s.any_paid();
    let mut h = String::from(
        "<!doctype html><html lang=\"zh-CN\"><head><meta charset=\"utf-8\"><title>催缴通知书</title><style>\
         @page{size:A4 portrait;margin:18mm 16mm}\
         body{font-family:\"Noto Serif CJK SC\",\"Noto Sans CJK SC\",\"Source Han Serif SC\",\"SimSun\",\"Songti SC\",sans-serif;font-size:11pt;color:#000}\
         pre{white-space:pre-wrap;font-family:inherit;font-size:11.5pt;line-height:1.7}\
         table{border-collapse:collapse;width:100%;table-layout:fixed}td,th{border:1px solid #555;padding:3px 4px;word-break:break-all}\
         td.n,th.n{text-align:right}.qr{float:right;margin-left:1em;text-align:center;font-size:9pt}\
         .meta{display:flex;justify-content:space-between;font-size:10pt}.seal{margin-top:10mm;display:flex;justify-content:space-between}</style></head><body>",
    );
    h.push_str(&format!(
        "<div class=\"meta\"><span>通知书号：{}</span><span>{}</span></div>",
        esc(&n.number),
        esc(&s.community)
    ));
    h.push_str(&format!(
        "<div class=\"qr\">{}</div><pre>{}</pre>",
        code_block(state, n),
        esc(&s.letter)
    ));
    h.push_str("<h3>欠费明细</h3><table><thead><tr><th>房屋</th><th>收费项目</th><th>账期</th><th>到期日</th><th class=n>本金</th><th class=n>滞纳金</th>");
    if paid_col {
        h.push_str("<th class=n>已缴</th>");
    }
    h.push_str("<th class=n>应缴</th></tr></thead><tbody>");
    for r in &s.rows {
        h.push_str(&format!(
            "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td class=n>{}</td><td class=n>{}</td>",
            esc(&r.unit_code),
            esc(&r.fee_item),
            esc(&r.period),
            r.due_date,
            r.principal,
            r.late_fee
        ));
        if paid_col {
            h.push_str(&format!("<td class=n>{}</td>", r.paid));
        }
        h.push_str(&format!("<td class=n>{}</td></tr>", r.due));
    }
    h.push_str(&format!(
        "</tbody><tfoot><tr><td colspan=\"4\">合计（截至{}）</td><td class=n>{}</td><td class=n>{}</td>{}<td class=n>{}</td></tr></tfoot></table>",
        s.made_on,
        s.principal,
        s.late_fee,
        if paid_col {
            format!("<td class=n>{}</td>", s.paid)
        } else {
            String::new()
        },
        s.due
    ));
    if let Some((day, due)) = due_today(state, &s).await? {
        h.push_str(&format!(
            "<p><strong>截至{day}，因其后已有缴款或退款，上列账单尚需缴纳 {due} 元，以此为准。</strong></p>"
        ));
    }
    h.push_str("<p>依据：物业服务合同；《中华人民共和国民法典》第九百四十四条。</p>");
    let contact: Vec<String> = [
        Some(s.company.clone()),
        s.company_address.clone().map(|a| format!("地址：{a}")),
        s.company_phone.clone().map(|p| format!("电话：{p}")),
    ]
    .into_iter()
    .flatten()
    .map(|x| esc(&x))
    .collect();
    h.push_str(&format!("<p>{}</p>", contact.join("　")));
    h.push_str(
        "<div class=\"seal\"><span>（盖章处）</span><span>日期：</span></div>\
         <h3>送达回执</h3><p>受送达人签收：__________　送达人：__________　送达方式：□当面 □挂号信　日期：__________</p></body></html>",
    );
    Ok(h)
}

/// `GET /staff/tasks/{id}/notice.html`: the printed notice of a printed-notice task; 409 while a
/// hold covers its unit or bills (follow-up waits for the hold).
pub async fn task_notice_html(state: &AppState, ctx: &StaffCtx, task_id: i32) -> ApiResult<String> {
    ctx.require(crate::domain::role::Action::ReadSetup)?;
    let t = staff_task::Entity::find_by_id(task_id)
        .one(&state.db)
        .await?
        .filter(|t| t.kind == "printed_notice" && ctx.sees(t.community_id))
        .ok_or(ApiError::NotFound)?;
    let n = match t.notice_id {
        Some(id) => notice::Entity::find_by_id(id).one(&state.db).await?,
        None => None,
    }
    .ok_or(ApiError::NotFound)?;
    let s = snapshot_of(&n)?;
    let ids: Vec<i32> = s.rows.iter().map(|r| r.bill_id).collect();
    let tz = state.community_tz(t.community_id).await?;
    let today = state.today_in(tz);
    if suppressed::stops(&state.db, Effect::PrintedNotices, t.unit_id, &ids, today).await? {
        return Err(ApiError::Conflict(
            "HELD",
            "该房屋或账单处于暂缓催缴期间，暂不打印催缴通知".into(),
        ));
    }
    ensure_code(state, &n).await;
    let n = notice::Entity::find_by_id(n.id)
        .one(&state.db)
        .await?
        .ok_or(ApiError::NotFound)?;
    render_html(state, &n).await
}

/// Makes the notice's mini-program code once (WeChat `getwxacodeunlimit`, scene = the notice's
/// scene) and stores it; without WeChat, or if WeChat refuses, the page falls back to
/// `reminders.pay_url`.
async fn ensure_code(state: &AppState, n: &notice::Model) {
    if n.code_png.is_some() || !state.wechat.configured() {
        return;
    }
    match state.wechat.mini_program_code(&n.scene, "pages/notice/index").await {
        Ok(png) => {
            use base64::{engine::general_purpose::STANDARD, Engine};
            let stored = notice::Entity::update_many()
                .col_expr(notice::Column::CodePng, Expr::value(STANDARD.encode(png)))
                .filter(notice::Column::Id.eq(n.id))
                .filter(notice::Column::CodePng.is_null())
                .exec(&state.db)
                .await;
            if let Err(e) = stored {
                tracing::warn!(error = %e, notice_id = n.id, "could not store the notice's code");
            }
        }
        Err(e) => tracing::warn!(error = %e, notice_id = n.id, "mini-program code not made; the page uses pay_url"),
    }
}

/// `GET /notices/{scene}` answer: what the paper says, and what is due today.
#[derive(Debug, Serialize, ToSchema)]
pub struct OwnerNotice {
    pub number: String,
    pub community: String,
    pub made_on: NaiveDate,
    pub rows: Vec<NoticeRow>,
    /// Due on the notice's date.
    pub due_then: String,
    /// Due today for the same bills (after payments or refunds since).
    pub due_today: String,
    /// The bills still open, to pay with `POST /payments`.
    pub payable_bill_ids: Vec<i32>,
    /// `wechat` in the mini-program (and `alipay` where the counter shows a QR).
    pub pay_channels: Vec<String>,
}

/// `GET /notices/{scene}`: the notice a paper's code opened, for an owner of its bills only (404
/// for anyone else, so a code found on a doorstep reveals nothing).
pub async fn for_owner(state: &AppState, account_id: i32, scene: &str) -> ApiResult<OwnerNotice> {
    if scene.is_empty() || scene.len() > 32 || !scene.chars().all(|c| c.is_ascii_alphanumeric()) {
        return Err(ApiError::NotFound);
    }
    let n = notice::Entity::find()
        .filter(notice::Column::Scene.eq(scene))
        .one(&state.db)
        .await?
        .ok_or(ApiError::NotFound)?;
    let s = snapshot_of(&n)?;
    let visible: std::collections::BTreeSet<i32> = crate::services::billing::owner::owner_visible(state, account_id)
        .await?
        .iter()
        .map(|b| b.id)
        .collect();
    if !s.rows.iter().any(|r| visible.contains(&r.bill_id)) {
        return Err(ApiError::NotFound);
    }
    let ids: Vec<i32> = s.rows.iter().map(|r| r.bill_id).collect();
    let current = bill::Entity::find()
        .filter(bill::Column::Id.is_in(ids))
        .all(&state.db)
        .await?;
    let priced = bills::with_amounts(state, current).await?;
    let due_today = sum_fen(priced.iter().map(|(_, _, a)| a.due()))?;
    let payable_bill_ids = priced
        .iter()
        .filter(|(b, _, a)| b.status == BillStatus::Unpaid && a.due() > 0 && visible.contains(&b.id))
        .map(|(b, _, _)| b.id)
        .collect();
    let name = community::Entity::find_by_id(n.community_id)
        .one(&state.db)
        .await?
        .map(|c| c.name)
        .unwrap_or_default();
    let mut pay_channels = Vec::new();
    if state.wechatpay.is_some() {
        pay_channels.push("wechat".to_string());
    }
    if state.alipay.is_some() {
        pay_channels.push("alipay".to_string());
    }
    Ok(OwnerNotice {
        number: n.number,
        community: name,
        made_on: s.made_on,
        rows: s.rows,
        due_then: s.due,
        due_today: Fen(due_today).to_yuan_string(),
        payable_bill_ids,
        pay_channels,
    })
}

/// Links a printed-notice task to its notice.
pub async fn attach<C: ConnectionTrait>(db: &C, reminder_id: i32, unit_id: i32, notice_id: i32) -> ApiResult<()> {
    staff_task::Entity::update_many()
        .col_expr(staff_task::Column::NoticeId, Expr::value(notice_id))
        .filter(staff_task::Column::ReminderId.eq(reminder_id))
        .filter(staff_task::Column::UnitId.eq(unit_id))
        .filter(staff_task::Column::Kind.eq("printed_notice"))
        .exec(db)
        .await?;
    Ok(())
}
