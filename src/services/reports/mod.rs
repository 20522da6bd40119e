//! Reports: read-only views across billing and payments for staff (collection rates now; service
//! and arrears-notice reports later). Nothing here writes.
pub mod collection;
