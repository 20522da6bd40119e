//! 房屋 setup in the console: add a unit to a community and correct a unit's building, code, area
//! or handover date — the same units service as `POST/PATCH /staff/units` (a billed unit keeps its
//! building: the service answers 409, shown as the console's page).
use super::page::error_page;
use super::{require_form, see_other, Signed};
use crate::domain::role::Action;
use crate::domain::text::esc;
use crate::services::setup::units::{create_unit, update_unit, NewUnit, UnitDetail, UnitPatch};
use crate::state::AppState;
use actix_web::{web, HttpRequest, HttpResponse};
use serde::Deserialize;

fn may(s: &Signed) -> bool {
    s.ctx.role.may(Action::EditUnitsAndOwners)
}

/// The fields a unit form shows, with `prefix` keeping label ids unique on a page.
fn fields(prefix: &str, building: &str, code: &str, area: &str, handover: &str) -> String {
    format!(
        "<label for=\"{prefix}-building\">楼栋<input id=\"{prefix}-building\" name=\"building\" required maxlength=\"32\" value=\"{}\"></label>\
         <label for=\"{prefix}-code\">房号（字母、数字、-、_）<input id=\"{prefix}-code\" name=\"code\" required maxlength=\"32\" value=\"{}\"></label>\
         <label for=\"{prefix}-area\">建筑面积（m²）<input id=\"{prefix}-area\" name=\"area_m2\" required inputmode=\"decimal\" value=\"{}\"></label>\
         <label for=\"{prefix}-handover\">交房日期（未交房留空）<input id=\"{prefix}-handover\" name=\"handover_date\" type=\"date\" value=\"{}\"></label>",
        esc(building),
        esc(code),
        esc(area),
        esc(handover)
    )
}

/// The "add a unit" form under a community's unit list (nothing for those who may not).
pub(super) fn new_form(s: &Signed, community_id: i32) -> String {
    if !may(s) {
        return String::new();
    }
    format!(
        "<h2>新增房屋</h2><form id=\"new-unit\" class=\"inline\" method=\"post\" action=\"/console/units/new\">\
         <input type=\"hidden\" name=\"csrf\" value=\"{}\"><input type=\"hidden\" name=\"community_id\" value=\"{community_id}\">{}\
         <button type=\"submit\">新增</button> <a href=\"/console/setup/imports?community_id={community_id}\">批量导入</a></form>",
        esc(&s.csrf),
        fields("new", "", "", "", "")
    )
}

/// The correction form on a unit's page.
pub(super) fn edit_form(s: &Signed, u: &UnitDetail) -> String {
    if !may(s) {
        return String::new();
    }
    format!(
        "<details><summary>修改房屋信息</summary><form id=\"edit-unit\" class=\"inline\" method=\"post\" action=\"/console/units/{}/edit\">\
         <input type=\"hidden\" name=\"csrf\" value=\"{}\">{}<button type=\"submit\">保存</button></form></details>",
        u.id,
        esc(&s.csrf),
        fields(
            "edit",
            &u.building,
            &u.code,
            &u.area_m2,
            &u.handover_date.map(|d| d.to_string()).unwrap_or_default()
        )
    )
}

/// The form that registers an owner of a unit (a new unit's owner, or a co-owner).
pub(super) fn owner_form(s: &Signed, u: &UnitDetail) -> String {
    if !may(s) {
        return String::new();
    }
    format!(
        "<form id=\"add-owner\" class=\"inline\" method=\"post\" action=\"/console/units/{}/owners\">\
         <input type=\"hidden\" name=\"csrf\" value=\"{}\">\
         <label for=\"owner-name\">业主姓名<input id=\"owner-name\" name=\"name\" required maxlength=\"64\"></label>\
         <label for=\"owner-phone\">手机号<input id=\"owner-phone\" name=\"phone\" required inputmode=\"tel\" maxlength=\"14\" autocomplete=\"off\"></label>\
         <button type=\"submit\">登记业主</button></form>",
        u.id,
        esc(&s.csrf)
    )
}

#[derive(Deserialize)]
pub(super) struct OwnerForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    name: String,
    #[serde(default)]
    phone: String,
}

