//! Where calls come from, end to end on both databases: behind a trusted proxy
//! (`--trusted-proxy`), the client named in `X-Forwarded-For` is limited and audited by its own
//! address; a caller that is not a trusted proxy cannot choose its address with the header; and
//! failed sign-ins from one address do not lock the account's owner out at another.

use std::time::Duration;

use scamtrail_e2e::{BACKENDS, TEST_PASSWORD, TestServer, id};
use scamtrail_proto::v1 as pb;
use tonic::Code;
use tonic_types::StatusExt;

/// A request carrying `x-forwarded-for: forwarded_for`.
fn forwarded<T>(message: T, forwarded_for: &str) -> tonic::Request<T> {
    let mut request = tonic::Request::new(message);
    request.metadata_mut().insert("x-forwarded-for", forwarded_for.parse().unwrap());
    request
}

/// A preview call (an intake call, limited per address) claiming to be forwarded for `client`.
async fn preview(server: &TestServer, client: &str) -> Result<(), tonic::Status> {
    let mut intake = server.intake().await;
    let values = vec![id("+44 20 7946 0958", pb::IdentifierRole::Unspecified, pb::IdentifierKind::Phone)];
    let message = pb::NormalizeIdentifiersRequest { values, country: String::new() };
    intake.normalize_identifiers(forwarded(message, client)).await.map(|_| ())
}

/// Calls from `client` until one is refused for its rate (a burst of 2 at 1/s: the third).
async fn exhaust(server: &TestServer, client: &str) {
    for call in 0..10 {
        if let Err(e) = preview(server, client).await {
            assert_eq!(e.code(), Code::ResourceExhausted, "call {call}: {e:?}");
            return;
        }
    }
    panic!("10 calls from {client} at once were not limited to 1/s");
}

/// A sign-in claiming to be forwarded for `client`.
async fn login_forwarded(server: &TestServer, name: &str, client: &str) -> Result<String, tonic::Status> {
    let mut auth = pb::auth_service_client::AuthServiceClient::new(server.channel().await);
    let message = pb::LoginRequest { user_name: name.into(), password: TEST_PASSWORD.into() };
    Ok(auth.login(forwarded(message, client)).await?.into_inner().token)
}

/// The peers of the audited sign-ins to `name`, oldest first.
async fn login_peers(server: &TestServer, name: &str) -> Vec<String> {
    let admin = server.token("root", "admin").await;
    let mut admin = pb::admin_service_client::AdminServiceClient::new(server.authed(&admin).await);
    let events = admin.list_audit_events(pb::ListAuditEventsRequest::default()).await.unwrap().into_inner().events;
    let target = format!("user:{name}");
    events
        .into_iter()
        .filter(|e| e.action.ends_with("/Login") && e.targets == [target.clone()])
        .map(|e| e.peer)
        .collect()
}

#[tokio::test]
async fn behind_a_trusted_proxy_each_client_has_its_own_limit_and_is_audited_by_its_address() {
    for backend in BACKENDS {
        let server =
            TestServer::start_with(backend, &["--trusted-proxy", "127.0.0.0/8", "--intake-rate-per-peer", "1"])
                .await
                .unwrap();
        exhaust(&server, "203.0.113.7").await;
        // Other clients of the same proxy have allowances of their own, IPv6 ones too.
        preview(&server, "203.0.113.8").await.unwrap();
        preview(&server, "2001:db8::7").await.unwrap();
        // A left-most entry is the caller's own writing: the proxy's entry names it.
        let spoofed = preview(&server, "198.51.100.1, 203.0.113.7").await.unwrap_err();
        assert_eq!(spoofed.code(), Code::ResourceExhausted, "{spoofed:?}");

        // The audit trail records the client, then the proxy that forwarded the call.
        login_forwarded(&server, "nobody", "203.0.113.9").await.unwrap_err();
        login_forwarded(&server, "nobody", "garbage").await.unwrap_err();
        let peers = login_peers(&server, "nobody").await;
        assert_eq!(peers.len(), 2, "{peers:?}");
        assert!(peers[0].starts_with("203.0.113.9 via 127.0.0.1:"), "{peers:?}");
        assert!(peers[1].starts_with("127.0.0.1:"), "a malformed header names the proxy alone: {peers:?}");
    }
}

#[tokio::test]
async fn without_a_trusted_proxy_the_forwarding_header_is_ignored() {
    for backend in BACKENDS {
        let server = TestServer::start_with(backend, &["--intake-rate-per-peer", "1"]).await.unwrap();
        exhaust(&server, "203.0.113.7").await;
        // A caller that names another client is still itself, and still over its limit.
        let spoofed = preview(&server, "203.0.113.8").await.unwrap_err();
        assert_eq!(spoofed.code(), Code::ResourceExhausted, "{spoofed:?}");
        login_forwarded(&server, "nobody", "203.0.113.9").await.unwrap_err();
        let peers = login_peers(&server, "nobody").await;
        assert_eq!(peers.len(), 1, "{peers:?}");
        assert!(peers[0].starts_with("127.0.0.1:") && !peers[0].contains("203.0.113"), "{peers:?}");
    }
}

#[tokio::test]
async fn failed_sign_ins_from_one_address_do_not_lock_the_owner_out_at_another() {
    for backend in BACKENDS {
        let server = TestServer::start(backend).await.unwrap();
        server.create_user("alice", "investigator", None, TEST_PASSWORD).unwrap();
        let guesser = "127.0.0.2";
        for attempt in 0..5 {
            let e = server.login_from(guesser, "alice", &format!("Guess-number-{attempt}")).await.unwrap_err();
            assert_eq!(e.code(), Code::Unauthenticated, "attempt {attempt}");
        }
        let held = server.login_from(guesser, "alice", "Guess-number-5").await.unwrap_err();
        assert_eq!(held.code(), Code::ResourceExhausted, "{held:?}");
        let retry = held.get_details_retry_info().and_then(|r| r.retry_delay).expect("RetryInfo");
        assert!(retry > Duration::ZERO && retry <= Duration::from_secs(1), "{retry:?}");
        // One more guess after the wait doubles it to 2 s: time enough for the owner's sign-in.
        tokio::time::sleep(retry + Duration::from_millis(50)).await;
        let e = server.login_from(guesser, "alice", "Guess-number-6").await.unwrap_err();
        assert_eq!(e.code(), Code::Unauthenticated, "{e:?}");
        // The owner, elsewhere, signs in at once with the right password...
        let token = server.login_from("127.0.0.3", "alice", TEST_PASSWORD).await.unwrap();
        assert!(token.starts_with("sts_"));
        // ...while the guesser is still held back, even with the right password.
        let held = server.login_from(guesser, "alice", TEST_PASSWORD).await.unwrap_err();
        assert_eq!(held.code(), Code::ResourceExhausted, "{held:?}");
    }
}
