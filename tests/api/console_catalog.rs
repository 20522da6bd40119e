//! 设置 · 小区与滞纳金、收费项目与单价 in the console: the pages show what the API holds, their forms
//! change it through the same services (seen again through the JSON API), and a forged token, bad
//! input, a role that may not or a community outside the member's scope change nothing.
use crate::bills::estate;
use crate::console::{hidden_csrf, page, post_form, sign_in};
use crate::helpers::*;
use serde_json::Value;

/// Where `needle` first appears in `html`, asserting that it does.
fn at(html: &str, needle: &str) -> usize {
    html.find(needle).unwrap_or_else(|| panic!("{needle} not in {html}"))
}

/// Every visible `<input>`, `<select>` and `<textarea>` has an id and a `<label for>` naming it;
/// how many there are.
fn every_field_labelled(html: &str) -> usize {
    let mut fields = 0;
    for tag in ["<input ", "<select ", "<textarea "] {
        for part in html.split(tag).skip(1) {
            let attrs = format!(" {}", part.split('>').next().unwrap());
            match attrs.split(" id=\"").nth(1) {
                Some(rest) => {
                    let id = rest.split('"').next().unwrap();
                    assert!(html.contains(&format!("<label for=\"{id}\"")), "no label for {id}");
                    fields += 1;
                }
                None => assert!(attrs.contains("type=\"hidden\""), "a field without an id: {attrs}"),
            }
        }
    }
    fields
}

#[tokio::test]
async fn the_communities_page_lists_terms_and_creates_a_community_through_the_service() {
    let e = estate().await;
    let app = &e.app;
    let session = sign_in(app, ADMIN_USER, ADMIN_PASSWORD).await;
    let (status, html) = page(app, "/console/setup/communities", &session).await;
    assert_eq!(status, 200);
    assert!(
        html.contains("<strong>小区与滞纳金</strong>"),
        "the sub-navigation: {html}"
    );
    let row = &html[at(&html, "<table id=\"communities\"")..];
    assert!(
        row.contains(&format!(
            "href=\"/console/setup/communities/{}\">小区C1</a>",
            e.community
        )),
        "{row}"
    );
    assert!(row.contains("<td>C1</td><td>Asia/Shanghai</td>"), "{row}");
    assert!(
        row.contains("日利率 0.0005 · 宽限 15 天 · 上限为本金的 1.00 倍"),
        "{row}"
    );
    assert!(html.contains("id=\"new-community\""), "an admin gets the form");
    assert_eq!(every_field_labelled(&html), 6, "the six fields of the form");
    let csrf = hidden_csrf(&html);
    let good = |csrf: &str| -> Vec<(&'static str, String)> {
        vec![
            ("csrf", csrf.to_string()),
            ("name", "<script>alert(1)</script>花园".to_string()),
            ("code", "C2".to_string()),
            ("timezone", String::new()),
            ("daily_rate", "0.0003".to_string()),
            ("grace_days", "10".to_string()),
            ("cap_ratio", "0.50".to_string()),
        ]
    };

    // A forged token creates nothing.
    let forged = good("forged");
    let forged: Vec<(&str, &str)> = forged.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let (status, _, _) = post_form(app, "/console/setup/communities", &session, &forged).await;
    assert_eq!(status, 403);
    assert_eq!(app.count("communities").await, 1);

    // Bad input: a 422 page naming each problem, nothing created.
    let (status, _, body) = post_form(
        app,
        "/console/setup/communities",
        &session,
        &[
            ("csrf", &csrf),
            ("name", "新小区"),
            ("code", "bad code!"),
            ("daily_rate", "0.5"),
            ("grace_days", "十五"),
            ("cap_ratio", "1.00"),
        ],
    )
    .await;
    assert_eq!(status, 422, "{body}");
    for problem in [
        "编号只能包含字母、数字、-和_",
        "日利率应为0到0.01之间的小数",
        "宽限天数应在0到365之间",
    ] {
        assert!(body.contains(problem), "{problem} named: {body}");
    }
    assert_eq!(app.count("communities").await, 1);
    // A code already taken is refused by the service too.
    let (status, _, body) = post_form(
        app,
        "/console/setup/communities",
        &session,
        &[
            ("csrf", &csrf),
            ("name", "重复"),
            ("code", "C1"),
            ("daily_rate", "0.0005"),
            ("grace_days", "15"),
            ("cap_ratio", "1.00"),
        ],
    )
    .await;
    assert_eq!((status, body.contains("小区编号已存在")), (422, true), "{body}");
    assert_eq!(app.count("communities").await, 1);

    // Created: 303 to its page, and the API sees it as the form said.
    let fields = good(&csrf);
    let fields: Vec<(&str, &str)> = fields.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let (status, location, _) = post_form(app, "/console/setup/communities", &session, &fields).await;
    assert_eq!(status, 303);
    let id: i64 = location
        .strip_prefix("/console/setup/communities/")
        .unwrap_or_else(|| panic!("{location}"))
        .parse()
        .unwrap();
    let c: Value = app
        .get_json(&format!("/api/v1/staff/communities/{id}"), Some(&e.admin))
        .await;
    assert_eq!(c["name"], "<script>alert(1)</script>花园");
    assert_eq!(c["code"], "C2");
    assert_eq!(c["timezone"], "Asia/Shanghai", "empty means the company's zone");
    assert_eq!(c["late_fee"]["daily_rate"], "0.0003");
    assert_eq!(c["late_fee"]["grace_days"], 10);
    assert_eq!(c["late_fee"]["cap_ratio"], "0.50");

    // The list and the new page show the name as text, never as markup.
    for path in ["/console/setup/communities".to_string(), location.clone()] {
        let (status, html) = page(app, &path, &session).await;
        assert_eq!(status, 200);
        assert!(html.contains("&lt;script&gt;alert(1)&lt;/script&gt;花园"), "{html}");
        assert!(!html.contains("<script>"), "{html}");
    }
}

