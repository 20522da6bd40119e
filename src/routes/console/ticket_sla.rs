//! SLA 时限: a community's ticket SLA budgets per category as a form (admins save; others read it
//! disabled), through `services::tickets::clock`, which checks the role and every field.
use super::page::{error_page, html, page};
use super::tickets::{refusal_text, whole, STYLE};
use super::{community_names, community_options, require_form, require_signed, see_other, Signed};
use crate::domain::role::Action;
use crate::domain::text::esc;
use crate::error::ApiError;
use crate::services::tickets::clock::{self, BusinessHours, SlaRule, SlaSettings};
use crate::state::AppState;
use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};
use serde::Deserialize;
use std::collections::HashMap;

/// The SLA settings' keys with their names, in the order the form lists them.
const SLA_ROWS: [(&str, &str); 6] = [
    ("complaint", "投诉"),
    ("repair", "报修"),
    ("emergency_repair", "紧急报修"),
    ("dispute", "账单异议"),
    ("suggestion", "建议"),
    ("enquiry", "咨询"),
];

/// One row of the SLA form as shown: the stored rule, or what was posted.
struct SlaRow {
    first: String,
    resolution: String,
    open: String,
    close: String,
    skip: bool,
}

impl SlaRow {
    fn of(r: &SlaRule) -> SlaRow {
        SlaRow {
            first: r.first_response_minutes.to_string(),
            resolution: r.resolution_minutes.to_string(),
            open: r.business_hours.as_ref().map(|h| h.open.clone()).unwrap_or_default(),
            close: r.business_hours.as_ref().map(|h| h.close.clone()).unwrap_or_default(),
            skip: r.skip_closed_days,
        }
    }

    fn posted(f: &Fields, key: &str) -> SlaRow {
        let field = |k: &str| {
            f.get(&format!("{key}_{k}"))
                .map(|v| v.trim().to_string())
                .unwrap_or_default()
        };
        SlaRow {
            first: field("first_response_minutes"),
            resolution: field("resolution_minutes"),
            open: field("open"),
            close: field("close"),
            skip: f.contains_key(&format!("{key}_skip_closed_days")),
        }
    }

    /// The rule the row asks for; the service judges every value.
    fn rule(&self) -> SlaRule {
        SlaRule {
            first_response_minutes: whole(&self.first),
            resolution_minutes: whole(&self.resolution),
            business_hours: (!self.open.is_empty() || !self.close.is_empty()).then(|| BusinessHours {
                open: self.open.clone(),
                close: self.close.clone(),
            }),
            skip_closed_days: self.skip,
        }
    }
}

/// "1440 分钟（24 小时）", "90 分钟（1 小时 30 分钟）"; what was typed when it is not a number.
fn minutes_text(raw: &str) -> String {
    let Ok(m) = raw.trim().parse::<i64>() else {
        return String::new();
    };
    let (h, rest) = (m / 60, m % 60);
    match (h, rest) {
        (0, _) => format!("{m} 分钟"),
        (_, 0) => format!("{m} 分钟（{h} 小时）"),
        _ => format!("{m} 分钟（{h} 小时 {rest} 分钟）"),
    }
}

#[derive(Deserialize)]
pub(super) struct SlaQuery {
    community_id: Option<i32>,
    saved: Option<u8>,
}

/// `GET /console/tickets/sla`.
pub(super) async fn sla(state: web::Data<AppState>, req: HttpRequest, q: web::Query<SlaQuery>) -> HttpResponse {
    let s = match require_signed(&state, &req).await {
        Ok(s) => s,
        Err(r) => return r,
    };
    let body = async {
        let names = community_names(&state, &s.ctx).await?;
        let Some(community) = super::shown_community(q.community_id, &names) else {
            return Ok("<h1>SLA 时限</h1><p>您还没有负责的小区。</p>".to_string());
        };
        let settings = clock::get_settings(&state, &s.ctx, community).await?;
        let rows: Vec<SlaRow> = SLA_ROWS
            .iter()
            .map(|(key, _)| {
                rule_of(&settings, key).map_or(
                    SlaRow {
                        first: String::new(),
                        resolution: String::new(),
                        open: String::new(),
                        close: String::new(),
                        skip: false,
                    },
                    SlaRow::of,
                )
            })
            .collect();
        Ok(sla_page(&s, &names, community, &rows, q.saved == Some(1), None))
    }
    .await;
    s.respond("SLA 时限", body)
}

