//! Users, sessions, API keys and the audit trail.
//!
//! The store keeps only hashes: argon2id strings for passwords (made by the server), SHA-256 of
//! session tokens and API keys (random 256-bit values, for which a fast hash is enough). Audit
//! events are appended one transaction at a time, each chained to the last stored one by its MAC
//! under the server's audit key ([`AuditEvent::chain_hash`]); on PostgreSQL an advisory lock makes
//! appends from several instances queue, so the chain never forks.

use scamtrail_core::{AUDIT_GENESIS, AuditEvent, AuditKey, AuditVerdict, ChainCheck, Checkpoint, Role, UnixMicros};
use sea_orm::{DatabaseConnection, DbBackend, DbErr, QueryResult, TransactionTrait, Value};

use crate::fetch::FromRow;
use crate::tx::{SqliteWriter, Tx};
use crate::{StoreConfig, StoreError, connect, sql, writer};

/// Key of the PostgreSQL advisory lock held while appending to the audit trail.
const AUDIT_LOCK: i64 = 0x4155_4449_5453; // "AUDITS" in ASCII

/// A user who signs in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct User {
    /// Row id.
    pub id: i64,
    /// Sign-in name.
    pub name: String,
    /// Role.
    pub role: Role,
    /// A liaison's agency.
    pub agency: Option<String>,
    /// The argon2id hash of the password.
    pub password_hash: String,
    /// Whether the user may no longer sign in.
    pub disabled: bool,
}

/// A system's API key, without its secret.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiKey {
    /// Unique name, e.g. `frontend-eu`.
    pub name: String,
    /// Role.
    pub role: Role,
    /// A liaison key's agency.
    pub agency: Option<String>,
    /// When it was made.
    pub created_at: UnixMicros,
    /// When it was revoked, if it was.
    pub revoked_at: Option<UnixMicros>,
    /// When it was last used (updated at most once a minute).
    pub last_used_at: Option<UnixMicros>,
    /// The browser origins it may be used from; empty: not bound to any (`m0007`).
    pub origins: Vec<String>,
}

/// Who a bearer token belongs to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Credential {
    /// `session` or `key`: which table the token is in.
    pub kind: CredentialKind,
    /// The session's or key's row id.
    pub id: i64,
    /// The user name, or `key:NAME`.
    pub actor: String,
    /// Role.
    pub role: Role,
    /// A liaison's agency.
    pub agency: Option<String>,
    /// When a session ends by itself.
    pub expires_at: Option<UnixMicros>,
    /// A key's allowed browser origins; empty for sessions and unbound keys (`m0007`).
    pub origins: Vec<String>,
}

/// What kind of token authenticated a call.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CredentialKind {
    /// A signed-in user's session.
    Session,
    /// A system's API key.
    Key,
}

/// What a server starting on a trail found at its end ([`Access::seal_audit_trail`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AuditSeal {
    /// The trail is empty.
    Empty,
    /// The newest event is signed with the key.
    Keyed,
    /// The newest event was from before the key, which is new; this keyed event now vouches for
    /// the trail.
    Sealed(i64),
    /// The newest event (this sequence) has a plain hash although the key existed already: the
    /// trail was rewritten without the key. Nothing is appended after it.
    Unkeyed(i64),
    /// The newest event (this sequence) is neither keyed with this key nor from before the key:
    /// another key file, or a changed row. Nothing is appended after it.
    Foreign(i64),
}

/// Appends audit events in batches: a task takes every event waiting, appends them in one
/// transaction and answers each caller after the commit (group commit, as for reports), so
/// audited reads cost one durable commit per batch rather than per call.
#[derive(Clone)]
pub struct AuditLog {
    tx: tokio::sync::mpsc::Sender<(AuditEvent, tokio::sync::oneshot::Sender<Result<(), String>>)>,
}

/// Events appended in one transaction at most.
const AUDIT_BATCH_MAX: usize = 512;
/// How long events nobody waits for may wait for others to share their commit.
const AUDIT_LINGER: std::time::Duration = std::time::Duration::from_millis(20);

impl AuditLog {
    /// Appends one event; answers after the commit that holds it.
    pub async fn append(&self, event: AuditEvent) -> Result<(), StoreError> {
        let (reply, answer) = tokio::sync::oneshot::channel();
        self.tx.send((event, reply)).await.map_err(|_| StoreError::Closed)?;
        answer.await.map_err(|_| StoreError::Closed)?.map_err(StoreError::Audit)
    }

