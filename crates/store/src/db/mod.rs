//! The only module that knows the database drivers (sea-orm over sqlx, and rusqlite for a SQLite
//! file's own connections). The rest of the store calls the typed functions re-exported here and
//! never touches a driver type or a row by index; a test (`tests/layers.rs`) checks it.
//!
//! - [`settings`]: the SQLite settings, one list for every connection to a file.
//! - [`connect`]: opening a pool, migrations, the checkpointer.
//! - [`statement`]: SQL with `?` placeholders, numbered for PostgreSQL.
//! - [`row`]: [`FromRow`], one row type read from either driver.
//! - [`reader`]: where the hot reads run ([`Reader`]).
//! - [`tx`]: the write transaction on either executor ([`Tx`]) and the one place it begins.
//! - [`pool`]: the pool and its typed reads.
//! - [`notify`]: PostgreSQL's LISTEN/NOTIFY, how instances sharing a database hear of each other.
//! - [`bulk`]: statements over many rows (chunked inserts, IN lists, `CASE` updates, row locks).
//! - [`entity`] and [`records`]: the tables' rows, and new rows built from core types.

mod bulk;
mod connect;
pub(crate) mod entity;
mod notify;
mod pool;
mod reader;
pub(crate) mod records;
mod row;
mod settings;
mod statement;
mod tx;

/// What the database (or a driver) reports as going wrong.
pub use sea_orm::DbErr;
/// A value bound to a statement's placeholder.
pub(crate) use sea_orm::Value;

pub(crate) use bulk::{execute_case_columns, execute_cases, execute_in, insert_chunked, lock_clusters};
pub(crate) use connect::{backup_sqlite, spawn_checkpointer};
pub(crate) use notify::{Heard, Listener, MAX_PAYLOAD_BYTES};
pub(crate) use pool::{Pool, ReportKey, ReportRows};
pub(crate) use reader::Reader;
pub(crate) use row::IdentifierWithLoss;
pub(crate) use settings::Checkpoints;
pub(crate) use statement::{IN_CHUNK, placeholders};
pub(crate) use tx::{Intent, Tx, Writer};
