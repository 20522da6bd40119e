//! Use cases, grouped by the context that owns them. Database transactions live here; routes stay
//! thin and domain stays pure. Contexts depend downwards only: access ← setup ← billing ←
//! payments, collection (collection reads billing's views; payments credit through billing's
//! ledger); `cache`, `audit` and `demo` serve them all.
pub mod access;
pub mod audit;
pub mod billing;
pub mod cache;
pub mod collection;
pub mod demo;
pub mod payments;
pub mod setup;
