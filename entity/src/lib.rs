//! sea-orm entities: the shape of wuye's tables, no business logic.
//! Money columns are integer fen, areas hundredths of m², rates decimal strings.
pub mod audit_log;
pub mod bill;
pub mod bill_entry;
pub mod billing_run;
pub mod community;
pub mod consent;
pub mod fee_item;
pub mod fee_item_price;
pub mod gateway_notification;
pub mod owner;
pub mod owner_account;
pub mod payment;
pub mod payment_exception;
pub mod payment_line;
pub mod pii_access_log;
pub mod refund;
pub mod staff_community;
pub mod staff_user;
pub mod unit;
pub mod unit_owner;
