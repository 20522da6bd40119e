//! 积分 in the console (issue #15): 积分商城 (the catalog kept by service staff and admins),
//! 兑换发放 (handing over or cancelling what owners redeemed through the API), a community's 积分设置
//! (finance and admins save; others read), and a unit's 积分与信用 section with finance's
//! adjustment form. Every change is seen again through the JSON API; a forged token, bad input, a
//! role that may not or a community outside the member's scope change nothing, and a refusal is
//! shown on the page the form was on. The last test does the same in Chromium.
use crate::console::{hidden_csrf, outsider, page, post_form, sign_in};
use crate::payments::{shop, Shop};
use crate::points::{give_points, my_points};
use serde_json::{json, Value};

const NAV: [&str; 2] = [
    "<a href=\"/console/rewards\">积分商城</a>",
    "<a href=\"/console/redemptions\">兑换发放</a>",
];

async fn catalog(s: &Shop) -> Vec<Value> {
    s.app
        .get_json(
            &format!("/api/v1/staff/rewards?community_id={}", s.community),
            Some(&s.admin),
        )
        .await
}

async fn reward_api(s: &Shop, id: i64) -> Value {
    catalog(s)
        .await
        .into_iter()
        .find(|r| r["id"] == id)
        .unwrap_or_else(|| panic!("reward {id} in the catalog"))
}

/// A reward (goods) made through the API by the admin: its id.
pub(crate) async fn api_reward(s: &Shop, name: &str, cost: i64, stock: i64) -> i64 {
    let r = s
        .app
        .post(
            "/api/v1/staff/rewards",
            Some(&s.admin),
            &json!({"community_id": s.community, "name": name, "kind": "goods", "points_cost": cost, "stock": stock}),
        )
        .await;
    assert_eq!(r.status(), 201, "{}", r.text().await.unwrap_or_default());
    r.json::<Value>().await.unwrap()["id"].as_i64().unwrap()
}