    /// Queues one event for the next batch without waiting for its commit (waiting only while
    /// the queue is full). Events are written in the order they are queued, so an event appended
    /// later with [`AuditLog::append`] answers only once this one is written too.
    pub async fn record(&self, event: AuditEvent) -> Result<(), StoreError> {
        let (reply, _unheard) = tokio::sync::oneshot::channel();
        self.tx.send((event, reply)).await.map_err(|_| StoreError::Closed)
    }
}

/// The access tables, on a pool of their own or the server's.
#[derive(Clone)]
pub struct Access {
    db: DatabaseConnection,
    /// Keys the audit chain.
    key: AuditKey,
    /// The store's SQLite file, when a server's store opened it (its audit writer appends
    /// through a connection of its own).
    file: Option<std::path::PathBuf>,
}

fn role_of(name: &str) -> Result<Role, StoreError> {
    name.parse().map_err(|e: scamtrail_core::UnknownName| StoreError::Corrupt(e.to_string()))
}

fn is_unique_violation(e: &DbErr) -> bool {
    let text = e.to_string().to_ascii_lowercase();
    text.contains("unique") || text.contains("duplicate key")
}

impl Access {
    pub(crate) fn new(db: DatabaseConnection, file: Option<std::path::PathBuf>, key: AuditKey) -> Self {
        Self { db, key, file }
    }

    /// Starts the batching audit writer ([`AuditLog`]) on a thread of its own; it stops when
    /// every handle is dropped. On the store's SQLite file it appends through a connection of its
    /// own, as the report writer does ([`crate::tx`]): audited reads wait for its commits.
    pub fn audit_log(&self) -> AuditLog {
        let (tx, mut rx) = tokio::sync::mpsc::channel::<(AuditEvent, tokio::sync::oneshot::Sender<Result<(), String>>)>(
            AUDIT_BATCH_MAX * 4,
        );
        let own = self.file.as_deref().and_then(|file| match SqliteWriter::open(file, connect::Checkpoints::Background, "audit trail") {
            Ok(own) => Some(own),
            Err(e) => {
                tracing::warn!(error = %e, "audit appends go through the pool: cannot open a connection of their own");
                None
            }
        });
        let access = self.clone();
        let run = move || async move {
            let mut batch = Vec::with_capacity(AUDIT_BATCH_MAX);
            while rx.recv_many(&mut batch, AUDIT_BATCH_MAX).await > 0 {
                // Events nobody waits for (queued with `record`) linger for company: one commit
                // for many keeps the trail from taking SQLite's write lock from the report writer
                // hundreds of times a second. An event someone waits for ends the wait.
                let lingering_until = tokio::time::Instant::now() + AUDIT_LINGER;
                while batch.len() < AUDIT_BATCH_MAX && batch.iter().all(|(_, reply)| reply.is_closed()) {
                    let room = AUDIT_BATCH_MAX - batch.len();
                    match tokio::time::timeout_at(lingering_until, rx.recv_many(&mut batch, room)).await {
                        Ok(0) | Err(_) => break,
                        Ok(_) => {}
                    }
                }
                let (mut events, replies): (Vec<AuditEvent>, Vec<_>) = batch.drain(..).unzip();
                let result = match &own {
                    Some(own) => own
                        .transaction(async |tx| append_in(tx, &access.key, &mut events).await)
                        .await
                        .map_err(Into::into),
                    None => access.append_audit(&mut events).await,
                };
                let result = result.map_err(|e| e.to_string());
                for reply in replies {
                    let _ = reply.send(result.clone());
                }
            }
        };
        if let Err(e) = crate::tx::spawn_thread("scamtrail-audit", run) {
            tracing::error!(error = %e, "cannot start the audit writer: audited calls will fail");
        }
        AuditLog { tx }
    }

    /// Connects and applies pending migrations (for the `scamtrail user|key|audit` commands).
    pub async fn open(config: &StoreConfig, key: AuditKey) -> Result<Self, StoreError> {
        let db = connect::connect(config, connect::Checkpoints::Automatic).await?;
        connect::migrate(&db).await?;
        Ok(Self { db, key, file: None })
    }

