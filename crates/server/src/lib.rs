//! scamtrail's server: the tonic services, the wire mapping, configuration and start-up.
//!
//! Only this crate knows gRPC. It maps requests to `scamtrail-core` types ([`wire`]), rejects
//! bad input with every bad field named ([`violations`], [`error`]), and calls the store. The
//! `scamtrail` binary (`main.rs`) is a thin command-line layer over [`serve`].

pub mod auth;
pub mod cluster_wire;
pub mod error;
pub mod export;
pub mod intake;
pub mod key_file;
pub mod localized;
pub mod lookup;
pub mod progress;
pub mod retention;
pub mod safelist;
pub mod search_wire;
pub mod shared_hosts;
pub mod tag_vocabulary;
pub mod telemetry;
pub mod triage;
pub mod violations;
pub mod web_page;
pub mod wire;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use http::{HeaderName, HeaderValue};
use scamtrail_core::limits;
use scamtrail_normalize::{Normalizer, NormalizerConfig};
use scamtrail_proto::v1::admin_service_server::AdminServiceServer;
use scamtrail_proto::v1::auth_service_server::AuthServiceServer;
use scamtrail_proto::v1::export_service_server::ExportServiceServer;
use scamtrail_proto::v1::intake_service_server::IntakeServiceServer;
use scamtrail_proto::v1::lookup_service_server::LookupServiceServer;
use scamtrail_proto::v1::triage_service_server::TriageServiceServer;
use scamtrail_store::{AuditSeal, Store, StoreConfig};
use tokio::net::TcpListener;
use tower_http::cors::{AllowOrigin, CorsLayer};

/// Everything `scamtrail serve` needs.
#[derive(Debug, Clone)]
pub struct ServeConfig {
    /// Where to listen.
    pub listen: SocketAddr,
    /// The database.
    pub store: StoreConfig,
    /// Browser origins allowed to call over gRPC-Web (CORS); empty allows none but same-origin.
    pub cors_origins: Vec<String>,
    /// The file holding the secret key of card MACs; created on first start.
    pub card_key_file: PathBuf,
    /// The file holding the secret key of the audit chain; created on first start.
    pub audit_key_file: PathBuf,
    /// The file holding the data keys that seal victims' personal data; created on first start,
    /// read again while serving (a rotation adds a version).
    pub data_key_file: PathBuf,
    /// How long in-flight calls may run after a shutdown signal.
    pub shutdown_grace: Duration,
    /// A safelist file to apply beside the shipped one.
    pub safelist_file: Option<PathBuf>,
    /// A shared-hosts file (shorteners, link pages, site hosts) read beside the shipped list.
    pub shared_hosts_file: Option<PathBuf>,
    /// The tags investigators may put on clusters (`--tag-vocabulary-file`); none: every tag.
    pub tag_vocabulary_file: Option<PathBuf>,
    /// Authentication, limits and timeouts.
    pub guard: auth::GuardConfig,
    /// Concurrent streams (calls) per HTTP/2 connection at most.
    pub max_streams_per_connection: u32,
    /// TLS, when configured.
    pub tls: Option<TlsFiles>,
    /// Serve plaintext on a non-loopback address (a TLS-terminating proxy on this host forwards to it).
    pub allow_plaintext: bool,
    /// A directory of static files (the built report page) served to `GET` on the same port.
    pub web_dir: Option<PathBuf>,
    /// Where to serve Prometheus metrics (plain HTTP, any path); none when unset.
    pub metrics_listen: Option<SocketAddr>,
    /// Open a span per call (exported when the process set up an OTLP exporter).
    pub trace_calls: bool,
    /// Months after a cluster's closing when its reports' personal data is erased.
    pub retention_months: u32,
}

/// PEM files for TLS.
#[derive(Debug, Clone)]
pub struct TlsFiles {
    /// The server's certificate chain.
    pub cert: PathBuf,
    /// Its private key.
    pub key: PathBuf,
    /// With it, clients must present a certificate this CA signed (mTLS).
    pub client_ca: Option<PathBuf>,
}

