//! The one tower layer every call passes through. In order: the method must be in the permission
//! table (else `PERMISSION_DENIED`); a global bound on calls in progress sheds load
//! (`UNAVAILABLE`); the bearer token must be valid (`UNAUTHENTICATED`) and its role must hold the
//! method's permission (`PERMISSION_DENIED`); intake and sign-in calls are rate-limited per key
//! and per peer address (`RESOURCE_EXHAUSTED` with `google.rpc.RetryInfo`; behind a trusted
//! proxy, the address of the client it forwarded for: [`Peer`]); the handler gets a
//! [`Caller`] and at most the call timeout (`DEADLINE_EXCEEDED`); and an audited method's call is
//! appended to the audit trail before its answer leaves (a change's intent also before it is
//! made; see [`Audit`]). Health and reflection pass untouched.

use std::collections::HashMap;
use std::pin::Pin;
use std::sync::{Arc, Mutex, PoisonError};
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use http::HeaderValue;
use scamtrail_core::{AuditEvent, Permission, Role, UnixMicros};
use scamtrail_store::{Access, Credential, CredentialKind};
use tokio::sync::Semaphore;
use tonic::{Code, Status};
use tonic_types::{ErrorDetails, StatusExt};

use super::methods::{Audit, Rule, is_open};
use super::peer::{Peer, TrustedProxies};
use super::secrets;
use super::throttle::{GuessThrottle, Limiter, Rate};

/// How long a verified token is trusted before the database is asked again. Revocation through
/// this instance takes effect at once; through another instance or the CLI, within this time.
const CREDENTIAL_CACHE_TTL: Duration = Duration::from_secs(10);
/// How often a key's `last_used_at` is written at most.
const KEY_TOUCH_INTERVAL: Duration = Duration::from_secs(60);
/// Cached credentials at most.
const CREDENTIAL_CACHE_MAX: usize = 10_000;

/// Limits and timeouts of the guard.
#[derive(Debug, Clone)]
pub struct GuardConfig {
    /// Intake calls (submit, preview, follow-up) per API key.
    pub intake_per_key: Rate,
    /// Intake calls per peer address.
    pub intake_per_peer: Rate,
    /// Sign-in attempts per peer address.
    pub login_per_peer: Rate,
    /// Proxies whose forwarding header names the client.
    pub trusted_proxies: TrustedProxies,
    /// Calls in progress at most; more are shed.
    pub max_concurrent_calls: usize,
    /// The longest a call may take (a shorter `grpc-timeout` from the client wins).
    pub call_timeout: Duration,
    /// How long a session lasts.
    pub session_ttl: Duration,
}

/// Who is calling, as the handlers see it (in the request's extensions).
#[derive(Debug, Clone)]
pub struct Caller {
    /// A user name, `key:NAME`, or `anonymous` for calls without credentials.
    pub actor: String,
    /// The role; `None` without credentials.
    pub role: Option<Role>,
    /// A liaison's agency.
    pub agency: Option<String>,
    /// The session or key the call came with.
    pub credential: Option<(CredentialKind, i64)>,
    /// When the session ends.
    pub expires_at: Option<UnixMicros>,
    /// Where the call came from, as the audit trail records it (see [`Peer`]).
    pub peer: String,
    /// The key the caller's address is limited by (see [`Peer::address_key`]).
    pub address_key: String,
    /// The records the call concerned, for its audit event.
    targets: Arc<Mutex<Vec<String>>>,
    /// Who the call turned out to be (a successful sign-in), for its audit event.
    became: Arc<Mutex<Option<(String, Role)>>>,
    /// The stored hash of the bearer token, to check a long call's credentials again.
    token_hash: Option<String>,
}

impl Caller {
    /// Names a record the call concerns, for the audit trail (`report:12`, `cluster:4`).
    pub fn target(&self, target: impl Into<String>) {
        self.targets.lock().unwrap_or_else(PoisonError::into_inner).push(target.into());
    }

