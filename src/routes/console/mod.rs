//! The staff console under `/console/`: server-rendered pages over the same services, roles, scopes
//! and session store as the API. Signed in by an HttpOnly, SameSite=Strict cookie (Secure when
//! `server.public_url` is https) scoped to `/console`, so the JSON API never accepts a cookie; every
//! form carries a CSRF token (before sign-in a double-submit cookie, after it one derived from the
//! session).
mod adjustments;
mod arrears_notice;
mod autodebit;
mod bills;
mod catalog;
mod chart;
mod collection;
mod counter;
mod dashboard;
mod evidence;
mod finance_reports;
mod hardship;
mod holds;
mod inbox;
mod installments;
mod jobs;
mod page;
mod people;
mod points;
mod points_report;
mod rewards;
mod service_report;
mod setup;
mod tasks;
mod ticket_sla;
mod tickets;
mod unit_setup;
mod units;
mod vacancy;
mod watch_list;

use crate::error::ApiError;
use crate::routes::extract::client_ip;
use crate::services::access::identity;
use crate::services::access::sessions::{self, Subject};
use crate::services::access::staff::{self, StaffCtx};
use crate::state::AppState;
use actix_web::cookie::{Cookie, SameSite};
use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};
use page::{error_page, html, Viewer};
use serde::Deserialize;
use url::form_urlencoded;

const SESSION: &str = "wuye_staff";
const LOGIN_CSRF: &str = "wuye_csrf";

