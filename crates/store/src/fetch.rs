//! Where reads run: sea-orm's pool (PostgreSQL, and an in-memory SQLite database), or, for a
//! SQLite file, rusqlite connections of the store's own, stepped on the calling task's thread.
//!
//! Why a second SQLite driver for reads: sqlx runs each SQLite connection on a worker thread and
//! hands every statement, and every row of its answer, across a channel to it. On two cores a
//! lookup or a queue page spent more time in those hand-offs (futex waits, context switches) than
//! in SQLite (BENCHMARKS.md). The reads routed here are index probes bounded by their caller (a
//! page of a queue, a lookup batch, one cluster), so they are stepped where they are asked for,
//! on a connection taken from a small pool, with prepared statements cached per connection.
//! The single writer has a connection of its own for the same reason ([`crate::tx`]); other
//! writes stay on sea-orm.
//!
//! The same SQL text (with `?` placeholders) and the same row types serve both executors, so a
//! read is written once.

use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use rusqlite::types::{FromSql, Value as Lite};
use sea_orm::{DatabaseConnection, DbBackend, DbErr, FromQueryResult, QueryResult, TryGetable, Value};

use crate::StoreError;
use crate::entity::{cluster, cluster_event, identifier};
use crate::sql::query;

/// Read-only connections kept open for reuse at most (more are opened under load, then closed).
const IDLE_MAX: usize = 8;
/// Prepared statements each connection keeps.
const STATEMENT_CACHE: usize = 64;

/// Runs read queries on one of the two executors.
#[derive(Clone)]
pub(crate) enum Reader {
    /// sea-orm's pool.
    Orm(DatabaseConnection),
    /// The store's own read-only connections to a SQLite file.
    Sqlite(Arc<SqliteReads>),
}

impl Reader {
    /// The reader for `db`: the store's own connections to `file` when it is a SQLite file
    /// ([`sqlite_file`]), else `db`'s pool.
    pub(crate) fn new(db: &DatabaseConnection, file: Option<PathBuf>) -> Self {
        match file {
            Some(path) => Reader::Sqlite(Arc::new(SqliteReads { path, idle: Mutex::new(Vec::new()) })),
            None => Reader::Orm(db.clone()),
        }
    }

    /// The rows of a read query (`?` placeholders), as `T`. On a SQLite file the query is stepped
    /// on the calling thread: only for reads the caller bounds (a page, a batch of keys).
    pub(crate) async fn fetch<T: FromRow>(&self, sql: &str, values: Vec<Value>) -> Result<Vec<T>, StoreError> {
        match self {
            Reader::Orm(db) => Ok(query(db, sql, values).await?.iter().map(T::from_orm).collect::<Result<_, _>>()?),
            Reader::Sqlite(reads) => reads.fetch(sql, &values),
        }
    }

    /// As [`Reader::fetch`], for reads whose size grows with the data (every edge of a cluster,
    /// every payment of a widely reported identifier): on a SQLite file they run on the blocking
    /// pool, so that they never hold up the calls sharing the caller's thread.
    pub(crate) async fn fetch_unbounded<T: FromRow + Send + 'static>(
        &self,
        sql: String,
        values: Vec<Value>,
    ) -> Result<Vec<T>, StoreError> {
        match self {
            Reader::Orm(_) => self.fetch(&sql, values).await,
            Reader::Sqlite(reads) => {
                let reads = reads.clone();
                tokio::task::spawn_blocking(move || reads.fetch(&sql, &values))
                    .await
                    .map_err(|e| StoreError::Database(DbErr::Custom(format!("sqlite read: {e}"))))?
            }
        }
    }
}

