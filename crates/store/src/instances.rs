//! Several instances on one PostgreSQL database: queue watchers on every instance hear of the
//! cluster events any instance commits.
//!
//! Each instance announces its committed events on the `scamtrail_events` channel
//! (`pg_notify`, after the commit, in commit order, from one task), and listens on it: events
//! from other instances are broadcast to its own watchers like its own. Notifications are not
//! kept: a listener that lost its connection, or an announcement dropped under a burst, would
//! miss events, so each instance also reads the outbox (`cluster_events`, where every kept event
//! is stored in the transaction that made it) when its listener reconnects and every
//! [`RESYNC_EVERY`], and broadcasts the events it has not broadcast yet. A watcher may therefore
//! hear an event late, never not at all; events that are not kept (priority changes, claim
//! renewals) reach other instances only by notification.

use std::collections::{HashSet, VecDeque};
use std::sync::{Mutex, PoisonError};
use std::time::Duration;

use scamtrail_core::UnixMicros;
use tokio::sync::mpsc;

use crate::cluster_views::ClusterEventView;
use crate::db::{Heard, Listener, MAX_PAYLOAD_BYTES, Pool, entity::cluster_event};

/// The channel instances announce on.
const CHANNEL: &str = "scamtrail_events";
/// How often the outbox is read for events a notification did not bring.
pub(crate) const RESYNC_EVERY: Duration = Duration::from_secs(5);
/// How far back a resync reads, before the last one: a transaction that stored its events with
/// an earlier time may commit after a resync has read past that time.
const RESYNC_OVERLAP: Duration = Duration::from_secs(30);
/// Events remembered as broadcast, to hear each once (several resyncs' worth).
const REMEMBERED: usize = 16_384;
/// Batches of events waiting to be announced; beyond it, announcements are dropped (and the
/// other instances find the events at their next resync).
const ANNOUNCE_QUEUE: usize = 1_024;
/// A detail longer than this is cut in announcements (the outbox keeps it whole).
const DETAIL_MAX_CHARS: usize = 256;

/// What identifies an event across instances.
type EventKey = (i64, &'static str, i64, Option<i64>, String);

fn key_of(e: &ClusterEventView) -> EventKey {
    (e.cluster_id, e.kind.as_str(), e.at.0, e.other_cluster_id, e.actor.clone())
}

/// The events an instance has broadcast lately, so that each is broadcast once.
#[derive(Default)]
struct Broadcast {
    order: VecDeque<EventKey>,
    seen: HashSet<EventKey>,
}

/// This instance's side of the fan-out: its announcer (which signs announcements with the
/// instance's random id, so that its own listener skips them) and the events it has broadcast.
pub(crate) struct FanOut {
    announce: mpsc::Sender<Vec<ClusterEventView>>,
    broadcast: Mutex<Broadcast>,
}

impl FanOut {
    /// Whether `event` is new here; remembers it.
    pub(crate) fn first_time(&self, event: &ClusterEventView) -> bool {
        let mut heard = self.broadcast.lock().unwrap_or_else(PoisonError::into_inner);
        let key = key_of(event);
        if !heard.seen.insert(key.clone()) {
            return false;
        }
        heard.order.push_back(key);
        if heard.order.len() > REMEMBERED
            && let Some(old) = heard.order.pop_front()
        {
            heard.seen.remove(&old);
        }
        true
    }

    /// Queues committed events for announcement (never waits; see [`ANNOUNCE_QUEUE`]).
    pub(crate) fn announce(&self, events: &[ClusterEventView]) {
        if self.announce.try_send(events.to_vec()).is_err() {
            tracing::warn!(events = events.len(), "announcement queue full: other instances will resync");
        }
    }
}

/// Starts the fan-out of a store on PostgreSQL: the announcer and the listener tasks. The
/// receiver yields the events heard from other instances and read from the outbox, for the
/// store to broadcast ([`FanOut::first_time`] sorts out those already broadcast); the listener
/// stops when it is dropped.
pub(crate) fn start(pool: Pool) -> (FanOut, mpsc::Receiver<Vec<ClusterEventView>>) {
    let instance = rand_id();
    let (announce, announced) = mpsc::channel(ANNOUNCE_QUEUE);
    tokio::spawn(announcer(pool.clone(), instance, announced));
    let (heard, to_broadcast) = mpsc::channel(ANNOUNCE_QUEUE);
    tokio::spawn(listener(pool, instance, heard));
    (FanOut { announce, broadcast: Mutex::default() }, to_broadcast)
}

fn rand_id() -> u64 {
    use std::hash::{BuildHasher, RandomState};
    RandomState::new().hash_one(std::time::SystemTime::now())
}

/// One announcement: the instance and its events, as compact JSON under PostgreSQL's payload limit.
fn payloads(instance: u64, events: &[ClusterEventView]) -> Vec<String> {
    let mut out = vec![];
    let mut rows: Vec<serde_json::Value> = vec![];
    let mut size = 0;
    for e in events {
        let detail: String = e.detail.chars().take(DETAIL_MAX_CHARS).collect();
        let row = serde_json::json!([e.kind.as_str(), e.cluster_id, e.other_cluster_id, e.at.0, e.actor, detail]);
        let len = row.to_string().len() + 1;
        if !rows.is_empty() && size + len > MAX_PAYLOAD_BYTES - 64 {
            out.push(serde_json::json!({ "from": instance.to_string(), "events": rows }).to_string());
            rows = vec![];
            size = 0;
        }
        size += len;
        rows.push(row);
    }
    if !rows.is_empty() {
        out.push(serde_json::json!({ "from": instance.to_string(), "events": rows }).to_string());
    }
    out
}

/// The events of another instance's announcement; `None` for this instance's own or one that
/// cannot be read.
fn parse(instance: u64, payload: &str) -> Option<Vec<ClusterEventView>> {
    let value: serde_json::Value = serde_json::from_str(payload).ok()?;
    if value.get("from")?.as_str()? == instance.to_string() {
        return None;
    }
    let events = value.get("events")?.as_array()?;
    events
        .iter()
        .map(|row| {
            let row = row.as_array()?;
            Some(ClusterEventView {
                kind: row.first()?.as_str()?.parse().ok()?,
                cluster_id: row.get(1)?.as_i64()?,
                other_cluster_id: row.get(2)?.as_i64(),
                at: UnixMicros(row.get(3)?.as_i64()?),
                actor: row.get(4)?.as_str()?.to_owned(),
                detail: row.get(5)?.as_str()?.to_owned(),
            })
        })
        .collect()
}

async fn announcer(pool: Pool, instance: u64, mut batches: mpsc::Receiver<Vec<ClusterEventView>>) {
    while let Some(events) = batches.recv().await {
        for payload in payloads(instance, &events) {
            if let Err(e) = pool.notify(CHANNEL, &payload).await {
                tracing::warn!(error = %e, "cannot announce events to other instances; they will resync");
            }
        }
    }
}

async fn listener(pool: Pool, instance: u64, heard: mpsc::Sender<Vec<ClusterEventView>>) {
    let mut since = UnixMicros::now();
    let mut ticks = tokio::time::interval(RESYNC_EVERY);
    'connect: loop {
        let mut listening = match Listener::listen(&pool, CHANNEL).await {
            Ok(l) => l,
            Err(e) => {
                tracing::warn!(error = %e, "cannot listen for other instances' events; retrying");
                tokio::time::sleep(Duration::from_secs(1)).await;
                continue;
            }
        };
        // What was committed while nobody listened.
        if !resync(&pool, &heard, &mut since).await {
            return;
        }
        loop {
            tokio::select! {
                next = listening.next() => match next {
                    Ok(Heard::Payload(payload)) => {
                        if let Some(events) = parse(instance, &payload)
                            && heard.send(events).await.is_err()
                        {
                            return;
                        }
                    }
                    Ok(Heard::Reconnected) => {
                        if !resync(&pool, &heard, &mut since).await {
                            return;
                        }
                    }
                    Err(e) => {
                        tracing::warn!(error = %e, "lost the other instances' events; listening again");
                        tokio::time::sleep(Duration::from_secs(1)).await;
                        continue 'connect;
                    }
                },
                _ = ticks.tick() => {
                    if !resync(&pool, &heard, &mut since).await {
                        return;
                    }
                }
                () = heard.closed() => return,
            }
        }
    }
}

