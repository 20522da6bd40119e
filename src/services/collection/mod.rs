//! Collection: getting overdue bills paid, politely and on the record. Reminder policy and passes,
//! printed notices, staff holds, tasks and contacts, the hash-chained evidence archive, case files
//! and limitation, and the privacy-safe public arrears notice.
pub mod arrears_notice;
pub mod casefile;
pub mod context;
pub mod evidence;
pub mod holds;
pub mod notices;
pub mod preferences;
pub mod reminders;
pub mod suppressed;
pub mod tasks;
