//! Photos owners and staff upload (`POST /me/uploads`, `POST /staff/uploads`): sniffed, stripped of
//! location metadata (`domain::images`), kept in the database so every replica serves them. An
//! upload belongs to its uploader until a record takes it (`attach`); from then on whoever may read
//! that record may see it, and nobody else.
use crate::crypto::sha256_hex;
use crate::domain::images::{self, ImageKind};
use crate::error::{ApiError, ApiResult};
use crate::services::access::staff::StaffCtx;
use crate::state::AppState;
use entity::upload;
use sea_orm::sea_query::Expr;
use sea_orm::{ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder, QuerySelect, Set};
use serde::Serialize;
use utoipa::ToSchema;

/// Who uploaded: the only one who may see or attach an upload nothing has taken yet.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Uploader {
    Owner(i32),
    Staff(i32),
}

impl Uploader {
    fn key(&self) -> String {
        match self {
            Uploader::Owner(id) => format!("owner:{id}"),
            Uploader::Staff(id) => format!("staff:{id}"),
        }
    }

    /// Where the uploader fetches it.
    fn url(&self, id: i32) -> String {
        match self {
            Uploader::Owner(_) => format!("/api/v1/me/uploads/{id}"),
            Uploader::Staff(_) => format!("/api/v1/staff/uploads/{id}"),
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct Uploaded {
    pub id: i32,
    pub url: String,
    pub content_type: String,
    pub size_bytes: i32,
    /// SHA-256 of the stored (cleaned) bytes, as the evidence that cites it records.
    pub sha256: String,
}

/// Stores a photo; 422 for anything that is not a JPEG, PNG or WebP image of at most 5 MB.
pub async fn create(state: &AppState, who: Uploader, body: &[u8]) -> ApiResult<Uploaded> {
    let (kind, data) = images::clean(body).map_err(|m| ApiError::field("file", m))?;
    let size = i32::try_from(data.len()).map_err(|_| ApiError::field("file", "图片不能超过5MB"))?;
    let sha = sha256_hex(&data);
    let row = upload::ActiveModel {
        uploader: Set(who.key()),
        content_type: Set(kind.content_type().to_string()),
        size_bytes: Set(size),
        sha256: Set(sha.clone()),
        data: Set(data),
        attached_kind: Set(None),
        attached_id: Set(None),
        community_id: Set(None),
        created_at: Set(state.clock.now()),
        ..Default::default()
    }
    .insert(&state.db)
    .await?;
    Ok(Uploaded {
        id: row.id,
        url: who.url(row.id),
        content_type: row.content_type,
        size_bytes: size,
        sha256: sha,
    })
}

/// An upload's facts as a record cites them.
#[derive(Debug, Clone, Serialize)]
pub struct Cited {
    pub id: i32,
    pub sha256: String,
    pub content_type: String,
}

/// Attaches the uploader's own unattached uploads to a record of a community, inside the caller's
/// transaction; 422 naming `field` when one is missing, someone else's or already taken.
pub async fn attach<C: ConnectionTrait>(
    db: &C,
    who: &Uploader,
    ids: &[i32],
    kind: &str,
    record_id: i32,
    community_id: i32,
    field: &str,
) -> ApiResult<Vec<Cited>> {
    let mut cited = Vec::with_capacity(ids.len());
    for id in ids {
        // One conditional update: a concurrent attach of the same upload loses here.
        let taken = upload::Entity::update_many()
            .col_expr(upload::Column::AttachedKind, Expr::value(kind))
            .col_expr(upload::Column::AttachedId, Expr::value(record_id))
            .col_expr(upload::Column::CommunityId, Expr::value(community_id))
            .filter(upload::Column::Id.eq(*id))
            .filter(upload::Column::Uploader.eq(who.key()))
            .filter(upload::Column::AttachedKind.is_null())
            .exec(db)
            .await?;
        if taken.rows_affected != 1 {
            return Err(ApiError::field(
                field,
                format!("图片{id}不存在、不是本人上传或已被使用"),
            ));
        }
        let u = upload::Entity::find_by_id(*id)
            .one(db)
            .await?
            .ok_or(ApiError::NotFound)?;
        cited.push(Cited {
            id: u.id,
            sha256: u.sha256,
            content_type: u.content_type,
        });
    }
    Ok(cited)
}

/// The ids of the photos attached to each of these records of `kind`, in upload order.
pub async fn attached_to<C: ConnectionTrait>(
    db: &C,
    kind: &str,
    record_ids: Vec<i32>,
) -> ApiResult<std::collections::BTreeMap<i32, Vec<i32>>> {
    let mut out: std::collections::BTreeMap<i32, Vec<i32>> = std::collections::BTreeMap::new();
    for (id, attached) in upload::Entity::find()
        .select_only()
        .column(upload::Column::Id)
        .column(upload::Column::AttachedId)
        .filter(upload::Column::AttachedKind.eq(kind))
        .filter(upload::Column::AttachedId.is_in(record_ids))
        .order_by_asc(upload::Column::Id)
        .into_tuple::<(i32, Option<i32>)>()
        .all(db)
        .await?
    {
        if let Some(r) = attached {
            out.entry(r).or_default().push(id);
        }
    }
    Ok(out)
}

/// What a contact record's photos are attached as.
pub const CONTACT: &str = "contact";

/// A photo attached to one record, for a caller the record's own rules already let see it.
pub async fn attached_photo<C: ConnectionTrait>(db: &C, id: i32, kind: &str, record_id: i32) -> ApiResult<Photo> {
    let u = upload::Entity::find_by_id(id)
        .filter(upload::Column::AttachedKind.eq(kind))
        .filter(upload::Column::AttachedId.eq(record_id))
        .one(db)
        .await?
        .ok_or(ApiError::NotFound)?;
    photo(u)
}

/// The bytes and their type, to serve.
pub struct Photo {
    pub content_type: &'static str,
    pub data: Vec<u8>,
}

fn photo(u: upload::Model) -> ApiResult<Photo> {
    let kind = ImageKind::parse(&u.content_type)
        .ok_or_else(|| ApiError::internal(anyhow::anyhow!("upload {} has type {}", u.id, u.content_type)))?;
    Ok(Photo {
        content_type: kind.content_type(),
        data: u.data,
    })
}

/// A photo for staff: their own unattached upload, or one attached to a record of a community they
/// may see (contacts are read by those who follow up collection). 404 otherwise, so ids say nothing.
pub async fn for_staff(state: &AppState, ctx: &StaffCtx, id: i32) -> ApiResult<Photo> {
    let u = upload::Entity::find_by_id(id)
        .one(&state.db)
        .await?
        .ok_or(ApiError::NotFound)?;
    let mine = u.uploader == Uploader::Staff(ctx.id).key();
    let readable = match (u.attached_kind.as_deref(), u.community_id) {
        (None, _) => mine,
        (Some(CONTACT), Some(c)) => ctx.sees(c) && ctx.require(crate::domain::role::Action::FollowUp).is_ok(),
        // Photos of other records (tickets) are served through those records' own access rules.
        (Some(_), _) => false,
    };
    if !readable {
        return Err(ApiError::NotFound);
    }
    photo(u)
}

/// A photo for an owner: one they uploaded (their tickets and requests attach them later).
pub async fn for_owner(state: &AppState, account_id: i32, id: i32) -> ApiResult<Photo> {
    let u = upload::Entity::find_by_id(id)
        .one(&state.db)
        .await?
        .filter(|u| u.uploader == Uploader::Owner(account_id).key())
        .ok_or(ApiError::NotFound)?;
    photo(u)
}
