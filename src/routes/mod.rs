//! HTTP surface: thin handlers, one file per resource, and the one table that both registers
//! every route and lets a test check that each is in the OpenAPI document.
pub mod auth;
pub mod bills;
pub mod extract;
pub mod health;
pub mod me;
pub mod payments;
pub mod sandbox;
pub mod staff;

use crate::error::ApiError;
use actix_web::web;
use utoipa::OpenApi;

/// One registered route.
pub struct Route {
    pub method: &'static str,
    pub path: &'static str,
    register: fn(&mut web::ServiceConfig),
}

macro_rules! route {
    ($method:ident, $path:literal, $handler:path) => {
        Route {
            method: stringify!($method),
            path: $path,
            register: |cfg| {
                cfg.route($path, web::$method().to($handler));
            },
        }
    };
}

/// Every route the app serves (`demo` adds the demo login).
pub fn table(demo: bool) -> Vec<Route> {
    let mut t = vec![
        route!(get, "/healthz", health::healthz),
        route!(get, "/readyz", health::readyz),
        route!(get, "/metrics", health::metrics),
        // Owner look-ups first: actix tries routes in order, and these are the hot ones.
        route!(get, "/api/v1/me/bills", bills::list),
        route!(get, "/api/v1/me/bills/{id}", bills::get),
        route!(get, "/api/v1/me/arrears", bills::arrears),
        route!(get, "/api/v1/me/prepay-quote", bills::prepay_quote),
        route!(post, "/api/v1/auth/wechat/login", auth::wechat_login),
        route!(post, "/api/v1/auth/staff/login", auth::staff_login),
        route!(post, "/api/v1/auth/logout", auth::logout),
        route!(get, "/api/v1/me", me::me),
        route!(post, "/api/v1/me/phone", me::bind_phone),
        route!(get, "/api/v1/me/units", me::my_units),
        route!(get, "/api/v1/me/units/{id}", me::my_unit),
        route!(post, "/api/v1/me/consents", me::consent),
        route!(post, "/api/v1/payments", payments::create),
        route!(get, "/api/v1/payments/{id}", payments::get),
        route!(get, "/api/v1/me/payments", payments::mine),
        route!(get, "/api/v1/payments/{id}/receipt", payments::receipt),
        route!(get, "/api/v1/staff/payments/{id}/receipt.html", payments::receipt_html),
        route!(post, "/api/v1/staff/payments/counter", payments::counter),
        route!(get, "/api/v1/staff/payments/summary", payments::summary),
        route!(post, "/api/v1/staff/payments/{id}/refunds", payments::refund),
        route!(get, "/api/v1/staff/payments/{id}/refunds", payments::refunds_of),
        route!(get, "/api/v1/staff/payment-exceptions", payments::exceptions),
        route!(post, "/api/v1/notify/wechatpay", payments::wechatpay),
        route!(post, "/api/v1/notify/alipay", payments::alipay),
        route!(post, "/api/v1/staff/fee-items", staff::billing::create_item),
        route!(get, "/api/v1/staff/fee-items", staff::billing::list_items),
        route!(get, "/api/v1/staff/fee-items/{id}", staff::billing::get_item),
        route!(patch, "/api/v1/staff/fee-items/{id}", staff::billing::update_item),
        route!(post, "/api/v1/staff/fee-items/{id}/prices", staff::billing::add_price),
        route!(post, "/api/v1/staff/billing-runs", staff::billing::run),
        route!(get, "/api/v1/staff/bills", staff::billing::list_bills),
        route!(get, "/api/v1/staff/bills/{id}", staff::billing::get_bill),
        route!(post, "/api/v1/staff/bills/{id}/waive-late-fee", staff::billing::waive),
        route!(post, "/api/v1/staff/bills/{id}/adjust", staff::billing::adjust),
        route!(post, "/api/v1/staff/bills/{id}/cancel", staff::billing::cancel),
        route!(post, "/api/v1/staff/communities", staff::communities::create),
        route!(get, "/api/v1/staff/communities", staff::communities::list),
        route!(get, "/api/v1/staff/communities/{id}", staff::communities::get),
        route!(patch, "/api/v1/staff/communities/{id}", staff::communities::update),
        route!(
            post,
            "/api/v1/staff/communities/{id}/late-fee-terms",
            staff::communities::add_terms
        ),
        route!(post, "/api/v1/staff/units", staff::units::create),
        route!(get, "/api/v1/staff/units", staff::units::list),
        route!(get, "/api/v1/staff/units/{id}", staff::units::get),
        route!(patch, "/api/v1/staff/units/{id}", staff::units::update),
        route!(post, "/api/v1/staff/units/{id}/transfer", staff::units::transfer),
        route!(post, "/api/v1/staff/owners", staff::owners::create),
        route!(get, "/api/v1/staff/owners", staff::owners::list),
        route!(get, "/api/v1/staff/owners/{id}", staff::owners::get),
        route!(patch, "/api/v1/staff/owners/{id}", staff::owners::update),
        route!(
            post,
            "/api/v1/staff/owners/{id}/reveal-phone",
            staff::owners::reveal_phone
        ),
        route!(get, "/api/v1/staff/pii-access-log", staff::owners::pii_log),
        route!(post, "/api/v1/staff/imports", staff::imports::import_csv),
        route!(get, "/api/v1/staff/imports/template", staff::imports::template),
        route!(post, "/api/v1/staff/staff-users", staff::staff_users::create),
        route!(get, "/api/v1/staff/staff-users", staff::staff_users::list),
        route!(patch, "/api/v1/staff/staff-users/{id}", staff::staff_users::update),
        route!(post, "/api/v1/me/subscriptions", me::subscriptions),
        route!(put, "/api/v1/me/reminder-preferences", me::reminder_preferences),
        route!(
            get,
            "/api/v1/staff/communities/{id}/reminder-policy",
            staff::reminders::get_policy
        ),
        route!(
            put,
            "/api/v1/staff/communities/{id}/reminder-policy",
            staff::reminders::put_policy
        ),
        route!(post, "/api/v1/staff/reminder-runs", staff::reminders::run),
        route!(get, "/api/v1/staff/reminders", staff::reminders::list_reminders),
        route!(post, "/api/v1/staff/holds", staff::reminders::create_hold),
        route!(get, "/api/v1/staff/holds", staff::reminders::list_holds),
        route!(delete, "/api/v1/staff/holds/{id}", staff::reminders::end_hold),
        route!(get, "/api/v1/notices/{scene}", me::notice),
        route!(get, "/api/v1/staff/tasks", staff::reminders::list_tasks),
        route!(
            get,
            "/api/v1/staff/tasks/{id}/notice.html",
            staff::reminders::notice_html
        ),
        route!(post, "/api/v1/staff/contacts", staff::reminders::contact),
        route!(
            get,
            "/api/v1/staff/units/{id}/evidence",
            staff::reminders::evidence_list
        ),
        route!(
            get,
            "/api/v1/staff/units/{id}/evidence/verify",
            staff::reminders::evidence_verify
        ),
        route!(get, "/api/v1/staff/units/{id}/case-file", staff::reminders::case_file),
        route!(
            get,
            "/api/v1/staff/units/{id}/case-file.html",
            staff::reminders::case_file_html
        ),
        route!(
            get,
            "/api/v1/staff/limitation-alerts",
            staff::reminders::limitation_alerts
        ),
    ];
    if demo {
        t.push(route!(post, "/api/v1/auth/demo/login", auth::demo_login));
        t.push(route!(post, "/api/v1/notify/sandbox", payments::sandbox));
    }
    t
}

