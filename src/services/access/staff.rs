//! Staff users: argon2id passwords, roles, community scopes, the bootstrap admin.
use crate::domain::role::{Action, Role};
use crate::error::{ApiError, ApiResult, FieldErrors};
use crate::services::access::sessions;
use crate::state::AppState;
use argon2::password_hash::{rand_core::OsRng, PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::Argon2;
use entity::{community, staff_community, staff_user};
use sea_orm::{ActiveModelTrait, ColumnTrait, EntityTrait, QueryFilter, QueryOrder, Set};
use serde::{Deserialize, Serialize};
use std::sync::OnceLock;

/// The signed-in staff member, loaded fresh for every request so role changes and deactivation
/// take effect at once.
#[derive(Clone, Debug)]
pub struct StaffCtx {
    pub id: i32,
    /// Login name, for what the console shows of who is signed in.
    pub username: String,
    pub role: Role,
    /// Communities this member may see; ignored for admins, who see all.
    pub communities: Vec<i32>,
    pub token_hash: String,
}

impl StaffCtx {
    /// 403 unless the role allows `action`.
    pub fn require(&self, action: Action) -> ApiResult<()> {
        if self.role.may(action) {
            Ok(())
        } else {
            Err(ApiError::Forbidden)
        }
    }

    pub fn sees(&self, community_id: i32) -> bool {
        self.role.sees_all_communities() || self.communities.contains(&community_id)
    }

    /// 404 for a community outside the scope: never reveal that it exists.
    pub fn require_community(&self, community_id: i32) -> ApiResult<()> {
        if self.sees(community_id) {
            Ok(())
        } else {
            Err(ApiError::NotFound)
        }
    }

    /// `staff:<id>` for audit records.
    pub fn actor(&self) -> String {
        format!("staff:{}", self.id)
    }
}

/// Loads the context of a staff session; 401 if the member is gone or deactivated.
pub async fn load_ctx(state: &AppState, staff_id: i32, token_hash: String) -> ApiResult<StaffCtx> {
    let user = staff_user::Entity::find_by_id(staff_id)
        .one(&state.db)
        .await?
        .ok_or(ApiError::Unauthenticated)?;
    if !user.active {
        return Err(ApiError::Unauthenticated);
    }
    let role = Role::parse(&user.role).ok_or(ApiError::Unauthenticated)?;
    let communities = staff_community::Entity::find()
        .filter(staff_community::Column::StaffId.eq(staff_id))
        .all(&state.db)
        .await?
        .into_iter()
        .map(|r| r.community_id)
        .collect();
    Ok(StaffCtx {
        id: user.id,
        username: user.username,
        role,
        communities,
        token_hash,
    })
}

fn argon2() -> Argon2<'static> {
    // OWASP's argon2id minimum: 19 MiB, 2 passes, 1 lane.
    let params = argon2::Params::new(19 * 1024, 2, 1, None).unwrap_or_default();
    Argon2::new(argon2::Algorithm::Argon2id, argon2::Version::V0x13, params)
}

/// Hashes a password off the async workers.
pub async fn hash_password(password: &str) -> ApiResult<String> {
    let pw = password.to_string();
    tokio::task::spawn_blocking(move || {
        let salt = SaltString::generate(&mut OsRng);
        argon2().hash_password(pw.as_bytes(), &salt).map(|h| h.to_string())
    })
    .await
    .map_err(ApiError::internal)?
    .map_err(|e| ApiError::internal(anyhow::anyhow!("argon2: {e}")))
}

/// Verifies a password off the async workers; any malformed hash is a mismatch.
pub async fn verify_password(password: &str, hash: &str) -> bool {
    let pw = password.to_string();
    let hash = hash.to_string();
    tokio::task::spawn_blocking(move || {
        PasswordHash::new(&hash)
            .map(|h| argon2().verify_password(pw.as_bytes(), &h).is_ok())
            .unwrap_or(false)
    })
    .await
    .unwrap_or(false)
}

/// A real argon2id hash of nothing in particular, verified against for unknown usernames.
pub fn dummy_hash() -> &'static str {
    static H: OnceLock<String> = OnceLock::new();
    H.get_or_init(|| {
        let salt = SaltString::generate(&mut OsRng);
        argon2()
            .hash_password(b"wuye-dummy-password", &salt)
            .map(|h| h.to_string())
            .unwrap_or_default()
    })
}

/// Creates the configured bootstrap admin if no staff user has that name.
pub async fn ensure_bootstrap_admin(state: &AppState, username: &str, password: &str) -> ApiResult<()> {
    let username = username.trim().to_lowercase();
    let exists = staff_user::Entity::find()
        .filter(staff_user::Column::Username.eq(&username))
        .one(&state.db)
        .await?;
    if exists.is_some() {
        return Ok(());
    }
    let now = state.clock.now();
    staff_user::ActiveModel {
        username: Set(username.clone()),
        password_hash: Set(hash_password(password).await?),
        role: Set(Role::Admin.as_str().into()),
        active: Set(true),
        created_at: Set(now),
        updated_at: Set(now),
        ..Default::default()
    }
    .insert(&state.db)
    .await?;
    tracing::info!(username = %username, "bootstrap admin created");
    Ok(())
}

