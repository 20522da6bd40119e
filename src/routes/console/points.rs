//! 积分: a community's points rules (积分设置, finance and admins save them; others read them in a
//! disabled form), and a unit's points on its page — who holds them, balance, owed, what expires
//! next, the credit grade and why, the latest entries — with the adjustment form for finance and
//! admins. All through `services::points::{settings, staff}`, which check roles, scopes and every
//! field; a refusal is shown on the page the form was on. The catalog and redemptions are `rewards`.
use super::page::{error_page, html, page};
use super::tickets::{local, refusal_text};
use super::{community_names, require_form, require_signed, see_other, Signed};
use crate::domain::points::EarnRules;
use crate::domain::role::Action;
use crate::domain::text::esc;
use crate::error::ApiError;
use crate::services::access::staff::actor_names;
use crate::services::points::settings::{self, PointsSettings};
use crate::services::points::staff::{self as unit_points, PointsAdjustment};
use crate::state::AppState;
use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse, ResponseError};
use serde::Deserialize;
use std::collections::HashMap;

const TITLE: &str = "积分设置";

/// Entries the unit page lists (newest first).
const ENTRIES: usize = 20;

/// The settings: (field, label, hint, input bounds).
const FIELDS: [(&str, &str, &str, i64, i64); 8] = [
    (
        "points_per_yuan",
        "每元积分",
        "按时缴纳的每整元本金得多少积分；0 为不再给缴费积分",
        0,
        100,
    ),
    (
        "prepay_bonus_percent",
        "预缴奖励（%）",
        "预缴账单在基础积分上另加的百分比（向下取整）",
        0,
        100,
    ),
    (
        "streak_months",
        "连续按时月数",
        "连续多少个自然月每张账单都按时缴清，可得连续按时奖励",
        2,
        36,
    ),
    ("streak_bonus", "连续按时奖励（分）", "0 为不给连续按时奖励", 0, 100_000),
    (
        "grade_a_permille",
        "A级倍数（千分之）",
        "信用等级A的业主所得积分的倍数，1200 即 1.2 倍",
        1000,
        3000,
    ),
    (
        "expiry_years",
        "有效年数",
        "积分在获得年份之后第几年的12月31日过期",
        1,
        10,
    ),
    (
        "points_per_fee_yuan",
        "抵扣比例（分/元）",
        "缴物业费时多少积分抵1元",
        1,
        10_000,
    ),
    (
        "max_fee_percent",
        "抵扣上限（%）",
        "积分最多抵扣一笔缴费金额的百分比；0 为不能用积分缴费",
        0,
        50,
    ),
];

/// A setting's value by its field name.
fn value_of(s: &PointsSettings, field: &str) -> i64 {
    match field {
        "points_per_yuan" => s.points_per_yuan,
        "prepay_bonus_percent" => s.prepay_bonus_percent,
        "streak_months" => i64::from(s.streak_months),
        "streak_bonus" => s.streak_bonus,
        "grade_a_permille" => s.grade_a_permille,
        "expiry_years" => i64::from(s.expiry_years),
        "points_per_fee_yuan" => s.points_per_fee_yuan,
        "max_fee_percent" => s.max_fee_percent,
        _ => 0,
    }
}

/// A form's fields (text, as posted).
type Fields = HashMap<String, String>;

/// A whole number from the form; anything else reaches the service as -1, outside every range it
/// accepts, so the service (the one home of the rules) names the field.
fn whole(f: &Fields, k: &str) -> i64 {
    f.get(k).and_then(|v| v.trim().parse().ok()).unwrap_or(-1)
}

fn whole32(f: &Fields, k: &str) -> i32 {
    i32::try_from(whole(f, k)).unwrap_or(-1)
}

/// The settings a form asks for.
fn settings_from(f: &Fields) -> PointsSettings {
    PointsSettings {
        points_per_yuan: whole(f, "points_per_yuan"),
        prepay_bonus_percent: whole(f, "prepay_bonus_percent"),
        streak_months: whole32(f, "streak_months"),
        streak_bonus: whole(f, "streak_bonus"),
        grade_a_permille: whole(f, "grade_a_permille"),
        expiry_years: whole32(f, "expiry_years"),
        points_per_fee_yuan: whole(f, "points_per_fee_yuan"),
        max_fee_percent: whole(f, "max_fee_percent"),
    }
}

