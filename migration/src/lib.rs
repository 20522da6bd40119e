//! Schema migrations for wuye. They run at start-up and through `wuye migrate`.
//!
//! Both backends (SQLite and PostgreSQL) run the same migrations, so each one only creates tables
//! and indexes or adds nullable columns: SQLite cannot alter or drop columns.
pub use sea_orm_migration::prelude::*;

mod m20261127_000001_foundation;
mod m20261127_000002_billing;
mod m20261127_000003_payments;
mod m20261127_000004_refunds;
mod m20261127_000005_reminders;
mod m20261130_000006_security;
mod m20261130_000007_dated_terms;
mod m20261130_000008_notices;
mod m20261130_000009_sessions;
mod m20261130_000010_rollup;
mod m20261130_000011_day_indexes;
mod m20261130_000012_uploads;
mod m20261130_000013_inbox;
mod m20261130_000014_jobs;
mod m20261201_000015_tickets;
mod m20261201_000016_ticket_adjustments;
mod m20261201_000017_points;
mod m20261201_000018_rewards;
mod m20261201_000019_points_fees;
mod m20261201_000020_autodebit_mandates;
mod m20261201_000021_autodebit_debits;
mod m20261201_000022_installment_plans;
mod m20261201_000023_rescheduled_bills;
mod m20261201_000024_hardship_cases;
mod m20261201_000025_vacancy;
mod m20261201_000026_arrears_notice;
mod m20261201_000027_finance_reports;
mod m20261201_000028_reminder_hours;

/// An index on `table(cols…)`, shared by the migrations.
pub(crate) fn idx(
    name: &'static str,
    table: &'static str,
    cols: &[&'static str],
    unique: bool,
) -> IndexCreateStatement {
    let mut i = Index::create();
    i.name(name).table(table);
    for c in cols {
        i.col(*c);
    }
    if unique {
        i.unique();
    }
    i.to_owned()
}

/// The ordered list of migrations.
pub struct Migrator;

#[async_trait::async_trait]
impl MigratorTrait for Migrator {
    fn migrations() -> Vec<Box<dyn MigrationTrait>> {
        vec![
            Box::new(m20261127_000001_foundation::Migration),
            Box::new(m20261127_000002_billing::Migration),
            Box::new(m20261127_000003_payments::Migration),
            Box::new(m20261127_000004_refunds::Migration),
            Box::new(m20261127_000005_reminders::Migration),
            Box::new(m20261130_000006_security::Migration),
            Box::new(m20261130_000007_dated_terms::Migration),
            Box::new(m20261130_000008_notices::Migration),
            Box::new(m20261130_000009_sessions::Migration),
            Box::new(m20261130_000010_rollup::Migration),
            Box::new(m20261130_000011_day_indexes::Migration),
            Box::new(m20261130_000012_uploads::Migration),
            Box::new(m20261130_000013_inbox::Migration),
            Box::new(m20261130_000014_jobs::Migration),
            Box::new(m20261201_000015_tickets::Migration),
            Box::new(m20261201_000016_ticket_adjustments::Migration),
            Box::new(m20261201_000017_points::Migration),
            Box::new(m20261201_000018_rewards::Migration),
            Box::new(m20261201_000019_points_fees::Migration),
            Box::new(m20261201_000020_autodebit_mandates::Migration),
            Box::new(m20261201_000021_autodebit_debits::Migration),
            Box::new(m20261201_000022_installment_plans::Migration),
            Box::new(m20261201_000023_rescheduled_bills::Migration),
            Box::new(m20261201_000024_hardship_cases::Migration),
            Box::new(m20261201_000025_vacancy::Migration),
            Box::new(m20261201_000026_arrears_notice::Migration),
            Box::new(m20261201_000027_finance_reports::Migration),
            Box::new(m20261201_000028_reminder_hours::Migration),
        ]
    }
}
