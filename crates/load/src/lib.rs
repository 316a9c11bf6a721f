//! scamtrail's load generator: realistic reports from generated scam networks ([`scenario`]),
//! driven against a running server over real gRPC at a fixed concurrency for a fixed time
//! ([`drive`]), with every figure also given as a ratio of the server's own health-check rate
//! measured in the same run (machines are shared and noisy: ratios hold, absolute figures drift).
//!
//! The `scamtrail-load` binary (`main.rs`) has two commands: `run` (measure a workload) and `seed`
//! (fill a database through the bulk import path, for the read benchmarks).

pub mod drive;
pub mod scenario;
