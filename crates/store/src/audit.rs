//! The audit trail: events appended one transaction per batch by a batching writer
//! ([`AuditLog`], on the one group-commit runner), each chained to the last stored one by its MAC
//! under the server's audit key ([`AuditEvent::chain_hash`]); on PostgreSQL an advisory lock
//! (`db::Intent::AppendAudit`) makes appends from several instances queue, so the chain never
//! forks. Also sealing a trail from before the key, listing events and verifying the chain.

use scamtrail_core::{AUDIT_GENESIS, AuditEvent, AuditKey, AuditVerdict, ChainCheck, Checkpoint, UnixMicros};
use tokio::sync::{mpsc, oneshot};

use crate::db::{DbErr, Intent, Pool, Tx, Value, Writer};
use crate::error::StoreError;
use crate::group_commit::{self, Batching, Committer};

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
    tx: mpsc::Sender<Appended>,
}

/// An event to append, and where its answer goes (after the commit that holds it).
type Appended = (AuditEvent, oneshot::Sender<Result<i64, String>>);

/// Events appended in one transaction at most.
const AUDIT_BATCH_MAX: usize = 512;
/// How long events nobody waits for may wait for others to share their commit.
const AUDIT_LINGER: std::time::Duration = std::time::Duration::from_millis(20);

impl AuditLog {
    /// Appends one event; answers after the commit that holds it.
    pub async fn append(&self, event: AuditEvent) -> Result<(), StoreError> {
        self.append_numbered(event).await.map(|_| ())
    }

    /// Appends one event and answers with its sequence after the commit that holds it (a referral
    /// package names the event that recorded it).
    pub async fn append_numbered(&self, event: AuditEvent) -> Result<i64, StoreError> {
        let started = std::time::Instant::now();
        let (reply, answer) = oneshot::channel();
        self.tx.send((event, reply)).await.map_err(|_| StoreError::Closed)?;
        let sequence = answer.await.map_err(|_| StoreError::Closed)?.map_err(StoreError::Audit)?;
        // What an audited call waits for its event to be durable (the group commit included).
        metrics::histogram!("scamtrail_audit_append_seconds").record(started.elapsed().as_secs_f64());
        Ok(sequence)
    }

    /// Queues one event for the next batch without waiting for its commit (waiting only while
    /// the queue is full). Events are written in the order they are queued, so an event appended
    /// later with [`AuditLog::append`] answers only once this one is written too.
    pub async fn record(&self, event: AuditEvent) -> Result<(), StoreError> {
        let (reply, _unheard) = oneshot::channel();
        self.tx.send((event, reply)).await.map_err(|_| StoreError::Closed)
    }
}

/// The batching writer's commit: one transaction per batch, each caller answered after it.
struct TrailWriter {
    writer: Writer,
    key: AuditKey,
}

impl Committer for TrailWriter {
    type Item = Appended;

    async fn commit(&mut self, batch: &mut Vec<Appended>) {
        let (mut events, replies): (Vec<AuditEvent>, Vec<_>) = batch.drain(..).unzip();
        let key = &self.key;
        let result = self
            .writer
            .transaction(Intent::AppendAudit, async |tx| append_in(&tx, key, &mut events).await)
            .await
            .map_err(|e| StoreError::from(e).to_string());
        for (event, reply) in events.iter().zip(replies) {
            let _ = reply.send(result.clone().map(|()| event.sequence));
        }
    }

    /// Events nobody waits for (queued with `record`) linger for company: one commit for many
    /// keeps the trail from taking SQLite's write lock from the report writer hundreds of times a
    /// second. An event someone waits for ends the wait.
    fn waited_for((_, reply): &Appended) -> bool {
        !reply.is_closed()
    }
}

/// Starts the batching audit writer ([`AuditLog`]) on a thread of its own, writing through
/// `writer`; it stops when every handle is dropped.
pub(crate) fn spawn(writer: Writer, key: AuditKey) -> AuditLog {
    let batching = Batching { max: AUDIT_BATCH_MAX, linger: Some(AUDIT_LINGER) };
    match group_commit::spawn("audit", batching, TrailWriter { writer, key }) {
        Ok(tx) => AuditLog { tx },
        Err(e) => {
            tracing::error!(error = %e, "cannot start the audit writer: audited calls will fail");
            AuditLog { tx: mpsc::channel(1).0 }
        }
    }
}

