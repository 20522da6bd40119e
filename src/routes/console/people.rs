//! 设置 · 员工与角色 (admin only: add members, change role and communities, reset a password,
//! deactivate — which ends their sessions at once), the audit trail of who changed what, and the
//! record of who saw an owner's full phone number and why. All through the services the API uses.
use super::page::error_page;
use super::setup::subnav;
use super::{community_names, pager, require_signed, see_other, Signed};
use crate::domain::role::{Action, Role};
use crate::domain::text::esc;
use crate::error::ApiError;
use crate::services::access::audit_trail::{self, AuditQuery};
use crate::services::access::staff::{self, actor_names, NewStaff, StaffPatch};
use crate::services::setup::owners::{pii_access_log, PiiQuery};
use crate::state::AppState;
use actix_web::{web, HttpRequest, HttpResponse};
use serde::Deserialize;

const ROLES: [(&str, &str); 4] = [
    ("admin", "管理员（全部小区）"),
    ("finance", "财务"),
    ("service", "客服"),
    ("collector", "催缴专员"),
];

fn role_options(selected: &str) -> String {
    ROLES
        .iter()
        .map(|(v, n)| {
            let sel = if *v == selected { " selected" } else { "" };
            format!("<option value=\"{v}\"{sel}>{n}</option>")
        })
        .collect()
}

/// One checkbox per community, ticked for `ticked`; ids prefixed by `key` so labels stay unique.
fn community_boxes(names: &[(i32, String)], ticked: &[i32], key: &str) -> String {
    names
        .iter()
        .map(|(id, n)| {
            let on = if ticked.contains(id) { " checked" } else { "" };
            format!(
                "<label for=\"{key}-c{id}\" class=\"check\"><span>{}</span><input id=\"{key}-c{id}\" type=\"checkbox\" name=\"community_ids\" value=\"{id}\"{on}></label>",
                esc(n)
            )
        })
        .collect()
}

/// `GET /console/setup/staff`.
pub(super) async fn staff_list(state: web::Data<AppState>, req: HttpRequest) -> HttpResponse {
    let s = match require_signed(&state, &req).await {
        Ok(s) => s,
        Err(r) => return r,
    };
    let body = async {
        let users = staff::list(&state, &s.ctx).await?;
        let names = community_names(&state, &s.ctx).await?;
        let csrf = esc(&s.csrf);
        let mut out = format!(
            "<h1>员工与角色</h1>{}<p class=\"muted\">管理员可见全部小区；其他角色只能看到勾选的小区。停用后该员工立即退出登录。</p>\
             <h2>新增员工</h2><form id=\"new-staff\" class=\"inline\" method=\"post\" action=\"/console/setup/staff\">\
             <input type=\"hidden\" name=\"csrf\" value=\"{csrf}\">\
             <label for=\"new-username\">用户名<input id=\"new-username\" name=\"username\" required maxlength=\"32\" autocomplete=\"off\"></label>\
             <label for=\"new-password\">初始密码（至少10位）<input id=\"new-password\" name=\"password\" type=\"password\" required minlength=\"10\" autocomplete=\"new-password\"></label>\
             <label for=\"new-role\">角色<select id=\"new-role\" name=\"role\">{}</select></label>{}\
             <button type=\"submit\">新增</button></form><h2>员工</h2>\
             <table id=\"staff\"><tr><th>用户名</th><th>角色</th><th>负责小区</th><th>状态</th><th>修改</th></tr>",
            subnav("/console/setup/staff"),
            role_options("collector"),
            community_boxes(&names, &[], "new")
        );
        for u in &users {
            let communities: Vec<String> = if u.role == Role::Admin {
                vec!["全部".to_string()]
            } else {
                u.community_ids
                    .iter()
                    .map(|c| {
                        names
                            .iter()
                            .find(|(id, _)| id == c)
                            .map_or_else(|| format!("小区{c}"), |(_, n)| n.clone())
                    })
                    .collect()
            };
            let key = format!("u{}", u.id);
            out.push_str(&format!(
                "<tr id=\"staff-{id}\"><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>\
                 <form class=\"inline\" method=\"post\" action=\"/console/setup/staff/{id}\"><input type=\"hidden\" name=\"csrf\" value=\"{csrf}\">\
                 <label for=\"{key}-role\">角色<select id=\"{key}-role\" name=\"role\">{}</select></label>{}\
                 <label for=\"{key}-password\">新密码（不改留空）<input id=\"{key}-password\" name=\"password\" type=\"password\" minlength=\"10\" autocomplete=\"new-password\"></label>\
                 <label for=\"{key}-active\" class=\"check\"><span>在职</span><input id=\"{key}-active\" type=\"checkbox\" name=\"active\" value=\"1\"{}></label>\
                 <button type=\"submit\">保存</button></form></td></tr>",
                esc(&u.username),
                esc(ROLES.iter().find(|(v, _)| *v == u.role.as_str()).map_or("", |(_, n)| n)),
                esc(&communities.join("、")),
                if u.active { "在职" } else { "已停用" },
                role_options(u.role.as_str()),
                community_boxes(&names, &u.community_ids, &key),
                if u.active { " checked" } else { "" },
                id = u.id
            ));
        }
        out.push_str("</table>");
        Ok(out)
    }
    .await;
    s.respond("员工与角色", body)
}