    /// Creates a user; `AlreadyExists` if the name is taken.
    pub async fn create_user(
        &self,
        name: &str,
        role: Role,
        agency: Option<&str>,
        password_hash: &str,
    ) -> Result<i64, StoreError> {
        let rows = sql::query(
            &self.db,
            "INSERT INTO users (name, role, agency, password_hash, created_at) VALUES (?, ?, ?, ?, ?) RETURNING id",
            vec![
                name.into(),
                role.as_str().into(),
                agency.map(str::to_owned).into(),
                password_hash.into(),
                UnixMicros::now().0.into(),
            ],
        )
        .await
        .map_err(|e| if is_unique_violation(&e) { StoreError::AlreadyExists("user") } else { e.into() })?;
        Ok(rows.first().ok_or(StoreError::NotFound("user"))?.try_get_by_index(0)?)
    }

    /// A user by sign-in name.
    pub async fn user(&self, name: &str) -> Result<Option<User>, StoreError> {
        let rows = sql::query(
            &self.db,
            "SELECT id, name, role, agency, password_hash, disabled_at FROM users WHERE name = ?",
            vec![name.into()],
        )
        .await?;
        let Some(r) = rows.first() else { return Ok(None) };
        Ok(Some(User {
            id: r.try_get_by_index(0)?,
            name: r.try_get_by_index(1)?,
            role: role_of(&r.try_get_by_index::<String>(2)?)?,
            agency: r.try_get_by_index(3)?,
            password_hash: r.try_get_by_index(4)?,
            disabled: r.try_get_by_index::<Option<i64>>(5)?.is_some(),
        }))
    }

    /// Disables a user and ends its sessions; false if there is no such user.
    pub async fn disable_user(&self, name: &str) -> Result<bool, StoreError> {
        let now = UnixMicros::now().0;
        let txn = writer::begin(&self.db).await?;
        let changed = sql::execute(
            &txn,
            "UPDATE users SET disabled_at = ? WHERE name = ? AND disabled_at IS NULL",
            vec![now.into(), name.into()],
        )
        .await?;
        sql::execute(
            &txn,
            "UPDATE sessions SET ended_at = ? WHERE ended_at IS NULL AND user_id IN (SELECT id FROM users WHERE name = ?)",
            vec![now.into(), name.into()],
        )
        .await?;
        txn.commit().await?;
        Ok(changed > 0)
    }

    /// Starts a session for a user.
    pub async fn create_session(
        &self,
        user_id: i64,
        token_hash: &str,
        expires_at: UnixMicros,
    ) -> Result<(), StoreError> {
        sql::execute(
            &self.db,
            "INSERT INTO sessions (token_hash, user_id, created_at, expires_at) VALUES (?, ?, ?, ?)",
            vec![token_hash.into(), user_id.into(), UnixMicros::now().0.into(), expires_at.0.into()],
        )
        .await?;
        Ok(())
    }

    /// Ends a session.
    pub async fn end_session(&self, id: i64) -> Result<(), StoreError> {
        sql::execute(
            &self.db,
            "UPDATE sessions SET ended_at = ? WHERE id = ? AND ended_at IS NULL",
            vec![UnixMicros::now().0.into(), id.into()],
        )
        .await?;
        Ok(())
    }

    /// Stores a new API key's hash; `AlreadyExists` if the name is taken.
    pub async fn create_key(
        &self,
        name: &str,
        role: Role,
        agency: Option<&str>,
        key_hash: &str,
    ) -> Result<(), StoreError> {
        sql::execute(
            &self.db,
            "INSERT INTO api_keys (name, role, agency, key_hash, created_at) VALUES (?, ?, ?, ?, ?)",
            vec![
                name.into(),
                role.as_str().into(),
                agency.map(str::to_owned).into(),
                key_hash.into(),
                UnixMicros::now().0.into(),
            ],
        )
        .await
        .map_err(|e| if is_unique_violation(&e) { StoreError::AlreadyExists("key") } else { e.into() })?;
        Ok(())
    }

    /// Revokes a key; false if there is no such live key.
    pub async fn revoke_key(&self, name: &str) -> Result<bool, StoreError> {
        let changed = sql::execute(
            &self.db,
            "UPDATE api_keys SET revoked_at = ? WHERE name = ? AND revoked_at IS NULL",
            vec![UnixMicros::now().0.into(), name.into()],
        )
        .await?;
        Ok(changed > 0)
    }

