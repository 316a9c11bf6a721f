//! Traces: `serve --otlp-endpoint` sends a span per call to a real OTLP/gRPC collector (the
//! OpenTelemetry protocol's own service definition, served here by tonic), continuing the
//! caller's `traceparent`, with the method and status and nothing a victim typed.

use std::sync::{Arc, Mutex};

use opentelemetry_proto::tonic::collector::trace::v1::trace_service_server::{TraceService, TraceServiceServer};
use opentelemetry_proto::tonic::collector::trace::v1::{ExportTraceServiceRequest, ExportTraceServiceResponse};
use opentelemetry_proto::tonic::common::v1::any_value::Value;
use opentelemetry_proto::tonic::trace::v1::Span;
use prost::Message;
use scamtrail_e2e::{Backend, TestServer, request, sample_report};
use scamtrail_proto::v1 as pb;
use tonic::{Code, Response, Status};

/// A collector that keeps every export it receives.
#[derive(Clone, Default)]
struct Collector {
    received: Arc<Mutex<Vec<ExportTraceServiceRequest>>>,
}

#[tonic::async_trait]
impl TraceService for Collector {
    async fn export(
        &self,
        request: tonic::Request<ExportTraceServiceRequest>,
    ) -> Result<Response<ExportTraceServiceResponse>, Status> {
        self.received.lock().unwrap().push(request.into_inner());
        Ok(Response::new(ExportTraceServiceResponse { partial_success: None }))
    }
}

fn attribute<'a>(span: &'a Span, key: &str) -> Option<&'a str> {
    span.attributes.iter().find(|a| a.key == key).and_then(|a| match a.value.as_ref()?.value.as_ref()? {
        Value::StringValue(s) => Some(s.as_str()),
        _ => None,
    })
}

const CALLER_TRACE: &str = "4bf92f3577b34da6a3ce929d0e0e4736";
const CALLER_SPAN: &str = "00f067aa0ba902b7";

// Two threads: the collector must keep serving while this test waits for the server to exit.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_call_is_a_span_of_its_method_and_status_and_holds_nothing_a_victim_typed() {
    let collector = Collector::default();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let endpoint = format!("http://{}", listener.local_addr().unwrap());
    let serving = tokio::spawn(
        tonic::transport::Server::builder()
            .add_service(TraceServiceServer::new(collector.clone()))
            .serve_with_incoming(tokio_stream::wrappers::TcpListenerStream::new(listener)),
    );

    let mut server = TestServer::start_with(Backend::Sqlite, &["--otlp-endpoint", &endpoint]).await.unwrap();
    let key = server.create_key("web-form", "intake", None).unwrap();
    let mut intake = pb::intake_service_client::IntakeServiceClient::new(server.authed(&key).await);
    let report = sample_report();
    let mut submit = tonic::Request::new(request(report.clone(), "trace-1"));
    submit.metadata_mut().insert("traceparent", format!("00-{CALLER_TRACE}-{CALLER_SPAN}-01").parse().unwrap());
    let answer = intake.submit_report(submit).await.unwrap().into_inner();
    let bad = intake.submit_report(pb::SubmitReportRequest::default()).await.unwrap_err();
    assert_eq!(bad.code(), Code::InvalidArgument);

    // A graceful stop sends the last batch.
    server.sigterm().unwrap();
    assert!(server.wait_exit().unwrap(), "{}", server.log());
    serving.abort();

    let received = collector.received.lock().unwrap().clone();
    let spans: Vec<Span> = received
        .iter()
        .flat_map(|r| &r.resource_spans)
        .flat_map(|r| &r.scope_spans)
        .flat_map(|s| s.spans.clone())
        .collect();
    let submits: Vec<&Span> = spans.iter().filter(|s| s.name == "scamtrail.v1.IntakeService/SubmitReport").collect();
    assert_eq!(submits.len(), 2, "{:?}\n{}", spans.iter().map(|s| &s.name).collect::<Vec<_>>(), server.log());
    let ok = submits.iter().find(|s| attribute(s, "rpc.response.status_code") == Some("OK")).expect("the stored one");
    assert_eq!(hex(&ok.trace_id), CALLER_TRACE, "continues the caller's trace");
    assert_eq!(hex(&ok.parent_span_id), CALLER_SPAN);
    assert_eq!(attribute(ok, "rpc.method"), Some("scamtrail.v1.IntakeService/SubmitReport"));
    assert_eq!(attribute(ok, "rpc.system.name"), Some("grpc"));
    let refused = submits.iter().find(|s| s.trace_id != ok.trace_id).expect("the refused one");
    assert_eq!(attribute(refused, "rpc.response.status_code"), Some("INVALID_ARGUMENT"));
    assert!(refused.parent_span_id.is_empty(), "a call without traceparent starts a trace");
    let service_name =
        received[0].resource_spans[0].resource.as_ref().unwrap().attributes.iter().find(|a| a.key == "service.name");
    assert!(format!("{service_name:?}").contains("scamtrail"));

    // Nothing the victim typed, no key and no follow-up secret, anywhere in what was sent.
    let sent: Vec<u8> = received.iter().flat_map(Message::encode_to_vec).collect();
    let sent = String::from_utf8_lossy(&sent).to_lowercase();
    let victim = report.victim.as_ref().unwrap();
    let mut secrets =
        vec![victim.name.clone(), victim.email.clone(), victim.phone.clone(), victim.vulnerability_note.clone()];
    secrets.push(report.narrative[..30].to_owned());
    secrets.extend(report.identifiers.iter().map(|i| i.value.clone()));
    secrets.extend(["+442079460958".to_owned(), "gb82west12345698765432".to_owned(), "ada@example.org".to_owned()]);
    secrets.extend([key.clone(), answer.follow_up_secret.clone(), answer.reference.clone()]);
    for secret in secrets.iter().filter(|s| !s.is_empty()) {
        assert!(!sent.contains(&secret.to_lowercase()), "the traces hold {secret:?}");
    }
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}