fn rule_of<'a>(s: &'a SlaSettings, key: &str) -> Option<&'a SlaRule> {
    match key {
        "complaint" => s.complaint.as_ref(),
        "repair" => s.repair.as_ref(),
        "emergency_repair" => s.emergency_repair.as_ref(),
        "dispute" => s.dispute.as_ref(),
        "suggestion" => s.suggestion.as_ref(),
        "enquiry" => s.enquiry.as_ref(),
        _ => None,
    }
}

/// What the service said was wrong, each line naming the category and field (its keys are
/// `complaint.first_response_minutes`, `repair.business_hours.open`, …).
fn sla_errors(e: &ApiError) -> String {
    let ApiError::Validation(fields) = e else {
        return refusal_text(e);
    };
    let items: String = fields
        .iter()
        .map(|(k, m)| {
            let key = k.split('.').next().unwrap_or_default();
            let category = SLA_ROWS.iter().find(|(k, _)| *k == key).map_or(key, |(_, n)| n);
            let what = match k.rsplit('.').next().unwrap_or_default() {
                "first_response_minutes" => "首次响应",
                "resolution_minutes" => "解决时限",
                "open" => "开始时间",
                "close" => "结束时间",
                _ => "",
            };
            format!("<li>{} · {}：{}</li>", esc(category), what, esc(m))
        })
        .collect();
    format!(
        "<div class=\"error\" id=\"form-error\" role=\"alert\"><p>未保存：{}</p><ul>{items}</ul></div>",
        esc(&e.message())
    )
}

fn sla_page(
    s: &Signed,
    names: &[(i32, String)],
    community: i32,
    rows: &[SlaRow],
    saved: bool,
    error: Option<&ApiError>,
) -> String {
    // Those who may not change it read the settings in a disabled form.
    let may = s.ctx.role.may(Action::ManageCommunities);
    let mut out = format!(
        "{STYLE}<p><a href=\"/console/tickets?community_id={community}\">返回工单列表</a></p><h1>SLA 时限</h1>\
         <form class=\"inline\" method=\"get\" action=\"/console/tickets/sla\">\
         <label for=\"community_id\">小区<select id=\"community_id\" name=\"community_id\">{}</select></label><button type=\"submit\">切换</button></form>{}{}\
         <p class=\"muted\">每类工单的首次响应和解决时限，按工作时间计（分钟）。填写计时时段后只在该时段内计时（结束早于开始表示跨午夜）；\
         勾选节假日暂停后，小区的不发送日期不计时。修改只影响之后提交的工单。</p>\
         <form id=\"sla\" method=\"post\" action=\"/console/tickets/sla\"><fieldset class=\"inline\"{}>\
         <input type=\"hidden\" name=\"csrf\" value=\"{}\"><input type=\"hidden\" name=\"community_id\" value=\"{community}\">\
         <table id=\"sla-rules\"><tr><th>类别</th><th>首次响应（分钟）</th><th>解决时限（分钟）</th><th>计时开始（留空为全天）</th><th>计时结束</th><th>节假日暂停</th></tr>",
        community_options(names, Some(community), None),
        if saved {
            "<p class=\"ok\" id=\"sla-saved\" role=\"status\">SLA 时限已保存。</p>"
        } else {
            ""
        },
        error.map(sla_errors).unwrap_or_default(),
        if may { "" } else { " disabled" },
        esc(&s.csrf),
    );
    for ((key, name), row) in SLA_ROWS.iter().zip(rows) {
        out.push_str(&format!(
            "<tr id=\"sla-{key}\"><th>{name}</th>\
             <td><label for=\"{key}-first\"><input id=\"{key}-first\" name=\"{key}_first_response_minutes\" type=\"number\" min=\"1\" max=\"525600\" required value=\"{}\"><span class=\"muted\">{}</span></label></td>\
             <td><label for=\"{key}-resolution\"><input id=\"{key}-resolution\" name=\"{key}_resolution_minutes\" type=\"number\" min=\"1\" max=\"525600\" required value=\"{}\"><span class=\"muted\">{}</span></label></td>\
             <td><input id=\"{key}-open\" name=\"{key}_open\" type=\"time\" aria-label=\"{name}计时开始\" value=\"{}\"></td>\
             <td><input id=\"{key}-close\" name=\"{key}_close\" type=\"time\" aria-label=\"{name}计时结束\" value=\"{}\"></td>\
             <td><input id=\"{key}-skip\" name=\"{key}_skip_closed_days\" type=\"checkbox\" value=\"1\" aria-label=\"{name}节假日暂停\"{}></td></tr>",
            esc(&row.first),
            esc(&minutes_text(&row.first)),
            esc(&row.resolution),
            esc(&minutes_text(&row.resolution)),
            esc(&row.open),
            esc(&row.close),
            if row.skip { " checked" } else { "" },
        ));
    }
    out.push_str("</table><button type=\"submit\">保存 SLA 时限</button></fieldset></form>");
    out
}