/// Registers `/console` and everything under it (a console 404 page for unknown paths).
pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/console", web::get().to(|| async { see_other("/console/") }))
        .service(
            web::scope("/console")
                .route("/", web::get().to(dashboard::show))
                .route("/login", web::get().to(login_form))
                .route("/login", web::post().to(login))
                .route("/logout", web::post().to(logout))
                .route("/reports/collection.csv", web::get().to(dashboard::csv))
                // 积分报表 (points_report.rs): a community's points month by month.
                .route("/reports/points", web::get().to(points_report::show))
                .route("/counter", web::get().to(counter::units))
                .route("/counter", web::post().to(counter::record))
                .route("/counter/units/{id}", web::get().to(counter::unit))
                .route("/payments/{id}/receipt", web::get().to(counter::receipt))
                .route("/units", web::get().to(units::index))
                .route("/units/new", web::post().to(unit_setup::create))
                .route("/units/{id}", web::get().to(units::show))
                .route("/units/{id}/edit", web::post().to(unit_setup::update))
                .route("/units/{id}/owners", web::post().to(unit_setup::add_owner))
                .route("/units/{id}/holds", web::post().to(units::add_hold))
                .route("/holds/{id}/end", web::post().to(units::end))
                .route("/owners/{id}/reveal", web::post().to(units::reveal))
                .route("/units/{id}/contacts", web::post().to(evidence::add))
                .route("/units/{id}/case-file", web::get().to(evidence::case_file))
                .route("/uploads/{id}", web::get().to(evidence::photo))
                .route("/exceptions", web::get().to(counter::exceptions))
                .route("/tasks", web::get().to(tasks::list))
                .route("/tasks/{id}/notice", web::get().to(tasks::notice))
                .route("/tasks/{id}/outcome", web::post().to(tasks::outcome))
                .route("/inbox", web::get().to(inbox::show))
                .route("/inbox/read-all", web::post().to(inbox::read_all))
                .route("/inbox/{id}/read", web::post().to(inbox::read))
                .route("/collection", web::get().to(collection::show))
                .route("/collection/policy", web::post().to(collection::save_policy))
                .route("/collection/run", web::post().to(collection::run))
                .route("/jobs", web::get().to(jobs::list))
                .route("/jobs/{id}", web::get().to(jobs::show))
                .route("/setup", web::get().to(setup::index))
                .route("/setup/billing-runs", web::get().to(setup::billing_runs))
                .route("/setup/billing-runs", web::post().to(setup::start_run))
                .route("/setup/imports", web::get().to(setup::imports))
                .route("/setup/imports", web::post().to(setup::start_import))
                .route("/setup/imports/template.{ext}", web::get().to(setup::template))
                // 小区与滞纳金、收费项目与单价 (catalog.rs).
                .route("/setup/communities", web::get().to(catalog::communities))
                .route("/setup/communities", web::post().to(catalog::create_community))
                .route("/setup/communities/{id}", web::get().to(catalog::community))
                .route("/setup/communities/{id}", web::post().to(catalog::update_community))
                .route("/setup/communities/{id}/terms", web::post().to(catalog::add_terms))
                .route("/setup/fee-items", web::get().to(catalog::fee_items))
                .route("/setup/fee-items", web::post().to(catalog::create_fee_item))
                .route("/setup/fee-items/{id}/prices", web::post().to(catalog::add_price))
                // 收费: refunds and each channel's day (counter.rs).
                .route("/counter/day", web::get().to(counter::day))
                .route("/payments/{id}/refunds", web::post().to(counter::refund))
                .route("/refunds/{id}/transferred", web::post().to(counter::transferred))
                .route("/bills", web::get().to(bills::list))
                .route("/holds", web::get().to(holds::list))
                // 自动扣款 (autodebit.rs): debits coming up and failing, bank collection batches.
                .route("/autodebit", web::get().to(autodebit::show))
                .route("/autodebit/bank-batches", web::post().to(autodebit::create_batch))
                .route(
                    "/autodebit/bank-batches/{id}/file",
                    web::get().to(autodebit::batch_file),
                )
                .route(
                    "/autodebit/bank-batches/{id}/results",
                    web::post().to(autodebit::batch_results),
                )
                .route("/setup/staff", web::get().to(people::staff_list))
                .route("/setup/staff", web::post().to(people::staff_create))
                .route("/setup/staff/{id}", web::post().to(people::staff_update))
                .route("/setup/audit-log", web::get().to(people::audit_log))
                .route("/setup/pii-log", web::get().to(people::pii_log))
                // 工单 (tickets.rs): the queue, the SLA budgets (before `{id}`), a thread and its forms.
                .route("/reports/service", web::get().to(service_report::show))
                .route("/tickets", web::get().to(tickets::queue))
                .route("/tickets/sla", web::get().to(ticket_sla::sla))
                .route("/tickets/sla", web::post().to(ticket_sla::save_sla))
                .route("/tickets/{id}", web::get().to(tickets::thread))
                .route("/tickets/{id}/assign", web::post().to(tickets::assign))
                .route("/tickets/{id}/messages", web::post().to(tickets::message))
                .route("/tickets/{id}/resolve", web::post().to(tickets::resolve))
                .route("/tickets/{id}/merge", web::post().to(tickets::merge))
                .route("/tickets/{id}/photos/{upload_id}", web::get().to(tickets::photo))
                // 账单调整 (adjustments.rs): a dispute's request from its thread, finance's queue and decisions.
                .route("/tickets/{id}/adjustments", web::post().to(adjustments::request))
                .route("/adjustments", web::get().to(adjustments::queue))
                // 分期申请 (installments.rs): finance's list of installment requests and plans, and decisions.
                .route("/installments", web::get().to(installments::show))
                .route("/installments/{id}/approve", web::post().to(installments::approve))
                .route("/installments/{id}/reject", web::post().to(installments::reject))
                .route("/hardship", web::get().to(hardship::show))
                .route("/hardship/{id}/photos/{upload_id}", web::get().to(hardship::photo))
                .route("/hardship/{id}/approve", web::post().to(hardship::approve))
                .route("/hardship/{id}/reject", web::post().to(hardship::reject))
                .route("/hardship/{id}/review", web::post().to(hardship::review))
                .route("/watch-list", web::get().to(watch_list::show))
                .route("/finance-reports", web::get().to(finance_reports::show))
                .route("/finance-reports/publish", web::post().to(finance_reports::publish))
                .route("/arrears-notice", web::get().to(arrears_notice::show))
                .route("/arrears-notice/print", web::get().to(arrears_notice::print))
                .route("/arrears-notice/review", web::post().to(arrears_notice::review))
                .route("/arrears-notice/withdraw", web::post().to(arrears_notice::withdraw))
                .route("/vacancy", web::get().to(vacancy::show))
                .route("/vacancy/policy", web::post().to(vacancy::set_policy))
                .route("/vacancy/{id}/photos/{upload_id}", web::get().to(vacancy::photo))
                .route("/vacancy/{id}/approve", web::post().to(vacancy::approve))
                .route("/vacancy/{id}/reject", web::post().to(vacancy::reject))
                .route("/adjustments/{id}/approve", web::post().to(adjustments::approve))
                .route("/adjustments/{id}/reject", web::post().to(adjustments::reject))
                // 积分 (rewards.rs, points.rs): the catalog, handing over redemptions, a community's
                // points rules, and a unit's points adjusted from its page.
                .route("/rewards", web::get().to(rewards::catalog))
                .route("/rewards", web::post().to(rewards::create))
                .route("/rewards/{id}", web::post().to(rewards::update))
                .route("/redemptions", web::get().to(rewards::handover))
                .route("/redemptions/{id}/fulfil", web::post().to(rewards::fulfil))
                .route("/redemptions/{id}/cancel", web::post().to(rewards::cancel))
                .route(
                    "/setup/communities/{id}/points-settings",
                    web::get().to(points::settings_form),
                )
                .route(
                    "/setup/communities/{id}/points-settings",
                    web::post().to(points::save_settings),
                )
                .route("/units/{id}/points/adjustments", web::post().to(points::adjust))
                .default_service(web::to(not_found)),
        );
}