#[tokio::test]
async fn dated_late_fee_terms_are_added_from_the_community_page_and_listed_newest_first() {
    let e = estate().await;
    let app = &e.app;
    let session = sign_in(app, ADMIN_USER, ADMIN_PASSWORD).await;
    let path = format!("/console/setup/communities/{}", e.community);
    let (status, html) = page(app, &path, &session).await;
    assert_eq!(status, 200);
    assert!(html.contains("<h1>小区C1</h1>"), "{html}");
    assert!(html.contains("<strong>小区与滞纳金</strong>"), "{html}");
    let terms = &html[at(&html, "<table id=\"late-fee-terms\"")..];
    assert!(
        terms.contains("<td>建档起</td><td class=\"num\">0.0005</td><td class=\"num\">15</td><td class=\"num\">1.00</td><td><strong>现行</strong></td>"),
        "{terms}"
    );
    assert!(html.contains("id=\"new-terms\"") && html.contains("id=\"edit-community\""));
    // Today in Shanghai is 2026-10-20: the form starts there and says so.
    assert!(html.contains("min=\"2026-10-20\""), "{html}");
    assert_eq!(every_field_labelled(&html), 10, "name, five switches, four terms");
    let csrf = hidden_csrf(&html);
    let terms_path = format!("{path}/terms");

    let (status, _, _) = post_form(
        app,
        &terms_path,
        &session,
        &[
            ("csrf", "forged"),
            ("daily_rate", "0.0003"),
            ("grace_days", "20"),
            ("cap_ratio", "0.80"),
            ("effective_from", "2026-12-01"),
        ],
    )
    .await;
    assert_eq!(status, 403);
    assert_eq!(app.count("late_fee_terms").await, 0);
    // Terms are never retroactive, and bad numbers are named.
    let (status, _, body) = post_form(
        app,
        &terms_path,
        &session,
        &[
            ("csrf", &csrf),
            ("daily_rate", "0.0003"),
            ("grace_days", "20"),
            ("cap_ratio", "0.80"),
            ("effective_from", "2026-10-19"),
        ],
    )
    .await;
    assert_eq!(status, 422);
    assert!(body.contains("生效日期不能早于今天（2026-10-20）"), "{body}");
    let (status, _, body) = post_form(
        app,
        &terms_path,
        &session,
        &[
            ("csrf", &csrf),
            ("daily_rate", "abc"),
            ("grace_days", ""),
            ("cap_ratio", "2"),
            ("effective_from", "2026-12-01"),
        ],
    )
    .await;
    assert_eq!(status, 422);
    for problem in ["日利率应为", "宽限天数应在0到365之间", "上限比例应为0到1之间"] {
        assert!(body.contains(problem), "{problem} named: {body}");
    }
    assert_eq!(app.count("late_fee_terms").await, 0);

    for (rate, grace, cap, from) in [
        ("0.0003", "20", "0.80", "2026-12-01"),
        ("0.0004", "10", "0.90", "2026-10-20"),
    ] {
        let (status, location, body) = post_form(
            app,
            &terms_path,
            &session,
            &[
                ("csrf", &csrf),
                ("daily_rate", rate),
                ("grace_days", grace),
                ("cap_ratio", cap),
                ("effective_from", from),
            ],
        )
        .await;
        assert_eq!((status, location.as_str()), (303, path.as_str()), "{body}");
    }
    let c: Value = app
        .get_json(&format!("/api/v1/staff/communities/{}", e.community), Some(&e.admin))
        .await;
    assert_eq!(c["late_fee"]["daily_rate"], "0.0004", "today's terms are in force: {c}");
    let dates: Vec<&Value> = c["late_fee_terms"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| &t["effective_from"])
        .collect();
    assert_eq!(
        dates,
        [&Value::Null, &Value::from("2026-10-20"), &Value::from("2026-12-01")]
    );

    // Newest first, each with its date and whether it is in force, set by whom.
    let (_, html) = page(app, &path, &session).await;
    let terms = &html[at(&html, "<table id=\"late-fee-terms\"")..];
    let later = at(terms, "<td>2026-12-01</td><td class=\"num\">0.0003</td><td class=\"num\">20</td><td class=\"num\">0.80</td><td>待生效</td>");
    let today = at(terms, "<td>2026-10-20</td><td class=\"num\">0.0004</td><td class=\"num\">10</td><td class=\"num\">0.90</td><td><strong>现行</strong></td>");
    let first = at(terms, "<td>建档起</td><td class=\"num\">0.0005</td><td class=\"num\">15</td><td class=\"num\">1.00</td><td>已被取代</td>");
    assert!(later < today && today < first, "{terms}");
    assert!(terms.contains(&format!("员工 {ADMIN_USER}")), "{terms}");
    // The list sums it up with today's terms and one change to come.
    let (_, list) = page(app, "/console/setup/communities", &session).await;
    assert!(
        list.contains("日利率 0.0004 · 宽限 10 天 · 上限为本金的 0.90 倍</td><td class=\"num\">1 项</td>"),
        "{list}"
    );
}