#[derive(Deserialize)]
pub(super) struct SettingsQuery {
    saved: Option<u8>,
}

/// `GET /console/setup/communities/{id}/points-settings`.
pub(super) async fn settings_form(
    state: web::Data<AppState>,
    req: HttpRequest,
    id: web::Path<i32>,
    q: web::Query<SettingsQuery>,
) -> HttpResponse {
    let s = match require_signed(&state, &req).await {
        Ok(s) => s,
        Err(r) => return r,
    };
    s.respond(TITLE, settings_page(&state, &s, *id, q.saved == Some(1), None).await)
}

/// A save the service refused: why, and what was typed.
struct Refused {
    error: ApiError,
    typed: Fields,
}

async fn settings_page(
    state: &AppState,
    s: &Signed,
    community: i32,
    saved: bool,
    refused: Option<&Refused>,
) -> Result<String, ApiError> {
    // The service first: a community outside the member's scope gets its 404.
    let v = settings::get(state, &s.ctx, community).await?;
    let names = community_names(state, &s.ctx).await?;
    let name = names
        .iter()
        .find(|(c, _)| *c == community)
        .map_or_else(|| format!("小区 {community}"), |(_, n)| n.clone());
    let may = s.ctx.role.may(Action::ManageBilling);
    let others: Vec<String> = names
        .iter()
        .filter(|(c, _)| *c != community)
        .map(|(c, n)| {
            format!(
                "<a href=\"/console/setup/communities/{c}/points-settings\">{}</a>",
                esc(n)
            )
        })
        .collect();
    let mut out = format!(
        "<h1>{TITLE} · {}</h1><p><a href=\"/console/setup/communities/{community}\">← 小区信息</a>{}</p>",
        esc(&name),
        if others.is_empty() {
            String::new()
        } else {
            format!(" · 其他小区：{}", others.join("、"))
        },
    );
    if saved {
        out.push_str("<p class=\"ok\" id=\"points-settings-saved\" role=\"status\">积分设置已保存。</p>");
    }
    if let Some(r) = refused {
        out.push_str(&refusal_text(&r.error));
    }
    let standing = match (&v.updated_by, v.updated_at) {
        (Some(by), Some(at)) if v.customised => {
            let who = actor_names(state, &[by.as_str()]).await?;
            let tz = state.community_tz(community).await?;
            format!(
                "本小区使用自定义规则，最近由 {} 于 {} 修改。",
                esc(who.get(by).map_or(by.as_str(), String::as_str)),
                local(at, tz)
            )
        }
        _ => "本小区尚未保存过积分设置，正在使用默认规则。".to_string(),
    };
    out.push_str(&format!(
        "<p id=\"points-settings-standing\">{standing}</p>\
         <p class=\"muted\">获取规则只影响保存之后获得的积分，已发放的积分数额和有效期不变；抵扣规则用于保存之后的缴费。{}</p>",
        if may {
            ""
        } else {
            "仅财务和管理员可以修改。"
        }
    ));
    let defaults = PointsSettings::from(EarnRules::default());
    let mut inputs = String::new();
    for (field, label, hint, min, max) in FIELDS {
        let shown = refused
            .and_then(|r| r.typed.get(field).cloned())
            .unwrap_or_else(|| value_of(&v.settings, field).to_string());
        inputs.push_str(&format!(
            "<label for=\"ps-{field}\">{label}（{min}–{max}，默认 {}）\
             <input id=\"ps-{field}\" name=\"{field}\" type=\"number\" min=\"{min}\" max=\"{max}\" required value=\"{}\">\
             <span class=\"muted\">{hint}</span></label>",
            value_of(&defaults, field),
            esc(&shown),
        ));
    }
    out.push_str(&format!(
        "<form id=\"points-settings\" class=\"inline\" method=\"post\" action=\"/console/setup/communities/{community}/points-settings\">\
         <fieldset class=\"inline\"{}><input type=\"hidden\" name=\"csrf\" value=\"{}\">{inputs}\
         <button type=\"submit\">保存积分设置</button></fieldset></form>",
        if may { "" } else { " disabled" },
        esc(&s.csrf),
    ));
    Ok(out)
}