/// Passes on the kept events since `since` (less the overlap); false once nobody takes them.
async fn resync(pool: &Pool, heard: &mpsc::Sender<Vec<ClusterEventView>>, since: &mut UnixMicros) -> bool {
    let from = UnixMicros(since.0.saturating_sub(RESYNC_OVERLAP.as_micros() as i64));
    let now = UnixMicros::now();
    match events_since(pool, from).await {
        Ok(events) => {
            *since = now;
            if !events.is_empty() {
                return heard.send(events).await.is_ok();
            }
        }
        Err(e) => tracing::warn!(error = %e, "cannot read the cluster events outbox"),
    }
    !heard.is_closed()
}

/// The kept events stored at or after `from`, oldest first (at most a resync's worth).
async fn events_since(pool: &Pool, from: UnixMicros) -> Result<Vec<ClusterEventView>, crate::error::StoreError> {
    let rows = pool
        .fetch::<cluster_event::Model>(
            "SELECT * FROM cluster_events WHERE at >= ? ORDER BY at, id LIMIT 10000",
            vec![from.0.into()],
        )
        .await?;
    rows.iter().map(ClusterEventView::from_row).collect()
}

#[cfg(test)]
mod tests {
    use scamtrail_core::EventKind;

    use super::*;

    fn event(cluster_id: i64, detail: &str) -> ClusterEventView {
        ClusterEventView {
            kind: EventKind::Created,
            cluster_id,
            other_cluster_id: None,
            at: UnixMicros(1_700_000_000_000_000 + cluster_id),
            actor: "system".into(),
            detail: detail.into(),
        }
    }

    #[test]
    fn announcements_fit_the_payload_limit_and_read_back() {
        let events: Vec<ClusterEventView> = (0..500).map(|i| event(i, &"é".repeat(400))).collect();
        let payloads = payloads(7, &events);
        assert!(payloads.len() > 1);
        let mut back = vec![];
        for p in &payloads {
            assert!(p.len() <= MAX_PAYLOAD_BYTES, "{}", p.len());
            assert_eq!(parse(7, p), None, "an instance skips its own");
            back.extend(parse(8, p).unwrap());
        }
        assert_eq!(back.len(), 500);
        assert_eq!(back[3].cluster_id, 3);
        assert_eq!(back[3].detail.chars().count(), DETAIL_MAX_CHARS);
        assert_eq!(parse(8, "not json"), None);
        assert_eq!(parse(8, r#"{"from":"9","events":[["no-such-kind",1,null,2,"a","b"]]}"#), None);
    }
}
