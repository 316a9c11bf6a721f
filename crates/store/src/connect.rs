//! Connecting to SQLite or PostgreSQL from a URL, with the settings that make commits durable.

use std::time::Duration;

use scamtrail_migration::{Migrator, MigratorTrait};
use sea_orm::sqlx::sqlite::{SqliteJournalMode, SqliteSynchronous};
use sea_orm::{ConnectOptions, Database, DatabaseConnection, DbErr};

/// How to reach the database.
#[derive(Debug, Clone)]
pub struct StoreConfig {
    /// `sqlite://path/to/file.db` or `postgres://user@host:port/db`.
    pub database_url: String,
    /// Connections in the pool.
    pub max_connections: u32,
    /// Reports the writer takes into one transaction at most.
    pub max_batch: usize,
    /// How clusters are valued, and when an identifier is hot.
    pub clusters: crate::ClusterConfig,
    /// How often clusters whose priority changes with time are rescored.
    pub rescore_interval: Duration,
}

impl StoreConfig {
    /// A configuration with default pool and batch sizes for a URL.
    pub fn new(database_url: impl Into<String>) -> Self {
        Self {
            database_url: database_url.into(),
            max_connections: 16,
            max_batch: 256,
            clusters: crate::ClusterConfig::default(),
            rescore_interval: Duration::from_secs(30),
        }
    }
}

/// Opens a pool. SQLite files are created if missing and run in WAL mode with
/// `synchronous=FULL`, so an acknowledged commit survives power loss, not only a crash.
pub(crate) async fn connect(config: &StoreConfig) -> Result<DatabaseConnection, DbErr> {
    let mut options = ConnectOptions::new(config.database_url.clone());
    options
        .max_connections(config.max_connections)
        .connect_timeout(Duration::from_secs(10))
        .sqlx_logging(false)
        .map_sqlx_sqlite_opts(|o| {
            o.create_if_missing(true)
                .journal_mode(SqliteJournalMode::Wal)
                .synchronous(SqliteSynchronous::Full)
                .busy_timeout(Duration::from_secs(10))
                .foreign_keys(true)
        });
    Database::connect(options).await
}

/// Applies every pending migration.
pub(crate) async fn migrate(db: &DatabaseConnection) -> Result<(), DbErr> {
    Migrator::up(db, None).await
}