/// `POST /console/setup/communities/{id}/points-settings` (finance, admins): all of them at once.
pub(super) async fn save_settings(
    state: web::Data<AppState>,
    req: HttpRequest,
    id: web::Path<i32>,
    form: web::Form<Fields>,
) -> HttpResponse {
    let form = form.into_inner();
    let s = match require_form(&state, &req, form.get("csrf").map_or("", String::as_str)).await {
        Ok(s) => s,
        Err(r) => return r,
    };
    let error = match settings::put(&state, &s.ctx, *id, settings_from(&form)).await {
        Ok(_) => return see_other(&format!("/console/setup/communities/{}/points-settings?saved=1", *id)),
        Err(e @ ApiError::Validation(_)) => e,
        Err(e) => return error_page(&e, Some(&s.viewer())),
    };
    let r = Refused { error, typed: form };
    match settings_page(&state, &s, *id, false, Some(&r)).await {
        Ok(b) => html(StatusCode::UNPROCESSABLE_ENTITY).body(page(TITLE, Some(&s.viewer()), &b)),
        Err(e) => error_page(&e, Some(&s.viewer())),
    }
}

// ---------------------------------------------------------------------------------------------
// 积分与信用 on the unit page

/// An adjustment the service refused (422, 409): why, and what was typed.
pub(super) struct AdjustRefusal {
    error: ApiError,
    points: String,
    reason: String,
}

fn holder_name(holder: &str) -> &'static str {
    match holder {
        "account" => "业主账户（第一业主绑定的账户）",
        _ => "房屋代管（尚无业主绑定账户，积分暂记在房屋名下）",
    }
}

fn entry_kind(kind: &str, points: i64) -> &'static str {
    match kind {
        "earn" => "缴费积分",
        "redeem" => "兑换",
        "expire" => "过期",
        "adjust" => "人工调整",
        "reverse" if points >= 0 => "退回",
        "reverse" => "冲回",
        _ => "其他",
    }
}

/// The unit page's 积分与信用 section.
pub(super) async fn unit_section(
    state: &AppState,
    s: &Signed,
    unit_id: i32,
    community_id: i32,
    refused: Option<&AdjustRefusal>,
) -> Result<String, ApiError> {
    let p = unit_points::get(state, &s.ctx, unit_id).await?;
    let tz = state.community_tz(community_id).await?;
    let on = crate::services::points::rewards::points_on(state, community_id).await?;
    let mut out = format!(
        "<h2>积分与信用</h2>{}<table id=\"unit-points\" class=\"facts\">\
         <tr><th>积分持有</th><td id=\"points-holder\">{}</td></tr>\
         <tr><th>可用积分</th><td id=\"points-balance\">{}</td></tr>\
         <tr><th>待抵扣（已用后被冲回）</th><td id=\"points-owed\">{}</td></tr>\
         <tr><th>最近到期</th><td id=\"points-next-expiry\">{}</td></tr>\
         <tr><th>信用等级</th><td id=\"credit-grade\"><strong>{}</strong> <span class=\"muted\">{}</span></td></tr></table>\
         <p class=\"muted\">信用等级按本户近24个月到期的账单计算，仅供内部参考，不对外公布。积分规则见<a href=\"/console/setup/communities/{community_id}/points-settings\">积分设置</a>。</p>",
        if on {
            ""
        } else {
            "<p class=\"muted\" id=\"points-off\">本小区未开启积分功能，缴费不再获得积分。</p>"
        },
        esc(holder_name(&p.holder)),
        p.points.balance,
        p.points.owed,
        p.points
            .next_expiry
            .as_ref()
            .map_or("—".to_string(), |n| format!("{} 分于 {} 后过期", n.points, n.on)),
        esc(&p.credit_grade),
        esc(&p.credit_explanation),
    );
    if p.points.entries.is_empty() {
        out.push_str("<p id=\"no-points-entries\">还没有积分记录。</p>");
    } else {
        out.push_str(
            "<table id=\"points-entries\"><tr><th>时间</th><th>类型</th><th class=\"num\">积分</th><th>原因</th><th>有效期至</th></tr>",
        );
        for e in p.points.entries.iter().take(ENTRIES) {
            out.push_str(&format!(
                "<tr><td>{}</td><td>{}</td><td class=\"num\">{}</td><td>{}</td><td>{}</td></tr>",
                local(e.created_at, tz),
                entry_kind(&e.kind, e.points),
                if e.points > 0 {
                    format!("+{}", e.points)
                } else {
                    e.points.to_string()
                },
                esc(&e.reason),
                e.expires_at.map_or("—".to_string(), |d| d.to_string()),
            ));
        }
        out.push_str("</table>");
    }
    if s.ctx.role.may(Action::ManageBilling) {
        if let Some(r) = refused {
            out.push_str(&refusal_text(&r.error));
        }
        let (points, reason) = refused.map_or(("", ""), |r| (r.points.as_str(), r.reason.as_str()));
        out.push_str(&format!(
            "<form id=\"points-adjust\" class=\"inline\" method=\"post\" action=\"/console/units/{unit_id}/points/adjustments\">\
             <input type=\"hidden\" name=\"csrf\" value=\"{}\">\
             <label for=\"adjust-points\">调整积分（正数增加，负数扣减）<input id=\"adjust-points\" name=\"points\" type=\"number\" min=\"-1000000\" max=\"1000000\" required value=\"{}\"></label>\
             <label for=\"adjust-points-reason\">原因（业主可见）<input id=\"adjust-points-reason\" name=\"reason\" required maxlength=\"200\" value=\"{}\"></label>\
             <button type=\"submit\">调整积分</button></form>\
             <p class=\"muted\">增加的积分与缴费积分同样到期；扣减先扣最早到期的，不能超过可用积分。每次调整记入操作日志。</p>",
            esc(&s.csrf),
            esc(points),
            esc(reason),
        ));
    }
    Ok(out)
}

