//! 设置 · 小区与滞纳金、收费项目与单价: communities with their dated late-fee terms, and fee items
//! with their dated prices. Read and changed only through the services behind the API
//! (`setup::communities`, `billing::fee_items`), which check roles, scopes and every field; the
//! forms here are hidden from roles that may not use them, and the services refuse them anyway.
use super::page::error_page;
use super::{community_names, community_options, given, pager, require_form, require_signed, see_other, Signed};
use crate::domain::billing::{Cycle, FeeKind};
use crate::domain::role::Action;
use crate::domain::text::esc;
use crate::error::ApiError;
use crate::services::access::staff::actor_names;
use crate::services::billing::fee_items::{self, AppliesTo, FeeItemQuery, FeeItemView, NewFeeItem, NewPrice};
use crate::services::setup::communities::{
    self, CommunityPatch, CommunityView, FeaturesPatch, LateFeeTerms, NewCommunity, NewLateFeeTerms,
};
use crate::services::setup::PageQuery;
use crate::state::AppState;
use actix_web::{web, HttpRequest, HttpResponse};
use chrono::NaiveDate;
use serde::Deserialize;

/// The switches of `features`, as (form field, name shown).
const FEATURES: [(&str, &str); 5] = [
    ("points", "积分抵扣"),
    ("installments", "分期缴费"),
    ("hardship", "困难减免"),
    ("disputes", "费用异议"),
    ("autodebit", "自动扣款"),
];

/// A form's whole-number field. Anything that is not a number reaches the service as -1, outside
/// every range it accepts, so the service (the one home of the rule) names the field — and refuses
/// the role or the scope first, as it does for the API.
fn whole(s: &str) -> i64 {
    s.trim().parse().unwrap_or(-1)
}

/// "日利率 0.0005 · 宽限 15 天 · 上限为本金的 1.00 倍".
fn terms_text(daily_rate: &str, grace_days: i64, cap_ratio: &str) -> String {
    format!(
        "日利率 {} · 宽限 {grace_days} 天 · 上限为本金的 {} 倍",
        esc(daily_rate),
        esc(cap_ratio)
    )
}

#[derive(Deserialize)]
pub(super) struct ListQuery {
    page: Option<u64>,
}

/// `GET /console/setup/communities`: the member's communities with the terms in force today, and
/// (for those who may) the form that creates one.
pub(super) async fn communities(
    state: web::Data<AppState>,
    req: HttpRequest,
    q: web::Query<ListQuery>,
) -> HttpResponse {
    let s = match require_signed(&state, &req).await {
        Ok(s) => s,
        Err(r) => return r,
    };
    s.respond("小区与滞纳金", communities_page(&state, &s, q.page).await)
}

