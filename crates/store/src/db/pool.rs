//! The connection pool (sea-orm over sqlx), with what the store needs of it: reads and single
//! statements, transactions ([`Pool::transaction`]), the serial writers' connections
//! ([`Pool::writer`]) and the readers ([`Pool::reader`]).

use std::path::{Path, PathBuf};

use sea_orm::{ConnectionTrait, DatabaseConnection, DbBackend, DbErr, Value};

use super::connect;
use super::reader::{Reader, pool_fetch, sqlite_file};
use super::row::FromRow;
use super::settings::Checkpoints;
use super::statement::statement;
use super::tx::{Intent, SqliteWriter, Tx, Writer, transaction};
use crate::config::StoreConfig;

/// The store's pool of connections to its database, and the SQLite file it is, if one.
#[derive(Clone)]
pub(crate) struct Pool {
    db: DatabaseConnection,
    file: Option<PathBuf>,
}

impl Pool {
    /// Connects (see `connect::connect`), and applies pending migrations when `migrate`.
    pub(crate) async fn open(config: &StoreConfig, checkpoints: Checkpoints, migrate: bool) -> Result<Self, DbErr> {
        let db = connect::connect(config, checkpoints).await?;
        if migrate {
            connect::migrate(&db).await?;
        }
        let file = sqlite_file(&db).await?;
        Ok(Self { db, file })
    }

    /// The SQLite file, when the store runs on one.
    pub(crate) fn file(&self) -> Option<&Path> {
        self.file.as_deref()
    }

    /// Whether the database is PostgreSQL.
    pub(crate) fn is_postgres(&self) -> bool {
        self.db.get_database_backend() == DbBackend::Postgres
    }

    /// The rows of a query (`?` placeholders), as `T`.
    pub(crate) async fn fetch<T: FromRow>(&self, sql: &str, values: Vec<Value>) -> Result<Vec<T>, DbErr> {
        pool_fetch(&self.db, sql, values).await
    }

    /// Runs a statement (`?` placeholders) outside any transaction and returns the rows it affected.
    pub(crate) async fn execute(&self, sql: &str, values: Vec<Value>) -> Result<u64, DbErr> {
        Ok(self.db.execute_raw(statement(self.db.get_database_backend(), sql, values)).await?.rows_affected())
    }

    /// Runs `work` in one transaction for `intent`: committed if it succeeds, rolled back if not.
    pub(crate) async fn transaction<T, E: From<DbErr>>(
        &self,
        intent: Intent,
        work: impl AsyncFnOnce(Tx<'_>) -> Result<T, E>,
    ) -> Result<T, E> {
        transaction(&self.db, intent, work).await
    }

    /// Where a serial writer's transactions run: on a SQLite file, a connection of its own for
    /// `purpose` (see [`SqliteWriter`]); else the pool.
    pub(crate) fn writer(&self, checkpoints: Checkpoints, purpose: &'static str) -> Result<Writer, DbErr> {
        Ok(match &self.file {
            Some(file) => Writer::Own(SqliteWriter::open(file, checkpoints, purpose)?),
            None => Writer::Pool(self.db.clone()),
        })
    }

    /// A serial writer on the pool, whatever the database (when a connection of its own fails).
    pub(crate) fn pool_writer(&self) -> Writer {
        Writer::Pool(self.db.clone())
    }

    /// Where the hot reads run: the store's own read-only connections to a SQLite file, else the pool.
    pub(crate) fn reader(&self) -> Reader {
        Reader::new(&self.db, self.file.clone())
    }

    /// The pool's connections: (open, idle). The serial writers' and readers' own connections to
    /// a SQLite file are not the pool's.
    pub(crate) fn connections(&self) -> (u32, u32) {
        let (size, idle) = match self.db.get_database_backend() {
            DbBackend::Postgres => {
                let pool = self.db.get_postgres_connection_pool();
                (pool.size(), pool.num_idle())
            }
            _ => {
                let pool = self.db.get_sqlite_connection_pool();
                (pool.size(), pool.num_idle())
            }
        };
        (size, u32::try_from(idle).unwrap_or(u32::MAX))
    }

    /// Checks that the database answers.
    pub(crate) async fn ping(&self) -> Result<(), DbErr> {
        self.db.ping().await
    }

    /// Closes the pool's connections.
    pub(crate) async fn close(self) -> Result<(), DbErr> {
        self.db.close().await
    }

    /// The report with this id or reference, as its rows: the report, its victim, payments (by
    /// position) and identifiers (by id).
    pub(crate) async fn report_rows(&self, which: ReportKey<'_>) -> Result<Option<ReportRows>, DbErr> {
        use super::entity::{payment, report, report_identifier, report_victim};
        use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, QueryOrder};
        let db = &self.db;
        let row = match which {
            ReportKey::Id(id) => report::Entity::find_by_id(id).one(db).await?,
            ReportKey::Reference(reference) => {
                report::Entity::find().filter(report::Column::Reference.eq(reference)).one(db).await?
            }
        };
        let Some(row) = row else { return Ok(None) };
        let victim = report_victim::Entity::find_by_id(row.id).one(db).await?;
        let payments = payment::Entity::find()
            .filter(payment::Column::ReportId.eq(row.id))
            .order_by_asc(payment::Column::Position)
            .all(db)
            .await?;
        let identifiers = report_identifier::Entity::find()
            .filter(report_identifier::Column::ReportId.eq(row.id))
            .order_by_asc(report_identifier::Column::Id)
            .all(db)
            .await?;
        Ok(Some(ReportRows { report: row, victim, payments, identifiers }))
    }

    /// One identifier row by canonical key.
    pub(crate) async fn identifier(&self, key: &str) -> Result<Option<super::entity::identifier::Model>, DbErr> {
        use super::entity::identifier;
        use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};
        identifier::Entity::find().filter(identifier::Column::Key.eq(key)).one(&self.db).await
    }

    /// The pool itself, for the rest of `db` (and its tests).
    pub(super) fn connection(&self) -> &DatabaseConnection {
        &self.db
    }
}

/// How a report is looked up.
#[derive(Debug, Clone, Copy)]
pub(crate) enum ReportKey<'a> {
    /// By id.
    Id(i64),
    /// By human reference.
    Reference(&'a str),
}

/// A stored report's rows.
pub(crate) struct ReportRows {
    /// The report.
    pub report: super::entity::report::Model,
    /// Its victim, if it has one.
    pub victim: Option<super::entity::report_victim::Model>,
    /// Its payments, by position.
    pub payments: Vec<super::entity::payment::Model>,
    /// Its identifiers, by id.
    pub identifiers: Vec<super::entity::report_identifier::Model>,
}
