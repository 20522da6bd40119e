//! Billing: what owners owe. Fee items and their prices, billing runs, the bill views owners and
//! staff read (with exact late fees), and the ledger — the only code that writes bills and their
//! entries.
pub mod bills;
pub mod corrections;
pub mod fee_items;
pub mod ledger;
pub mod owner;
pub mod rollup;
pub mod runs;
pub mod staff;
mod statements;
