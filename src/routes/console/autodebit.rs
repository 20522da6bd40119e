//! 自动扣款: a community's debits coming up (tomorrow's among them) and those that did not go
//! through lately, with the reason the owner was told; for finance, the bank collection batches —
//! made for a day, downloaded as the bank's CSV, and the bank's result file imported.
use super::page::{error_page, html, page};
use super::{community_names, community_options, require_form, require_signed, see_other, Signed};
use crate::domain::text::esc;
use crate::error::ApiError;
use crate::services::autodebit::bank::{self, NewBatch};
use crate::services::autodebit::mandates::channel_label;
use crate::services::autodebit::overview::{of_community, DebitLine, AHEAD_DAYS, BACK_DAYS};
use crate::state::AppState;
use actix_web::{web, HttpRequest, HttpResponse, ResponseError};
use entity::states::DebitStatus;
use serde::Deserialize;

const TITLE: &str = "自动扣款";

#[derive(Deserialize)]
pub(super) struct ShowQuery {
    community_id: Option<i32>,
    /// A batch just made or imported, to point at.
    batch: Option<i32>,
    imported: Option<String>,
}

fn status_name(s: DebitStatus) -> &'static str {
    match s {
        DebitStatus::Scheduled => "待通知",
        DebitStatus::Noticed => "已通知，待扣款",
        DebitStatus::Debiting => "扣款中",
        DebitStatus::Paid => "已扣款",
        DebitStatus::Failed => "未成功，待重试",
        DebitStatus::GivenUp => "未成功，已转人工催缴",
        DebitStatus::Skipped => "本期不扣款",
    }
}

fn table(id: &str, lines: &[DebitLine], today: chrono::NaiveDate) -> String {
    let mut out = format!(
        "<table id=\"{id}\"><tr><th>房屋</th><th>扣款日</th><th class=\"num\">金额(元)</th><th>方式</th><th>状态</th><th>次数</th><th>说明</th></tr>"
    );
    for l in lines {
        let day = if l.day == today + chrono::Duration::days(1) {
            format!("{}（明天）", l.day)
        } else {
            l.day.to_string()
        };
        out.push_str(&format!(
            "<tr><td><a href=\"/console/units/{}\">{}</a></td><td>{day}</td><td class=\"num\">{}</td><td>{}</td><td>{}</td><td>{}</td><td class=\"muted\">{}</td></tr>",
            l.unit_id,
            esc(&l.unit),
            esc(&l.amount),
            channel_label(l.channel),
            status_name(l.status),
            l.attempts,
            esc(l.reason.as_deref().unwrap_or(""))
        ));
    }
    out.push_str("</table>");
    out
}

