//! 任务: long work started from the console (billing runs, imports, reminder passes) and the page
//! that follows one — queued, how far it has come (the page reloads itself until it ends), then
//! what it did with links to what it created, or why it failed with every bad cell of an import.
use super::page::{error_page, html, page};
use super::{community_names, require_signed, see_other, Signed};
use crate::domain::text::esc;
use crate::services::jobs::{self, status, Ask, JobView, Kind};
use crate::state::AppState;
use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};
use serde_json::Value;

/// Starts `ask` as the signed-in member and sends them to its page (or shows why it was refused).
pub(super) async fn start(state: &AppState, s: &Signed, ask: Ask) -> HttpResponse {
    match jobs::start(state, &s.ctx, ask).await {
        Ok(id) => see_other(&format!("/console/jobs/{id}")),
        Err(e) => error_page(&e, Some(&s.viewer())),
    }
}

fn status_name(s: &str) -> &'static str {
    match s {
        status::QUEUED => "排队中",
        status::RUNNING => "进行中",
        status::DONE => "已完成",
        status::FAILED => "失败",
        _ => "未知",
    }
}

/// `GET /console/jobs`: the latest jobs the member may see.
pub(super) async fn list(state: web::Data<AppState>, req: HttpRequest) -> HttpResponse {
    let s = match require_signed(&state, &req).await {
        Ok(s) => s,
        Err(r) => return r,
    };
    let (items, names) = match tokio::try_join!(jobs::recent(&state, &s.ctx, 50), community_names(&state, &s.ctx)) {
        Ok(x) => x,
        Err(e) => return error_page(&e, Some(&s.viewer())),
    };
    let mut out = String::from("<h1>任务</h1>");
    if items.is_empty() {
        out.push_str("<p id=\"jobs-empty\">还没有任务。开账、导入和催缴提醒从设置和催缴页面发起。</p>");
    } else {
        out.push_str(
            "<table id=\"jobs\"><tr><th>编号</th><th>任务</th><th>小区</th><th>发起时间</th><th>状态</th><th class=\"num\">进度</th></tr>",
        );
        for j in &items {
            out.push_str(&format!(
                "<tr><td><a href=\"/console/jobs/{0}\">#{0}</a></td><td>{1}</td><td>{2}</td><td>{3}</td><td>{4}</td><td class=\"num\">{5}/{6}</td></tr>",
                j.id,
                esc(j.kind.name()),
                esc(&community_of(j, &names)),
                j.created_at.format("%Y-%m-%d %H:%M UTC"),
                status_name(&j.status),
                j.done,
                j.total
            ));
        }
        out.push_str("</table>");
    }
    html(StatusCode::OK).body(page("任务", Some(&s.viewer()), &out))
}

fn community_of(j: &JobView, names: &[(i32, String)]) -> String {
    match j.community_id {
        None => "全部负责的小区".to_string(),
        Some(id) => names
            .iter()
            .find(|(c, _)| *c == id)
            .map_or_else(|| format!("小区{id}"), |(_, n)| n.clone()),
    }
}

/// `GET /console/jobs/{id}`.
pub(super) async fn show(state: web::Data<AppState>, req: HttpRequest, id: web::Path<i32>) -> HttpResponse {
    let s = match require_signed(&state, &req).await {
        Ok(s) => s,
        Err(r) => return r,
    };
    let (j, names) = match tokio::try_join!(jobs::get(&state, &s.ctx, *id), community_names(&state, &s.ctx)) {
        Ok(x) => x,
        Err(e) => return error_page(&e, Some(&s.viewer())),
    };
    let title = format!("任务 #{} · {}", j.id, j.kind.name());
    let mut out = format!(
        "<h1>{}</h1><p>小区：{}{}</p><p>发起时间：{}{}</p>",
        esc(&title),
        esc(&community_of(&j, &names)),
        esc(&asked(&j)),
        j.created_at.format("%Y-%m-%d %H:%M:%S UTC"),
        j.finished_at
            .map(|f| format!("；结束时间：{}", f.format("%Y-%m-%d %H:%M:%S UTC")))
            .unwrap_or_default()
    );
    out.push_str(&format!(
        "<p>状态：<strong id=\"job-status\" data-status=\"{}\">{}</strong></p>",
        esc(&j.status),
        status_name(&j.status)
    ));
    if j.total > 0 || !j.finished() {
        out.push_str(&format!(
            "<p><label for=\"job-progress\">进度</label><progress id=\"job-progress\" max=\"{0}\" value=\"{1}\">{1}/{0}</progress> <span id=\"job-count\">{1} / {0}</span></p>",
            j.total.max(1),
            j.done
        ));
    }
    if j.finished() {
        out.push_str(&outcome(&j));
    } else {
        out.push_str("<p class=\"muted\">任务在后台运行，本页每2秒自动刷新；关闭本页不影响任务。</p>");
    }
    out.push_str("<p><a href=\"/console/jobs\">全部任务</a></p>");
    let mut r = html(StatusCode::OK);
    if !j.finished() {
        // No script on console pages: the browser reloads while the job runs.
        r.insert_header(("Refresh", "2"));
    }
    r.body(page(&title, Some(&s.viewer()), &out))
}

