//! The one integration-test binary: the real app over HTTP, per area.
#![allow(clippy::unwrap_used, clippy::expect_used)]
mod bills;
mod config;
mod errors;
mod fake_pay;
mod health;
mod helpers;
mod identity;
mod imports;
mod openapi;
mod outage;
mod payments;
mod pii;
mod reminders;
mod sessions;
mod setup;
mod staff_users;
