//! Users, sessions and API keys, and the handle on the audit trail ([`crate::audit`]).
//!
//! The store keeps only hashes: argon2id strings for passwords (made by the server), SHA-256 of
//! session tokens and API keys (random 256-bit values, for which a fast hash is enough).

use scamtrail_core::{AuditEvent, AuditKey, AuditVerdict, Checkpoint, Role, UnixMicros};

use crate::audit::{self, AuditLog, AuditSeal};
use crate::config::StoreConfig;
use crate::db::{Checkpoints, DbErr, Intent, Pool, Value};
use crate::error::StoreError;

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

/// The access tables, on a pool of their own or the server's.
#[derive(Clone)]
pub struct Access {
    pool: Pool,
    /// Keys the audit chain.
    key: AuditKey,
    /// Whether the audit writer appends through a connection of its own to the store's SQLite
    /// file (a server's store), rather than the pool (the commands).
    own_connection: bool,
}

fn role_of(name: &str) -> Result<Role, StoreError> {
    name.parse().map_err(|e: scamtrail_core::UnknownName| StoreError::Corrupt(e.to_string()))
}

fn is_unique_violation(e: &DbErr) -> bool {
    let text = e.to_string().to_ascii_lowercase();
    text.contains("unique") || text.contains("duplicate key")
}

/// A user row: id, name, role, agency, password hash, when disabled.
type UserRow = (i64, String, String, Option<String>, String, Option<i64>);
/// A key row: name, role, agency, created, revoked, last used, origins.
type KeyRow = (String, String, Option<String>, i64, Option<i64>, Option<i64>, Option<String>);
/// A credential row: session or key id, name, role, agency, when it ends, a key's origins.
type CredentialRow = (i64, String, String, Option<String>, Option<i64>, Option<String>);

impl Access {
    pub(crate) fn new(pool: Pool, key: AuditKey) -> Self {
        Self { pool, key, own_connection: true }
    }

    /// Starts the batching audit writer ([`AuditLog`]) on a thread of its own; it stops when
    /// every handle is dropped. On the store's SQLite file it appends through a connection of its
    /// own, as the report writer does: audited reads wait for its commits.
    pub fn audit_log(&self) -> AuditLog {
        let writer = match self.own_connection {
            false => self.pool.pool_writer(),
            true => self.pool.writer(Checkpoints::Background, "audit trail").unwrap_or_else(|e| {
                tracing::warn!(error = %e, "audit appends go through the pool: cannot open a connection of their own");
                self.pool.pool_writer()
            }),
        };
        audit::spawn(writer, self.key.clone())
    }

    /// Connects and applies pending migrations (for the `scamtrail user|key|audit` commands).
    pub async fn open(config: &StoreConfig, key: AuditKey) -> Result<Self, StoreError> {
        let pool = Pool::open(config, Checkpoints::Automatic, true).await?;
        Ok(Self { pool, key, own_connection: false })
    }

