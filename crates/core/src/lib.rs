//! scamtrail's pure domain: what a report, a payment and a reported identifier are, the limits on
//! them, and the human reference a victim reads over the phone.
//!
//! Everything here is plain data and pure functions. This crate never does I/O and never depends
//! on tokio, tonic or sea-orm: the store persists these types, the server maps them to and from
//! the wire. Later parts of the domain (clusters, merge and split rules, triage scoring) live here
//! too, for the same reason: they are rules, not plumbing.

mod currency;
mod identifier;
mod kinds;
pub mod limits;
mod reference;
mod report;
mod time;

pub use currency::{CRYPTO_TICKERS, is_known_currency};
pub use identifier::{IdentifierOutcome, NormalizedIdentifier, ReportedIdentifier, Unverified};
pub use kinds::{AgeBand, Category, ContactChannel, IdentifierRole, PaymentMethod, UnknownName};
pub use reference::{Reference, ReferenceError};
pub use report::{NewPayment, NewReport, StoredReport, Victim};
pub use scamtrail_normalize::{Country, KindHint};
pub use time::UnixMicros;