pub(crate) fn see_other(to: &str) -> HttpResponse {
    HttpResponse::SeeOther().insert_header(("Location", to)).finish()
}

fn secure(state: &AppState) -> bool {
    state
        .settings
        .server
        .public_url
        .as_deref()
        .is_some_and(|u| u.starts_with("https://"))
}

fn cookie<'a>(state: &AppState, name: &'a str, value: String, max_age_secs: i64) -> Cookie<'a> {
    Cookie::build(name, value)
        .path("/console")
        .http_only(true)
        .same_site(SameSite::Strict)
        .secure(secure(state))
        .max_age(actix_web::cookie::time::Duration::seconds(max_age_secs))
        .finish()
}

/// A signed-in staff member and the CSRF token of their session.
pub(crate) struct Signed {
    pub ctx: StaffCtx,
    pub csrf: String,
    /// Unread items in their inbox, for the header's badge.
    pub unread: u64,
}

impl Signed {
    pub(crate) fn viewer(&self) -> Viewer<'_> {
        Viewer {
            username: &self.ctx.username,
            role: self.ctx.role.as_str(),
            csrf: &self.csrf,
            unread: self.unread,
        }
    }
}

/// The session's CSRF token: keyed by the server's secret, bound to the session.
fn session_csrf(state: &AppState, token_hash: &str) -> String {
    state.cipher.blind_index(&format!("console-csrf:{token_hash}"))
}

/// The staff member the session cookie names; None when there is none or it is not (any longer) valid.
pub(crate) async fn signed_in(state: &AppState, req: &HttpRequest) -> Result<Option<Signed>, ApiError> {
    let Some(c) = req.cookie(SESSION) else {
        return Ok(None);
    };
    let session = match sessions::resolve(state, c.value()).await {
        Ok(s) => s,
        Err(ApiError::Unauthenticated) => return Ok(None),
        Err(e) => return Err(e),
    };
    let Subject::Staff(id) = session.subject else {
        return Ok(None);
    };
    let csrf = session_csrf(state, &session.token_hash);
    match staff::load_ctx(state, id, session.token_hash).await {
        Ok(ctx) => {
            let unread = crate::services::inbox::unread(state, ctx.id).await?;
            Ok(Some(Signed { ctx, csrf, unread }))
        }
        Err(ApiError::Unauthenticated) => Ok(None),
        Err(e) => Err(e),
    }
}

