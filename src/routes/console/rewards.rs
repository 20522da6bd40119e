//! 积分商城 and 兑换发放: the rewards catalog of the member's communities with the forms that add a
//! reward and change one (cost, stock, per-owner limit, withdrawn or back on the shelf), and the
//! redemptions waiting to be handed over (oldest first) with the forms that fulfil or cancel one.
//! All through `services::points::{rewards, redeem}`, which check the role (`ManageRewards`: service
//! staff and admins), the scope and every field; the forms are shown only to those roles and the
//! services refuse them anyway. A refusal is shown on the page the form was on.
use super::page::{error_page, html, page};
use super::tickets::{local, refusal_text};
use super::{community_names, community_options, given, require_form, require_signed, see_other, Signed};
use crate::domain::role::Action;
use crate::domain::text::esc;
use crate::error::ApiError;
use crate::services::points::redeem::{self, Cancellation, Fulfilment, RedemptionView, RedemptionsQuery};
use crate::services::points::rewards::{self, NewReward, RewardPatch, RewardView, RewardsQuery};
use crate::state::AppState;
use actix_web::{web, HttpRequest, HttpResponse, ResponseError};
use serde::Deserialize;
use std::collections::HashMap;
use url::form_urlencoded;

const CATALOG: &str = "积分商城";
const HANDOVER: &str = "兑换发放";

/// The kinds of reward, as the create form offers them.
const KINDS: [(&str, &str); 2] = [("goods", "实物"), ("service", "服务")];

/// The redemptions' status filter (the service's default first).
const STATUSES: [(&str, &str); 4] = [
    ("pending", "待发放"),
    ("fulfilled", "已发放"),
    ("cancelled", "已取消"),
    ("all", "全部"),
];

/// The row forms sit side by side in a table cell.
const STYLE: &str = "<style>td form{display:flex;flex-wrap:wrap;gap:6px;align-items:end;margin:0 0 6px}\
td form input{width:7em}td form input.wide{width:12em}td.pre{white-space:pre-line}</style>";

fn kind_name(kind: &str) -> &str {
    KINDS.iter().find(|(k, _)| *k == kind).map_or(kind, |(_, n)| n)
}

fn status_name(status: &str) -> &str {
    STATUSES.iter().find(|(k, _)| *k == status).map_or(status, |(_, n)| n)
}

/// A form's whole-number field. Anything that is not a number reaches the service as -1, outside
/// every range it accepts, so the service (the one home of the rule) names the field — after
/// refusing the role or the scope, as it does for the API.
fn whole(s: &str) -> i64 {
    s.trim().parse().unwrap_or(-1)
}

/// A query's community: none when empty (a GET form sends its empty fields too).
fn community_of(raw: Option<&str>) -> Result<Option<i32>, ApiError> {
    match raw.map(str::trim).filter(|v| !v.is_empty()) {
        None => Ok(None),
        Some(v) => v
            .parse()
            .map(Some)
            .map_err(|_| ApiError::field("community_id", "小区无效")),
    }
}

/// `path` with the non-empty `query` pairs.
fn url_of(path: &str, query: &[(&str, String)]) -> String {
    let mut url = form_urlencoded::Serializer::new(String::new());
    for (k, v) in query.iter().filter(|(_, v)| !v.is_empty()) {
        url.append_pair(k, v);
    }
    let q = url.finish();
    if q.is_empty() {
        path.to_string()
    } else {
        format!("{path}?{q}")
    }
}

/// Hidden fields carrying a page's filters through a form.
fn kept_fields(kept: &[(&str, String)]) -> String {
    kept.iter()
        .map(|(k, v)| format!("<input type=\"hidden\" name=\"{k}\" value=\"{}\">", esc(v)))
        .collect()
}

fn community_name(names: &[(i32, String)], id: i32) -> String {
    names
        .iter()
        .find(|(c, _)| *c == id)
        .map_or_else(|| format!("小区 {id}"), |(_, n)| n.clone())
}

// ---------------------------------------------------------------------------------------------
// 积分商城

#[derive(Deserialize)]
pub(super) struct CatalogQuery {
    community_id: Option<String>,
    saved: Option<u8>,
}

/// Which catalog form a refusal is about.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Which {
    Create,
    Edit(i32),
}

/// A catalog form the service refused (422, 409): why, and what was typed, to show again.
struct Refused {
    which: Which,
    error: ApiError,
    typed: HashMap<String, String>,
}

