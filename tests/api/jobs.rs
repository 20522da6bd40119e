//! Long work started from the console runs as a job: the request answers at once with the job's
//! page, the page follows it to its result (counts, links, every bad cell of an import), a job
//! left by a dead replica is taken up after its lease, and one job is never run twice.
use crate::bills::estate;
use crate::console::{hidden_csrf, multipart_file, page, post_form, sign_in};
use crate::helpers::*;
use reqwest::header::{COOKIE, LOCATION};
use serde_json::{json, Value};

/// Follows a job's page until it ends; its final HTML.
async fn finished(app: &TestApp, path: &str, cookie: &str) -> String {
    for _ in 0..300 {
        let r = app.http.get(app.url(path)).header(COOKIE, cookie).send().await.unwrap();
        assert_eq!(r.status(), 200);
        let refresh = r.headers().get("refresh").is_some();
        let html = r.text().await.unwrap();
        let ended = html.contains("data-status=\"done\"") || html.contains("data-status=\"failed\"");
        // A running job's page reloads itself; an ended one does not.
        assert_eq!(refresh, !ended, "{html}");
        if ended {
            return html;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    panic!("job {path} did not end");
}

fn job_path(location: &str) -> String {
    assert!(location.starts_with("/console/jobs/"), "{location}");
    location.to_string()
}

#[tokio::test]
async fn a_billing_run_from_the_console_is_a_job_whose_page_shows_what_it_created() {
    let e = estate().await;
    let app = &e.app;
    app.unit(&e.admin, e.community, "A-1-102").await;
    let session = sign_in(app, ADMIN_USER, ADMIN_PASSWORD).await;
    let (status, html) = page(app, "/console/setup/billing-runs", &session).await;
    assert_eq!(status, 200);
    assert!(html.contains("id=\"runs-empty\""), "{html}");
    let csrf = hidden_csrf(&html);
    let community = e.community.to_string();
    // A forged token and a bad period queue nothing.
    let (status, _, _) = post_form(
        app,
        "/console/setup/billing-runs",
        &session,
        &[("csrf", "forged"), ("community_id", &community), ("period", "2026-11")],
    )
    .await;
    assert_eq!(status, 403);
    let (status, _, body) = post_form(
        app,
        "/console/setup/billing-runs",
        &session,
        &[("csrf", &csrf), ("community_id", &community), ("period", "2026-13")],
    )
    .await;
    assert_eq!(status, 422);
    assert!(body.contains("<li>"), "the field's problem is named: {body}");
    assert_eq!(app.count("jobs").await, 0);

    let (status, location, _) = post_form(
        app,
        "/console/setup/billing-runs",
        &session,
        &[
            ("csrf", &csrf),
            ("community_id", &community),
            ("period", "2026-11"),
            ("issued_on", ""),
        ],
    )
    .await;
    assert_eq!(status, 303);
    let html = finished(app, &job_path(&location), &session).await;
    let created = app.count("bills").await;
    assert_eq!(created, 2);
    assert!(
        html.contains(&format!("新生成账单 <strong>{created}</strong> 张；已有账单 0 张")),
        "{html}"
    );
    assert!(
        html.contains("id=\"job-count\">2 / 2<"),
        "progress ends at its total: {html}"
    );
    assert!(html.contains(&format!("/console/?community_id={}&amp;period=2026-11", e.community)));
    // Again: nothing new, and the page says so.
    let (_, location, _) = post_form(
        app,
        "/console/setup/billing-runs",
        &session,
        &[("csrf", &csrf), ("community_id", &community), ("period", "2026-11")],
    )
    .await;
    let html = finished(app, &job_path(&location), &session).await;
    assert!(
        html.contains("新生成账单 <strong>0</strong> 张；已有账单 2 张"),
        "{html}"
    );
    assert_eq!(app.count("bills").await, 2);
    // The runs page lists both, with who started them by name.
    let (_, html) = page(app, "/console/setup/billing-runs", &session).await;
    assert_eq!(
        html.matches("<td>2026-11</td>").count() + html.matches(">2026-11</a>").count(),
        2,
        "{html}"
    );
    assert!(html.contains(&format!("员工 {ADMIN_USER}")), "{html}");
    let (_, list) = page(app, "/console/jobs", &session).await;
    assert_eq!(list.matches("开账（生成账单）").count(), 2, "{list}");

    // A collector may neither start a run nor read its job; another community's admin-less staff
    // see nothing of it.
    app.staff_member(&e.admin, "col", "collector", &[e.community]).await;
    let col = sign_in(app, "col", "long-enough-pw").await;
    let (_, col_page) = page(app, "/console/setup/imports", &col).await;
    let (status, _, _) = post_form(
        app,
        "/console/setup/billing-runs",
        &col,
        &[
            ("csrf", &hidden_csrf(&col_page)),
            ("community_id", &community),
            ("period", "2026-12"),
        ],
    )
    .await;
    assert_eq!(status, 403);
    let (status, _) = page(app, &location, &col).await;
    assert_eq!(status, 404);
    let (_, list) = page(app, "/console/jobs", &col).await;
    assert!(list.contains("id=\"jobs-empty\""), "{list}");
}

#[tokio::test]
async fn an_import_job_lists_every_bad_cell_imports_nothing_then_imports_a_good_file() {
    let e = estate().await;
    let app = &e.app;
    let session = sign_in(app, ADMIN_USER, ADMIN_PASSWORD).await;
    let (status, html) = page(app, "/console/setup/imports", &session).await;
    assert_eq!(status, 200);
    let csrf = hidden_csrf(&html);
    let r = app
        .http
        .get(app.url("/console/setup/imports/template.csv"))
        .header(COOKIE, &session)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert!(r
        .text()
        .await
        .unwrap()
        .contains("building,unit_code,area_m2,owner_name,owner_phone"));
    let upload = |csv: &'static str, token: String| {
        let community = e.community.to_string();
        let (ct, body) = multipart_file(
            &[("csrf", &token), ("community_id", &community)],
            Some(("file", "units.csv", "text/csv", csv.as_bytes())),
        );
        app.http
            .post(app.url("/console/setup/imports"))
            .header(COOKIE, &session)
            .header("content-type", ct)
            .body(body)
            .send()
    };
    let units = app.count("units").await;
    let r = upload(
        "building,unit_code,area_m2,owner_name,owner_phone\nB,B-1,80,李四,13800000002\n",
        "forged".into(),
    )
    .await
    .unwrap();
    assert_eq!(r.status(), 403);
    assert_eq!(app.count("jobs").await, 0);

    let bad = "building,unit_code,area_m2,owner_name,owner_phone\nB,B-1,80,李四,13800000002\nB,B-2,x,<b>王五</b>,123\n";
    let r = upload(bad, csrf.clone()).await.unwrap();
    assert_eq!(r.status(), 303);
    let location = r.headers()[LOCATION].to_str().unwrap().to_string();
    let html = finished(app, &job_path(&location), &session).await;
    assert!(html.contains("data-status=\"failed\""), "{html}");
    assert!(html.contains("本次没有导入任何数据"), "{html}");
    for cell in [
        "<td class=\"num\">3</td><td>建筑面积</td>",
        "<td class=\"num\">3</td><td>业主手机号</td>",
    ] {
        assert!(html.contains(cell), "{cell} in {html}");
    }
    assert_eq!(app.count("units").await, units, "all or nothing");
    // The uploaded file (phone numbers) is not kept once the job has ended.
    assert_eq!(app.count("jobs WHERE payload IS NOT NULL").await, 0);

    let good =
        "楼栋,房号,建筑面积,业主姓名,业主手机号\nB,B-1,80,李四,13800000002\nB,B-2,95.5,<b>王五</b>,13800000003\n";
    let r = upload(good, csrf).await.unwrap();
    let location = r.headers()[LOCATION].to_str().unwrap().to_string();
    let html = finished(app, &job_path(&location), &session).await;
    assert!(html.contains("新建房屋 <strong>2</strong> 户；新建业主 2 人"), "{html}");
    assert_eq!(app.count("units").await, units + 2);
    let (_, list) = page(
        app,
        &format!("/console/units?community_id={}&q=B-2", e.community),
        &session,
    )
    .await;
    assert!(
        list.contains("&lt;b&gt;王五&lt;/b&gt;") && !list.contains("<b>王五"),
        "{list}"
    );
}

/// A job row as a dead replica left it: claimed, its lease lapsed.
async fn abandoned(app: &TestApp, params: Value, community: i64, attempts: i32) -> i32 {
    use sea_orm::{ActiveModelTrait, Set};
    let admin_id: i32 = {
        use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};
        entity::staff_user::Entity::find()
            .filter(entity::staff_user::Column::Username.eq(ADMIN_USER))
            .one(&app.db)
            .await
            .unwrap()
            .unwrap()
            .id
    };
    let now = app.state.clock.now();
    entity::job::ActiveModel {
        kind: Set("billing_run".into()),
        community_id: Set(Some(community as i32)),
        params: Set(params.to_string()),
        status: Set("running".into()),
        done: Set(0),
        total: Set(0),
        created_by: Set(admin_id),
        created_at: Set(now - chrono::Duration::minutes(10)),
        started_at: Set(Some(now - chrono::Duration::minutes(10))),
        lease_owner: Set(Some("dead-replica".into())),
        lease_until: Set(Some(now - chrono::Duration::minutes(5))),
        attempts: Set(attempts),
        ..Default::default()
    }
    .insert(&app.db)
    .await
    .unwrap()
    .id
}

