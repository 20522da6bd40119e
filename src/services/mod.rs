//! Use cases. Database transactions live here; routes stay thin and domain stays pure.
pub mod audit;
pub mod billing;
pub mod bills;
pub mod cache;
pub mod demo;
pub mod fee_items;
pub mod identity;
pub mod import;
pub mod owners;
pub mod payments;
pub mod rate_limit;
pub mod refunds;
pub mod sessions;
pub mod setup;
pub mod staff;