/// The signed-in staff member, or the answer to give instead: the sign-in form when there is none.
pub(crate) async fn require_signed(state: &AppState, req: &HttpRequest) -> Result<Signed, HttpResponse> {
    match signed_in(state, req).await {
        Ok(Some(s)) => Ok(s),
        Ok(None) => Err(see_other("/console/login")),
        Err(e) => Err(error_page(&e, None)),
    }
}

/// The signed-in member posting a form with this CSRF field, or the answer to give instead: the
/// sign-in form, or the 403 page for a forged token.
pub(crate) async fn require_form(state: &AppState, req: &HttpRequest, csrf: &str) -> Result<Signed, HttpResponse> {
    let s = require_signed(state, req).await?;
    match s.refuse_forged(csrf) {
        Some(r) => Err(r),
        None => Ok(s),
    }
}

impl Signed {
    /// A console page for this member titled `title`, or the console's error page when the body
    /// could not be made.
    pub(crate) fn respond(&self, title: &str, body: Result<String, ApiError>) -> HttpResponse {
        match body {
            Ok(b) => html(StatusCode::OK).body(page::page(title, Some(&self.viewer()), &b)),
            Err(e) => error_page(&e, Some(&self.viewer())),
        }
    }

    /// A form's CSRF field against the session's: the 403 page when they differ.
    pub(crate) fn refuse_forged(&self, token: &str) -> Option<HttpResponse> {
        (!same(&self.csrf, token)).then(|| error_page(&ApiError::Forbidden, Some(&self.viewer())))
    }
}

/// The first 200 rows of a list: what one console page shows.
pub(crate) fn first_page() -> crate::services::setup::PageQuery {
    crate::services::setup::PageQuery {
        page: Some(1),
        per_page: Some(200),
    }
}

/// The communities the member may see, as (id, name), for the pages' community pickers.
pub(crate) async fn community_names(state: &AppState, ctx: &StaffCtx) -> Result<Vec<(i32, String)>, ApiError> {
    Ok(
        crate::services::setup::communities::list_communities(state, ctx, first_page())
            .await?
            .items
            .into_iter()
            .map(|c| (c.id, c.name))
            .collect(),
    )
}

/// The community a page shows: the one asked for, else the member's first (None: they have none).
pub(crate) fn shown_community(asked: Option<i32>, names: &[(i32, String)]) -> Option<i32> {
    asked.or_else(|| names.first().map(|(id, _)| *id))
}

/// `<option>`s of a community picker: `all` first (value "") when given, `selected` selected.
pub(crate) fn community_options(names: &[(i32, String)], selected: Option<i32>, all: Option<&str>) -> String {
    use crate::domain::text::esc;
    let mut out = all.map_or(String::new(), |a| format!("<option value=\"\">{}</option>", esc(a)));
    for (id, name) in names {
        let sel = if selected == Some(*id) { " selected" } else { "" };
        out.push_str(&format!("<option value=\"{id}\"{sel}>{}</option>", esc(name)));
    }
    out
}

/// The page links under a list: "共N项，第p/P页" with 上一页/下一页 to `path` with the same
/// filters (`query`, empty values left out), so a page's URL always holds its filters.
pub(crate) fn pager(path: &str, query: &[(&str, String)], total: u64, page: u64, per_page: u64, unit: &str) -> String {
    use crate::domain::text::esc;
    let link = |p: u64| {
        let mut url = form_urlencoded::Serializer::new(String::new());
        for (k, v) in query.iter().filter(|(_, v)| !v.is_empty()) {
            url.append_pair(k, v);
        }
        url.append_pair("page", &p.to_string());
        esc(&format!("{path}?{}", url.finish()))
    };
    let pages = total.div_ceil(per_page.max(1)).max(1);
    let mut out = format!("<nav class=\"pages\"><span>共{total}{unit}，第{page}/{pages}页</span>");
    if page > 1 {
        out.push_str(&format!(" <a rel=\"prev\" href=\"{}\">上一页</a>", link(page - 1)));
    }
    if page < pages {
        out.push_str(&format!(" <a rel=\"next\" href=\"{}\">下一页</a>", link(page + 1)));
    }
    out.push_str("</nav>");
    out
}