/// The owner redeems through the API with an Idempotency-Key: the redemption's id.
pub(crate) async fn redeem(s: &Shop, reward: i64, quantity: i64, key: &str) -> i64 {
    let r = s
        .app
        .http
        .post(s.app.url("/api/v1/me/redemptions"))
        .bearer_auth(&s.owner)
        .header("Idempotency-Key", key)
        .json(&json!({"reward_id": reward, "quantity": quantity}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 201, "{}", r.text().await.unwrap_or_default());
    r.json::<Value>().await.unwrap()["id"].as_i64().unwrap()
}

async fn redemption(s: &Shop, id: i64) -> Value {
    let all: Vec<Value> = s
        .app
        .get_json(
            &format!("/api/v1/staff/redemptions?community_id={}&status=all", s.community),
            Some(&s.admin),
        )
        .await;
    all.into_iter()
        .find(|r| r["id"] == id)
        .unwrap_or_else(|| panic!("redemption {id} listed"))
}

/// The page's header (where the navigation is).
fn header(html: &str) -> &str {
    html.split("</header>").next().unwrap()
}

/// The `<tr>` of one listed item (`data-{what}-id`).
fn row(html: &str, what: &str, id: i64) -> String {
    let at = html
        .find(&format!("data-{what}-id=\"{id}\""))
        .unwrap_or_else(|| panic!("{what} {id} listed: {html}"));
    html[at..].split("</tr>").next().unwrap().to_string()
}

/// The ids a page lists, in order.
fn listed(html: &str, what: &str) -> Vec<i64> {
    html.split(&format!("data-{what}-id=\""))
        .skip(1)
        .map(|rest| rest.split('"').next().unwrap().parse().unwrap())
        .collect()
}

#[tokio::test]
async fn service_staff_keep_the_catalog_through_its_forms_and_a_collector_only_reads_it() {
    let s = shop().await;
    let app = &s.app;
    app.staff_member(&s.admin, "kefu", "service", &[s.community]).await;
    app.staff_member(&s.admin, "cuishou", "collector", &[s.community]).await;
    app.staff_member(&s.admin, "caiwu", "finance", &[s.community]).await;
    let kefu = sign_in(app, "kefu", "long-enough-pw").await;

    // Service staff: the links in the header, an empty catalog and the form that adds a reward.
    let path = format!("/console/rewards?community_id={}", s.community);
    let (status, html) = page(app, &path, &kefu).await;
    assert_eq!(status, 200, "{html}");
    for part in NAV {
        assert!(header(&html).contains(part), "{part}: {html}");
    }
    for part in [
        "<h1>积分商城</h1>",
        "id=\"no-rewards\"",
        "id=\"new-reward\"",
        "<option value=\"goods\">实物</option>",
        "<option value=\"service\">服务</option>",
        "name=\"per_owner_limit\"",
        &format!("href=\"/console/setup/communities/{}/points-settings\"", s.community) as &str,
    ] {
        assert!(html.contains(part), "{part}: {html}");
    }
    let csrf = hidden_csrf(&html);
    let community = s.community.to_string();
    let good = |csrf: &str| -> Vec<(&'static str, String)> {
        vec![
            ("csrf", csrf.to_string()),
            ("filter", community.clone()),
            ("community_id", community.clone()),
            ("name", "<b>上门保洁</b>一次".to_string()),
            ("kind", "service".to_string()),
            ("points_cost", "500".to_string()),
            ("stock", "8".to_string()),
            ("per_owner_limit", "2".to_string()),
            ("description", "预约后两日内上门".to_string()),
        ]
    };
    let post = |form: Vec<(&'static str, String)>, path: String, who: String| async move {
        let form: Vec<(&str, &str)> = form.iter().map(|(k, v)| (*k, v.as_str())).collect();
        post_form(app, &path, &who, &form).await
    };

    // A forged token adds nothing.
    let (status, _, _) = post(good("forged"), "/console/rewards".into(), kefu.clone()).await;
    assert_eq!(status, 403);
    assert_eq!(app.count("rewards").await, 0);
    // Bad input: the catalog again, 422, each problem in Chinese and what was typed; nothing added.
    let mut bad = good(&csrf);
    for (k, v) in bad.iter_mut() {
        match *k {
            "kind" => *v = "gift".into(),
            "points_cost" => *v = "0".into(),
            "stock" => *v = "很多".into(),
            _ => {}
        }
    }
    let (status, _, html) = post(bad, "/console/rewards".into(), kefu.clone()).await;
    assert_eq!(status, 422, "{html}");
    for part in [
        "id=\"form-error\"",
        "所需积分应在1到10000000之间",
        "库存应在0到1000000之间",
        "类型应为 goods（实物）或 service（服务）",
        "value=\"&lt;b&gt;上门保洁&lt;/b&gt;一次\"",
        ">预约后两日内上门</textarea>",
        "<h1>积分商城</h1>",
    ] {
        assert!(html.contains(part), "{part}: {html}");
    }
    assert_eq!(app.count("rewards").await, 0);

    // Added: back to the catalog it was added from, and the API has it as typed.
    let (status, location, body) = post(good(&csrf), "/console/rewards".into(), kefu.clone()).await;
    assert_eq!(status, 303, "{body}");
    assert_eq!(
        location,
        format!("/console/rewards?community_id={}&saved=1", s.community)
    );
    let all = catalog(&s).await;
    assert_eq!(all.len(), 1, "{all:?}");
    let r = &all[0];
    assert_eq!(
        (
            r["name"].as_str(),
            r["kind"].as_str(),
            r["points_cost"].as_i64(),
            r["stock"].as_i64(),
            r["per_owner_limit"].as_i64(),
            r["description"].as_str(),
            r["active"].as_bool()
        ),
        (
            Some("<b>上门保洁</b>一次"),
            Some("service"),
            Some(500),
            Some(8),
            Some(2),
            Some("预约后两日内上门"),
            Some(true)
        ),
        "{r}"
    );
    let id = r["id"].as_i64().unwrap();
    let (_, html) = page(app, &location, &kefu).await;
    assert!(html.contains("id=\"reward-saved\""), "{html}");
    let tr = row(&html, "reward", id);
    for part in [
        "&lt;b&gt;上门保洁&lt;/b&gt;一次",
        "预约后两日内上门",
        "<td>服务</td>",
        "<td class=\"num\">500</td>",
        "<td class=\"num\">8</td>",
        "<td class=\"num\">2</td>",
        "上架中",
        "小区C1",
        "下架",
    ] {
        assert!(tr.contains(part), "{part}: {tr}");
    }
    assert!(!html.contains("<b>上门保洁</b>"), "escaped: {html}");

    // The row's form: a new cost and stock, the limit emptied (none).
    let edit = format!("/console/rewards/{id}");
    let form = vec![
        ("csrf", csrf.clone()),
        ("filter", String::new()),
        ("points_cost", "300".to_string()),
        ("stock", "20".to_string()),
        ("per_owner_limit", String::new()),
    ];
    let (status, location, body) = post(form, edit.clone(), kefu.clone()).await;
    assert_eq!((status, location.as_str()), (303, "/console/rewards?saved=1"), "{body}");
    let r = reward_api(&s, id).await;
    assert_eq!((r["points_cost"].as_i64(), r["stock"].as_i64()), (Some(300), Some(20)));
    assert!(r.get("per_owner_limit").is_none(), "no limit: {r}");
    // A bad stock: refused on the catalog with the row's typed value; nothing changes.
    let form = vec![
        ("csrf", csrf.clone()),
        ("points_cost", "300".to_string()),
        ("stock", "-5".to_string()),
        ("per_owner_limit", "3".to_string()),
    ];
    let (status, _, html) = post(form, edit.clone(), kefu.clone()).await;
    assert_eq!(status, 422, "{html}");
    assert!(html.contains("库存应在0到1000000之间"), "{html}");
    assert!(row(&html, "reward", id).contains("value=\"-5\""), "{html}");
    let r = reward_api(&s, id).await;
    assert_eq!((r["stock"].as_i64(), r.get("per_owner_limit")), (Some(20), None), "{r}");
    // Withdrawn, then back on the shelf.
    let toggle = |on: &str| vec![("csrf", csrf.clone()), ("active", on.to_string())];
    let (status, _, _) = post(toggle("0"), edit.clone(), kefu.clone()).await;
    assert_eq!(status, 303);
    assert_eq!(reward_api(&s, id).await["active"], false);
    let (_, html) = page(app, "/console/rewards", &kefu).await;
    let tr = row(&html, "reward", id);
    assert!(tr.contains("已下架") && tr.contains("重新上架"), "{tr}");
    assert_eq!(reward_api(&s, id).await["stock"], 20, "only active changed");
    let (status, _, _) = post(toggle("1"), edit.clone(), kefu.clone()).await;
    assert_eq!(status, 303);
    assert_eq!(reward_api(&s, id).await["active"], true);

    // A collector reads the catalog: no links, no forms; posted anyway, refused, nothing changes.
    let cuishou = sign_in(app, "cuishou", "long-enough-pw").await;
    let (status, html) = page(app, "/console/rewards", &cuishou).await;
    assert_eq!(status, 200, "{html}");
    assert_eq!(listed(&html, "reward"), [id]);
    for part in NAV {
        assert!(!header(&html).contains(part), "{part}: {html}");
    }
    assert!(
        !html.contains("id=\"new-reward\"") && !html.contains(&format!("action=\"/console/rewards/{id}\"")),
        "{html}"
    );
    let theirs = hidden_csrf(&html);
    let (status, _, html) = post(good(&theirs), "/console/rewards".into(), cuishou.clone()).await;
    assert_eq!(status, 403);
    assert!(html.contains("无权访问"), "{html}");
    let (status, _, _) = post(toggle_with(&theirs, "0"), edit.clone(), cuishou.clone()).await;
    assert_eq!(status, 403);
    assert_eq!(app.count("rewards").await, 1);
    assert_eq!(reward_api(&s, id).await["active"], true);
    // Finance do not keep the catalog either: no links.
    let caiwu = sign_in(app, "caiwu", "long-enough-pw").await;
    let (status, html) = page(app, "/console/", &caiwu).await;
    assert_eq!(status, 200);
    assert!(
        header(&html).contains("调整审批") && !header(&html).contains(NAV[0]) && !header(&html).contains(NAV[1]),
        "{html}"
    );

    // Service staff of another community: that catalog is not theirs, nor that reward.
    let other = outsider(app, &s.admin, "kefu9", "service").await;
    let (status, html) = page(app, &path, &other).await;
    assert_eq!(status, 404, "{html}");
    let (_, html) = page(app, "/console/rewards", &other).await;
    assert!(listed(&html, "reward").is_empty(), "{html}");
    let theirs = hidden_csrf(&html);
    let (status, _, _) = post(toggle_with(&theirs, "0"), edit, other).await;
    assert_eq!(status, 404);
    assert_eq!(reward_api(&s, id).await["active"], true);
    assert_eq!(app.count("audit_log WHERE action LIKE 'reward.%'").await, 4);
}

fn toggle_with(csrf: &str, on: &str) -> Vec<(&'static str, String)> {
    vec![("csrf", csrf.to_string()), ("active", on.to_string())]
}

#[tokio::test]
async fn redemptions_are_handed_over_or_cancelled_on_the_handover_page_and_cancelled_points_come_back() {
    let s = shop().await;
    let app = &s.app;
    give_points(&s, 1_000).await;
    let rice = api_reward(&s, "大米5斤", 100, 10).await;
    let first = redeem(&s, rice, 1, "r-1").await;
    let second = redeem(&s, rice, 2, "r-2").await;
    assert_eq!(my_points(&s).await["balance"], 700);
    assert_eq!(reward_api(&s, rice).await["stock"], 7);
    app.staff_member(&s.admin, "kefu", "service", &[s.community]).await;
    app.staff_member(&s.admin, "cuishou", "collector", &[s.community]).await;

    // Waiting, oldest first, each with what, how many, the points, whom and when.
    let kefu = sign_in(app, "kefu", "long-enough-pw").await;
    let (status, html) = page(app, "/console/redemptions", &kefu).await;
    assert_eq!(status, 200, "{html}");
    assert!(html.contains("<h1>兑换发放</h1>"), "{html}");
    assert!(
        html.contains("<option value=\"pending\" selected>待发放</option>"),
        "{html}"
    );
    assert_eq!(listed(&html, "redemption"), [first, second]);
    for (id, quantity, points) in [(first, 1, 100), (second, 2, 200)] {
        let tr = row(&html, "redemption", id);
        for part in [
            "大米5斤".to_string(),
            format!("<td class=\"num\">{quantity}</td><td class=\"num\">{points}</td>"),
            "<td>A-1-101</td>".to_string(),
            "2026-10-20 10:00".to_string(),
            "待发放".to_string(),
            format!("action=\"/console/redemptions/{id}/fulfil\""),
            format!("action=\"/console/redemptions/{id}/cancel\""),
        ] {
            assert!(tr.contains(&part), "{part}: {tr}");
        }
    }
    let csrf = hidden_csrf(&html);

    // A cancellation needs a reason: refused on the list, nothing moves.
    let cancel = format!("/console/redemptions/{second}/cancel");
    let (status, _, html) = post_form(app, &cancel, &kefu, &[("csrf", &csrf), ("reason", "  ")]).await;
    assert_eq!(status, 422, "{html}");
    assert!(
        html.contains("id=\"form-error\"") && html.contains("原因不能为空") && html.contains("<h1>兑换发放</h1>"),
        "{html}"
    );
    assert_eq!(redemption(&s, second).await["status"], "pending");
    assert_eq!(my_points(&s).await["balance"], 700);
    // A forged token decides nothing.
    let fulfil = format!("/console/redemptions/{first}/fulfil");
    let (status, _, _) = post_form(app, &fulfil, &kefu, &[("csrf", "forged")]).await;
    assert_eq!(status, 403);
    assert_eq!(redemption(&s, first).await["status"], "pending");

    // Handed over, with a note; the list keeps its filters.
    let (status, location, body) = post_form(
        app,
        &fulfil,
        &kefu,
        &[
            ("csrf", &csrf),
            ("note", "已于服务中心领取"),
            ("community_id", &s.community.to_string()),
            ("status", ""),
        ],
    )
    .await;
    assert_eq!(status, 303, "{body}");
    assert_eq!(location, format!("/console/redemptions?community_id={}", s.community));
    let v = redemption(&s, first).await;
    assert_eq!(
        (v["status"].as_str(), v["note"].as_str()),
        (Some("fulfilled"), Some("已于服务中心领取"))
    );
    // Cancelled with a reason: the points and the stock come back.
    let (status, location, body) =
        post_form(app, &cancel, &kefu, &[("csrf", &csrf), ("reason", "业主改选其他奖品")]).await;
    assert_eq!((status, location.as_str()), (303, "/console/redemptions"), "{body}");
    let v = redemption(&s, second).await;
    assert_eq!(
        (v["status"].as_str(), v["note"].as_str()),
        (Some("cancelled"), Some("业主改选其他奖品"))
    );
    assert_eq!(my_points(&s).await["balance"], 900);
    assert_eq!(
        reward_api(&s, rice).await["stock"],
        9,
        "the two cancelled back on the shelf"
    );
    // Decided once: a second decision is refused on the list.
    let (status, _, html) = post_form(
        app,
        &format!("/console/redemptions/{second}/fulfil"),
        &kefu,
        &[("csrf", &csrf)],
    )
    .await;
    assert_eq!(status, 409, "{html}");
    assert!(html.contains("该兑换已处理"), "{html}");
    assert_eq!(my_points(&s).await["balance"], 900);

    // Nothing waits now; everything shows how it ended.
    let (_, html) = page(app, "/console/redemptions", &kefu).await;
    assert!(html.contains("id=\"no-redemptions\""), "{html}");
    let (_, html) = page(app, "/console/redemptions?status=all&community_id=", &kefu).await;
    assert_eq!(listed(&html, "redemption"), [first, second]);
    let done = row(&html, "redemption", first);
    assert!(done.contains("已发放") && done.contains("已于服务中心领取"), "{done}");
    assert!(!done.contains("<form"), "decided: no forms: {done}");
    let gone = row(&html, "redemption", second);
    assert!(gone.contains("已取消") && gone.contains("业主改选其他奖品"), "{gone}");
    let (_, html) = page(app, "/console/redemptions?status=cancelled", &kefu).await;
    assert_eq!(listed(&html, "redemption"), [second]);
    let (status, html) = page(app, "/console/redemptions?status=lost", &kefu).await;
    assert_eq!(status, 422);
    assert!(html.contains("状态应为"), "{html}");

    // A collector sees what waits but may not decide it.
    let third = redeem(&s, rice, 1, "r-3").await;
    let cuishou = sign_in(app, "cuishou", "long-enough-pw").await;
    let (status, html) = page(app, "/console/redemptions", &cuishou).await;
    assert_eq!(status, 200);
    assert_eq!(listed(&html, "redemption"), [third]);
    assert!(!row(&html, "redemption", third).contains("<form"), "{html}");
    let theirs = hidden_csrf(&html);
    let (status, _, _) = post_form(
        app,
        &format!("/console/redemptions/{third}/cancel"),
        &cuishou,
        &[("csrf", &theirs), ("reason", "不要了")],
    )
    .await;
    assert_eq!(status, 403);
    assert_eq!(redemption(&s, third).await["status"], "pending");
    assert_eq!(my_points(&s).await["balance"], 800);
}

#[tokio::test]
async fn points_settings_are_saved_by_finance_through_the_form_and_only_read_by_others() {
    let s = shop().await;
    let app = &s.app;
    app.staff_member(&s.admin, "kefu", "service", &[s.community]).await;
    app.staff_member(&s.admin, "caiwu", "finance", &[s.community]).await;
    let path = format!("/console/setup/communities/{}/points-settings", s.community);
    let api = format!("/api/v1/staff/communities/{}/points-settings", s.community);
    let all = |v: [&str; 8]| -> Vec<(&'static str, String)> {
        [
            "points_per_yuan",
            "prepay_bonus_percent",
            "streak_months",
            "streak_bonus",
            "grade_a_permille",
            "expiry_years",
            "points_per_fee_yuan",
            "max_fee_percent",
        ]
        .into_iter()
        .zip(v.map(str::to_string))
        .collect()
    };
    let send = |csrf: &str, who: &str, v: [&str; 8]| {
        let mut form = all(v);
        form.push(("csrf", csrf.to_string()));
        let (path, who) = (path.clone(), who.to_string());
        async move {
            let form: Vec<(&str, &str)> = form.iter().map(|(k, v)| (*k, v.as_str())).collect();
            post_form(app, &path, &who, &form).await
        }
    };

    // Service staff read the defaults in a disabled form; a save from them is refused.
    let kefu = sign_in(app, "kefu", "long-enough-pw").await;
    let (status, html) = page(app, &path, &kefu).await;
    assert_eq!(status, 200, "{html}");
    for part in [
        "<h1>积分设置 · 小区C1</h1>",
        "正在使用默认规则",
        "<fieldset class=\"inline\" disabled>",
        "仅财务和管理员可以修改",
        "name=\"points_per_yuan\" type=\"number\" min=\"0\" max=\"100\" required value=\"1\"",
        "name=\"streak_bonus\" type=\"number\" min=\"0\" max=\"100000\" required value=\"200\"",
        "name=\"grade_a_permille\" type=\"number\" min=\"1000\" max=\"3000\" required value=\"1200\"",
        "name=\"points_per_fee_yuan\" type=\"number\" min=\"1\" max=\"10000\" required value=\"100\"",
        "name=\"max_fee_percent\" type=\"number\" min=\"0\" max=\"50\" required value=\"10\"",
    ] {
        assert!(html.contains(part), "{part}: {html}");
    }
    let csrf = hidden_csrf(&html);
    let (status, _, html) = send(&csrf, &kefu, ["2", "20", "6", "500", "1500", "3", "200", "15"]).await;
    assert_eq!(status, 403);
    assert!(html.contains("无权访问"), "{html}");
    let v: Value = app.get_json(&api, Some(&s.admin)).await;
    assert_eq!(
        (v["customised"].as_bool(), v["points_per_yuan"].as_i64()),
        (Some(false), Some(1))
    );

    // Finance: an open form. Bad values: the form again, 422, in Chinese, as typed; nothing saved.
    let caiwu = sign_in(app, "caiwu", "long-enough-pw").await;
    let (status, html) = page(app, &path, &caiwu).await;
    assert_eq!(status, 200);
    assert!(!html.contains("disabled") && html.contains("保存积分设置"), "{html}");
    let csrf = hidden_csrf(&html);
    let (status, _, html) = send(&csrf, &caiwu, ["101", "20", "6", "500", "1500", "三", "200", "15"]).await;
    assert_eq!(status, 422, "{html}");
    for part in [
        "id=\"form-error\"",
        "每元积分应在0到100之间",
        "有效年数应在1到10之间",
        "name=\"points_per_yuan\" type=\"number\" min=\"0\" max=\"100\" required value=\"101\"",
        "required value=\"三\"",
    ] {
        assert!(html.contains(part), "{part}: {html}");
    }
    assert_eq!(app.count("points_settings").await, 0);
    let v: Value = app.get_json(&api, Some(&s.admin)).await;
    assert_eq!(v["customised"], false, "{v}");

    // Saved: the API answers the new rules, and the page who changed them and when.
    let (status, location, body) = send(&csrf, &caiwu, ["2", "20", "6", "500", "1500", "3", "200", "15"]).await;
    assert_eq!(status, 303, "{body}");
    assert_eq!(location, format!("{path}?saved=1"));
    let v: Value = app.get_json(&api, Some(&s.admin)).await;
    assert_eq!(
        [
            &v["points_per_yuan"],
            &v["prepay_bonus_percent"],
            &v["streak_months"],
            &v["streak_bonus"],
            &v["grade_a_permille"],
            &v["expiry_years"],
            &v["points_per_fee_yuan"],
            &v["max_fee_percent"],
            &v["customised"]
        ],
        [
            &json!(2),
            &json!(20),
            &json!(6),
            &json!(500),
            &json!(1500),
            &json!(3),
            &json!(200),
            &json!(15),
            &json!(true)
        ],
        "{v}"
    );
    let (_, html) = page(app, &location, &caiwu).await;
    for part in [
        "id=\"points-settings-saved\"",
        "本小区使用自定义规则，最近由 员工 caiwu 于 2026-10-20 10:00 修改",
        "required value=\"1500\"",
    ] {
        assert!(html.contains(part), "{part}: {html}");
    }
    assert_eq!(app.count("audit_log WHERE action = 'points.settings'").await, 1);

    // Finance of another community: not theirs to read or save.
    let other = outsider(app, &s.admin, "caiwu9", "finance").await;
    let (status, html) = page(app, &path, &other).await;
    assert_eq!(status, 404, "{html}");
    let (_, html) = page(app, "/console/", &other).await;
    let (status, _, _) = send(
        &hidden_csrf(&html),
        &other,
        ["9", "20", "6", "500", "1500", "3", "200", "15"],
    )
    .await;
    assert_eq!(status, 404);
    let v: Value = app.get_json(&api, Some(&s.admin)).await;
    assert_eq!(v["points_per_yuan"], 2);
}

#[tokio::test]
async fn the_unit_page_shows_points_and_credit_grade_and_finance_adjust_them_there() {
    let s = shop().await;
    let app = &s.app;
    give_points(&s, 300).await;
    app.staff_member(&s.admin, "kefu", "service", &[s.community]).await;
    app.staff_member(&s.admin, "caiwu", "finance", &[s.community]).await;
    let api = format!("/api/v1/staff/units/{}/points", s.unit);
    let before: Value = app.get_json(&api, Some(&s.admin)).await;
    let grade = before["credit_grade"].as_str().unwrap().to_string();
    let why = before["credit_explanation"].as_str().unwrap().to_string();
    assert!(!why.is_empty(), "{before}");
    let path = format!("/console/units/{}", s.unit);

    // Service staff: the section as the API has it, no adjustment form.
    let kefu = sign_in(app, "kefu", "long-enough-pw").await;
    let (status, html) = page(app, &path, &kefu).await;
    assert_eq!(status, 200, "{html}");
    for part in [
        "<h2>积分与信用</h2>".to_string(),
        "<td id=\"points-holder\">业主账户".to_string(),
        "<td id=\"points-balance\">300</td>".to_string(),
        "<td id=\"points-owed\">0</td>".to_string(),
        "<td id=\"points-next-expiry\">300 分于 2028-12-31 后过期</td>".to_string(),
        format!("<td id=\"credit-grade\"><strong>{grade}</strong> <span class=\"muted\">{why}</span></td>"),
        "<td>人工调整</td><td class=\"num\">+300</td><td>社区活动奖励</td><td>2028-12-31</td>".to_string(),
    ] {
        assert!(html.contains(&part), "{part}: {html}");
    }
    assert!(
        !html.contains("id=\"points-adjust\""),
        "service staff adjust no points: {html}"
    );
    let theirs = hidden_csrf(&html);
    let adjust = format!("/console/units/{}/points/adjustments", s.unit);
    let (status, _, _) = post_form(
        app,
        &adjust,
        &kefu,
        &[("csrf", &theirs), ("points", "50"), ("reason", "x")],
    )
    .await;
    assert_eq!(status, 403);

    // Finance: the form. Added with a reason: the API and the page show the new balance.
    let caiwu = sign_in(app, "caiwu", "long-enough-pw").await;
    let (_, html) = page(app, &path, &caiwu).await;
    assert!(html.contains("id=\"points-adjust\""), "{html}");
    let csrf = hidden_csrf(&html);
    let (status, _, _) = post_form(
        app,
        &adjust,
        &caiwu,
        &[("csrf", "forged"), ("points", "50"), ("reason", "x")],
    )
    .await;
    assert_eq!(status, 403);
    let (status, location, body) = post_form(
        app,
        &adjust,
        &caiwu,
        &[("csrf", &csrf), ("points", "50"), ("reason", "业主协助消防演练")],
    )
    .await;
    assert_eq!((status, location.as_str()), (303, path.as_str()), "{body}");
    let v: Value = app.get_json(&api, Some(&s.admin)).await;
    assert_eq!(v["balance"], 350, "{v}");
    assert_eq!(my_points(&s).await["balance"], 350);
    let (_, html) = page(app, &path, &caiwu).await;
    assert!(html.contains("<td id=\"points-balance\">350</td>"), "{html}");
    assert!(
        html.contains("<td class=\"num\">+50</td><td>业主协助消防演练</td>"),
        "{html}"
    );

    // Beyond the balance, or not a number: refused on the unit page as typed; nothing moves.
    let (status, _, html) = post_form(
        app,
        &adjust,
        &caiwu,
        &[("csrf", &csrf), ("points", "-1000"), ("reason", "兑换纠错")],
    )
    .await;
    assert_eq!(status, 409, "{html}");
    for part in [
        "id=\"form-error\"",
        "积分不足：当前可用350分",
        "<h2>积分与信用</h2>",
        "value=\"-1000\"",
        "value=\"兑换纠错\"",
    ] {
        assert!(html.contains(part), "{part}: {html}");
    }
    let (status, _, html) = post_form(
        app,
        &adjust,
        &caiwu,
        &[("csrf", &csrf), ("points", "五十"), ("reason", "x")],
    )
    .await;
    assert_eq!(status, 422, "{html}");
    assert!(html.contains("调整积分应为非零整数"), "{html}");
    assert_eq!(my_points(&s).await["balance"], 350);
    // Taken away within the balance.
    let (status, _, _) = post_form(
        app,
        &adjust,
        &caiwu,
        &[("csrf", &csrf), ("points", "-30"), ("reason", "重复发放收回")],
    )
    .await;
    assert_eq!(status, 303);
    assert_eq!(my_points(&s).await["balance"], 320);
    let (_, html) = page(app, &path, &caiwu).await;
    assert!(
        html.contains("<td class=\"num\">-30</td><td>重复发放收回</td>"),
        "{html}"
    );

    // A unit whose owner has no account holds its own points.
    let empty = app.unit(&s.admin, s.community, "A-1-102").await;
    app.owner(&s.admin, "李四", "13800000002", &[empty]).await;
    let (status, html) = page(app, &format!("/console/units/{empty}"), &caiwu).await;
    assert_eq!(status, 200);
    assert!(html.contains("<td id=\"points-holder\">房屋代管"), "{html}");
    assert!(
        html.contains("<td id=\"points-balance\">0</td>") && html.contains("id=\"no-points-entries\""),
        "{html}"
    );
}

/// The catalog, a redemption and its handover in Chromium, with `browser.rs`'s driver, browser and
/// sign-in (skipped without Chromium unless `WUYE_REQUIRE_BROWSER=1`).
mod chromium {
    use super::*;
    use crate::browser::{browser, browser_present, click, driver, shoot, sign_in_as};
    use fantoccini::{Client, Locator};

    async fn type_into(c: &Client, id: &str, text: &str) {
        let e = c.find(Locator::Id(id)).await.unwrap();
        e.clear().await.unwrap();
        e.send_keys(text).await.unwrap();
    }

    #[tokio::test]
    async fn service_staff_add_a_reward_and_hand_over_its_redemption_in_chromium() {
        if !browser_present() {
            return;
        }
        let s = shop().await;
        give_points(&s, 1_000).await;
        s.app.staff_member(&s.admin, "kefu", "service", &[s.community]).await;
        let d = driver().await;
        let c = browser(&d, 1280, 900).await;
        sign_in_as(&c, &s.app, "kefu", "long-enough-pw").await;

        // 积分商城 from the header: a reward added through its form.
        click(&c, Locator::LinkText("积分商城")).await;
        c.wait().for_element(Locator::Id("new-reward")).await.unwrap();
        type_into(&c, "reward-name", "洗车券").await;
        c.execute("document.getElementById('reward-kind').value = 'service'", vec![])
            .await
            .unwrap();
        type_into(&c, "reward-cost", "250").await;
        type_into(&c, "reward-stock", "5").await;
        type_into(&c, "reward-limit", "1").await;
        type_into(&c, "reward-description", "小区东门洗车点").await;
        click(&c, Locator::Css("#new-reward button")).await;
        c.wait().for_element(Locator::Id("reward-saved")).await.unwrap();
        let text = c
            .find(Locator::Css("#rewards tr[data-reward-id]"))
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        assert!(
            text.contains("洗车券") && text.contains("服务") && text.contains("上架中"),
            "{text}"
        );
        shoot(&c, "console-rewards-1280").await;
        let all = catalog(&s).await;
        assert_eq!(all.len(), 1, "{all:?}");
        assert_eq!(
            (
                all[0]["kind"].as_str(),
                all[0]["points_cost"].as_i64(),
                all[0]["per_owner_limit"].as_i64()
            ),
            (Some("service"), Some(250), Some(1)),
            "{all:?}"
        );
        let id = all[0]["id"].as_i64().unwrap();

        // The owner redeems it; 兑换发放 lists it and it is handed over with a note.
        let r = redeem(&s, id, 1, "wash-1").await;
        assert_eq!(my_points(&s).await["balance"], 750);
        click(&c, Locator::LinkText("兑换发放")).await;
        let tr = format!("#redemptions tr[data-redemption-id=\"{r}\"]");
        let text = c
            .wait()
            .for_element(Locator::Css(&tr))
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        assert!(
            text.contains("洗车券") && text.contains("A-1-101") && text.contains("待发放"),
            "{text}"
        );
        shoot(&c, "console-redemptions-1280").await;
        c.find(Locator::Id(&format!("fulfil-note-{r}")))
            .await
            .unwrap()
            .send_keys("洗车券已交业主")
            .await
            .unwrap();
        click(&c, Locator::Css(&format!("{tr} form.fulfil button"))).await;
        c.wait().for_element(Locator::Id("no-redemptions")).await.unwrap();
        let v = redemption(&s, r).await;
        assert_eq!(
            (v["status"].as_str(), v["note"].as_str()),
            (Some("fulfilled"), Some("洗车券已交业主"))
        );
        assert_eq!(my_points(&s).await["balance"], 750, "handing over returns nothing");
        c.close().await.unwrap();
    }
}
