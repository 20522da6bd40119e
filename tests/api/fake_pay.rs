//! Local fake WeChat Pay v3 and Alipay gateways. They check our request signatures with our public
//! keys and sign their answers with the platform keys, using an independent RSA implementation
//! (the `rsa` crate), so wuye's ring-based signing is checked by other code.
use base64::{engine::general_purpose::STANDARD, Engine};
use rsa::pkcs1v15::{Signature, SigningKey, VerifyingKey};
use rsa::pkcs8::{DecodePrivateKey, DecodePublicKey};
use rsa::signature::{SignatureEncoding, Signer, Verifier};
use rsa::{RsaPrivateKey, RsaPublicKey};
use serde_json::{json, Value};
use sha2::Sha256;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use wiremock::matchers::{method, path, path_regex};
use wiremock::{Mock, MockServer, Request, Respond, ResponseTemplate};

pub const MCHID: &str = "1900000001";
pub const PLATFORM_KEY_ID: &str = "PUB_KEY_ID_0114232134912410000000000000";
pub const APIV3_KEY: &str = "wuyeTestApiV3Key0123456789abcdef";
pub const ALIPAY_APP_ID: &str = "2021000000000001";
pub const SELLER_ID: &str = "2088000000000001";
/// The 委托代扣 plan contracts are signed under.
pub const PLAN_ID: &str = "12535";

fn read(name: &str) -> String {
    std::fs::read_to_string(format!("tests/fixtures/{name}")).expect("fixture")
}

pub fn platform_signer() -> SigningKey<Sha256> {
    SigningKey::new(RsaPrivateKey::from_pkcs8_pem(&read("wechatpay_platform_test_key.pem")).expect("key"))
}

pub fn merchant_signer() -> SigningKey<Sha256> {
    SigningKey::new(RsaPrivateKey::from_pkcs8_pem(&read("wechatpay_merchant_test_key.pem")).expect("key"))
}

pub fn merchant_verifier() -> VerifyingKey<Sha256> {
    VerifyingKey::new(RsaPublicKey::from_public_key_pem(&read("wechatpay_merchant_test_pub.pem")).expect("key"))
}

fn alipay_signer() -> SigningKey<Sha256> {
    SigningKey::new(RsaPrivateKey::from_pkcs8_pem(&read("alipay_platform_test_key.pem")).expect("key"))
}

pub fn app_verifier() -> VerifyingKey<Sha256> {
    VerifyingKey::new(RsaPublicKey::from_public_key_pem(&read("alipay_app_test_pub.pem")).expect("key"))
}

pub fn sign(key: &SigningKey<Sha256>, msg: &[u8]) -> String {
    STANDARD.encode(key.sign(msg).to_bytes())
}

pub fn verify(key: &VerifyingKey<Sha256>, msg: &[u8], sig_b64: &str) -> bool {
    let Ok(bytes) = STANDARD.decode(sig_b64) else {
        return false;
    };
    let Ok(sig) = Signature::try_from(bytes.as_slice()) else {
        return false;
    };
    key.verify(msg, &sig).is_ok()
}

/// Settings that point wuye's payment clients at the fakes on `server`.
pub fn settings(server: &MockServer) -> Vec<(&'static str, String)> {
    vec![
        ("wechatpay.api_base", server.uri()),
        ("wechatpay.mchid", MCHID.into()),
        ("wechatpay.apiv3_key", APIV3_KEY.into()),
        ("wechatpay.merchant_serial_no", "MERCHANT_SERIAL_TEST".into()),
        (
            "wechatpay.merchant_private_key_path",
            "tests/fixtures/wechatpay_merchant_test_key.pem".into(),
        ),
        (
            "wechatpay.platform_public_key_path",
            "tests/fixtures/wechatpay_platform_test_pub.pem".into(),
        ),
        ("wechatpay.platform_public_key_id", PLATFORM_KEY_ID.into()),
        (
            "wechatpay.notify_url",
            "https://wuye.example/api/v1/notify/wechatpay".into(),
        ),
        ("alipay.gateway_url", format!("{}/gateway.do", server.uri())),
        ("alipay.app_id", ALIPAY_APP_ID.into()),
        (
            "alipay.private_key_path",
            "tests/fixtures/alipay_app_test_key.pem".into(),
        ),
        (
            "alipay.alipay_public_key_path",
            "tests/fixtures/alipay_platform_test_pub.pem".into(),
        ),
        ("alipay.notify_url", "https://wuye.example/api/v1/notify/alipay".into()),
        ("alipay.seller_id", SELLER_ID.into()),
        ("wechatpay.papay_plan_id", PLAN_ID.into()),
    ]
}

