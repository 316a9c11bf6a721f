//! Who may call what: the permission table ([`methods`]), the guard layer that authenticates,
//! authorises, limits and audits every call ([`guard`]), keys bound to browser origins ([`origin`]), where a call comes from behind trusted
//! proxies ([`peer`]), secrets and their hashes ([`secrets`]), abuse limits ([`throttle`]), and
//! the auth and admin services ([`service`]).

pub mod guard;
pub mod methods;
pub mod origin;
pub mod peer;
pub mod secrets;
pub mod service;
pub mod throttle;

pub use guard::{Caller, GuardConfig, GuardLayer, GuardState, caller};