/// Registers the routes, the path extractor's error handler (query strings go through
/// `extract::Query`, which names the field) and the JSON 404 fallback.
pub fn configure(cfg: &mut web::ServiceConfig, demo: bool) {
    cfg.app_data(web::PathConfig::default().error_handler(|_, _| ApiError::NotFound.into()));
    for r in table(demo) {
        (r.register)(cfg);
    }
    if demo {
        sandbox::configure(cfg);
    }
    cfg.default_service(web::to(|| async {
        Err::<actix_web::HttpResponse, _>(ApiError::NotFound)
    }));
}

struct BearerAuth;
impl utoipa::Modify for BearerAuth {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(HttpBuilder::new().scheme(HttpAuthScheme::Bearer).build()),
        );
    }
}

/// Declares the error answers every operation can give, from what it takes: any API call can find
/// a dependency down (503); one with a bearer can be 401/403; one with a path id, 404; one with
/// query parameters or a body, 400 (malformed, wrong types) and 422 (a field refused); one with a
/// body, 413; logins and gateway notifications, 429. Answers an operation documents itself are
/// kept as they are.
struct StandardErrors;
impl utoipa::Modify for StandardErrors {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        use utoipa::openapi::path::{Operation, ParameterIn};
        use utoipa::openapi::{ContentBuilder, Ref, RefOr, ResponseBuilder};
        let error = |why: &str| -> RefOr<utoipa::openapi::Response> {
            RefOr::T(
                ResponseBuilder::new()
                    .description(why)
                    .content(
                        "application/json",
                        ContentBuilder::new()
                            .schema(Some(Ref::from_schema_name("ErrorBody")))
                            .build(),
                    )
                    .build(),
            )
        };
        let add = |op: &mut Operation, path: &str| {
            let params = op.parameters.as_deref().unwrap_or_default();
            let has_path = params.iter().any(|p| p.parameter_in == ParameterIn::Path);
            let has_query = params.iter().any(|p| p.parameter_in == ParameterIn::Query);
            let has_body = op.request_body.is_some();
            let secured = op.security.as_ref().is_some_and(|s| !s.is_empty());
            let mut wanted: Vec<(&str, &str)> = Vec::new();
            if path.starts_with("/api/") {
                wanted.push(("503", "UNAVAILABLE: a dependency (database, Redis, a gateway) is down"));
            }
            if secured {
                wanted.push(("401", "UNAUTHENTICATED: no, unknown or ended session"));
                wanted.push(("403", "FORBIDDEN: the role may not do this"));
            }
            if has_path || secured {
                wanted.push(("404", "NOT_FOUND: no such resource, or not the caller's"));
            }
            if has_query || has_body {
                wanted.push(("400", "BAD_REQUEST: malformed input or a wrong type (details.fields)"));
                wanted.push(("422", "VALIDATION_FAILED: a field was refused (details.fields)"));
            }
            if has_body {
                wanted.push(("413", "PAYLOAD_TOO_LARGE"));
            }
            if path.starts_with("/api/v1/auth/") || path.starts_with("/api/v1/notify/") {
                wanted.push(("429", "RATE_LIMITED"));
            }
            for (code, why) in wanted {
                op.responses
                    .responses
                    .entry(code.to_string())
                    .or_insert_with(|| error(why));
            }
        };
        for (path, item) in openapi.paths.paths.iter_mut() {
            for op in [
                &mut item.get,
                &mut item.post,
                &mut item.put,
                &mut item.patch,
                &mut item.delete,
            ]
            .into_iter()
            .flatten()
            {
                add(op, path);
            }
        }
    }
}

