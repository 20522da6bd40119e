//! The list behind each dashboard figure: the console's bills page, filtered the way each figure is
//! made, totals the same money (checked against the hand-computed books of `reports`).
use crate::console::{outsider, page, sign_in};
use crate::helpers::*;
use crate::reports::books;
use serde_json::Value;

/// The href of the link whose text is `text` in the table row or card that contains `near`.
fn href_near(html: &str, near: &str, text: &str) -> String {
    let at = html.find(near).unwrap_or_else(|| panic!("{near} in {html}"));
    let rest = &html[at..];
    let end = rest
        .find(&format!(">{text}</a>"))
        .unwrap_or_else(|| panic!("{text} after {near}"));
    let start = rest[..end].rfind("href=\"").expect("href") + "href=\"".len();
    rest[start..end].trim_end_matches('"').replace("&amp;", "&")
}

fn totals(html: &str) -> &str {
    let at = html.find("id=\"bill-totals\">").expect("totals") + "id=\"bill-totals\">".len();
    &html[at..at + html[at..].find("</p>").unwrap()]
}

#[tokio::test]
async fn every_dashboard_figure_links_to_the_bills_that_make_it() {
    let b = books().await;
    let app = &b.app;
    let session = sign_in(app, ADMIN_USER, ADMIN_PASSWORD).await;
    let (status, dash) = page(
        app,
        &format!("/console/?community_id={}&period=2026-10", b.c1),
        &session,
    )
    .await;
    assert_eq!(status, 200);

    // The month's bills: 223.75 + 200.00 + 250.00 receivable (the report's 673.75).
    let link = href_near(&dash, "id=\"collection-rate\"", "查看本期账单");
    assert_eq!(link, format!("/console/bills?community_id={}&due_month=2026-10", b.c1));
    let (_, list) = page(app, &link, &session).await;
    assert!(
        totals(&list).starts_with("共 3 张：本金 673.75 元"),
        "{}",
        totals(&list)
    );

    // Aging 31–90 days: September's two unpaid bills, 447.50 (the report's bucket); 0–30: October's
    // unit 2 (200.00) and unit 3 (50.00 refunded, so owed again): 250.00, no late fee yet.
    let link = href_near(&dash, "31–90天", "账单");
    let (_, list) = page(app, &link, &session).await;
    assert!(
        totals(&list).starts_with("共 2 张：本金 447.50 元"),
        "{}",
        totals(&list)
    );
    assert!(dash.contains("<td class=\"num\">447.50</td>"), "{dash}");
    let (_, list) = page(app, &href_near(&dash, "0–30天", "账单"), &session).await;
    assert!(
        totals(&list).ends_with("尚欠 250.00 元（逾期天数按今天计）。"),
        "{}",
        totals(&list)
    );
    assert!(totals(&list).starts_with("共 2 张"), "{}", totals(&list));
    assert!(dash.contains("<td class=\"num\">250.00</td>"), "{dash}");

    // A building's row: only its units, with the filter kept in the URL and the form.
    let link = href_near(&dash, "<tr><td>B", "账单");
    assert!(link.ends_with("&due_month=2026-10&building=B"), "{link}");
    let (_, list) = page(app, &link, &session).await;
    assert!(list.contains(">B-101</a>") && !list.contains(">A-101</a>"), "{list}");
    assert!(list.contains("id=\"building\" name=\"building\" value=\"B\""), "{list}");
    // The fee item's row.
    let (_, list) = page(app, &href_near(&dash, "<tr><td>物业服务费", "账单"), &session).await;
    assert!(totals(&list).starts_with("共 3 张"), "{}", totals(&list));

    // As of another day, aging is that day's: no link to today's overdue list pretends otherwise.
    let (_, past) = page(
        app,
        &format!("/console/?community_id={}&period=2026-10&as_of=2026-10-15", b.c1),
        &session,
    )
    .await;
    assert!(!past.contains("min_days_overdue"), "{past}");
    // The all-communities view links each community's own page instead.
    let (_, all) = page(app, "/console/", &session).await;
    assert!(!all.contains("/console/bills?"), "{all}");

    // The filters are checked like every other: refused, naming the field.
    for q in ["max_days_overdue=-1", "due_month=2026-Q1"] {
        let r = app
            .get(
                &format!("/api/v1/staff/bills?community_id={}&{q}", b.c1),
                Some(&b.admin),
            )
            .await;
        assert_error(r, 422, "VALIDATION_FAILED").await;
    }
    let none: Value = app
        .get_json(
            &format!(
                "/api/v1/staff/bills?community_id={}&min_days_overdue=40&max_days_overdue=30",
                b.c1
            ),
            Some(&b.admin),
        )
        .await;
    assert_eq!(none["total"], 0, "an empty range matches nothing");
    // Another community's staff see none of it.
    let outsider = outsider(app, &b.admin, "fin9", "finance").await;
    let (status, _) = page(app, &format!("/console/bills?community_id={}", b.c1), &outsider).await;
    assert_eq!(status, 404);
}
