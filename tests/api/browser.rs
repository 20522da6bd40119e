//! The console in a real browser: Debian's Chromium driven over WebDriver (chromium-driver) signs
//! in, reads the dashboard and its chart, records a counter payment and opens its receipt, adds and
//! ends a hold, records a notice delivered in person with its photo, prints the case file to PDF,
//! and signs out; works a ticket from the queue (a reply asking the owner, then its resolution);
//! a dispute's late-fee waiver asked by service staff and approved by finance before resolving;
//! finance granting hardship relief from a case's evidence (困难减免);
//! screenshots of each page at desktop and
//! tablet widths go to `target/screenshots/` (CI keeps them). `WUYE_REQUIRE_BROWSER=1` (CI) turns
//! a missing browser into a failure instead of a skip. The driver, the browser, screenshots and
//! signing in are shared with the other Chromium tests (`console_points.rs`).
use crate::bills::{estate, run};
use crate::helpers::*;
use fantoccini::{Client, ClientBuilder, Locator};
use serde_json::json;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};

const CHROMIUM: &str = "/usr/bin/chromium";
const DRIVER: &str = "/usr/bin/chromedriver";

/// Whether Chromium and its driver are installed: without them a test skips with a message, or
/// fails under `WUYE_REQUIRE_BROWSER=1`.
pub(crate) fn browser_present() -> bool {
    let present = Path::new(CHROMIUM).exists() && Path::new(DRIVER).exists();
    if !present && std::env::var("WUYE_REQUIRE_BROWSER").is_ok_and(|v| v == "1") {
        panic!(
            "WUYE_REQUIRE_BROWSER=1 but chromium or chromedriver is missing (apt-get install chromium chromium-driver)"
        );
    }
    if !present {
        eprintln!("skipped: chromium or chromedriver not installed (CI installs them and requires them)");
    }
    present
}

/// A chromedriver on a free port, stopped when dropped.
pub(crate) struct Driver {
    child: Child,
    port: u16,
}