    /// Records that the call signed in `name`: its audit event names that user, not `anonymous`.
    pub fn became(&self, name: &str, role: Role) {
        *self.became.lock().unwrap_or_else(PoisonError::into_inner) = Some((name.to_owned(), role));
    }

    /// Whether the caller is a supervisor.
    pub fn is_supervisor(&self) -> bool {
        self.role == Some(Role::Supervisor)
    }
}

/// The caller of a request (the guard always sets it).
pub fn caller<T>(request: &tonic::Request<T>) -> Result<Caller, Status> {
    request.extensions().get::<Caller>().cloned().ok_or_else(|| Status::internal("call did not pass the guard"))
}

struct Cached {
    credential: Credential,
    fetched: Instant,
    touched: Instant,
}

/// What the guard shares between calls; also used by the auth service (sign-in throttling,
/// password hashing, forgetting ended sessions).
pub struct GuardState {
    /// Users, sessions, keys and the audit trail.
    pub access: Access,
    /// The configuration.
    pub config: GuardConfig,
    /// Password hashing, bounded.
    pub hasher: secrets::PasswordHasher,
    audit_log: scamtrail_store::AuditLog,
    /// Sign-in attempts per account and address.
    pub sign_ins: GuessThrottle,
    /// Follow-up attempts per report reference and address.
    pub follow_up_attempts: GuessThrottle,
    cache: Mutex<HashMap<String, Cached>>,
    intake_per_key: Limiter,
    intake_per_peer: Limiter,
    login_per_peer: Limiter,
    in_progress: Arc<Semaphore>,
}

impl GuardState {
    /// The shared state for `config`.
    pub fn new(access: Access, config: GuardConfig) -> Self {
        Self {
            audit_log: access.audit_log(),
            access,
            hasher: secrets::PasswordHasher::new(std::thread::available_parallelism().map_or(2, |n| n.get())),
            sign_ins: GuessThrottle::default(),
            follow_up_attempts: GuessThrottle::default(),
            cache: Mutex::default(),
            intake_per_key: Limiter::new(config.intake_per_key),
            intake_per_peer: Limiter::new(config.intake_per_peer),
            login_per_peer: Limiter::new(config.login_per_peer),
            in_progress: Arc::new(Semaphore::new(config.max_concurrent_calls.max(1))),
            config,
        }
    }

    /// Whether a caller's credentials still hold (not revoked, disabled, signed out or expired),
    /// asked of the database: long calls (queue watches) check again as they go. A database that
    /// does not answer keeps the call going (it is asked again at the next check).
    pub async fn still_valid(&self, caller: &Caller) -> bool {
        let (Some((kind, _)), Some(hash)) = (caller.credential, caller.token_hash.as_deref()) else { return true };
        match self.access.credential(kind, hash).await {
            Ok(found) => found.is_some_and(|c| c.expires_at.is_none_or(|t| t > UnixMicros::now())),
            Err(e) => {
                tracing::warn!(error = %e, "cannot check a watcher's credentials; trying again later");
                true
            }
        }
    }

    /// Forgets a cached credential (after sign-out).
    pub fn forget(&self, kind: CredentialKind, id: i64) {
        self.cache
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .retain(|_, c| !(c.credential.kind == kind && c.credential.id == id));
    }

