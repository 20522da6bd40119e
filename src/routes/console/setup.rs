//! 设置: the setup pages. Billing runs and imports are started here as jobs (the page that follows
//! them is `jobs`); the rest reads and edits setup through the same services as the API.
use super::page::{error_page, html, page};
use super::{community_names, community_options, read_multipart, require_form, require_signed, Signed};
use crate::domain::text::esc;
use crate::services::access::staff::actor_names;
use crate::services::billing::runs::{self, RunRequest};
use crate::services::jobs::Ask;
use crate::services::setup::import;
use crate::state::AppState;
use actix_multipart::Multipart;
use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};
use serde::Deserialize;

/// The setup pages, for the index and each page's sub-navigation.
const PAGES: [(&str, &str); 7] = [
    ("/console/setup/communities", "小区与滞纳金"),
    ("/console/setup/fee-items", "收费项目与单价"),
    ("/console/setup/billing-runs", "开账"),
    ("/console/setup/imports", "导入房屋和业主"),
    ("/console/setup/staff", "员工与角色"),
    ("/console/setup/audit-log", "操作日志"),
    ("/console/setup/pii-log", "个人信息查看记录"),
];

pub(super) fn subnav(current: &str) -> String {
    let links: Vec<String> = PAGES
        .iter()
        .map(|(href, name)| {
            if *href == current {
                format!("<strong>{name}</strong>")
            } else {
                format!("<a href=\"{href}\">{name}</a>")
            }
        })
        .collect();
    format!("<nav class=\"sub\" aria-label=\"设置\">{}</nav>", links.join(" · "))
}

/// `GET /console/setup`.
pub(super) async fn index(state: web::Data<AppState>, req: HttpRequest) -> HttpResponse {
    let s = match require_signed(&state, &req).await {
        Ok(s) => s,
        Err(r) => return r,
    };
    let body = format!("<h1>设置</h1>{}", subnav(""));
    html(StatusCode::OK).body(page("设置", Some(&s.viewer()), &body))
}

#[derive(Deserialize)]
pub(super) struct CommunityQuery {
    community_id: Option<i32>,
}

/// `GET /console/setup/billing-runs`: the form that starts a run, and the runs so far.
pub(super) async fn billing_runs(
    state: web::Data<AppState>,
    req: HttpRequest,
    q: web::Query<CommunityQuery>,
) -> HttpResponse {
    let s = match require_signed(&state, &req).await {
        Ok(s) => s,
        Err(r) => return r,
    };
    s.respond("开账", billing_runs_page(&state, &s, q.community_id).await)
}

async fn billing_runs_page(
    state: &AppState,
    s: &Signed,
    community_id: Option<i32>,
) -> Result<String, crate::error::ApiError> {
    let (names, list) = tokio::try_join!(
        community_names(state, &s.ctx),
        runs::recent(state, &s.ctx, community_id, 100)
    )?;
    let actors: Vec<&str> = list.iter().map(|r| r.actor.as_str()).collect();
    let who = actor_names(state, &actors).await?;
    let may = s.ctx.role.may(crate::domain::role::Action::ManageBilling);
    let next = state
        .today()
        .checked_add_months(chrono::Months::new(1))
        .unwrap_or(state.today());
    let form = format!(
        "<form class=\"inline\" method=\"post\" action=\"/console/setup/billing-runs\"><input type=\"hidden\" name=\"csrf\" value=\"{}\">\
         <label for=\"run-community\">小区<select id=\"run-community\" name=\"community_id\" required>{}</select></label>\
         <label for=\"run-period\">账期（月、季或年）<input id=\"run-period\" name=\"period\" required placeholder=\"{}\" value=\"{}\"></label>\
         <label for=\"run-issued-on\">开票日期（仅补录旧系统已开的账单时填写）<input id=\"run-issued-on\" name=\"issued_on\" type=\"date\"></label>\
         <button type=\"submit\">开账</button></form>",
        esc(&s.csrf),
        community_options(&names, community_id, None),
        next.format("%Y-%m"),
        next.format("%Y-%m"),
    );
    let mut out = format!(
        "<h1>开账</h1>{}<p class=\"muted\">按小区和账期生成账单；同一小区同一账期重复开账不会重复生成。系统每月也会按设置自动开下月账单。</p>{}",
        subnav("/console/setup/billing-runs"),
        if may { form.as_str() } else { "" }
    );
    if list.is_empty() {
        out.push_str("<p id=\"runs-empty\">还没有开账记录。</p>");
        return Ok(out);
    }
    out.push_str(
        "<h2>开账记录</h2><table id=\"billing-runs\"><tr><th>小区</th><th>账期</th><th class=\"num\">新生成</th><th class=\"num\">已有</th><th>发起人</th><th>完成时间</th></tr>",
    );
    for r in &list {
        let name = names
            .iter()
            .find(|(c, _)| *c == r.community_id)
            .map_or(String::new(), |(_, n)| n.clone());
        out.push_str(&format!(
            "<tr><td>{}</td><td><a href=\"/console/?community_id={}&amp;period={}\">{}</a></td><td class=\"num\">{}</td><td class=\"num\">{}</td><td>{}</td><td>{}</td></tr>",
            esc(&name),
            r.community_id,
            esc(&r.period),
            esc(&r.period),
            r.bills_created,
            r.bills_existing,
            esc(who.get(&r.actor).map_or(r.actor.as_str(), String::as_str)),
            r.finished_at.format("%Y-%m-%d %H:%M UTC")
        ));
    }
    out.push_str("</table>");
    Ok(out)
}

