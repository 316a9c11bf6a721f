//! Where reads run: sea-orm's pool (PostgreSQL, and an in-memory SQLite database), or, for a
//! SQLite file, rusqlite connections of the store's own, stepped on the calling task's thread.
//!
//! Why a second SQLite driver for reads: sqlx runs each SQLite connection on a worker thread and
//! hands every statement, and every row of its answer, across a channel to it. On two cores a
//! lookup or a queue page spent more time in those hand-offs (futex waits, context switches) than
//! in SQLite (BENCHMARKS.md). The reads routed here are index probes bounded by their caller (a
//! page of a queue, a lookup batch, one cluster), so they are stepped where they are asked for,
//! on a connection taken from a small pool, with prepared statements cached per connection.
//! The single writer has a connection of its own for the same reason ([`super::tx`]); other
//! writes stay on sea-orm.
//!
//! The same SQL text (with `?` placeholders) and the same row types serve both executors, so a
//! read is written once.

use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use sea_orm::{ConnectionTrait, DatabaseConnection, DbErr, Value};

use super::row::{FromRow, lite_params, step_rows};
use super::settings;
use super::statement::statement;

/// Read-only connections kept open for reuse at most (more are opened under load, then closed).
const IDLE_MAX: usize = 8;
/// Prepared statements each connection keeps.
const STATEMENT_CACHE: usize = 64;

/// Runs read queries on one of the two executors.
#[derive(Clone)]
pub(crate) enum Reader {
    /// The connection pool.
    Pool(DatabaseConnection),
    /// The store's own read-only connections to a SQLite file.
    Own(Arc<SqliteReads>),
}

impl Reader {
    /// The reader for `db`: the store's own connections to `file` when it is a SQLite file, else
    /// `db`'s pool.
    pub(crate) fn new(db: &DatabaseConnection, file: Option<PathBuf>) -> Self {
        match file {
            Some(path) => Reader::Own(Arc::new(SqliteReads { path, idle: Mutex::new(Vec::new()) })),
            None => Reader::Pool(db.clone()),
        }
    }

    /// The rows of a read query (`?` placeholders), as `T`. On a SQLite file the query is stepped
    /// on the calling thread: only for reads the caller bounds (a page, a batch of keys).
    pub(crate) async fn fetch<T: FromRow>(&self, sql: &str, values: Vec<Value>) -> Result<Vec<T>, DbErr> {
        match self {
            Reader::Pool(db) => pool_fetch(db, sql, values).await,
            Reader::Own(reads) => reads.fetch(sql, &values),
        }
    }

    /// As [`Reader::fetch`], for reads whose size grows with the data (every edge of a cluster,
    /// every payment of a widely reported identifier): on a SQLite file they run on the blocking
    /// pool, so that they never hold up the calls sharing the caller's thread.
    pub(crate) async fn fetch_unbounded<T: FromRow + Send + 'static>(
        &self,
        sql: String,
        values: Vec<Value>,
    ) -> Result<Vec<T>, DbErr> {
        match self {
            Reader::Pool(_) => self.fetch(&sql, values).await,
            Reader::Own(reads) => {
                let reads = reads.clone();
                tokio::task::spawn_blocking(move || reads.fetch(&sql, &values))
                    .await
                    .map_err(|e| DbErr::Custom(format!("sqlite read: {e}")))?
            }
        }
    }
}

/// The rows of a query (`?` placeholders) on the pool, as `T`.
pub(crate) async fn pool_fetch<T: FromRow>(
    db: &impl ConnectionTrait,
    sql: &str,
    values: Vec<Value>,
) -> Result<Vec<T>, DbErr> {
    db.query_all_raw(statement(db.get_database_backend(), sql, values)).await?.iter().map(T::from_orm).collect()
}

/// The file of a SQLite database; `None` for PostgreSQL and in-memory SQLite.
pub(crate) async fn sqlite_file(db: &DatabaseConnection) -> Result<Option<PathBuf>, DbErr> {
    if db.get_database_backend() != sea_orm::DbBackend::Sqlite {
        return Ok(None);
    }
    let rows: Vec<(String,)> =
        pool_fetch(db, "SELECT file FROM pragma_database_list WHERE name = 'main'", vec![]).await?;
    Ok(rows.into_iter().next().map(|(f,)| f).filter(|f| !f.is_empty()).map(PathBuf::from))
}

/// A pool of read-only rusqlite connections to one SQLite file.
pub(crate) struct SqliteReads {
    path: PathBuf,
    idle: Mutex<Vec<rusqlite::Connection>>,
}

impl SqliteReads {
    fn open(&self) -> rusqlite::Result<rusqlite::Connection> {
        use rusqlite::OpenFlags;
        let conn = rusqlite::Connection::open_with_flags(
            &self.path,
            OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX | OpenFlags::SQLITE_OPEN_URI,
        )?;
        // A reader commits nothing: the busy timeout and fixed plans, no pragmas.
        settings::apply(&conn, None)?;
        conn.set_prepared_statement_cache_capacity(STATEMENT_CACHE);
        Ok(conn)
    }

