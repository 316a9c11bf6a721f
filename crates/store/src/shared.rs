//! What the writer, the services and the background tasks share: the pool, the readers, the
//! cluster configuration, the data keys, and the broadcast of committed cluster events.

use std::sync::Arc;
use std::sync::atomic::AtomicBool;

use tokio::sync::broadcast;

use crate::cluster_views::{ClusterEventView, QueueEvent, cluster_view, open_note};
use crate::config::{ClusterConfig, KeySource};
use crate::db::{Pool, Reader};
use crate::instances::FanOut;

/// What the writer, the services and the background tasks share.
pub(crate) struct Shared {
    /// The connection pool.
    pub pool: Pool,
    /// Where the hot reads run.
    pub reader: Reader,
    /// Set by the checkpointer when a SQLite log should start over (see `db::spawn_checkpointer`).
    pub log_restart_due: Arc<AtomicBool>,
    /// How clusters are valued.
    pub clusters: ClusterConfig,
    /// The keys that seal and open victims' personal data.
    pub keys: KeySource,
    /// Committed cluster events, to queue watchers.
    pub events: broadcast::Sender<Arc<QueueEvent>>,
    /// On PostgreSQL, how this instance hears of other instances' events and tells them its own.
    pub fan_out: Option<FanOut>,
}

impl Shared {
    /// Broadcasts events this instance committed, each with its cluster as it is now, if anyone
    /// watches, and announces them to the other instances.
    pub(crate) async fn publish(&self, events: Vec<ClusterEventView>) {
        if let Some(fan_out) = &self.fan_out
            && !events.is_empty()
        {
            fan_out.announce(&events);
        }
        self.broadcast(events).await;
    }

    /// Broadcasts committed events (this instance's or another's) that were not broadcast here
    /// yet, each with its cluster as it is now, if anyone watches.
    pub(crate) async fn broadcast(&self, events: Vec<ClusterEventView>) {
        let events: Vec<ClusterEventView> = match &self.fan_out {
            Some(fan_out) => events.into_iter().filter(|e| fan_out.first_time(e)).collect(),
            None => events,
        };
        if self.events.receiver_count() == 0 {
            return;
        }
        for mut event in events {
            if event.kind == scamtrail_core::EventKind::Note {
                event.detail = open_note(&self.keys, event.cluster_id, &event.detail);
            }
            match cluster_view(&self.reader, &self.clusters, event.cluster_id).await {
                Ok(Some(cluster)) => {
                    let _ = self.events.send(Arc::new(QueueEvent { event, cluster }));
                }
                Ok(None) => {}
                Err(e) => tracing::warn!(error = %e, "cannot read a cluster to broadcast its event"),
            }
        }
    }
}
