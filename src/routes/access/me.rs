//! The owner's own profile, units and consents.
use crate::error::{ApiResult, ErrorBody};
use crate::routes::access::auth::CodeBody;
use crate::routes::extract::{Json, OwnerAuth};
use crate::services::access::identity::{self, ConsentView};
use crate::services::access::me::{self as owners, MeView, UnitView};
use crate::services::collection::preferences;
use crate::services::points::grade::{self, Standing};
use crate::state::AppState;
use actix_web::{web, HttpResponse};
use serde::{Deserialize, Serialize};

/// Answer of `POST /me/phone`.
#[derive(Serialize, utoipa::ToSchema)]
pub struct BoundUnits {
    /// Empty when no owner record has this phone: the client asks the owner to contact the office.
    pub units: Vec<UnitView>,
}

/// `POST /me/consents` body.
#[derive(Deserialize, utoipa::ToSchema)]
pub struct ConsentBody {
    #[schema(
        pattern = r#"^[^\u0000-\u001F\u007F-\u009F]*[^\s\u0000-\u001F\u007F-\u009F][^\u0000-\u001F\u007F-\u009F]*$"#,
        min_length = 1,
        max_length = 32
    )]
    pub policy_version: String,
}

/// Answer of `GET /me`: the profile, and per community where the owner has a unit today, the credit
/// grade (with why) and points.
#[derive(Serialize, utoipa::ToSchema)]
pub struct Me {
    #[serde(flatten)]
    pub profile: MeView,
    pub communities: Vec<Standing>,
}

/// The owner's profile: masked phone and units, credit grade and points per community.
#[utoipa::path(get, path = "/api/v1/me", tag = "owner", responses((status = 200, body = Me), (status = 401, body = ErrorBody)), security(("bearer" = [])))]
pub async fn me(state: web::Data<AppState>, who: OwnerAuth) -> ApiResult<HttpResponse> {
    let profile = owners::me(&state, who.account_id).await?;
    let communities = grade::standing(&state, who.account_id).await?;
    Ok(HttpResponse::Ok().json(Me { profile, communities }))
}

/// Links the WeChat account to every owner record with the verified phone.
#[utoipa::path(post, path = "/api/v1/me/phone", tag = "owner", request_body = CodeBody,
    responses((status = 200, body = BoundUnits), (status = 401, body = ErrorBody)), security(("bearer" = [])))]
pub async fn bind_phone(state: web::Data<AppState>, who: OwnerAuth, body: Json<CodeBody>) -> ApiResult<HttpResponse> {
    let units = identity::bind_phone(&state, who.account_id, &body.0.code).await?;
    Ok(HttpResponse::Ok().json(BoundUnits { units }))
}

/// The owner's units.
#[utoipa::path(get, path = "/api/v1/me/units", tag = "owner", responses((status = 200, body = Vec<UnitView>)), security(("bearer" = [])))]
pub async fn my_units(state: web::Data<AppState>, who: OwnerAuth) -> ApiResult<HttpResponse> {
    Ok(HttpResponse::Ok().json(owners::me(&state, who.account_id).await?.units))
}

/// One of the owner's units; 404 for anyone else's.
#[utoipa::path(get, path = "/api/v1/me/units/{id}", tag = "owner", params(("id" = i32, Path)),
    responses((status = 200, body = UnitView), (status = 404, body = ErrorBody)), security(("bearer" = [])))]
pub async fn my_unit(state: web::Data<AppState>, who: OwnerAuth, id: web::Path<i32>) -> ApiResult<HttpResponse> {
    Ok(HttpResponse::Ok().json(owners::my_unit(&state, who.account_id, id.into_inner()).await?))
}

/// Records acceptance of the privacy policy (PIPL).
#[utoipa::path(post, path = "/api/v1/me/consents", tag = "owner", request_body = ConsentBody,
    responses((status = 201, body = ConsentView), (status = 422, body = ErrorBody)), security(("bearer" = [])))]
pub async fn consent(state: web::Data<AppState>, who: OwnerAuth, body: Json<ConsentBody>) -> ApiResult<HttpResponse> {
    let c = identity::record_consent(&state, who.account_id, &body.0.policy_version).await?;
    Ok(HttpResponse::Created().json(c))
}

/// Records the one-time subscribe-message grants the owner just accepted (each allows one message).
#[utoipa::path(post, path = "/api/v1/me/subscriptions", tag = "owner", request_body = preferences::NewSubscriptions,
    responses((status = 201, body = preferences::SubscriptionsRecorded), (status = 422, body = ErrorBody)), security(("bearer" = [])))]
pub async fn subscriptions(
    state: web::Data<AppState>,
    who: OwnerAuth,
    body: Json<preferences::NewSubscriptions>,
) -> ApiResult<HttpResponse> {
    Ok(HttpResponse::Created().json(preferences::record_subscriptions(&state, who.account_id, body.0).await?))
}

/// Opts in or out of friendly reminders (formal notices still go out).
#[utoipa::path(put, path = "/api/v1/me/reminder-preferences", tag = "owner", request_body = preferences::ReminderPreferences,
    responses((status = 200, body = preferences::ReminderPreferences), (status = 409, body = ErrorBody)), security(("bearer" = [])))]
pub async fn reminder_preferences(
    state: web::Data<AppState>,
    who: OwnerAuth,
    body: Json<preferences::ReminderPreferences>,
) -> ApiResult<HttpResponse> {
    Ok(HttpResponse::Ok().json(preferences::set_preferences(&state, who.account_id, body.0).await?))
}

/// The printed notice a paper's mini-program code opened (`scene`): its bills, what was due then
/// and what is due today, and how to pay; 404 unless the notice is about the owner's own bills.
#[utoipa::path(get, path = "/api/v1/notices/{scene}", tag = "owner", params(("scene" = String, Path)),
    responses((status = 200, body = crate::services::collection::notices::OwnerNotice), (status = 404, body = crate::error::ErrorBody)), security(("bearer" = [])))]
pub async fn notice(
    state: web::Data<AppState>,
    who: OwnerAuth,
    scene: web::Path<String>,
) -> crate::error::ApiResult<HttpResponse> {
    Ok(HttpResponse::Ok().json(crate::services::collection::notices::for_owner(&state, who.account_id, &scene).await?))
}
