//! PostgreSQL's LISTEN/NOTIFY, the wake-up by which instances sharing one database hear of each
//! other's commits (the payloads are small; what matters is kept in tables).

use sea_orm::sqlx::postgres::PgListener;
use sea_orm::{ConnectionTrait, DbBackend, DbErr};

use super::Pool;
use super::statement::statement;

/// The largest payload PostgreSQL takes is 8,000 bytes; we stay below it.
pub(crate) const MAX_PAYLOAD_BYTES: usize = 7_900;

impl Pool {
    /// Sends `payload` to every session listening on `channel` (PostgreSQL only).
    pub(crate) async fn notify(&self, channel: &str, payload: &str) -> Result<(), DbErr> {
        let db = self.connection();
        db.execute_raw(statement(DbBackend::Postgres, "SELECT pg_notify(?, ?)", vec![channel.into(), payload.into()]))
            .await?;
        Ok(())
    }
}

/// A session listening on one channel, on a connection of its own from the pool's settings.
pub(crate) struct Listener {
    inner: PgListener,
}

/// What a listener heard.
pub(crate) enum Heard {
    /// A notification's payload.
    Payload(String),
    /// The connection was lost and is being made again: notifications sent meanwhile are lost.
    Reconnected,
}

impl Listener {
    /// Listens on `channel` with a connection of `pool`'s database (PostgreSQL only).
    pub(crate) async fn listen(pool: &Pool, channel: &str) -> Result<Listener, DbErr> {
        let pg = pool.connection().get_postgres_connection_pool();
        let mut inner = PgListener::connect_with(pg).await.map_err(|e| DbErr::Custom(format!("listen: {e}")))?;
        inner.listen(channel).await.map_err(|e| DbErr::Custom(format!("listen {channel}: {e}")))?;
        Ok(Listener { inner })
    }

    /// The next notification, or news that the connection was lost (the listener reconnects
    /// by itself on the next call).
    pub(crate) async fn next(&mut self) -> Result<Heard, DbErr> {
        match self.inner.try_recv().await {
            Ok(Some(n)) => Ok(Heard::Payload(n.payload().to_owned())),
            Ok(None) => Ok(Heard::Reconnected),
            Err(e) => Err(DbErr::Custom(format!("listen: {e}"))),
        }
    }
}