impl Drop for Driver {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

pub(crate) async fn driver() -> Driver {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let child = Command::new(DRIVER)
        .arg(format!("--port={port}"))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("start chromedriver");
    let d = Driver { child, port };
    let status = format!("http://127.0.0.1:{port}/status");
    for _ in 0..100 {
        if reqwest::get(&status).await.is_ok_and(|r| r.status().is_success()) {
            return d;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    panic!("chromedriver did not start");
}

/// A headless Chromium session (Chinese, `width`×`height`) on the driver.
pub(crate) async fn browser(d: &Driver, width: u32, height: u32) -> Client {
    let mut caps = serde_json::Map::new();
    caps.insert(
        "goog:chromeOptions".into(),
        json!({"binary": CHROMIUM, "args": ["--headless=new", "--no-sandbox", "--disable-gpu",
            "--disable-dev-shm-usage", "--lang=zh-CN", format!("--window-size={width},{height}")]}),
    );
    ClientBuilder::new(hyper_util::client::legacy::connect::HttpConnector::new())
        .capabilities(caps)
        .connect(&format!("http://127.0.0.1:{}", d.port))
        .await
        .expect("a WebDriver session")
}

fn shots() -> PathBuf {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("target/screenshots");
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// A screenshot of the page as `target/screenshots/{name}.png`.
pub(crate) async fn shoot(c: &Client, name: &str) {
    let png = c.screenshot().await.unwrap();
    assert!(png.starts_with(b"\x89PNG"), "a PNG screenshot");
    std::fs::write(shots().join(format!("{name}.png")), png).unwrap();
}

/// Clicks the element `at` (found now, not waited for).
pub(crate) async fn click(c: &Client, at: Locator<'_>) {
    let element = c.find(at).await.unwrap_or_else(|e| panic!("{at:?}: {e}"));
    element.click().await.unwrap_or_else(|e| panic!("click {at:?}: {e}"));
}

async fn sign_in(c: &Client, app: &TestApp) {
    sign_in_as(c, app, ADMIN_USER, ADMIN_PASSWORD).await;
    c.wait().for_element(Locator::Id("collection-rate")).await.unwrap();
}

/// Signs `user` in through the form; waits for the signed-in header (a role without the
/// dashboard's figures lands on its refusal page, which has the header too).
pub(crate) async fn sign_in_as(c: &Client, app: &TestApp, user: &str, password: &str) {
    c.goto(&app.url("/console/")).await.unwrap();
    assert_eq!(
        c.current_url().await.unwrap().path(),
        "/console/login",
        "unsigned → the form"
    );
    c.find(Locator::Id("username"))
        .await
        .unwrap()
        .send_keys(user)
        .await
        .unwrap();
    c.find(Locator::Id("password"))
        .await
        .unwrap()
        .send_keys(password)
        .await
        .unwrap();
    click(c, Locator::Css("button[type=submit]")).await;
    c.wait().for_element(Locator::Id("inbox-link")).await.unwrap();
}

/// Signs out from the header; waits for the sign-in form.
async fn sign_out(c: &Client) {
    click(c, Locator::Css("header form button")).await;
    c.wait().for_element(Locator::Id("username")).await.unwrap();
}

#[tokio::test]
async fn a_manager_signs_in_reads_the_dashboard_and_its_chart_and_signs_out_in_chromium() {
    if !browser_present() {
        return;
    }
    let e = estate().await;
    run(&e.app, &e.admin, e.community, "2026-09").await;
    run(&e.app, &e.admin, e.community, "2026-10").await;
    let oct = e.app.bill_of(&e.admin, e.community, e.unit, "2026-10").await;
    let r = e
        .app
        .post(
            "/api/v1/staff/payments/counter",
            Some(&e.admin),
            &json!({"bill_ids": [oct], "method": "cash", "reference": "收据0001"}),
        )
        .await;
    assert_eq!(r.status(), 201);

    let d = driver().await;
    let c = browser(&d, 1280, 900).await;
    c.goto(&e.app.url("/console/login")).await.unwrap();
    shoot(&c, "console-login-1280").await;
    sign_in(&c, &e.app).await;
    c.goto(
        &e.app
            .url(&format!("/console/?community_id={}&period=2026-10", e.community)),
    )
    .await
    .unwrap();
    let rate = c
        .find(Locator::Id("collection-rate"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert_eq!(rate, "100.00%", "October: its one bill paid");
    let title = c
        .find(Locator::Css("svg.chart > title"))
        .await
        .unwrap()
        .html(true)
        .await
        .unwrap();
    assert_eq!(title, "近12个月当期收费率");
    let dots = c.find_all(Locator::Css("svg.chart circle.dot")).await.unwrap();
    assert_eq!(dots.len(), 2, "September (0 %) and October (100 %) have bills");
    // The session cookie is not readable from the page.
    let script = c.execute("return document.cookie", vec![]).await;
    assert!(
        script.map(|v| !v.to_string().contains("wuye_staff")).unwrap_or(true),
        "HttpOnly"
    );
    shoot(&c, "console-dashboard-1280").await;
    // The counter: the unit's open bill (September) ticked, cash with the receipt book number, and
    // the receipt it prints.
    c.goto(&e.app.url(&format!("/console/counter/units/{}", e.unit)))
        .await
        .unwrap();
    shoot(&c, "console-counter-1280").await;
    c.find(Locator::Id("reference"))
        .await
        .unwrap()
        .send_keys("收据0012")
        .await
        .unwrap();
    click(&c, Locator::Css("main form button[type=submit]")).await;
    // The form posts and is redirected to the receipt: wait for that page, not the form's.
    for _ in 0..100 {
        if c.current_url().await.unwrap().path().ends_with("/receipt") {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    let h1 = c.find(Locator::Css("h1")).await.unwrap().text().await.unwrap();
    assert_eq!(h1, "收款收据");
    assert!(c.current_url().await.unwrap().path().ends_with("/receipt"));
    assert!(c.source().await.unwrap().contains("2026-09"));
    shoot(&c, "console-receipt-1280").await;
    // A hold on the unit page: added with a reason and a date, then ended early with a reason.
    c.goto(&e.app.url(&format!("/console/units/{}", e.unit))).await.unwrap();
    c.find(Locator::Id("hold-reason"))
        .await
        .unwrap()
        .send_keys("报修未完成")
        .await
        .unwrap();
    // Date inputs take keystrokes in the browser's locale order; set the value itself.
    c.execute("document.getElementById('hold-until').value = '2026-11-30'", vec![])
        .await
        .unwrap();
    click(&c, Locator::Css("#add-hold button")).await;
    let row = c.wait().for_element(Locator::Css("#holds td")).await.unwrap();
    assert_eq!(row.text().await.unwrap(), "整户");
    shoot(&c, "console-unit-hold-1280").await;
    c.find(Locator::Css("#holds input[name=reason]"))
        .await
        .unwrap()
        .send_keys("已修好")
        .await
        .unwrap();
    click(&c, Locator::Css("#holds button")).await;
    c.wait().for_element(Locator::Id("no-holds")).await.unwrap();
    // A notice delivered in person, with the photo that proves it: the file input takes a path.
    let photo = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/gps.jpg");
    c.execute(
        "document.getElementById('contact-kind').value = 'printed_notice'; document.getElementById('contact-delivery').value = 'in_person';",
        vec![],
    )
    .await
    .unwrap();
    c.find(Locator::Id("contact-outcome"))
        .await
        .unwrap()
        .send_keys("已当面交给业主本人")
        .await
        .unwrap();
    c.find(Locator::Id("contact-photo"))
        .await
        .unwrap()
        .send_keys(photo.to_str().unwrap())
        .await
        .unwrap();
    click(&c, Locator::Css("#add-contact button")).await;
    let img = c.wait().for_element(Locator::Css("#evidence img")).await.unwrap();
    // The photo is served and decodes in the browser (a broken image has no natural width).
    let width = c
        .execute(
            "const i = document.querySelector('#evidence img'); return i.complete ? i.naturalWidth : -1;",
            vec![],
        )
        .await
        .unwrap();
    assert_eq!(width, serde_json::json!(16), "the 16 px wide fixture, decoded");
    assert!(img.attr("src").await.unwrap().unwrap().starts_with("/console/uploads/"));
    c.find(Locator::Id("chain-ok")).await.unwrap();
    shoot(&c, "console-unit-evidence-1280").await;
    // The case file, printed to PDF by the browser.
    click(&c, Locator::LinkText("打印案卷")).await;
    c.wait().for_element(Locator::Css("h1")).await.unwrap();
    assert!(c.source().await.unwrap().contains("SHA-256"));
    let pdf = c.print(fantoccini::wd::PrintConfiguration::default()).await.unwrap();
    assert!(pdf.starts_with(b"%PDF"), "a PDF");
    std::fs::write(shots().join("console-case-file.pdf"), &pdf).unwrap();
    c.goto(&e.app.url("/console/")).await.unwrap();
    // Signing out lands on the form; the dashboard then asks for it again.
    click(&c, Locator::Css("header form button")).await;
    c.wait().for_element(Locator::Id("username")).await.unwrap();
    c.goto(&e.app.url("/console/")).await.unwrap();
    assert_eq!(c.current_url().await.unwrap().path(), "/console/login");
    c.close().await.unwrap();

    // The same pages at tablet width.
    let t = browser(&d, 768, 1024).await;
    sign_in(&t, &e.app).await;
    shoot(&t, "console-dashboard-768").await;
    t.goto(&e.app.url("/console/nope")).await.unwrap();
    assert!(t.source().await.unwrap().contains("页面不存在"));
    shoot(&t, "console-404-768").await;
    t.close().await.unwrap();
}

/// The status a job page shows (empty while it reloads). Read from the page source in one call:
/// the page reloads itself every two seconds, so an element found a moment ago may be gone.
async fn job_status(c: &Client) -> String {
    let html = c.source().await.unwrap_or_default();
    html.split("data-status=\"")
        .nth(1)
        .and_then(|rest| rest.split('"').next())
        .unwrap_or_default()
        .to_string()
}

/// Waits for the job page (which reloads itself while the job runs) to show the job ended.
async fn until_ended(c: &Client) -> String {
    for _ in 0..200 {
        let on_job = c
            .current_url()
            .await
            .is_ok_and(|u| u.path().starts_with("/console/jobs/"));
        if on_job {
            let s = job_status(c).await;
            if s == "done" || s == "failed" {
                return s;
            }
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    panic!("the job page never showed an ended job");
}

#[tokio::test]
async fn billing_runs_and_imports_started_in_chromium_follow_their_jobs_to_the_result() {
    if !browser_present() {
        return;
    }
    let e = estate().await;
    let d = driver().await;
    let c = browser(&d, 1280, 900).await;
    sign_in(&c, &e.app).await;
    c.goto(&e.app.url("/console/setup/billing-runs")).await.unwrap();
    let period = c.find(Locator::Id("run-period")).await.unwrap();
    period.clear().await.unwrap();
    period.send_keys("2026-11").await.unwrap();
    shoot(&c, "console-billing-run-1280").await;
    click(&c, Locator::Css("main form button[type=submit]")).await;
    assert_eq!(until_ended(&c).await, "done");
    let result = c.find(Locator::Id("job-result")).await.unwrap().text().await.unwrap();
    assert!(result.starts_with("新生成账单 1 张"), "{result}");
    shoot(&c, "console-job-1280").await;

    // An import with a bad cell: the job page lists it, and nothing was imported.
    let csv = shots().join("import-with-errors.csv");
    std::fs::write(
        &csv,
        "楼栋,房号,建筑面积,业主姓名,业主手机号\nB,B-1,八十,李四,13800000002\n",
    )
    .unwrap();
    let units = e.app.count("units").await;
    c.goto(&e.app.url("/console/setup/imports")).await.unwrap();
    c.find(Locator::Id("import-file"))
        .await
        .unwrap()
        .send_keys(csv.canonicalize().unwrap().to_str().unwrap())
        .await
        .unwrap();
    click(&c, Locator::Css("main form button[type=submit]")).await;
    assert_eq!(until_ended(&c).await, "failed");
    let errors = c
        .find(Locator::Id("import-errors"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(errors.contains("建筑面积"), "{errors}");
    assert_eq!(e.app.count("units").await, units);
    shoot(&c, "console-import-errors-1280").await;
    c.close().await.unwrap();
}

/// Waits for the page (after a form's post and redirect) to show `text` in its source.
pub(crate) async fn until_shown(c: &Client, text: &str) {
    for _ in 0..100 {
        if c.source().await.is_ok_and(|s| s.contains(text)) {
            return;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    panic!("the page never showed {text}");
}

#[tokio::test]
async fn staff_work_a_ticket_from_the_queue_to_its_resolution_in_chromium() {
    if !browser_present() {
        return;
    }
    let e = crate::reminders::estate_without_channels().await;
    let (unit, owner) = crate::tickets::household(&e, "B-1", "13900000051").await;
    let t = crate::tickets::open(
        &e.app,
        &owner,
        json!({"category": "complaint", "title": "电梯异响", "body": "三号楼电梯运行时有异响", "unit_id": unit}),
    )
    .await;
    let id = t["id"].as_i64().unwrap();

    let d = driver().await;
    let c = browser(&d, 1280, 900).await;
    sign_in(&c, &e.app).await;
    // The queue from the header's link, then the ticket from its row.
    click(&c, Locator::LinkText("工单")).await;
    let row = format!("tr[data-ticket-id=\"{id}\"]");
    c.wait().for_element(Locator::Css(&row)).await.unwrap();
    shoot(&c, "console-tickets-1280").await;
    click(&c, Locator::Css(&format!("{row} a"))).await;
    // A staff-only note, marked apart on the thread.
    c.wait()
        .for_element(Locator::Id("reply-body"))
        .await
        .unwrap()
        .send_keys("业主情绪激动，先电话安抚")
        .await
        .unwrap();
    click(&c, Locator::Id("reply-internal")).await;
    click(&c, Locator::Css("#reply button")).await;
    // The reply form's checkbox carries the same words: wait for the note itself.
    let note = c
        .wait()
        .for_element(Locator::Css("#thread li.internal"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(note.contains("先电话安抚"), "{note}");
    // A reply that asks the owner something: the thread shows it and the stopped clock.
    c.wait()
        .for_element(Locator::Id("reply-body"))
        .await
        .unwrap()
        .send_keys("请问异响出现在哪几层？")
        .await
        .unwrap();
    click(&c, Locator::Id("reply-wait")).await;
    click(&c, Locator::Css("#reply button")).await;
    until_shown(&c, "<span id=\"ticket-status\">待业主回复</span>").await;
    let thread = c.find(Locator::Id("thread")).await.unwrap().text().await.unwrap();
    assert!(thread.contains("请问异响出现在哪几层？"), "{thread}");
    assert!(c.source().await.unwrap().contains("已暂停"));
    shoot(&c, "console-ticket-thread-1280").await;
    // Resolved with what was done: the owner reads it.
    c.find(Locator::Id("resolution"))
        .await
        .unwrap()
        .send_keys("已更换电梯导靴，异响消除")
        .await
        .unwrap();
    click(&c, Locator::Css("#resolve button")).await;
    until_shown(&c, "<span id=\"ticket-status\">已解决</span>").await;
    assert!(
        c.find(Locator::Id("reply")).await.is_err(),
        "no forms on a resolved ticket"
    );
    let mine: serde_json::Value = e.app.get_json(&format!("/api/v1/me/tickets/{id}"), Some(&owner)).await;
    assert_eq!(mine["status"], "resolved");
    assert_eq!(mine["resolution"], "已更换电梯导靴，异响消除");
    assert!(!mine.to_string().contains("安抚"), "the owner never reads the note");
    c.close().await.unwrap();
}

#[tokio::test]
async fn service_asks_finance_to_waive_a_late_fee_and_resolves_once_it_is_approved_in_chromium() {
    if !browser_present() {
        return;
    }
    let e = crate::reminders::estate_without_channels().await;
    let (unit, owner) = crate::tickets::household(&e, "B-2", "13900000052").await;
    let b = e.bill_due(unit, 60).await;
    let t = crate::tickets::open(
        &e.app,
        &owner,
        json!({"category": "dispute", "title": "滞纳金不合理", "body": "停水期间不应计滞纳金", "unit_id": unit, "bill_ids": [b]}),
    )
    .await;
    let id = t["id"].as_i64().unwrap();
    let bill_path = format!("/api/v1/staff/bills/{b}");
    let before: serde_json::Value = e.app.get_json(&bill_path, Some(&e.admin)).await;
    let late_fee = before["late_fee"].as_str().unwrap().to_string();
    assert_ne!(late_fee, "0.00", "{before}");
    e.app.staff_member(&e.admin, "kefu", "service", &[e.community]).await;
    e.app.staff_member(&e.admin, "caiwu", "finance", &[e.community]).await;

    let d = driver().await;
    let c = browser(&d, 1280, 900).await;
    // Service staff ask from the thread: the bill and the kind as offered, the whole late fee.
    sign_in_as(&c, &e.app, "kefu", "long-enough-pw").await;
    assert!(
        c.find(Locator::LinkText("调整审批")).await.is_err(),
        "service staff decide no corrections"
    );
    c.goto(&e.app.url(&format!("/console/tickets/{id}"))).await.unwrap();
    c.wait()
        .for_element(Locator::Id("adjust-reason"))
        .await
        .unwrap()
        .send_keys("小区停水三天，滞纳金全部减免")
        .await
        .unwrap();
    click(&c, Locator::Css("#adjust button")).await;
    let asked = c
        .wait()
        .for_element(Locator::Css("#adjustments tr[data-adjustment-id]"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        asked.contains(&format!("减免滞纳金¥{late_fee}")) && asked.contains("待财务审批"),
        "{asked}"
    );
    shoot(&c, "console-ticket-adjustment-1280").await;
    sign_out(&c).await;

    // Finance opens 调整审批 from the header and approves with a note.
    sign_in_as(&c, &e.app, "caiwu", "long-enough-pw").await;
    click(&c, Locator::LinkText("调整审批")).await;
    let row = c
        .wait()
        .for_element(Locator::Css("#adjustment-queue tr[data-adjustment-id]"))
        .await
        .unwrap();
    let text = row.text().await.unwrap();
    assert!(
        text.contains("小区停水三天") && text.contains(&format!("滞纳金 ¥{late_fee}")),
        "{text}"
    );
    shoot(&c, "console-adjustments-1280").await;
    c.find(Locator::Css("#adjustment-queue form.approve input[name=note]"))
        .await
        .unwrap()
        .send_keys("停水属实，同意")
        .await
        .unwrap();
    click(&c, Locator::Css("#adjustment-queue form.approve button")).await;
    c.wait().for_element(Locator::Id("no-adjustments")).await.unwrap();
    let after: serde_json::Value = e.app.get_json(&bill_path, Some(&e.admin)).await;
    assert_eq!(after["late_fee_waived"], late_fee.as_str(), "{after}");
    // The thread shows the approval and what the owner was told.
    c.goto(&e.app.url(&format!("/console/tickets/{id}"))).await.unwrap();
    let decided = c
        .wait()
        .for_element(Locator::Css("#adjustments tr[data-adjustment-id]"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        decided.contains("已批准并入账") && decided.contains("停水属实，同意"),
        "{decided}"
    );
    let thread = c.find(Locator::Id("thread")).await.unwrap().text().await.unwrap();
    assert!(thread.contains("经财务审核"), "{thread}");
    sign_out(&c).await;

    // Now service staff resolve it.
    sign_in_as(&c, &e.app, "kefu", "long-enough-pw").await;
    c.goto(&e.app.url(&format!("/console/tickets/{id}"))).await.unwrap();
    c.wait()
        .for_element(Locator::Id("resolution"))
        .await
        .unwrap()
        .send_keys("停水期间的滞纳金已全部减免")
        .await
        .unwrap();
    click(&c, Locator::Css("#resolve button")).await;
    until_shown(&c, "<span id=\"ticket-status\">已解决</span>").await;
    assert!(
        c.find(Locator::Id("adjust")).await.is_err(),
        "no request on a resolved ticket"
    );
    let mine: serde_json::Value = e.app.get_json(&format!("/api/v1/me/tickets/{id}"), Some(&owner)).await;
    assert_eq!(mine["status"], "resolved");
    assert!(mine["messages"].to_string().contains("经财务审核"), "{mine}");
    c.close().await.unwrap();
}

#[tokio::test]
async fn finance_grants_hardship_relief_from_the_evidence_in_chromium() {
    if !browser_present() {
        return;
    }
    let e = estate().await;
    run(&e.app, &e.admin, e.community, "2026-09").await;
    run(&e.app, &e.admin, e.community, "2026-10").await;
    let photo = crate::tickets::upload(&e.app, "/api/v1/me/uploads", &e.owner).await;
    let r = e
        .app
        .post(
            "/api/v1/me/hardship-requests",
            Some(&e.owner),
            &json!({"category": "dibao", "reason": "低保家庭，持有低保证", "upload_ids": [photo]}),
        )
        .await;
    assert_eq!(r.status(), 201);
    let id = r.json::<serde_json::Value>().await.unwrap()["id"].as_i64().unwrap();
    e.app.staff_member(&e.admin, "caiwu", "finance", &[e.community]).await;

    let d = driver().await;
    let c = browser(&d, 1280, 900).await;
    sign_in_as(&c, &e.app, "caiwu", "long-enough-pw").await;
    click(&c, Locator::LinkText("困难减免")).await;
    let row = c
        .wait()
        .for_element(Locator::Css(&format!("#case-{id}")))
        .await
        .unwrap();
    let text = row.text().await.unwrap();
    assert!(text.contains("低保家庭") && text.contains("待审核"), "{text}");
    shoot(&c, "console-hardship-1280").await;
    // Reduction is the form's first choice; the window's dates are set as a date picker would.
    c.find(Locator::Id(&format!("percent-{id}")))
        .await
        .unwrap()
        .send_keys("30")
        .await
        .unwrap();
    for (field, day) in [("starts-on", "2026-10-01"), ("ends-on", "2027-03-31")] {
        c.execute(
            "document.getElementById(arguments[0]).value = arguments[1];",
            vec![json!(format!("{field}-{id}")), json!(day)],
        )
        .await
        .unwrap();
    }
    c.find(Locator::Id(&format!("approve-reason-{id}")))
        .await
        .unwrap()
        .send_keys("低保证核验属实")
        .await
        .unwrap();
    click(&c, Locator::Css(&format!("#case-{id} form.approve button"))).await;
    until_shown(&c, "2026-10 减¥67.13").await;
    let text = c
        .find(Locator::Css(&format!("#case-{id}")))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        text.contains("2026-10-01至2027-03-31到期的物业费减免30%") && text.contains("已批准"),
        "{text}"
    );
    shoot(&c, "console-hardship-approved-1280").await;
    let bill: serde_json::Value = e
        .app
        .get_json(
            &format!(
                "/api/v1/staff/bills/{}",
                e.app.bill_of(&e.admin, e.community, e.unit, "2026-10").await
            ),
            Some(&e.admin),
        )
        .await;
    assert_eq!(bill["principal"], "156.62", "{bill}");
    c.close().await.unwrap();
}
