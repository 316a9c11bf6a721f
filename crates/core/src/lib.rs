//! scamtrail's pure domain: what a report, a payment and a reported identifier are, the limits on
//! them, and the human reference a victim reads over the phone; and the rules of triage built on
//! them.
//!
//! - `report`, `identifier`, `kinds`, `limits`, `reference`, `currency`, `time`: the report as
//!   validated and stored, its vocabularies and bounds.
//! - `access`: roles and the permissions each holds; `audit`: the audit trail's keyed hash chain and its checkpoints.
//! - `triage`: identifier states, cluster statuses and dispositions, and the cluster workflow
//!   (`ClusterStatus::check_transition`), and the changes only a supervisor may make
//!   (`WorkflowChange::needs_supervisor`).
//! - `linking`: which identifiers link reports (`LinkableIdentifier`), which cluster survives a
//!   merge and which part keeps the id of a split.
//! - `bridges`: identifiers whose reports, without them, fall into groups that stand on their own
//!   (held or marked), judged from one identifier's neighbourhood and settled over a whole graph.
//! - `partition`: the connected components of the report–identifier graph (which reports form a
//!   cluster) and the shortest chain of shared identifiers between two reports.
//! - `money`: decimals per currency, amounts as people read them, and the rate table that brings
//!   amounts into one reference currency.
//! - `priority`: the triage score, a sum of named components, and when it next changes by itself.
//! - `privacy`: victims' personal fields, sealed under versioned data keys, and the keyed MAC that
//!   counts distinct victims.
//!
//! Everything here is plain data and pure functions. This crate never does I/O and never depends
//! on tokio, tonic or sea-orm: the store persists these types and feeds these rules, the server
//! maps them to and from the wire. They are rules, not plumbing.

mod access;
mod audit;
mod bridges;
mod currency;
mod identifier;
mod kinds;
pub mod limits;
mod linking;
mod money;
mod partition;
mod priority;
mod privacy;
mod reference;
mod report;
mod tag;
mod time;
mod triage;

pub use access::{Permission, Role};
pub use audit::{AUDIT_GENESIS, AuditEvent, AuditKey, AuditVerdict, ChainCheck, Checkpoint, CheckpointFormat};
pub use bridges::{
    Bridge, BridgeConfig, BridgeStanding, BridgeVerdict, Edge, Evidence, Mention, Naming, Settled,
    institutional_phone_type, judge, namings_of_report, settle, settle_except,
};
pub use currency::{CRYPTO_TICKERS, is_known_currency};
pub use identifier::{IdentifierOutcome, NormalizedIdentifier, ReportedIdentifier, Unverified};
pub use kinds::{AgeBand, Category, ContactChannel, IdentifierRole, PaymentMethod, UnknownName};
pub use linking::{LinkableIdentifier, merge_survivor, split_keeper};
pub use money::{
    AMOUNT_SIGNIFICANT_DIGITS_MAX, AMOUNT_TEXT_MAX_CHARS, AmountError, RateTable, RateTableError, amount_text,
    decimals, format_amount, parse_amount,
};
pub use partition::{LinkStep, components, shortest_link};
pub use priority::{
    ClusterFacts, Priority, PriorityComponent, PriorityWeights, RecoverablePayment, WeightsError, score,
};
pub use privacy::{DataKeyError, DataKeys, OpenError, PersonalField, SEALED_PREFIX, note_binding, sealed_version};
pub use reference::{Reference, ReferenceError};
pub use report::{NewPayment, NewReport, StoredReport, Victim};
pub use scamtrail_normalize::{Country, KindHint};
pub use tag::{TAG_MAX_CHARS, TAGS_PER_CLUSTER_MAX, Tag, TagError, TagVocabulary, VocabularyError};
pub use time::UnixMicros;
pub use triage::{
    ClusterStatus, Disposition, EventKind, IdentifierState, SupervisorOnly, TransitionError, WorkflowChange,
};