    /// Every key, by name.
    pub async fn keys(&self) -> Result<Vec<ApiKey>, StoreError> {
        let rows = sql::query(
            &self.db,
            "SELECT name, role, agency, created_at, revoked_at, last_used_at, origins FROM api_keys ORDER BY name",
            vec![],
        )
        .await?;
        rows.iter()
            .map(|r| {
                Ok(ApiKey {
                    name: r.try_get_by_index(0)?,
                    role: role_of(&r.try_get_by_index::<String>(1)?)?,
                    agency: r.try_get_by_index(2)?,
                    created_at: UnixMicros(r.try_get_by_index(3)?),
                    revoked_at: r.try_get_by_index::<Option<i64>>(4)?.map(UnixMicros),
                    last_used_at: r.try_get_by_index::<Option<i64>>(5)?.map(UnixMicros),
                    origins: origins_of(r.try_get_by_index(6)?),
                })
            })
            .collect()
    }

    /// The live credential whose token hashes to `token_hash`, if any.
    pub async fn credential(&self, kind: CredentialKind, token_hash: &str) -> Result<Option<Credential>, StoreError> {
        let now = UnixMicros::now().0;
        let (text, values): (&str, Vec<Value>) = match kind {
            CredentialKind::Session => (
                "SELECT s.id, u.name, u.role, u.agency, s.expires_at, NULL FROM sessions s JOIN users u ON u.id = s.user_id \
                 WHERE s.token_hash = ? AND s.ended_at IS NULL AND s.expires_at > ? AND u.disabled_at IS NULL",
                vec![token_hash.into(), now.into()],
            ),
            CredentialKind::Key => (
                "SELECT id, name, role, agency, NULL, origins FROM api_keys WHERE key_hash = ? AND revoked_at IS NULL",
                vec![token_hash.into()],
            ),
        };
        let rows = sql::query(&self.db, text, values).await?;
        let Some(r) = rows.first() else { return Ok(None) };
        let name: String = r.try_get_by_index(1)?;
        Ok(Some(Credential {
            kind,
            id: r.try_get_by_index(0)?,
            actor: match kind {
                CredentialKind::Session => name,
                CredentialKind::Key => format!("key:{name}"),
            },
            role: role_of(&r.try_get_by_index::<String>(2)?)?,
            agency: r.try_get_by_index(3)?,
            expires_at: r.try_get_by_index::<Option<i64>>(4)?.map(UnixMicros),
            origins: origins_of(r.try_get_by_index(5)?),
        }))
    }

    /// Binds a key to browser origins (canonical `scheme://host[:port]`, checked by the caller),
    /// replacing any it had; none unbinds it. False if there is no such live key.
    pub async fn set_key_origins(&self, name: &str, origins: &[String]) -> Result<bool, StoreError> {
        // Origins hold no spaces, so one space-separated column keeps the change to one table.
        let stored = (!origins.is_empty()).then(|| origins.join(" "));
        let changed = sql::execute(
            &self.db,
            "UPDATE api_keys SET origins = ? WHERE name = ? AND revoked_at IS NULL",
            vec![stored.into(), name.into()],
        )
        .await?;
        Ok(changed > 0)
    }

    /// Records that a key was used now.
    pub async fn touch_key(&self, id: i64) -> Result<(), StoreError> {
        sql::execute(
            &self.db,
            "UPDATE api_keys SET last_used_at = ? WHERE id = ?",
            vec![UnixMicros::now().0.into(), id.into()],
        )
        .await?;
        Ok(())
    }

    /// Appends events to the audit trail in one transaction, numbering and chaining them after
    /// the last stored event (the `sequence` given is ignored).
    pub async fn append_audit(&self, events: &mut [AuditEvent]) -> Result<(), StoreError> {
        if events.is_empty() {
            return Ok(());
        }
        let txn = writer::begin(&self.db).await?;
        append_in(&Tx::Orm(&txn), &self.key, events).await?;
        txn.commit().await?;
        Ok(())
    }