/// Parses `WECHATPAY2-SHA256-RSA2048 k="v",…`.
fn auth_fields(h: &str) -> Option<std::collections::HashMap<String, String>> {
    let rest = h.strip_prefix("WECHATPAY2-SHA256-RSA2048 ")?;
    Some(
        rest.split(',')
            .filter_map(|kv| kv.split_once('='))
            .map(|(k, v)| (k.trim().to_string(), v.trim().trim_matches('"').to_string()))
            .collect(),
    )
}

/// A WeChat Pay answer signed the way the platform signs (`timestamp\nnonce\nbody\n`).
pub fn signed_answer(status: u16, body: &Value) -> ResponseTemplate {
    let text = body.to_string();
    let ts = chrono::Utc::now().timestamp().to_string();
    let nonce = "fakegatewaynonce";
    let sig = sign(&platform_signer(), format!("{ts}\n{nonce}\n{text}\n").as_bytes());
    ResponseTemplate::new(status)
        .insert_header("Wechatpay-Timestamp", ts.as_str())
        .insert_header("Wechatpay-Nonce", nonce)
        .insert_header("Wechatpay-Serial", PLATFORM_KEY_ID)
        .insert_header("Wechatpay-Signature", sig.as_str())
        .insert_header("Content-Type", "application/json")
        .set_body_string(text)
}

/// An empty signed answer (WeChat Pay's 204s are signed over an empty body).
pub fn signed_empty(status: u16) -> ResponseTemplate {
    let ts = chrono::Utc::now().timestamp().to_string();
    let nonce = "fakegatewaynonce";
    let sig = sign(&platform_signer(), format!("{ts}\n{nonce}\n\n").as_bytes());
    ResponseTemplate::new(status)
        .insert_header("Wechatpay-Timestamp", ts.as_str())
        .insert_header("Wechatpay-Nonce", nonce)
        .insert_header("Wechatpay-Serial", PLATFORM_KEY_ID)
        .insert_header("Wechatpay-Signature", sig.as_str())
}

struct WxClose;

impl Respond for WxClose {
    fn respond(&self, req: &Request) -> ResponseTemplate {
        if !merchant_signed(req) {
            return ResponseTemplate::new(401).set_body_json(json!({"code": "SIGN_ERROR", "message": "bad signature"}));
        }
        signed_empty(204)
    }
}

/// Checks the merchant signature of a request to WeChat Pay.
pub fn merchant_signed(req: &Request) -> bool {
    let Some(fields) = req
        .headers
        .get("Authorization")
        .and_then(|h| h.to_str().ok())
        .and_then(auth_fields)
    else {
        return false;
    };
    let pq = match req.url.query() {
        Some(q) => format!("{}?{q}", req.url.path()),
        None => req.url.path().to_string(),
    };
    let body = String::from_utf8_lossy(&req.body);
    let msg = format!(
        "{}\n{pq}\n{}\n{}\n{body}\n",
        req.method, fields["timestamp"], fields["nonce_str"]
    );
    fields.get("mchid").map(String::as_str) == Some(MCHID)
        && verify(&merchant_verifier(), msg.as_bytes(), &fields["signature"])
}

struct Prepay {
    calls: Arc<AtomicUsize>,
}

impl Respond for Prepay {
    fn respond(&self, req: &Request) -> ResponseTemplate {
        if !merchant_signed(req) {
            return ResponseTemplate::new(401).set_body_json(json!({"code": "SIGN_ERROR", "message": "bad signature"}));
        }
        let n = self.calls.fetch_add(1, Ordering::SeqCst);
        signed_answer(200, &json!({"prepay_id": format!("wx2026fakeprepay{n}")}))
    }
}

/// Trades the fake Alipay reports on `alipay.trade.query` (out_trade_no → answer fields).
pub type AlipayTrades = Arc<std::sync::Mutex<std::collections::HashMap<String, Value>>>;

struct AlipayFake {
    trades: AlipayTrades,
    unsigns: Calls,
    debits: Calls,
}