/// What was asked beyond the community, in words.
fn asked(j: &JobView) -> String {
    let text = |k: &str| j.params.get(k).and_then(Value::as_str).map(str::to_string);
    match j.kind {
        Kind::BillingRun => {
            let mut s = text("period").map(|p| format!("；账期：{p}")).unwrap_or_default();
            if let Some(d) = text("issued_on") {
                s.push_str(&format!("；开票日期：{d}（补录）"));
            }
            s
        }
        Kind::Import | Kind::ReminderRun => String::new(),
    }
}

fn count(v: &Value, key: &str) -> u64 {
    v.get(key).and_then(Value::as_u64).unwrap_or(0)
}

/// The result section of an ended job.
fn outcome(j: &JobView) -> String {
    let empty = Value::Null;
    let r = j.result.as_ref().unwrap_or(&empty);
    if j.status == status::FAILED {
        let mut out = format!(
            "<h2>未完成</h2><p class=\"error\" id=\"job-error\" role=\"alert\">{}</p>",
            esc(r.get("message").and_then(Value::as_str).unwrap_or("任务失败"))
        );
        if let Some(rows) = r.get("errors").and_then(Value::as_array) {
            out.push_str(&format!(
                "<p>文件有 {} 处问题，全部改正后重新导入（本次没有导入任何数据）：</p><table id=\"import-errors\"><tr><th class=\"num\">行</th><th>列</th><th>问题</th></tr>",
                rows.len()
            ));
            for e in rows {
                out.push_str(&format!(
                    "<tr><td class=\"num\">{}</td><td>{}</td><td>{}</td></tr>",
                    count(e, "row"),
                    esc(column_name(e.get("column").and_then(Value::as_str).unwrap_or(""))),
                    esc(e.get("message").and_then(Value::as_str).unwrap_or(""))
                ));
            }
            out.push_str("</table>");
        }
        return out;
    }
    let community = j.community_id.map(|c| format!("community_id={c}")).unwrap_or_default();
    match j.kind {
        Kind::BillingRun => {
            let period = j.params.get("period").and_then(Value::as_str).unwrap_or("");
            format!(
                "<h2>结果</h2><p id=\"job-result\">新生成账单 <strong>{}</strong> 张；已有账单 {} 张（未重复生成）。</p>\
                 <p><a href=\"/console/?{community}&amp;period={}\">查看该账期的收费情况</a> · <a href=\"/console/setup/billing-runs\">开账记录</a></p>",
                count(r, "bills_created"),
                count(r, "bills_existing"),
                esc(period)
            )
        }
        Kind::Import => format!(
            "<h2>结果</h2><p id=\"job-result\">新建房屋 <strong>{}</strong> 户；新建业主 {} 人。</p><p><a href=\"/console/units?{community}\">查看房屋</a></p>",
            count(r, "units_created"),
            count(r, "owners_created")
        ),
        Kind::ReminderRun => format!(
            "<h2>结果</h2><p id=\"job-result\">已发出 <strong>{}</strong> 条；转为人工任务 {} 条（电话、上门或书面送达）；无可用渠道未发 {} 条；按规则不发 {} 条；等待发送时段 {} 条。</p>\
             <p><a href=\"/console/collection?{community}\">查看发送记录</a> · <a href=\"/console/tasks\">催缴任务</a></p>",
            count(r, "sent"),
            count(r, "tasks"),
            count(r, "skipped"),
            count(r, "suppressed"),
            count(r, "deferred")
        ),
    }
}

/// An import column's name on the sheet.
fn column_name(key: &str) -> &str {
    match key {
        "building" => "楼栋",
        "unit_code" => "房号",
        "area_m2" => "建筑面积",
        "owner_name" => "业主姓名",
        "owner_phone" => "业主手机号",
        "file" => "文件",
        other => other,
    }
}
