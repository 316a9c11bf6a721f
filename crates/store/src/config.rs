//! How the store is set up: where the database is, how the writer batches, and how clusters are
//! valued.

use std::fmt;
use std::sync::{Arc, Mutex, RwLock};
use std::time::{Duration, Instant};

use scamtrail_core::{BridgeConfig, DataKeys, OpenError, PersonalField, PriorityWeights, RateTable};

/// How to reach the database.
#[derive(Debug, Clone)]
pub struct StoreConfig {
    /// `sqlite://path/to/file.db` or `postgres://user@host:port/db`.
    pub database_url: String,
    /// Connections in the pool.
    pub max_connections: u32,
    /// Reports the writer takes into one transaction at most.
    pub max_batch: usize,
    /// How clusters are valued, and when an identifier is hot.
    pub clusters: ClusterConfig,
    /// How often clusters whose priority changes with time are rescored.
    pub rescore_interval: Duration,
    /// The keys that seal victims' personal data; a store that reads or writes reports needs
    /// them ([`crate::Store::open`] refuses to start without).
    pub data_keys: Option<KeySource>,
}

impl StoreConfig {
    /// A configuration with default pool and batch sizes for a URL.
    pub fn new(database_url: impl Into<String>) -> Self {
        Self {
            database_url: database_url.into(),
            max_connections: 16,
            max_batch: 256,
            clusters: ClusterConfig::default(),
            rescore_interval: Duration::from_secs(30),
            data_keys: None,
        }
    }

    /// The same configuration with these data keys.
    pub fn with_data_keys(mut self, keys: KeySource) -> Self {
        self.data_keys = Some(keys);
        self
    }
}

/// How to read the data keys again (the key file, after `scamtrail data-key rotate` added one).
pub type ReloadKeys = dyn Fn() -> Result<DataKeys, String> + Send + Sync;

/// The data keys the store seals and opens with, shared by its writer and readers, and how to
/// read them again: a rotation run by another process adds a version this one must open (on the
/// first value sealed under it) and seal with (within [`KeySource::RELOAD_EVERY`]).
#[derive(Clone)]
pub struct KeySource {
    keys: Arc<RwLock<Arc<DataKeys>>>,
    reload: Option<Arc<ReloadKeys>>,
    last_reload: Arc<Mutex<Option<Instant>>>,
}

impl fmt::Debug for KeySource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("KeySource").field("keys", &self.keys()).field("reloads", &self.reload.is_some()).finish()
    }
}

impl KeySource {
    /// How often a running store reads its key file again.
    pub const RELOAD_EVERY: Duration = Duration::from_secs(10);
    /// Reads of the key file for an unknown version are at least this far apart, so that values
    /// under a version nobody holds cannot make every read touch the file.
    const RELOAD_AT_MOST_EVERY: Duration = Duration::from_secs(1);

    /// Keys that never change (tests, tools that run once).
    pub fn fixed(keys: DataKeys) -> Self {
        Self { keys: Arc::new(RwLock::new(Arc::new(keys))), reload: None, last_reload: Arc::default() }
    }

    /// Keys read again with `reload` when needed.
    pub fn reloading(keys: DataKeys, reload: Arc<ReloadKeys>) -> Self {
        Self { reload: Some(reload), ..Self::fixed(keys) }
    }

    /// The keys as they are now.
    pub fn keys(&self) -> Arc<DataKeys> {
        self.keys.read().unwrap_or_else(|e| e.into_inner()).clone()
    }

    /// Reads the keys again (at most once a second); true when the newest version changed or a
    /// version was added.
    pub fn reload(&self) -> bool {
        let Some(reload) = &self.reload else { return false };
        {
            let mut last = self.last_reload.lock().unwrap_or_else(|e| e.into_inner());
            if last.is_some_and(|at| at.elapsed() < Self::RELOAD_AT_MOST_EVERY) {
                return false;
            }
            *last = Some(Instant::now());
        }
        match reload() {
            Ok(fresh) => {
                let before = self.keys();
                let changed = fresh.current() != before.current();
                if changed {
                    tracing::info!(version = fresh.current(), "data keys read again: a new version seals new values");
                }
                *self.keys.write().unwrap_or_else(|e| e.into_inner()) = Arc::new(fresh);
                changed
            }
            Err(e) => {
                tracing::warn!(error = %e, "cannot read the data keys again; keeping the ones held");
                false
            }
        }
    }

    /// Opens a stored value, reading the keys again once when it names a version not held.
    pub fn open(&self, field: PersonalField, reference: &str, stored: &str) -> Result<String, OpenError> {
        match self.keys().open(field, reference, stored) {
            Err(OpenError::UnknownVersion(v)) => {
                self.reload();
                self.keys().open(field, reference, stored).map_err(|e| match e {
                    OpenError::UnknownVersion(_) => OpenError::UnknownVersion(v),
                    other => other,
                })
            }
            other => other,
        }
    }
}

/// How clusters are valued and when an identifier is hot.
#[derive(Debug, Clone)]
pub struct ClusterConfig {
    /// Rates into the reference currency.
    pub rates: RateTable,
    /// Priority weights and windows.
    pub weights: PriorityWeights,
    /// Reports at which an identifier is hot.
    pub hot_threshold: i64,
    /// The thresholds of the bridge rule (`scamtrail_core::bridges`).
    pub bridges: BridgeConfig,
}

impl Default for ClusterConfig {
    fn default() -> Self {
        Self {
            rates: RateTable::builtin(),
            weights: PriorityWeights::default(),
            hot_threshold: 25,
            bridges: BridgeConfig::default(),
        }
    }
}
