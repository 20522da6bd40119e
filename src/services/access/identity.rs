//! Identity: WeChat login, phone binding, demo login, staff login, consents.
//!
//! An owner *account* is a WeChat openid. It reaches the staff-registered owner *records* through
//! its verified phone's blind index, so units registered later under that phone appear by themselves.
use crate::domain::Phone;
use crate::error::{ApiError, ApiResult};
use crate::gateways::wechat::WechatError;
use crate::services::access::{me as owners, rate_limit, sessions};
use crate::state::AppState;
use entity::{consent, owner_account, staff_user};
use sea_orm::sea_query::OnConflict;
use sea_orm::{ActiveModelTrait, ColumnTrait, EntityTrait, QueryFilter, Set};
use serde::Serialize;
use std::time::Duration;

/// `owner` part of a login answer.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct OwnerRef {
    pub id: i32,
    /// True once a verified phone is linked.
    pub bound: bool,
}

/// Answer of the owner logins.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct OwnerLogin {
    pub token: String,
    pub expires_in: i64,
    pub owner: OwnerRef,
}

/// `staff` part of the staff login answer.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct StaffRef {
    pub id: i32,
    pub role: String,
}

/// Answer of the staff login.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct StaffLogin {
    pub token: String,
    pub expires_in: i64,
    pub staff: StaffRef,
}

fn map_wechat(e: WechatError) -> ApiError {
    match e {
        // 40029 invalid code, 40163 code already used.
        WechatError::Code(40029 | 40163, _) => ApiError::InvalidCredentials,
        WechatError::Code(45011, _) => ApiError::RateLimited,
        // 40226: WeChat flags the user as high-risk.
        WechatError::Code(40226, _) => ApiError::Forbidden,
        WechatError::NotConfigured => ApiError::Unavailable("wechat".into()),
        WechatError::Store(s) => s.into(),
        other => {
            tracing::warn!(error = %other, "wechat call failed");
            ApiError::Unavailable("wechat".into())
        }
    }
}

fn check_code(code: &str) -> ApiResult<&str> {
    let c = code.trim();
    if c.is_empty() || c.len() > 256 {
        return Err(ApiError::field("code", "code不能为空"));
    }
    Ok(c)
}

async fn login_ip_limit(state: &AppState, ip: &str) -> ApiResult<()> {
    let per_min = state.settings.rate_limits.login_per_ip_per_minute;
    rate_limit::hit(state, "login-ip", ip, per_min, Duration::from_secs(60)).await
}

/// Finds or creates the account for an openid; concurrent first logins converge on one row.
async fn account_for_openid(
    state: &AppState,
    openid: &str,
    unionid: Option<String>,
) -> ApiResult<owner_account::Model> {
    if let Some(a) = owner_account::Entity::find()
        .filter(owner_account::Column::Openid.eq(openid))
        .one(&state.db)
        .await?
    {
        return Ok(a);
    }
    let row = owner_account::ActiveModel {
        openid: Set(openid.to_string()),
        unionid: Set(unionid),
        created_at: Set(state.clock.now()),
        ..Default::default()
    };
    owner_account::Entity::insert(row)
        .on_conflict(
            OnConflict::column(owner_account::Column::Openid)
                .do_nothing()
                .to_owned(),
        )
        .exec_without_returning(&state.db)
        .await?;
    owner_account::Entity::find()
        .filter(owner_account::Column::Openid.eq(openid))
        .one(&state.db)
        .await?
        .ok_or_else(|| ApiError::internal(anyhow::anyhow!("account vanished after insert")))
}

async fn owner_session(state: &AppState, account: &owner_account::Model) -> ApiResult<OwnerLogin> {
    let (token, expires_in) = sessions::create(state, sessions::Subject::Owner(account.id)).await?;
    Ok(OwnerLogin {
        token,
        expires_in,
        owner: OwnerRef {
            id: account.id,
            bound: account.phone_index.is_some(),
        },
    })
}

/// `POST /auth/wechat/login`.
#[tracing::instrument(skip_all)]
pub async fn wechat_login(state: &AppState, code: &str, ip: &str) -> ApiResult<OwnerLogin> {
    let code = check_code(code)?;
    login_ip_limit(state, ip).await?;
    let who = state.wechat.code_to_session(code).await.map_err(map_wechat)?;
    let account = account_for_openid(state, &who.openid, who.unionid).await?;
    tracing::info!(account_id = account.id, "owner logged in");
    owner_session(state, &account).await
}

/// `POST /auth/demo/login` (only with `--demo`): logs in as the owner with that phone.
pub async fn demo_login(state: &AppState, phone: &str, ip: &str) -> ApiResult<OwnerLogin> {
    let phone = Phone::parse(phone).map_err(|m| ApiError::field("phone", m))?;
    login_ip_limit(state, ip).await?;
    let index = state.cipher.blind_index(phone.expose());
    if owners::records_for_index(state, &index).await?.is_empty() {
        return Err(ApiError::NotFound);
    }
    let account = account_for_openid(state, &format!("demo-{}", &index[..24]), None).await?;
    let account = link_phone(state, account, &phone).await?;
    owner_session(state, &account).await
}

async fn link_phone(state: &AppState, account: owner_account::Model, phone: &Phone) -> ApiResult<owner_account::Model> {
    let mut a: owner_account::ActiveModel = account.into();
    a.phone_enc = Set(Some(state.cipher.encrypt(phone.expose()).map_err(ApiError::internal)?));
    a.phone_index = Set(Some(state.cipher.blind_index(phone.expose())));
    a.phone_verified_at = Set(Some(state.clock.now()));
    let a = a.update(&state.db).await?;
    crate::services::cache::bump_account(state, a.id).await?;
    Ok(a)
}

