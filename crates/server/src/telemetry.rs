//! What operators watch: Prometheus metrics on a listener of their own (`--metrics-listen`),
//! never on the gRPC port that victims' browsers reach, and a trace span per call exported over
//! OTLP (`--otlp-endpoint`).
//!
//! The gRPC series carry the names dashboards for gRPC servers already use
//! (`grpc_server_started_total`, `grpc_server_handled_total`, `grpc_server_handling_seconds`),
//! counted by one tower layer ([`CallLayer`]) placed inside the gRPC-Web translation and
//! outside the guard, so that browser calls and the guard's refusals are counted too. The
//! service's own series start with `scamtrail_`. No maintained crate measures a tonic 0.14 server
//! this way, hence the layer; the series themselves go through the `metrics` facade and
//! `metrics-exporter-prometheus`.
//!
//! Labels come from fixed tables only: a path that is not a served method (the path is the
//! caller's to choose) is counted as `unknown`.
//!
//! The same layer opens the call's span (`rpc.method`, `rpc.response.status_code`, as
//! OpenTelemetry's RPC conventions name them), continuing a caller's `traceparent`. A span holds
//! the method and the status only: never identifiers, narratives or victim data.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::OnceLock;
use std::task::{Context, Poll};
use std::time::Duration;
use std::time::Instant;

use http_body::{Body, Frame};
use metrics::{counter, describe_counter, describe_gauge, describe_histogram, histogram};
use metrics_exporter_prometheus::{Matcher, PrometheusBuilder};
use prost::Message;

/// Upper bounds of the call-duration buckets, in seconds (the conventional gRPC set, with finer
/// steps below 5 ms where most of scamtrail's calls end).
const DURATION_BUCKETS: &[f64] =
    &[0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0];

/// Every gRPC status code by the name gRPC's dashboards use (Go's `codes.Code.String()`).
const CODE_NAMES: [&str; 17] = [
    "OK",
    "Canceled",
    "Unknown",
    "InvalidArgument",
    "DeadlineExceeded",
    "NotFound",
    "AlreadyExists",
    "PermissionDenied",
    "ResourceExhausted",
    "FailedPrecondition",
    "Aborted",
    "OutOfRange",
    "Unimplemented",
    "Internal",
    "Unavailable",
    "DataLoss",
    "Unauthenticated",
];

/// The name of a `grpc-status` value; a value outside the 17 codes is `Unknown`.
fn code_name(code: i32) -> &'static str {
    usize::try_from(code).ok().and_then(|i| CODE_NAMES.get(i)).copied().unwrap_or("Unknown")
}

/// The labels of one method.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Method {
    service: &'static str,
    method: &'static str,
    kind: &'static str,
}

const UNKNOWN: Method = Method { service: "unknown", method: "unknown", kind: "unknown" };

impl Method {
    fn labels(self) -> [(&'static str, &'static str); 3] {
        [("grpc_service", self.service), ("grpc_method", self.method), ("grpc_type", self.kind)]
    }
}

/// Every method this server answers, by path: scamtrail's from its descriptor set, and the
/// health and reflection services'.
fn methods() -> &'static HashMap<String, Method> {
    static METHODS: OnceLock<HashMap<String, Method>> = OnceLock::new();
    METHODS.get_or_init(|| {
        let mut table = HashMap::new();
        let mut add = |service: String, method: String, client_streaming: bool, server_streaming: bool| {
            let kind = match (client_streaming, server_streaming) {
                (false, false) => "unary",
                (true, false) => "client_stream",
                (false, true) => "server_stream",
                (true, true) => "bidi_stream",
            };
            let path = format!("/{service}/{method}");
            // Leaked once per method at start-up: labels must be 'static, and the set is fixed.
            let service: &'static str = Box::leak(service.into_boxed_str());
            let method: &'static str = Box::leak(method.into_boxed_str());
            table.insert(path, Method { service, method, kind });
        };
        if let Ok(set) = prost_types::FileDescriptorSet::decode(scamtrail_proto::FILE_DESCRIPTOR_SET) {
            for file in set.file.iter().filter(|f| f.package().starts_with("scamtrail.")) {
                for service in &file.service {
                    for m in &service.method {
                        add(
                            format!("{}.{}", file.package(), service.name()),
                            m.name().to_owned(),
                            m.client_streaming(),
                            m.server_streaming(),
                        );
                    }
                }
            }
        }
        add("grpc.health.v1.Health".into(), "Check".into(), false, false);
        add("grpc.health.v1.Health".into(), "Watch".into(), false, true);
        for reflection in ["grpc.reflection.v1.ServerReflection", "grpc.reflection.v1alpha.ServerReflection"] {
            add(reflection.into(), "ServerReflectionInfo".into(), true, true);
        }
        table
    })
}