/// The OpenAPI document served at `/api-docs/openapi.json`.
#[derive(OpenApi)]
#[openapi(
    info(title = "wuye API", description = "物业缴费 owner app and staff API (see shared/API.md)"),
    modifiers(&BearerAuth, &StandardErrors),
    paths(
        health::healthz, health::readyz, health::metrics,
        auth::wechat_login, auth::staff_login, auth::demo_login, auth::logout,
        me::me, me::bind_phone, me::my_units, me::my_unit, me::consent,
        bills::list, bills::get, bills::arrears, bills::prepay_quote,
        payments::create, payments::get, payments::mine, payments::counter, payments::exceptions,
        payments::wechatpay, payments::alipay, payments::refund, payments::refunds_of, payments::summary,
        payments::receipt, payments::receipt_html, payments::sandbox,
        staff::billing::create_item, staff::billing::list_items, staff::billing::get_item, staff::billing::update_item,
        staff::billing::add_price, staff::billing::run, staff::billing::list_bills, staff::billing::get_bill,
        staff::billing::waive, staff::billing::adjust, staff::billing::cancel,
        staff::communities::create, staff::communities::list, staff::communities::get, staff::communities::update,
        staff::communities::add_terms,
        staff::units::create, staff::units::list, staff::units::get, staff::units::update, staff::units::transfer,
        staff::owners::create, staff::owners::list, staff::owners::get, staff::owners::update, staff::owners::reveal_phone,
        staff::owners::pii_log,
        staff::imports::import_csv, staff::imports::template,
        staff::staff_users::create, staff::staff_users::list, staff::staff_users::update,
        me::subscriptions, me::reminder_preferences,
        staff::reminders::get_policy, staff::reminders::put_policy, staff::reminders::run, staff::reminders::list_reminders,
        staff::reminders::create_hold, staff::reminders::list_holds, staff::reminders::end_hold, me::notice, staff::reminders::list_tasks, staff::reminders::notice_html,
        staff::reminders::contact, staff::reminders::evidence_list, staff::reminders::evidence_verify,
        staff::reminders::case_file, staff::reminders::case_file_html, staff::reminders::limitation_alerts,
    ),
    components(schemas(crate::error::ErrorBody, crate::error::ImportRowError, crate::services::bills::StatusFilter))
)]
pub struct ApiDoc;