impl Respond for AlipayFake {
    fn respond(&self, req: &Request) -> ResponseTemplate {
        let form: Vec<(String, String)> = url::form_urlencoded::parse(&req.body).into_owned().collect();
        let get = |k: &str| {
            form.iter()
                .find(|(n, _)| n == k)
                .map(|(_, v)| v.clone())
                .unwrap_or_default()
        };
        let mut pairs: Vec<(String, String)> = form
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
        if get("app_id") != ALIPAY_APP_ID || !verify(&app_verifier(), signing.as_bytes(), &get("sign")) {
            return alipay_answer(
                "alipay_trade_precreate_response",
                &json!({"code": "40002", "msg": "Invalid Arguments", "sub_code": "isv.invalid-signature"}),
            );
        }
        let biz: Value = serde_json::from_str(&get("biz_content")).unwrap_or_default();
        let out = biz["out_trade_no"].as_str().unwrap_or_default().to_string();
        match get("method").as_str() {
            "alipay.trade.query" => {
                let known = self.trades.lock().ok().and_then(|m| m.get(&out).cloned());
                return match known {
                    Some(mut t) => {
                        t["code"] = json!("10000");
                        t["msg"] = json!("Success");
                        t["out_trade_no"] = json!(out);
                        alipay_answer("alipay_trade_query_response", &t)
                    }
                    None => alipay_answer(
                        "alipay_trade_query_response",
                        &json!({"code": "40004", "msg": "Business Failed", "sub_code": "ACQ.TRADE_NOT_EXIST"}),
                    ),
                };
            }
            "alipay.user.agreement.unsign" => {
                if let Ok(mut u) = self.unsigns.lock() {
                    u.push(biz["agreement_no"].as_str().unwrap_or_default().to_string());
                }
                return alipay_answer(
                    "alipay_user_agreement_unsign_response",
                    &json!({"code": "10000", "msg": "Success"}),
                );
            }
            "alipay.trade.pay" => {
                if let Ok(mut d) = self.debits.lock() {
                    d.push(out.clone());
                }
                return alipay_answer(
                    "alipay_trade_pay_response",
                    &json!({"code": "10000", "msg": "Success", "out_trade_no": out, "trade_no": format!("2026AD{out}"),
                        "total_amount": biz["total_amount"], "gmt_payment": "2026-11-10 10:00:01"}),
                );
            }
            "alipay.trade.close" => {
                return alipay_answer(
                    "alipay_trade_close_response",
                    &json!({"code": "40004", "msg": "Business Failed", "sub_code": "ACQ.TRADE_NOT_EXIST"}),
                );
            }
            "alipay.trade.refund" => {
                return alipay_answer(
                    "alipay_trade_refund_response",
                    &json!({"code": "10000", "msg": "Success", "out_trade_no": out, "fund_change": "Y", "refund_fee": biz["refund_amount"]}),
                );
            }
            _ => {}
        }
        alipay_answer(
            "alipay_trade_precreate_response",
            &json!({"code": "10000", "msg": "Success", "out_trade_no": biz["out_trade_no"], "qr_code": format!("https://qr.alipay.com/fake{}", biz["out_trade_no"].as_str().unwrap_or_default())}),
        )
    }
}

