//! The public arrears notice (欠费公示), as the law and decency allow it: masked unit codes (the last
//! two characters hidden) and amounts of arrears due more than `arrears_notice.min_days` ago —
//! never a name or a phone — and no unit that a clause keeps off the public notice (a dispute, an
//! installment request or a plan in force, a hardship case: `Effect::PublicNotice`). Staff may
//! preview it; it is printed only where an admin has recorded the community's legal review, and
//! every print is recorded with what it said.
use crate::crypto::sha256_hex;
use crate::domain::role::Action;
use crate::domain::suppression::{self, Effect};
use crate::domain::text::{esc, mask_code};
use crate::domain::Fen;
use crate::error::{ApiError, ApiResult};
use crate::services::access::staff::StaffCtx;
use crate::services::audit;
use crate::services::billing::bills;
use crate::state::AppState;
use chrono::{DateTime, NaiveDate, Utc};
use entity::{arrears_notice_print as print, arrears_notice_review as review, bill, community, unit};
use sea_orm::sea_query::OnConflict;
use sea_orm::{ColumnTrait, EntityTrait, FromQueryResult, QueryFilter, Set};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet};
use utoipa::{IntoParams, ToSchema};

/// `GET /staff/reports/arrears-notice` query.
#[derive(Debug, Deserialize, IntoParams)]
pub struct NoticeQuery {
    pub community_id: i32,
}

/// One line of the notice: a masked unit code and what it owes.
#[derive(Debug, Serialize, ToSchema, PartialEq, Eq)]
pub struct NoticeLine {
    /// The unit code with its last two characters hidden, e.g. `A-3-12**`.
    pub unit: String,
    /// Arrears (principal and late fee) of bills due more than `min_days` ago, yuan.
    pub amount: String,
}

/// The legal review that lets the notice be printed.
#[derive(Debug, Serialize, ToSchema)]
pub struct ReviewView {
    pub reviewed_by: String,
    pub reviewed_at: DateTime<Utc>,
    pub note: String,
}

/// The notice as it stands today.
#[derive(Debug, Serialize, ToSchema)]
pub struct ArrearsNotice {
    pub community_id: i32,
    pub community: String,
    pub as_of: NaiveDate,
    pub min_days: i64,
    pub lines: Vec<NoticeLine>,
    /// Sum of the lines, yuan.
    pub total: String,
    /// None: not reviewed, so it cannot be printed.
    pub review: Option<ReviewView>,
}

/// `PUT /staff/communities/{id}/arrears-notice-review` body.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ReviewBody {
    /// What was reviewed and by whom (e.g. the lawyer's opinion reference).
    #[schema(
        pattern = r#"^[^\u0000-\u001F\u007F-\u009F]*[^\s\u0000-\u001F\u007F-\u009F][^\u0000-\u001F\u007F-\u009F]*$"#,
        min_length = 1,
        max_length = 200
    )]
    pub note: String,
}

#[derive(Debug, FromQueryResult)]
struct Protected {
    unit_id: i32,
}