impl Refused {
    fn typed(&self, which: Which, field: &str) -> Option<&str> {
        (self.which == which)
            .then(|| self.typed.get(field).map(String::as_str))
            .flatten()
    }
}

/// `GET /console/rewards`: the catalog, with the forms for those who keep it.
pub(super) async fn catalog(state: web::Data<AppState>, req: HttpRequest, q: web::Query<CatalogQuery>) -> HttpResponse {
    let s = match require_signed(&state, &req).await {
        Ok(s) => s,
        Err(r) => return r,
    };
    let body = match community_of(q.community_id.as_deref()) {
        Ok(c) => catalog_page(&state, &s, c, q.saved == Some(1), None).await,
        Err(e) => Err(e),
    };
    s.respond(CATALOG, body)
}

async fn catalog_page(
    state: &AppState,
    s: &Signed,
    community: Option<i32>,
    saved: bool,
    refused: Option<&Refused>,
) -> Result<String, ApiError> {
    // The service first: a community outside the member's scope gets its 404 before anything else.
    let list = rewards::staff_list(
        state,
        &s.ctx,
        RewardsQuery {
            community_id: community,
        },
    )
    .await?;
    let names = community_names(state, &s.ctx).await?;
    let may = s.ctx.role.may(Action::ManageRewards);
    let mut out = format!(
        "{STYLE}<h1>{CATALOG}</h1><form class=\"inline\" method=\"get\" action=\"/console/rewards\">\
         <label for=\"community_id\">小区<select id=\"community_id\" name=\"community_id\">{}</select></label>\
         <button type=\"submit\">筛选</button></form>\
         <p class=\"muted\">业主在开启积分的小区用积分兑换上架中的奖品；库存为零或已下架的不能兑换。每户限兑按该业主未取消的兑换计算，留空为不限。\
         兑换后到<a href=\"/console/redemptions\">兑换发放</a>处理。积分获取规则见各小区的积分设置{}。</p>",
        community_options(&names, community, Some("我负责的全部小区")),
        community
            .map(|c| format!("（<a href=\"/console/setup/communities/{c}/points-settings\">本小区积分设置</a>）"))
            .unwrap_or_default(),
    );
    if saved {
        out.push_str("<p class=\"ok\" id=\"reward-saved\" role=\"status\">已保存。</p>");
    }
    if let Some(r) = refused {
        out.push_str(&refusal_text(&r.error));
    }
    let kept = [("filter", community.map(|c| c.to_string()).unwrap_or_default())];
    if list.is_empty() {
        out.push_str("<p id=\"no-rewards\">还没有奖品。</p>");
    } else {
        out.push_str(
            "<table id=\"rewards\"><tr><th>小区</th><th>奖品</th><th>类型</th><th class=\"num\">所需积分</th><th class=\"num\">库存</th>\
             <th class=\"num\">每户限兑</th><th>状态</th>",
        );
        out.push_str(if may { "<th>修改</th></tr>" } else { "</tr>" });
        for r in &list {
            out.push_str(&format!(
                "<tr data-reward-id=\"{}\"><td>{}</td><td>{}{}</td><td>{}</td><td class=\"num\">{}</td><td class=\"num\">{}</td>\
                 <td class=\"num\">{}</td><td>{}</td>",
                r.id,
                esc(&community_name(&names, r.community_id)),
                esc(&r.name),
                if r.description.is_empty() {
                    String::new()
                } else {
                    format!("<br><span class=\"muted\">{}</span>", esc(&r.description))
                },
                esc(kind_name(&r.kind)),
                r.points_cost,
                r.stock,
                r.per_owner_limit.map_or("不限".to_string(), |l| l.to_string()),
                if r.active { "上架中" } else { "已下架" },
            ));
            if may {
                out.push_str(&format!("<td>{}</td>", edit_forms(s, r, &kept, refused)));
            }
            out.push_str("</tr>");
        }
        out.push_str("</table>");
    }
    if may {
        out.push_str(&create_form(s, &names, community, &kept, refused));
    }
    Ok(out)
}

