//! Outbound clients, one module per provider: typed requests/answers, base URL from config.
pub mod alipay;
pub mod rsa_keys;
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
