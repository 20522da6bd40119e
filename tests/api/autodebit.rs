//! Auto-debit mandates (issue #16): bank accounts active at once and masked; WeChat Pay contracts
//! and Alipay agreements pending until their signed notification; one live mandate per unit;
//! cancelling ends it here at once and at the gateway (retried until it confirms).
use crate::fake_pay::*;
use crate::helpers::*;
use crate::payments::{now, shop, Shop};
use serde_json::{json, Value};
use wiremock::matchers::{method, path_regex};
use wiremock::{Mock, ResponseTemplate};

const ACCOUNT: &str = "6222 0212 3456 5678";

async fn mandate(s: &Shop, body: Value) -> reqwest::Response {
    s.app.post("/api/v1/me/autodebit", Some(&s.owner), &body).await
}

pub(crate) async fn created(s: &Shop, body: Value) -> Value {
    let r = mandate(s, body).await;
    assert_eq!(r.status(), 201, "{}", r.text().await.unwrap_or_default());
    r.json().await.unwrap()
}

pub(crate) fn bank(unit: i64) -> Value {
    json!({"channel": "bank", "unit_ids": [unit], "max_amount": "500.00",
        "bank": {"bank_name": "工商银行", "account_no": ACCOUNT, "holder": "张三"}})
}

pub(crate) async fn mine(s: &Shop) -> Vec<Value> {
    s.app.get_json("/api/v1/me/autodebit", Some(&s.owner)).await
}

async fn evidence(s: &Shop) -> Vec<Value> {
    s.app
        .get_json(&format!("/api/v1/staff/units/{}/evidence", s.unit), Some(&s.admin))
        .await
}

