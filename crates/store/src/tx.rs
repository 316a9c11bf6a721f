//! Where a write transaction's statements run: a sea-orm transaction (PostgreSQL, an in-memory
//! SQLite database, and the triage changes), or a rusqlite connection of the store's own to a
//! SQLite file ([`SqliteWriter`]: the single writer's batches, the audit trail's appends, and
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
use std::time::Duration;

use sea_orm::{ConnectionTrait, DatabaseTransaction, DbBackend, DbErr, EntityTrait, QueryTrait, Statement, Value};

use crate::connect::Checkpoints;
use crate::fetch::{FromRow, lite_params, step_rows};
use crate::sql;

/// Prepared statements the writer's connection keeps (its batches run a few dozen distinct ones,
/// more with the chunk sizes of IN lists).
const STATEMENT_CACHE: usize = 1024;

/// A write transaction, on either executor.
#[derive(Clone, Copy)]
pub(crate) enum Tx<'a> {
    /// A sea-orm transaction.
    Orm(&'a DatabaseTransaction),
    /// The writer's rusqlite connection, inside `BEGIN IMMEDIATE`.
    Sqlite(&'a SqliteWriter),
}

impl Tx<'_> {
    /// The database behind the transaction.
    pub(crate) fn backend(&self) -> DbBackend {
        match self {
            Tx::Orm(txn) => txn.get_database_backend(),
            Tx::Sqlite(_) => DbBackend::Sqlite,
        }
    }

    /// The rows of a query (`?` placeholders), as `T`.
    pub(crate) async fn fetch<T: FromRow>(&self, sql: &str, values: Vec<Value>) -> Result<Vec<T>, DbErr> {
        self.fetch_statement(sql::statement(self.backend(), sql, values)).await
    }

    /// The first column of a query's rows, as ids.
    pub(crate) async fn fetch_ids(&self, sql: &str, values: Vec<Value>) -> Result<Vec<i64>, DbErr> {
        Ok(self.fetch::<(i64,)>(sql, values).await?.into_iter().map(|(id,)| id).collect())
    }

    /// Runs a statement (`?` placeholders) and returns the rows it affected.
    pub(crate) async fn execute(&self, sql: &str, values: Vec<Value>) -> Result<u64, DbErr> {
        self.execute_statement(sql::statement(self.backend(), sql, values)).await
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

    async fn fetch_statement<T: FromRow>(&self, statement: Statement) -> Result<Vec<T>, DbErr> {
        match self {
            Tx::Orm(txn) => txn.query_all_raw(statement).await?.iter().map(T::from_orm).collect(),
            Tx::Sqlite(w) => w.fetch(&statement),
        }
    }

    async fn execute_statement(&self, statement: Statement) -> Result<u64, DbErr> {
        match self {
            Tx::Orm(txn) => Ok(txn.execute_raw(statement).await?.rows_affected()),
            Tx::Sqlite(w) => w.execute(&statement),
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
        conn.busy_timeout(Duration::from_secs(10)).map_err(failed)?;
        let mut pragmas = vec![("journal_mode", "WAL"), ("synchronous", "FULL"), ("foreign_keys", "ON")];
        if checkpoints == Checkpoints::Background {
            pragmas.extend([("wal_autocheckpoint", "0"), ("journal_size_limit", "67108864")]);
        }
        for (pragma, value) in pragmas {
            conn.pragma_update(None, pragma, value).map_err(failed)?;
        }
        // One plan per statement, as on the read connections (`fetch`).
        conn.set_db_config(rusqlite::config::DbConfig::SQLITE_DBCONFIG_ENABLE_QPSG, true).map_err(failed)?;
        conn.set_prepared_statement_cache_capacity(STATEMENT_CACHE);
        Ok(Self { conn: Mutex::new(conn), purpose })
    }

    fn conn(&self) -> std::sync::MutexGuard<'_, rusqlite::Connection> {
        self.conn.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Runs `work` in one write transaction: committed if it succeeds, rolled back if not.
    pub(crate) async fn transaction<T>(&self, work: impl AsyncFnOnce(&Tx<'_>) -> Result<T, DbErr>) -> Result<T, DbErr> {
        self.begin()?;
        let done = work(&Tx::Sqlite(self)).await.and_then(|done| self.commit().map(|()| done));
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
    pub(crate) fn checkpoint(&self) -> Result<(), DbErr> {
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

/// Runs the future `make` makes on a thread of its own, with a runtime of its own, until it ends.
///
/// For the store's serial writers (reports, audit events): on the server's shared runtime each
/// of their awaits would resume behind the calls in flight, and on their own connection their
/// statements block the thread they run on.
pub(crate) fn spawn_thread<F: std::future::Future<Output = ()>>(
    name: &str,
    make: impl FnOnce() -> F + Send + 'static,
) -> std::io::Result<()> {
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
    std::thread::Builder::new().name(name.to_owned()).spawn(move || runtime.block_on(make()))?;
    Ok(())
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::clustering::{ClusterConfig, Pending};
    use crate::writer::{clustering_transaction, insert_and_link};
    use scamtrail_core::{Category, NewPayment, NewReport, NormalizedIdentifier, PaymentMethod, ReportedIdentifier};
    use scamtrail_core::{UnixMicros, Victim};

    fn wallet(key: &str) -> ReportedIdentifier {
        let kind = key.split(':').next().unwrap_or_default().to_owned();
        ReportedIdentifier {
            raw: key.to_owned(),
            role: None,
            kind_hint: None,
            outcome: Ok(NormalizedIdentifier {
                kind,
                key: key.to_owned(),
                display: key.to_owned(),
                country: None,
                bank_code: None,
                phone_type: None,
                chain: None,
                checksum_verified: true,
            }),
        }
    }

    /// Report `n` of three networks; from the third batch on every fifth carries the key of the
    /// next network too, so that batch merges the clusters of the first two.
    fn report(n: usize) -> NewReport {
        let net = n % 3;
        let mut identifiers = vec![wallet(&format!("tel:+4420794609{net:02}"))];
        if n >= 24 && n % 5 == 4 {
            identifiers.push(wallet(&format!("tel:+4420794609{:02}", (net + 1) % 3)));
        }
        NewReport {
            category: if net == 0 { Category::Romance } else { Category::TechSupport },
            narrative: format!("report {n}"),
            payments: vec![NewPayment {
                amount_minor: 10_000 + n as i64,
                currency: "GBP".into(),
                method: Some(PaymentMethod::BankTransfer),
                paid_at: Some(UnixMicros(1_700_000_000_000_000)),
                beneficiaries: vec![wallet(&format!("iban:GB{net}TEST{}", n % 2))],
                transaction_hash: String::new(),
                recall_requested: false,
            }],
            identifiers,
            victim: Some(Victim { email: format!("victim{}@example.test", n % 7), ..Default::default() }),
            contact_ongoing: n.is_multiple_of(4),
            // Ids repeat within a batch (n sends the id of n - 1) and across batches (report 5's).
            client_request_id: Some(format!(
                "req-{}",
                match n {
                    _ if n % 11 == 10 => n - 1,
                    _ if n > 12 && n % 12 == 5 => 5,
                    _ => n,
                }
            )),
            first_contact_at: None,
            last_contact_at: None,
            contact_channels: Vec::new(),
            suggested: Vec::new(),
            follow_up_hash: None,
        }
    }

    /// What the two executors must agree on: the graph, clusters and their aggregates.
    fn tables(path: &Path) -> Vec<String> {
        let conn = rusqlite::Connection::open(path).unwrap();
        let mut out = Vec::new();
        for sql in [
            "SELECT id, cluster_id, contact_ongoing, client_request_id FROM reports ORDER BY id",
            "SELECT report_id, identifier_id FROM report_links ORDER BY 1, 2",
            "SELECT key, report_count, cluster_id, category_mask, state FROM identifiers ORDER BY key",
            "SELECT id, status, merged_into, report_count, victim_count, total_loss_minor, loss_by_currency, \
             categories, ongoing_reports, identifiers_by_kind, priority_milli FROM clusters ORDER BY id",
            "SELECT cluster_id, kind, other_cluster_id, detail FROM cluster_events ORDER BY id",
            "SELECT report_id, position, amount_minor FROM payments ORDER BY 1, 2",
        ] {
            let mut statement = conn.prepare(sql).unwrap();
            let columns = statement.column_count();
            let rows = statement
                .query_map([], |row| {
                    (0..columns).map(|i| row.get::<_, rusqlite::types::Value>(i).map(|v| format!("{v:?}"))).collect()
                })
                .unwrap();
            for row in rows {
                out.push(format!("{sql}: {}", row.unwrap_or_else(|e: rusqlite::Error| vec![e.to_string()]).join("|")));
            }
        }
        out
    }

    /// The writer's own connection and a sea-orm transaction write the same rows for the same
    /// batches: new reports, replays of a client request id within and across batches, links,
    /// new clusters, merges and their events, aggregates.
    #[tokio::test]
    async fn both_executors_write_the_same_rows() {
        let dir = tempfile::tempdir().unwrap();
        let config = ClusterConfig::default();
        let mut results = Vec::new();
        for own in [false, true] {
            let path = dir.path().join(format!("{own}.db"));
            let url = format!("sqlite://{}", path.display());
            let db = crate::connect::connect(&crate::StoreConfig::new(url), crate::connect::Checkpoints::Automatic)
                .await
                .unwrap();
            crate::connect::migrate(&db).await.unwrap();
            let writer = SqliteWriter::open(&path, Checkpoints::Automatic, "reports").unwrap();
            for batch in 0..4 {
                let reports: Vec<NewReport> = (batch * 12..batch * 12 + 12).map(report).collect();
                let refs: Vec<&NewReport> = reports.iter().collect();
                let mut pending = Pending::default();
                let now = UnixMicros(1_700_000_100_000_000 + batch as i64);
                let answers = clustering_transaction(&db, own.then_some(&writer), async |tx| {
                    insert_and_link(tx, &config, &mut pending, now, &refs).await
                })
                .await
                .unwrap();
                assert_eq!(answers.len(), 12);
                assert!(answers.iter().all(|a| a.cluster_id > 0), "every report is in a cluster");
                if batch == 0 {
                    assert!(pending.events.iter().any(|e| e.kind == scamtrail_core::EventKind::Created));
                }
                assert!(answers.iter().any(|a| a.replayed), "client request ids repeat");
            }
            // A merge happened: some cluster was folded into another.
            let merged = Tx::Sqlite(&writer)
                .fetch_ids("SELECT id FROM clusters WHERE merged_into IS NOT NULL", vec![])
                .await
                .unwrap();
            assert!(!merged.is_empty(), "the batches merge clusters");
            drop(writer);
            results.push(tables(&path));
        }
        assert!(results[0].len() > 100, "{} rows", results[0].len());
        assert_eq!(results[0], results[1], "sea-orm and the writer's connection write the same rows");
    }
}
