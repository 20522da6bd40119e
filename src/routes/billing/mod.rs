//! Billing: the owner's bills, arrears and prepayment quotes; staff fee items, runs and bill corrections.
pub mod owner;
pub mod staff;