#[tokio::test]
async fn the_community_form_renames_and_switches_features_and_escapes_the_name() {
    let e = estate().await;
    let app = &e.app;
    let session = sign_in(app, ADMIN_USER, ADMIN_PASSWORD).await;
    let path = format!("/console/setup/communities/{}", e.community);
    let (_, html) = page(app, &path, &session).await;
    let csrf = hidden_csrf(&html);
    let too_long = "长".repeat(65);
    let (status, _, body) = post_form(
        app,
        &path,
        &session,
        &[("csrf", &csrf), ("name", &too_long), ("features", "1"), ("points", "1")],
    )
    .await;
    assert_eq!(status, 422);
    assert!(body.contains("不能超过64个字符"), "{body}");
    let (status, _, _) = post_form(app, &path, &session, &[("csrf", "forged"), ("name", "改名")]).await;
    assert_eq!(status, 403);
    let c: Value = app
        .get_json(&format!("/api/v1/staff/communities/{}", e.community), Some(&e.admin))
        .await;
    assert_eq!(
        (c["name"].as_str(), c["features"]["installments"].as_bool()),
        (Some("小区C1"), Some(true))
    );

    let (status, location, _) = post_form(
        app,
        &path,
        &session,
        &[
            ("csrf", &csrf),
            ("name", "<b>翠苑</b>"),
            ("features", "1"),
            ("points", "1"),
        ],
    )
    .await;
    assert_eq!((status, location), (303, format!("{path}?saved=1")));
    let c: Value = app
        .get_json(&format!("/api/v1/staff/communities/{}", e.community), Some(&e.admin))
        .await;
    assert_eq!(c["name"], "<b>翠苑</b>");
    assert_eq!(c["features"]["points"], true);
    assert_eq!(c["features"]["installments"], false, "an unticked box is off: {c}");
    let (_, html) = page(app, &format!("{path}?saved=1"), &session).await;
    assert!(html.contains("id=\"community-saved\""));
    assert!(
        html.contains("<h1>&lt;b&gt;翠苑&lt;/b&gt;</h1>") && !html.contains("<b>翠苑"),
        "{html}"
    );
    assert!(html.contains("<td>积分抵扣</td>"), "{html}");
    // An empty name is "not given": the features change, the name stays.
    let (status, _, _) = post_form(
        app,
        &path,
        &session,
        &[("csrf", &csrf), ("name", ""), ("features", "1")],
    )
    .await;
    assert_eq!(status, 303);
    let c: Value = app
        .get_json(&format!("/api/v1/staff/communities/{}", e.community), Some(&e.admin))
        .await;
    assert_eq!(
        (c["name"].as_str(), c["features"]["points"].as_bool()),
        (Some("<b>翠苑</b>"), Some(false))
    );
}

