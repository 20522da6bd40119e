//! Staff collection holds (暂缓催缴) on bills or whole units until a date, ended early with a
//! reason; each is evidence and a suppression clause.
use crate::domain::role::Action;
use crate::domain::text;
use crate::error::{ApiError, ApiResult, FieldErrors};
use crate::services::access::staff::StaffCtx;
use crate::services::collection::evidence::{self, NewEvidence};
use crate::services::setup::{page_of, Page, PageQuery};
use crate::state::AppState;
use chrono::{DateTime, Duration, NaiveDate, Utc};
use entity::{bill, collection_hold, unit};
use sea_orm::sea_query::Expr;
use sea_orm::{ActiveModelTrait, ColumnTrait, EntityTrait, QueryFilter, QueryOrder, Set};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// The unit a request body names: one outside the caller's scope is as unknown as a missing one,
/// and either is a field error (422), not a 404 of the resource.
pub(super) async fn named_unit(state: &AppState, ctx: &StaffCtx, unit_id: i32) -> ApiResult<unit::Model> {
    match crate::services::setup::unit_in_scope(state, ctx, unit_id).await {
        Err(ApiError::NotFound) => Err(ApiError::field("unit_id", "房屋不存在")),
        other => other,
    }
}

/// `POST /staff/holds`: either `bill_ids` or `unit_id`.
#[derive(Debug, Deserialize, ToSchema)]
pub struct NewHold {
    #[schema(min_items = 1, max_items = 500)]
    pub bill_ids: Option<Vec<i32>>,
    pub unit_id: Option<i32>,
    #[schema(
        pattern = r#"^[^\u0000-\u001F\u007F-\u009F]*[^\s\u0000-\u001F\u007F-\u009F][^\u0000-\u001F\u007F-\u009F]*$"#,
        min_length = 1,
        max_length = 200
    )]
    pub reason: String,
    /// Last day of the hold (community date), inclusive.
    #[schema(pattern = r#"^(19[7-9][0-9]|20[0-9]{2}|2100)-(0[1-9]|1[0-2])-(0[1-9]|[12][0-9]|3[01])$"#, format = Date)]
    pub until: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct HoldView {
    pub id: i32,
    pub community_id: i32,
    pub unit_id: Option<i32>,
    pub bill_id: Option<i32>,
    pub reason: String,
    pub until: NaiveDate,
    pub created_by: String,
    pub created_at: DateTime<Utc>,
    /// When staff ended it before `until`, by whom and why.
    pub ended_at: Option<DateTime<Utc>>,
    pub ended_by: Option<String>,
    pub end_reason: Option<String>,
}

impl From<collection_hold::Model> for HoldView {
    fn from(h: collection_hold::Model) -> Self {
        HoldView {
            id: h.id,
            community_id: h.community_id,
            unit_id: h.unit_id,
            bill_id: h.bill_id,
            reason: h.reason,
            until: h.until,
            created_by: h.created_by,
            created_at: h.created_at,
            ended_at: h.ended_at,
            ended_by: h.ended_by,
            end_reason: h.end_reason,
        }
    }
}