    /// The credential of a bearer token, with the token's stored hash.
    async fn authenticate(&self, header: Option<&HeaderValue>) -> Result<(Credential, String), Status> {
        let unauthenticated = || {
            Status::unauthenticated(
                "send `authorization: Bearer TOKEN` with a session token (AuthService.Login) or an API key",
            )
        };
        let value = header.and_then(|h| h.to_str().ok()).ok_or_else(unauthenticated)?;
        let (scheme, token) = value.trim().split_once(' ').ok_or_else(unauthenticated)?;
        let token = token.trim();
        if !scheme.eq_ignore_ascii_case("bearer") {
            return Err(unauthenticated());
        }
        let kind = if token.starts_with("sts_") {
            CredentialKind::Session
        } else if token.starts_with("stk_") {
            CredentialKind::Key
        } else {
            return Err(Status::unauthenticated("invalid or expired credentials"));
        };
        let hash = secrets::token_hash(token);
        let now = Instant::now();
        let fresh = {
            let cache = self.cache.lock().unwrap_or_else(PoisonError::into_inner);
            cache.get(&hash).filter(|c| now - c.fetched < CREDENTIAL_CACHE_TTL).map(|c| c.credential.clone())
        };
        let credential = match fresh {
            Some(c) => c,
            None => {
                let found =
                    self.access.credential(kind, &hash).await.map_err(|e| crate::error::credentials_unreadable(&e))?;
                let mut cache = self.cache.lock().unwrap_or_else(PoisonError::into_inner);
                if cache.len() >= CREDENTIAL_CACHE_MAX {
                    cache.clear();
                }
                match found {
                    None => {
                        cache.remove(&hash);
                        return Err(Status::unauthenticated("invalid or expired credentials"));
                    }
                    Some(c) => {
                        let touched = cache.get(&hash).map_or(now - KEY_TOUCH_INTERVAL * 2, |old| old.touched);
                        cache.insert(hash.clone(), Cached { credential: c.clone(), fetched: now, touched });
                        c
                    }
                }
            }
        };
        if credential.expires_at.is_some_and(|t| t <= UnixMicros::now()) {
            return Err(Status::unauthenticated("invalid or expired credentials"));
        }
        if credential.kind == CredentialKind::Key {
            self.touch(&hash, &credential);
        }
        Ok((credential, hash))
    }

    /// Writes a key's last use, at most once a minute, without holding up the call.
    fn touch(&self, hash: &str, credential: &Credential) {
        let now = Instant::now();
        {
            let mut cache = self.cache.lock().unwrap_or_else(PoisonError::into_inner);
            match cache.get_mut(hash) {
                Some(c) if now - c.touched >= KEY_TOUCH_INTERVAL => c.touched = now,
                _ => return,
            }
        }
        let (access, id) = (self.access.clone(), credential.id);
        tokio::spawn(async move {
            if let Err(e) = access.touch_key(id).await {
                tracing::warn!(error = %e, "cannot record a key's last use");
            }
        });
    }

    /// Authenticates, authorises and rate-limits one call; `origin` is the browser page it came
    /// from, if any.
    async fn admit(
        &self,
        rule: &Rule,
        header: Option<&HeaderValue>,
        origin: Option<&HeaderValue>,
        peer: &Peer,
    ) -> Result<Caller, (Status, Caller)> {
        let host = peer.address_key();
        let mut caller = Caller {
            actor: "anonymous".to_owned(),
            role: None,
            agency: None,
            credential: None,
            expires_at: None,
            peer: peer.to_string(),
            address_key: host.clone(),
            targets: Arc::default(),
            became: Arc::default(),
            token_hash: None,
        };
        if rule.permission == Permission::Public {
            self.login_per_peer.check(&host).map_err(|wait| (too_many(Limit::SignInPerPeer, wait), caller.clone()))?;
            return Ok(caller);
        }
        let (credential, hash) = self.authenticate(header).await.map_err(|s| (s, caller.clone()))?;
        caller.actor = credential.actor.clone();
        caller.role = Some(credential.role);
        caller.agency = credential.agency.clone();
        caller.credential = Some((credential.kind, credential.id));
        caller.token_hash = Some(hash);
        caller.expires_at = credential.expires_at;
        if !credential.role.holds(rule.permission) {
            let status = Status::permission_denied(format!(
                "role {} may not call {} (it needs the {} permission)",
                credential.role, rule.path, rule.permission
            ));
            return Err((status, caller));
        }
        if let Err(status) = super::origin::admit(&credential.origins, origin) {
            // A bound key is public: its refusals from elsewhere count against the caller's
            // address like intake calls, so that they cannot flood the audit trail.
            self.intake_per_peer
                .check(&host)
                .map_err(|wait| (too_many(Limit::OtherOriginPerPeer, wait), caller.clone()))?;
            return Err((status, caller));
        }
        if matches!(
            rule.permission,
            Permission::SubmitReports | Permission::PreviewIdentifiers | Permission::VictimFollowUp
        ) {
            self.intake_per_key
                .check(&caller.actor)
                .map_err(|wait| (too_many(Limit::IntakePerKey, wait), caller.clone()))?;
            self.intake_per_peer.check(&host).map_err(|wait| (too_many(Limit::IntakePerPeer, wait), caller.clone()))?;
        }
        Ok(caller)
    }