#[tokio::test]
async fn the_fee_items_page_creates_items_and_dated_prices_through_the_service() {
    let e = estate().await;
    let app = &e.app;
    let session = sign_in(app, ADMIN_USER, ADMIN_PASSWORD).await;
    // Without a community: the member's first.
    let (status, html) = page(app, "/console/setup/fee-items", &session).await;
    assert_eq!(status, 200);
    assert!(html.contains("<strong>收费项目与单价</strong>"), "{html}");
    let row = &html[at(&html, &format!("<tr id=\"fee-item-{}\">", e.item))..];
    assert!(
        row.starts_with(&format!(
            "<tr id=\"fee-item-{}\"><td>物业服务费<br><span class=\"muted\">预缴12个月优惠0.05</span></td><td>按面积</td><td>按月</td><td class=\"num\">10日</td><td class=\"num\">2.50</td>",
            e.item
        )),
        "{row}"
    );
    assert!(html.contains("id=\"new-fee-item\""));
    assert_eq!(every_field_labelled(&html), 10, "picker, one price form, the new item");
    let csrf = hidden_csrf(&html);
    let community = e.community.to_string();
    let items = format!("/api/v1/staff/fee-items?community_id={}", e.community);

    let (status, _, _) = post_form(
        app,
        "/console/setup/fee-items",
        &session,
        &[
            ("csrf", "forged"),
            ("community_id", &community),
            ("name", "停车费"),
            ("kind", "fixed"),
            ("unit_price", "150"),
            ("cycle", "quarterly"),
            ("due_day", "5"),
        ],
    )
    .await;
    assert_eq!(status, 403);
    assert_eq!(app.count("fee_items").await, 1);
    let (status, _, body) = post_form(
        app,
        "/console/setup/fee-items",
        &session,
        &[
            ("csrf", &csrf),
            ("community_id", &community),
            ("name", "停车费"),
            ("kind", "fixed"),
            ("unit_price", "2.123456"),
            ("cycle", "weekly"),
            ("due_day", "40"),
            ("buildings", "Z"),
        ],
    )
    .await;
    assert_eq!(status, 422);
    for problem in [
        "单价格式不正确",
        "周期应为monthly、quarterly或yearly",
        "缴费日应在1到31之间",
        "包含该小区不存在的楼栋",
    ] {
        assert!(body.contains(problem), "{problem} named: {body}");
    }
    assert_eq!(app.count("fee_items").await, 1);

    let (status, location, body) = post_form(
        app,
        "/console/setup/fee-items",
        &session,
        &[
            ("csrf", &csrf),
            ("community_id", &community),
            ("name", "<script>x</script>停车费"),
            ("kind", "fixed"),
            ("unit_price", "150"),
            ("cycle", "quarterly"),
            ("due_day", "5"),
            ("effective_from", ""),
            ("buildings", "A"),
        ],
    )
    .await;
    assert_eq!(status, 303, "{body}");
    assert_eq!(
        location,
        format!("/console/setup/fee-items?community_id={}", e.community)
    );
    let list: Vec<Value> = app.get_json(&items, Some(&e.admin)).await;
    let parking = list
        .iter()
        .find(|i| i["name"] == "<script>x</script>停车费")
        .unwrap_or_else(|| panic!("{list:?}"));
    assert_eq!(
        (&parking["kind"], &parking["cycle"], &parking["due_day"]),
        (&Value::from("fixed"), &Value::from("quarterly"), &Value::from(5))
    );
    assert_eq!(parking["prices"][0]["unit_price"], "150");
    assert_eq!(parking["applies_to"]["buildings"], serde_json::json!(["A"]));
    assert!(parking["effective_from"].is_null());
    let (_, html) = page(app, &location, &session).await;
    assert!(
        html.contains("&lt;script&gt;x&lt;/script&gt;停车费") && !html.contains("<script>"),
        "{html}"
    );
    assert!(
        html.contains("<td>固定</td><td>按季</td><td class=\"num\">5日</td>"),
        "{html}"
    );

    // A new price from a date: forged and bad ones change nothing.
    let prices = format!("/console/setup/fee-items/{}/prices", e.item);
    let (status, _, _) = post_form(
        app,
        &prices,
        &session,
        &[
            ("csrf", "forged"),
            ("unit_price", "2.80"),
            ("effective_from", "2027-01-01"),
        ],
    )
    .await;
    assert_eq!(status, 403);
    let (status, _, body) = post_form(
        app,
        &prices,
        &session,
        &[("csrf", &csrf), ("unit_price", "0"), ("effective_from", "2027-13-01")],
    )
    .await;
    assert_eq!(status, 422);
    assert!(body.contains("单价必须大于0"), "{body}");
    assert_eq!(app.count("fee_item_prices").await, 0);
    let (status, location, _) = post_form(
        app,
        &prices,
        &session,
        &[
            ("csrf", &csrf),
            ("unit_price", "2.80"),
            ("effective_from", "2027-01-01"),
        ],
    )
    .await;
    assert_eq!(
        (status, location),
        (303, format!("/console/setup/fee-items?community_id={}", e.community))
    );
    let item: Value = app
        .get_json(&format!("/api/v1/staff/fee-items/{}", e.item), Some(&e.admin))
        .await;
    assert_eq!(item["prices"][1]["unit_price"], "2.80");
    assert_eq!(item["prices"][1]["effective_from"], "2027-01-01");
    // The page keeps today's price current and lists the change to come, newest first.
    let (_, html) = page(app, "/console/setup/fee-items", &session).await;
    let row = &html[at(&html, &format!("<tr id=\"fee-item-{}\">", e.item))..];
    assert!(
        row.contains(
            "<td class=\"num\">2.50</td><td><ul><li>2027-01-01 起：2.80（待生效）</li><li>最初：2.50</li></ul>"
        ),
        "{row}"
    );
}