fn method_of(path: &str) -> Method {
    methods().get(path).copied().unwrap_or(UNKNOWN)
}

/// Installs the Prometheus recorder and its HTTP listener on `listen` (any path answers the
/// metrics), describes every series and creates the gRPC ones at zero, so that a dashboard sees
/// a method before its first call. Needs a Tokio runtime.
pub fn install_metrics(listen: SocketAddr) -> anyhow::Result<()> {
    PrometheusBuilder::new()
        .with_http_listener(listen)
        .set_buckets_for_metric(Matcher::Suffix("_seconds".into()), DURATION_BUCKETS)?
        .set_buckets_for_metric(Matcher::Full("scamtrail_writer_batch_size".into()), BATCH_SIZE_BUCKETS)?
        .install()
        .map_err(|e| anyhow::anyhow!("cannot serve metrics on {listen}: {e}"))?;
    describe();
    let methods = methods();
    let known = methods.values().copied().chain(std::iter::once(UNKNOWN));
    for method in known {
        counter!("grpc_server_started_total", &method.labels()).absolute(0);
        for code in CODE_NAMES {
            let [a, b, c] = method.labels();
            counter!("grpc_server_handled_total", &[a, b, c, ("grpc_code", code)]).absolute(0);
        }
    }
    for category in scamtrail_core::Category::ALL {
        counter!("scamtrail_reports_submitted_total", "category" => category.as_str()).absolute(0);
    }
    for limit in crate::auth::guard::Limit::ALL {
        counter!("scamtrail_rate_limited_total", "limit" => limit.label()).absolute(0);
    }
    metrics::gauge!("scamtrail_watch_streams").set(0.0);
    // The store's series, before their first batch or count.
    for writer in ["reports", "audit"] {
        let _registered = metrics::histogram!("scamtrail_writer_batch_size", "writer" => writer);
        let _registered = metrics::histogram!("scamtrail_writer_commit_seconds", "writer" => writer);
    }
    let _registered = metrics::histogram!("scamtrail_audit_append_seconds");
    for status in scamtrail_core::ClusterStatus::ALL.iter().filter(|s| **s != scamtrail_core::ClusterStatus::Merged) {
        metrics::gauge!("scamtrail_clusters", "status" => status.as_str()).set(0.0);
    }
    for state in scamtrail_core::IdentifierState::ALL.iter().filter(|s| **s != scamtrail_core::IdentifierState::Normal)
    {
        metrics::gauge!("scamtrail_identifiers_not_linking", "state" => state.as_str()).set(0.0);
    }
    for queue in scamtrail_store::Queue::ALL {
        metrics::gauge!("scamtrail_queue_clusters", "queue" => queue_label(queue)).set(0.0);
    }
    for state in ["idle", "in_use"] {
        metrics::gauge!("scamtrail_db_pool_connections", "state" => state).set(0.0);
    }
    tracing::info!(address = %listen, "metrics listening");
    Ok(())
}

/// Upper bounds of the writer batch-size buckets, in items.
const BATCH_SIZE_BUCKETS: &[f64] = &[1.0, 2.0, 4.0, 8.0, 16.0, 32.0, 64.0, 128.0, 256.0, 512.0];

/// How often the store's counts (clusters by status, queue depths, identifiers by state, the
/// pool) are read for the gauges: each read counts rows, so not on every scrape.
const COUNTS_EVERY: Duration = Duration::from_secs(5);

/// Reads the store's counts into their gauges now and every [`COUNTS_EVERY`] until the task is
/// aborted; a failed read is logged and tried again next time.
pub fn watch_store(store: scamtrail_store::Store) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let mut every = tokio::time::interval(COUNTS_EVERY);
        every.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            every.tick().await;
            if let Err(e) = record_counts(&store).await {
                tracing::warn!(error = %e, "cannot read the store's counts for the metrics");
            }
        }
    })
}