impl TlsFiles {
    fn config(&self) -> anyhow::Result<tonic::transport::ServerTlsConfig> {
        use tonic::transport::{Certificate, Identity, ServerTlsConfig};
        let read = |path: &PathBuf, what: &str| {
            std::fs::read(path).map_err(|e| anyhow::anyhow!("cannot read the TLS {what} {}: {e}", path.display()))
        };
        let identity = Identity::from_pem(read(&self.cert, "certificate")?, read(&self.key, "key")?);
        let mut config = ServerTlsConfig::new().identity(identity);
        if let Some(ca) = &self.client_ca {
            config = config.client_ca_root(Certificate::from_pem(read(ca, "client CA")?));
        }
        Ok(config)
    }
}

/// Runs the server until `shutdown` resolves, then lets in-flight calls finish.
pub async fn serve(config: ServeConfig, shutdown: impl Future<Output = ()> + Send + 'static) -> anyhow::Result<()> {
    // A served method without a permission, or a permission for no method, stops the start.
    auth::methods::check(scamtrail_proto::FILE_DESCRIPTOR_SET)?;
    refuse_exposed_plaintext(config.listen, config.tls.is_some(), config.allow_plaintext)?;
    if let Some(address) = config.metrics_listen {
        telemetry::install_metrics(address)?;
    }
    let card_mac_key = key_file::card_key(&config.card_key_file)?;
    let (audit_key, audit_key_is_new) = key_file::audit_key(&config.audit_key_file)?;
    let normalizer = Normalizer::new(NormalizerConfig { card_mac_key })
        .with_shared_hosts(shared_hosts::load(config.shared_hosts_file.as_deref())?);
    let vocabulary = tag_vocabulary::load(config.tag_vocabulary_file.as_deref())?;
    // Read the safelist before touching the database: a bad file stops the start cleanly.
    let safelist = safelist::load(config.safelist_file.as_deref(), &normalizer)?;
    let data_keys = key_file::data_keys(&config.data_key_file)?;
    let reload_from = config.data_key_file.clone();
    let reload: std::sync::Arc<scamtrail_store::ReloadKeys> =
        std::sync::Arc::new(move || key_file::existing_data_keys(&reload_from).map_err(|e| e.to_string()));
    let store_config = config.store.clone().with_data_keys(scamtrail_store::KeySource::reloading(data_keys, reload));

    // Health answers NOT_SERVING from the moment the port is bound until the database is migrated
    // and every start-up step is done: a load balancer (or a second instance's operator) sees a
    // server that is starting, not a refused connection or a server that fails calls.
    let (health, health_service) = tonic_health::server::health_reporter();
    set_health(&health, tonic_health::ServingStatus::NotServing).await;
    let listener = TcpListener::bind(config.listen).await?;
    let local = listener.local_addr()?;
    let starting = StartingServer::spawn(listener, health_service.clone(), config.tls.as_ref())?;
    tracing::info!(address = %local, "starting: health answers NOT_SERVING until the database is ready");

    let store = Store::open(&store_config).await?;
    let changed = store.apply_safelist(&safelist).await?;
    tracing::info!(entries = safelist.len(), newly_safelisted = changed, "safelist applied");
    let access = store.access(audit_key);
    open_audit_trail(&access, &config.audit_key_file, audit_key_is_new).await?;
    let counting = config.metrics_listen.map(|_| telemetry::watch_store(store.clone()));
    retention::spawn(&store, access.clone(), Some(config.retention_months));
    let guard = std::sync::Arc::new(auth::GuardState::new(access, config.guard.clone()));

    // Error details (google.rpc) are registered so that grpcurl can decode BadRequest.
    let reflection = || {
        tonic_reflection::server::Builder::configure()
            .register_encoded_file_descriptor_set(scamtrail_proto::FILE_DESCRIPTOR_SET)
            .register_encoded_file_descriptor_set(tonic_health::pb::FILE_DESCRIPTOR_SET)
            .register_encoded_file_descriptor_set(tonic_types::pb::FILE_DESCRIPTOR_SET)
    };
    let reflection_v1 = reflection().build_v1()?;
    // grpcurl before 1.9 speaks only v1alpha.
    let reflection_v1alpha = reflection().build_v1alpha()?;

    let intake = IntakeServiceServer::new(intake::IntakeApi::new(store.clone(), normalizer.clone(), guard.clone()))
        .max_decoding_message_size(limits::MESSAGE_MAX_BYTES);
    let triage = TriageServiceServer::new(
        triage::TriageApi::new(store.clone(), normalizer.clone(), guard.clone()).with_tag_vocabulary(vocabulary),
    )
    .max_decoding_message_size(limits::MESSAGE_MAX_BYTES);
    let lookup = LookupServiceServer::new(lookup::LookupApi::new(store.clone(), normalizer))
        .max_decoding_message_size(limits::MESSAGE_MAX_BYTES);
    let auth_service = AuthServiceServer::new(auth::service::AuthApi::new(guard.clone()))
        .max_decoding_message_size(limits::MESSAGE_MAX_BYTES);
    let admin = AdminServiceServer::new(auth::service::AdminApi::new(guard.clone()))
        .max_decoding_message_size(limits::MESSAGE_MAX_BYTES);
    let export = ExportServiceServer::new(export::ExportApi::new(store.clone(), guard.clone()))
        .max_decoding_message_size(limits::MESSAGE_MAX_BYTES);

    starting.stop().await;
    let listener = TcpListener::bind(local).await?;
    set_health(&health, tonic_health::ServingStatus::Serving).await;
    tracing::info!(
        address = %local,
        database = %redact_url(&config.store.database_url),
        tls = config.tls.is_some(),
        trusted_proxies = ?config.guard.trusted_proxies.networks(),
        "scamtrail listening"
    );

    let (drained_tx, drained_rx) = tokio::sync::oneshot::channel::<()>();
    let grace = config.shutdown_grace;
    let signal = async move {
        shutdown.await;
        // Load balancers watching health stop sending calls while the in-flight ones finish.
        set_health(&health, tonic_health::ServingStatus::NotServing).await;
        tracing::info!(grace_seconds = grace.as_secs(), "shutting down: finishing in-flight calls");
        let _ = drained_tx.send(());
    };
    let mut builder = tonic::transport::Server::builder();
    if let Some(tls) = &config.tls {
        builder = builder.tls_config(tls.config()?)?;
    }
    if let Some(dir) = &config.web_dir {
        anyhow::ensure!(dir.join("index.html").is_file(), "--web-dir {}: no index.html in it", dir.display());
        tracing::info!(dir = %dir.display(), "serving the report page");
    }
    let server = builder
        .accept_http1(true)
        .max_concurrent_streams(config.max_streams_per_connection)
        .layer(web_page::WebPageLayer::new(config.web_dir.as_deref()))
        .layer(cors(&config.cors_origins)?)
        .layer(tonic_web::GrpcWebLayer::new())
        // Inside gRPC-Web (browser calls are counted as gRPC) and outside the guard (its
        // refusals are counted too).
        .layer(telemetry::CallLayer::new(config.metrics_listen.is_some(), config.trace_calls))
        // Inside gRPC-Web (it sees native answers) and outside the guard (its refusals too).
        .layer(localized::LocalizeLayer)
        .layer(auth::GuardLayer::new(guard.clone()))
        .add_service(health_service)
        .add_service(reflection_v1)
        .add_service(reflection_v1alpha)
        .add_service(intake)
        .add_service(triage)
        .add_service(lookup)
        .add_service(auth_service)
        .add_service(admin)
        .add_service(export)
        // TCP_NODELAY: without it, small answers wait on the peer's delayed ACK (40 ms a call).
        .serve_with_incoming_shutdown(
            tonic::transport::server::TcpIncoming::from(listener).with_nodelay(Some(true)),
            signal,
        );
    tokio::pin!(server);
    tokio::select! {
        result = &mut server => result?,
        () = async {
            let _ = drained_rx.await;
            tokio::time::sleep(grace).await;
        } => tracing::warn!("grace period over; closing remaining calls"),
    }
    if let Some(counting) = counting {
        counting.abort();
    }
    // Submissions' events are queued, not awaited: the stop's own event is written after them.
    if let Err(e) = guard.record_stop().await {
        tracing::error!(error = %e, "cannot append the stop to the audit trail");
    }
    tracing::info!("stopped");
    Ok(())
}

