//! Ways out of arrears (issue #17): installment plans (分期协议) so far; hardship relief and
//! vacant-unit discounts are to join them. Their bill changes go through the ledger.
pub mod installments;