async fn record_counts(store: &scamtrail_store::Store) -> Result<(), scamtrail_store::StoreError> {
    let counts = store.operational_counts().await?;
    for (status, n) in counts.clusters_by_status {
        metrics::gauge!("scamtrail_clusters", "status" => status.as_str()).set(n as f64);
    }
    for (state, n) in counts.identifiers_by_state {
        metrics::gauge!("scamtrail_identifiers_not_linking", "state" => state.as_str()).set(n as f64);
    }
    let idle = f64::from(counts.pool_idle);
    metrics::gauge!("scamtrail_db_pool_connections", "state" => "idle").set(idle);
    metrics::gauge!("scamtrail_db_pool_connections", "state" => "in_use").set(f64::from(counts.pool_open) - idle);
    for (queue, n) in store.queue_counts(&scamtrail_store::QueueFilter::default()).await? {
        metrics::gauge!("scamtrail_queue_clusters", "queue" => queue_label(queue)).set(n as f64);
    }
    Ok(())
}

fn queue_label(queue: scamtrail_store::Queue) -> &'static str {
    match queue {
        scamtrail_store::Queue::GoldenHour => "golden_hour",
        scamtrail_store::Queue::AtRisk => "at_risk",
        scamtrail_store::Queue::New => "new",
        scamtrail_store::Queue::HotIdentifiers => "hot_identifiers",
    }
}

fn describe() {
    describe_counter!("grpc_server_started_total", "Calls started, by method.");
    describe_counter!("grpc_server_handled_total", "Calls finished, by method and gRPC status code.");
    describe_histogram!(
        "grpc_server_handling_seconds",
        metrics::Unit::Seconds,
        "Time from a call's arrival to its status, by method."
    );
    describe_counter!("scamtrail_reports_submitted_total", "Reports stored (not replays), by scam category.");
    describe_counter!(
        "scamtrail_rate_limited_total",
        "Calls refused for their rate, by limit (intake per key, intake per peer, sign-in per peer)."
    );
    describe_gauge!("scamtrail_watch_streams", "WatchQueue streams open now.");
    describe_histogram!("scamtrail_writer_batch_size", "Items in each commit of a serial writer (reports, audit).");
    describe_histogram!(
        "scamtrail_writer_commit_seconds",
        metrics::Unit::Seconds,
        "Time to commit one batch of a serial writer (reports, audit), fsync included."
    );
    describe_histogram!(
        "scamtrail_audit_append_seconds",
        metrics::Unit::Seconds,
        "Time an audited call waits for its audit event to be durable."
    );
    describe_gauge!("scamtrail_clusters", "Live clusters by triage status (read every 5 s).");
    describe_gauge!("scamtrail_queue_clusters", "Clusters waiting in each triage queue (read every 5 s).");
    describe_gauge!("scamtrail_identifiers_not_linking", "Identifiers that do not link, by state (read every 5 s).");
    describe_gauge!(
        "scamtrail_db_pool_connections",
        "The database pool's connections, idle and in use (read every 5 s)."
    );
}

/// Counts every call through it and opens its span; see the module documentation.
#[derive(Debug, Clone, Copy)]
pub struct CallLayer {
    metrics: bool,
    traces: bool,
}

impl CallLayer {
    /// A layer that counts when `metrics` are installed and opens spans when `traces` are
    /// exported; with neither, it only passes calls on.
    pub fn new(metrics: bool, traces: bool) -> Self {
        CallLayer { metrics, traces }
    }
}

impl<S> tower::Layer<S> for CallLayer {
    type Service = Observed<S>;

    fn layer(&self, inner: S) -> Observed<S> {
        Observed { inner, layer: *self }
    }
}

/// The service [`CallLayer`] makes.
#[derive(Debug, Clone)]
pub struct Observed<S> {
    inner: S,
    layer: CallLayer,
}

type BoxFuture<T> = Pin<Box<dyn Future<Output = T> + Send>>;

impl<S, ReqBody, ResBody> tower::Service<http::Request<ReqBody>> for Observed<S>
where
    S: tower::Service<http::Request<ReqBody>, Response = http::Response<ResBody>>,
    S::Future: Send + 'static,
    ResBody: Send + 'static,
{
    type Response = http::Response<ObservedBody<ResBody>>;
    type Error = S::Error;
    type Future = BoxFuture<Result<Self::Response, Self::Error>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: http::Request<ReqBody>) -> Self::Future {
        let CallLayer { metrics, traces } = self.layer;
        if !metrics && !traces {
            let answer = self.inner.call(request);
            return Box::pin(async move {
                let response = answer.await?;
                let (parts, body) = response.into_parts();
                Ok(http::Response::from_parts(parts, ObservedBody { inner: body, call: None }))
            });
        }
        let method = method_of(request.uri().path());
        let span = traces.then(|| call_span(method, request.headers()));
        let call = Some(Call::start(method, metrics, span.clone()));
        let answer = match &span {
            Some(span) => {
                let _entered = span.enter();
                self.inner.call(request)
            }
            None => self.inner.call(request),
        };
        let answer = tracing::Instrument::instrument(answer, span.unwrap_or_else(tracing::Span::none));
        Box::pin(async move {
            let response = answer.await?;
            let mut call = call;
            // A trailers-only answer (every refusal) carries its status in the headers.
            if let Some(code) = grpc_status(response.headers())
                && let Some(call) = call.take()
            {
                call.finish(code);
            }
            let (parts, body) = response.into_parts();
            Ok(http::Response::from_parts(parts, ObservedBody { inner: body, call }))
        })
    }
}

