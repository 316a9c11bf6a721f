//! scamtrail's storage: the one place that speaks SQL, on SQLite (the embedded default) and
//! PostgreSQL, with the same sea-orm code and the same migrations.
//!
//! Writes go through a single writer task ([`writer`]) that takes reports in batches, one
//! transaction per batch (group commit), and answers each caller only after the commit that holds
//! its report. Reads go straight to the connection pool ([`reads`]).
//!
//! This crate knows nothing of gRPC: it takes and returns `scamtrail-core` types, and its errors
//! are [`StoreError`], which the server maps to status codes.

mod connect;
mod entity;
mod reads;
mod rows;
mod writer;

use scamtrail_core::{NewReport, Reference, StoredReport, UnixMicros};
use sea_orm::DatabaseConnection;
use tokio::sync::{mpsc, oneshot};

pub use connect::StoreConfig;

/// What can go wrong in the store.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The database refused or failed.
    #[error("database error: {0}")]
    Database(#[from] sea_orm::DbErr),
    /// The writer task has stopped (the server is shutting down).
    #[error("the store is shutting down")]
    Closed,
    /// A stored row holds a value this version cannot read.
    #[error("stored data is not readable: {0}")]
    Corrupt(String),
}

/// The answer to a submitted report.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Submitted {
    /// The report's id.
    pub report_id: i64,
    /// Its human reference.
    pub reference: Reference,
    /// When it was first received.
    pub received_at: UnixMicros,
    /// True when the client request id was known and this is the first report's answer.
    pub replayed: bool,
}

/// A handle on the database: cheap to clone, shared by every service.
#[derive(Clone)]
pub struct Store {
    db: DatabaseConnection,
    writer: mpsc::Sender<writer::Job>,
}

impl Store {
    /// Connects, applies pending migrations, and starts the writer task.
    pub async fn open(config: &StoreConfig) -> Result<Self, StoreError> {
        let db = connect::connect(config).await?;
        connect::migrate(&db).await?;
        let writer = writer::spawn(db.clone(), config.max_batch);
        Ok(Self { db, writer })
    }

    /// Stores a report durably; answers after the commit that holds it.
    /// A known `client_request_id` answers with the first report instead.
    pub async fn submit(&self, report: NewReport) -> Result<Submitted, StoreError> {
        let (reply, answer) = oneshot::channel();
        self.writer.send(writer::Job { report, reply }).await.map_err(|_| StoreError::Closed)?;
        answer.await.map_err(|_| StoreError::Closed)?
    }

    /// Reads one report by id.
    pub async fn report_by_id(&self, id: i64) -> Result<Option<StoredReport>, StoreError> {
        reads::report_by_id(&self.db, id).await
    }

    /// Reads one report by its human reference.
    pub async fn report_by_reference(&self, reference: &Reference) -> Result<Option<StoredReport>, StoreError> {
        reads::report_by_reference(&self.db, reference).await
    }

    /// Connects and applies pending migrations, without starting a writer (`scamtrail migrate`).
    pub async fn migrate(config: &StoreConfig) -> Result<(), StoreError> {
        let db = connect::connect(config).await?;
        connect::migrate(&db).await?;
        db.close().await?;
        Ok(())
    }

    /// Checks that the database answers (for health probes).
    pub async fn ping(&self) -> Result<(), StoreError> {
        Ok(self.db.ping().await?)
    }
}
