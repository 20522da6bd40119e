//! The console's page frame, its error pages and the headers every console answer carries.
use crate::domain::role::{Action, Role};
use crate::domain::text::esc;
use crate::error::ApiError;
use actix_web::http::StatusCode;
use actix_web::{HttpResponse, HttpResponseBuilder, ResponseError};

const STYLE: &str = "\
*{box-sizing:border-box}body{margin:0;font:15px/1.6 system-ui,'Noto Sans CJK SC',sans-serif;color:#1f2933;background:#f5f7fa}\
header{display:flex;align-items:center;gap:24px;padding:10px 24px;background:#134e4a;color:#fff}\
header a{color:#fff;text-decoration:none}header .brand{font-weight:600;font-size:17px}header form{margin-left:auto}\
main{max-width:1200px;margin:0 auto;padding:20px 24px}h1{font-size:22px;margin:0 0 16px}h2{font-size:17px;margin:24px 0 8px}\
.cards{display:grid;grid-template-columns:repeat(auto-fit,minmax(220px,1fr));gap:12px}\
.card{background:#fff;border:1px solid #d9e2ec;border-radius:6px;padding:12px 16px}.card .big{font-size:28px;font-weight:600}\
table{border-collapse:collapse;width:100%;background:#fff}th,td{border:1px solid #d9e2ec;padding:6px 10px;text-align:left}\
td.num,th.num{text-align:right;font-variant-numeric:tabular-nums}\
form.inline,fieldset.inline{display:flex;flex-wrap:wrap;gap:12px;align-items:end;margin-bottom:16px}fieldset.inline{border:0;padding:0;margin:0}\
label{display:flex;flex-direction:column;font-size:13px;color:#52606d}input,select,textarea,button{font:inherit;padding:6px 8px}nav.sub{margin:0 0 16px}\
button{background:#0f766e;color:#fff;border:0;border-radius:4px;cursor:pointer}button.link{background:none;color:#fff;padding:0}\
.badge{display:inline-block;min-width:18px;margin-left:4px;padding:0 5px;border-radius:9px;background:#dc2626;color:#fff;font-size:12px;text-align:center}\
tr.unread td{font-weight:600}a.behind{font-size:13px;margin-left:6px}.error{color:#b91c1c}.ok{color:#166534}.muted{color:#52606d}td.pre{white-space:pre-line}.login{max-width:360px;margin:10vh auto;background:#fff;padding:24px;border:1px solid #d9e2ec;border-radius:6px}\
.login form{display:flex;flex-direction:column;gap:12px}\
svg.chart{width:100%;height:auto;background:#fff;border:1px solid #d9e2ec}svg .grid{stroke:#e4e7eb}svg .axis{font-size:11px;fill:#52606d}\
svg .line{fill:none;stroke:#0f766e;stroke-width:2}svg .dot{fill:#0f766e}\
@media (max-width:800px){main{padding:12px}header{flex-wrap:wrap;gap:12px}}\
@media print{header,form{display:none}}";

/// Who is signed in, for the page frame.
pub struct Viewer<'a> {
    pub username: &'a str,
    pub role: &'a str,
    /// The session's CSRF token, for the sign-out form.
    pub csrf: &'a str,
    pub unread: u64,
}

