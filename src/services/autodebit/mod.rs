//! Auto-debit (issue #16): owners' mandates — WeChat Pay contracts, Alipay agreements and bank
//! accounts — signed, cancelled and ended at the gateway, with every change on the units' evidence
//! chains. Debits credit through the payments context's exactly-once path.
pub mod bank;
pub mod debits;
pub mod mandates;
pub mod outcomes;
pub mod overview;
pub mod send;
pub mod terminations;