async fn communities_page(state: &AppState, s: &Signed, page_no: Option<u64>) -> Result<String, ApiError> {
    let list = communities::list_communities(
        state,
        &s.ctx,
        PageQuery {
            page: page_no,
            per_page: Some(50),
        },
    )
    .await?;
    let mut out = format!(
        "<h1>小区与滞纳金</h1>{}<p class=\"muted\">滞纳金条款带生效日期：每天按当天有效的日利率计算，宽限天数和上限按账单到期日有效的条款；已发生的滞纳金不会按新条款重算。</p>",
        super::setup::subnav("/console/setup/communities")
    );
    if s.ctx.role.may(Action::ManageCommunities) {
        out.push_str(&format!(
            "<h2>新建小区</h2><form id=\"new-community\" class=\"inline\" method=\"post\" action=\"/console/setup/communities\">\
             <input type=\"hidden\" name=\"csrf\" value=\"{}\">\
             <label for=\"community-name\">名称<input id=\"community-name\" name=\"name\" required maxlength=\"64\"></label>\
             <label for=\"community-code\">编号（字母、数字、-、_）<input id=\"community-code\" name=\"code\" required maxlength=\"32\"></label>\
             <label for=\"community-timezone\">时区（留空为 {}）<input id=\"community-timezone\" name=\"timezone\" placeholder=\"{}\"></label>\
             <label for=\"community-rate\">滞纳金日利率<input id=\"community-rate\" name=\"daily_rate\" required placeholder=\"0.0005\"></label>\
             <label for=\"community-grace\">宽限天数<input id=\"community-grace\" name=\"grace_days\" type=\"number\" min=\"0\" max=\"365\" required placeholder=\"15\"></label>\
             <label for=\"community-cap\">上限（本金的倍数，0 到 1）<input id=\"community-cap\" name=\"cap_ratio\" required placeholder=\"1.00\"></label>\
             <button type=\"submit\">新建小区</button></form>",
            esc(&s.csrf),
            esc(&state.settings.app.timezone),
            esc(&state.settings.app.timezone),
        ));
    }
    if list.items.is_empty() {
        out.push_str("<p id=\"communities-empty\">您还没有负责的小区。</p>");
        return Ok(out);
    }
    out.push_str(
        "<h2>小区</h2><table id=\"communities\"><tr><th>名称</th><th>编号</th><th>时区</th><th>现行滞纳金条款</th><th>待生效条款</th></tr>",
    );
    for c in &list.items {
        let today = state.today_in(state.community_tz(c.id).await?);
        let coming = c
            .late_fee_terms
            .iter()
            .filter(|t| t.effective_from.is_some_and(|d| d > today))
            .count();
        out.push_str(&format!(
            "<tr><td><a href=\"/console/setup/communities/{}\">{}</a></td><td>{}</td><td>{}</td><td>{}</td><td class=\"num\">{}</td></tr>",
            c.id,
            esc(&c.name),
            esc(&c.code),
            esc(&c.timezone),
            terms_text(&c.late_fee.daily_rate, c.late_fee.grace_days, &c.late_fee.cap_ratio),
            if coming > 0 { format!("{coming} 项") } else { "—".to_string() }
        ));
    }
    out.push_str("</table>");
    out.push_str(&pager(
        "/console/setup/communities",
        &[],
        list.total,
        list.page,
        list.per_page,
        "个小区",
    ));
    Ok(out)
}

#[derive(Deserialize)]
pub(super) struct NewCommunityForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    name: String,
    #[serde(default)]
    code: String,
    #[serde(default)]
    timezone: String,
    #[serde(default)]
    daily_rate: String,
    #[serde(default)]
    grace_days: String,
    #[serde(default)]
    cap_ratio: String,
}

/// `POST /console/setup/communities`: creates a community and opens its page.
pub(super) async fn create_community(
    state: web::Data<AppState>,
    req: HttpRequest,
    form: web::Form<NewCommunityForm>,
) -> HttpResponse {
    let s = match require_form(&state, &req, &form.csrf).await {
        Ok(s) => s,
        Err(r) => return r,
    };
    let body = NewCommunity {
        name: form.name.clone(),
        code: form.code.clone(),
        late_fee: LateFeeTerms {
            daily_rate: form.daily_rate.trim().to_string(),
            grace_days: whole(&form.grace_days),
            cap_ratio: form.cap_ratio.trim().to_string(),
        },
        timezone: given(&form.timezone),
    };
    match communities::create_community(&state, &s.ctx, body).await {
        Ok(c) => see_other(&format!("/console/setup/communities/{}", c.id)),
        Err(e) => error_page(&e, Some(&s.viewer())),
    }
}

#[derive(Deserialize)]
pub(super) struct SavedQuery {
    saved: Option<u8>,
}

/// `GET /console/setup/communities/{id}`: the community, its late-fee terms (newest first) and,
/// for those who may, the forms that edit it and add dated terms.
pub(super) async fn community(
    state: web::Data<AppState>,
    req: HttpRequest,
    id: web::Path<i32>,
    q: web::Query<SavedQuery>,
) -> HttpResponse {
    let s = match require_signed(&state, &req).await {
        Ok(s) => s,
        Err(r) => return r,
    };
    let shown = async {
        let c = communities::get_community(&state, &s.ctx, *id).await?;
        let body = community_page(&state, &s, &c, q.saved == Some(1)).await?;
        Ok::<_, ApiError>((c.name, body))
    }
    .await;
    match shown {
        Ok((name, body)) => s.respond(&name, Ok(body)),
        Err(e) => error_page(&e, Some(&s.viewer())),
    }
}