async fn job_status(app: &TestApp, id: i32) -> (String, Option<Value>) {
    use sea_orm::EntityTrait;
    let j = entity::job::Entity::find_by_id(id).one(&app.db).await.unwrap().unwrap();
    (j.status, j.result.map(|r| serde_json::from_str(&r).unwrap()))
}

#[tokio::test]
async fn a_job_whose_replica_died_is_taken_up_after_its_lease_once_and_given_up_after_three_tries() {
    let e = estate().await;
    let app = &e.app;
    let params = json!({"community_id": e.community, "period": "2026-11", "issued_on": null});
    let id = abandoned(app, params.clone(), e.community, 1).await;
    // A lease still running is left alone.
    let live = abandoned(app, params.clone(), e.community, 1).await;
    {
        use sea_orm::{ActiveModelTrait, Set};
        entity::job::ActiveModel {
            id: Set(live),
            lease_until: Set(Some(app.state.clock.now() + chrono::Duration::minutes(1))),
            ..Default::default()
        }
        .update(&app.db)
        .await
        .unwrap();
    }
    // Two replicas wake at once: the job runs once.
    let replica = app.replica().await;
    let (a, b) = tokio::join!(
        wuye::services::jobs::tick(&app.state),
        wuye::services::jobs::tick(&replica.state)
    );
    assert_eq!(a.unwrap() + b.unwrap(), 1);
    let (status, result) = job_status(app, id).await;
    assert_eq!(status, "done");
    assert_eq!(result.unwrap()["bills_created"], 1);
    assert_eq!(app.count("bills").await, 1);
    assert_eq!(job_status(app, live).await.0, "running");
    // One that died three times is given up, with a reason, and creates nothing.
    let params = json!({"community_id": e.community, "period": "2026-12", "issued_on": null});
    let tired = abandoned(app, params, e.community, 3).await;
    assert_eq!(wuye::services::jobs::tick(&app.state).await.unwrap(), 1);
    let (status, result) = job_status(app, tired).await;
    assert_eq!(status, "failed");
    assert!(result.unwrap()["message"].as_str().unwrap().contains("多次中断"));
    assert_eq!(app.count("bills").await, 1);
}