/// A unit's owners as a line, phones masked as the setup service gives them.
pub(crate) fn owners_line(u: &crate::services::setup::units::UnitDetail) -> String {
    let owners: Vec<String> = u.owners.iter().map(|o| format!("{} {}", o.name, o.phone)).collect();
    owners.join("、")
}

/// A unit's bills (all, or those of one status) as staff see them.
pub(crate) async fn unit_bills(
    state: &AppState,
    ctx: &StaffCtx,
    u: &crate::services::setup::units::UnitDetail,
    status: Option<&str>,
) -> Result<crate::services::billing::staff::StaffBillPage, ApiError> {
    let q = crate::services::billing::staff::StaffBillQuery {
        community_id: u.community_id,
        unit_id: Some(u.id),
        status: status.map(str::to_string),
        building: None,
        min_days_overdue: None,
        max_days_overdue: None,
        period: None,
        due_month: None,
        fee_item_id: None,
    };
    crate::services::billing::staff::staff_bills(state, ctx, q, first_page()).await
}

/// A multipart form's text fields, and the bytes of its one file field `file` (at most `max`
/// bytes, else `too_big` on that field); other fields at most 4 KiB.
pub(crate) async fn read_multipart(
    mut form: actix_multipart::Multipart,
    file: &str,
    max: usize,
    too_big: &str,
) -> Result<(std::collections::HashMap<String, String>, Vec<u8>), ApiError> {
    use futures_util::StreamExt;
    let mut fields = std::collections::HashMap::new();
    let mut bytes = Vec::new();
    while let Some(field) = form.next().await {
        let mut field = field.map_err(|_| ApiError::BadRequest("表单读取失败".into(), None))?;
        let name = field.name().unwrap_or_default().to_string();
        let limit = if name == file { max } else { 4096 };
        let mut data = Vec::new();
        while let Some(chunk) = field.next().await {
            let chunk = chunk.map_err(|_| ApiError::BadRequest("表单读取失败".into(), None))?;
            if data.len() + chunk.len() > limit {
                return Err(if name == file {
                    ApiError::field(file, too_big)
                } else {
                    ApiError::field(&name, "内容过长")
                });
            }
            data.extend_from_slice(&chunk);
        }
        if name == file {
            bytes = data;
        } else {
            fields.insert(name, String::from_utf8_lossy(&data).into_owned());
        }
    }
    Ok((fields, bytes))
}

/// Compares tokens through their digests, so the time taken says nothing about a guess's prefix.
fn same(a: &str, b: &str) -> bool {
    crate::crypto::token_hash(a) == crate::crypto::token_hash(b)
}

fn login_page(status: StatusCode, csrf: &str, username: &str, error: Option<&str>) -> HttpResponse {
    use crate::domain::text::esc;
    let error = error.map_or(String::new(), |e| {
        format!("<p class=\"error\" role=\"alert\">{}</p>", esc(e))
    });
    let body = format!(
        "<div class=\"login\"><h1>员工登录</h1>{error}<form method=\"post\" action=\"/console/login\">\
         <input type=\"hidden\" name=\"csrf\" value=\"{}\">\
         <label for=\"username\">用户名<input id=\"username\" name=\"username\" autocomplete=\"username\" required value=\"{}\"></label>\
         <label for=\"password\">密码<input id=\"password\" name=\"password\" type=\"password\" autocomplete=\"current-password\" required></label>\
         <button type=\"submit\">登录</button></form></div>",
        esc(csrf),
        esc(username)
    );
    html(status).body(page::page("员工登录", None, &body))
}