/// A whole page: frame, navigation (when signed in) and `body` (already escaped HTML).
pub fn page(title: &str, viewer: Option<&Viewer<'_>>, body: &str) -> String {
    let nav = match viewer {
        Some(v) => format!(
            "<header><a class=\"brand\" href=\"/console/\">wuye 物业收费</a><nav><a href=\"/console/\">总览</a> <a href=\"/console/counter\">收费</a> <a href=\"/console/units\">房屋</a> <a href=\"/console/bills\">账单</a> <a href=\"/console/collection\">催缴</a> <a href=\"/console/tasks\">催缴任务</a> <a href=\"/console/tickets\">工单</a> <a id=\"autodebit-link\" href=\"/console/autodebit\">自动扣款</a> {}{}{}\
             <a href=\"/console/jobs\">任务</a> <a href=\"/console/setup\">设置</a> \
             <a id=\"inbox-link\" href=\"/console/inbox\">收件箱{}</a></nav>\
             <form method=\"post\" action=\"/console/logout\"><span>{} · {}</span> \
             <input type=\"hidden\" name=\"csrf\" value=\"{}\"><button class=\"link\" type=\"submit\">退出</button></form></header>",
            // Only those who decide bill corrections are pointed at the queue of them.
            if Role::parse(v.role).is_some_and(|r| r.may(Action::ManageBilling)) {
                "<a href=\"/console/adjustments\">调整审批</a> <a id=\"installments-link\" href=\"/console/installments\">分期申请</a> <a id=\"hardship-link\" href=\"/console/hardship\">困难减免</a> <a id=\"vacancy-link\" href=\"/console/vacancy\">空置房</a> <a id=\"finance-reports-link\" href=\"/console/finance-reports\">财务公开</a> "
            } else {
                ""
            },
            // The catalog and handing over what owners redeemed: for those who keep them.
            if Role::parse(v.role).is_some_and(|r| r.may(Action::ManageRewards)) {
                "<a href=\"/console/rewards\">积分商城</a> <a href=\"/console/redemptions\">兑换发放</a> "
            } else {
                ""
            },
            // The points report: for the roles that read reports.
            if Role::parse(v.role).is_some_and(|r| r.may(Action::ReadReports)) {
                "<a id=\"points-report-link\" href=\"/console/reports/points\">积分报表</a> <a id=\"arrears-notice-link\" href=\"/console/arrears-notice\">欠费公示</a> <a id=\"watch-list-link\" href=\"/console/watch-list\">风险预警</a> "
            } else {
                ""
            },
            if v.unread > 0 {
                format!("<span class=\"badge\" aria-label=\"{0}条未读\">{0}</span>", v.unread)
            } else {
                String::new()
            },
            esc(v.username),
            esc(role_name(v.role)),
            esc(v.csrf)
        ),
        None => "<header><span class=\"brand\">wuye 物业收费</span></header>".to_string(),
    };
    format!(
        "<!doctype html><html lang=\"zh-CN\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width,initial-scale=1\"><title>{} · wuye</title><style>{STYLE}</style></head>\
         <body>{nav}<main>{body}</main></body></html>",
        esc(title)
    )
}

fn role_name(role: &str) -> &'static str {
    match role {
        "admin" => "管理员",
        "finance" => "财务",
        "service" => "客服",
        "collector" => "催缴专员",
        _ => "员工",
    }
}

/// A console answer: HTML, never cached, never framed, scripts off.
pub fn html(status: StatusCode) -> HttpResponseBuilder {
    let mut b = HttpResponse::build(status);
    b.content_type("text/html; charset=utf-8")
        .insert_header(("Cache-Control", "no-store"))
        .insert_header(("X-Frame-Options", "DENY"))
        .insert_header(("X-Content-Type-Options", "nosniff"))
        .insert_header((
            "Content-Security-Policy",
            "default-src 'none'; style-src 'unsafe-inline'; img-src 'self' data:; form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
        ));
    b
}

/// The console's own page for an error (the API answers JSON; a browser gets a page).
pub fn error_page(e: &ApiError, viewer: Option<&Viewer<'_>>) -> HttpResponse {
    let status = e.status_code();
    let (title, text) = match status {
        StatusCode::NOT_FOUND => (
            "页面不存在",
            "您要找的页面不存在，或不在您负责的小区范围内。".to_string(),
        ),
        StatusCode::FORBIDDEN => (
            "无权访问",
            "您的角色不能使用此功能。如需开通，请联系管理员。".to_string(),
        ),
        StatusCode::TOO_MANY_REQUESTS => ("操作过于频繁", e.message()),
        s if s.is_server_error() => ("暂时无法完成", "系统暂时无法完成此操作，请稍后重试。".to_string()),
        _ => ("无法完成", e.message()),
    };
    // What was wrong with each field, as the API's `details.fields` says it.
    let fields: String = match e {
        ApiError::Validation(f) | ApiError::BadRequest(_, Some(f)) => {
            f.values().map(|m| format!("<li>{}</li>", esc(m))).collect()
        }
        _ => String::new(),
    };
    let fields = if fields.is_empty() {
        fields
    } else {
        format!("<ul class=\"error\">{fields}</ul>")
    };
    let body = format!(
        "<h1>{}</h1><p>{}</p>{fields}<p><a href=\"/console/\">返回总览</a></p>",
        esc(title),
        esc(&text)
    );
    html(status).body(page(title, viewer, &body))
}