    /// The audit trail, for events a call appends itself (an export's size once it has streamed).
    pub fn audit_log(&self) -> &scamtrail_store::AuditLog {
        &self.audit_log
    }

    /// Appends the server's stop to the audit trail, answering once it is written, and with it
    /// every event queued before it: a submission's event queued at a graceful stop is not lost.
    pub async fn record_stop(&self) -> Result<(), scamtrail_store::StoreError> {
        self.audit_log.append(AuditEvent::now("server", "server", "server stopped", vec![], "local", "OK")).await
    }

    /// Appends the audit event of a call, answering after its commit; an [`Audit::Issue`] event is
    /// only queued for the next batch.
    async fn audit(&self, rule: &Rule, caller: &Caller, outcome: &str) -> Result<(), scamtrail_store::StoreError> {
        let targets = caller.targets.lock().unwrap_or_else(PoisonError::into_inner).clone();
        let became = caller.became.lock().unwrap_or_else(PoisonError::into_inner).clone();
        let (actor, role) = match became {
            Some((name, role)) => (name, Some(role)),
            None => (caller.actor.clone(), caller.role),
        };
        let role = role.map_or("none", Role::as_str);
        let event = AuditEvent::now(&actor, role, rule.path, targets, &caller.peer, outcome);
        if rule.audit == Audit::Issue { self.audit_log.record(event).await } else { self.audit_log.append(event).await }
    }
}

/// A rate limit a caller can meet.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Limit {
    /// Sign-in attempts from one address.
    SignInPerPeer,
    /// Failed sign-ins for one account from one address.
    SignInPerAccount,
    /// Intake calls made with one key.
    IntakePerKey,
    /// Intake calls from one address.
    IntakePerPeer,
    /// Follow-up attempts on one reference from one address.
    FollowUpPerReference,
    /// Calls from one address with a key bound to other browser origins.
    OtherOriginPerPeer,
}

impl Limit {
    /// Every limit.
    pub const ALL: [Limit; 6] = [
        Limit::SignInPerPeer,
        Limit::SignInPerAccount,
        Limit::IntakePerKey,
        Limit::IntakePerPeer,
        Limit::FollowUpPerReference,
        Limit::OtherOriginPerPeer,
    ];

    /// Its label in `scamtrail_rate_limited_total`.
    pub fn label(self) -> &'static str {
        match self {
            Limit::SignInPerPeer => "sign_in_per_peer",
            Limit::SignInPerAccount => "sign_in_per_account",
            Limit::IntakePerKey => "intake_per_key",
            Limit::IntakePerPeer => "intake_per_peer",
            Limit::FollowUpPerReference => "follow_up_per_reference",
            Limit::OtherOriginPerPeer => "other_origin_per_peer",
        }
    }

    /// What the caller did too often, as the refusal says it.
    fn what(self) -> &'static str {
        match self {
            Limit::SignInPerPeer => "sign-in attempts from your address",
            Limit::SignInPerAccount => "failed sign-ins for this account from your address",
            Limit::IntakePerKey => "intake calls for this key",
            Limit::IntakePerPeer => "intake calls from your address",
            Limit::FollowUpPerReference => "attempts for this reference",
            Limit::OtherOriginPerPeer => "calls from your address",
        }
    }
}

/// `RESOURCE_EXHAUSTED` with how long to wait, counted in `scamtrail_rate_limited_total`.
pub fn too_many(limit: Limit, wait: Duration) -> Status {
    metrics::counter!("scamtrail_rate_limited_total", "limit" => limit.label()).increment(1);
    let what = limit.what();
    let seconds = wait.as_secs_f64().ceil().max(1.0);
    Status::with_error_details(
        Code::ResourceExhausted,
        format!("too many {what}; retry in {seconds} s"),
        ErrorDetails::with_retry_info(Some(wait)),
    )
}