    fn fetch<T: FromRow>(&self, sql: &str, values: &[Value]) -> Result<Vec<T>, DbErr> {
        let params = lite_params(values)?;
        let taken = self.idle.lock().unwrap_or_else(|p| p.into_inner()).pop();
        let conn = match taken {
            Some(c) => c,
            None => self.open().map_err(failed)?,
        };
        let rows = step_rows(&conn, sql, params);
        let mut idle = self.idle.lock().unwrap_or_else(|p| p.into_inner());
        if idle.len() < IDLE_MAX {
            idle.push(conn);
        }
        rows.map_err(failed)
    }
}

fn failed(e: rusqlite::Error) -> DbErr {
    DbErr::Custom(format!("sqlite read: {e}"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::db::entity::{cluster, identifier};
    use crate::db::settings::Checkpoints;
    use crate::db::statement::statement;

    async fn execute(db: &DatabaseConnection, sql: &str, values: Vec<Value>) -> Result<(), DbErr> {
        db.execute_raw(statement(db.get_database_backend(), sql, values)).await.map(|_| ())
    }

    /// Both executors read the same rows of a SQLite file into the same values: models by column
    /// name (with nulls, text and booleans), tuples by position, bound text, integers and nulls.
    #[tokio::test]
    async fn both_executors_read_the_same_rows() {
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite://{}", dir.path().join("reads.db").display());
        let db = crate::db::connect::connect(&crate::StoreConfig::new(url), Checkpoints::Automatic).await.unwrap();
        crate::db::connect::migrate(&db).await.unwrap();
        execute(
            &db,
            "INSERT INTO clusters (created_at, status, version, merged_into, assignee, claim_expires_at, \
             reference_currency, report_count, victim_count, total_loss_minor, loss_by_currency, recoverable_minor, \
             categories, countries, ongoing_reports, identifiers_by_kind, priority_milli, priority_components, \
             priority_at, rescore_at) VALUES \
             (10, 'new', 1, NULL, 'alice', NULL, 'GBP', 3, 2, 500000, 'GBP:500000', 0, ',investment,', ',GB,', 1, \
              'iban:2', 7250, '[]', 11, 99), \
             (12, 'merged', 4, 1, NULL, 77, 'GBP', 0, 0, 0, '', 0, ',', ',', 0, '', 0, '[]', 12, NULL)",
            vec![],
        )
        .await
        .unwrap();
        execute(
            &db,
            "INSERT INTO identifiers (key, kind, display, state, state_reason, report_count, first_seen, cluster_id) \
             VALUES ('iban:GB1', 'iban', 'GB1', 'normal', '', 2, 5, 1), ('domain:x.test', 'domain', 'x.test', \
             'safelisted', 'a bank', 1, NULL, NULL)",
            vec![],
        )
        .await
        .unwrap();
        let own = Reader::new(&db, sqlite_file(&db).await.unwrap());
        let Reader::Own(_) = own else { panic!("a file gets its own reads") };
        let readers = [Reader::Pool(db.clone()), own];

        let mut answers = Vec::new();
        for reader in &readers {
            let clusters: Vec<cluster::Model> = reader
                .fetch("SELECT * FROM clusters WHERE id IN (?, ?) ORDER BY id", vec![1_i64.into(), 2_i32.into()])
                .await
                .unwrap();
            let identifiers: Vec<identifier::Model> = reader
                .fetch(
                    "SELECT * FROM identifiers WHERE key IN (?, ?) ORDER BY id",
                    vec!["iban:GB1".into(), "domain:x.test".into()],
                )
                .await
                .unwrap();
            let tuples: Vec<(i64, Option<i64>, String, bool)> = reader
                .fetch(
                    "SELECT id, merged_into, status, assignee IS NULL FROM clusters WHERE rescore_at IS ? OR id = ? ORDER BY id",
                    vec![Value::BigInt(None), 1.into()],
                )
                .await
                .unwrap();
            answers.push((clusters, identifiers, tuples));
        }
        let (clusters, identifiers, tuples) = &answers[0];
        assert_eq!(clusters.len(), 2);
        assert_eq!(
            (clusters[0].assignee.as_deref(), clusters[0].rescore_at, clusters[1].merged_into),
            (Some("alice"), Some(99), Some(1))
        );
        assert_eq!(identifiers.len(), 2);
        assert_eq!((identifiers[0].cluster_id, identifiers[1].first_seen), (Some(1), None));
        assert_eq!(tuples, &vec![(1, None, "new".to_owned(), false), (2, Some(1), "merged".to_owned(), true)]);
        assert_eq!(answers[0], answers[1], "sea-orm and rusqlite read the same rows alike");

        // An in-memory database has no file for connections of its own.
        let memory = crate::db::connect::connect(&crate::StoreConfig::new("sqlite::memory:"), Checkpoints::Automatic)
            .await
            .unwrap();
        assert_eq!(sqlite_file(&memory).await.unwrap(), None);
    }
}