async fn body(state: &AppState, s: &Signed, q: &ShowQuery, refused: Option<&ApiError>) -> Result<String, ApiError> {
    let names = community_names(state, &s.ctx).await?;
    let Some(community) = super::shown_community(q.community_id, &names) else {
        return Ok(format!("<h1>{TITLE}</h1><p>您还没有负责的小区。</p>"));
    };
    let o = of_community(state, &s.ctx, community).await?;
    let mut out = format!(
        "<h1>{TITLE}</h1><form class=\"inline\" method=\"get\" action=\"/console/autodebit\">\
         <label for=\"community_id\">小区<select id=\"community_id\" name=\"community_id\">{}</select></label>\
         <button type=\"submit\">查看</button></form>\
         <p class=\"muted\">业主在小程序开通的自动扣款：扣款日前会先通知业主，通知未送达则不扣款；通知后至扣款结束期间不发催缴提醒。</p>",
        community_options(&names, Some(community), None)
    );
    out.push_str(&format!("<h2>近期扣款（{AHEAD_DAYS}天内）</h2>"));
    if o.upcoming.is_empty() {
        out.push_str("<p id=\"no-upcoming\">近期没有待扣款项。</p>");
    } else {
        out.push_str(&table("upcoming", &o.upcoming, o.today));
    }
    out.push_str(&format!("<h2>未成功与未扣款（近{BACK_DAYS}天）</h2>"));
    if o.problems.is_empty() {
        out.push_str("<p id=\"no-problems\">没有未成功的扣款。</p>");
    } else {
        out.push_str(&table("problems", &o.problems, o.today));
    }
    if s.ctx.require(crate::domain::role::Action::ManageBilling).is_ok() {
        out.push_str("<h2>银行托收</h2>");
        if let Some(e) = refused {
            out.push_str(&format!("<p class=\"error\" id=\"refused\">{}</p>", esc(&refusal(e))));
        }
        if let Some(n) = &q.imported {
            out.push_str(&format!("<p class=\"ok\" id=\"imported\">{}</p>", esc(n)));
        }
        out.push_str(&format!(
            "<form class=\"inline\" id=\"new-batch\" method=\"post\" action=\"/console/autodebit/bank-batches\">\
             <input type=\"hidden\" name=\"csrf\" value=\"{}\"><input type=\"hidden\" name=\"community_id\" value=\"{community}\">\
             <label for=\"batch-date\">托收日期<input id=\"batch-date\" name=\"date\" type=\"date\" required value=\"{}\"></label>\
             <button type=\"submit\">生成托收批次</button></form>",
            esc(&s.csrf),
            o.today
        ));
        if o.batches.is_empty() {
            out.push_str("<p id=\"no-batches\">还没有托收批次。</p>");
        } else {
            out.push_str("<table id=\"batches\"><tr><th>批次</th><th>托收日期</th><th class=\"num\">笔数</th><th class=\"num\">金额(元)</th><th>银行文件</th><th>导入银行回盘（debit_id,result,reason）</th></tr>");
            for b in &o.batches {
                let mark = if q.batch == Some(b.id) { " class=\"new\"" } else { "" };
                out.push_str(&format!(
                    "<tr{mark} id=\"batch-{id}\"><td>{id}</td><td>{}</td><td class=\"num\">{}</td><td class=\"num\">{}</td>\
                     <td><a href=\"/console/autodebit/bank-batches/{id}/file\">下载CSV</a></td>\
                     <td><form method=\"post\" action=\"/console/autodebit/bank-batches/{id}/results\">\
                     <input type=\"hidden\" name=\"csrf\" value=\"{}\">\
                     <label for=\"results-{id}\">回盘内容<textarea id=\"results-{id}\" name=\"csv\" rows=\"3\" required></textarea></label>\
                     <button type=\"submit\">导入</button></form></td></tr>",
                    b.debit_date,
                    b.rows,
                    esc(&crate::domain::Fen(b.total_fen).to_yuan_string()),
                    esc(&s.csrf),
                    id = b.id
                ));
            }
            out.push_str("</table>");
        }
    }
    Ok(out)
}

/// What a refused batch or import says, in the page.
fn refusal(e: &ApiError) -> String {
    match e {
        ApiError::Validation(fields) => fields.values().cloned().collect::<Vec<_>>().join("；"),
        ApiError::ImportRejected(rows) => rows
            .iter()
            .map(|r| format!("第{}行 {}：{}", r.row, r.column, r.message))
            .collect::<Vec<_>>()
            .join("；"),
        other => other.message(),
    }
}

/// `GET /console/autodebit`.
pub(super) async fn show(state: web::Data<AppState>, req: HttpRequest, q: web::Query<ShowQuery>) -> HttpResponse {
    let s = match require_signed(&state, &req).await {
        Ok(s) => s,
        Err(r) => return r,
    };
    s.respond(TITLE, body(&state, &s, &q, None).await)
}