#[derive(Deserialize)]
pub(super) struct AdjustForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    points: String,
    #[serde(default)]
    reason: String,
}

/// `POST /console/units/{id}/points/adjustments` (finance, admins): points added or taken away.
pub(super) async fn adjust(
    state: web::Data<AppState>,
    req: HttpRequest,
    id: web::Path<i32>,
    form: web::Form<AdjustForm>,
) -> HttpResponse {
    let s = match require_form(&state, &req, &form.csrf).await {
        Ok(s) => s,
        Err(r) => return r,
    };
    let body = PointsAdjustment {
        // Not a number: 0, which the service refuses naming the field.
        points: form.points.trim().parse().unwrap_or(0),
        reason: form.reason.clone(),
    };
    let error = match unit_points::adjust(&state, &s.ctx, *id, body).await {
        Ok(_) => return see_other(&format!("/console/units/{}", *id)),
        Err(e @ (ApiError::Validation(_) | ApiError::Conflict(..))) => e,
        Err(e) => return error_page(&e, Some(&s.viewer())),
    };
    let status = error.status_code();
    let r = AdjustRefusal {
        error,
        points: form.points.clone(),
        reason: form.reason.clone(),
    };
    match super::units::unit_page(&state, &s, *id, Some(&r)).await {
        Ok(b) => html(status).body(page("房屋", Some(&s.viewer()), &b)),
        Err(e) => error_page(&e, Some(&s.viewer())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_settings_form_reads_numbers_and_sends_anything_else_out_of_range() {
        let f: Fields = [
            ("points_per_yuan", " 2 "),
            ("prepay_bonus_percent", "十"),
            ("streak_months", "99999999999"),
            ("streak_bonus", "300"),
            ("grade_a_permille", "1500"),
        ]
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
        let s = settings_from(&f);
        assert_eq!(s.points_per_yuan, 2);
        assert_eq!(s.prepay_bonus_percent, -1);
        assert_eq!(s.streak_months, -1);
        assert_eq!((s.streak_bonus, s.grade_a_permille), (300, 1500));
        assert_eq!(s.expiry_years, -1, "missing");
        assert_eq!(
            value_of(&PointsSettings::from(EarnRules::default()), "streak_months"),
            12
        );
    }

    #[test]
    fn entries_and_holders_read_in_chinese() {
        assert_eq!(entry_kind("reverse", 150), "退回");
        assert_eq!(entry_kind("reverse", -10), "冲回");
        assert_eq!(entry_kind("adjust", 5), "人工调整");
        assert!(holder_name("account").starts_with("业主账户"));
        assert!(holder_name("unit").starts_with("房屋代管"));
    }
}
