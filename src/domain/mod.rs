//! Pure domain types and rules: no I/O. Request data becomes one of these or a 422.
pub mod answers;
pub mod billing;
pub mod dated;
pub mod debits;
pub mod hardship;
pub mod images;
pub mod installments;
pub mod late_fee;
pub mod money;
pub mod period;
pub mod phone;
pub mod points;
pub mod reminders;
pub mod reports;
pub mod risk;
pub mod role;
pub mod rollup;
pub mod sla;
pub mod states;
pub mod suppression;
pub mod text;
pub mod tickets;
pub mod transparency;
pub mod vacancy;

pub use money::{Area, Fen};
pub use phone::Phone;
pub use role::Role;