/// A reward's forms: its cost, stock and limit; and withdrawing it or putting it back.
fn edit_forms(s: &Signed, r: &RewardView, kept: &[(&str, String)], refused: Option<&Refused>) -> String {
    let which = Which::Edit(r.id);
    let value = |field: &str, shown: String| esc(refused.and_then(|f| f.typed(which, field)).unwrap_or(shown.as_str()));
    let head = format!(
        "<input type=\"hidden\" name=\"csrf\" value=\"{}\">{}",
        esc(&s.csrf),
        kept_fields(kept)
    );
    let (active, toggle) = if r.active {
        ("0", "下架")
    } else {
        ("1", "重新上架")
    };
    format!(
        "<form class=\"edit\" method=\"post\" action=\"/console/rewards/{id}\">{head}\
         <label for=\"cost-{id}\">所需积分<input id=\"cost-{id}\" name=\"points_cost\" type=\"number\" min=\"1\" max=\"10000000\" required value=\"{}\"></label>\
         <label for=\"stock-{id}\">库存<input id=\"stock-{id}\" name=\"stock\" type=\"number\" min=\"0\" max=\"1000000\" required value=\"{}\"></label>\
         <label for=\"limit-{id}\">每户限兑（留空不限）<input id=\"limit-{id}\" name=\"per_owner_limit\" type=\"number\" min=\"0\" max=\"1000\" value=\"{}\"></label>\
         <button type=\"submit\">保存</button></form>\
         <form class=\"toggle\" method=\"post\" action=\"/console/rewards/{id}\">{head}\
         <input type=\"hidden\" name=\"active\" value=\"{active}\"><button type=\"submit\">{toggle}</button></form>",
        value("points_cost", r.points_cost.to_string()),
        value("stock", r.stock.to_string()),
        value("per_owner_limit", r.per_owner_limit.map(|l| l.to_string()).unwrap_or_default()),
        id = r.id,
    )
}

/// The form that adds a reward (to the community shown, else the member's first).
fn create_form(
    s: &Signed,
    names: &[(i32, String)],
    community: Option<i32>,
    kept: &[(&str, String)],
    refused: Option<&Refused>,
) -> String {
    let was = |field: &str| refused.and_then(|r| r.typed(Which::Create, field)).unwrap_or("");
    let chosen = was("community_id").parse().ok().or(community);
    let kinds: String = KINDS
        .iter()
        .map(|(k, n)| {
            let sel = if was("kind") == *k { " selected" } else { "" };
            format!("<option value=\"{k}\"{sel}>{n}</option>")
        })
        .collect();
    format!(
        "<h2>新增奖品</h2><form id=\"new-reward\" class=\"inline\" method=\"post\" action=\"/console/rewards\">\
         <input type=\"hidden\" name=\"csrf\" value=\"{}\">{}\
         <label for=\"reward-community\">小区<select id=\"reward-community\" name=\"community_id\" required>{}</select></label>\
         <label for=\"reward-name\">名称<input id=\"reward-name\" name=\"name\" required maxlength=\"60\" value=\"{}\"></label>\
         <label for=\"reward-kind\">类型<select id=\"reward-kind\" name=\"kind\">{kinds}</select></label>\
         <label for=\"reward-cost\">所需积分<input id=\"reward-cost\" name=\"points_cost\" type=\"number\" min=\"1\" max=\"10000000\" required value=\"{}\"></label>\
         <label for=\"reward-stock\">库存<input id=\"reward-stock\" name=\"stock\" type=\"number\" min=\"0\" max=\"1000000\" required value=\"{}\"></label>\
         <label for=\"reward-limit\">每户限兑（留空不限）<input id=\"reward-limit\" name=\"per_owner_limit\" type=\"number\" min=\"1\" max=\"1000\" value=\"{}\"></label>\
         <label for=\"reward-description\">说明（选填，如领取地点）<textarea id=\"reward-description\" name=\"description\" rows=\"2\" maxlength=\"500\">{}</textarea></label>\
         <button type=\"submit\">新增奖品</button></form>",
        esc(&s.csrf),
        kept_fields(kept),
        community_options(names, chosen, None),
        esc(was("name")),
        esc(was("points_cost")),
        esc(was("stock")),
        esc(was("per_owner_limit")),
        esc(was("description")),
    )
}

/// A catalog form's fields (text, as posted).
type Fields = HashMap<String, String>;

fn field<'a>(f: &'a Fields, k: &str) -> &'a str {
    f.get(k).map_or("", String::as_str)
}