    /// Creates a user; `AlreadyExists` if the name is taken.
    pub async fn create_user(
        &self,
        name: &str,
        role: Role,
        agency: Option<&str>,
        password_hash: &str,
    ) -> Result<i64, StoreError> {
        let rows: Vec<(i64,)> = self
            .pool
            .fetch(
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
        Ok(rows.first().ok_or(StoreError::NotFound("user"))?.0)
    }

    /// A user by sign-in name.
    pub async fn user(&self, name: &str) -> Result<Option<User>, StoreError> {
        let rows: Vec<UserRow> = self
            .pool
            .fetch(
                "SELECT id, name, role, agency, password_hash, disabled_at FROM users WHERE name = ?",
                vec![name.into()],
            )
            .await?;
        let Some((id, name, role, agency, password_hash, disabled_at)) = rows.into_iter().next() else {
            return Ok(None);
        };
        Ok(Some(User { id, name, role: role_of(&role)?, agency, password_hash, disabled: disabled_at.is_some() }))
    }

    /// Disables a user and ends its sessions; false if there is no such user.
    pub async fn disable_user(&self, name: &str) -> Result<bool, StoreError> {
        let now = UnixMicros::now().0;
        let changed = self
            .pool
            .transaction(Intent::Write, async |tx| {
                let changed = tx
                    .execute(
                        "UPDATE users SET disabled_at = ? WHERE name = ? AND disabled_at IS NULL",
                        vec![now.into(), name.into()],
                    )
                    .await?;
                tx.execute(
                    "UPDATE sessions SET ended_at = ? WHERE ended_at IS NULL AND user_id IN (SELECT id FROM users WHERE name = ?)",
                    vec![now.into(), name.into()],
                )
                .await?;
                Ok::<_, DbErr>(changed)
            })
            .await?;
        Ok(changed > 0)
    }

    /// Starts a session for a user.
    pub async fn create_session(
        &self,
        user_id: i64,
        token_hash: &str,
        expires_at: UnixMicros,
    ) -> Result<(), StoreError> {
        self.pool
            .execute(
                "INSERT INTO sessions (token_hash, user_id, created_at, expires_at) VALUES (?, ?, ?, ?)",
                vec![token_hash.into(), user_id.into(), UnixMicros::now().0.into(), expires_at.0.into()],
            )
            .await?;
        Ok(())
    }

    /// Ends a session.
    pub async fn end_session(&self, id: i64) -> Result<(), StoreError> {
        self.pool
            .execute(
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
        self.pool
            .execute(
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
        let changed = self
            .pool
            .execute(
                "UPDATE api_keys SET revoked_at = ? WHERE name = ? AND revoked_at IS NULL",
                vec![UnixMicros::now().0.into(), name.into()],
            )
            .await?;
        Ok(changed > 0)
    }

    /// Every key, by name.
    pub async fn keys(&self) -> Result<Vec<ApiKey>, StoreError> {
        let rows: Vec<KeyRow> = self
            .pool
            .fetch(
                "SELECT name, role, agency, created_at, revoked_at, last_used_at, origins FROM api_keys ORDER BY name",
                vec![],
            )
            .await?;
        rows.into_iter()
            .map(|(name, role, agency, created_at, revoked_at, last_used_at, origins)| {
                Ok(ApiKey {
                    name,
                    role: role_of(&role)?,
                    agency,
                    created_at: UnixMicros(created_at),
                    revoked_at: revoked_at.map(UnixMicros),
                    last_used_at: last_used_at.map(UnixMicros),
                    origins: origins_of(origins),
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
        let rows: Vec<CredentialRow> = self.pool.fetch(text, values).await?;
        let Some((id, name, role, agency, expires_at, origins)) = rows.into_iter().next() else { return Ok(None) };
        Ok(Some(Credential {
            kind,
            id,
            actor: match kind {
                CredentialKind::Session => name,
                CredentialKind::Key => format!("key:{name}"),
            },
            role: role_of(&role)?,
            agency,
            expires_at: expires_at.map(UnixMicros),
            origins: origins_of(origins),
        }))
    }

    /// Binds a key to browser origins (canonical `scheme://host[:port]`, checked by the caller),
    /// replacing any it had; none unbinds it. False if there is no such live key.
    pub async fn set_key_origins(&self, name: &str, origins: &[String]) -> Result<bool, StoreError> {
        // Origins hold no spaces, so one space-separated column keeps the change to one table.
        let stored = (!origins.is_empty()).then(|| origins.join(" "));
        let changed = self
            .pool
            .execute(
                "UPDATE api_keys SET origins = ? WHERE name = ? AND revoked_at IS NULL",
                vec![stored.into(), name.into()],
            )
            .await?;
        Ok(changed > 0)
    }

    /// Records that a key was used now.
    pub async fn touch_key(&self, id: i64) -> Result<(), StoreError> {
        self.pool
            .execute("UPDATE api_keys SET last_used_at = ? WHERE id = ?", vec![UnixMicros::now().0.into(), id.into()])
            .await?;
        Ok(())
    }

    /// Appends events to the audit trail in one transaction, numbering and chaining them after
    /// the last stored event (the `sequence` given is ignored).
    pub async fn append_audit(&self, events: &mut [AuditEvent]) -> Result<(), StoreError> {
        audit::append(&self.pool, &self.key, events).await
    }

    /// Run when a server or command opens the trail: says whether its newest event is signed with
    /// the key. When it is from before the key (a plain SHA-256 hash) and `key_is_new` (the key
    /// file was created just now, by this process), appends a keyed event after it, which vouches
    /// for every event before it (see `scamtrail_core`'s audit rules). Only a new key may seal: a
    /// trail that ends unkeyed under a key that existed before was rewritten without it.
    pub async fn seal_audit_trail(&self, key_is_new: bool) -> Result<AuditSeal, StoreError> {
        audit::seal(&self.pool, &self.key, key_is_new).await
    }

    /// Events after `after`, oldest first, at most `limit`, optionally of one actor; with each its
    /// stored hash.
    pub async fn audit_events(
        &self,
        after: i64,
        limit: u64,
        actor: Option<&str>,
    ) -> Result<Vec<(AuditEvent, String)>, StoreError> {
        audit::events(&self.pool, after, limit, actor).await
    }

    /// Walks the whole trail in one read transaction, recomputing each MAC from the previous
    /// hash ([`scamtrail_core::ChainCheck`]): a changed row, a removed row (a gap in the
    /// sequence), a re-chained row or one written without the key shows as the first broken
    /// event, and each kept checkpoint the trail no longer holds as a fault.
    pub async fn verify_audit(&self, checkpoints: &[Checkpoint]) -> Result<AuditVerdict, StoreError> {
        audit::verify(&self.pool, &self.key, checkpoints).await
    }
}

/// The origins of an `api_keys.origins` value.
fn origins_of(stored: Option<String>) -> Vec<String> {
    stored.map(|s| s.split_whitespace().map(str::to_owned).collect()).unwrap_or_default()
}
