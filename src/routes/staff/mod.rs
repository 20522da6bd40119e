//! Staff API: setup of communities, units, owners, imports and staff users.
pub mod billing;
pub mod communities;
pub mod imports;
pub mod owners;
pub mod reminders;
pub mod staff_users;
pub mod units;