/// Sets the whole server's health ("") and every service's to `status`.
async fn set_health(health: &tonic_health::server::HealthReporter, status: tonic_health::ServingStatus) {
    health.set_service_status("", status).await;
    health.set_service_status(service_name::<IntakeServiceServer<intake::IntakeApi>>(), status).await;
    health.set_service_status(service_name::<TriageServiceServer<triage::TriageApi>>(), status).await;
    health.set_service_status(service_name::<LookupServiceServer<lookup::LookupApi>>(), status).await;
    health.set_service_status(service_name::<AuthServiceServer<auth::service::AuthApi>>(), status).await;
    health.set_service_status(service_name::<AdminServiceServer<auth::service::AdminApi>>(), status).await;
    health.set_service_status(service_name::<ExportServiceServer<export::ExportApi>>(), status).await;
}

fn service_name<S: tonic::server::NamedService>() -> &'static str {
    S::NAME
}

/// The health service alone, on the server's port while it starts (migrations, sealing, the
/// safelist): it answers NOT_SERVING. Stopped (or dropped on a failed start) before the server
/// proper binds the same address.
struct StartingServer {
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    task: tokio::task::JoinHandle<Result<(), tonic::transport::Error>>,
}

impl StartingServer {
    fn spawn(
        listener: TcpListener,
        health: tonic_health::pb::health_server::HealthServer<impl tonic_health::pb::health_server::Health>,
        tls: Option<&TlsFiles>,
    ) -> anyhow::Result<Self> {
        let mut builder = tonic::transport::Server::builder();
        if let Some(tls) = tls {
            builder = builder.tls_config(tls.config()?)?;
        }
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let incoming = tonic::transport::server::TcpIncoming::from(listener).with_nodelay(Some(true));
        let task = tokio::spawn(builder.add_service(health).serve_with_incoming_shutdown(incoming, async move {
            let _ = stopped.await;
        }));
        Ok(Self { stop: Some(stop), task })
    }