fn grpc_status(headers: &http::HeaderMap) -> Option<&'static str> {
    let value = headers.get("grpc-status")?.to_str().ok()?;
    Some(value.parse::<i32>().map_or("Unknown", code_name))
}

/// One call being measured.
#[derive(Debug)]
struct Call {
    method: Method,
    started: Instant,
    metrics: bool,
    span: Option<tracing::Span>,
}

impl Call {
    fn start(method: Method, metrics: bool, span: Option<tracing::Span>) -> Call {
        if metrics {
            counter!("grpc_server_started_total", &method.labels()).increment(1);
        }
        Call { method, started: Instant::now(), metrics, span }
    }

    fn finish(self, code: &'static str) {
        if self.metrics {
            let labels = self.method.labels();
            histogram!("grpc_server_handling_seconds", &labels).record(self.started.elapsed().as_secs_f64());
            let [a, b, c] = labels;
            counter!("grpc_server_handled_total", &[a, b, c, ("grpc_code", code)]).increment(1);
        }
        if let Some(span) = self.span {
            span.record("rpc.response.status_code", status_code_name(code));
            // OpenTelemetry's RPC conventions: these codes are server errors, the others the
            // caller's.
            if matches!(
                code,
                "Unknown" | "DeadlineExceeded" | "Unimplemented" | "Internal" | "Unavailable" | "DataLoss"
            ) {
                span.record("otel.status_code", "ERROR");
            }
        }
    }
}

/// A code's name as OpenTelemetry writes it (`INVALID_ARGUMENT`).
fn status_code_name(code: &'static str) -> &'static str {
    const UPPER: [&str; 17] = [
        "OK",
        "CANCELLED",
        "UNKNOWN",
        "INVALID_ARGUMENT",
        "DEADLINE_EXCEEDED",
        "NOT_FOUND",
        "ALREADY_EXISTS",
        "PERMISSION_DENIED",
        "RESOURCE_EXHAUSTED",
        "FAILED_PRECONDITION",
        "ABORTED",
        "OUT_OF_RANGE",
        "UNIMPLEMENTED",
        "INTERNAL",
        "UNAVAILABLE",
        "DATA_LOSS",
        "UNAUTHENTICATED",
    ];
    CODE_NAMES.iter().position(|&c| c == code).map_or("UNKNOWN", |i| UPPER[i])
}

/// The span of one call, a child of the caller's `traceparent` when it sends one.
fn call_span(method: Method, headers: &http::HeaderMap) -> tracing::Span {
    use tracing_opentelemetry::OpenTelemetrySpanExt;
    let name = if method == UNKNOWN { "_OTHER".to_owned() } else { format!("{}/{}", method.service, method.method) };
    let span = tracing::info_span!(
        target: "scamtrail::call",
        "call",
        otel.name = %name,
        otel.kind = "server",
        rpc.system.name = "grpc",
        rpc.method = %name,
        rpc.response.status_code = tracing::field::Empty,
        otel.status_code = tracing::field::Empty,
    );
    let parent = opentelemetry::global::get_text_map_propagator(|p| p.extract(&Headers(headers)));
    let _ = span.set_parent(parent);
    span
}

/// Reads trace context from request headers.
struct Headers<'a>(&'a http::HeaderMap);

impl opentelemetry::propagation::Extractor for Headers<'_> {
    fn get(&self, key: &str) -> Option<&str> {
        self.0.get(key).and_then(|v| v.to_str().ok())
    }

    fn keys(&self) -> Vec<&str> {
        self.0.keys().map(http::HeaderName::as_str).collect()
    }
}