async fn community_page(state: &AppState, s: &Signed, c: &CommunityView, saved: bool) -> Result<String, ApiError> {
    let may = s.ctx.role.may(Action::ManageCommunities);
    let today = state.today_in(state.community_tz(c.id).await?);
    let csrf = esc(&s.csrf);
    let features = &c.features;
    let on: Vec<&str> = FEATURES
        .iter()
        .filter(|(k, _)| features.on(k))
        .map(|(_, n)| *n)
        .collect();
    let mut out = format!(
        "<h1>{}</h1>{}<p><a href=\"/console/setup/communities\">← 全部小区</a> · <a href=\"/console/setup/fee-items?community_id={}\">收费项目与单价</a></p>{}\
         <table id=\"community\"><tr><th>名称</th><td>{}</td></tr><tr><th>编号</th><td>{}</td></tr><tr><th>时区</th><td>{}</td></tr>\
         <tr><th>现行滞纳金条款</th><td>{}</td></tr><tr><th>已开启的功能</th><td>{}</td></tr><tr><th>建档时间</th><td>{}</td></tr></table>",
        esc(&c.name),
        super::setup::subnav("/console/setup/communities"),
        c.id,
        if saved {
            "<p class=\"ok\" id=\"community-saved\" role=\"status\">已保存。</p>"
        } else {
            ""
        },
        esc(&c.name),
        esc(&c.code),
        esc(&c.timezone),
        terms_text(&c.late_fee.daily_rate, c.late_fee.grace_days, &c.late_fee.cap_ratio),
        if on.is_empty() { "无".to_string() } else { on.join("、") },
        c.created_at.format("%Y-%m-%d %H:%M UTC"),
    );
    if may {
        out.push_str(&edit_form(c, &csrf));
    }
    // The terms in force today: the last whose date has come (the first has none: from the start).
    let current = crate::domain::dated::in_force(&c.late_fee_terms, |t| t.effective_from, today);
    let actors: Vec<&str> = c
        .late_fee_terms
        .iter()
        .filter_map(|t| t.created_by.as_deref())
        .collect();
    let who = actor_names(state, &actors).await?;
    out.push_str(
        "<h2>滞纳金条款</h2><table id=\"late-fee-terms\"><tr><th>生效日期</th><th class=\"num\">日利率</th><th class=\"num\">宽限天数</th>\
         <th class=\"num\">上限比例</th><th>状态</th><th>设置人</th><th>录入时间</th></tr>",
    );
    for (i, t) in c.late_fee_terms.iter().enumerate().rev() {
        let status = match current {
            Some(k) if k == i => "<strong>现行</strong>",
            Some(k) if i > k => "待生效",
            _ => "已被取代",
        };
        out.push_str(&format!(
            "<tr><td>{}</td><td class=\"num\">{}</td><td class=\"num\">{}</td><td class=\"num\">{}</td><td>{status}</td><td>{}</td><td>{}</td></tr>",
            t.effective_from.map_or("建档起".to_string(), |d| d.to_string()),
            esc(&t.daily_rate),
            t.grace_days,
            esc(&t.cap_ratio),
            esc(t
                .created_by
                .as_deref()
                .map_or("—", |a| who.get(a).map_or(a, String::as_str))),
            t.created_at.format("%Y-%m-%d %H:%M UTC"),
        ));
    }
    out.push_str("</table>");
    if may {
        out.push_str(&format!(
            "<h2>新增滞纳金条款</h2><p class=\"muted\">生效日期不能早于今天（{today}）；从该日起每天按新日利率计算，到期日在该日及以后的账单按新的宽限天数和上限。</p>\
             <form id=\"new-terms\" class=\"inline\" method=\"post\" action=\"/console/setup/communities/{}/terms\">\
             <input type=\"hidden\" name=\"csrf\" value=\"{csrf}\">\
             <label for=\"terms-rate\">日利率<input id=\"terms-rate\" name=\"daily_rate\" required value=\"{}\"></label>\
             <label for=\"terms-grace\">宽限天数<input id=\"terms-grace\" name=\"grace_days\" type=\"number\" min=\"0\" max=\"365\" required value=\"{}\"></label>\
             <label for=\"terms-cap\">上限（本金的倍数）<input id=\"terms-cap\" name=\"cap_ratio\" required value=\"{}\"></label>\
             <label for=\"terms-from\">生效日期<input id=\"terms-from\" name=\"effective_from\" type=\"date\" required min=\"{today}\" value=\"{today}\"></label>\
             <button type=\"submit\">新增条款</button></form>",
            c.id,
            esc(&c.late_fee.daily_rate),
            c.late_fee.grace_days,
            esc(&c.late_fee.cap_ratio),
        ));
    }
    Ok(out)
}