/// `POST /me/phone`: verifies the phone with WeChat and links every owner record with it.
#[tracing::instrument(skip_all, fields(account_id))]
pub async fn bind_phone(state: &AppState, account_id: i32, code: &str) -> ApiResult<Vec<owners::UnitView>> {
    let code = check_code(code)?;
    let raw = state.wechat.phone_number(code).await.map_err(|e| match e {
        // A bad phone code is the client's input, not the session's: name the field.
        WechatError::Code(40029 | 40163, _) => ApiError::field("code", "手机号授权码无效或已过期，请重新授权"),
        other => map_wechat(other),
    })?;
    let phone =
        Phone::parse(&raw).map_err(|_| ApiError::field("code", "该微信绑定的不是大陆手机号，请联系物业服务中心"))?;
    let account = owner_account::Entity::find_by_id(account_id)
        .one(&state.db)
        .await?
        .ok_or(ApiError::Unauthenticated)?;
    let account = link_phone(state, account, &phone).await?;
    tracing::info!(account_id, phone = %phone, "phone bound");
    owners::units_of_account(state, &account).await
}

/// `POST /auth/staff/login`: argon2id check. Failures are limited per (username, client), so a
/// stranger guessing `admin` locks out only themselves; past a global number of failures for the
/// name every attempt is slowed down, never refused.
#[tracing::instrument(skip_all)]
pub async fn staff_login(state: &AppState, username: &str, password: &str, ip: &str) -> ApiResult<StaffLogin> {
    let username = username.trim().to_lowercase();
    if username.is_empty() || password.is_empty() || username.chars().count() > 64 {
        return Err(ApiError::InvalidCredentials);
    }
    login_ip_limit(state, ip).await?;
    let limits = &state.settings.rate_limits;
    let window = Duration::from_secs(900);
    let here = format!("{username}|{ip}");
    if rate_limit::count(state, "login-fail", &here, window).await? >= limits.login_failures_per_client_per_15_minutes {
        tracing::warn!("staff login refused: too many failures from this client");
        return Err(ApiError::RateLimited);
    }
    let everywhere = rate_limit::count(state, "login-fail-user", &username, window).await?;
    if let Some(pause) = slowdown(
        everywhere,
        limits.login_failures_before_slowdown,
        limits.login_slowdown_ms,
    ) {
        tokio::time::sleep(pause).await;
    }
    let user = staff_user::Entity::find()
        .filter(staff_user::Column::Username.eq(&username))
        .one(&state.db)
        .await?;
    let ok = match &user {
        Some(u) => u.active && crate::services::access::staff::verify_password(password, &u.password_hash).await,
        None => {
            // Same work for unknown names, so timing does not reveal which usernames exist.
            crate::services::access::staff::verify_password(password, crate::services::access::staff::dummy_hash())
                .await;
            false
        }
    };
    let user = match (ok, user) {
        (true, Some(u)) => u,
        _ => {
            rate_limit::add(state, "login-fail", &here, window).await?;
            rate_limit::add(state, "login-fail-user", &username, window).await?;
            tracing::warn!("staff login failed");
            return Err(ApiError::InvalidCredentials);
        }
    };
    let (token, expires_in) = sessions::create(state, sessions::Subject::Staff(user.id)).await?;
    tracing::info!(staff_id = user.id, "staff logged in");
    Ok(StaffLogin {
        token,
        expires_in,
        staff: StaffRef {
            id: user.id,
            role: user.role,
        },
    })
}

/// How long to hold a login attempt once a username has had `failures` failures from anywhere in
/// the window: nothing below `after`, then a fixed pause (it slows guessing; it never locks).
pub fn slowdown(failures: i64, after: i64, pause_ms: u64) -> Option<Duration> {
    (failures >= after && pause_ms > 0).then(|| Duration::from_millis(pause_ms))
}

/// Answer of `POST /me/consents`.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct ConsentView {
    pub policy_version: String,
    pub accepted_at: chrono::DateTime<chrono::Utc>,
}

/// Records acceptance of a privacy-policy version (PIPL); accepting again keeps the first record.
pub async fn record_consent(state: &AppState, account_id: i32, version: &str) -> ApiResult<ConsentView> {
    let version = crate::domain::text::name(version, 32).map_err(|m| ApiError::field("policy_version", m))?;
    let row = consent::ActiveModel {
        account_id: Set(account_id),
        policy_version: Set(version.clone()),
        accepted_at: Set(state.clock.now()),
        ..Default::default()
    };
    consent::Entity::insert(row)
        .on_conflict(
            OnConflict::columns([consent::Column::AccountId, consent::Column::PolicyVersion])
                .do_nothing()
                .to_owned(),
        )
        .exec_without_returning(&state.db)
        .await?;
    let c = consent::Entity::find()
        .filter(consent::Column::AccountId.eq(account_id))
        .filter(consent::Column::PolicyVersion.eq(&version))
        .one(&state.db)
        .await?
        .ok_or_else(|| ApiError::internal(anyhow::anyhow!("consent vanished")))?;
    Ok(ConsentView {
        policy_version: c.policy_version,
        accepted_at: c.accepted_at,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn failures_slow_down_a_username_but_never_lock_it() {
        assert_eq!(slowdown(0, 20, 1000), None);
        assert_eq!(slowdown(19, 20, 1000), None);
        assert_eq!(slowdown(20, 20, 1000), Some(Duration::from_millis(1000)));
        assert_eq!(slowdown(10_000, 20, 1000), Some(Duration::from_millis(1000)));
        assert_eq!(slowdown(10_000, 20, 0), None);
    }
}
