//! gRPC-Web as a browser frontend speaks it: HTTP/1.1, `application/grpc-web+proto` framing,
//! trailers in the body, and CORS for the configured origins only.

use bytes::{Buf, BufMut, Bytes, BytesMut};
use http_body_util::{BodyExt, Full};
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;
use prost::Message;
use scamtrail_e2e::{Backend, TestServer};
use scamtrail_proto::v1 as pb;

const ORIGIN: &str = "https://report.victim-support.example";

fn frame(message: &impl Message) -> Bytes {
    let body = message.encode_to_vec();
    let mut out = BytesMut::with_capacity(5 + body.len());
    out.put_u8(0);
    out.put_u32(body.len() as u32);
    out.put_slice(&body);
    out.freeze()
}

#[tokio::test]
async fn a_grpc_web_call_over_http1_is_answered_with_data_and_trailers() {
    let server = TestServer::start_with(Backend::Sqlite, &["--cors-origin", ORIGIN]).await.unwrap();
    let client = Client::builder(TokioExecutor::new()).build_http::<Full<Bytes>>();
    let key = server.token("browser-frontend", "intake").await;
    let request = pb::NormalizeIdentifiersRequest {
        values: vec![pb::ScammerIdentifier { value: "GB82 WEST 1234 5698 7654 32".into(), ..Default::default() }],
        country: String::new(),
    };
    let req = http::Request::post(format!("http://{}/scamtrail.v1.IntakeService/NormalizeIdentifiers", server.addr))
        .version(http::Version::HTTP_11)
        .header("content-type", "application/grpc-web+proto")
        .header("x-grpc-web", "1")
        .header("origin", ORIGIN)
        .header("authorization", format!("Bearer {key}"))
        .body(Full::new(frame(&request)))
        .unwrap();
    let response = client.request(req).await.unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(response.headers()["content-type"], "application/grpc-web+proto");
    assert_eq!(response.headers()["access-control-allow-origin"], ORIGIN);
    let mut body = response.into_body().collect().await.unwrap().to_bytes();

    // First frame: the message.
    assert_eq!(body.get_u8(), 0x00);
    let len = body.get_u32() as usize;
    let answer = pb::NormalizeIdentifiersResponse::decode(body.split_to(len)).unwrap();
    match &answer.outcomes[0].result {
        Some(pb::identifier_outcome::Result::Normalized(n)) => assert_eq!(n.key, "iban:GB82WEST12345698765432"),
        other => panic!("{other:?}"),
    }
    // Second frame: the trailers, with grpc-status 0.
    assert_eq!(body.get_u8(), 0x80);
    let len = body.get_u32() as usize;
    let trailers = String::from_utf8(body.split_to(len).to_vec()).unwrap();
    assert!(trailers.contains("grpc-status:0"), "{trailers}");
}

#[tokio::test]
async fn cors_preflight_allows_configured_origins_only() {
    let server = TestServer::start_with(Backend::Sqlite, &["--cors-origin", ORIGIN]).await.unwrap();
    let client = Client::builder(TokioExecutor::new()).build_http::<Full<Bytes>>();
    for (origin, allowed) in [(ORIGIN, true), ("https://evil.example", false)] {
        let req = http::Request::options(format!("http://{}/scamtrail.v1.IntakeService/SubmitReport", server.addr))
            .header("origin", origin)
            .header("access-control-request-method", "POST")
            .header("access-control-request-headers", "content-type,x-grpc-web")
            .body(Full::new(Bytes::new()))
            .unwrap();
        let response = client.request(req).await.unwrap();
        let header = response.headers().get("access-control-allow-origin").map(|v| v.to_str().unwrap().to_owned());
        assert_eq!(header.as_deref() == Some(origin), allowed, "{origin}: {header:?}");
    }
}