/// A staff form's fields: repeated `community_ids` (one per ticked box) collected, which serde's
/// form decoding cannot do.
struct StaffForm {
    csrf: String,
    username: String,
    password: String,
    role: String,
    community_ids: Vec<i32>,
    active: bool,
}

fn staff_form(body: &[u8]) -> Result<StaffForm, ApiError> {
    let mut f = StaffForm {
        csrf: String::new(),
        username: String::new(),
        password: String::new(),
        role: String::new(),
        community_ids: Vec::new(),
        active: false,
    };
    for (k, v) in url::form_urlencoded::parse(body) {
        match k.as_ref() {
            "csrf" => f.csrf = v.into_owned(),
            "username" => f.username = v.into_owned(),
            "password" => f.password = v.into_owned(),
            "role" => f.role = v.into_owned(),
            "active" => f.active = true,
            "community_ids" => f
                .community_ids
                .push(v.parse().map_err(|_| ApiError::field("community_ids", "小区不存在"))?),
            _ => {}
        }
    }
    Ok(f)
}

/// Parses the form and checks its CSRF field against the session.
async fn signed_form(state: &AppState, req: &HttpRequest, body: &[u8]) -> Result<(Signed, StaffForm), HttpResponse> {
    let s = require_signed(state, req).await?;
    let f = match staff_form(body) {
        Ok(f) => f,
        Err(e) => return Err(error_page(&e, Some(&s.viewer()))),
    };
    if let Some(r) = s.refuse_forged(&f.csrf) {
        return Err(r);
    }
    Ok((s, f))
}

/// `POST /console/setup/staff`.
pub(super) async fn staff_create(state: web::Data<AppState>, req: HttpRequest, body: web::Bytes) -> HttpResponse {
    let (s, f) = match signed_form(&state, &req, &body).await {
        Ok(x) => x,
        Err(r) => return r,
    };
    let new = NewStaff {
        username: f.username,
        password: f.password,
        role: f.role,
        community_ids: f.community_ids,
    };
    match staff::create(&state, &s.ctx, new).await {
        Ok(u) => see_other(&format!("/console/setup/staff#staff-{}", u.id)),
        Err(e) => error_page(&e, Some(&s.viewer())),
    }
}

/// `POST /console/setup/staff/{id}`: role, communities, active, and a new password when given.
pub(super) async fn staff_update(
    state: web::Data<AppState>,
    req: HttpRequest,
    id: web::Path<i32>,
    body: web::Bytes,
) -> HttpResponse {
    let (s, f) = match signed_form(&state, &req, &body).await {
        Ok(x) => x,
        Err(r) => return r,
    };
    let patch = StaffPatch {
        role: Some(f.role).filter(|r| !r.is_empty()),
        community_ids: Some(f.community_ids),
        password: Some(f.password).filter(|p| !p.is_empty()),
        active: Some(f.active),
    };
    match staff::update(&state, &s.ctx, *id, patch).await {
        Ok(u) => see_other(&format!("/console/setup/staff#staff-{}", u.id)),
        Err(e) => error_page(&e, Some(&s.viewer())),
    }
}

#[derive(Deserialize)]
pub(super) struct AuditFilters {
    actor: Option<String>,
    entity: Option<String>,
    entity_id: Option<i32>,
    page: Option<u64>,
}

/// An audited action in words (the code when it has none yet).
fn action_name(code: &str) -> &str {
    match code {
        "community.create" => "新建小区",
        "community.update" => "修改小区",
        "late_fee_terms.create" => "新增滞纳金规则",
        "fee_item.create" => "新建收费项目",
        "fee_item.update" => "修改收费项目",
        "fee_item.price" => "调整单价",
        "hold.create" => "暂缓催缴",
        "hold.end" => "结束暂缓",
        "import.csv" => "导入房屋和业主",
        "owner.create" => "新建业主",
        "owner.update" => "修改业主",
        "reminder_policy.update" => "修改催缴策略",
        "staff.create" => "新增员工",
        "staff.update" => "修改员工",
        "unit.create" => "新建房屋",
        "unit.update" => "修改房屋",
        "unit.transfer" => "过户",
        "billing_run.issued_on" => "补录开票日期开账",
        other => other,
    }
}