/// Exports spans to an OTLP collector over gRPC (`--otlp-endpoint`, e.g.
/// `http://127.0.0.1:4317`), and makes incoming `traceparent` headers their parents. Only the
/// calls' spans (target `scamtrail::call`) and what is logged inside them are exported. Needs a
/// Tokio runtime; shut the provider down at exit to send the last batch.
pub fn tracer_provider(endpoint: &str) -> anyhow::Result<opentelemetry_sdk::trace::SdkTracerProvider> {
    use opentelemetry_otlp::WithExportConfig;
    let exporter = opentelemetry_otlp::SpanExporter::builder()
        .with_tonic()
        .with_endpoint(endpoint)
        .build()
        .map_err(|e| anyhow::anyhow!("--otlp-endpoint {endpoint}: {e}"))?;
    opentelemetry::global::set_text_map_propagator(opentelemetry_sdk::propagation::TraceContextPropagator::new());
    let batches = opentelemetry_sdk::trace::span_processor_with_async_runtime::BatchSpanProcessor::builder(
        exporter,
        opentelemetry_sdk::runtime::Tokio,
    )
    .build();
    Ok(opentelemetry_sdk::trace::SdkTracerProvider::builder()
        .with_span_processor(batches)
        .with_resource(opentelemetry_sdk::Resource::builder().with_service_name("scamtrail").build())
        .build())
}

pin_project_lite::pin_project! {
    /// An answer's body that ends the call when its trailers pass, or as `Canceled` when it is
    /// dropped before them (the client went away, a watch stream was closed).
    pub struct ObservedBody<B> {
        #[pin]
        inner: B,
        call: Option<Call>,
    }

    impl<B> PinnedDrop for ObservedBody<B> {
        fn drop(this: Pin<&mut Self>) {
            if let Some(call) = this.project().call.take() {
                call.finish("Canceled");
            }
        }
    }
}

impl<B: Body> Body for ObservedBody<B> {
    type Data = B::Data;
    type Error = B::Error;

    fn poll_frame(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Result<Frame<B::Data>, B::Error>>> {
        let this = self.project();
        let polled = this.inner.poll_frame(cx);
        if this.call.is_some() {
            let code = match &polled {
                Poll::Ready(Some(Ok(frame))) => frame.trailers_ref().map(|t| grpc_status(t).unwrap_or("Unknown")),
                Poll::Ready(Some(Err(_))) => Some("Internal"),
                // Ended without trailers: not a gRPC answer the client can read.
                Poll::Ready(None) => Some("Unknown"),
                Poll::Pending => None,
            };
            if let Some(code) = code
                && let Some(call) = this.call.take()
            {
                call.finish(code);
            }
        }
        polled
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> http_body::SizeHint {
        self.inner.size_hint()
    }
}

impl<B: Default> Default for ObservedBody<B> {
    fn default() -> Self {
        ObservedBody { inner: B::default(), call: None }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_served_method_has_labels_and_other_paths_are_unknown() {
        let submit = method_of("/scamtrail.v1.IntakeService/SubmitReport");
        assert_eq!(submit, Method { service: "scamtrail.v1.IntakeService", method: "SubmitReport", kind: "unary" });
        assert_eq!(method_of("/scamtrail.v1.TriageService/WatchQueue").kind, "server_stream");
        assert_eq!(method_of("/grpc.reflection.v1alpha.ServerReflection/ServerReflectionInfo").kind, "bidi_stream");
        assert_eq!(method_of("/scamtrail.v1.TriageService/DropEverything"), UNKNOWN);
        assert_eq!(method_of("/../../etc/passwd"), UNKNOWN);
        for rule in crate::auth::methods::RULES {
            assert_ne!(method_of(rule.path), UNKNOWN, "{}", rule.path);
        }
    }

    #[test]
    fn status_codes_have_their_conventional_names() {
        assert_eq!(code_name(0), "OK");
        assert_eq!(code_name(1), "Canceled");
        assert_eq!(code_name(3), "InvalidArgument");
        assert_eq!(code_name(16), "Unauthenticated");
        assert_eq!(code_name(17), "Unknown");
        assert_eq!(code_name(-1), "Unknown");
        for (i, name) in CODE_NAMES.iter().enumerate() {
            let tonic_name = format!("{:?}", tonic::Code::from_i32(i as i32));
            // tonic spells two of them the other way: Ok and Cancelled.
            let tonic_name = tonic_name.replace("Ok", "OK").replace("Cancelled", "Canceled");
            assert_eq!(&tonic_name, name);
        }
    }
}