    /// Run when a server or command opens the trail: says whether its newest event is signed with
    /// the key. When it is from before the key (a plain SHA-256 hash) and `key_is_new` (the key
    /// file was created just now, by this process), appends a keyed event after it, which vouches
    /// for every event before it (see `scamtrail_core`'s audit rules). Only a new key may seal: a
    /// trail that ends unkeyed under a key that existed before was rewritten without it.
    pub async fn seal_audit_trail(&self, key_is_new: bool) -> Result<AuditSeal, StoreError> {
        let txn = writer::begin(&self.db).await?;
        let tx = Tx::Orm(&txn);
        lock_trail(&tx).await?;
        let seal = match newest_event(&tx).await? {
            None => AuditSeal::Empty,
            Some(row) => match row.hashed(&self.key) {
                Hashed::WithKey => AuditSeal::Keyed,
                Hashed::Plain if key_is_new => {
                    let target = format!("audit_event:{}", row.event.sequence);
                    let mut seal =
                        [AuditEvent::now("server", "server", "audit key in use", vec![target], "local", "OK")];
                    insert_chained(&tx, &self.key, (row.event.sequence, row.hash), &mut seal).await?;
                    AuditSeal::Sealed(seal[0].sequence)
                }
                Hashed::Plain => AuditSeal::Unkeyed(row.event.sequence),
                Hashed::Otherwise => AuditSeal::Foreign(row.event.sequence),
            },
        };
        txn.commit().await?;
        Ok(seal)
    }

    /// Events after `after`, oldest first, at most `limit`, optionally of one actor; with each its
    /// stored hash.
    pub async fn audit_events(
        &self,
        after: i64,
        limit: u64,
        actor: Option<&str>,
    ) -> Result<Vec<(AuditEvent, String)>, StoreError> {
        let mut values: Vec<Value> = vec![after.into()];
        let mut text = format!("SELECT {AUDIT_COLUMNS} FROM audit_events WHERE sequence > ?");
        if let Some(actor) = actor {
            text.push_str(" AND actor = ?");
            values.push(actor.into());
        }
        text.push_str(&format!(" ORDER BY sequence LIMIT {limit}"));
        let rows = sql::query(&self.db, &text, values).await?;
        rows.iter().map(|r| AuditRow::from_orm(r).map(|row| (row.event, row.hash)).map_err(Into::into)).collect()
    }

    /// Walks the whole trail in one read transaction, recomputing each MAC from the previous
    /// hash ([`ChainCheck`]): a changed row, a removed row (a gap in the sequence), a re-chained
    /// row or one written without the key shows as the first broken event, and each kept
    /// checkpoint the trail no longer holds as a fault.
    pub async fn verify_audit(&self, checkpoints: &[Checkpoint]) -> Result<AuditVerdict, StoreError> {
        let txn = self.db.begin().await?;
        let mut check = ChainCheck::new(&self.key, checkpoints);
        'pages: loop {
            let text =
                format!("SELECT {AUDIT_COLUMNS} FROM audit_events WHERE sequence >= ? ORDER BY sequence LIMIT 5000");
            let rows = sql::query(&txn, &text, vec![check.next_sequence().into()]).await?;
            if rows.is_empty() {
                break;
            }
            for r in &rows {
                let row = AuditRow::from_orm(r)?;
                if !check.push(&row.event, &row.prev_hash, &row.hash) {
                    break 'pages;
                }
            }
        }
        txn.commit().await?;
        Ok(check.finish())
    }
}

/// The columns [`AuditRow`] reads, in its order.
const AUDIT_COLUMNS: &str = "sequence, at, actor, role, action, targets, peer, outcome, prev_hash, hash";

/// A stored event with its stored previous hash and hash.
struct AuditRow {
    event: AuditEvent,
    prev_hash: String,
    hash: String,
}

/// How a stored event's hash was made, as far as its own row shows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Hashed {
    /// Its MAC under the key.
    WithKey,
    /// The plain SHA-256 of an event from before the key.
    Plain,
    /// Neither: another key, or a changed row.
    Otherwise,
}

impl AuditRow {
    fn hashed(&self, key: &AuditKey) -> Hashed {
        if self.event.chain_hash(key, &self.prev_hash) == self.hash {
            Hashed::WithKey
        } else if self.event.unkeyed_chain_hash(&self.prev_hash) == self.hash {
            Hashed::Plain
        } else {
            Hashed::Otherwise
        }
    }

    fn new(fields: (i64, i64, String, String, String, String, String, String, String, String)) -> Result<Self, String> {
        let (sequence, at, actor, role, action, targets, peer, outcome, prev_hash, hash) = fields;
        let targets = serde_json::from_str(&targets).map_err(|e| format!("audit event {sequence}'s targets: {e}"))?;
        let event = AuditEvent { sequence, at: UnixMicros(at), actor, role, action, targets, peer, outcome };
        Ok(Self { event, prev_hash, hash })
    }
}