/// The file of a SQLite database; `None` for PostgreSQL and in-memory SQLite.
pub(crate) async fn sqlite_file(db: &DatabaseConnection) -> Result<Option<PathBuf>, StoreError> {
    if db.get_database_backend() != DbBackend::Sqlite {
        return Ok(None);
    }
    let rows = query(db, "SELECT file FROM pragma_database_list WHERE name = 'main'", vec![]).await?;
    let file: Option<String> = rows.first().map(|r| r.try_get_by_index(0)).transpose()?;
    Ok(file.filter(|f| !f.is_empty()).map(PathBuf::from))
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
        conn.busy_timeout(Duration::from_secs(10))?;
        // One plan per statement whatever its bound values: otherwise SQLite prepares a cached
        // statement again on every execution whose values could change its plan (a bound
        // value compared with a partial index's condition, or sampled statistics).
        conn.set_db_config(rusqlite::config::DbConfig::SQLITE_DBCONFIG_ENABLE_QPSG, true)?;
        conn.set_prepared_statement_cache_capacity(STATEMENT_CACHE);
        Ok(conn)
    }

    fn fetch<T: FromRow>(&self, sql: &str, values: &[Value]) -> Result<Vec<T>, StoreError> {
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

/// The rows of a query on a rusqlite connection, as `T`, its statement from the connection's cache.
pub(crate) fn step_rows<T: FromRow>(
    conn: &rusqlite::Connection,
    sql: &str,
    params: Vec<Lite>,
) -> rusqlite::Result<Vec<T>> {
    let mut statement = conn.prepare_cached(sql)?;
    let columns = T::sqlite_columns(&statement)?;
    let rows = statement.query_map(rusqlite::params_from_iter(params), |row| T::from_sqlite(row, &columns))?;
    rows.collect()
}

/// Bound values as rusqlite takes them.
pub(crate) fn lite_params(values: &[Value]) -> Result<Vec<Lite>, StoreError> {
    values.iter().map(lite).collect()
}

fn failed(e: rusqlite::Error) -> StoreError {
    StoreError::Database(DbErr::Custom(format!("sqlite read: {e}")))
}

/// A bound value as rusqlite takes it; the store binds integers, text, booleans and nulls.
fn lite(value: &Value) -> Result<Lite, StoreError> {
    Ok(match value {
        Value::BigInt(Some(i)) => Lite::Integer(*i),
        Value::Int(Some(i)) => Lite::Integer(i64::from(*i)),
        Value::SmallInt(Some(i)) => Lite::Integer(i64::from(*i)),
        Value::Bool(Some(b)) => Lite::Integer(i64::from(*b)),
        Value::String(Some(s)) => Lite::Text(s.to_string()),
        Value::Double(Some(d)) => Lite::Real(*d),
        Value::BigInt(None)
        | Value::Int(None)
        | Value::SmallInt(None)
        | Value::Bool(None)
        | Value::String(None)
        | Value::Double(None) => Lite::Null,
        other => return Err(StoreError::Corrupt(format!("a read bound an unsupported value: {other:?}"))),
    })
}

/// A row type both executors can build.
pub(crate) trait FromRow: Sized {
    /// From a sea-orm row.
    fn from_orm(row: &QueryResult) -> Result<Self, DbErr>;
    /// The positions of the columns [`FromRow::from_sqlite`] reads, in its order, found once per
    /// query rather than by name in every row.
    fn sqlite_columns(statement: &rusqlite::Statement<'_>) -> rusqlite::Result<Vec<usize>>;
    /// From a rusqlite row, reading `columns`.
    fn from_sqlite(row: &rusqlite::Row<'_>, columns: &[usize]) -> rusqlite::Result<Self>;
}

/// The next column position of a row type's plan.
fn next(columns: &mut std::slice::Iter<'_, usize>) -> rusqlite::Result<usize> {
    columns.next().copied().ok_or(rusqlite::Error::InvalidColumnIndex(usize::MAX))
}

/// Tuples of columns, by position.
macro_rules! tuple_rows {
    ($($t:ident $i:tt),+) => {
        impl<$($t: TryGetable + FromSql),+> FromRow for ($($t,)+) {
            fn from_orm(row: &QueryResult) -> Result<Self, DbErr> {
                Ok(($(row.try_get_by_index::<$t>($i)?,)+))
            }
            fn sqlite_columns(_: &rusqlite::Statement<'_>) -> rusqlite::Result<Vec<usize>> {
                Ok(vec![$($i),+])
            }
            fn from_sqlite(row: &rusqlite::Row<'_>, _: &[usize]) -> rusqlite::Result<Self> {
                Ok(($(row.get::<_, $t>($i)?,)+))
            }
        }
    };
}
tuple_rows!(A 0);
tuple_rows!(A 0, B 1);
tuple_rows!(A 0, B 1, C 2);
tuple_rows!(A 0, B 1, C 2, D 3);
tuple_rows!(A 0, B 1, C 2, D 3, E 4);
tuple_rows!(A 0, B 1, C 2, D 3, E 4, F 5);
tuple_rows!(A 0, B 1, C 2, D 3, E 4, F 5, G 6);
tuple_rows!(A 0, B 1, C 2, D 3, E 4, F 5, G 6, H 7);
tuple_rows!(A 0, B 1, C 2, D 3, E 4, F 5, G 6, H 7, I 8);

/// Entity models, by column name (the queries select `*` of their table).
macro_rules! model_rows {
    ($($model:path { $($field:ident),+ $(,)? })+) => {$(
        impl FromRow for $model {
            fn from_orm(row: &QueryResult) -> Result<Self, DbErr> {
                <$model>::from_query_result(row, "")
            }
            fn sqlite_columns(statement: &rusqlite::Statement<'_>) -> rusqlite::Result<Vec<usize>> {
                [$(stringify!($field)),+].iter().map(|name| statement.column_index(name)).collect()
            }
            fn from_sqlite(row: &rusqlite::Row<'_>, columns: &[usize]) -> rusqlite::Result<Self> {
                let mut at = columns.iter();
                // Fields are read in the order they are written, which is the order of `columns`.
                Ok(Self { $($field: row.get(next(&mut at)?)?),+ })
            }
        }
    )+};
}
model_rows! {
    cluster::Model {
        id, created_at, status, version, merged_into, assignee, disposition, referred_to, claim_holder,
        claim_expires_at, report_count, victim_count, reference_currency, total_loss_minor, loss_by_currency,
        recoverable_minor, recall_closes_at, first_seen, last_seen, categories, countries, ongoing_reports,
        identifiers_by_kind, priority_milli, priority_components, priority_at, rescore_at,
    }
    identifier::Model {
        id, key, kind, display, state, state_reason, state_source, state_changed_at, report_count, first_seen,
        last_seen, cluster_id, category_mask,
    }
    cluster_event::Model { id, cluster_id, at, kind, other_cluster_id, actor, detail }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sql::execute;

    /// Both executors read the same rows of a SQLite file into the same values: models by column
    /// name (with nulls, text and booleans), tuples by position, bound text, integers and nulls.
    #[tokio::test]
    async fn both_executors_read_the_same_rows() {
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite://{}", dir.path().join("reads.db").display());
        let db = crate::connect::connect(&crate::StoreConfig::new(url), crate::connect::Checkpoints::Automatic)
            .await
            .unwrap();
        crate::connect::migrate(&db).await.unwrap();
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
        let Reader::Sqlite(_) = own else { panic!("a file gets its own reads") };
        let readers = [Reader::Orm(db.clone()), own];

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
        let memory = crate::connect::connect(
            &crate::StoreConfig::new("sqlite::memory:"),
            crate::connect::Checkpoints::Automatic,
        )
        .await
        .unwrap();
        assert_eq!(sqlite_file(&memory).await.unwrap(), None);
    }
}