/// The notice of a community today (collection-report readers: admins, finance, collectors).
pub async fn notice(state: &AppState, ctx: &StaffCtx, q: NoticeQuery) -> ApiResult<ArrearsNotice> {
    ctx.require(Action::ReadReports)?;
    crate::services::setup::community_in_scope(state, ctx, q.community_id).await?;
    let c = community::Entity::find_by_id(q.community_id)
        .one(&state.db)
        .await?
        .ok_or(ApiError::NotFound)?;
    let today = state.today_in(state.zone_of(&c));
    let min_days = state.settings.arrears_notice.min_days;
    let before = today - chrono::Duration::days(min_days);
    // Units a clause keeps off the public notice, by the clauses' SQL form.
    let protected: BTreeSet<i32> = Protected::find_by_statement(crate::db::positional(
        &state.db,
        &format!(
            "SELECT DISTINCT b.unit_id FROM bills b WHERE b.community_id = $1 AND b.status = 'unpaid' AND {}",
            suppression::sql(Effect::PublicNotice, "$2")
        ),
        vec![c.id.into(), today.into()],
    ))
    .all(&state.db)
    .await?
    .into_iter()
    .map(|p| p.unit_id)
    .collect();
    let old = bill::Entity::find()
        .filter(bill::Column::CommunityId.eq(c.id))
        .filter(bill::Column::Status.eq(crate::domain::states::BillStatus::Unpaid))
        .filter(bill::Column::DueDate.lt(before))
        .all(&state.db)
        .await?
        .into_iter()
        .filter(|b| !protected.contains(&b.unit_id))
        .collect();
    let mut owed: BTreeMap<i32, i64> = BTreeMap::new();
    for (b, _, a) in bills::with_amounts(state, old).await? {
        if a.due() > 0 {
            *owed.entry(b.unit_id).or_default() += a.due();
        }
    }
    let codes: BTreeMap<i32, String> = unit::Entity::find()
        .filter(unit::Column::Id.is_in(owed.keys().copied()))
        .all(&state.db)
        .await?
        .into_iter()
        .map(|u| (u.id, u.code))
        .collect();
    let mut rows: Vec<(String, i64)> = owed
        .iter()
        .map(|(u, fen)| (codes.get(u).cloned().unwrap_or_default(), *fen))
        .collect();
    // In code order, then masked: the order says nothing the mask hides.
    rows.sort();
    let total: i64 = rows.iter().map(|(_, f)| f).sum();
    let review = review::Entity::find_by_id(c.id)
        .one(&state.db)
        .await?
        .map(|r| ReviewView {
            reviewed_by: r.reviewed_by,
            reviewed_at: r.reviewed_at,
            note: r.note,
        });
    Ok(ArrearsNotice {
        community_id: c.id,
        community: c.name,
        as_of: today,
        min_days,
        lines: rows
            .into_iter()
            .map(|(code, fen)| NoticeLine {
                unit: mask_code(&code),
                amount: Fen(fen).to_yuan_string(),
            })
            .collect(),
        total: Fen(total).to_yuan_string(),
        review,
    })
}

/// The notice as a printable page, only where reviewed (409 `NOTICE_NOT_REVIEWED`); the print is
/// recorded (who, when, units, total, SHA-256 of the page) and audited.
pub async fn print_html(state: &AppState, ctx: &StaffCtx, q: NoticeQuery) -> ApiResult<String> {
    let n = notice(state, ctx, q).await?;
    if n.review.is_none() {
        return Err(ApiError::Conflict(
            "NOTICE_NOT_REVIEWED",
            "欠费公示须经管理员确认法律审核后才能打印".into(),
        ));
    }
    let page = html(&n);
    let now = state.clock.now();
    let txn = crate::db::begin_write(&state.db).await?;
    let row = print::ActiveModel {
        community_id: Set(n.community_id),
        printed_by: Set(ctx.actor()),
        printed_at: Set(now),
        units: Set(i32::try_from(n.lines.len()).unwrap_or(i32::MAX)),
        total_fen: Set(Fen::parse(&n.total).map(|f| f.0).unwrap_or_default()),
        content_sha256: Set(sha256_hex(page.as_bytes())),
        ..Default::default()
    };
    print::Entity::insert(row).exec_without_returning(&txn).await?;
    audit::record(
        &txn,
        &ctx.actor(),
        "arrears_notice.print",
        "community",
        n.community_id,
        serde_json::json!({"units": n.lines.len(), "total": n.total, "as_of": n.as_of}),
        now,
    )
    .await?;
    txn.commit().await?;
    Ok(page)
}

