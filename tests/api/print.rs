//! What is printed for owners and courts prints: the case file and a notice rendered to PDF by a
//! real headless Chromium (Debian `chromium`), A4 portrait, with every column header in the PDF's
//! text (so no column was cut off the page).
use crate::helpers::*;
use serde_json::{json, Value};
use std::path::{Path, PathBuf};
use std::process::Command;

const CHROMIUM: &str = "/usr/bin/chromium";

/// Whether Chromium and pdftotext are here; `WUYE_REQUIRE_BROWSER=1` (CI) makes their absence a
/// failure instead of a skip.
fn tools_present() -> bool {
    let present = Path::new(CHROMIUM).exists() && Command::new("pdftotext").arg("-v").output().is_ok();
    if !present && std::env::var("WUYE_REQUIRE_BROWSER").is_ok_and(|v| v == "1") {
        panic!("WUYE_REQUIRE_BROWSER=1 but chromium or pdftotext is missing (apt-get install chromium poppler-utils fonts-noto-cjk)");
    }
    if !present {
        eprintln!("skipped: chromium or pdftotext not installed (CI installs them and requires them)");
    }
    present
}

/// Prints an HTML page to PDF with headless Chromium; returns (PDF text, page size line).
fn print_to_pdf(dir: &Path, name: &str, html: &str) -> (String, String) {
    let page = dir.join(format!("{name}.html"));
    std::fs::write(&page, html).unwrap();
    let pdf = dir.join(format!("{name}.pdf"));
    let profile = tempfile::tempdir().unwrap();
    let out = Command::new(CHROMIUM)
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--no-pdf-header-footer",
        ])
        .arg(format!("--user-data-dir={}", profile.path().display()))
        .arg(format!("--print-to-pdf={}", pdf.display()))
        .arg(format!("file://{}", page.display()))
        .output()
        .unwrap();
    assert!(
        pdf.exists(),
        "chromium made no PDF: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = Command::new("pdftotext")
        .arg("-layout")
        .arg(&pdf)
        .arg("-")
        .output()
        .unwrap();
    let info = Command::new("pdfinfo").arg(&pdf).output().unwrap();
    let size = String::from_utf8_lossy(&info.stdout)
        .lines()
        .find(|l| l.starts_with("Page size"))
        .unwrap_or_default()
        .to_string();
    (String::from_utf8_lossy(&text.stdout).into_owned(), size)
}

/// The text of every `<th>` in a page.
fn headers(html: &str) -> Vec<String> {
    html.split("<th")
        .skip(1)
        .map(|c| c.split('>').nth(1).unwrap().split('<').next().unwrap().to_string())
        .collect()
}

fn assert_printed(dir: &Path, name: &str, html: &str) {
    let (text, size) = print_to_pdf(dir, name, html);
    // A4 portrait: pdfinfo names the size, and the width is the shorter side.
    let dims: Vec<f64> = size.split_whitespace().filter_map(|w| w.parse().ok()).collect();
    assert!(
        size.contains("(A4)") && dims.len() == 2 && dims[0] < dims[1],
        "{name}: {size}"
    );
    let squeezed: String = text.chars().filter(|c| !c.is_whitespace()).collect();
    let hs = headers(html);
    assert!(hs.len() >= 7, "{name}: {hs:?}");
    for h in hs {
        let h: String = h.chars().filter(|c| !c.is_whitespace()).collect();
        assert!(
            squeezed.contains(&h),
            "{name}: column header {h:?} missing from the PDF text"
        );
    }
}

/// Unit A-3-1201 of 王小明 (no WeChat, no phone channel) owing May to July: the reminder run makes
/// a final notice, which goes to staff as a call, a visit and a notice to print. (app, admin token,
/// community, unit).
pub(crate) async fn final_notice_estate() -> (TestApp, String, i64, i64) {
    let app = spawn_app().await;
    let admin = app.admin_token().await;
    let c = app.community(&admin, "P1").await;
    let unit = app.unit(&admin, c, "A-3-1201").await;
    app.owner(&admin, "王小明", "13800002001", &[unit]).await;
    app.property_fee(&admin, c).await;
    for p in ["2026-05", "2026-06", "2026-07"] {
        app.billing_run(&admin, c, p, "2026-04-20").await;
    }
    let run: Value = app
        .post("/api/v1/staff/reminder-runs", Some(&admin), &json!({"community_id": c}))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(run["tasks"], 1, "{run}");
    (app, admin, c, unit)
}

#[tokio::test]
async fn the_case_file_and_a_notice_print_on_a4_with_every_column() {
    if !tools_present() {
        return;
    }
    let (app, admin, c, unit) = final_notice_estate().await;
    // A final notice (no channel: it goes to staff and is printed), a payment and a call as evidence.
    let tasks: Value = app
        .get_json(&format!("/api/v1/staff/tasks?community_id={c}"), Some(&admin))
        .await;
    let printed = tasks["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["kind"] == "printed_notice")
        .unwrap();
    let r = app
        .post(
            "/api/v1/staff/contacts",
            Some(&admin),
            &json!({"unit_id": unit, "kind": "call", "outcome": "业主称月底前缴清"}),
        )
        .await;
    assert_eq!(r.status(), 201);
    let bills: Value = app
        .get_json(&format!("/api/v1/staff/bills?community_id={c}"), Some(&admin))
        .await;
    let first = bills["items"][0]["id"].clone();
    let r = app
        .post(
            "/api/v1/staff/payments/counter",
            Some(&admin),
            &json!({"bill_ids": [first], "method": "pos", "reference": "POS-7"}),
        )
        .await;
    assert_eq!(r.status(), 201);

    let notice = app
        .get(
            &format!("/api/v1/staff/tasks/{}/notice.html", printed["id"]),
            Some(&admin),
        )
        .await
        .text()
        .await
        .unwrap();
    let case_file = app
        .get(&format!("/api/v1/staff/units/{unit}/case-file.html"), Some(&admin))
        .await
        .text()
        .await
        .unwrap();
    // Chinese throughout: no code words a judge cannot read.
    for code in [
        "per_area",
        "monthly",
        "staff_task",
        ">open<",
        "final_notice",
        "\"payment_id\"",
    ] {
        assert!(!case_file.contains(code), "case file shows {code}");
    }
    assert!(case_file.contains("证据链完整：共"));
    assert!(!case_file.contains("font-family:serif") && !notice.contains("font-family:serif"));
    let dir: PathBuf = tempfile::tempdir().unwrap().keep();
    assert_printed(&dir, "notice", &notice);
    assert_printed(&dir, "case-file", &case_file);
}
