//! Reports: read-only views across billing, payments and tickets for staff (collection rates,
//! service quality). Nothing here writes.
pub mod collection;
pub mod points;
pub mod reminder_timing;
pub mod service;
pub mod watch_list;
