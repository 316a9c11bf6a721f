//! scamtrail's load generator: realistic reports from generated scam networks ([`scenario`]),
//! driven against a running server over real gRPC at a fixed concurrency for a fixed time
//! ([`drive`]), with every figure also given as a ratio of the server's own health-check rate
//! measured in the same run (machines are shared and noisy: ratios hold, absolute figures drift).
//!
//! The `scamtrail-load` binary (`main.rs`) has two commands: `run` (measure a workload) and `seed`
//! (fill a database through the bulk import path, for the read benchmarks).

pub mod drive;
pub mod scenario;
pub mod worlds;

/// A channel whose calls carry a bearer token.
pub type Authed = tonic::service::interceptor::InterceptedService<tonic::transport::Channel, Bearer>;

/// Adds `authorization: Bearer TOKEN` to every call (an empty token sends no header).
#[derive(Clone)]
pub struct Bearer(Option<tonic::metadata::MetadataValue<tonic::metadata::Ascii>>);

impl Bearer {
    /// Credentials from a token; an empty token sends none. Panics on a token that is not ASCII.
    pub fn new(token: &str) -> Self {
        Self((!token.is_empty()).then(|| format!("Bearer {token}").parse().expect("ASCII token")))
    }
}

impl tonic::service::Interceptor for Bearer {
    fn call(&mut self, mut request: tonic::Request<()>) -> Result<tonic::Request<()>, tonic::Status> {
        if let Some(value) = &self.0 {
            request.metadata_mut().insert("authorization", value.clone());
        }
        Ok(request)
    }
}
