//! Connecting to SQLite or PostgreSQL from a URL, with the settings that make commits durable.

use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Weak};
use std::time::Duration;

use scamtrail_migration::{Migrator, MigratorTrait};
use sea_orm::{ConnectOptions, ConnectionTrait, Database, DatabaseConnection, DbBackend, DbErr, TransactionTrait};

use super::settings::{self, Checkpoints};
use crate::config::StoreConfig;

/// Opens a pool. SQLite files are created if missing, readable by the server's user only
/// ([`protect_sqlite_file`]), and run in WAL mode with `synchronous=FULL`, so an acknowledged
/// commit survives power loss, not only a crash.
pub(crate) async fn connect(config: &StoreConfig, checkpoints: Checkpoints) -> Result<DatabaseConnection, DbErr> {
    if let Some(path) = sqlite_path(&config.database_url) {
        protect_sqlite_file(&path)?;
    }
    let mut options = ConnectOptions::new(config.database_url.clone());
    options
        .max_connections(config.max_connections)
        .connect_timeout(Duration::from_secs(10))
        .sqlx_logging(false)
        .map_sqlx_sqlite_opts(move |o| {
            let o = o.create_if_missing(true).busy_timeout(settings::BUSY_TIMEOUT);
            settings::pragmas(checkpoints).fold(o, |o, (pragma, value)| o.pragma(pragma, value))
        });
    Database::connect(options).await
}

/// The file a `sqlite:` URL names, read as the driver reads it; `None` for other databases and for
/// in-memory or read-only ones.
fn sqlite_path(url: &str) -> Option<PathBuf> {
    use sea_orm::sqlx::sqlite::SqliteConnectOptions;
    let rest = url.strip_prefix("sqlite://").or_else(|| url.strip_prefix("sqlite:"))?;
    let (database, query) = rest.split_once('?').unwrap_or((rest, ""));
    let mode = query.split('&').find_map(|pair| pair.strip_prefix("mode="));
    if database == ":memory:" || matches!(mode, Some("memory" | "ro")) {
        return None;
    }
    // The driver's parser, for the path exactly as it will open it (percent-decoded).
    let options: SqliteConnectOptions = url.parse().ok()?;
    Some(options.get_filename().to_path_buf())
}

/// Copies the SQLite database `url` names into `to`, a new file (mode 0600), consistently while
/// servers write to it: `VACUUM INTO` reads one snapshot in a read transaction, which the
/// write-ahead log lets run beside the writer. Returns the size of the copy.
pub(crate) fn backup_sqlite(url: &str, to: &std::path::Path) -> Result<u64, DbErr> {
    let failed = |what: &str, e: &dyn std::fmt::Display| DbErr::Custom(format!("{what}: {e}"));
    let Some(from) = sqlite_path(url) else {
        return Err(DbErr::Custom(
            "backup copies a SQLite file; back PostgreSQL up with pg_dump or continuous archiving (README)".into(),
        ));
    };
    if !from.exists() {
        return Err(DbErr::Custom(format!("no database at {}", from.display())));
    }
    // Created empty and private first: VACUUM INTO writes into an empty file, with its mode.
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(to)
            .map_err(|e| failed(&format!("cannot create {}", to.display()), &e))?;
    }
    let conn = rusqlite::Connection::open_with_flags(&from, rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY)
        .map_err(|e| failed("cannot open the database", &e))?;
    super::settings::apply(&conn, None).map_err(|e| failed("cannot configure the connection", &e))?;
    let target = to.to_str().ok_or_else(|| DbErr::Custom(format!("{} is not UTF-8", to.display())))?;
    if let Err(e) = conn.execute("VACUUM INTO ?1", [target]) {
        let _ = std::fs::remove_file(to);
        return Err(failed("backup failed", &e));
    }
    std::fs::metadata(to).map(|m| m.len()).map_err(|e| failed("cannot read the copy", &e))
}

/// Keeps a SQLite database readable by the server's user only: a missing file is created empty
/// with mode 0600 before SQLite opens it (SQLite would create it 0644), and SQLite gives the
/// write-ahead log and shared-memory files it makes beside it the database file's mode. An
/// existing file, log or shared-memory file that others may read is left as it is, with a warning
/// (changing an operator's modes behind their back could break their backups).
fn protect_sqlite_file(path: &std::path::Path) -> Result<(), DbErr> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
        let created = std::fs::OpenOptions::new().write(true).create_new(true).mode(0o600).open(path);
        match created {
            Ok(_) => return Ok(()),
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {}
            Err(e) => return Err(DbErr::Custom(format!("cannot create the database file {}: {e}", path.display()))),
        }
        for suffix in ["", "-wal", "-shm"] {
            let mut name = path.as_os_str().to_owned();
            name.push(suffix);
            let file = PathBuf::from(name);
            let Ok(metadata) = std::fs::metadata(&file) else { continue };
            let mode = metadata.permissions().mode() & 0o777;
            if mode & 0o077 != 0 {
                tracing::warn!(
                    file = %file.display(),
                    mode = %format!("{mode:04o}"),
                    "the database file is open to other users than its owner: chmod 600 it"
                );
            }
        }
    }
    #[cfg(not(unix))]
    let _ = path;
    Ok(())
}

