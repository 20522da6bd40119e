//! Database connection, migrations and write transactions on either backend.
use sea_orm::{
    ConnectOptions, ConnectionTrait, Database, DatabaseConnection, DatabaseTransaction, DbErr, SqliteTransactionMode,
    TransactionOptions, TransactionTrait,
};
use std::time::Duration;

/// Connects to `url`, creating a SQLite file's parent folder first (API.md: `database.url`).
pub async fn connect(url: &str, max_connections: u32, acquire_timeout: Duration) -> Result<DatabaseConnection, DbErr> {
    if let Some(path) = sqlite_path(url) {
        if let Some(parent) = std::path::Path::new(&path).parent() {
            if !parent.as_os_str().is_empty() {
                std::fs::create_dir_all(parent)
                    .map_err(|e| DbErr::Custom(format!("cannot create {}: {e}", parent.display())))?;
            }
        }
    }
    let mut opts = ConnectOptions::new(url.to_string());
    opts.max_connections(max_connections)
        .min_connections(1)
        .connect_timeout(Duration::from_secs(5))
        // Requests wait at most this long for a connection, then answer 503 (database.acquire_timeout_ms).
        .acquire_timeout(acquire_timeout)
        .sqlx_logging(false);
    // SQLite: wait for the writer instead of failing with SQLITE_BUSY; WAL lets readers run alongside.
    opts.map_sqlx_sqlite_opts(|o| {
        o.busy_timeout(Duration::from_secs(10))
            .journal_mode(sea_orm::sqlx::sqlite::SqliteJournalMode::Wal)
            .synchronous(sea_orm::sqlx::sqlite::SqliteSynchronous::Normal)
            .foreign_keys(true)
    });
    // A slow start (a busy machine, a database still coming up) is waited out for a few seconds
    // instead of failing start-up on the first timed-out acquire.
    let mut tries = 0;
    loop {
        match Database::connect(opts.clone()).await {
            Err(DbErr::Conn(_) | DbErr::ConnectionAcquire(_)) if tries < 4 => {
                tries += 1;
                tokio::time::sleep(Duration::from_millis(500)).await;
            }
            done => return done,
        }
    }
}

/// The file path inside a `sqlite://path?…` URL, if it names a file.
pub fn sqlite_path(url: &str) -> Option<String> {
    let rest = url.strip_prefix("sqlite://").or_else(|| url.strip_prefix("sqlite:"))?;
    let path = rest.split('?').next().unwrap_or_default();
    (!path.is_empty() && path != ":memory:").then(|| path.to_string())
}

/// Runs every pending migration, then fills what a migration added that is derived from existing
/// rows (the collection rollup).
pub async fn migrate(db: &DatabaseConnection) -> anyhow::Result<()> {
    use migration::MigratorTrait;
    migration::Migrator::up(db, None).await?;
    crate::services::billing::rollup::backfill(db)
        .await
        .map_err(|e| anyhow::anyhow!("building the collection rollup: {e:?}"))
}

/// Begins a write transaction: IMMEDIATE on SQLite, so concurrent read-then-write transactions
/// queue on the busy timeout instead of failing.
pub async fn begin_write(db: &DatabaseConnection) -> Result<DatabaseTransaction, DbErr> {
    db.begin_with_options(TransactionOptions {
        sqlite_transaction_mode: Some(SqliteTransactionMode::Immediate),
        ..Default::default()
    })
    .await
}

/// `/readyz` probe.
pub async fn ping(db: &DatabaseConnection) -> Result<(), DbErr> {
    db.execute_unprepared("SELECT 1").await.map(|_| ())
}

/// A raw statement with `$n` placeholders, rewritten to `?n` for SQLite (both are positional).
pub fn positional<C: sea_orm::ConnectionTrait>(db: &C, sql: &str, values: Vec<sea_orm::Value>) -> sea_orm::Statement {
    let backend = db.get_database_backend();
    let sql = match backend {
        sea_orm::DatabaseBackend::Sqlite => sql.replace('$', "?"),
        _ => sql.to_string(),
    };
    sea_orm::Statement::from_sql_and_values(backend, sql, values)
}
