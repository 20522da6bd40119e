//! Payments: orders that freeze what they pay, gateway events verified and recorded, crediting
//! bills exactly once (through the ledger) whatever the gateways repeat, reorder or send
//! concurrently, counter payments, refunds, reconciliation, receipts and the staff views.
pub mod counter;
pub mod crediting;
pub mod notifications;
pub mod orders;
pub mod receipts;
pub mod reconcile;
pub mod refunds;
pub mod rejections;
pub mod sandbox;
pub mod views;