/// The PostgreSQL advisory lock held while migrations run ("SCAMMIGR").
const MIGRATION_LOCK: i64 = 0x5343_414d_4d49_4752;

/// Applies every pending migration. On PostgreSQL, instances starting at once take turns: each
/// holds an advisory lock (in a transaction of its own, on a connection of its own) while it
/// migrates, so the schema is migrated once and the others find nothing pending.
pub(crate) async fn migrate(db: &DatabaseConnection) -> Result<(), DbErr> {
    if db.get_database_backend() != DbBackend::Postgres {
        return Migrator::up(db, None).await;
    }
    let lock = db.begin().await?;
    lock.execute_raw(super::statement::statement(
        DbBackend::Postgres,
        "SELECT pg_advisory_xact_lock(?)",
        vec![MIGRATION_LOCK.into()],
    ))
    .await?;
    let migrated = Migrator::up(db, None).await;
    lock.rollback().await?;
    migrated
}

/// How often the checkpointer copies committed pages from the write-ahead log into the database.
const CHECKPOINT_EVERY: Duration = Duration::from_millis(250);
/// Log frames (pages) above which the writer is asked to let the log start over.
const RESTART_AFTER_FRAMES: i64 = 4_000;

/// Checkpoints the write-ahead log of the SQLite file at `path` every [`CHECKPOINT_EVERY`] on a
/// thread of its own, until `alive` is gone; sets `restart_due` when the log has grown long.
///
/// SQLite would otherwise checkpoint inside the commit that crosses 1,000 pages of log: the
/// writer's batch then waits while pages are copied and the database file is synced. A passive
/// checkpoint here copies what no reader still needs without blocking anyone. Under a steady
/// stream of commits it never quite catches up, and the log starts again from its beginning only
/// after a checkpoint that did: the writer does that one between two batches
/// ([`checkpoint_between_batches`]), when little is left to copy. A restarting checkpoint from
/// this thread instead would hold new commits back while it waits for the current one (up to a
/// second in the intake benchmark). Durability does not depend on any of this: a commit is
/// durable once its log frames are synced.
pub(crate) fn spawn_checkpointer<T: Send + Sync + 'static>(
    path: PathBuf,
    alive: Weak<T>,
    restart_due: Arc<AtomicBool>,
) {
    let run = move || {
        let conn = match rusqlite::Connection::open(&path) {
            Ok(c) => c,
            Err(e) => {
                tracing::error!(error = %e, "cannot open the database to checkpoint its log");
                return;
            }
        };
        if let Err(e) = settings::apply(&conn, Some(Checkpoints::Background)) {
            tracing::warn!(error = %e, "cannot apply the store's settings for checkpoints");
        }
        while alive.strong_count() > 0 {
            std::thread::sleep(CHECKPOINT_EVERY);
            let done = conn
                .query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |r| Ok((r.get::<_, i64>(1)?, r.get::<_, i64>(2)?)));
            match done {
                Ok((log, copied)) => {
                    tracing::trace!(log, copied, "checkpoint");
                    if log > RESTART_AFTER_FRAMES {
                        restart_due.store(true, Ordering::Relaxed);
                    }
                }
                Err(e) => tracing::warn!(error = %e, "checkpoint failed; trying again"),
            }
        }
    };
    if let Err(e) = std::thread::Builder::new().name("sqlite-checkpoint".into()).spawn(run) {
        tracing::error!(error = %e, "cannot start the checkpointer");
    }
}

#[cfg(test)]
mod tests {
    use sea_orm::{ConnectionTrait, TransactionTrait};

    use crate::db::reader::pool_fetch;

