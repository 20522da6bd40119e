//! Setup: communities and their late-fee terms, units and transfers, owners, CSV imports.
pub mod communities;
pub mod imports;
pub mod owners;
pub mod units;