/// What a catalog form's post comes to: back to the catalog (with the filter it was shown with);
/// the catalog again with why when the service refused it (422, 409); the console's page for
/// anything else (403, 404).
async fn after_catalog(
    state: &AppState,
    s: &Signed,
    done: Result<(), ApiError>,
    which: Which,
    form: Fields,
) -> HttpResponse {
    let filter = field(&form, "filter").trim().parse::<i32>().ok();
    let error = match done {
        Ok(()) => {
            let back = [
                ("community_id", filter.map(|c| c.to_string()).unwrap_or_default()),
                ("saved", "1".to_string()),
            ];
            return see_other(&url_of("/console/rewards", &back));
        }
        Err(e @ (ApiError::Validation(_) | ApiError::Conflict(..))) => e,
        Err(e) => return error_page(&e, Some(&s.viewer())),
    };
    let status = error.status_code();
    let r = Refused {
        which,
        error,
        typed: form,
    };
    match catalog_page(state, s, filter, false, Some(&r)).await {
        Ok(b) => html(status).body(page(CATALOG, Some(&s.viewer()), &b)),
        Err(e) => error_page(&e, Some(&s.viewer())),
    }
}

/// `POST /console/rewards`: a new reward.
pub(super) async fn create(state: web::Data<AppState>, req: HttpRequest, form: web::Form<Fields>) -> HttpResponse {
    let form = form.into_inner();
    let s = match require_form(&state, &req, field(&form, "csrf")).await {
        Ok(s) => s,
        Err(r) => return r,
    };
    let body = NewReward {
        // Not a number: no community, which the service refuses (after the role).
        community_id: field(&form, "community_id").trim().parse().unwrap_or(0),
        name: field(&form, "name").to_string(),
        description: given(field(&form, "description")),
        kind: field(&form, "kind").trim().to_string(),
        points_cost: whole(field(&form, "points_cost")),
        stock: whole(field(&form, "stock")),
        per_owner_limit: given(field(&form, "per_owner_limit")).map(|l| i32::try_from(whole(&l)).unwrap_or(-1)),
    };
    let done = rewards::create(&state, &s.ctx, body).await.map(|_| ());
    after_catalog(&state, &s, done, Which::Create, form).await
}

/// `POST /console/rewards/{id}`: its cost, stock and limit (an empty limit: none), or `active`.
pub(super) async fn update(
    state: web::Data<AppState>,
    req: HttpRequest,
    id: web::Path<i32>,
    form: web::Form<Fields>,
) -> HttpResponse {
    let form = form.into_inner();
    let s = match require_form(&state, &req, field(&form, "csrf")).await {
        Ok(s) => s,
        Err(r) => return r,
    };
    let patch = RewardPatch {
        points_cost: form.get("points_cost").map(|v| whole(v)),
        stock: form.get("stock").map(|v| whole(v)),
        // Left empty: no limit (the API's 0).
        per_owner_limit: form
            .get("per_owner_limit")
            .map(|v| given(v).map_or(0, |l| i32::try_from(whole(&l)).unwrap_or(-1))),
        active: form.get("active").map(|v| v.trim() == "1"),
        ..RewardPatch::default()
    };
    let done = rewards::update(&state, &s.ctx, *id, patch).await.map(|_| ());
    after_catalog(&state, &s, done, Which::Edit(*id), form).await
}

// ---------------------------------------------------------------------------------------------
// 兑换发放

#[derive(Deserialize)]
pub(super) struct HandoverQuery {
    community_id: Option<String>,
    status: Option<String>,
}

/// The list's filters.
#[derive(Default)]
struct Filters {
    community_id: Option<i32>,
    /// None: those waiting to be handed over.
    status: Option<String>,
}

impl Filters {
    fn kept(&self) -> Vec<(&'static str, String)> {
        vec![
            (
                "community_id",
                self.community_id.map(|c| c.to_string()).unwrap_or_default(),
            ),
            ("status", self.status.clone().unwrap_or_default()),
        ]
    }
}

/// A decision the service refused, to show on the list with what was typed.
struct Decision {
    id: i32,
    fulfil: bool,
    error: ApiError,
    text: String,
}