#[tokio::test]
async fn a_role_that_may_not_sees_no_forms_and_is_refused_and_other_communities_are_not_found() {
    let e = estate().await;
    let app = &e.app;
    let other = app.community(&e.admin, "C9").await;
    app.staff_member(&e.admin, "col", "collector", &[e.community]).await;
    app.staff_member(&e.admin, "fin9", "finance", &[other]).await;
    let col = sign_in(app, "col", "long-enough-pw").await;
    let community = e.community.to_string();

    // The collector reads every page of their community, with no form to change anything.
    let (status, list) = page(app, "/console/setup/communities", &col).await;
    assert_eq!(status, 200);
    assert!(list.contains("小区C1") && !list.contains("小区C9"), "{list}");
    assert!(!list.contains("id=\"new-community\""), "{list}");
    let path = format!("/console/setup/communities/{}", e.community);
    let (status, html) = page(app, &path, &col).await;
    assert_eq!(status, 200);
    assert!(html.contains("id=\"late-fee-terms\""));
    assert!(
        !html.contains("id=\"new-terms\"") && !html.contains("id=\"edit-community\""),
        "{html}"
    );
    let (status, items) = page(
        app,
        &format!("/console/setup/fee-items?community_id={}", e.community),
        &col,
    )
    .await;
    assert_eq!(status, 200);
    assert!(items.contains("物业服务费"));
    assert!(
        !items.contains("id=\"new-fee-item\"") && !items.contains("/prices\""),
        "{items}"
    );
    let csrf = hidden_csrf(&items);

    // …and the services refuse the posts all the same.
    let refused: [(&str, Vec<(&str, &str)>); 5] = [
        (
            "/console/setup/communities",
            vec![
                ("name", "新"),
                ("code", "C5"),
                ("daily_rate", "0.0005"),
                ("grace_days", "15"),
                ("cap_ratio", "1.00"),
            ],
        ),
        (path.as_str(), vec![("name", "改名")]),
        (
            &format!("{path}/terms"),
            vec![
                ("daily_rate", "0.0003"),
                ("grace_days", "20"),
                ("cap_ratio", "0.80"),
                ("effective_from", "2026-12-01"),
            ],
        ),
        (
            "/console/setup/fee-items",
            vec![
                ("community_id", &community),
                ("name", "停车费"),
                ("kind", "fixed"),
                ("unit_price", "150"),
                ("cycle", "monthly"),
                ("due_day", "5"),
            ],
        ),
        (
            &format!("/console/setup/fee-items/{}/prices", e.item),
            vec![("unit_price", "2.80"), ("effective_from", "2027-01-01")],
        ),
    ];
    for (to, fields) in &refused {
        let mut form = vec![("csrf", csrf.as_str())];
        form.extend(fields.iter().copied());
        let (status, _, body) = post_form(app, to, &col, &form).await;
        assert_eq!(status, 403, "{to}: {body}");
        assert!(body.contains("无权访问"), "{body}");
    }
    assert_eq!(app.count("communities").await, 2);
    assert_eq!(app.count("communities WHERE name = '改名'").await, 0);
    assert_eq!(app.count("late_fee_terms").await, 0);
    assert_eq!(app.count("fee_items").await, 1);
    assert_eq!(app.count("fee_item_prices").await, 0);

    // Finance of another community: C1 does not exist for them, by page or by post.
    let fin = sign_in(app, "fin9", "long-enough-pw").await;
    let (status, _) = page(app, &path, &fin).await;
    assert_eq!(status, 404);
    let (status, _) = page(
        app,
        &format!("/console/setup/fee-items?community_id={}", e.community),
        &fin,
    )
    .await;
    assert_eq!(status, 404);
    let (status, html) = page(app, "/console/setup/fee-items", &fin).await;
    assert_eq!(status, 200);
    assert!(html.contains("小区C9") && !html.contains("小区C1"), "{html}");
    assert!(html.contains("id=\"fee-items-empty\""), "{html}");
    assert!(html.contains("id=\"new-fee-item\""), "finance may create fee items");
    let (_, list) = page(app, "/console/setup/communities", &fin).await;
    assert!(
        !list.contains("id=\"new-community\""),
        "only an admin creates communities"
    );
    let csrf = hidden_csrf(&html);
    for (to, fields) in [
        (
            format!("/console/setup/fee-items/{}/prices", e.item),
            vec![("unit_price", "2.80"), ("effective_from", "2027-01-01")],
        ),
        (
            format!("{path}/terms"),
            vec![
                ("daily_rate", "0.0003"),
                ("grace_days", "20"),
                ("cap_ratio", "0.80"),
                ("effective_from", "2026-12-01"),
            ],
        ),
    ] {
        let mut form = vec![("csrf", csrf.as_str())];
        form.extend(fields);
        let (status, _, _) = post_form(app, &to, &fin, &form).await;
        assert_eq!(status, 404, "{to}");
    }
    // Creating an item in a community outside the scope names the community, as the API does.
    let (status, _, body) = post_form(
        app,
        "/console/setup/fee-items",
        &fin,
        &[
            ("csrf", &csrf),
            ("community_id", &community),
            ("name", "停车费"),
            ("kind", "fixed"),
            ("unit_price", "150"),
            ("cycle", "monthly"),
            ("due_day", "5"),
        ],
    )
    .await;
    assert_eq!((status, body.contains("小区不存在")), (422, true), "{body}");
    assert_eq!(app.count("fee_items").await, 1);
    assert_eq!(app.count("fee_item_prices").await, 0);
    assert_eq!(app.count("late_fee_terms").await, 0);
}
