//! The write transaction, and the one place it begins ([`transaction`], [`Writer::transaction`]).
//! Its statements run on a transaction of the connection pool (PostgreSQL, an in-memory SQLite
//! database, and the triage changes), or on a rusqlite connection of the store's own to a SQLite
//! file ([`SqliteWriter`]: the single writer's batches, the audit trail's appends, and
//! `recluster`).
//!
//! Why the writer has a connection of its own: it is the one serial path of intake. It runs a
//! batch's statements one after another, and through sqlx each of them, and every row of its
//! answer, crossed a channel to sqlx's worker thread and back: on two cores a batch spent more
//! time in those hand-offs than in SQLite (BENCHMARKS.md). On its own connection, on its own
//! thread, a statement is stepped where it is asked for, from a cache of prepared statements.
//! `recluster` reads every link of the graph, which through sqlx crossed the channel row by row.
//!
//! The same SQL text (`?` placeholders) and the same row types ([`FromRow`]) serve both, so the
//! clustering and intake code is written once, against [`Tx`].

use std::path::Path;
use std::sync::Mutex;

use sea_orm::{
    ConnectionTrait, DatabaseConnection, DatabaseTransaction, DbBackend, DbErr, EntityTrait, QueryTrait,
    SqliteTransactionMode, Statement, TransactionOptions, TransactionTrait, Value,
};

use super::entity::cluster;
use super::row::{FromRow, lite_params, step_rows};
use super::settings::{self, Checkpoints};
use super::statement::statement;

/// Prepared statements the writer's connection keeps (its batches run a few dozen distinct ones,
/// more with the chunk sizes of IN lists).
const STATEMENT_CACHE: usize = 1024;

/// What a transaction is for, which decides how it begins.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Intent {
    /// Reads that must see one snapshot (SQLite: a deferred transaction; no write lock).
    Read,
    /// A change of a few rows (claims, workflow, follow-up reads, users and keys).
    Write,
    /// A change that may touch the graph: link, merge, split, rescore, recluster, import.
    /// Such transactions run one at a time across every instance sharing the database: on
    /// SQLite the IMMEDIATE write lock does it, on PostgreSQL a transaction-scoped advisory lock.
    /// Merges and splits then never interleave, so they read live clusters and never deadlock on
    /// each other's identifier and cluster rows. Claims and workflow updates touch one cluster
    /// row and do not take it.
    Cluster,
    /// An append to the audit trail: appends from several instances queue (PostgreSQL's advisory
    /// lock; SQLite's write lock already does), so the chain never forks.
    AppendAudit,
}

impl Intent {
    /// The PostgreSQL advisory lock the transaction takes as it begins, if any.
    fn advisory_lock(self) -> Option<i64> {
        match self {
            Intent::Read | Intent::Write => None,
            // "SCAMTR" in ASCII: any constant no other lock uses.
            Intent::Cluster => Some(0x5343_414d_5452),
            // "AUDITS" in ASCII.
            Intent::AppendAudit => Some(0x4155_4449_5453),
        }
    }
}

