//! Ways out of arrears (issue #17): installment plans (分期协议) — the request and decision
//! (`installments`), then the plan in force (`keeping`: acceptance, completion, default); hardship
//! relief and vacant-unit discounts are to join them. Their bill changes go through the ledger.
pub mod hardship;
pub mod installments;
pub mod keeping;
pub mod vacancy;
