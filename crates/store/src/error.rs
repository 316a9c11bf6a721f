//! What can go wrong in the store: [`StoreError`], which the server maps to gRPC statuses in one
//! place (its `error.rs`).

use scamtrail_core::TransitionError;

use crate::db::DbErr;

/// What can go wrong in the store.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The database refused or failed.
    #[error("database error: {0}")]
    Database(#[from] DbErr),
    /// The writer task has stopped (the server is shutting down).
    #[error("the store is shutting down")]
    Closed,
    /// The writer's thread could not be started.
    #[error("cannot start the writer: {0}")]
    Writer(#[from] std::io::Error),
    /// A stored row holds a value this version cannot read.
    #[error("stored data is not readable: {0}")]
    Corrupt(String),
    /// The record does not exist.
    #[error("no such {0}")]
    NotFound(&'static str),
    /// The cluster changed since the caller read it.
    #[error("cluster {id} is at version {current}, not {expected}: read it again")]
    StaleVersion {
        /// The cluster.
        id: i64,
        /// The version the caller quoted.
        expected: i64,
        /// The version it has.
        current: i64,
    },
    /// The cluster was merged into another and takes no changes.
    #[error("cluster {id} was merged into cluster {into}")]
    Merged {
        /// The merged cluster.
        id: i64,
        /// Where it lives now.
        into: i64,
    },
    /// The workflow does not allow the change.
    #[error(transparent)]
    Transition(#[from] TransitionError),
    /// The caller holds no live claim on the cluster.
    #[error("you hold no live claim on cluster {0}")]
    NotClaimed(i64),
    /// The change would leave the cluster with more tags than it may carry.
    #[error("cluster {id} would carry {count} tags; at most {max}")]
    TooManyTags {
        /// The cluster.
        id: i64,
        /// How many it would carry.
        count: usize,
        /// The most it may carry.
        max: usize,
    },
    /// The manual link was removed already.
    #[error("manual link {0} was removed already")]
    LinkRemoved(i64),
    /// Too many competing claimers; the caller may retry.
    #[error("too many competing claims; retry")]
    Busy,
    /// The audit trail could not be written.
    #[error("cannot append to the audit trail: {0}")]
    Audit(String),
    /// The caller's role does not allow this change.
    #[error("{0}")]
    Forbidden(String),
    /// The data keys are missing or do not open a stored value.
    #[error("data keys: {0}")]
    DataKeys(String),
    /// A record with that name exists already.
    #[error("a {0} with that name exists already")]
    AlreadyExists(&'static str),
}
