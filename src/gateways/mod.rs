//! Outbound clients, one module per provider: typed requests/answers, base URL from config.
pub mod alipay;
pub mod events;
pub mod rsa_keys;
pub mod sandbox;
pub mod sms;
pub mod strict;
pub mod wechat;
pub mod wechatpay;

/// One HTTP client for all gateways: rustls with ring, bounded timeouts.
pub fn http_client() -> Result<reqwest::Client, reqwest::Error> {
    // reqwest is built without a default TLS provider: install ring's (idempotent).
    let _ = rustls::crypto::ring::default_provider().install_default();
    reqwest::Client::builder()
        .connect_timeout(std::time::Duration::from_secs(3))
        .timeout(std::time::Duration::from_secs(5))
        .build()
}

/// Builds the WeChat Pay client when `wechatpay.*` is fully configured (keys are read now, so a
/// bad key file stops start-up instead of the first payment).
pub fn wechatpay_from(
    s: &crate::config::Settings,
    http: reqwest::Client,
    clock: crate::clock::SharedClock,
) -> anyhow::Result<Option<wechatpay::WechatPay>> {
    use secrecy::ExposeSecret;
    let w = &s.wechatpay;
    // An empty value (e.g. `WUYE__WECHATPAY__MCHID=`) switches the channel off like an absent one.
    if w.mchid.as_deref().is_none_or(str::is_empty) {
        return Ok(None);
    }
    let (Some(mchid), Some(key), Some(serial), Some(priv_path), Some(pub_path), Some(key_id), Some(notify)) = (
        &w.mchid,
        &w.apiv3_key,
        &w.merchant_serial_no,
        &w.merchant_private_key_path,
        &w.platform_public_key_path,
        &w.platform_public_key_id,
        &w.notify_url,
    ) else {
        return Ok(None);
    };
    let apiv3_key = key.expose_secret().as_bytes().to_vec();
    if apiv3_key.len() != 32 {
        anyhow::bail!("wechatpay.apiv3_key must be 32 characters");
    }
    let appid = w
        .appid
        .clone()
        .or_else(|| s.wechat.appid.clone())
        .ok_or_else(|| anyhow::anyhow!("wechatpay.appid"))?;
    let cfg = wechatpay::WechatPayConfig {
        api_base: w.api_base.clone(),
        mchid: mchid.clone(),
        appid,
        apiv3_key,
        merchant_serial_no: serial.clone(),
        signer: rsa_keys::Signer::from_file(priv_path)?,
        platform: rsa_keys::Verifier::from_file(pub_path)?,
        platform_public_key_id: key_id.clone(),
        notify_url: notify.clone(),
        papay: w
            .papay_plan_id
            .as_ref()
            .filter(|p| !p.is_empty())
            .map(|plan| wechatpay::PapayConfig {
                plan_id: plan.clone(),
                contract_notify_url: w.papay_contract_notify_url.clone().unwrap_or_else(|| notify.clone()),
                presign_path: w.papay_presign_path.clone(),
                terminate_path: w.papay_terminate_path.clone(),
                apply_path: w.papay_apply_path.clone(),
            }),
    };
    Ok(Some(wechatpay::WechatPay::new(http, cfg, clock)))
}

/// Builds the Alipay client when `alipay.*` is configured.
pub fn alipay_from(
    s: &crate::config::Settings,
    http: reqwest::Client,
    clock: crate::clock::SharedClock,
) -> anyhow::Result<Option<alipay::Alipay>> {
    let a = &s.alipay;
    if a.app_id.as_deref().is_none_or(str::is_empty) {
        return Ok(None);
    }
    let (Some(app_id), Some(priv_path), Some(pub_path), Some(notify)) =
        (&a.app_id, &a.private_key_path, &a.alipay_public_key_path, &a.notify_url)
    else {
        return Ok(None);
    };
    let cfg = alipay::AlipayConfig {
        gateway_url: a.gateway_url.clone(),
        app_id: app_id.clone(),
        signer: rsa_keys::Signer::from_file(priv_path)?,
        alipay_public: rsa_keys::Verifier::from_file(pub_path)?,
        notify_url: notify.clone(),
        seller_id: a.seller_id.clone(),
        agreement: alipay::AgreementCodes {
            product_code: a.agreement_product_code.clone(),
            personal_product_code: a.agreement_personal_product_code.clone(),
            sign_scene: a.agreement_sign_scene.clone(),
        },
    };
    Ok(Some(alipay::Alipay::new(http, cfg, clock)))
}
