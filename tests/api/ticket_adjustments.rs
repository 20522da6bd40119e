//! Bill corrections a dispute asks for (issue #14): service staff request them, only finance (never
//! the requester) decides, an approval goes through the ledger exactly once with the ticket as its
//! reason, and the ticket cannot be resolved or merged away while a request waits.
use crate::helpers::*;
use crate::reminders::{estate_without_channels, Estate};
use crate::tickets::{household, open};
use serde_json::{json, Value};

async fn post(e: &Estate, token: &str, path: &str, body: Value, status: u16) -> Value {
    let r = e.app.post(path, Some(token), &body).await;
    assert_eq!(r.status(), status, "{path}: {}", r.text().await.unwrap_or_default());
    r.json().await.unwrap()
}

async fn bill(e: &Estate, id: i32) -> Value {
    e.app
        .get_json(&format!("/api/v1/staff/bills/{id}"), Some(&e.admin))
        .await
}

/// Ledger entries of a bill of one kind.
async fn entries(e: &Estate, bill: i32, kind: &str) -> i64 {
    e.app
        .count(&format!("bill_entries WHERE bill_id = {bill} AND kind = '{kind}'"))
        .await
}

async fn inbox_kinds(e: &Estate, token: &str) -> Vec<String> {
    let page: Value = e.app.get_json("/api/v1/staff/inbox", Some(token)).await;
    page["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["kind"].as_str().unwrap().to_string())
        .collect()
}

/// A dispute about `bills` of a fresh household: (unit, owner token, ticket id).
async fn dispute(e: &Estate, code: &str, phone: &str, days_overdue: &[i64]) -> (i64, String, i64, Vec<i32>) {
    let (unit, owner) = household(e, code, phone).await;
    let mut bills = Vec::new();
    for d in days_overdue {
        bills.push(e.bill_due(unit, *d).await);
    }
    let t = open(
        &e.app,
        &owner,
        json!({"category": "dispute", "title": "滞纳金不合理", "body": "停水期间不应计滞纳金", "unit_id": unit, "bill_ids": bills}),
    )
    .await;
    (unit, owner, t["id"].as_i64().unwrap(), bills)
}

#[tokio::test]
async fn a_waiver_a_dispute_asks_for_is_applied_by_the_ledger_only_once_finance_approves() {
    let e = estate_without_channels().await;
    let (unit, owner, id, bills) = dispute(&e, "W-1", "13900000031", &[60]).await;
    let b = bills[0];
    let before = bill(&e, b).await;
    let late_fee = before["late_fee"].as_str().unwrap().to_string();
    assert_ne!(late_fee, "0.00", "the bill carries a late fee: {before}");
    let (_, kefu) = e.app.staff_member(&e.admin, "kefu", "service", &[e.community]).await;
    let (_, caiwu) = e.app.staff_member(&e.admin, "caiwu", "finance", &[e.community]).await;
    let (_, cuishou) = e
        .app
        .staff_member(&e.admin, "cuishou", "collector", &[e.community])
        .await;
    let other = e.app.community(&e.admin, "R9").await;
    let (_, outsider) = e.app.staff_member(&e.admin, "caiwu9", "finance", &[other]).await;

    // Service staff ask; finance is not asked to act on service's behalf, nor do they move money.
    let path = format!("/api/v1/staff/tickets/{id}/adjustments");
    let r = e
        .app
        .post(
            &path,
            Some(&caiwu),
            &json!({"bill_id": b, "kind": "waive_late_fee", "reason": "停水"}),
        )
        .await;
    assert_error(r, 403, "FORBIDDEN").await;
    // Two at once for the same bill: one request, the other refused.
    let body = json!({"bill_id": b, "kind": "waive_late_fee", "reason": "小区停水三天，滞纳金全部减免"});
    let (r1, r2) = tokio::join!(
        e.app.post(&path, Some(&kefu), &body),
        e.app.post(&path, Some(&kefu), &body)
    );
    let mut codes = [r1.status().as_u16(), r2.status().as_u16()];
    codes.sort();
    assert_eq!(codes, [201, 409]);
    assert_eq!(e.app.count("ticket_adjustments").await, 1);
    let t: Value = e
        .app
        .get_json(&format!("/api/v1/staff/tickets/{id}"), Some(&kefu))
        .await;
    let a = &t["adjustments"][0];
    assert_eq!(a["status"], "pending", "{t}");
    assert_eq!(
        a["amount"],
        late_fee.as_str(),
        "all the late fee outstanding when asked"
    );
    assert_eq!(a["summary"], format!("减免滞纳金¥{late_fee}"));
    assert_eq!(a["requested_by_name"], "员工 kefu");
    let aid = a["id"].as_i64().unwrap();

    // Nothing has moved yet, and the owner is not told of a correction that has not happened.
    assert_eq!(bill(&e, b).await["late_fee_waived"], "0.00");
    assert_eq!(entries(&e, b, "late_fee_waiver").await, 0);
    let mine: Value = e.app.get_json(&format!("/api/v1/me/tickets/{id}"), Some(&owner)).await;
    assert!(mine.get("adjustments").is_none(), "{mine}");
    assert!(!mine.to_string().contains("申请财务审批"), "{mine}");
    let r = e
        .app
        .post(
            &format!("/api/v1/staff/tickets/{id}/resolve"),
            Some(&kefu),
            &json!({"resolution": "滞纳金已减免"}),
        )
        .await;
    assert_error(r, 409, "ADJUSTMENT_PENDING").await;
    let t: Value = e
        .app
        .get_json(&format!("/api/v1/staff/tickets/{id}"), Some(&kefu))
        .await;
    assert_eq!(t["status"], "open");

    // It waits in finance's inbox and queue; only finance of the community decides.
    assert!(inbox_kinds(&e, &caiwu).await.contains(&"ticket_adjustment".to_string()));
    assert!(!inbox_kinds(&e, &kefu).await.contains(&"ticket_adjustment".to_string()));
    let queue: Value = e.app.get_json("/api/v1/staff/adjustments", Some(&caiwu)).await;
    assert_eq!(queue["total"], 1, "{queue}");
    assert_eq!(queue["items"][0]["bill"]["late_fee"], late_fee.as_str());
    let outsiders: Value = e.app.get_json("/api/v1/staff/adjustments", Some(&outsider)).await;
    assert_eq!(outsiders["total"], 0);
    let approve = format!("/api/v1/staff/adjustments/{aid}/approve");
    for (token, status, code) in [
        (&kefu, 403, "FORBIDDEN"),
        (&cuishou, 403, "FORBIDDEN"),
        (&outsider, 404, "NOT_FOUND"),
    ] {
        let r = e.app.post(&approve, Some(token), &json!({})).await;
        assert_error(r, status, code).await;
    }
    assert_eq!(entries(&e, b, "late_fee_waiver").await, 0);

    // Two approvals at once: one ledger entry.
    let (agree, empty) = (json!({"note": "同意"}), json!({}));
    let (r1, r2) = tokio::join!(
        e.app.post(&approve, Some(&caiwu), &agree),
        e.app.post(&approve, Some(&e.admin), &empty)
    );
    let mut codes = [r1.status().as_u16(), r2.status().as_u16()];
    codes.sort();
    assert_eq!(codes, [200, 409]);
    assert_eq!(entries(&e, b, "late_fee_waiver").await, 1);
    let after = bill(&e, b).await;
    assert_eq!(after["late_fee_waived"], late_fee.as_str(), "{after}");
    assert_eq!(after["amount_due"], after["principal"], "only the principal is left");
    let entry = after["entries"]
        .as_array()
        .unwrap()
        .iter()
        .find(|x| x["kind"] == "late_fee_waiver")
        .unwrap()
        .clone();
    assert_eq!(
        entry["reason"],
        format!("工单{id}争议处理：小区停水三天，滞纳金全部减免")
    );
    assert_eq!(entry["late_fee"], late_fee.as_str());

    // The owner reads that it took effect; the unit's chain keeps it; the requester is told.
    let mine: Value = e.app.get_json(&format!("/api/v1/me/tickets/{id}"), Some(&owner)).await;
    assert!(
        mine["messages"]
            .to_string()
            .contains(&format!("经财务审核，账单{b}减免滞纳金¥{late_fee}已生效")),
        "{mine}"
    );
    let chain = e.evidence(unit).await;
    assert!(chain.iter().any(|r| r["stage"] == "ticket_adjusted"), "{chain:?}");
    assert!(inbox_kinds(&e, &kefu)
        .await
        .contains(&"ticket_adjustment_decided".to_string()));
    let decided: Value = e
        .app
        .get_json(&format!("/api/v1/staff/adjustments/{aid}"), Some(&caiwu))
        .await;
    assert_eq!(decided["status"], "approved");
    // Decided once: no second approval or refusal.
    let r = e
        .app
        .post(
            &format!("/api/v1/staff/adjustments/{aid}/reject"),
            Some(&e.admin),
            &json!({"note": "不同意"}),
        )
        .await;
    assert_error(r, 409, "ADJUSTMENT_DECIDED").await;

    // Now the ticket can close, telling the owner what the ledger already holds.
    post(
        &e,
        &kefu,
        &format!("/api/v1/staff/tickets/{id}/resolve"),
        json!({"resolution": "停水期间的滞纳金已全部减免"}),
        200,
    )
    .await;
}

#[tokio::test]
async fn refusals_principal_corrections_and_cancellations_and_what_a_request_may_not_do() {
    let e = estate_without_channels().await;
    let (_, owner, id, bills) = dispute(&e, "W-2", "13900000032", &[60, 30]).await;
    let (b1, b2) = (bills[0], bills[1]);
    let (_, caiwu) = e.app.staff_member(&e.admin, "caiwu", "finance", &[e.community]).await;
    let path = format!("/api/v1/staff/tickets/{id}/adjustments");

    // Only a dispute's own bills, with amounts that fit the kind and the bill.
    let (unit, _) = e.household("W-3", "13900000033").await;
    let elsewhere = e.bill_due(unit, 60).await;
    for (body, field) in [
        (
            json!({"bill_id": elsewhere, "kind": "cancel", "reason": "x"}),
            "bill_id",
        ),
        (json!({"bill_id": b1, "kind": "refund", "reason": "x"}), "kind"),
        (json!({"bill_id": b1, "kind": "adjust", "reason": "x"}), "principal"),
        (
            json!({"bill_id": b1, "kind": "waive_late_fee", "principal": "1.00", "reason": "x"}),
            "principal",
        ),
        (
            json!({"bill_id": b1, "kind": "waive_late_fee", "amount": "9999.00", "reason": "x"}),
            "amount",
        ),
        (
            json!({"bill_id": b1, "kind": "adjust", "principal": "300.00", "reason": "x"}),
            "principal",
        ),
        (json!({"bill_id": b1, "kind": "cancel", "reason": "  "}), "reason"),
    ] {
        let r = e.app.post(&path, Some(&e.admin), &body).await;
        let err = assert_error(r, 422, "VALIDATION_FAILED").await;
        assert!(err["details"]["fields"][field].is_string(), "{body}: {err}");
    }
    let complaint = open(
        &e.app,
        &owner,
        json!({"category": "complaint", "title": "噪音", "body": "楼上装修", "unit_id": unit_of(&e, b1).await}),
    )
    .await;
    let r = e
        .app
        .post(
            &format!("/api/v1/staff/tickets/{}/adjustments", complaint["id"]),
            Some(&e.admin),
            &json!({"bill_id": b1, "kind": "cancel", "reason": "x"}),
        )
        .await;
    assert_error(r, 409, "NOT_A_DISPUTE").await;
    assert_eq!(e.app.count("ticket_adjustments").await, 0, "nothing was asked");

    // The admin asks for a lower principal; nobody approves their own request.
    let t = post(
        &e,
        &e.admin,
        &path,
        json!({"bill_id": b1, "kind": "adjust", "principal": "250.00", "reason": "按实测面积重新计费"}),
        201,
    )
    .await;
    let aid = t["adjustments"][0]["id"].as_i64().unwrap();
    assert_eq!(t["adjustments"][0]["summary"], "本金由¥300.00调整为¥250.00");
    let r = e
        .app
        .post(
            &format!("/api/v1/staff/adjustments/{aid}/approve"),
            Some(&e.admin),
            &json!({}),
        )
        .await;
    assert_error(r, 409, "OWN_REQUEST").await;
    // A refusal says why; the bill stays as it was and the requester reads the reason.
    let reject = format!("/api/v1/staff/adjustments/{aid}/reject");
    let r = e.app.post(&reject, Some(&caiwu), &json!({})).await;
    let err = assert_error(r, 422, "VALIDATION_FAILED").await;
    assert!(err["details"]["fields"]["note"].is_string());
    let v = post(&e, &caiwu, &reject, json!({"note": "测绘报告未附"}), 200).await;
    assert_eq!(v["status"], "rejected");
    assert_eq!(v["decided_by_name"], "员工 caiwu");
    assert_eq!(bill(&e, b1).await["principal"], "300.00");
    assert_eq!(entries(&e, b1, "adjustment").await, 0);
    let items: Value = e.app.get_json("/api/v1/staff/inbox", Some(&e.admin)).await;
    assert!(items.to_string().contains("测绘报告未附"), "{items}");
    let mine: Value = e.app.get_json(&format!("/api/v1/me/tickets/{id}"), Some(&owner)).await;
    assert!(
        !mine.to_string().contains("测绘报告未附"),
        "a refusal is staff's: {mine}"
    );

    // Asked again; the bill changes before finance decides: the approval is refused, nothing moves.
    let t = post(
        &e,
        &e.admin,
        &path,
        json!({"bill_id": b1, "kind": "adjust", "principal": "250.00", "reason": "附测绘报告"}),
        201,
    )
    .await;
    let aid = t["adjustments"][1]["id"].as_i64().unwrap();
    post(
        &e,
        &caiwu,
        &format!("/api/v1/staff/bills/{b1}/adjust"),
        json!({"principal": "280.00", "reason": "面积更正"}),
        200,
    )
    .await;
    let r = e
        .app
        .post(
            &format!("/api/v1/staff/adjustments/{aid}/approve"),
            Some(&caiwu),
            &json!({}),
        )
        .await;
    assert_error(r, 409, "BILL_CHANGED").await;
    assert_eq!(bill(&e, b1).await["principal"], "280.00");
    assert_eq!(entries(&e, b1, "adjustment").await, 1, "only finance's own correction");
    let still: Value = e
        .app
        .get_json(&format!("/api/v1/staff/adjustments/{aid}"), Some(&caiwu))
        .await;
    assert_eq!(
        still["status"], "pending",
        "a refused approval leaves the request waiting"
    );
    // While it waits the dispute cannot be merged away either.
    let dup = open(
        &e.app,
        &owner,
        json!({"category": "dispute", "title": "同上", "body": "同上", "unit_id": unit_of(&e, b1).await, "bill_ids": [b2]}),
    )
    .await;
    let r = e
        .app
        .post(
            &format!("/api/v1/staff/tickets/{id}/merge"),
            Some(&e.admin),
            &json!({"into_id": dup["id"]}),
        )
        .await;
    assert_error(r, 409, "ADJUSTMENT_PENDING").await;
    post(&e, &caiwu, &reject, json!({"note": "x"}), 409).await;
    post(
        &e,
        &caiwu,
        &format!("/api/v1/staff/adjustments/{aid}/reject"),
        json!({"note": "本金已由财务更正"}),
        200,
    )
    .await;

    // Withdrawing the other bill: approved, the ledger cancels it.
    let t = post(
        &e,
        &e.admin,
        &path,
        json!({"bill_id": b2, "kind": "cancel", "reason": "该月房屋尚未交付"}),
        201,
    )
    .await;
    let aid = t["adjustments"][2]["id"].as_i64().unwrap();
    let v = post(
        &e,
        &caiwu,
        &format!("/api/v1/staff/adjustments/{aid}/approve"),
        json!({}),
        200,
    )
    .await;
    assert_eq!(v["status"], "approved");
    assert_eq!(bill(&e, b2).await["status"], "cancelled");
    let done: Value = e
        .app
        .get_json("/api/v1/staff/adjustments?status=approved", Some(&caiwu))
        .await;
    assert_eq!(done["total"], 1);
    let r = e.app.get("/api/v1/staff/adjustments?status=maybe", Some(&caiwu)).await;
    assert_error(r, 422, "VALIDATION_FAILED").await;
}

async fn unit_of(e: &Estate, bill_id: i32) -> i64 {
    bill(e, bill_id).await["unit_id"].as_i64().unwrap()
}