/// The page again with a refusal shown, answered with its status.
async fn refused_page(state: &AppState, s: &Signed, community_id: Option<i32>, e: ApiError) -> HttpResponse {
    if !matches!(e, ApiError::Validation(_) | ApiError::ImportRejected(_)) {
        return error_page(&e, Some(&s.viewer()));
    }
    let q = ShowQuery {
        community_id,
        batch: None,
        imported: None,
    };
    match body(state, s, &q, Some(&e)).await {
        Ok(b) => html(e.status_code()).body(page(TITLE, Some(&s.viewer()), &b)),
        Err(e) => error_page(&e, Some(&s.viewer())),
    }
}

#[derive(Deserialize)]
pub(super) struct BatchForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    community_id: String,
    #[serde(default)]
    date: String,
}

/// `POST /console/autodebit/bank-batches`.
pub(super) async fn create_batch(
    state: web::Data<AppState>,
    req: HttpRequest,
    form: web::Form<BatchForm>,
) -> HttpResponse {
    let s = match require_form(&state, &req, &form.csrf).await {
        Ok(s) => s,
        Err(r) => return r,
    };
    let community_id = form.community_id.trim().parse().unwrap_or(0);
    let body = NewBatch {
        community_id,
        date: form.date.trim().to_string(),
    };
    match bank::create(&state, &s.ctx, body).await {
        Ok(b) => see_other(&format!(
            "/console/autodebit?community_id={}&batch={}#batch-{}",
            b.community_id, b.id, b.id
        )),
        Err(e) => refused_page(&state, &s, Some(community_id), e).await,
    }
}

/// `GET /console/autodebit/bank-batches/{id}/file`: the bank's CSV (audited like the API's).
pub(super) async fn batch_file(state: web::Data<AppState>, req: HttpRequest, id: web::Path<i32>) -> HttpResponse {
    let s = match require_signed(&state, &req).await {
        Ok(s) => s,
        Err(r) => return r,
    };
    match bank::file(&state, &s.ctx, *id).await {
        Ok((name, bytes)) => HttpResponse::Ok()
            .content_type("text/csv; charset=utf-8")
            .insert_header(("Cache-Control", "no-store"))
            .insert_header((
                actix_web::http::header::CONTENT_DISPOSITION,
                format!("attachment; filename=\"{name}\""),
            ))
            .body(bytes),
        Err(e) => error_page(&e, Some(&s.viewer())),
    }
}

#[derive(Deserialize)]
pub(super) struct ResultsForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    csv: String,
}

/// `POST /console/autodebit/bank-batches/{id}/results`: the bank's answer pasted in.
pub(super) async fn batch_results(
    state: web::Data<AppState>,
    req: HttpRequest,
    id: web::Path<i32>,
    form: web::Form<ResultsForm>,
) -> HttpResponse {
    let s = match require_form(&state, &req, &form.csrf).await {
        Ok(s) => s,
        Err(r) => return r,
    };
    let community = bank_community(&state, &s, *id).await;
    // Browsers send a textarea's lines with CRLF; the file format is the same either way.
    let csv = form.csv.replace("\r\n", "\n");
    match bank::import_results(&state, &s.ctx, *id, csv.as_bytes()).await {
        Ok(r) => {
            let note = format!(
                "已导入批次{}：入账{}笔，未成功{}笔，此前已处理{}笔",
                id, r.credited, r.failed, r.unchanged
            );
            let mut url = format!("/console/autodebit?batch={id}&imported=");
            url.push_str(&url_escape(&note));
            if let Some(c) = community {
                url.push_str(&format!("&community_id={c}"));
            }
            see_other(&url)
        }
        Err(e) => refused_page(&state, &s, community, e).await,
    }
}

/// The community of a batch the member may see, for showing the page again.
async fn bank_community(state: &AppState, s: &Signed, id: i32) -> Option<i32> {
    use sea_orm::EntityTrait;
    entity::autodebit_bank_batch::Entity::find_by_id(id)
        .one(&state.db)
        .await
        .ok()
        .flatten()
        .filter(|b| s.ctx.sees(b.community_id))
        .map(|b| b.community_id)
}

fn url_escape(s: &str) -> String {
    url::form_urlencoded::byte_serialize(s.as_bytes()).collect()
}
