//! How the store is set up: where the database is, how the writer batches, and how clusters are
//! valued.

use std::time::Duration;

use scamtrail_core::{PriorityWeights, RateTable};

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
}

impl Default for ClusterConfig {
    fn default() -> Self {
        Self { rates: RateTable::builtin(), weights: PriorityWeights::default(), hot_threshold: 25 }
    }
}