/// An Alipay answer: the node's exact text signed with the Alipay key.
pub fn alipay_answer(node: &str, value: &Value) -> ResponseTemplate {
    let text = value.to_string();
    let sig = sign(&alipay_signer(), text.as_bytes());
    ResponseTemplate::new(200).set_body_string(format!(r#"{{"{node}":{text},"sign":"{sig}"}}"#))
}

struct WxRefund;

impl Respond for WxRefund {
    fn respond(&self, req: &Request) -> ResponseTemplate {
        if !merchant_signed(req) {
            return ResponseTemplate::new(401).set_body_json(json!({"code": "SIGN_ERROR", "message": "bad signature"}));
        }
        let body: Value = serde_json::from_slice(&req.body).unwrap_or_default();
        // A refund whose reason says so stays PROCESSING until its notification.
        let status = if body["reason"] == "PROCESSING" {
            "PROCESSING"
        } else {
            "SUCCESS"
        };
        signed_answer(
            200,
            &json!({"refund_id": format!("50300{}", body["out_refund_no"].as_str().unwrap_or_default()),
            "out_refund_no": body["out_refund_no"], "status": status, "amount": body["amount"]}),
        )
    }
}

/// What a fake was asked, in order.
pub type Calls = Arc<std::sync::Mutex<Vec<String>>>;

/// WeChat Pay's mini-program pre-sign: checks our signature, keeps the request body.
struct PreSign {
    bodies: Calls,
}

impl Respond for PreSign {
    fn respond(&self, req: &Request) -> ResponseTemplate {
        if !merchant_signed(req) {
            return ResponseTemplate::new(401).set_body_json(json!({"code": "SIGN_ERROR", "message": "bad signature"}));
        }
        let body = String::from_utf8_lossy(&req.body).into_owned();
        let n = match self.bodies.lock() {
            Ok(mut b) => {
                b.push(body);
                b.len()
            }
            Err(_) => 0,
        };
        signed_answer(
            200,
            &json!({"pre_entrustweb_id": format!("5778aadY9nltAsZzXixCkFIGYnV{n}"), "redirect_appid": "wxbd687630cd02ce1d", "redirect_path": "pages/index/index"}),
        )
    }
}

/// WeChat Pay's contract termination: checks our signature, keeps the contract code.
struct Terminate {
    codes: Calls,
}

impl Respond for Terminate {
    fn respond(&self, req: &Request) -> ResponseTemplate {
        if !merchant_signed(req) {
            return ResponseTemplate::new(401).set_body_json(json!({"code": "SIGN_ERROR", "message": "bad signature"}));
        }
        let code = req.url.path().split('/').rev().nth(1).unwrap_or_default().to_string();
        if let Ok(mut c) = self.codes.lock() {
            c.push(code);
        }
        signed_empty(204)
    }
}

/// WeChat Pay's 委托代扣 deduct: checks our signature, keeps the request body, accepts (204).
struct Apply {
    bodies: Calls,
}

impl Respond for Apply {
    fn respond(&self, req: &Request) -> ResponseTemplate {
        if !merchant_signed(req) {
            return ResponseTemplate::new(401).set_body_json(json!({"code": "SIGN_ERROR", "message": "bad signature"}));
        }
        if let Ok(mut b) = self.bodies.lock() {
            b.push(String::from_utf8_lossy(&req.body).into_owned());
        }
        signed_empty(204)
    }
}

/// Handles on the mounted fakes.
pub struct Fakes {
    /// JSAPI prepay calls so far.
    pub prepays: Arc<AtomicUsize>,
    pub alipay_trades: AlipayTrades,
    /// Bodies of WeChat Pay pre-sign requests.
    pub presigns: Calls,
    /// Contract codes WeChat Pay was asked to terminate.
    pub terminations: Calls,
    /// Agreement numbers Alipay was asked to unsign.
    pub unsigns: Calls,
    /// Bodies of WeChat Pay deduct requests.
    pub applies: Calls,
    /// Orders Alipay was asked to debit (`alipay.trade.pay`).
    pub alipay_debits: Calls,
}

/// Mounts the fake gateways.
pub async fn mount(server: &MockServer) -> Fakes {
    let prepays = Arc::new(AtomicUsize::new(0));
    let alipay_trades = AlipayTrades::default();
    let (presigns, terminations, unsigns) = (Calls::default(), Calls::default(), Calls::default());
    let (applies, alipay_debits) = (Calls::default(), Calls::default());
    Mock::given(method("POST"))
        .and(path("/v3/papay/pay/transactions/apply"))
        .respond_with(Apply {
            bodies: applies.clone(),
        })
        .mount(server)
        .await;
    Mock::given(method("POST"))
        .and(path(
            "/v3/papay/scheduled-deduct-sign/contracts/pre-entrust-sign/mini-program",
        ))
        .respond_with(PreSign {
            bodies: presigns.clone(),
        })
        .mount(server)
        .await;
    Mock::given(method("POST"))
        .and(path_regex(format!(
            "^/v3/papay/sign/contracts/plan-id/{PLAN_ID}/out-contract-code/[A-Za-z0-9]+/terminate$"
        )))
        .respond_with(Terminate {
            codes: terminations.clone(),
        })
        .mount(server)
        .await;
    Mock::given(method("POST"))
        .and(path("/v3/pay/transactions/jsapi"))
        .respond_with(Prepay { calls: prepays.clone() })
        .mount(server)
        .await;
    Mock::given(method("POST"))
        .and(path("/v3/refund/domestic/refunds"))
        .respond_with(WxRefund)
        .mount(server)
        .await;
    Mock::given(method("POST"))
        .and(path_regex("^/v3/pay/transactions/out-trade-no/[A-Za-z0-9]+/close$"))
        .respond_with(WxClose)
        .mount(server)
        .await;
    Mock::given(method("POST"))
        .and(path("/gateway.do"))
        .respond_with(AlipayFake {
            trades: alipay_trades.clone(),
            unsigns: unsigns.clone(),
            debits: alipay_debits.clone(),
        })
        .mount(server)
        .await;
    Fakes {
        prepays,
        alipay_trades,
        presigns,
        terminations,
        unsigns,
        applies,
        alipay_debits,
    }
}

/// WeChat Pay answers a query for `out_trade_no` with `tx` (signed).
pub async fn wechat_query_answers(server: &MockServer, out_trade_no: &str, tx: Value) {
    Mock::given(method("GET"))
        .and(path_regex(format!(
            "^/v3/pay/transactions/out-trade-no/{out_trade_no}$"
        )))
        .respond_with(signed_answer(200, &tx))
        .mount(server)
        .await;
}

/// A WeChat Pay notification for `tx`, encrypted with the APIv3 key and signed by `signer` at `ts`.
pub fn wechat_notification(
    tx: &Value,
    ts: i64,
    signer: &SigningKey<Sha256>,
    serial: &str,
) -> (Vec<(String, String)>, String) {
    wechat_event("TRANSACTION.SUCCESS", tx, ts, signer, serial)
}

/// Any WeChat Pay event (`TRANSACTION.SUCCESS`, `REFUND.SUCCESS`, …) with `resource` encrypted.
pub fn wechat_event(
    event_type: &str,
    tx: &Value,
    ts: i64,
    signer: &SigningKey<Sha256>,
    serial: &str,
) -> (Vec<(String, String)>, String) {
    let id = format!(
        "EV-{}",
        tx["transaction_id"]
            .as_str()
            .or(tx["out_refund_no"].as_str())
            .unwrap_or("x")
    );
    wechat_event_text(event_type, &id, &tx.to_string(), ts, signer, serial)
}

/// A WeChat Pay event whose resource is exactly `plaintext` (e.g. JSON with a repeated key).
pub fn wechat_event_text(
    event_type: &str,
    id: &str,
    plaintext: &str,
    ts: i64,
    signer: &SigningKey<Sha256>,
    serial: &str,
) -> (Vec<(String, String)>, String) {
    use ring::aead;
    let nonce = "0123456789ab";
    let aad = "transaction";
    let key = aead::LessSafeKey::new(aead::UnboundKey::new(&aead::AES_256_GCM, APIV3_KEY.as_bytes()).expect("key"));
    let mut data = plaintext.as_bytes().to_vec();
    key.seal_in_place_append_tag(
        aead::Nonce::try_assume_unique_for_key(nonce.as_bytes()).expect("nonce"),
        aead::Aad::from(aad.as_bytes()),
        &mut data,
    )
    .expect("seal");
    let body = json!({
        "id": id,
        "create_time": "2026-10-20T10:00:00+08:00",
        "resource_type": "encrypt-resource",
        "event_type": event_type,
        "summary": "支付成功",
        "resource": {"original_type": "transaction", "algorithm": "AEAD_AES_256_GCM", "ciphertext": STANDARD.encode(&data), "associated_data": aad, "nonce": nonce}
    })
    .to_string();
    let n = "notifynonce42";
    let sig = sign(signer, format!("{ts}\n{n}\n{body}\n").as_bytes());
    let headers = vec![
        ("Wechatpay-Timestamp".to_string(), ts.to_string()),
        ("Wechatpay-Nonce".to_string(), n.to_string()),
        ("Wechatpay-Serial".to_string(), serial.to_string()),
        ("Wechatpay-Signature".to_string(), sig),
        (
            "Wechatpay-Signature-Type".to_string(),
            "WECHATPAY2-SHA256-RSA2048".to_string(),
        ),
    ];
    (headers, body)
}

/// The decrypted transaction of a successful payment.
pub fn transaction(out_trade_no: &str, total: i64, transaction_id: &str) -> Value {
    json!({
        "appid": crate::helpers::APPID, "mchid": MCHID, "out_trade_no": out_trade_no, "transaction_id": transaction_id,
        "trade_type": "JSAPI", "trade_state": "SUCCESS", "success_time": "2026-10-20T10:05:00+08:00",
        "payer": {"openid": "openid-x"}, "amount": {"total": total, "payer_total": total, "currency": "CNY"}
    })
}

/// An Alipay notification form signed by the Alipay key (or by `other` to forge one).
pub fn alipay_notification(fields: &[(&str, &str)], forge: bool) -> String {
    let mut pairs: Vec<(String, String)> = fields.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
    pairs.sort();
    let signing = pairs
        .iter()
        .filter(|(_, v)| !v.is_empty())
        .map(|(k, v)| format!("{k}={v}"))
        .collect::<Vec<_>>()
        .join("&");
    let key = if forge { merchant_signer() } else { alipay_signer() };
    let sig = sign(&key, signing.as_bytes());
    let mut ser = url::form_urlencoded::Serializer::new(String::new());
    for (k, v) in &pairs {
        ser.append_pair(k, v);
    }
    ser.append_pair("sign_type", "RSA2");
    ser.append_pair("sign", &sig);
    ser.finish()
}