/// `GET /console/redemptions`: what owners redeemed, waiting first (oldest first).
pub(super) async fn handover(
    state: web::Data<AppState>,
    req: HttpRequest,
    q: web::Query<HandoverQuery>,
) -> HttpResponse {
    let s = match require_signed(&state, &req).await {
        Ok(s) => s,
        Err(r) => return r,
    };
    let body = match community_of(q.community_id.as_deref()) {
        Ok(c) => {
            let f = Filters {
                community_id: c,
                status: q.status.as_deref().and_then(given),
            };
            handover_page(&state, &s, &f, None).await
        }
        Err(e) => Err(e),
    };
    s.respond(HANDOVER, body)
}

async fn handover_page(
    state: &AppState,
    s: &Signed,
    f: &Filters,
    refused: Option<&Decision>,
) -> Result<String, ApiError> {
    let list = redeem::staff_list(
        state,
        &s.ctx,
        RedemptionsQuery {
            community_id: f.community_id,
            status: f.status.clone(),
        },
    )
    .await?;
    let names = community_names(state, &s.ctx).await?;
    let may = s.ctx.role.may(Action::ManageRewards);
    let shown = f.status.as_deref().unwrap_or("pending");
    let statuses: String = STATUSES
        .iter()
        .map(|(v, n)| {
            let sel = if shown == *v { " selected" } else { "" };
            format!("<option value=\"{v}\"{sel}>{n}</option>")
        })
        .collect();
    let mut out = format!(
        "{STYLE}<h1>{HANDOVER}</h1><form class=\"inline\" method=\"get\" action=\"/console/redemptions\">\
         <label for=\"community_id\">小区<select id=\"community_id\" name=\"community_id\">{}</select></label>\
         <label for=\"f-status\">状态<select id=\"f-status\" name=\"status\">{statuses}</select></label>\
         <button type=\"submit\">筛选</button></form>\
         <p class=\"muted\">业主兑换后积分已扣除、库存已减少，按兑换先后排列。交给业主后点“已发放”；取消须写明原因，积分退回原批次（保留原有效期），库存恢复。\
         时间为小区当地时间。奖品在<a href=\"/console/rewards\">积分商城</a>维护。</p>",
        community_options(&names, f.community_id, Some("我负责的全部小区")),
    );
    if let Some(r) = refused {
        out.push_str(&refusal_text(&r.error));
    }
    if list.is_empty() {
        out.push_str("<p id=\"no-redemptions\">没有符合条件的兑换。</p>");
        return Ok(out);
    }
    out.push_str(
        "<table id=\"redemptions\"><tr><th>编号</th><th>小区</th><th>奖品</th><th class=\"num\">数量</th><th class=\"num\">积分</th>\
         <th>房屋</th><th>兑换时间</th><th>状态</th><th>处理</th></tr>",
    );
    for r in &list {
        let tz = state.community_tz(r.community_id).await?;
        let act = if r.status != "pending" {
            let at = r.decided_at.map(|t| local(t, tz)).unwrap_or_default();
            let note = r.note.as_deref().map(|n| format!("<br>{}", esc(n))).unwrap_or_default();
            format!("{at}{note}")
        } else if may {
            decide_forms(s, r, f, refused)
        } else {
            "<span class=\"muted\">由客服发放</span>".to_string()
        };
        out.push_str(&format!(
            "<tr data-redemption-id=\"{}\"><td>#{}</td><td>{}</td><td>{}</td><td class=\"num\">{}</td><td class=\"num\">{}</td>\
             <td>{}</td><td>{}</td><td>{}</td><td>{act}</td></tr>",
            r.id,
            r.id,
            esc(&community_name(&names, r.community_id)),
            esc(&r.reward_name),
            r.quantity,
            r.points_spent,
            esc(&r.unit_codes.join("、")),
            local(r.created_at, tz),
            esc(status_name(&r.status)),
        ));
    }
    out.push_str("</table>");
    Ok(out)
}