/// `GET /console/setup/audit-log?actor=&entity=&entity_id=&page=`.
pub(super) async fn audit_log(
    state: web::Data<AppState>,
    req: HttpRequest,
    q: web::Query<AuditFilters>,
) -> HttpResponse {
    let s = match require_signed(&state, &req).await {
        Ok(s) => s,
        Err(r) => return r,
    };
    let body = async {
        let query = AuditQuery {
            actor: q.actor.clone().filter(|a| !a.is_empty()),
            entity: q.entity.clone().filter(|e| !e.is_empty()),
            entity_id: q.entity_id,
            page: q.page.unwrap_or(1),
        };
        let list = audit_trail::list(&state, &s.ctx, query.clone()).await?;
        let actors: Vec<&str> = list.items.iter().map(|e| e.actor.as_str()).collect();
        let who = actor_names(&state, &actors).await?;
        let mut out = format!(
            "<h1>操作日志</h1>{}<form class=\"inline\" method=\"get\" action=\"/console/setup/audit-log\">\
             <label for=\"f-actor\">操作人（如 staff:3）<input id=\"f-actor\" name=\"actor\" value=\"{}\"></label>\
             <label for=\"f-entity\">对象类型（如 unit、community）<input id=\"f-entity\" name=\"entity\" value=\"{}\"></label>\
             <label for=\"f-entity-id\">对象编号<input id=\"f-entity-id\" name=\"entity_id\" type=\"number\" min=\"1\" value=\"{}\"></label>\
             <button type=\"submit\">筛选</button></form>",
            subnav("/console/setup/audit-log"),
            esc(query.actor.as_deref().unwrap_or("")),
            esc(query.entity.as_deref().unwrap_or("")),
            query.entity_id.map(|i| i.to_string()).unwrap_or_default()
        );
        if list.items.is_empty() {
            out.push_str("<p id=\"no-audit\">没有符合条件的记录。</p>");
        } else {
            out.push_str("<table id=\"audit\"><tr><th>时间</th><th>操作人</th><th>操作</th><th>对象</th><th>详情</th></tr>");
            for e in &list.items {
                out.push_str(&format!(
                    "<tr><td>{}</td><td>{}</td><td>{}</td><td>{} #{}</td><td class=\"pre\"><code>{}</code></td></tr>",
                    e.at.format("%Y-%m-%d %H:%M:%S UTC"),
                    esc(who.get(&e.actor).map_or(e.actor.as_str(), String::as_str)),
                    esc(action_name(&e.action)),
                    esc(&e.entity),
                    e.entity_id,
                    esc(&e.detail)
                ));
            }
            out.push_str("</table>");
        }
        out.push_str(&pager(
            "/console/setup/audit-log",
            &[
                ("actor", query.actor.unwrap_or_default()),
                ("entity", query.entity.unwrap_or_default()),
                ("entity_id", query.entity_id.map(|i| i.to_string()).unwrap_or_default()),
            ],
            list.total,
            list.page,
            list.per_page,
            "条",
        ));
        Ok(out)
    }
    .await;
    s.respond("操作日志", body)
}

#[derive(Deserialize)]
pub(super) struct PiiFilters {
    owner_id: Option<i32>,
}

/// `GET /console/setup/pii-log?owner_id=`: the latest 500 reveals.
pub(super) async fn pii_log(state: web::Data<AppState>, req: HttpRequest, q: web::Query<PiiFilters>) -> HttpResponse {
    let s = match require_signed(&state, &req).await {
        Ok(s) => s,
        Err(r) => return r,
    };
    let body = async {
        s.ctx.require(Action::ManageStaff)?;
        let rows = pii_access_log(&state, &s.ctx, PiiQuery { owner_id: q.owner_id }).await?;
        let actors: Vec<String> = rows.iter().map(|r| format!("staff:{}", r.staff_id)).collect();
        let refs: Vec<&str> = actors.iter().map(String::as_str).collect();
        let who = actor_names(&state, &refs).await?;
        let mut out = format!(
            "<h1>个人信息查看记录</h1>{}<p class=\"muted\">每次查看业主完整手机号都会记录查看人、时间和用途（最近500条）。</p>\
             <form class=\"inline\" method=\"get\" action=\"/console/setup/pii-log\">\
             <label for=\"f-owner\">业主编号<input id=\"f-owner\" name=\"owner_id\" type=\"number\" min=\"1\" value=\"{}\"></label>\
             <button type=\"submit\">筛选</button></form>",
            subnav("/console/setup/pii-log"),
            q.owner_id.map(|i| i.to_string()).unwrap_or_default()
        );
        if rows.is_empty() {
            out.push_str("<p id=\"no-reveals\">没有查看记录。</p>");
            return Ok(out);
        }
        out.push_str("<table id=\"reveals\"><tr><th>时间</th><th>查看人</th><th>业主编号</th><th>内容</th><th>用途</th></tr>");
        for (r, actor) in rows.iter().zip(&actors) {
            out.push_str(&format!(
                "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
                r.at.format("%Y-%m-%d %H:%M:%S UTC"),
                esc(who.get(actor).map_or(actor.as_str(), String::as_str)),
                r.owner_id,
                if r.field == "phone" { "手机号" } else { "其他" },
                esc(r.purpose.as_deref().unwrap_or(""))
            ));
        }
        out.push_str("</table>");
        Ok(out)
    }
    .await;
    s.respond("个人信息查看记录", body)
}
