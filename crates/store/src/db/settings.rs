//! The SQLite settings: one list for every connection the store opens to a file, whichever
//! driver opens it (the pool's sqlx connections, the serial writers' and the readers' own
//! rusqlite connections, the checkpointer's).

use std::time::Duration;

/// Who checkpoints a SQLite file's write-ahead log into the database file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Checkpoints {
    /// SQLite, in the commit that crosses its threshold (the command-line tools).
    Automatic,
    /// The store's checkpointer thread (`connect::spawn_checkpointer`); commits never do.
    Background,
}

/// How long a connection waits for another's lock before it fails.
pub(crate) const BUSY_TIMEOUT: Duration = Duration::from_secs(10);

/// The pragmas of every connection that commits to a SQLite file: WAL with `synchronous=FULL`
/// (an acknowledged commit survives power loss, not only a crash), and foreign keys.
const DURABLE: [(&str, &str); 3] = [("journal_mode", "WAL"), ("synchronous", "FULL"), ("foreign_keys", "ON")];

/// Content a statement removes or replaces is overwritten with zeros, so that a value sealed or
/// erased since (victims' personal data written before sealing, an erased report) does not stay
/// readable in a page's free space or in free pages of the file and its log. Rows are mostly
/// added, so this costs little.
const ERASING: [(&str, &str); 1] = [("secure_delete", "ON")];

/// What a store that checkpoints in the background adds: no commit checkpoints, and the log file
/// is cut back to 64 MiB when a checkpoint lets it start over.
const BACKGROUND: [(&str, &str); 2] = [("wal_autocheckpoint", "0"), ("journal_size_limit", "67108864")];

/// The pragmas, in the order they are applied, of a connection that commits.
pub(crate) fn pragmas(checkpoints: Checkpoints) -> impl Iterator<Item = (&'static str, &'static str)> {
    let background: &[(&str, &str)] = match checkpoints {
        Checkpoints::Automatic => &[],
        Checkpoints::Background => &BACKGROUND,
    };
    DURABLE.into_iter().chain(ERASING).chain(background.iter().copied())
}

/// Applies the settings to a connection of the store's own (a serial writer's, a reader's, the
/// checkpointer's): the pragmas when it commits (`checkpoints` given), the busy timeout, and one
/// plan per statement whatever its bound values (otherwise SQLite prepares a cached statement
/// again on every execution whose values could change its plan: a bound value compared with a
/// partial index's condition, or sampled statistics).
pub(crate) fn apply(conn: &rusqlite::Connection, checkpoints: Option<Checkpoints>) -> rusqlite::Result<()> {
    conn.busy_timeout(BUSY_TIMEOUT)?;
    for (pragma, value) in checkpoints.into_iter().flat_map(pragmas) {
        conn.pragma_update(None, pragma, value)?;
    }
    conn.set_db_config(rusqlite::config::DbConfig::SQLITE_DBCONFIG_ENABLE_QPSG, true)?;
    Ok(())
}