async fn login_form(state: web::Data<AppState>, req: HttpRequest) -> HttpResponse {
    match signed_in(&state, &req).await {
        Ok(Some(_)) => return see_other("/console/"),
        Ok(None) => {}
        Err(e) => return error_page(&e, None),
    }
    let token = match crate::crypto::new_token() {
        Ok(t) => t,
        Err(e) => return error_page(&ApiError::internal(e), None),
    };
    let mut r = login_page(StatusCode::OK, &token, "", None);
    if let Err(e) = r.add_cookie(&cookie(&state, LOGIN_CSRF, token, 3_600)) {
        return error_page(&ApiError::internal(e), None);
    }
    r
}

#[derive(Deserialize)]
struct LoginForm {
    #[serde(default)]
    username: String,
    #[serde(default)]
    password: String,
    #[serde(default)]
    csrf: String,
}

async fn login(state: web::Data<AppState>, req: HttpRequest, form: web::Form<LoginForm>) -> HttpResponse {
    let expected = req
        .cookie(LOGIN_CSRF)
        .map(|c| c.value().to_string())
        .unwrap_or_default();
    if expected.is_empty() || !same(&expected, &form.csrf) {
        return error_page(&ApiError::Forbidden, None);
    }
    match identity::staff_login(&state, &form.username, &form.password, &client_ip(&req)).await {
        Ok(done) => {
            let mut r = see_other("/console/");
            let set = r
                .add_cookie(&cookie(&state, SESSION, done.token, done.expires_in))
                .and_then(|_| r.add_removal_cookie(&cookie(&state, LOGIN_CSRF, String::new(), 0)));
            match set {
                Ok(()) => r,
                Err(e) => error_page(&ApiError::internal(e), None),
            }
        }
        Err(ApiError::InvalidCredentials) => login_page(
            StatusCode::UNAUTHORIZED,
            &expected,
            &form.username,
            Some("用户名或密码错误"),
        ),
        Err(e) => error_page(&e, None),
    }
}

#[derive(Deserialize)]
pub(super) struct CsrfForm {
    #[serde(default)]
    csrf: String,
}

async fn logout(state: web::Data<AppState>, req: HttpRequest, form: web::Form<CsrfForm>) -> HttpResponse {
    let signed = match require_form(&state, &req, &form.csrf).await {
        Ok(s) => s,
        Err(r) => return r,
    };
    if let Err(e) = sessions::end(&state, &signed.ctx.token_hash).await {
        return error_page(&e, None);
    }
    let mut r = see_other("/console/login");
    match r.add_removal_cookie(&cookie(&state, SESSION, String::new(), 0)) {
        Ok(()) => r,
        Err(e) => error_page(&ApiError::internal(e), None),
    }
}

async fn not_found(state: web::Data<AppState>, req: HttpRequest) -> HttpResponse {
    let signed = signed_in(&state, &req).await.ok().flatten();
    error_page(&ApiError::NotFound, signed.as_ref().map(Signed::viewer).as_ref())
}

/// A form's optional text field: None when left empty (services read absent, not blank).
pub(super) fn given(s: &str) -> Option<String> {
    Some(s.trim()).filter(|v| !v.is_empty()).map(str::to_string)
}

/// After a decision form: on to `back` when it was done; the page again (`again`, given the
/// refusal to show) when it was refused (422, 409); the error page otherwise.
pub(super) async fn after_form<T, F, Fut>(
    s: &Signed,
    title: &str,
    done: Result<T, ApiError>,
    back: impl FnOnce(&T) -> String,
    again: F,
) -> HttpResponse
where
    F: FnOnce(String) -> Fut,
    Fut: std::future::Future<Output = Result<String, ApiError>>,
{
    match done {
        Ok(v) => see_other(&back(&v)),
        Err(e) if matches!(e, ApiError::Validation(_) | ApiError::Conflict(..)) => {
            match again(tickets::refusal_text(&e)).await {
                Ok(b) => {
                    page::html(actix_web::ResponseError::status_code(&e)).body(page::page(title, Some(&s.viewer()), &b))
                }
                Err(e) => page::error_page(&e, Some(&s.viewer())),
            }
        }
        Err(e) => page::error_page(&e, Some(&s.viewer())),
    }
}