/// A staff user as answered to admins (never the hash).
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct StaffView {
    pub id: i32,
    pub username: String,
    pub role: Role,
    pub active: bool,
    pub community_ids: Vec<i32>,
    pub created_at: chrono::DateTime<chrono::Utc>,
}

/// `POST /staff/staff-users` body.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
pub struct NewStaff {
    #[schema(pattern = r#"^\s*[A-Za-z0-9._-]{3,32}\s*$"#)]
    pub username: String,
    #[schema(pattern = r#"\S"#, min_length = 10, max_length = 128)]
    pub password: String,
    #[schema(pattern = r#"^(admin|finance|service|collector)$"#)]
    pub role: String,
    #[serde(default)]
    pub community_ids: Vec<i32>,
}

/// `PATCH /staff/staff-users/{id}` body: any subset.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
pub struct StaffPatch {
    #[schema(pattern = r#"^(admin|finance|service|collector)$"#)]
    pub role: Option<String>,
    pub community_ids: Option<Vec<i32>>,
    #[schema(pattern = r#"\S"#, min_length = 10, max_length = 128)]
    pub password: Option<String>,
    /// `false` deactivates the member and ends their sessions at once.
    pub active: Option<bool>,
}

fn check_username(raw: &str) -> Result<String, &'static str> {
    let u = raw.trim().to_lowercase();
    let ok = (3..=32).contains(&u.len())
        && u.chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-'));
    if ok {
        Ok(u)
    } else {
        Err("用户名应为3到32位字母、数字、.、_或-")
    }
}

fn check_password(p: &str) -> Result<(), &'static str> {
    if !(10..=128).contains(&p.chars().count()) {
        return Err("密码长度应为10到128个字符");
    }
    Ok(())
}

async fn check_communities(state: &AppState, ids: &[i32], errors: &mut FieldErrors) -> ApiResult<()> {
    if ids.is_empty() {
        return Ok(());
    }
    let found = community::Entity::find()
        .filter(community::Column::Id.is_in(ids.to_vec()))
        .all(&state.db)
        .await?;
    if found.len() != ids.iter().collect::<std::collections::BTreeSet<_>>().len() {
        errors.insert("community_ids".into(), "包含不存在的小区".into());
    }
    Ok(())
}

async fn view(state: &AppState, u: staff_user::Model) -> ApiResult<StaffView> {
    let community_ids = staff_community::Entity::find()
        .filter(staff_community::Column::StaffId.eq(u.id))
        .order_by_asc(staff_community::Column::CommunityId)
        .all(&state.db)
        .await?
        .into_iter()
        .map(|r| r.community_id)
        .collect();
    Ok(StaffView {
        id: u.id,
        username: u.username,
        role: Role::parse(&u.role).unwrap_or(Role::Collector),
        active: u.active,
        community_ids,
        created_at: u.created_at,
    })
}

async fn set_communities<C: sea_orm::ConnectionTrait>(db: &C, staff_id: i32, ids: &[i32]) -> ApiResult<()> {
    staff_community::Entity::delete_many()
        .filter(staff_community::Column::StaffId.eq(staff_id))
        .exec(db)
        .await?;
    let unique: std::collections::BTreeSet<i32> = ids.iter().copied().collect();
    for cid in unique {
        staff_community::ActiveModel {
            staff_id: Set(staff_id),
            community_id: Set(cid),
            ..Default::default()
        }
        .insert(db)
        .await?;
    }
    Ok(())
}

/// Creates a staff member (admin only).
pub async fn create(state: &AppState, ctx: &StaffCtx, body: NewStaff) -> ApiResult<StaffView> {
    let auth = ctx.authorize(state, Action::ManageStaff)?;
    let mut errors = FieldErrors::new();
    let username = check_username(&body.username)
        .map_err(|m| errors.insert("username".into(), m.into()))
        .ok();
    if let Err(m) = check_password(&body.password) {
        errors.insert("password".into(), m.into());
    }
    let role = Role::parse(&body.role);
    if role.is_none() {
        errors.insert("role".into(), "角色应为admin、finance、service或collector".into());
    }
    check_communities(state, &body.community_ids, &mut errors).await?;
    let (Some(username), Some(role), true) = (username, role, errors.is_empty()) else {
        return Err(ApiError::Validation(errors));
    };
    if staff_user::Entity::find()
        .filter(staff_user::Column::Username.eq(&username))
        .one(&state.db)
        .await?
        .is_some()
    {
        return Err(ApiError::Conflict("USERNAME_TAKEN", "用户名已被使用".into()));
    }
    let hash = hash_password(&body.password).await?;
    let cmd = auth.begin().await?;
    let (now, txn) = (cmd.now, cmd.txn());
    let user = staff_user::ActiveModel {
        username: Set(username),
        password_hash: Set(hash),
        role: Set(role.as_str().into()),
        active: Set(true),
        created_at: Set(now),
        updated_at: Set(now),
        ..Default::default()
    }
    .insert(txn)
    .await?;
    set_communities(txn, user.id, &body.community_ids).await?;
    cmd.audit(
        "staff.create",
        "staff_user",
        user.id,
        serde_json::json!({"role": role.as_str(), "community_ids": body.community_ids}),
    )
    .await?;
    cmd.commit().await?;
    view(state, user).await
}

