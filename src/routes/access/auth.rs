//! Logins and logout.
use crate::error::{ApiResult, ErrorBody};
use crate::routes::extract::{client_ip, AnySession, Json};
use crate::services::access::identity::{self, OwnerLogin, StaffLogin};
use crate::services::access::sessions;
use crate::state::AppState;
use actix_web::{web, HttpRequest, HttpResponse};
use serde::Deserialize;

/// A one-time code from `wx.login` or `getPhoneNumber`.
#[derive(Deserialize, utoipa::ToSchema)]
pub struct CodeBody {
    #[schema(
        pattern = r#"^[^\u0000-\u001F\u007F-\u009F]*[^\s\u0000-\u001F\u007F-\u009F][^\u0000-\u001F\u007F-\u009F]*$"#,
        min_length = 1,
        max_length = 128
    )]
    pub code: String,
}

/// Staff credentials.
#[derive(Deserialize, utoipa::ToSchema)]
pub struct StaffCredentials {
    #[schema(pattern = r#"\S"#, min_length = 1, max_length = 64)]
    pub username: String,
    #[schema(pattern = r#"\S"#, min_length = 1, max_length = 128)]
    pub password: String,
}

/// Demo login by phone.
#[derive(Deserialize, utoipa::ToSchema)]
pub struct DemoLoginBody {
    #[schema(pattern = r#"^(\+86)?1[3-9][0-9]{9}$"#)]
    pub phone: String,
}

/// Owner login with a `wx.login` code.
#[utoipa::path(post, path = "/api/v1/auth/wechat/login", tag = "identity", request_body = CodeBody,
    responses((status = 200, body = OwnerLogin), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 429, body = ErrorBody)))]
pub async fn wechat_login(
    state: web::Data<AppState>,
    req: HttpRequest,
    body: Json<CodeBody>,
) -> ApiResult<HttpResponse> {
    let answer = identity::wechat_login(&state, &body.0.code, &client_ip(&req)).await?;
    Ok(HttpResponse::Ok().json(answer))
}

/// Staff login with username and password.
#[utoipa::path(post, path = "/api/v1/auth/staff/login", tag = "identity", request_body = StaffCredentials,
    responses((status = 200, body = StaffLogin), (status = 401, body = ErrorBody), (status = 429, body = ErrorBody)))]
pub async fn staff_login(
    state: web::Data<AppState>,
    req: HttpRequest,
    body: Json<StaffCredentials>,
) -> ApiResult<HttpResponse> {
    let answer = identity::staff_login(&state, &body.0.username, &body.0.password, &client_ip(&req)).await?;
    Ok(HttpResponse::Ok().json(answer))
}

/// Demo only (`serve --demo`): log in as the demo owner with that phone.
#[utoipa::path(post, path = "/api/v1/auth/demo/login", tag = "identity", request_body = DemoLoginBody,
    responses((status = 200, body = OwnerLogin), (status = 404, body = ErrorBody)))]
pub async fn demo_login(
    state: web::Data<AppState>,
    req: HttpRequest,
    body: Json<DemoLoginBody>,
) -> ApiResult<HttpResponse> {
    let answer = identity::demo_login(&state, &body.0.phone, &client_ip(&req)).await?;
    Ok(HttpResponse::Ok().json(answer))
}

/// Ends the session at once.
#[utoipa::path(post, path = "/api/v1/auth/logout", tag = "identity", responses((status = 204), (status = 401, body = ErrorBody)), security(("bearer" = [])))]
pub async fn logout(state: web::Data<AppState>, session: AnySession) -> ApiResult<HttpResponse> {
    sessions::end(&state, &session.token_hash).await?;
    Ok(HttpResponse::NoContent().finish())
}