/// `POST /console/units/{id}/owners`: an owner record linked to this unit from today (the phone is
/// sealed and shown masked, as everywhere).
pub(super) async fn add_owner(
    state: web::Data<AppState>,
    req: HttpRequest,
    id: web::Path<i32>,
    form: web::Form<OwnerForm>,
) -> HttpResponse {
    let s = match signed(&state, &req, &form.csrf).await {
        Ok(s) => s,
        Err(r) => return r,
    };
    // The unit must be one the member sees (404 otherwise), before anything is judged.
    if let Err(e) = crate::services::setup::units::get_unit(&state, &s.ctx, *id).await {
        return error_page(&e, Some(&s.viewer()));
    }
    let f = form.into_inner();
    let body = crate::services::setup::owners::NewOwner {
        name: f.name,
        phone: f.phone.trim().to_string(),
        unit_ids: vec![*id],
        community_id: None,
    };
    match crate::services::setup::owners::create_owner(&state, &s.ctx, body).await {
        Ok(_) => see_other(&format!("/console/units/{}", *id)),
        Err(e) => error_page(&e, Some(&s.viewer())),
    }
}

#[derive(Deserialize)]
pub(super) struct UnitForm {
    #[serde(default)]
    csrf: String,
    community_id: Option<i32>,
    #[serde(default)]
    building: String,
    #[serde(default)]
    code: String,
    #[serde(default)]
    area_m2: String,
    #[serde(default)]
    handover_date: String,
}

fn date(raw: &str) -> Option<String> {
    Some(raw.trim().to_string()).filter(|d| !d.is_empty())
}

async fn signed(state: &AppState, req: &HttpRequest, csrf: &str) -> Result<Signed, HttpResponse> {
    let s = require_form(state, req, csrf).await?;
    // Refused for the role before the form is judged, like the API.
    match s.ctx.require(Action::EditUnitsAndOwners) {
        Ok(()) => Ok(s),
        Err(e) => Err(error_page(&e, Some(&s.viewer()))),
    }
}

/// `POST /console/units/new`.
pub(super) async fn create(state: web::Data<AppState>, req: HttpRequest, form: web::Form<UnitForm>) -> HttpResponse {
    let s = match signed(&state, &req, &form.csrf).await {
        Ok(s) => s,
        Err(r) => return r,
    };
    let f = form.into_inner();
    let body = NewUnit {
        community_id: f.community_id.unwrap_or(0),
        building: f.building,
        code: f.code,
        area_m2: f.area_m2,
        handover_date: date(&f.handover_date),
    };
    match create_unit(&state, &s.ctx, body).await {
        Ok(u) => see_other(&format!("/console/units/{}", u.id)),
        Err(e) => error_page(&e, Some(&s.viewer())),
    }
}

/// `POST /console/units/{id}/edit`: every field as shown (unchanged ones are no change).
pub(super) async fn update(
    state: web::Data<AppState>,
    req: HttpRequest,
    id: web::Path<i32>,
    form: web::Form<UnitForm>,
) -> HttpResponse {
    let s = match signed(&state, &req, &form.csrf).await {
        Ok(s) => s,
        Err(r) => return r,
    };
    let f = form.into_inner();
    let current = match crate::services::setup::units::get_unit(&state, &s.ctx, *id).await {
        Ok(u) => u,
        Err(e) => return error_page(&e, Some(&s.viewer())),
    };
    // Send only what changed, so an untouched building on a billed unit is not a "change".
    let changed = |new: String, old: &str| Some(new.trim().to_string()).filter(|n| n != old);
    let patch = UnitPatch {
        building: changed(f.building, &current.building),
        code: changed(f.code, &current.code),
        area_m2: changed(f.area_m2, &current.area_m2),
        handover_date: date(&f.handover_date)
            .filter(|d| Some(d.as_str()) != current.handover_date.map(|h| h.to_string()).as_deref()),
    };
    match update_unit(&state, &s.ctx, *id, patch).await {
        Ok(u) => see_other(&format!("/console/units/{}", u.id)),
        Err(e) => error_page(&e, Some(&s.viewer())),
    }
}