async fn autodebit_evidence(s: &Shop) -> Vec<(String, String)> {
    evidence(s)
        .await
        .into_iter()
        .filter(|e| e["kind"] == "autodebit")
        .map(|e| {
            (
                e["result"].as_str().unwrap().to_string(),
                e["content"].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

/// The contract code of the owner's mandate `id` (ours; the gateway echoes it back).
pub(crate) async fn code_of(s: &Shop, id: i64) -> String {
    let row = s
        .app
        .db
        .query_one_raw(sea_orm::Statement::from_string(
            s.app.db.get_database_backend(),
            format!("SELECT contract_code FROM autodebit_mandates WHERE id = {id}"),
        ))
        .await
        .unwrap()
        .unwrap();
    row.try_get::<String>("", "contract_code").unwrap()
}

use sea_orm::ConnectionTrait;

/// A signed WeChat Pay contract notification (`ENTRUST.SIGN` / `ENTRUST.TERMINATE`).
fn contract_notification(s: &Shop, event: &str, id: &str, resource: &Value) -> (Vec<(String, String)>, String) {
    wechat_event_text(
        event,
        id,
        &resource.to_string(),
        now(s),
        &platform_signer(),
        PLATFORM_KEY_ID,
    )
}

pub(crate) fn contract(code: &str, state: &str) -> Value {
    json!({"mchid": MCHID, "appid": APPID, "plan_id": PLAN_ID, "out_contract_code": code,
        "contract_id": format!("2026120101{code}"), "contract_state": state,
        "contract_signed_time": "2026-10-20T10:01:00+08:00", "openid": "openid-zhang"})
}

pub(crate) async fn notify_contract(s: &Shop, event: &str, id: &str, resource: &Value) -> u16 {
    let (h, body) = contract_notification(s, event, id, resource);
    s.app.notify_wechat(&h, &body).await.status().as_u16()
}

/// A WeChat mandate for the shop's unit, signed by its notification.
pub(crate) async fn signed_wechat(s: &Shop) -> (i64, String) {
    let m = created(s, json!({"channel": "wechat", "unit_ids": [s.unit]})).await;
    let id = m["id"].as_i64().unwrap();
    let code = code_of(s, id).await;
    assert_eq!(
        notify_contract(s, "ENTRUST.SIGN", "EV-SIGN-1", &contract(&code, "SIGNED")).await,
        204
    );
    (id, code)
}

pub(crate) async fn status_of(s: &Shop, id: i64) -> Value {
    mine(s).await.into_iter().find(|m| m["id"] == id).unwrap()
}

pub(crate) fn taken(list: &std::sync::Mutex<Vec<String>>) -> Vec<String> {
    list.lock().unwrap().clone()
}

#[tokio::test]
async fn a_bank_mandate_is_active_at_once_masked_everywhere_and_encrypted_at_rest() {
    let s = shop().await;
    let m = created(&s, bank(s.unit)).await;
    assert_eq!(
        (
            m["channel"].as_str(),
            m["status"].as_str(),
            m["account"].as_str(),
            m["max_amount"].as_str()
        ),
        (Some("bank"), Some("active"), Some("工商银行 **** 5678"), Some("500.00"))
    );
    assert!(m["signed_at"].is_string() && m.get("sign").is_none());
    assert_eq!(m["units"][0]["id"], s.unit);
    assert_eq!(m["units"][0]["label"], "A A-1-101");
    // The number and the holder never appear in clear: not in answers, evidence or the database.
    let digits = ACCOUNT.replace(' ', "");
    let listed = serde_json::to_string(&mine(&s).await).unwrap();
    let staff: Vec<Value> = s
        .app
        .get_json(&format!("/api/v1/staff/units/{}/mandates", s.unit), Some(&s.admin))
        .await;
    assert_eq!(staff[0]["account"], "工商银行 **** 5678");
    let ev = autodebit_evidence(&s).await;
    assert_eq!(ev.len(), 1);
    assert_eq!(ev[0].0, "signed");
    assert!(
        ev[0].1.contains("**** 5678") && ev[0].1.contains("500.00"),
        "{}",
        ev[0].1
    );
    let row = s
        .app
        .db
        .query_one_raw(sea_orm::Statement::from_string(
            s.app.db.get_database_backend(),
            "SELECT account_no_enc, holder_enc, account_no_index FROM autodebit_mandates".to_string(),
        ))
        .await
        .unwrap()
        .unwrap();
    let stored: Vec<String> = ["account_no_enc", "holder_enc", "account_no_index"]
        .iter()
        .map(|c| row.try_get::<String>("", c).unwrap())
        .collect();
    for text in [listed.as_str(), &serde_json::to_string(&staff).unwrap(), &ev[0].1]
        .into_iter()
        .chain(stored.iter().map(String::as_str))
    {
        assert!(!text.contains(&digits) && !text.contains("张三"), "{text}");
    }
}

#[tokio::test]
async fn bad_mandate_requests_are_422_in_chinese_and_change_nothing() {
    let s = shop().await;
    let other_unit = s.app.unit(&s.admin, s.community, "A-1-102").await;
    let cases = [
        (json!({"channel": "paypal", "unit_ids": [s.unit]}), "channel"),
        (json!({"channel": "wechat", "unit_ids": []}), "unit_ids"),
        (json!({"channel": "wechat", "unit_ids": [s.unit, s.unit]}), "unit_ids"),
        (json!({"channel": "bank", "unit_ids": [s.unit]}), "bank"),
        (
            json!({"channel": "wechat", "unit_ids": [s.unit], "bank": {"bank_name": "工行", "account_no": "62220212", "holder": "张三"}}),
            "bank",
        ),
        (
            json!({"channel": "bank", "unit_ids": [s.unit], "bank": {"bank_name": "工行", "account_no": "6222-0212-3456", "holder": "张三"}}),
            "bank.account_no",
        ),
        (
            json!({"channel": "wechat", "unit_ids": [s.unit], "max_amount": "0"}),
            "max_amount",
        ),
        (json!({"channel": "wechat", "unit_ids": [other_unit]}), "unit_ids"),
    ];
    for (body, field) in cases {
        let e = assert_error(mandate(&s, body.clone()).await, 422, "VALIDATION_FAILED").await;
        let msg = e["details"]["fields"][field].as_str().unwrap_or_default();
        assert!(
            msg.chars().any(|c| ('\u{4e00}'..='\u{9fff}').contains(&c)),
            "{body}: {e}"
        );
    }
    assert_eq!(
        (s.app.count("autodebit_mandates").await, taken(&s.fakes.presigns).len()),
        (0, 0)
    );
    // Where the community has auto-debit off: 409, nothing recorded.
    let r = s
        .app
        .patch(
            &format!("/api/v1/staff/communities/{}", s.community),
            Some(&s.admin),
            &json!({"features": {"autodebit": false}}),
        )
        .await;
    assert_eq!(r.status(), 200);
    assert_error(mandate(&s, bank(s.unit)).await, 409, "AUTODEBIT_OFF").await;
    assert_eq!(s.app.count("autodebit_mandates").await, 0);
}

#[tokio::test]
async fn a_unit_has_one_live_mandate_even_when_requests_race() {
    let s = shop().await;
    let tries = (0..6).map(|_| mandate(&s, bank(s.unit)));
    let statuses: Vec<u16> = futures_util::future::join_all(tries)
        .await
        .into_iter()
        .map(|r| r.status().as_u16())
        .collect();
    assert_eq!(statuses.iter().filter(|c| **c == 201).count(), 1, "{statuses:?}");
    assert!(statuses.iter().all(|c| *c == 201 || *c == 409), "{statuses:?}");
    let id = mine(&s).await[0]["id"].as_i64().unwrap();
    assert_error(
        mandate(&s, json!({"channel": "wechat", "unit_ids": [s.unit]})).await,
        409,
        "MANDATE_EXISTS",
    )
    .await;
    // Cancelled, the unit is free again.
    let r = s
        .app
        .delete(&format!("/api/v1/me/autodebit/{id}"), Some(&s.owner), &json!({}))
        .await;
    assert_eq!(r.status(), 200);
    let ended: Value = r.json().await.unwrap();
    assert_eq!(
        (ended["status"].as_str(), ended["ended_by"].as_str()),
        (Some("terminated"), Some("owner"))
    );
    created(&s, bank(s.unit)).await;
    // Another owner's mandate id is 404, and changes nothing.
    let (stranger, _) = s.app.owner_login("openid-li").await;
    let r = s
        .app
        .delete(&format!("/api/v1/me/autodebit/{id}"), Some(&stranger), &json!({}))
        .await;
    assert_eq!(r.status(), 404);
}

#[tokio::test]
async fn a_wechat_contract_is_pending_until_its_signed_notification_which_counts_once() {
    let s = shop().await;
    let m = created(&s, json!({"channel": "wechat", "unit_ids": [s.unit]})).await;
    assert_eq!(m["status"], "pending");
    assert!(m["sign"]["wechat"]["pre_entrustweb_id"]
        .as_str()
        .unwrap()
        .starts_with("5778aadY9nltAsZzXixCkFIGYnV"));
    let id = m["id"].as_i64().unwrap();
    let code = code_of(&s, id).await;
    // The pre-sign named our plan and this mandate's code (and was signed: the fake checks).
    let asked: Value = serde_json::from_str(&taken(&s.fakes.presigns)[0]).unwrap();
    assert_eq!(
        (
            asked["plan_id"].as_str(),
            asked["out_contract_code"].as_str(),
            asked["mchid"].as_str()
        ),
        (Some(PLAN_ID), Some(code.as_str()), Some(MCHID))
    );
    assert!(autodebit_evidence(&s).await.is_empty(), "nothing is signed yet");
    // Delivered twice, a second later: active once, one evidence record.
    for _ in 0..2 {
        assert_eq!(
            notify_contract(&s, "ENTRUST.SIGN", "EV-SIGN-1", &contract(&code, "SIGNED")).await,
            204
        );
    }
    let m = status_of(&s, id).await;
    assert_eq!(m["status"], "active");
    assert!(m["signed_at"].is_string());
    let ev = autodebit_evidence(&s).await;
    assert_eq!(ev.len(), 1, "{ev:?}");
    assert!(ev[0].1.contains("微信支付") && ev[0].1.contains(&code), "{}", ev[0].1);
    assert_eq!(
        (
            s.app.count("gateway_notifications WHERE verdict = 'signed'").await,
            s.app.count("gateway_notifications WHERE verdict = 'duplicate'").await
        ),
        (1, 1)
    );
}

#[tokio::test]
async fn forged_stale_repeated_or_foreign_contract_notifications_change_nothing() {
    let s = shop().await;
    let m = created(&s, json!({"channel": "wechat", "unit_ids": [s.unit]})).await;
    let id = m["id"].as_i64().unwrap();
    let code = code_of(&s, id).await;
    let signed = contract(&code, "SIGNED");
    // Signed by another key, or too old: refused before anything is read.
    let (h, body) = wechat_event_text(
        "ENTRUST.SIGN",
        "EV-F",
        &signed.to_string(),
        now(&s),
        &merchant_signer(),
        PLATFORM_KEY_ID,
    );
    assert_eq!(s.app.notify_wechat(&h, &body).await.status(), 401);
    let (h, body) = wechat_event_text(
        "ENTRUST.SIGN",
        "EV-S",
        &signed.to_string(),
        now(&s) - 600,
        &platform_signer(),
        PLATFORM_KEY_ID,
    );
    assert_eq!(s.app.notify_wechat(&h, &body).await.status(), 401);
    // A repeated key in the decrypted resource: not read, WeChat Pay asked to send it again.
    let repeated = format!(
        r#"{{"mchid":"{MCHID}","appid":"{APPID}","plan_id":"{PLAN_ID}","out_contract_code":"{code}","contract_id":"X1","contract_state":"TERMINATED","contract_state":"SIGNED"}}"#
    );
    let (h, body) = wechat_event_text(
        "ENTRUST.SIGN",
        "EV-R",
        &repeated,
        now(&s),
        &platform_signer(),
        PLATFORM_KEY_ID,
    );
    assert_eq!(s.app.notify_wechat(&h, &body).await.status(), 400);
    // Genuinely signed but about another plan, or a contract we never made: recorded for staff.
    let mut foreign = signed.clone();
    foreign["plan_id"] = json!("99999");
    assert_eq!(notify_contract(&s, "ENTRUST.SIGN", "EV-P", &foreign).await, 204);
    assert_eq!(
        notify_contract(&s, "ENTRUST.SIGN", "EV-U", &contract("AD2026NOSUCHCODE", "SIGNED")).await,
        204
    );
    assert_eq!(status_of(&s, id).await["status"], "pending");
    assert!(autodebit_evidence(&s).await.is_empty());
    let ex: Vec<Value> = s.app.get_json("/api/v1/staff/payment-exceptions", Some(&s.admin)).await;
    let kinds: Vec<&str> = ex.iter().filter_map(|e| e["kind"].as_str()).collect();
    assert!(
        kinds.contains(&"mandate_mismatch") && kinds.contains(&"unknown_mandate"),
        "{kinds:?}"
    );
}

#[tokio::test]
async fn cancelling_ends_the_contract_here_at_once_and_at_wechat_pay_once() {
    let s = shop().await;
    let (id, code) = signed_wechat(&s).await;
    let r = s
        .app
        .delete(&format!("/api/v1/me/autodebit/{id}"), Some(&s.owner), &json!({}))
        .await;
    assert_eq!(r.status(), 200);
    let m: Value = r.json().await.unwrap();
    assert_eq!(
        (m["status"].as_str(), m["ended_by"].as_str()),
        (Some("terminated"), Some("owner"))
    );
    assert_eq!(taken(&s.fakes.terminations), vec![code.clone()]);
    // Again: answered as it is, WeChat Pay not asked twice.
    let r = s
        .app
        .delete(&format!("/api/v1/me/autodebit/{id}"), Some(&s.owner), &json!({}))
        .await;
    assert_eq!(r.status(), 200);
    assert_eq!(taken(&s.fakes.terminations).len(), 1);
    assert_eq!(
        s.app
            .count("autodebit_mandates WHERE gateway_ended_at IS NOT NULL")
            .await,
        1
    );
    let results: Vec<String> = autodebit_evidence(&s).await.into_iter().map(|e| e.0).collect();
    assert_eq!(results, ["signed", "terminated"]);
    // WeChat Pay's own notification of the ending changes nothing more.
    assert_eq!(
        notify_contract(&s, "ENTRUST.TERMINATE", "EV-T", &contract(&code, "TERMINATED")).await,
        204
    );
    assert_eq!(autodebit_evidence(&s).await.len(), 2);
}

#[tokio::test]
async fn a_gateway_down_at_cancel_still_stops_debits_and_the_scheduler_ends_it_there_later() {
    let s = shop().await;
    let (id, code) = signed_wechat(&s).await;
    Mock::given(method("POST"))
        .and(path_regex("/terminate$"))
        .respond_with(ResponseTemplate::new(500))
        .with_priority(1)
        .up_to_n_times(1)
        .mount(&s.app.wechat)
        .await;
    let r = s
        .app
        .delete(&format!("/api/v1/me/autodebit/{id}"), Some(&s.owner), &json!({}))
        .await;
    assert_eq!(r.status(), 200);
    assert_eq!(status_of(&s, id).await["status"], "terminated");
    assert_eq!(
        s.app.count("autodebit_mandates WHERE gateway_ended_at IS NULL").await,
        1
    );
    assert_eq!(
        wuye::services::autodebit::terminations::pass(&s.app.state)
            .await
            .unwrap(),
        1
    );
    assert_eq!(taken(&s.fakes.terminations), vec![code]);
    assert_eq!(
        wuye::services::autodebit::terminations::pass(&s.app.state)
            .await
            .unwrap(),
        0
    );
}

#[tokio::test]
async fn ended_in_wechat_the_mandate_ends_here_and_the_unit_is_free() {
    let s = shop().await;
    let (id, code) = signed_wechat(&s).await;
    assert_eq!(
        notify_contract(&s, "ENTRUST.TERMINATE", "EV-T", &contract(&code, "TERMINATED")).await,
        204
    );
    let m = status_of(&s, id).await;
    assert_eq!(
        (m["status"].as_str(), m["ended_by"].as_str()),
        (Some("terminated"), Some("gateway"))
    );
    // Nothing owed to WeChat Pay: it told us.
    assert!(taken(&s.fakes.terminations).is_empty());
    assert_eq!(
        wuye::services::autodebit::terminations::pass(&s.app.state)
            .await
            .unwrap(),
        0
    );
    created(&s, bank(s.unit)).await;
}

#[tokio::test]
async fn signed_in_wechat_after_cancelling_here_is_ended_there_too() {
    let s = shop().await;
    let m = created(&s, json!({"channel": "wechat", "unit_ids": [s.unit]})).await;
    let id = m["id"].as_i64().unwrap();
    let code = code_of(&s, id).await;
    let r = s
        .app
        .delete(&format!("/api/v1/me/autodebit/{id}"), Some(&s.owner), &json!({}))
        .await;
    assert_eq!(r.status(), 200);
    // Nothing was signed: nothing to end at WeChat Pay yet.
    assert!(taken(&s.fakes.terminations).is_empty());
    assert_eq!(
        notify_contract(&s, "ENTRUST.SIGN", "EV-LATE", &contract(&code, "SIGNED")).await,
        204
    );
    assert_eq!(status_of(&s, id).await["status"], "terminated");
    assert_eq!(taken(&s.fakes.terminations), vec![code]);
}

#[tokio::test]
async fn a_new_request_replaces_the_owners_unsigned_one() {
    let s = shop().await;
    let first = created(&s, json!({"channel": "wechat", "unit_ids": [s.unit]})).await;
    let second = created(&s, json!({"channel": "alipay", "unit_ids": [s.unit]})).await;
    let first = status_of(&s, first["id"].as_i64().unwrap()).await;
    assert_eq!(
        (first["status"].as_str(), first["ended_by"].as_str()),
        (Some("terminated"), Some("replaced"))
    );
    assert_eq!(second["status"], "pending");
}

#[tokio::test]
async fn an_alipay_agreement_is_signed_by_qr_and_unsigned_at_alipay_on_cancel() {
    let s = shop().await;
    let m = created(
        &s,
        json!({"channel": "alipay", "unit_ids": [s.unit], "max_amount": "300"}),
    )
    .await;
    let id = m["id"].as_i64().unwrap();
    let code = code_of(&s, id).await;
    // The signing page: the gateway URL with our signed request as its query.
    let url = reqwest::Url::parse(m["sign"]["alipay_sign_url"].as_str().unwrap()).unwrap();
    assert!(url.as_str().starts_with(&format!("{}/gateway.do?", s.app.wechat.uri())));
    let q: Vec<(String, String)> = url.query_pairs().into_owned().collect();
    let get = |k: &str| q.iter().find(|(n, _)| n == k).map(|(_, v)| v.clone()).unwrap();
    assert_eq!(get("method"), "alipay.user.agreement.page.sign");
    let biz: Value = serde_json::from_str(&get("biz_content")).unwrap();
    assert_eq!(biz["external_agreement_no"], code.as_str());
    let mut pairs: Vec<(String, String)> = q
        .iter()
        .filter(|(k, v)| k != "sign" && k != "sign_type" && !v.is_empty())
        .cloned()
        .collect();
    pairs.sort();
    let signing = pairs
        .iter()
        .map(|(k, v)| format!("{k}={v}"))
        .collect::<Vec<_>>()
        .join("&");
    assert!(verify(&app_verifier(), signing.as_bytes(), &get("sign")));
    let sign = |kind: &str, status: &str, notify_id: &str| {
        alipay_notification(
            &[
                ("notify_type", kind),
                ("notify_id", notify_id),
                ("notify_time", "2026-10-20 10:02:00"),
                ("app_id", ALIPAY_APP_ID),
                ("agreement_no", "20265820101234567890"),
                ("external_agreement_no", &code),
                ("status", status),
                ("personal_product_code", "GENERAL_WITHHOLDING_P"),
            ],
            false,
        )
    };
    let r = s.app.notify_alipay(&sign("dut_user_sign", "NORMAL", "N-1")).await;
    assert_eq!(r.text().await.unwrap(), "success");
    assert_eq!(status_of(&s, id).await["status"], "active");
    // A forged one is refused.
    let forged = alipay_notification(
        &[
            ("notify_type", "dut_user_unsign"),
            ("notify_id", "N-F"),
            ("app_id", ALIPAY_APP_ID),
            ("external_agreement_no", &code),
            ("status", "UNSIGN"),
        ],
        true,
    );
    assert_eq!(s.app.notify_alipay(&forged).await.text().await.unwrap(), "fail");
    assert_eq!(status_of(&s, id).await["status"], "active");
    let r = s
        .app
        .delete(&format!("/api/v1/me/autodebit/{id}"), Some(&s.owner), &json!({}))
        .await;
    assert_eq!(r.status(), 200);
    assert_eq!(taken(&s.fakes.unsigns), vec!["20265820101234567890".to_string()]);
    let ev = autodebit_evidence(&s).await;
    assert!(ev[0].1.contains("支付宝") && ev[0].1.contains("300.00"), "{}", ev[0].1);
    assert_eq!(ev.len(), 2);
}

#[tokio::test]
async fn without_a_papay_plan_wechat_mandates_are_unavailable_and_nothing_is_recorded() {
    let app = spawn_app_with(TestOptions {
        overrides: vec![("wechatpay.papay_plan_id", String::new())],
        ..Default::default()
    })
    .await;
    let s = crate::payments::shop_on(app).await;
    assert_error(
        mandate(&s, json!({"channel": "wechat", "unit_ids": [s.unit]})).await,
        503,
        "UNAVAILABLE",
    )
    .await;
    assert_eq!(s.app.count("autodebit_mandates").await, 0);
    // Bank mandates need no gateway.
    created(&s, bank(s.unit)).await;
}