/// A waiting redemption's fulfil and cancel forms, carrying the list's filters back.
fn decide_forms(s: &Signed, r: &RedemptionView, f: &Filters, refused: Option<&Decision>) -> String {
    let typed = |fulfil: bool| {
        refused
            .filter(|d| d.id == r.id && d.fulfil == fulfil)
            .map(|d| esc(&d.text))
            .unwrap_or_default()
    };
    let head = format!(
        "<input type=\"hidden\" name=\"csrf\" value=\"{}\">{}",
        esc(&s.csrf),
        kept_fields(&f.kept())
    );
    format!(
        "<form class=\"fulfil\" method=\"post\" action=\"/console/redemptions/{id}/fulfil\">{head}\
         <label for=\"fulfil-note-{id}\">备注（选填）<input class=\"wide\" id=\"fulfil-note-{id}\" name=\"note\" maxlength=\"200\" value=\"{}\"></label>\
         <button type=\"submit\">已发放</button></form>\
         <form class=\"cancel\" method=\"post\" action=\"/console/redemptions/{id}/cancel\">{head}\
         <label for=\"cancel-reason-{id}\">取消原因<input class=\"wide\" id=\"cancel-reason-{id}\" name=\"reason\" maxlength=\"200\" required value=\"{}\"></label>\
         <button type=\"submit\">取消并退回积分</button></form>",
        typed(true),
        typed(false),
        id = r.id,
    )
}

#[derive(Deserialize)]
pub(super) struct DecideForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    note: String,
    #[serde(default)]
    reason: String,
    #[serde(default)]
    community_id: String,
    #[serde(default)]
    status: String,
}

impl DecideForm {
    /// The list's filters the form carried; anything odd is dropped (it only says where to return).
    fn filters(&self) -> Filters {
        Filters {
            community_id: self.community_id.trim().parse().ok(),
            status: given(&self.status).filter(|v| STATUSES.iter().any(|(k, _)| k == v)),
        }
    }
}

/// `POST /console/redemptions/{id}/fulfil`: handed over (a note optional).
pub(super) async fn fulfil(
    state: web::Data<AppState>,
    req: HttpRequest,
    id: web::Path<i32>,
    form: web::Form<DecideForm>,
) -> HttpResponse {
    let s = match require_form(&state, &req, &form.csrf).await {
        Ok(s) => s,
        Err(r) => return r,
    };
    let body = Fulfilment {
        note: given(&form.note),
    };
    let done = redeem::fulfil(&state, &s.ctx, *id, body).await.map(|_| ());
    decided(&state, &s, *id, done, true, &form).await
}

/// `POST /console/redemptions/{id}/cancel`: cancelled with a reason; points and stock go back.
pub(super) async fn cancel(
    state: web::Data<AppState>,
    req: HttpRequest,
    id: web::Path<i32>,
    form: web::Form<DecideForm>,
) -> HttpResponse {
    let s = match require_form(&state, &req, &form.csrf).await {
        Ok(s) => s,
        Err(r) => return r,
    };
    let body = Cancellation {
        reason: form.reason.clone(),
    };
    let done = redeem::cancel(&state, &s.ctx, *id, body).await.map(|_| ());
    decided(&state, &s, *id, done, false, &form).await
}

/// What a decision's post comes to: back to the list; the list again with why when the service
/// refused it (422, 409); the console's page for anything else (403, 404).
async fn decided(
    state: &AppState,
    s: &Signed,
    id: i32,
    done: Result<(), ApiError>,
    fulfil: bool,
    form: &DecideForm,
) -> HttpResponse {
    let f = form.filters();
    let error = match done {
        Ok(()) => return see_other(&url_of("/console/redemptions", &f.kept())),
        Err(e @ (ApiError::Validation(_) | ApiError::Conflict(..))) => e,
        Err(e) => return error_page(&e, Some(&s.viewer())),
    };
    let status = error.status_code();
    let d = Decision {
        id,
        fulfil,
        error,
        text: if fulfil { form.note.clone() } else { form.reason.clone() },
    };
    match handover_page(state, s, &f, Some(&d)).await {
        Ok(b) => html(status).body(page(HANDOVER, Some(&s.viewer()), &b)),
        Err(e) => error_page(&e, Some(&s.viewer())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn filters_and_numbers_read_as_the_pages_need() {
        assert_eq!(whole(" 12 "), 12);
        assert_eq!(whole("十二"), -1);
        assert_eq!(community_of(Some(" ")).ok(), Some(None));
        assert_eq!(community_of(Some("7")).ok(), Some(Some(7)));
        assert!(community_of(Some("x")).is_err());
        assert_eq!(
            url_of(
                "/console/redemptions",
                &[("community_id", String::new()), ("status", "all".into())]
            ),
            "/console/redemptions?status=all"
        );
        assert_eq!(
            url_of("/console/rewards", &[("community_id", String::new())]),
            "/console/rewards"
        );
        assert_eq!((kind_name("goods"), status_name("cancelled")), ("实物", "已取消"));
    }
}