    /// Closes the port: calls in flight get a second to finish (a health `Watch` never does).
    async fn stop(mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if tokio::time::timeout(Duration::from_secs(1), &mut self.task).await.is_err() {
            self.task.abort();
            let _ = (&mut self.task).await;
        }
    }
}

impl Drop for StartingServer {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// Checks, as a server or command opens the audit trail, that its newest event is signed with the
/// audit key, and seals a trail from before the key when the key is new
/// ([`scamtrail_store::Access::seal_audit_trail`]). A trail that ends otherwise is logged as an
/// error: audited calls fail until it is resolved, the others go on.
pub async fn open_audit_trail(
    access: &scamtrail_store::Access,
    key_file: &std::path::Path,
    key_is_new: bool,
) -> anyhow::Result<()> {
    let key_file = key_file.display();
    match access.seal_audit_trail(key_is_new).await? {
        AuditSeal::Empty | AuditSeal::Keyed => {}
        AuditSeal::Sealed(sequence) => {
            tracing::info!(sequence, "the audit events from before the audit key are sealed by a keyed event")
        }
        AuditSeal::Unkeyed(sequence) => tracing::error!(
            sequence,
            %key_file,
            "the newest audit event has an unkeyed hash although the audit key existed: the trail was \
             rewritten without the key; audited calls fail, `scamtrail audit verify` shows where"
        ),
        AuditSeal::Foreign(sequence) => tracing::error!(
            sequence,
            %key_file,
            "the newest audit event is not signed with this audit key: the wrong key file, or a changed \
             row; audited calls fail, `scamtrail audit verify` shows where"
        ),
    }
    Ok(())
}

/// Refuses plaintext on an address other hosts can reach, where tokens, passwords and victims'
/// data would cross the network readable. Loopback stays allowed (a client or proxy on this
/// host); `allow_plaintext` says a TLS-terminating proxy on this host forwards to a wider address.
/// The checks `serve` makes of its settings before it opens anything: no plaintext on an
/// exposed address, and readable TLS files.
pub fn check_listen(config: &ServeConfig) -> anyhow::Result<()> {
    refuse_exposed_plaintext(config.listen, config.tls.is_some(), config.allow_plaintext)?;
    if let Some(tls) = &config.tls {
        tls.config()?;
    }
    Ok(())
}

fn refuse_exposed_plaintext(listen: SocketAddr, tls: bool, allow_plaintext: bool) -> anyhow::Result<()> {
    if tls || allow_plaintext || listen.ip().to_canonical().is_loopback() {
        return Ok(());
    }
    anyhow::bail!(
        "--listen {listen}: not a loopback address, and TLS is not configured: give --tls-cert and --tls-key, \
         or --allow-plaintext if a TLS-terminating proxy on this host forwards to this address"
    )
}

/// CORS for gRPC-Web callers: the configured origins, the headers gRPC-Web sends and reads.
fn cors(origins: &[String]) -> anyhow::Result<CorsLayer> {
    let origins = origins.iter().map(|o| HeaderValue::from_str(o)).collect::<Result<Vec<_>, _>>()?;
    let header = HeaderName::from_static;
    Ok(CorsLayer::new()
        .allow_origin(AllowOrigin::list(origins))
        .allow_methods([http::Method::POST, http::Method::OPTIONS])
        .allow_headers([
            header("content-type"),
            header("x-grpc-web"),
            header("x-user-agent"),
            header("grpc-timeout"),
            header("authorization"),
            header("accept-language"),
        ])
        .expose_headers([header("grpc-status"), header("grpc-message"), header("grpc-status-details-bin")])
        .max_age(Duration::from_secs(86_400)))
}

/// The database URL without its password, for logs.
pub fn redact_url(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(scheme), Some(at)) if at > scheme => {
            let credentials = &url[scheme + 3..at];
            match credentials.find(':') {
                Some(colon) => format!("{}{}:***{}", &url[..scheme + 3], &credentials[..colon], &url[at..]),
                None => url.to_owned(),
            }
        }
        _ => url.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::{redact_url, refuse_exposed_plaintext};