/// The form that renames a community and switches its features (terms change only by date).
fn edit_form(c: &CommunityView, csrf: &str) -> String {
    let boxes: String = FEATURES
        .iter()
        .map(|(k, n)| {
            format!(
                "<label for=\"feature-{k}\"><span>{n}</span><input id=\"feature-{k}\" name=\"{k}\" type=\"checkbox\" value=\"1\"{}></label>",
                if c.features.on(k) { " checked" } else { "" }
            )
        })
        .collect();
    format!(
        "<h2>修改小区</h2><form id=\"edit-community\" class=\"inline\" method=\"post\" action=\"/console/setup/communities/{}\">\
         <input type=\"hidden\" name=\"csrf\" value=\"{csrf}\"><input type=\"hidden\" name=\"features\" value=\"1\">\
         <label for=\"edit-name\">名称<input id=\"edit-name\" name=\"name\" required maxlength=\"64\" value=\"{}\"></label>{boxes}\
         <button type=\"submit\">保存</button></form>",
        c.id,
        esc(&c.name)
    )
}

#[derive(Deserialize)]
pub(super) struct EditCommunityForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    name: String,
    /// Present when the form carried the feature switches (an unticked box sends nothing).
    features: Option<String>,
    points: Option<String>,
    installments: Option<String>,
    hardship: Option<String>,
    disputes: Option<String>,
    autodebit: Option<String>,
}

/// `POST /console/setup/communities/{id}`: renames it and switches its features.
pub(super) async fn update_community(
    state: web::Data<AppState>,
    req: HttpRequest,
    id: web::Path<i32>,
    form: web::Form<EditCommunityForm>,
) -> HttpResponse {
    let s = match require_form(&state, &req, &form.csrf).await {
        Ok(s) => s,
        Err(r) => return r,
    };
    let features = form.features.as_ref().map(|_| FeaturesPatch {
        points: Some(form.points.is_some()),
        installments: Some(form.installments.is_some()),
        hardship: Some(form.hardship.is_some()),
        disputes: Some(form.disputes.is_some()),
        autodebit: Some(form.autodebit.is_some()),
    });
    let patch = CommunityPatch {
        name: given(&form.name),
        late_fee: None,
        features,
    };
    match communities::update_community(&state, &s.ctx, *id, patch).await {
        Ok(c) => see_other(&format!("/console/setup/communities/{}?saved=1", c.id)),
        Err(e) => error_page(&e, Some(&s.viewer())),
    }
}

#[derive(Deserialize)]
pub(super) struct TermsForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    daily_rate: String,
    #[serde(default)]
    grace_days: String,
    #[serde(default)]
    cap_ratio: String,
    #[serde(default)]
    effective_from: String,
}