/// The layer.
#[derive(Clone)]
pub struct GuardLayer {
    state: Arc<GuardState>,
}

impl GuardLayer {
    /// A layer sharing `state`.
    pub fn new(state: Arc<GuardState>) -> Self {
        Self { state }
    }
}

impl<S> tower::Layer<S> for GuardLayer {
    type Service = Guard<S>;
    fn layer(&self, inner: S) -> Guard<S> {
        Guard { inner, state: self.state.clone() }
    }
}

/// The service the layer makes.
#[derive(Clone)]
pub struct Guard<S> {
    inner: S,
    state: Arc<GuardState>,
}

fn peer_of<B>(request: &http::Request<B>, proxies: &TrustedProxies) -> Peer {
    use tonic::transport::server::{TcpConnectInfo, TlsConnectInfo};
    let extensions = request.extensions();
    let tcp = extensions
        .get::<TcpConnectInfo>()
        .and_then(TcpConnectInfo::remote_addr)
        .or_else(|| extensions.get::<TlsConnectInfo<TcpConnectInfo>>().and_then(|t| t.get_ref().remote_addr()));
    Peer::new(tcp, request.headers(), proxies)
}

/// The `grpc-timeout` header as a duration (`<digits><unit>`, units H M S m u n).
fn grpc_timeout(value: Option<&HeaderValue>) -> Option<Duration> {
    let text = value?.to_str().ok()?;
    let (digits, unit) = text.split_at(text.len().checked_sub(1)?);
    let n: u64 = digits.parse().ok().filter(|_| digits.len() <= 8)?;
    Some(match unit {
        "H" => Duration::from_secs(n * 3_600),
        "M" => Duration::from_secs(n * 60),
        "S" => Duration::from_secs(n),
        "m" => Duration::from_millis(n),
        "u" => Duration::from_micros(n),
        "n" => Duration::from_nanos(n),
        _ => return None,
    })
}

fn answer<B: Default>(status: Status) -> http::Response<B> {
    status.into_http()
}

type BoxFuture<T> = Pin<Box<dyn Future<Output = T> + Send>>;

