//! Everything a request handler can reach, built once per process and shared by all workers.
use crate::clock::SharedClock;
use crate::config::Settings;
use crate::crypto::DataCipher;
use crate::gateways::wechat::WechatClient;
use crate::store::Store;
use chrono::NaiveDate;
use sea_orm::DatabaseConnection;
use std::collections::HashMap;
use std::sync::{Arc, RwLock};

/// Shared application state (`web::Data<AppState>`).
#[derive(Clone)]
pub struct AppState {
    pub db: DatabaseConnection,
    pub store: Store,
    pub clock: SharedClock,
    pub cipher: Arc<DataCipher>,
    pub wechat: WechatClient,
    /// `None` while the channel is not configured.
    pub wechatpay: Option<Arc<crate::gateways::wechatpay::WechatPay>>,
    pub alipay: Option<Arc<crate::gateways::alipay::Alipay>>,
    pub sms: Option<Arc<crate::gateways::sms::SmsClient>>,
    /// The demo's payment sandbox (`serve --demo` only).
    pub sandbox: Option<Arc<crate::gateways::sandbox::Sandbox>>,
    /// Where this process is reached (`server.public_url`, else its own address): for links.
    pub base_url: String,
    pub settings: Arc<Settings>,
    pub tz: chrono_tz::Tz,
    /// Communities' time zones (they never change), so hot paths need no query.
    pub zones: Arc<RwLock<HashMap<i32, chrono_tz::Tz>>>,
    /// Cache entry → the dependency keys it was last seen to use (names only; see `cache::Prefetched`).
    pub dep_hints: Arc<RwLock<HashMap<String, Arc<Vec<String>>>>>,
    /// Owner look-ups answered from the cache and computed, since the process started.
    pub cache_stats: Arc<crate::services::cache::Stats>,
    /// Dated late-fee terms as last read (see `billing::bills::TermsMemo`).
    pub dated_terms: Arc<crate::services::billing::bills::TermsMemo>,
}

impl AppState {
    /// Today's date in the company's default zone (communities' dates are local).
    pub fn today(&self) -> NaiveDate {
        self.today_in(self.tz)
    }

    /// Today's date in `tz`.
    pub fn today_in(&self, tz: chrono_tz::Tz) -> NaiveDate {
        self.clock.now().with_timezone(&tz).date_naive()
    }

    /// A community's time zone from its row: the one parse rule (setup refuses an unknown zone,
    /// so the company default only guards rows written by hand).
    pub fn zone_of(&self, c: &entity::community::Model) -> chrono_tz::Tz {
        c.timezone.parse().unwrap_or(self.tz)
    }

    /// A community's time zone if already loaded (no I/O).
    pub fn known_zone(&self, community_id: i32) -> Option<chrono_tz::Tz> {
        self.zones.read().ok().and_then(|m| m.get(&community_id).copied())
    }

    /// A community's time zone (the company default if it is unknown).
    pub async fn community_tz(&self, community_id: i32) -> Result<chrono_tz::Tz, crate::error::ApiError> {
        self.community_tz_on(&self.db, community_id).await
    }

    /// The same, reading through `db`: inside a transaction pass the transaction, so a burst of
    /// requests never needs two pooled connections each (which can exhaust the pool).
    pub async fn community_tz_on<C: sea_orm::ConnectionTrait>(
        &self,
        db: &C,
        community_id: i32,
    ) -> Result<chrono_tz::Tz, crate::error::ApiError> {
        use sea_orm::EntityTrait;
        if let Some(tz) = self.known_zone(community_id) {
            return Ok(tz);
        }
        let tz = entity::community::Entity::find_by_id(community_id)
            .one(db)
            .await?
            .map_or(self.tz, |c| self.zone_of(&c));
        if let Ok(mut m) = self.zones.write() {
            m.insert(community_id, tz);
        }
        Ok(tz)
    }
}