    /// With the store open, committed pages reach the database file itself, not only the log,
    /// although no commit checkpoints; without the checkpointer they would stay in the log.
    #[tokio::test]
    async fn the_checkpointer_copies_commits_into_the_database_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("store.db");
        let config = super::StoreConfig::new(format!("sqlite://{}", path.display()))
            .with_data_keys(crate::KeySource::fixed(scamtrail_core::DataKeys::generate()));
        let store = crate::Store::open(&config).await.unwrap();
        let pool = &store.shared().pool;
        pool.execute("CREATE TABLE probe (n BIGINT NOT NULL)", vec![]).await.unwrap();
        for n in 0..200_i64 {
            pool.execute("INSERT INTO probe (n) VALUES (?)", vec![n.into()]).await.unwrap();
        }
        let copy = dir.path().join("copy.db");
        let mut count = 0;
        for _ in 0..40 {
            tokio::time::sleep(std::time::Duration::from_millis(100)).await;
            // The database file alone, without its log: what a checkpoint has copied.
            std::fs::copy(&path, &copy).unwrap();
            let conn = rusqlite::Connection::open(&copy).unwrap();
            count = conn.query_row("SELECT COUNT(*) FROM probe", [], |r| r.get::<_, i64>(0)).unwrap_or(-1);
            if count == 200 {
                break;
            }
        }
        assert_eq!(count, 200, "the database file holds every committed row");
    }

    /// Every connection that commits to a SQLite file does so in WAL mode with `synchronous=FULL`,
    /// so that an acknowledged commit survives power loss: each of the pool's connections, the
    /// report writer's, the audit trail's, and recluster's. (`NORMAL` would survive a kill of the
    /// process, which the end-to-end tests do, but not an outage of the machine.)
    #[tokio::test]
    async fn every_connection_that_commits_syncs_its_log_in_full() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("durable.db");
        let mut config = super::StoreConfig::new(format!("sqlite://{}", path.display()))
            .with_data_keys(crate::KeySource::fixed(scamtrail_core::DataKeys::generate()));
        config.max_connections = 4;
        let store = crate::Store::open(&config).await.unwrap();
        let full_in_wal: crate::db::tx::committed_with::Settings = (2, "wal".to_owned());

        // The pool: one transaction on each of its connections at once.
        let mut open = Vec::new();
        for _ in 0..config.max_connections {
            open.push(store.shared().pool.connection().begin().await.unwrap());
        }
        for txn in &open {
            let synchronous: Vec<(i64,)> = pool_fetch(txn, "PRAGMA synchronous", vec![]).await.unwrap();
            let journal_mode: Vec<(String,)> = pool_fetch(txn, "PRAGMA journal_mode", vec![]).await.unwrap();
            let settings = (synchronous[0].0, journal_mode[0].0.clone());
            assert_eq!(settings, full_in_wal, "a connection of the pool");
        }
        drop(open);

        // The store's own write connections, as they commit: a report, an audit event, a recluster.
        let report = scamtrail_core::NewReport {
            category: scamtrail_core::Category::Romance,
            first_contact_at: None,
            last_contact_at: None,
            contact_channels: Vec::new(),
            narrative: "He asked for money for a flight.".into(),
            payments: Vec::new(),
            identifiers: Vec::new(),
            suggested: Vec::new(),
            victim: None,
            contact_ongoing: false,
            client_request_id: None,
            follow_up_hash: None,
        };
        store.submit(report).await.unwrap();
        let audit = store.access(scamtrail_core::AuditKey::new(&[7; 32])).audit_log();
        let event = scamtrail_core::AuditEvent {
            sequence: 0,
            at: scamtrail_core::UnixMicros::now(),
            actor: "cli".into(),
            role: "cli".into(),
            action: "durability check".into(),
            targets: Vec::new(),
            peer: "cli".into(),
            outcome: "OK".into(),
        };
        audit.append(event).await.unwrap();
        crate::Store::recluster(&config, &mut |_, _, _| {}).await.unwrap();

        let file = std::fs::canonicalize(&path).unwrap();
        let seen = crate::db::tx::committed_with::of(file.to_str().unwrap());
        let purposes: Vec<&str> = seen.keys().copied().collect();
        assert_eq!(purposes, ["audit trail", "recluster", "reports"], "every write connection committed");
        for (purpose, settings) in seen {
            assert_eq!(settings, [full_in_wal.clone()].into(), "the {purpose} connection");
        }
    }

    /// A new SQLite database, its log and its shared-memory file are readable by their owner only.
    #[cfg(unix)]
    #[tokio::test]
    async fn a_new_database_is_readable_by_its_owner_only() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("private.db");
        let url = format!("sqlite://{}", path.display());
        let db = super::connect(&super::StoreConfig::new(url), super::Checkpoints::Background).await.unwrap();
        db.execute_unprepared("CREATE TABLE probe (n BIGINT NOT NULL)").await.unwrap();
        for suffix in ["", "-wal", "-shm"] {
            let file = dir.path().join(format!("private.db{suffix}"));
            let mode = std::fs::metadata(&file).unwrap().permissions().mode() & 0o777;
            assert_eq!(mode, 0o600, "{}", file.display());
        }
        assert_eq!(super::sqlite_path("sqlite::memory:"), None);
        assert_eq!(super::sqlite_path("sqlite://a.db?mode=ro"), None);
        assert_eq!(super::sqlite_path("postgres://u@h/db"), None);
        assert_eq!(super::sqlite_path("sqlite://a%20b.db?mode=rwc"), Some("a b.db".into()));
    }

    /// The statements a merge runs on every batch find their rows by index, not by reading whole
    /// tables (a scan of `clusters` per merge stalled intake for up to a second).
    #[tokio::test]
    async fn merge_statements_use_indexes() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("plans.db");
        let url = format!("sqlite://{}", path.display());
        let db = super::connect(&super::StoreConfig::new(url), super::Checkpoints::Automatic).await.unwrap();
        super::migrate(&db).await.unwrap();
        let conn = rusqlite::Connection::open(&path).unwrap();
        for (sql, index) in [
            ("UPDATE clusters SET merged_into = 1 WHERE merged_into IN (2, 3)", "clusters_merged_into"),
            ("UPDATE reports SET cluster_id = 1 WHERE cluster_id IN (2, 3)", "reports_cluster"),
            ("UPDATE identifiers SET cluster_id = 1 WHERE cluster_id IN (2, 3)", "identifiers_cluster"),
        ] {
            let mut plan = conn.prepare(&format!("EXPLAIN QUERY PLAN {sql}")).unwrap();
            let steps: Vec<String> = plan.query_map([], |r| r.get(3)).unwrap().map(Result::unwrap).collect();
            assert!(steps.iter().any(|s| s.contains(index)), "{sql}: {steps:?}");
        }
    }

    /// The indicator feed reads a page from where its cursor points in the `(last_seen, id)`
    /// index, without sorting, on both databases: a bank polling a million identifiers reads one
    /// page per call, not everything before or after its cursor.
    #[tokio::test]
    async fn feed_pages_start_at_their_cursor_in_the_index() {
        use sea_orm::{ConnectionTrait, DbBackend, TransactionTrait};
        let cursor = crate::FeedCursor { last_seen: 1_700_000_000_000_000, id: 42 };
        let filter = crate::FeedFilter { kinds: vec!["iban".into(), "tel".into()], min_reports: 2 };
        let (sql, values) = crate::exports::feed_statement(cursor, &filter, 10_000);

        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("feed.db");
        let db = super::connect(
            &super::StoreConfig::new(format!("sqlite://{}", path.display())),
            super::Checkpoints::Automatic,
        )
        .await
        .unwrap();
        super::migrate(&db).await.unwrap();
        let plan = db
            .query_all_raw(super::super::statement::statement(
                DbBackend::Sqlite,
                &format!("EXPLAIN QUERY PLAN {sql}"),
                values.clone(),
            ))
            .await
            .unwrap();
        let steps: Vec<String> = plan.iter().map(|r| r.try_get_by_index::<String>(3).unwrap()).collect();
        assert!(steps.iter().any(|s| s.contains("identifiers_last_seen (last_seen>?)")), "{steps:?}");
        assert!(!steps.iter().any(|s| s.contains("TEMP B-TREE")), "{steps:?}");

        let server = std::env::var("SCAMTRAIL_TEST_POSTGRES_URL")
            .expect("SCAMTRAIL_TEST_POSTGRES_URL is not set: run the tests with `make test`, which starts PostgreSQL");
        let name = format!("store_feed_plan_{}", std::process::id());
        let admin = sea_orm::Database::connect(&server).await.unwrap();
        admin.execute_unprepared(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)")).await.unwrap();
        admin.execute_unprepared(&format!("CREATE DATABASE {name}")).await.unwrap();
        let base = server.rsplit_once('/').map_or(server.as_str(), |(base, _)| base);
        let db = super::connect(&super::StoreConfig::new(format!("{base}/{name}")), super::Checkpoints::Automatic)
            .await
            .unwrap();
        super::migrate(&db).await.unwrap();
        let txn = db.begin().await.unwrap();
        // An empty table would be read whole whatever the statement: ask for the plan a large
        // one gets, an ordered index scan.
        txn.execute_unprepared(
            "SET LOCAL enable_seqscan = off; SET LOCAL enable_sort = off; SET LOCAL enable_bitmapscan = off",
        )
        .await
        .unwrap();
        let plan = txn
            .query_all_raw(super::super::statement::statement(DbBackend::Postgres, &format!("EXPLAIN {sql}"), values))
            .await
            .unwrap();
        let lines: Vec<String> = plan.iter().map(|r| r.try_get_by_index::<String>(0).unwrap()).collect();
        txn.rollback().await.unwrap();
        db.close().await.unwrap();
        admin.execute_unprepared(&format!("DROP DATABASE {name} WITH (FORCE)")).await.unwrap();
        assert!(lines.iter().any(|l| l.contains("Index Scan using identifiers_last_seen")), "{lines:#?}");
        assert!(
            lines.iter().any(|l| l.contains("Index Cond: (ROW(last_seen, id) > ROW(")),
            "the cursor starts the index scan: {lines:#?}"
        );
        assert!(!lines.iter().any(|l| l.contains("Sort")), "{lines:#?}");
    }
}