/// `POST /console/setup/communities/{id}/terms`: late-fee terms from a date (today or later).
pub(super) async fn add_terms(
    state: web::Data<AppState>,
    req: HttpRequest,
    id: web::Path<i32>,
    form: web::Form<TermsForm>,
) -> HttpResponse {
    let s = match require_form(&state, &req, &form.csrf).await {
        Ok(s) => s,
        Err(r) => return r,
    };
    let body = NewLateFeeTerms {
        daily_rate: form.daily_rate.trim().to_string(),
        grace_days: whole(&form.grace_days),
        cap_ratio: form.cap_ratio.trim().to_string(),
        effective_from: form.effective_from.trim().to_string(),
    };
    match communities::add_late_fee_terms(&state, &s.ctx, *id, body).await {
        Ok(c) => see_other(&format!("/console/setup/communities/{}", c.id)),
        Err(e) => error_page(&e, Some(&s.viewer())),
    }
}

#[derive(Deserialize)]
pub(super) struct FeeItemsQuery {
    community_id: Option<i32>,
}

/// `GET /console/setup/fee-items?community_id=`: a community's fee items with their prices, and
/// (for those who may) the forms that create one and change a price from a date.
pub(super) async fn fee_items(
    state: web::Data<AppState>,
    req: HttpRequest,
    q: web::Query<FeeItemsQuery>,
) -> HttpResponse {
    let s = match require_signed(&state, &req).await {
        Ok(s) => s,
        Err(r) => return r,
    };
    s.respond("收费项目与单价", fee_items_page(&state, &s, q.community_id).await)
}

fn kind_name(k: FeeKind) -> &'static str {
    match k {
        FeeKind::PerArea => "按面积",
        FeeKind::Fixed => "固定",
    }
}

fn cycle_name(c: Cycle) -> &'static str {
    match c {
        Cycle::Monthly => "按月",
        Cycle::Quarterly => "按季",
        Cycle::Yearly => "按年",
    }
}

fn applies_text(a: Option<&AppliesTo>) -> String {
    let Some(a) = a else {
        return "全部房屋".to_string();
    };
    let mut parts = Vec::new();
    if let Some(b) = &a.buildings {
        parts.push(format!("楼栋 {}", esc(&b.join("、"))));
    }
    if let Some(u) = &a.unit_ids {
        parts.push(format!("指定 {} 套房屋", u.len()));
    }
    if parts.is_empty() {
        "全部房屋".to_string()
    } else {
        parts.join("；")
    }
}