fn html(n: &ArrearsNotice) -> String {
    let rows: String = n
        .lines
        .iter()
        .map(|l| {
            format!(
                "<tr><td>{}</td><td class=\"num\">{}</td></tr>",
                esc(&l.unit),
                esc(&l.amount)
            )
        })
        .collect();
    format!(
        "<!doctype html><html lang=\"zh-CN\"><head><meta charset=\"utf-8\"><title>物业费欠费公示</title><style>\
         @page{{size:A4 portrait;margin:18mm 15mm}}\
         body{{font-family:\"Noto Serif CJK SC\",\"Noto Sans CJK SC\",\"Source Han Serif SC\",\"SimSun\",sans-serif;font-size:11pt;color:#000}}\
         h1{{font-size:18pt;text-align:center}}table{{border-collapse:collapse;width:70%;margin:4mm auto}}\
         td,th{{border:1px solid #555;padding:3px 8px}}.num{{text-align:right}}p{{line-height:1.8}}\
         </style></head><body><h1>物业费欠费公示</h1>\
         <p>根据物业服务合同，现将{}截至{}欠缴物业服务费超过{}日的房屋公示如下（房号已部分隐去，不含业主姓名及联系方式）。\
         正在处理的账单异议、分期缴费申请或协议，以及审核中或在期限内的困难减免，不在公示之列。</p>\
         <table><thead><tr><th>房号</th><th>欠费金额（元）</th></tr></thead><tbody>{rows}</tbody>\
         <tfoot><tr><th>合计</th><th class=\"num\">{}</th></tr></tfoot></table>\
         <p>请相关业主尽快通过“物业缴费”小程序或到物业服务中心缴纳。如对账单有疑问，或确有经济困难，请在小程序中提出异议或申请分期、困难减免，我们将尽快联系您。</p>\
         </body></html>",
        esc(&n.community),
        n.as_of,
        n.min_days,
        esc(&n.total)
    )
}

/// `PUT /staff/communities/{id}/arrears-notice-review`: an admin records that the community's
/// notice was legally reviewed, with a note; audited.
pub async fn set_review(
    state: &AppState,
    ctx: &StaffCtx,
    community_id: i32,
    body: ReviewBody,
) -> ApiResult<ReviewView> {
    ctx.require(Action::ManageCommunities)?;
    crate::services::setup::community_in_scope(state, ctx, community_id).await?;
    let note =
        crate::domain::text::name(&body.note, 200).map_err(|m| ApiError::field("note", format!("审核说明{m}")))?;
    let now = state.clock.now();
    let txn = crate::db::begin_write(&state.db).await?;
    review::Entity::insert(review::ActiveModel {
        community_id: Set(community_id),
        reviewed_by: Set(ctx.actor()),
        reviewed_at: Set(now),
        note: Set(note.clone()),
    })
    .on_conflict(
        OnConflict::column(review::Column::CommunityId)
            .update_columns([
                review::Column::ReviewedBy,
                review::Column::ReviewedAt,
                review::Column::Note,
            ])
            .to_owned(),
    )
    .exec_without_returning(&txn)
    .await?;
    audit::record(
        &txn,
        &ctx.actor(),
        "arrears_notice.review",
        "community",
        community_id,
        serde_json::json!({"note": note}),
        now,
    )
    .await?;
    txn.commit().await?;
    Ok(ReviewView {
        reviewed_by: ctx.actor(),
        reviewed_at: now,
        note,
    })
}

/// `DELETE /staff/communities/{id}/arrears-notice-review`: an admin withdraws the review (nothing
/// can be printed until it is given again); audited. 404 when there is none.
pub async fn withdraw_review(state: &AppState, ctx: &StaffCtx, community_id: i32) -> ApiResult<()> {
    ctx.require(Action::ManageCommunities)?;
    crate::services::setup::community_in_scope(state, ctx, community_id).await?;
    let now = state.clock.now();
    let txn = crate::db::begin_write(&state.db).await?;
    let gone = review::Entity::delete_by_id(community_id).exec(&txn).await?;
    if gone.rows_affected == 0 {
        txn.rollback().await?;
        return Err(ApiError::NotFound);
    }
    audit::record(
        &txn,
        &ctx.actor(),
        "arrears_notice.review_withdrawn",
        "community",
        community_id,
        serde_json::json!({}),
        now,
    )
    .await?;
    txn.commit().await?;
    Ok(())
}