/// Appends events to the audit trail in one transaction, numbering and chaining them after the
/// last stored event (the `sequence` given is ignored).
pub(crate) async fn append(pool: &Pool, key: &AuditKey, events: &mut [AuditEvent]) -> Result<(), StoreError> {
    if events.is_empty() {
        return Ok(());
    }
    pool.transaction(Intent::AppendAudit, async |tx| append_in(&tx, key, events).await).await?;
    Ok(())
}

/// See [`crate::Access::seal_audit_trail`].
pub(crate) async fn seal(pool: &Pool, key: &AuditKey, key_is_new: bool) -> Result<AuditSeal, StoreError> {
    let seal = pool
        .transaction(Intent::AppendAudit, async |tx| {
            let seal = match newest_event(&tx).await? {
                None => AuditSeal::Empty,
                Some(row) => match row.hashed(key) {
                    Hashed::WithKey => AuditSeal::Keyed,
                    Hashed::Plain if key_is_new => {
                        let target = format!("audit_event:{}", row.event.sequence);
                        let mut seal =
                            [AuditEvent::now("server", "server", "audit key in use", vec![target], "local", "OK")];
                        insert_chained(&tx, key, (row.event.sequence, row.hash), &mut seal).await?;
                        AuditSeal::Sealed(seal[0].sequence)
                    }
                    Hashed::Plain => AuditSeal::Unkeyed(row.event.sequence),
                    Hashed::Otherwise => AuditSeal::Foreign(row.event.sequence),
                },
            };
            Ok::<_, DbErr>(seal)
        })
        .await?;
    Ok(seal)
}

/// Events after `after`, oldest first, at most `limit`, optionally of one actor; with each its
/// stored hash.
pub(crate) async fn events(
    pool: &Pool,
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
    let rows = audit_rows(pool.fetch(&text, values).await?)?;
    Ok(rows.into_iter().map(|row| (row.event, row.hash)).collect())
}

/// See [`crate::Access::verify_audit`].
pub(crate) async fn verify(
    pool: &Pool,
    key: &AuditKey,
    checkpoints: &[Checkpoint],
) -> Result<AuditVerdict, StoreError> {
    let verdict = pool
        .transaction(Intent::Read, async |tx| {
            let mut check = ChainCheck::new(key, checkpoints);
            'pages: loop {
                let text = format!(
                    "SELECT {AUDIT_COLUMNS} FROM audit_events WHERE sequence >= ? ORDER BY sequence LIMIT 5000"
                );
                let rows = audit_rows(tx.fetch(&text, vec![check.next_sequence().into()]).await?)?;
                if rows.is_empty() {
                    break;
                }
                for row in &rows {
                    if !check.push(&row.event, &row.prev_hash, &row.hash) {
                        break 'pages;
                    }
                }
            }
            Ok::<_, DbErr>(check.finish())
        })
        .await?;
    Ok(verdict)
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

    fn new(fields: AuditFields) -> Result<Self, String> {
        let (sequence, at, actor, role, action, targets, peer, outcome, prev_hash, hash) = fields;
        let targets = serde_json::from_str(&targets).map_err(|e| format!("audit event {sequence}'s targets: {e}"))?;
        let event = AuditEvent { sequence, at: UnixMicros(at), actor, role, action, targets, peer, outcome };
        Ok(Self { event, prev_hash, hash })
    }
}

/// The columns of [`AUDIT_COLUMNS`], as read.
type AuditFields = (i64, i64, String, String, String, String, String, String, String, String);

/// Reads stored events.
fn audit_rows(fields: Vec<AuditFields>) -> Result<Vec<AuditRow>, DbErr> {
    fields.into_iter().map(|f| AuditRow::new(f).map_err(DbErr::Custom)).collect()
}

/// The newest stored event.
async fn newest_event(txn: &Tx<'_>) -> Result<Option<AuditRow>, DbErr> {
    let text = format!("SELECT {AUDIT_COLUMNS} FROM audit_events ORDER BY sequence DESC LIMIT 1");
    Ok(audit_rows(txn.fetch(&text, vec![]).await?)?.into_iter().next())
}

/// Appends events in the transaction `txn` (begun for [`Intent::AppendAudit`]); see
/// [`append`]. Chains only onto an event signed with the key: appending after a forged or
/// foreign newest event would vouch for it.
async fn append_in(txn: &Tx<'_>, key: &AuditKey, events: &mut [AuditEvent]) -> Result<(), DbErr> {
    if events.is_empty() {
        return Ok(());
    }
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