async fn fee_items_page(state: &AppState, s: &Signed, community_id: Option<i32>) -> Result<String, ApiError> {
    let names = community_names(state, &s.ctx).await?;
    let head = format!(
        "<h1>收费项目与单价</h1>{}",
        super::setup::subnav("/console/setup/fee-items")
    );
    let Some(community) = super::shown_community(community_id, &names) else {
        return Ok(format!("{head}<p id=\"fee-items-none\">您还没有负责的小区。</p>"));
    };
    // Both answer 404 for a community outside the member's scope.
    let c = communities::get_community(state, &s.ctx, community).await?;
    let items = fee_items::list(
        state,
        &s.ctx,
        FeeItemQuery {
            community_id: community,
        },
    )
    .await?;
    let today = state.today_in(state.community_tz(c.id).await?);
    let csrf = esc(&s.csrf);
    let may = s.ctx.role.may(Action::ManageBilling);
    let mut out = format!(
        "{head}<form class=\"inline\" method=\"get\" action=\"/console/setup/fee-items\">\
         <label for=\"community_id\">小区<select id=\"community_id\" name=\"community_id\">{}</select></label><button type=\"submit\">切换</button></form>\
         <p class=\"muted\">单价按账期生效：调价只影响生效日期及以后开始的账期，已开出的账单不变。按面积计费的单价为元/㎡/月，固定计费为元/户/月。</p>",
        community_options(&names, Some(community), None)
    );
    if items.is_empty() {
        out.push_str("<p id=\"fee-items-empty\">该小区还没有收费项目。</p>");
    } else {
        out.push_str(
            "<table id=\"fee-items\"><tr><th>名称</th><th>计费方式</th><th>周期</th><th class=\"num\">缴费日</th><th class=\"num\">现行单价(元)</th>\
             <th>单价历史</th><th>适用范围</th><th>状态</th></tr>",
        );
        for i in &items {
            out.push_str(&item_row(i, today));
        }
        out.push_str("</table>");
        if may {
            out.push_str("<h2>调价</h2>");
            for i in &items {
                out.push_str(&price_form(i, &csrf, today));
            }
        }
    }
    if may {
        out.push_str(&format!(
            "<h2>新建收费项目</h2><form id=\"new-fee-item\" class=\"inline\" method=\"post\" action=\"/console/setup/fee-items\">\
             <input type=\"hidden\" name=\"csrf\" value=\"{csrf}\"><input type=\"hidden\" name=\"community_id\" value=\"{community}\">\
             <label for=\"item-name\">名称<input id=\"item-name\" name=\"name\" required maxlength=\"32\"></label>\
             <label for=\"item-kind\">计费方式<select id=\"item-kind\" name=\"kind\"><option value=\"per_area\">按面积</option><option value=\"fixed\">固定</option></select></label>\
             <label for=\"item-price\">单价（元，最多四位小数）<input id=\"item-price\" name=\"unit_price\" required placeholder=\"2.50\"></label>\
             <label for=\"item-cycle\">周期<select id=\"item-cycle\" name=\"cycle\"><option value=\"monthly\">按月</option><option value=\"quarterly\">按季</option><option value=\"yearly\">按年</option></select></label>\
             <label for=\"item-due-day\">缴费日（每期首月几日）<input id=\"item-due-day\" name=\"due_day\" type=\"number\" min=\"1\" max=\"31\" required></label>\
             <label for=\"item-from\">开始计费日期（留空为一直）<input id=\"item-from\" name=\"effective_from\" type=\"date\"></label>\
             <label for=\"item-buildings\">适用楼栋（逗号分隔，留空为全部）<input id=\"item-buildings\" name=\"buildings\"></label>\
             <button type=\"submit\">新建收费项目</button></form>"
        ));
    }
    Ok(out)
}

fn item_row(i: &FeeItemView, today: NaiveDate) -> String {
    // The price of a period starting today: the last whose date has come (the first has none).
    let current = crate::domain::dated::in_force(&i.prices, |p| p.effective_from, today);
    let history: Vec<String> = i
        .prices
        .iter()
        .enumerate()
        .rev()
        .map(|(k, p)| {
            let when = p.effective_from.map_or("最初".to_string(), |d| format!("{d} 起"));
            let note = match current {
                Some(c) if k > c => "（待生效）",
                _ => "",
            };
            format!("<li>{when}：{}{note}</li>", esc(&p.unit_price))
        })
        .collect();
    let discounts: Vec<String> = i
        .prepay_discounts
        .iter()
        .map(|d| format!("预缴{}个月优惠{}", d.months, esc(&d.rate)))
        .collect();
    format!(
        "<tr id=\"fee-item-{}\"><td>{}{}</td><td>{}</td><td>{}</td><td class=\"num\">{}日</td><td class=\"num\">{}</td><td><ul>{}</ul></td><td>{}</td><td>{}</td></tr>",
        i.id,
        esc(&i.name),
        if discounts.is_empty() {
            String::new()
        } else {
            format!("<br><span class=\"muted\">{}</span>", discounts.join("；"))
        },
        kind_name(i.kind),
        cycle_name(i.cycle),
        i.due_day,
        current
            .and_then(|c| i.prices.get(c))
            .map_or("—".to_string(), |p| esc(&p.unit_price)),
        history.concat(),
        applies_text(i.applies_to.as_ref()),
        match (i.active, i.effective_from) {
            (false, _) => "已停用".to_string(),
            (true, Some(d)) if d > today => format!("{d} 起计费"),
            _ => "计费中".to_string(),
        }
    )
}