/// Lists staff members (admin only).
pub async fn list(state: &AppState, ctx: &StaffCtx) -> ApiResult<Vec<StaffView>> {
    ctx.require(Action::ManageStaff)?;
    let users = staff_user::Entity::find()
        .order_by_asc(staff_user::Column::Id)
        .all(&state.db)
        .await?;
    let mut out = Vec::with_capacity(users.len());
    for u in users {
        out.push(view(state, u).await?);
    }
    Ok(out)
}

/// Edits or deactivates a staff member (admin only). Deactivation ends their sessions.
pub async fn update(state: &AppState, ctx: &StaffCtx, id: i32, patch: StaffPatch) -> ApiResult<StaffView> {
    let auth = ctx.authorize(state, Action::ManageStaff)?;
    let user = staff_user::Entity::find_by_id(id)
        .one(&state.db)
        .await?
        .ok_or(ApiError::NotFound)?;
    let mut errors = FieldErrors::new();
    let role = patch.role.as_deref().and_then(Role::parse);
    if patch.role.is_some() && role.is_none() {
        errors.insert("role".into(), "角色应为admin、finance、service或collector".into());
    }
    if let Some(p) = &patch.password {
        if let Err(m) = check_password(p) {
            errors.insert("password".into(), m.into());
        }
    }
    if let Some(ids) = &patch.community_ids {
        check_communities(state, ids, &mut errors).await?;
    }
    if id == ctx.id && (patch.active == Some(false) || role.is_some_and(|r| r != Role::Admin)) {
        errors.insert("active".into(), "不能停用自己或取消自己的管理员角色".into());
    }
    if !errors.is_empty() {
        return Err(ApiError::Validation(errors));
    }
    let new_hash = match &patch.password {
        Some(p) => Some(hash_password(p).await?),
        None => None,
    };
    let cmd = auth.begin().await?;
    let (now, txn) = (cmd.now, cmd.txn());
    let mut am: staff_user::ActiveModel = user.into();
    if let Some(r) = role {
        am.role = Set(r.as_str().into());
    }
    if let Some(h) = new_hash {
        am.password_hash = Set(h);
    }
    if let Some(a) = patch.active {
        am.active = Set(a);
    }
    am.updated_at = Set(now);
    let user = am.update(txn).await?;
    if let Some(ids) = &patch.community_ids {
        set_communities(txn, id, ids).await?;
    }
    let detail = serde_json::json!({
        "role": patch.role, "community_ids": patch.community_ids,
        "password_changed": patch.password.is_some(), "active": patch.active,
    });
    cmd.audit("staff.update", "staff_user", id, detail).await?;
    cmd.commit().await?;
    if patch.active == Some(false) || patch.password.is_some() {
        sessions::end_all_for_staff(state, id).await?;
    }
    view(state, user).await
}

/// Who an audit actor (`staff:3`, `scheduler`, `owner:5`, …) is, in words staff read: usernames
/// for staff (one query for all of `actors`), the rest by kind.
pub async fn actor_names(state: &AppState, actors: &[&str]) -> ApiResult<std::collections::HashMap<String, String>> {
    let ids: Vec<i32> = actors
        .iter()
        .filter_map(|a| a.strip_prefix("staff:").and_then(|n| n.parse().ok()))
        .collect();
    let users: std::collections::HashMap<i32, String> = if ids.is_empty() {
        Default::default()
    } else {
        staff_user::Entity::find()
            .filter(staff_user::Column::Id.is_in(ids))
            .all(&state.db)
            .await?
            .into_iter()
            .map(|u| (u.id, u.username))
            .collect()
    };
    Ok(actors
        .iter()
        .map(|a| {
            let name = match a.split_once(':') {
                Some(("staff", n)) => n
                    .parse()
                    .ok()
                    .and_then(|id: i32| users.get(&id).cloned())
                    .map_or_else(|| format!("员工{n}"), |u| format!("员工 {u}")),
                Some(("owner", n)) => format!("业主{n}"),
                _ if *a == "scheduler" => "系统自动".to_string(),
                _ => "系统".to_string(),
            };
            (a.to_string(), name)
        })
        .collect())
}
