//! What an operator watches besides the calls (the server's metrics read it every few seconds):
//! live clusters by status, identifiers that do not link by state, and the connection pool.

use scamtrail_core::{ClusterStatus, IdentifierState};

use crate::db::{Pool, Reader};
use crate::error::StoreError;

/// Counts of the store's state at one moment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OperationalCounts {
    /// Live clusters (not merged away, holding reports) by status; every status, zero included.
    pub clusters_by_status: Vec<(ClusterStatus, i64)>,
    /// Identifiers by state, every state but `normal` (excluded, safelisted, ...), zero included.
    pub identifiers_by_state: Vec<(IdentifierState, i64)>,
    /// The pool's open connections.
    pub pool_open: u32,
    /// The pool's idle connections.
    pub pool_idle: u32,
}

pub(crate) async fn counts(reader: &Reader, pool: &Pool) -> Result<OperationalCounts, StoreError> {
    let by_status: Vec<(String, i64)> = reader
        .fetch_unbounded(
            "SELECT status, COUNT(*) FROM clusters WHERE merged_into IS NULL AND report_count > 0 GROUP BY status"
                .to_owned(),
            vec![],
        )
        .await?;
    let by_state: Vec<(String, i64)> = reader
        .fetch_unbounded(
            "SELECT state, COUNT(*) FROM identifiers WHERE state <> 'normal' GROUP BY state".to_owned(),
            vec![],
        )
        .await?;
    let count = |rows: &[(String, i64)], name: &str| rows.iter().find(|(n, _)| n == name).map_or(0, |r| r.1);
    let (pool_open, pool_idle) = pool.connections();
    Ok(OperationalCounts {
        clusters_by_status: ClusterStatus::ALL
            .iter()
            .filter(|s| **s != ClusterStatus::Merged)
            .map(|&s| (s, count(&by_status, s.as_str())))
            .collect(),
        identifiers_by_state: IdentifierState::ALL
            .iter()
            .filter(|s| **s != IdentifierState::Normal)
            .map(|&s| (s, count(&by_state, s.as_str())))
            .collect(),
        pool_open,
        pool_idle,
    })
}
