//! Everything a request handler can reach, built once per process and shared by all workers.
use crate::clock::SharedClock;
use crate::config::Settings;
use crate::crypto::DataCipher;
use crate::gateways::wechat::WechatClient;
use crate::store::Store;
use chrono::NaiveDate;
use sea_orm::DatabaseConnection;
use std::sync::Arc;

/// Shared application state (`web::Data<AppState>`).
#[derive(Clone)]
pub struct AppState {
    pub db: DatabaseConnection,
    pub store: Store,
    pub clock: SharedClock,
    pub cipher: Arc<DataCipher>,
    pub wechat: WechatClient,
    pub settings: Arc<Settings>,
    pub tz: chrono_tz::Tz,
}

impl AppState {
    /// Today's date in the company's default zone (communities' dates are local).
    pub fn today(&self) -> NaiveDate {
        self.clock.now().with_timezone(&self.tz).date_naive()
    }
}
