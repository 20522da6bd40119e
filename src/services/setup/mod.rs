//! Setup: the estate as staff register it — communities with their late-fee terms and features,
//! units and transfers (过户), owners and their links to units, CSV imports — with the paging
//! and date parsing their lists and forms share.
pub mod communities;
pub mod import;
pub mod owners;
pub mod units;

use crate::domain::phone;
use crate::error::{ApiError, ApiResult, FieldErrors};
use crate::services::access::staff::StaffCtx;
use crate::state::AppState;
use chrono::NaiveDate;
use entity::{community, unit};
use sea_orm::{EntityTrait, PaginatorTrait, QuerySelect};
use serde::{Deserialize, Serialize};

// ---------- shared helpers ----------

/// Parses a `YYYY-MM-DD` field (1970–2100) or records why not.
pub fn parse_date(field: &str, raw: &str, errors: &mut FieldErrors) -> Option<NaiveDate> {
    match crate::domain::period::parse_date(raw) {
        Ok(d) => Some(d),
        Err(m) => {
            errors.insert(field.into(), m.into());
            None
        }
    }
}

/// Page parameters (API.md): 1 ≤ `page` ≤ 10,000, 1 ≤ `per_page` ≤ 200 (default 50).
#[derive(Debug, Deserialize, utoipa::IntoParams)]
pub struct PageQuery {
    #[param(minimum = 1, maximum = 10000)]
    pub page: Option<u64>,
    #[param(minimum = 1, maximum = 200)]
    pub per_page: Option<u64>,
}

impl PageQuery {
    pub const MAX_PAGE: u64 = 10_000;
    pub const MAX_PER_PAGE: u64 = 200;

    /// (page, per_page), defaulted; out of bounds is a 422 naming the field, checked before any
    /// number reaches the query builder (which binds it as i64).
    pub fn bounds(&self) -> ApiResult<(u64, u64)> {
        let mut errors = FieldErrors::new();
        let page = self.page.unwrap_or(1);
        if !(1..=Self::MAX_PAGE).contains(&page) {
            errors.insert("page".into(), "页码应在1到10000之间".into());
        }
        let per_page = self.per_page.unwrap_or(50);
        if !(1..=Self::MAX_PER_PAGE).contains(&per_page) {
            errors.insert("per_page".into(), "每页条数应在1到200之间".into());
        }
        ApiError::check(errors)?;
        Ok((page, per_page))
    }
}

/// Runs `query` for one page, with the total count.
pub(crate) async fn paginate<E: EntityTrait>(
    state: &AppState,
    query: sea_orm::Select<E>,
    page: &PageQuery,
) -> ApiResult<(Vec<E::Model>, u64, u64, u64)>
where
    E::Model: Sync,
{
    let (page_no, per_page) = page.bounds()?;
    let total = query.clone().count(&state.db).await?;
    let rows = query
        .offset((page_no - 1) * per_page)
        .limit(per_page)
        .all(&state.db)
        .await?;
    Ok((rows, total, page_no, per_page))
}

/// One page of a list already filtered in memory (lists whose filter is not a query).
pub fn page_of<T: utoipa::ToSchema>(items: Vec<T>, page: &PageQuery) -> ApiResult<Page<T>> {
    let (page_no, per_page) = page.bounds()?;
    let total = items.len() as u64;
    let skip = usize::try_from((page_no - 1) * per_page).unwrap_or(usize::MAX);
    let items = items
        .into_iter()
        .skip(skip)
        .take(usize::try_from(per_page).unwrap_or(200))
        .collect();
    Ok(Page {
        items,
        total,
        page: page_no,
        per_page,
    })
}

/// A page of results with the total count.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct Page<T: utoipa::ToSchema> {
    pub items: Vec<T>,
    pub total: u64,
    pub page: u64,
    pub per_page: u64,
}

pub(crate) async fn community_in_scope(state: &AppState, ctx: &StaffCtx, id: i32) -> ApiResult<community::Model> {
    ctx.require_community(id)?;
    community::Entity::find_by_id(id)
        .one(&state.db)
        .await?
        .ok_or(ApiError::NotFound)
}

fn masked_phone(state: &AppState, enc: &str) -> String {
    state
        .cipher
        .decrypt(enc)
        .map(|p| phone::mask(&p))
        .unwrap_or_else(|_| "****".into())
}

pub(crate) async fn unit_in_scope(state: &AppState, ctx: &StaffCtx, id: i32) -> ApiResult<unit::Model> {
    let u = unit::Entity::find_by_id(id)
        .one(&state.db)
        .await?
        .ok_or(ApiError::NotFound)?;
    ctx.require_community(u.community_id)?;
    Ok(u)
}