/// The SLA form's fields (checkboxes arrive only when ticked).
type Fields = HashMap<String, String>;

/// `POST /console/tickets/sla` (admins): saves all six rules.
pub(super) async fn save_sla(state: web::Data<AppState>, req: HttpRequest, form: web::Form<Fields>) -> HttpResponse {
    let s = match require_form(&state, &req, form.get("csrf").map_or("", String::as_str)).await {
        Ok(s) => s,
        Err(r) => return r,
    };
    let community = form
        .get("community_id")
        .and_then(|c| c.trim().parse::<i32>().ok())
        .unwrap_or(0);
    let rows: Vec<SlaRow> = SLA_ROWS.iter().map(|(key, _)| SlaRow::posted(&form, key)).collect();
    let rule = |i: usize| rows.get(i).map(SlaRow::rule);
    let body = SlaSettings {
        complaint: rule(0),
        repair: rule(1),
        emergency_repair: rule(2),
        dispute: rule(3),
        suggestion: rule(4),
        enquiry: rule(5),
    };
    match clock::put_settings(&state, &s.ctx, community, body).await {
        Ok(_) => see_other(&format!("/console/tickets/sla?community_id={community}&saved=1")),
        Err(e @ ApiError::Validation(_)) => match community_names(&state, &s.ctx).await {
            Ok(names) => html(StatusCode::UNPROCESSABLE_ENTITY).body(page(
                "SLA 时限",
                Some(&s.viewer()),
                &sla_page(&s, &names, community, &rows, false, Some(&e)),
            )),
            Err(e) => error_page(&e, Some(&s.viewer())),
        },
        Err(e) => error_page(&e, Some(&s.viewer())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn minutes_read_with_their_hours() {
        assert_eq!(minutes_text("1440"), "1440 分钟（24 小时）");
        assert_eq!(minutes_text("90"), "90 分钟（1 小时 30 分钟）");
        assert_eq!(minutes_text("45"), "45 分钟");
        assert_eq!(minutes_text("x"), "");
    }

    #[test]
    fn an_sla_row_without_hours_runs_all_day_and_a_bad_number_reaches_the_service() {
        let f: Fields = [
            ("repair_first_response_minutes", " 60 "),
            ("repair_resolution_minutes", "abc"),
            ("repair_open", ""),
            ("repair_close", ""),
            ("repair_skip_closed_days", "1"),
        ]
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
        let r = SlaRow::posted(&f, "repair").rule();
        assert_eq!(r.first_response_minutes, 60);
        assert_eq!(r.resolution_minutes, -1);
        assert!(r.business_hours.is_none() && r.skip_closed_days);
        let half: Fields = [("complaint_open", "09:00")]
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        let r = SlaRow::posted(&half, "complaint").rule();
        assert_eq!(
            r.business_hours,
            Some(BusinessHours {
                open: "09:00".into(),
                close: String::new()
            }),
            "half a time range goes to the service, which names the missing end"
        );
    }
}