#[derive(Deserialize)]
pub(super) struct RunForm {
    #[serde(default)]
    csrf: String,
    community_id: Option<i32>,
    #[serde(default)]
    period: String,
    #[serde(default)]
    issued_on: String,
}

/// `POST /console/setup/billing-runs`: queues the run and opens its job page.
pub(super) async fn start_run(state: web::Data<AppState>, req: HttpRequest, form: web::Form<RunForm>) -> HttpResponse {
    let s = match require_form(&state, &req, &form.csrf).await {
        Ok(s) => s,
        Err(r) => return r,
    };
    let ask = Ask::BillingRun(RunRequest {
        community_id: form.community_id.unwrap_or(0),
        period: form.period.trim().to_string(),
        issued_on: Some(form.issued_on.trim().to_string()).filter(|d| !d.is_empty()),
    });
    super::jobs::start(&state, &s, ask).await
}

/// `GET /console/setup/imports`: the upload form and the template.
pub(super) async fn imports(
    state: web::Data<AppState>,
    req: HttpRequest,
    q: web::Query<CommunityQuery>,
) -> HttpResponse {
    let s = match require_signed(&state, &req).await {
        Ok(s) => s,
        Err(r) => return r,
    };
    let names = match community_names(&state, &s.ctx).await {
        Ok(n) => n,
        Err(e) => return error_page(&e, Some(&s.viewer())),
    };
    let form = import_form(&s, &names, q.community_id);
    let body = format!(
        "<h1>导入房屋和业主</h1>{}\
         <p>上传 CSV（UTF-8 或 GBK）或 Excel（.xlsx）文件，第一行为表头：楼栋、房号、建筑面积、业主姓名、业主手机号（或 building、unit_code、area_m2、owner_name、owner_phone）。\
         同一房屋有多位业主时每人一行。整份文件全部正确才会导入；有错误时逐行逐列列出，本次不导入任何数据。</p>\
         <p>模板：<a href=\"/console/setup/imports/template.csv\">CSV</a> · <a href=\"/console/setup/imports/template.xlsx\">Excel</a></p>{}",
        subnav("/console/setup/imports"),
        if s.ctx.role.may(crate::domain::role::Action::EditUnitsAndOwners) {
            form.as_str()
        } else {
            "<p class=\"muted\">您的角色不能导入房屋和业主。</p>"
        }
    );
    html(StatusCode::OK).body(page("导入房屋和业主", Some(&s.viewer()), &body))
}

fn import_form(s: &Signed, names: &[(i32, String)], selected: Option<i32>) -> String {
    format!(
        "<form class=\"inline\" method=\"post\" action=\"/console/setup/imports\" enctype=\"multipart/form-data\"><input type=\"hidden\" name=\"csrf\" value=\"{}\">\
         <label for=\"import-community\">小区<select id=\"import-community\" name=\"community_id\" required>{}</select></label>\
         <label for=\"import-file\">文件<input id=\"import-file\" name=\"file\" type=\"file\" required accept=\".csv,.xlsx,text/csv,application/vnd.openxmlformats-officedocument.spreadsheetml.sheet\"></label>\
         <button type=\"submit\">上传并导入</button></form>",
        esc(&s.csrf),
        community_options(names, selected, None)
    )
}

/// `POST /console/setup/imports` (multipart): queues the import and opens its job page.
pub(super) async fn start_import(state: web::Data<AppState>, req: HttpRequest, form: Multipart) -> HttpResponse {
    let s = match require_signed(&state, &req).await {
        Ok(s) => s,
        Err(r) => return r,
    };
    let limit = state.settings.server.import_limit_bytes;
    let (fields, file) = match read_multipart(form, "file", limit, "文件过大").await {
        Ok(f) => f,
        Err(e) => return error_page(&e, Some(&s.viewer())),
    };
    if let Some(r) = s.refuse_forged(fields.get("csrf").map_or("", String::as_str)) {
        return r;
    }
    let community_id = fields
        .get("community_id")
        .and_then(|c| c.trim().parse().ok())
        .unwrap_or(0);
    super::jobs::start(&state, &s, Ask::Import { community_id, file }).await
}

/// `GET /console/setup/imports/template.{csv,xlsx}`.
pub(super) async fn template(state: web::Data<AppState>, req: HttpRequest, ext: web::Path<String>) -> HttpResponse {
    let s = match require_signed(&state, &req).await {
        Ok(s) => s,
        Err(r) => return r,
    };
    let (bytes, content_type) = match ext.as_str() {
        "csv" => (Ok(import::template_csv()), "text/csv; charset=utf-8"),
        "xlsx" => (
            import::template_xlsx(),
            "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        ),
        _ => return error_page(&crate::error::ApiError::NotFound, Some(&s.viewer())),
    };
    match bytes {
        Ok(b) => HttpResponse::Ok()
            .content_type(content_type)
            .insert_header((
                "Content-Disposition",
                format!("attachment; filename=\"import-template.{}\"", ext.as_str()),
            ))
            .body(b),
        Err(e) => error_page(&e, Some(&s.viewer())),
    }
}
