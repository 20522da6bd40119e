//! HTTP surface: thin handlers, one file per resource, and the one table that both registers
//! every route and lets a test check that each is in the OpenAPI document.
pub mod access;
pub mod autodebit;
pub mod billing;
pub mod collection;
pub mod console;
pub mod extract;
pub mod health;
pub mod inbox;
pub mod payments;
pub mod plans;
pub mod points;
pub mod reports;
pub mod sandbox;
pub mod setup;
pub mod tickets;
pub mod transparency;
pub mod uploads;

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
        route!(get, "/api/v1/me/bills", billing::owner::list),
        route!(get, "/api/v1/me/bills/{id}", billing::owner::get),
        route!(get, "/api/v1/me/arrears", billing::owner::arrears),
        route!(get, "/api/v1/me/prepay-quote", billing::owner::prepay_quote),
        route!(post, "/api/v1/auth/wechat/login", access::auth::wechat_login),
        route!(post, "/api/v1/auth/staff/login", access::auth::staff_login),
        route!(post, "/api/v1/auth/logout", access::auth::logout),
        route!(get, "/api/v1/me", access::me::me),
        route!(post, "/api/v1/me/phone", access::me::bind_phone),
        route!(get, "/api/v1/me/units", access::me::my_units),
        route!(get, "/api/v1/me/units/{id}", access::me::my_unit),
        route!(post, "/api/v1/me/consents", access::me::consent),
        route!(post, "/api/v1/me/uploads", uploads::owner_upload),
        route!(get, "/api/v1/me/uploads/{id}", uploads::owner_get),
        route!(post, "/api/v1/staff/uploads", uploads::staff_upload),
        route!(get, "/api/v1/staff/uploads/{id}", uploads::staff_get),
        route!(get, "/api/v1/staff/inbox", inbox::list),
        route!(post, "/api/v1/staff/inbox/read-all", inbox::read_all),
        route!(post, "/api/v1/staff/inbox/{id}/read", inbox::read),
        route!(post, "/api/v1/payments", payments::create),
        route!(get, "/api/v1/payments/{id}", payments::get),
        route!(get, "/api/v1/me/payments", payments::mine),
        route!(get, "/api/v1/payments/{id}/receipt", payments::receipt),
        route!(get, "/api/v1/staff/payments/{id}/receipt.html", payments::receipt_html),
        route!(post, "/api/v1/staff/payments/counter", payments::counter),
        route!(get, "/api/v1/staff/payments/summary", payments::summary),
        route!(post, "/api/v1/staff/payments/{id}/refunds", payments::refund),
        route!(get, "/api/v1/staff/payments/{id}/refunds", payments::refunds_of),
        route!(
            post,
            "/api/v1/staff/refunds/{id}/transferred",
            payments::refund_transferred
        ),
        route!(get, "/api/v1/staff/payment-exceptions", payments::exceptions),
        route!(post, "/api/v1/notify/wechatpay", payments::wechatpay),
        route!(post, "/api/v1/notify/alipay", payments::alipay),
        route!(post, "/api/v1/staff/fee-items", billing::staff::create_item),
        route!(get, "/api/v1/staff/fee-items", billing::staff::list_items),
        route!(get, "/api/v1/staff/fee-items/{id}", billing::staff::get_item),
        route!(patch, "/api/v1/staff/fee-items/{id}", billing::staff::update_item),
        route!(post, "/api/v1/staff/fee-items/{id}/prices", billing::staff::add_price),
        route!(post, "/api/v1/staff/billing-runs", billing::staff::run),
        route!(get, "/api/v1/staff/bills", billing::staff::list_bills),
        route!(get, "/api/v1/staff/bills/{id}", billing::staff::get_bill),
        route!(post, "/api/v1/staff/bills/{id}/waive-late-fee", billing::staff::waive),
        route!(post, "/api/v1/staff/bills/{id}/adjust", billing::staff::adjust),
        route!(post, "/api/v1/staff/bills/{id}/cancel", billing::staff::cancel),
        route!(post, "/api/v1/staff/communities", setup::communities::create),
        route!(get, "/api/v1/staff/communities", setup::communities::list),
        route!(get, "/api/v1/staff/communities/{id}", setup::communities::get),
        route!(patch, "/api/v1/staff/communities/{id}", setup::communities::update),
        route!(
            post,
            "/api/v1/staff/communities/{id}/late-fee-terms",
            setup::communities::add_terms
        ),
        route!(post, "/api/v1/staff/units", setup::units::create),
        route!(get, "/api/v1/staff/units", setup::units::list),
        route!(get, "/api/v1/staff/units/{id}", setup::units::get),
        route!(patch, "/api/v1/staff/units/{id}", setup::units::update),
        route!(post, "/api/v1/staff/units/{id}/transfer", setup::units::transfer),
        route!(post, "/api/v1/staff/owners", setup::owners::create),
        route!(get, "/api/v1/staff/owners", setup::owners::list),
        route!(get, "/api/v1/staff/owners/{id}", setup::owners::get),
        route!(patch, "/api/v1/staff/owners/{id}", setup::owners::update),
        route!(
            post,
            "/api/v1/staff/owners/{id}/reveal-phone",
            setup::owners::reveal_phone
        ),
        route!(get, "/api/v1/staff/pii-access-log", setup::owners::pii_log),
        route!(post, "/api/v1/staff/imports", setup::imports::import_csv),
        route!(get, "/api/v1/staff/imports/template", setup::imports::template),
        route!(post, "/api/v1/staff/staff-users", access::staff_users::create),
        route!(get, "/api/v1/staff/staff-users", access::staff_users::list),
        route!(patch, "/api/v1/staff/staff-users/{id}", access::staff_users::update),
        route!(post, "/api/v1/me/subscriptions", access::me::subscriptions),
        route!(put, "/api/v1/me/reminder-preferences", access::me::reminder_preferences),
        route!(
            get,
            "/api/v1/staff/communities/{id}/reminder-policy",
            collection::get_policy
        ),
        route!(
            put,
            "/api/v1/staff/communities/{id}/reminder-policy",
            collection::put_policy
        ),
        route!(post, "/api/v1/staff/reminder-runs", collection::run),
        route!(get, "/api/v1/staff/reminders", collection::list_reminders),
        route!(post, "/api/v1/staff/holds", collection::create_hold),
        route!(get, "/api/v1/staff/holds", collection::list_holds),
        route!(delete, "/api/v1/staff/holds/{id}", collection::end_hold),
        route!(get, "/api/v1/notices/{scene}", access::me::notice),
        route!(get, "/api/v1/staff/tasks", collection::list_tasks),
        route!(get, "/api/v1/staff/tasks/{id}/notice.html", collection::notice_html),
        route!(post, "/api/v1/staff/contacts", collection::contact),
        route!(get, "/api/v1/staff/units/{id}/evidence", collection::evidence_list),
        route!(
            get,
            "/api/v1/staff/units/{id}/evidence/verify",
            collection::evidence_verify
        ),
        route!(get, "/api/v1/staff/units/{id}/case-file", collection::case_file),
        route!(
            get,
            "/api/v1/staff/units/{id}/case-file.html",
            collection::case_file_html
        ),
        route!(get, "/api/v1/staff/limitation-alerts", collection::limitation_alerts),
        route!(
            post,
            "/api/v1/staff/communities/{id}/finance-reports",
            transparency::publish
        ),
        route!(
            get,
            "/api/v1/staff/communities/{id}/finance-reports",
            transparency::publication
        ),
        route!(
            get,
            "/api/v1/staff/finance-reports/{id}/attachments/{upload_id}",
            transparency::staff_attachment
        ),
        route!(get, "/api/v1/me/community/finance-reports", transparency::for_owner),
        route!(
            get,
            "/api/v1/me/community/finance-reports/{id}/attachments/{upload_id}",
            transparency::owner_attachment
        ),
        route!(get, "/api/v1/staff/reports/arrears-notice", collection::arrears_notice),
        route!(
            get,
            "/api/v1/staff/reports/arrears-notice.html",
            collection::arrears_notice_html
        ),
        route!(
            put,
            "/api/v1/staff/communities/{id}/arrears-notice-review",
            collection::set_arrears_notice_review
        ),
        route!(
            delete,
            "/api/v1/staff/communities/{id}/arrears-notice-review",
            collection::withdraw_arrears_notice_review
        ),
        route!(get, "/api/v1/staff/reports/collection", reports::collection),
        route!(get, "/api/v1/staff/reports/service", reports::service),
        route!(get, "/api/v1/staff/reports/points", reports::points_report),
        route!(get, "/api/v1/staff/reports/watch-list", reports::watch_list),
        route!(get, "/api/v1/staff/reports/reminder-timing", reports::reminder_timing),
        route!(get, "/api/v1/me/points", points::mine),
        route!(get, "/api/v1/staff/units/{id}/points", points::unit_points),
        route!(post, "/api/v1/staff/units/{id}/points/adjustments", points::adjust),
        route!(get, "/api/v1/rewards", points::rewards),
        route!(post, "/api/v1/me/redemptions", points::redeem),
        route!(get, "/api/v1/me/redemptions", points::my_redemptions),
        route!(get, "/api/v1/staff/rewards", points::staff_rewards),
        route!(post, "/api/v1/staff/rewards", points::create_reward),
        route!(patch, "/api/v1/staff/rewards/{id}", points::update_reward),
        route!(get, "/api/v1/staff/redemptions", points::staff_redemptions),
        route!(post, "/api/v1/staff/redemptions/{id}/fulfil", points::fulfil),
        route!(post, "/api/v1/staff/redemptions/{id}/cancel", points::cancel),
        route!(
            get,
            "/api/v1/staff/communities/{id}/points-settings",
            points::get_settings
        ),
        route!(
            put,
            "/api/v1/staff/communities/{id}/points-settings",
            points::put_settings
        ),
        route!(post, "/api/v1/me/autodebit", autodebit::create),
        route!(get, "/api/v1/me/autodebit", autodebit::mine),
        route!(delete, "/api/v1/me/autodebit/{id}", autodebit::cancel),
        route!(get, "/api/v1/staff/units/{id}/mandates", autodebit::of_unit),
        route!(post, "/api/v1/staff/autodebit/bank-batches", autodebit::create_batch),
        route!(
            get,
            "/api/v1/staff/autodebit/bank-batches/{id}/file",
            autodebit::batch_file
        ),
        route!(
            post,
            "/api/v1/staff/autodebit/bank-batches/{id}/results",
            autodebit::batch_results
        ),
        route!(post, "/api/v1/me/installment-requests", plans::request),
        route!(get, "/api/v1/me/installment-plans", plans::mine),
        route!(delete, "/api/v1/me/installment-plans/{id}", plans::withdraw),
        route!(post, "/api/v1/me/installment-plans/{id}/accept", plans::accept),
        route!(get, "/api/v1/staff/installment-plans", plans::list),
        route!(post, "/api/v1/staff/installment-plans/{id}/approve", plans::approve),
        route!(post, "/api/v1/staff/installment-plans/{id}/reject", plans::reject),
        route!(post, "/api/v1/me/hardship-requests", plans::hardship_request),
        route!(get, "/api/v1/me/hardship-cases", plans::my_hardship),
        route!(delete, "/api/v1/me/hardship-cases/{id}", plans::withdraw_hardship),
        route!(
            post,
            "/api/v1/me/hardship-cases/{id}/acknowledge",
            plans::acknowledge_hardship
        ),
        route!(
            get,
            "/api/v1/me/hardship-cases/{id}/photos/{upload_id}",
            plans::my_hardship_photo
        ),
        route!(get, "/api/v1/staff/hardship-cases", plans::hardship_cases),
        route!(
            get,
            "/api/v1/staff/hardship-cases/{id}/photos/{upload_id}",
            plans::hardship_photo
        ),
        route!(
            post,
            "/api/v1/staff/hardship-cases/{id}/approve",
            plans::approve_hardship
        ),
        route!(post, "/api/v1/staff/hardship-cases/{id}/reject", plans::reject_hardship),
        route!(post, "/api/v1/staff/hardship-cases/{id}/review", plans::review_hardship),
        route!(
            get,
            "/api/v1/staff/communities/{id}/vacancy-policy",
            plans::vacancy_policy
        ),
        route!(
            put,
            "/api/v1/staff/communities/{id}/vacancy-policy",
            plans::put_vacancy_policy
        ),
        route!(post, "/api/v1/me/vacancy-requests", plans::vacancy_request),
        route!(get, "/api/v1/me/vacancy-applications", plans::my_vacancy),
        route!(delete, "/api/v1/me/vacancy-applications/{id}", plans::withdraw_vacancy),
        route!(get, "/api/v1/staff/vacancy-applications", plans::vacancy_applications),
        route!(
            get,
            "/api/v1/staff/vacancy-applications/{id}/photos/{upload_id}",
            plans::vacancy_photo
        ),
        route!(
            post,
            "/api/v1/staff/vacancy-applications/{id}/inspection",
            plans::inspect_vacancy
        ),
        route!(
            post,
            "/api/v1/staff/vacancy-applications/{id}/approve",
            plans::approve_vacancy
        ),
        route!(
            post,
            "/api/v1/staff/vacancy-applications/{id}/reject",
            plans::reject_vacancy
        ),
        route!(post, "/api/v1/me/tickets", tickets::open),
        route!(get, "/api/v1/me/tickets", tickets::mine),
        route!(get, "/api/v1/me/tickets/{id}", tickets::my_ticket),
        route!(post, "/api/v1/me/tickets/{id}/messages", tickets::owner_message),
        route!(post, "/api/v1/me/tickets/{id}/rating", tickets::rate),
        route!(post, "/api/v1/me/tickets/{id}/reopen", tickets::reopen),
        route!(post, "/api/v1/me/tickets/{id}/handoff", tickets::handoff),
        route!(get, "/api/v1/me/tickets/{id}/photos/{upload_id}", tickets::my_photo),
        route!(get, "/api/v1/staff/tickets", tickets::queue),
        route!(get, "/api/v1/staff/tickets/{id}", tickets::get),
        route!(post, "/api/v1/staff/tickets/{id}/assign", tickets::assign),
        route!(post, "/api/v1/staff/tickets/{id}/messages", tickets::staff_message),
        route!(post, "/api/v1/staff/tickets/{id}/resolve", tickets::resolve),
        route!(post, "/api/v1/staff/tickets/{id}/merge", tickets::merge),
        route!(
            post,
            "/api/v1/staff/tickets/{id}/adjustments",
            tickets::request_adjustment
        ),
        route!(get, "/api/v1/staff/adjustments", tickets::adjustment_queue),
        route!(get, "/api/v1/staff/adjustments/{id}", tickets::adjustment),
        route!(
            post,
            "/api/v1/staff/adjustments/{id}/approve",
            tickets::approve_adjustment
        ),
        route!(
            post,
            "/api/v1/staff/adjustments/{id}/reject",
            tickets::reject_adjustment
        ),
        route!(
            get,
            "/api/v1/staff/tickets/{id}/photos/{upload_id}",
            tickets::staff_photo
        ),
        route!(get, "/api/v1/staff/communities/{id}/ticket-sla", tickets::get_sla),
        route!(put, "/api/v1/staff/communities/{id}/ticket-sla", tickets::put_sla),
    ];
    if demo {
        t.push(route!(post, "/api/v1/auth/demo/login", access::auth::demo_login));
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
    console::configure(cfg);
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
        access::auth::wechat_login, access::auth::staff_login, access::auth::demo_login, access::auth::logout,
        access::me::me, access::me::bind_phone, access::me::my_units, access::me::my_unit, access::me::consent,
        billing::owner::list, billing::owner::get, billing::owner::arrears, billing::owner::prepay_quote,
        payments::create, payments::get, payments::mine, payments::counter, payments::exceptions,
        payments::wechatpay, payments::alipay, payments::refund, payments::refunds_of, payments::refund_transferred, payments::summary,
        payments::receipt, payments::receipt_html, payments::sandbox,
        billing::staff::create_item, billing::staff::list_items, billing::staff::get_item, billing::staff::update_item,
        billing::staff::add_price, billing::staff::run, billing::staff::list_bills, billing::staff::get_bill,
        billing::staff::waive, billing::staff::adjust, billing::staff::cancel,
        setup::communities::create, setup::communities::list, setup::communities::get, setup::communities::update,
        setup::communities::add_terms,
        setup::units::create, setup::units::list, setup::units::get, setup::units::update, setup::units::transfer,
        setup::owners::create, setup::owners::list, setup::owners::get, setup::owners::update, setup::owners::reveal_phone,
        setup::owners::pii_log,
        setup::imports::import_csv, setup::imports::template,
        access::staff_users::create, access::staff_users::list, access::staff_users::update,
        access::me::subscriptions, access::me::reminder_preferences,
        collection::get_policy, collection::put_policy, collection::run, collection::list_reminders,
        collection::create_hold, collection::list_holds, collection::end_hold, access::me::notice, collection::list_tasks, collection::notice_html,
        collection::contact, collection::evidence_list, collection::evidence_verify,
        collection::case_file, collection::case_file_html, collection::limitation_alerts,
        collection::arrears_notice, collection::arrears_notice_html, collection::set_arrears_notice_review,
        collection::withdraw_arrears_notice_review, transparency::publish, transparency::publication,
        transparency::staff_attachment, transparency::for_owner, transparency::owner_attachment,
        reports::collection, reports::service, reports::points_report, reports::watch_list,
        reports::reminder_timing,
        uploads::owner_upload, uploads::owner_get, uploads::staff_upload, uploads::staff_get,
        inbox::list, inbox::read, inbox::read_all,
        tickets::open, tickets::mine, tickets::my_ticket, tickets::owner_message, tickets::rate, tickets::reopen, tickets::handoff,
        tickets::my_photo, tickets::queue, tickets::get, tickets::assign, tickets::staff_message, tickets::resolve,
        tickets::merge, tickets::staff_photo, tickets::get_sla, tickets::put_sla, tickets::request_adjustment,
        points::mine, points::unit_points, points::adjust, points::rewards, points::redeem, points::my_redemptions,
        points::staff_rewards, points::create_reward, points::update_reward, points::staff_redemptions, points::fulfil, points::cancel,
        points::get_settings, points::put_settings,
        autodebit::create, autodebit::mine, autodebit::cancel, autodebit::of_unit, autodebit::create_batch,
        autodebit::batch_file, autodebit::batch_results,
        plans::request, plans::mine, plans::withdraw, plans::accept, plans::list, plans::approve, plans::reject,
        plans::hardship_request, plans::my_hardship, plans::withdraw_hardship, plans::acknowledge_hardship,
        plans::my_hardship_photo, plans::hardship_cases, plans::hardship_photo, plans::approve_hardship,
        plans::reject_hardship, plans::review_hardship, plans::vacancy_policy, plans::put_vacancy_policy,
        plans::vacancy_request, plans::my_vacancy, plans::withdraw_vacancy, plans::vacancy_applications,
        plans::vacancy_photo, plans::inspect_vacancy, plans::approve_vacancy, plans::reject_vacancy,
        tickets::adjustment_queue, tickets::adjustment, tickets::approve_adjustment, tickets::reject_adjustment,
    ),
    components(schemas(crate::error::ErrorBody, crate::error::ImportRowError, crate::services::billing::owner::StatusFilter))
)]
pub struct ApiDoc;