impl<S, ReqBody, ResBody> tower::Service<http::Request<ReqBody>> for Guard<S>
where
    S: tower::Service<http::Request<ReqBody>, Response = http::Response<ResBody>> + Clone + Send + 'static,
    S::Future: Send + 'static,
    S::Error: Send + 'static,
    ReqBody: Send + 'static,
    ResBody: Default + Send + 'static,
{
    type Response = http::Response<ResBody>;
    type Error = S::Error;
    type Future = BoxFuture<Result<Self::Response, Self::Error>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, mut request: http::Request<ReqBody>) -> Self::Future {
        // The clone that was polled ready serves this call; a fresh clone waits for the next.
        let clone = self.inner.clone();
        let mut inner = std::mem::replace(&mut self.inner, clone);
        let state = self.state.clone();
        Box::pin(async move {
            let path = request.uri().path().to_owned();
            if is_open(&path) {
                return inner.call(request).await;
            }
            let Some(rule) = Rule::for_path(&path) else {
                return Ok(answer(Status::permission_denied(format!("{path} is not a method this server grants"))));
            };
            let Ok(_permit) = state.in_progress.clone().try_acquire_owned() else {
                let mut details = ErrorDetails::new();
                details.set_retry_info(Some(Duration::from_millis(100)));
                let status = Status::with_error_details(Code::Unavailable, "server overloaded; retry shortly", details);
                return Ok(answer(status));
            };
            let peer = peer_of(&request, &state.config.trusted_proxies);
            let limit = grpc_timeout(request.headers().get("grpc-timeout"))
                .map_or(state.config.call_timeout, |t| t.min(state.config.call_timeout));
            let started = tokio::time::Instant::now();
            let admitted = tokio::time::timeout(
                limit,
                state.admit(rule, request.headers().get("authorization"), request.headers().get("origin"), &peer),
            )
            .await;
            let caller = match admitted {
                Err(_) => return Ok(answer(Status::deadline_exceeded("the call took longer than its deadline"))),
                Ok(Err((status, caller))) => {
                    // Refusals of signed-in callers and sign-in attempts are audited; calls
                    // without credentials are not, so that they cannot flood the trail.
                    // Calls refused for their rate are counted by nobody: a flood must not become
                    // a flood of audit rows.
                    if rule.audit.any()
                        && status.code() != Code::ResourceExhausted
                        && (caller.role.is_some() || rule.permission == Permission::Public)
                        && let Err(e) = state.audit(rule, &caller, code_name(status.code())).await
                    {
                        tracing::error!(error = %e, "cannot append to the audit trail");
                    }
                    return Ok(answer(status));
                }
                Ok(Ok(caller)) => caller,
            };
            // A change is recorded as intended before it is made: if the trail cannot take the
            // intent, nothing changes.
            if rule.audit == Audit::Change
                && let Err(e) = state.audit(rule, &caller, "STARTED").await
            {
                return Ok(answer(crate::error::audit_unwritten(&e)));
            }
            request.extensions_mut().insert(caller.clone());
            let remaining = limit.saturating_sub(started.elapsed());
            let response = match tokio::time::timeout(remaining, inner.call(request)).await {
                Err(_) => answer(Status::deadline_exceeded("the call took longer than its deadline")),
                Ok(result) => result?,
            };
            if !rule.audit.any() {
                return Ok(response);
            }
            let outcome = response
                .headers()
                .get("grpc-status")
                .and_then(|v| v.to_str().ok())
                .and_then(|v| v.parse::<i32>().ok())
                .map_or("OK", |c| code_name(Code::from_i32(c)));
            match state.audit(rule, &caller, outcome).await {
                Ok(()) => Ok(response),
                // A read that could not be audited is not answered; a change is made by now and its
                // intent recorded, so its caller hears how it went.
                Err(e) if outcome == "OK" && rule.audit == Audit::Read => Ok(answer(crate::error::audit_unwritten(&e))),
                Err(e) => {
                    tracing::error!(error = %e, "cannot append to the audit trail");
                    Ok(response)
                }
            }
        })
    }
}

/// The canonical name of a status code, as the audit trail stores it.
pub fn code_name(code: Code) -> &'static str {
    match code {
        Code::Ok => "OK",
        Code::Cancelled => "CANCELLED",
        Code::Unknown => "UNKNOWN",
        Code::InvalidArgument => "INVALID_ARGUMENT",
        Code::DeadlineExceeded => "DEADLINE_EXCEEDED",
        Code::NotFound => "NOT_FOUND",
        Code::AlreadyExists => "ALREADY_EXISTS",
        Code::PermissionDenied => "PERMISSION_DENIED",
        Code::ResourceExhausted => "RESOURCE_EXHAUSTED",
        Code::FailedPrecondition => "FAILED_PRECONDITION",
        Code::Aborted => "ABORTED",
        Code::OutOfRange => "OUT_OF_RANGE",
        Code::Unimplemented => "UNIMPLEMENTED",
        Code::Internal => "INTERNAL",
        Code::Unavailable => "UNAVAILABLE",
        Code::DataLoss => "DATA_LOSS",
        Code::Unauthenticated => "UNAUTHENTICATED",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn grpc_timeouts_parse() {
        let v = |s: &'static str| Some(HeaderValue::from_static(s));
        assert_eq!(grpc_timeout(v("5S").as_ref()), Some(Duration::from_secs(5)));
        assert_eq!(grpc_timeout(v("250m").as_ref()), Some(Duration::from_millis(250)));
        assert_eq!(grpc_timeout(v("2M").as_ref()), Some(Duration::from_secs(120)));
        assert_eq!(grpc_timeout(v("x").as_ref()), None);
        assert_eq!(grpc_timeout(v("").as_ref()), None);
        assert_eq!(grpc_timeout(None), None);
    }
}