fn price_form(i: &FeeItemView, csrf: &str, today: NaiveDate) -> String {
    format!(
        "<form class=\"inline\" method=\"post\" action=\"/console/setup/fee-items/{id}/prices\">\
         <input type=\"hidden\" name=\"csrf\" value=\"{csrf}\"><strong>{}</strong>\
         <label for=\"price-{id}\">新单价（元）<input id=\"price-{id}\" name=\"unit_price\" required></label>\
         <label for=\"price-from-{id}\">生效日期（该日及以后开始的账期）<input id=\"price-from-{id}\" name=\"effective_from\" type=\"date\" required value=\"{today}\"></label>\
         <button type=\"submit\">调价</button></form>",
        esc(&i.name),
        id = i.id
    )
}

#[derive(Deserialize)]
pub(super) struct FeeItemForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    community_id: String,
    #[serde(default)]
    name: String,
    #[serde(default)]
    kind: String,
    #[serde(default)]
    unit_price: String,
    #[serde(default)]
    cycle: String,
    #[serde(default)]
    due_day: String,
    #[serde(default)]
    effective_from: String,
    /// Comma-separated buildings; empty for every unit.
    #[serde(default)]
    buildings: String,
}

/// `POST /console/setup/fee-items`: creates a fee item and shows its community's list.
pub(super) async fn create_fee_item(
    state: web::Data<AppState>,
    req: HttpRequest,
    form: web::Form<FeeItemForm>,
) -> HttpResponse {
    let s = match require_form(&state, &req, &form.csrf).await {
        Ok(s) => s,
        Err(r) => return r,
    };
    let buildings: Vec<String> = form
        .buildings
        .split([',', '，', '、'])
        .map(str::trim)
        .filter(|b| !b.is_empty())
        .map(str::to_string)
        .collect();
    let body = NewFeeItem {
        // Not a number: no community, which the service names.
        community_id: form.community_id.trim().parse().unwrap_or(0),
        name: form.name.clone(),
        kind: form.kind.trim().to_string(),
        unit_price: form.unit_price.trim().to_string(),
        cycle: form.cycle.trim().to_string(),
        due_day: whole(&form.due_day),
        applies_to: (!buildings.is_empty()).then_some(AppliesTo {
            buildings: Some(buildings),
            unit_ids: None,
        }),
        prepay_discounts: None,
        effective_from: given(&form.effective_from),
    };
    match fee_items::create(&state, &s.ctx, body).await {
        Ok(i) => see_other(&format!("/console/setup/fee-items?community_id={}", i.community_id)),
        Err(e) => error_page(&e, Some(&s.viewer())),
    }
}

#[derive(Deserialize)]
pub(super) struct PriceForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    unit_price: String,
    #[serde(default)]
    effective_from: String,
}

/// `POST /console/setup/fee-items/{id}/prices`: a price for periods starting on or after a date.
pub(super) async fn add_price(
    state: web::Data<AppState>,
    req: HttpRequest,
    id: web::Path<i32>,
    form: web::Form<PriceForm>,
) -> HttpResponse {
    let s = match require_form(&state, &req, &form.csrf).await {
        Ok(s) => s,
        Err(r) => return r,
    };
    let body = NewPrice {
        unit_price: form.unit_price.trim().to_string(),
        effective_from: form.effective_from.trim().to_string(),
    };
    match fee_items::add_price(&state, &s.ctx, *id, body).await {
        Ok(i) => see_other(&format!("/console/setup/fee-items?community_id={}", i.community_id)),
        Err(e) => error_page(&e, Some(&s.viewer())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_that_are_not_reach_the_service_out_of_every_range() {
        assert_eq!(whole(" 15 "), 15);
        assert_eq!(whole(""), -1);
        assert_eq!(whole("十五"), -1);
        assert_eq!(whole("99999999999999999999"), -1);
        assert_eq!(given("  "), None);
        assert_eq!(given(" Asia/Shanghai "), Some("Asia/Shanghai".to_string()));
    }
}