/// Holds bills (or a whole unit) out of reminders until a date; audited and kept as evidence.
pub async fn create_hold(state: &AppState, ctx: &StaffCtx, body: NewHold) -> ApiResult<Vec<HoldView>> {
    let auth = ctx.authorize(state, Action::ManageCollection)?;
    let mut errors = FieldErrors::new();
    let reason = text::name(&body.reason, 200)
        .map_err(|m| errors.insert("reason".into(), m))
        .ok();
    let until = crate::services::setup::parse_date("until", &body.until, &mut errors);
    let today = state.today();
    if let Some(u) = until {
        if u < today || u > today + Duration::days(366) {
            errors.insert("until".into(), "须在今天到一年之内".into());
        }
    }
    let targets = match (&body.bill_ids, body.unit_id) {
        (Some(ids), None) if !ids.is_empty() && ids.len() <= 500 => Some(Err(ids.clone())),
        (None, Some(u)) => Some(Ok(u)),
        _ => {
            errors.insert(
                "bill_ids".into(),
                "须给出 bill_ids（1 到 500 个）或 unit_id 之一".into(),
            );
            None
        }
    };
    ApiError::check(errors)?;
    let (Some(reason), Some(until), Some(targets)) = (reason, until, targets) else {
        return Err(ApiError::internal(anyhow::anyhow!("validated hold lacks a field")));
    };
    // (community, unit, bill) per hold row, every one in the staff member's scope.
    let rows: Vec<(i32, i32, Option<i32>)> = match targets {
        Ok(unit_id) => {
            let u = named_unit(state, ctx, unit_id).await?;
            vec![(u.community_id, u.id, None)]
        }
        Err(mut ids) => {
            ids.sort_unstable();
            ids.dedup();
            let found = bill::Entity::find()
                .filter(bill::Column::Id.is_in(ids.clone()))
                .all(&state.db)
                .await?;
            if found.len() != ids.len() || found.iter().any(|b| !ctx.sees(b.community_id)) {
                return Err(ApiError::field("bill_ids", "有账单不存在"));
            }
            found.iter().map(|b| (b.community_id, b.unit_id, Some(b.id))).collect()
        }
    };
    let cmd = auth.begin().await?;
    let (now, txn) = (cmd.now, cmd.txn());
    let mut out = Vec::new();
    // A unit-wide hold has no bill: it covers the unit's bills created later too.
    for (community_id, unit_id, bill_id) in rows {
        let h = collection_hold::ActiveModel {
            community_id: Set(community_id),
            unit_id: Set(Some(unit_id)),
            bill_id: Set(bill_id),
            reason: Set(reason.clone()),
            until: Set(until),
            created_by: Set(ctx.actor()),
            created_at: Set(now),
            ..Default::default()
        }
        .insert(txn)
        .await?;
        let detail = serde_json::json!({"unit_id": unit_id, "bill_id": bill_id, "until": until, "reason": reason});
        cmd.audit("hold.create", "collection_hold", h.id, detail.clone())
            .await?;
        let rec = NewEvidence {
            kind: "hold",
            stage: None,
            channel: "staff".into(),
            content: detail.to_string(),
            result: format!("by {}", ctx.actor()),
        };
        evidence::append(txn, unit_id, now, rec).await?;
        out.push(HoldView::from(h));
    }
    cmd.commit().await?;
    Ok(out)
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
pub struct HoldQuery {
    pub community_id: Option<i32>,
    /// One unit's holds (whole-unit and bill holds).
    pub unit_id: Option<i32>,
    #[param(minimum = 1, maximum = 10000)]
    pub page: Option<u64>,
    #[param(minimum = 1, maximum = 200)]
    pub per_page: Option<u64>,
}

/// `GET /staff/holds`: holds in force today, a page at a time.
pub async fn list_holds(state: &AppState, ctx: &StaffCtx, q: HoldQuery) -> ApiResult<Page<HoldView>> {
    let page = PageQuery {
        page: q.page,
        per_page: q.per_page,
    };
    page.bounds()?;
    ctx.require(Action::ReadSetup)?;
    let mut find = collection_hold::Entity::find()
        .filter(collection_hold::Column::Until.gte(state.today()))
        .filter(collection_hold::Column::EndedAt.is_null());
    if let Some(c) = q.community_id {
        ctx.require_community(c)?;
        find = find.filter(collection_hold::Column::CommunityId.eq(c));
    }
    if let Some(u) = q.unit_id {
        find = find.filter(collection_hold::Column::UnitId.eq(u));
    }
    let holds = find
        .order_by_asc(collection_hold::Column::Id)
        .all(&state.db)
        .await?
        .into_iter()
        .filter(|h| ctx.sees(h.community_id))
        .map(HoldView::from)
        .collect();
    page_of(holds, &page)
}

/// `DELETE /staff/holds/{id}` body.
#[derive(Debug, Deserialize, ToSchema)]
pub struct EndHold {
    #[schema(
        pattern = r#"^[^\u0000-\u001F\u007F-\u009F]*[^\s\u0000-\u001F\u007F-\u009F][^\u0000-\u001F\u007F-\u009F]*$"#,
        min_length = 1,
        max_length = 200
    )]
    pub reason: String,
}

/// Ends a hold before its date (reason required; audited, appended to evidence): reminders and the
/// follow-up tasks it suspended resume. Ending it twice is 409.
pub async fn end_hold(state: &AppState, ctx: &StaffCtx, id: i32, body: EndHold) -> ApiResult<HoldView> {
    let auth = ctx.authorize(state, Action::ManageCollection)?;
    let reason = text::name(&body.reason, 200).map_err(|m| ApiError::field("reason", m))?;
    let h = collection_hold::Entity::find_by_id(id)
        .one(&state.db)
        .await?
        .filter(|h| ctx.sees(h.community_id))
        .ok_or(ApiError::NotFound)?;
    let cmd = auth.begin().await?;
    let (now, txn) = (cmd.now, cmd.txn());
    let ended = collection_hold::Entity::update_many()
        .col_expr(collection_hold::Column::EndedAt, Expr::value(now))
        .col_expr(collection_hold::Column::EndedBy, Expr::value(ctx.actor()))
        .col_expr(collection_hold::Column::EndReason, Expr::value(reason.clone()))
        .filter(collection_hold::Column::Id.eq(id))
        .filter(collection_hold::Column::EndedAt.is_null())
        .exec(txn)
        .await?;
    if ended.rows_affected != 1 {
        return Err(ApiError::Conflict("HOLD_ENDED", "该暂缓已结束".into()));
    }
    let detail = serde_json::json!({"hold_id": id, "unit_id": h.unit_id, "bill_id": h.bill_id, "reason": reason});
    cmd.audit("hold.end", "collection_hold", id, detail.clone()).await?;
    if let Some(unit_id) = h.unit_id {
        let rec = NewEvidence {
            kind: "hold_end",
            stage: None,
            channel: "staff".into(),
            content: detail.to_string(),
            result: format!("by {}", ctx.actor()),
        };
        evidence::append(txn, unit_id, now, rec).await?;
    }
    cmd.commit().await?;
    let h = collection_hold::Entity::find_by_id(id)
        .one(&state.db)
        .await?
        .ok_or(ApiError::NotFound)?;
    Ok(HoldView::from(h))
}