impl FromRow for AuditRow {
    fn from_orm(r: &QueryResult) -> Result<Self, DbErr> {
        let fields = (
            r.try_get_by_index(0)?,
            r.try_get_by_index(1)?,
            r.try_get_by_index(2)?,
            r.try_get_by_index(3)?,
            r.try_get_by_index(4)?,
            r.try_get_by_index(5)?,
            r.try_get_by_index(6)?,
            r.try_get_by_index(7)?,
            r.try_get_by_index(8)?,
            r.try_get_by_index(9)?,
        );
        Self::new(fields).map_err(DbErr::Custom)
    }

    fn sqlite_columns(_: &rusqlite::Statement<'_>) -> rusqlite::Result<Vec<usize>> {
        Ok((0..10).collect())
    }

    fn from_sqlite(r: &rusqlite::Row<'_>, _: &[usize]) -> rusqlite::Result<Self> {
        let fields = (
            r.get(0)?,
            r.get(1)?,
            r.get(2)?,
            r.get(3)?,
            r.get(4)?,
            r.get(5)?,
            r.get(6)?,
            r.get(7)?,
            r.get(8)?,
            r.get(9)?,
        );
        Self::new(fields)
            .map_err(|e| rusqlite::Error::FromSqlConversionFailure(5, rusqlite::types::Type::Text, e.into()))
    }
}

/// Makes appends from several instances queue (PostgreSQL; SQLite's write lock already does).
async fn lock_trail(txn: &Tx<'_>) -> Result<(), DbErr> {
    if txn.backend() == DbBackend::Postgres {
        txn.execute("SELECT pg_advisory_xact_lock(?)", vec![AUDIT_LOCK.into()]).await?;
    }
    Ok(())
}

/// The newest stored event.
async fn newest_event(txn: &Tx<'_>) -> Result<Option<AuditRow>, DbErr> {
    let text = format!("SELECT {AUDIT_COLUMNS} FROM audit_events ORDER BY sequence DESC LIMIT 1");
    Ok(txn.fetch::<AuditRow>(&text, vec![]).await?.into_iter().next())
}

/// Appends events in the transaction `txn`; see [`Access::append_audit`]. Chains only onto an
/// event signed with the key: appending after a forged or foreign newest event would vouch for it.
async fn append_in(txn: &Tx<'_>, key: &AuditKey, events: &mut [AuditEvent]) -> Result<(), DbErr> {
    if events.is_empty() {
        return Ok(());
    }
    lock_trail(txn).await?;
    let after = match newest_event(txn).await? {
        None => (0, AUDIT_GENESIS.to_owned()),
        Some(row) if row.hashed(key) == Hashed::WithKey => (row.event.sequence, row.hash),
        Some(row) => {
            return Err(DbErr::Custom(format!(
                "the newest audit event ({}) is not signed with the audit key: the trail was changed, or \
                 this is not the key file the trail was written with; nothing is appended after it",
                row.event.sequence
            )));
        }
    };
    insert_chained(txn, key, after, events).await
}

/// Numbers `events` and chains them after the event `after` (sequence, hash).
async fn insert_chained(
    txn: &Tx<'_>,
    key: &AuditKey,
    after: (i64, String),
    events: &mut [AuditEvent],
) -> Result<(), DbErr> {
    let (mut sequence, mut prev) = after;
    let mut rows: Vec<Vec<Value>> = Vec::with_capacity(events.len());
    for event in events.iter_mut() {
        sequence += 1;
        event.sequence = sequence;
        let hash = event.chain_hash(key, &prev);
        rows.push(vec![
            sequence.into(),
            event.at.0.into(),
            event.actor.clone().into(),
            event.role.clone().into(),
            event.action.clone().into(),
            serde_json::to_string(&event.targets).unwrap_or_default().into(),
            event.peer.clone().into(),
            event.outcome.clone().into(),
            prev.clone().into(),
            hash.clone().into(),
        ]);
        prev = hash;
    }
    // One statement per 100 events (1,000 parameters), not one per event.
    for chunk in rows.chunks(100) {
        let text = format!(
            "INSERT INTO audit_events ({AUDIT_COLUMNS}) VALUES {}",
            vec!["(?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"; chunk.len()].join(", ")
        );
        txn.execute(&text, chunk.concat()).await?;
    }
    Ok(())
}

/// The origins of an `api_keys.origins` value.
fn origins_of(stored: Option<String>) -> Vec<String> {
    stored.map(|s| s.split_whitespace().map(str::to_owned).collect()).unwrap_or_default()
}