#[tokio::test]
async fn the_collection_page_saves_the_policy_runs_a_pass_as_a_job_and_lists_what_went_to_whom() {
    let e = estate().await;
    let app = &e.app;
    // September's bill, issued in August by an earlier system: 40 days overdue on the test day.
    app.billing_run(&e.admin, e.community, "2026-09", "2026-08-20").await;
    let session = sign_in(app, ADMIN_USER, ADMIN_PASSWORD).await;
    let path = format!("/console/collection?community_id={}", e.community);
    let (status, html) = page(app, &path, &session).await;
    assert_eq!(status, 200);
    assert!(html.contains("id=\"no-reminders\""), "{html}");
    let csrf = hidden_csrf(&html);
    let community = e.community.to_string();
    let policy = |days: &'static str, token: String, cookie: String| {
        let community = community.clone();
        async move {
            let form = [
                ("csrf", token.as_str()),
                ("community_id", community.as_str()),
                ("pre_due_days", "3"),
                ("pre_due_enabled", "1"),
                ("overdue_friendly_days", "5"),
                ("overdue_formal_days", days),
                ("overdue_formal_enabled", "1"),
                ("final_notice_days", "90"),
                ("final_notice_enabled", "1"),
                ("deadline_days", "15"),
                ("min_gap_hours", "24"),
                ("quiet_hours", ""),
                ("no_send_dates", "2027-02-10"),
            ];
            post_form(app, "/console/collection/policy", &cookie, &form).await
        }
    };
    let (status, _, body) = policy("0", csrf.clone(), session.clone()).await;
    assert_eq!(status, 422, "{body}");
    let (status, location, _) = policy("35", csrf.clone(), session.clone()).await;
    assert_eq!(status, 303);
    let (_, html) = page(app, &location, &session).await;
    assert!(html.contains("id=\"policy-saved\""), "{html}");
    let saved: Value = app
        .get_json(
            &format!("/api/v1/staff/communities/{}/reminder-policy", e.community),
            Some(&e.admin),
        )
        .await;
    assert_eq!(saved["stages"]["overdue_formal"]["days"], 35);
    assert_eq!(saved["stages"]["overdue_friendly"]["enabled"], false, "unticked is off");
    assert_eq!(saved["no_send_dates"], json!(["2027-02-10"]));

    let (status, location, _) = post_form(
        app,
        "/console/collection/run",
        &session,
        &[("csrf", &csrf), ("community_id", &community)],
    )
    .await;
    assert_eq!(status, 303);
    let html = finished(app, &job_path(&location), &session).await;
    // Nobody can be messaged here: the formal notice becomes a task for staff.
    let tasks = app.count("reminders WHERE status = 'task'").await;
    assert_eq!(tasks, 1);
    assert!(
        html.contains(&format!("已发出 <strong>0</strong> 条；转为人工任务 {tasks} 条")),
        "{html}"
    );
    let (_, html) = page(app, &format!("{path}&status=task"), &session).await;
    assert!(html.contains("<td>张三</td><td>催告函</td>"), "{html}");
    assert!(html.contains("转人工"), "{html}");
    let (_, html) = page(app, &format!("{path}&status=sent"), &session).await;
    assert!(html.contains("id=\"no-reminders\""), "{html}");

    // Customer service reads the page but may change nothing.
    app.staff_member(&e.admin, "fin", "service", &[e.community]).await;
    let fin = sign_in(app, "fin", "long-enough-pw").await;
    let (status, fin_page) = page(app, &path, &fin).await;
    assert_eq!(status, 200);
    assert!(fin_page.contains("<fieldset class=\"inline\" disabled>") && !fin_page.contains("id=\"run-now\""));
    let jobs = app.count("jobs").await;
    let (status, _, _) = post_form(
        app,
        "/console/collection/run",
        &fin,
        &[("csrf", &hidden_csrf(&fin_page)), ("community_id", &community)],
    )
    .await;
    assert_eq!((status, app.count("jobs").await), (403, jobs));
    let (status, _, _) = policy("40", hidden_csrf(&fin_page), fin.clone()).await;
    assert_eq!(status, 403);
    let saved: Value = app
        .get_json(
            &format!("/api/v1/staff/communities/{}/reminder-policy", e.community),
            Some(&e.admin),
        )
        .await;
    assert_eq!(saved["stages"]["overdue_formal"]["days"], 35, "unchanged");
}