/// Runs `work` in one transaction on the pool for `intent`: committed if `work` succeeds, rolled
/// back if not. The one place a pool transaction begins.
pub(crate) async fn transaction<T, E: From<DbErr>>(
    db: &DatabaseConnection,
    intent: Intent,
    work: impl AsyncFnOnce(Tx<'_>) -> Result<T, E>,
) -> Result<T, E> {
    let txn = match intent {
        // A read snapshot needs no write lock.
        Intent::Read => db.begin().await?,
        // IMMEDIATE takes SQLite's write lock at BEGIN, so the transaction never fails half-way on
        // a lock upgrade; PostgreSQL ignores the option.
        _ => {
            db.begin_with_options(TransactionOptions {
                sqlite_transaction_mode: Some(SqliteTransactionMode::Immediate),
                ..Default::default()
            })
            .await?
        }
    };
    if let Some(key) = intent.advisory_lock()
        && txn.get_database_backend() == DbBackend::Postgres
    {
        txn.query_all_raw(statement(DbBackend::Postgres, "SELECT pg_advisory_xact_lock(?)", vec![key.into()])).await?;
    }
    match work(Tx::Pooled(&txn)).await {
        Ok(done) => {
            txn.commit().await?;
            Ok(done)
        }
        Err(e) => {
            if let Err(r) = txn.rollback().await {
                tracing::warn!(error = %r, "rollback failed");
            }
            Err(e)
        }
    }
}

/// Where a serial writer's transactions run (the report writer, the audit trail's writer,
/// `recluster`): its own connection to a SQLite file, or the pool.
pub(crate) enum Writer {
    /// The pool (PostgreSQL, an in-memory SQLite database).
    Pool(DatabaseConnection),
    /// A connection of the writer's own to a SQLite file.
    Own(SqliteWriter),
}

impl Writer {
    /// Runs `work` in one write transaction for `intent` (see [`transaction`]); on the writer's
    /// own connection it begins IMMEDIATE, which already makes it run alone.
    pub(crate) async fn transaction<T, E: From<DbErr>>(
        &self,
        intent: Intent,
        work: impl AsyncFnOnce(Tx<'_>) -> Result<T, E>,
    ) -> Result<T, E> {
        match self {
            Writer::Pool(db) => transaction(db, intent, work).await,
            Writer::Own(own) => own.transaction(work).await,
        }
    }

    /// Copies what the log holds into the database file, on a connection of its own (between two
    /// batches: no transaction open); nothing to do on the pool.
    pub(crate) fn checkpoint(&self) -> Result<(), DbErr> {
        match self {
            Writer::Pool(_) => Ok(()),
            Writer::Own(own) => own.checkpoint(),
        }
    }
}

/// A write transaction, on either executor.
#[derive(Clone, Copy)]
pub(crate) enum Tx<'a> {
    /// A transaction on the connection pool.
    Pooled(&'a DatabaseTransaction),
    /// A serial writer's own rusqlite connection to a SQLite file, inside `BEGIN IMMEDIATE`.
    Own(&'a SqliteWriter),
}

impl Tx<'_> {
    /// The database behind the transaction.
    fn backend(&self) -> DbBackend {
        match self {
            Tx::Pooled(txn) => txn.get_database_backend(),
            Tx::Own(_) => DbBackend::Sqlite,
        }
    }

    /// Whether rows a change reads must be locked explicitly, in a fixed order, so that
    /// instances sharing the database wait for each other rather than deadlock: on PostgreSQL.
    /// SQLite's IMMEDIATE transactions already run one at a time.
    pub(crate) fn locks_rows(&self) -> bool {
        self.backend() == DbBackend::Postgres
    }

    /// The rows of a query (`?` placeholders), as `T`.
    pub(crate) async fn fetch<T: FromRow>(&self, sql: &str, values: Vec<Value>) -> Result<Vec<T>, DbErr> {
        self.fetch_statement(statement(self.backend(), sql, values)).await
    }

    /// The first column of a query's rows, as ids.
    pub(crate) async fn fetch_ids(&self, sql: &str, values: Vec<Value>) -> Result<Vec<i64>, DbErr> {
        Ok(self.fetch::<(i64,)>(sql, values).await?.into_iter().map(|(id,)| id).collect())
    }

    /// Runs a statement (`?` placeholders) and returns the rows it affected.
    pub(crate) async fn execute(&self, sql: &str, values: Vec<Value>) -> Result<u64, DbErr> {
        self.execute_statement(statement(self.backend(), sql, values)).await
    }

    /// Inserts entity rows in one statement, built by sea-orm for this database.
    pub(crate) async fn insert_many<E, A>(&self, rows: Vec<A>) -> Result<(), DbErr>
    where
        E: EntityTrait,
        A: sea_orm::ActiveModelTrait<Entity = E> + Send,
    {
        if rows.is_empty() {
            return Ok(());
        }
        self.execute_statement(E::insert_many(rows).build(self.backend())).await.map(|_| ())
    }

    /// Inserts entity rows in one statement and returns the `returning` columns of each, as `T`.
    pub(crate) async fn insert_returning<E, A, T>(&self, rows: Vec<A>, returning: &str) -> Result<Vec<T>, DbErr>
    where
        E: EntityTrait,
        A: sea_orm::ActiveModelTrait<Entity = E> + Send,
        T: FromRow,
    {
        if rows.is_empty() {
            return Ok(Vec::new());
        }
        let mut statement = E::insert_many(rows).build(self.backend());
        statement.sql.push_str(" RETURNING ");
        statement.sql.push_str(returning);
        self.fetch_statement(statement).await
    }

    /// One cluster row by id (as sea-orm's entity API reads it on the pool).
    pub(crate) async fn cluster(&self, id: i64) -> Result<Option<cluster::Model>, DbErr> {
        match self {
            Tx::Pooled(txn) => cluster::Entity::find_by_id(id).one(*txn).await,
            Tx::Own(_) => Ok(self.fetch("SELECT * FROM clusters WHERE id = ?", vec![id.into()]).await?.pop()),
        }
    }

    async fn fetch_statement<T: FromRow>(&self, statement: Statement) -> Result<Vec<T>, DbErr> {
        match self {
            Tx::Pooled(txn) => txn.query_all_raw(statement).await?.iter().map(T::from_orm).collect(),
            Tx::Own(w) => w.fetch(&statement),
        }
    }

    async fn execute_statement(&self, statement: Statement) -> Result<u64, DbErr> {
        match self {
            Tx::Pooled(txn) => Ok(txn.execute_raw(statement).await?.rows_affected()),
            Tx::Own(w) => w.execute(&statement),
        }
    }
}

/// A write connection of the store's own to a SQLite file: read-write, durable commits, cached
/// statements. One task uses it (the writer, or a recluster); the mutex makes a `Tx` of it `Send`
/// like the other, and is never contended.
pub(crate) struct SqliteWriter {
    conn: Mutex<rusqlite::Connection>,
    /// What it writes (`reports`, `audit trail`, `recluster`), for the log.
    purpose: &'static str,
}

impl SqliteWriter {
    /// Opens a write connection for `purpose` with the settings of the store's pool (WAL with
    /// `synchronous=FULL`, foreign keys, and who checkpoints: see `connect::connect`).
    pub(crate) fn open(path: &Path, checkpoints: Checkpoints, purpose: &'static str) -> Result<Self, DbErr> {
        let conn = rusqlite::Connection::open(path).map_err(failed)?;
        settings::apply(&conn, Some(checkpoints)).map_err(failed)?;
        conn.set_prepared_statement_cache_capacity(STATEMENT_CACHE);
        Ok(Self { conn: Mutex::new(conn), purpose })
    }

    fn conn(&self) -> std::sync::MutexGuard<'_, rusqlite::Connection> {
        self.conn.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Runs `work` in one write transaction: committed if it succeeds, rolled back if not.
    async fn transaction<T, E: From<DbErr>>(&self, work: impl AsyncFnOnce(Tx<'_>) -> Result<T, E>) -> Result<T, E> {
        self.begin()?;
        let done = match work(Tx::Own(self)).await {
            Ok(done) => self.commit().map(|()| done).map_err(E::from),
            Err(e) => Err(e),
        };
        if done.is_err() {
            self.rollback();
        }
        done
    }

    /// Begins a write transaction, taking SQLite's write lock at once.
    fn begin(&self) -> Result<(), DbErr> {
        self.conn().execute_batch("BEGIN IMMEDIATE").map_err(failed)
    }

    /// Commits the open transaction; it is durable when this returns.
    fn commit(&self) -> Result<(), DbErr> {
        let conn = self.conn();
        conn.execute_batch("COMMIT").map_err(failed)?;
        #[cfg(test)]
        committed_with::record(&conn, self.purpose);
        Ok(())
    }

    /// Rolls the open transaction back, if one is open (a failed statement may have ended it).
    fn rollback(&self) {
        let conn = self.conn();
        if !conn.is_autocommit()
            && let Err(e) = conn.execute_batch("ROLLBACK")
        {
            tracing::warn!(error = %e, writer = self.purpose, "rollback failed");
        }
    }

    /// Copies what the log holds into the database file (between two batches: no transaction open).
    fn checkpoint(&self) -> Result<(), DbErr> {
        self.conn().query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |_| Ok(())).map_err(failed)
    }

    fn fetch<T: FromRow>(&self, built: &Statement) -> Result<Vec<T>, DbErr> {
        step_rows(&self.conn(), &built.sql, params(built)?).map_err(failed)
    }

    fn execute(&self, built: &Statement) -> Result<u64, DbErr> {
        let params = params(built)?;
        let conn = self.conn();
        let mut statement = conn.prepare_cached(&built.sql).map_err(failed)?;
        Ok(statement.execute(rusqlite::params_from_iter(params)).map_err(failed)? as u64)
    }
}

/// A statement's bound values as rusqlite takes them.
fn params(statement: &Statement) -> Result<Vec<rusqlite::types::Value>, DbErr> {
    let values = statement.values.as_ref().map(|v| v.0.as_slice()).unwrap_or_default();
    lite_params(values).map_err(|e| DbErr::Custom(e.to_string()))
}

fn failed(e: rusqlite::Error) -> DbErr {
    DbErr::Custom(format!("sqlite: {e}"))
}

/// Test builds note the durability settings each of the store's own write connections commits
/// with, by database file and purpose, so that a test can check every one of them
/// (`connect::tests`): a commit acknowledged under `synchronous=NORMAL` is lost on power loss,
/// which no kill of the process can show.
#[cfg(test)]
pub(crate) mod committed_with {
    use std::collections::{BTreeMap, BTreeSet};
    use std::sync::Mutex;

    /// `PRAGMA synchronous` (2 is FULL) and `PRAGMA journal_mode`, as a connection answers them.
    pub(crate) type Settings = (i64, String);

    static SEEN: Mutex<BTreeMap<(String, &'static str), BTreeSet<Settings>>> = Mutex::new(BTreeMap::new());

    pub(super) fn record(conn: &rusqlite::Connection, purpose: &'static str) {
        let read = || -> rusqlite::Result<Settings> {
            Ok((
                conn.query_row("PRAGMA synchronous", [], |r| r.get(0))?,
                conn.query_row("PRAGMA journal_mode", [], |r| r.get(0))?,
            ))
        };
        let settings = read().unwrap_or_else(|e| (-1, e.to_string()));
        let file = conn.path().unwrap_or_default().to_owned();
        SEEN.lock().unwrap().entry((file, purpose)).or_default().insert(settings);
    }

    /// Every setting the write connections to `file` (as SQLite names it) committed with, by purpose.
    pub(crate) fn of(file: &str) -> BTreeMap<&'static str, BTreeSet<Settings>> {
        let seen = SEEN.lock().unwrap();
        seen.iter()
            .filter(|((f, _), _)| f == file)
            .map(|((_, purpose), settings)| (*purpose, settings.clone()))
            .collect()
    }
}
