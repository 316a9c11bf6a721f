//! scamtrail's storage: the one place that speaks SQL, on SQLite (the embedded default) and
//! PostgreSQL, with the same sea-orm code and the same migrations.
//!
//! Writes of reports go through a single writer (`intake`) that takes reports in batches, one
//! transaction per batch (group commit, `group_commit`), links them into clusters in that
//! transaction (`clustering`), and answers each caller only after the commit that holds its
//! report. Investigators' changes (identifier decisions, claims, workflow) are short transactions
//! of their own (`triage`). Reads never wait for the writer: report reads go to the pool, cluster,
//! queue and lookup reads (`cluster_views`, `queues`, `lookups`) to the reader, which on a SQLite
//! file steps its own read-only connections on the caller's thread. Every change to a cluster is
//! broadcast after its commit to queue watchers ([`Store::watch`]). Users, keys and the audit
//! trail are `access` and `audit`; a victim's follow-up `follow_up`; the bulk rebuild `recluster`;
//! investigators' searches `search`.
//!
//! Only `db` speaks to the database drivers; the domain modules call its typed functions. The
//! rules of the domain (which identifiers link, which cluster survives a merge, who may change
//! what) are `scamtrail_core`'s. This crate knows nothing of gRPC: it takes and returns
//! `scamtrail-core` types and its own read models; its errors are [`StoreError`], which the
//! server maps to status codes.
//!
//! This file is the store's public face: the modules and what they export.

mod access;
mod aggregates;
mod amounts;
mod audit;
mod bridges;
mod cluster_views;
mod clustering;
mod config;
mod consent;
mod db;
mod erasure;
mod error;
mod exports;
mod follow_up;
mod group_commit;
mod instances;
mod intake;
mod lookups;
mod operations;
mod personal_data;
mod queues;
mod recluster;
mod search;
mod shared;
mod store;
mod triage;

pub use access::{Access, ApiKey, Credential, CredentialKind, User};
pub use audit::{AuditLog, AuditSeal};
pub use cluster_views::{
    ClaimView, ClusterDetail, ClusterEventView, ClusterNote, ClusterReportView, ClusterView, LinkExplanation,
    PriorityPart, QueueEvent,
};
pub use config::{ClusterConfig, KeySource, ReloadKeys, StoreConfig};
pub use erasure::{Erasure, RETENTION_BATCH, Retention};
pub use error::StoreError;
pub use exports::{
    ExportIdentifier, ExportLink, ExportPayment, ExportReport, ExportVictim, FeedCursor, FeedFilter, ReportsShown,
};
pub use follow_up::{FollowUp, MyData, NewDetails};
pub use intake::Submitted;
pub use lookups::{BridgePageToken, IdentifierView, KeyLookup};
pub use operations::OperationalCounts;
pub use personal_data::ResealSummary;
pub use queues::{PageToken, Queue, QueueFilter};
pub use recluster::ReclusterSummary;
pub use scamtrail_core::EventKind;
pub use search::{ClusterSearch, ReportHit, ReportSearch, SearchCursor, SearchOrder};
pub use store::Store;
pub use triage::{ClusterUpdate, IdentifierDecision};