    #[test]
    fn plaintext_is_refused_beyond_loopback_unless_allowed() {
        let refused = |addr: &str, tls, allow| refuse_exposed_plaintext(addr.parse().unwrap(), tls, allow).is_err();
        for loopback in ["127.0.0.1:50051", "127.8.9.10:1", "[::1]:50051", "[::ffff:127.0.0.1]:50051"] {
            assert!(!refused(loopback, false, false), "{loopback}");
        }
        for exposed in ["0.0.0.0:50051", "[::]:50051", "192.0.2.7:443", "[::ffff:192.0.2.7]:443"] {
            assert!(refused(exposed, false, false), "{exposed}");
            assert!(!refused(exposed, true, false), "{exposed} with TLS");
            assert!(!refused(exposed, false, true), "{exposed} allowed");
        }
        let message = refuse_exposed_plaintext("0.0.0.0:50051".parse().unwrap(), false, false).unwrap_err().to_string();
        assert!(message.contains("--listen 0.0.0.0:50051") && message.contains("--allow-plaintext"), "{message}");
    }

    #[test]
    fn passwords_never_reach_the_log() {
        assert_eq!(redact_url("postgres://app:s3cret@db:5432/st"), "postgres://app:***@db:5432/st");
        assert_eq!(redact_url("postgres://app@db/st"), "postgres://app@db/st");
        assert_eq!(redact_url("sqlite://scamtrail.db"), "sqlite://scamtrail.db");
    }
}
