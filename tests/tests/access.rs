//! Who may call what, end to end on both databases: every RPC × every role and no credentials
//! against a matrix written out by hand (a served RPC missing from it fails the test), what an
//! admin and a liaison can never read, sign-in and its throttling, revocation on a running
//! server, record rules (liaison agency, supervisor-only decisions), the audit trail and its
//! verification, rate limits, timeouts and load shedding.

use std::time::{Duration, Instant};

use bytes::{Buf, BufMut};
use prost::Message;
use scamtrail_core::Role;
use scamtrail_e2e::{ActorClient, BACKENDS, TEST_AGENCY, TEST_PASSWORD, TestServer, request, sample_report};
use scamtrail_proto::v1 as pb;
use tonic::Code;
use tonic::codec::{Codec, DecodeBuf, Decoder, EncodeBuf, Encoder};
use tonic_types::StatusExt;

/// Sends and receives message bytes as they are, so that any method can be called with an
/// empty request (every protobuf message decodes from no bytes, with every field unset).
#[derive(Clone, Copy, Default)]
struct Raw;

impl Codec for Raw {
    type Encode = Vec<u8>;
    type Decode = Vec<u8>;
    type Encoder = Raw;
    type Decoder = Raw;
    fn encoder(&mut self) -> Raw {
        Raw
    }
    fn decoder(&mut self) -> Raw {
        Raw
    }
}

impl Encoder for Raw {
    type Item = Vec<u8>;
    type Error = tonic::Status;
    fn encode(&mut self, item: Vec<u8>, dst: &mut EncodeBuf<'_>) -> Result<(), tonic::Status> {
        dst.put_slice(&item);
        Ok(())
    }
}

impl Decoder for Raw {
    type Item = Vec<u8>;
    type Error = tonic::Status;
    fn decode(&mut self, src: &mut DecodeBuf<'_>) -> Result<Option<Vec<u8>>, tonic::Status> {
        let bytes = src.copy_to_bytes(src.remaining()).to_vec();
        Ok(Some(bytes))
    }
}

use Role::{Admin, Intake, Investigator, Liaison, Supervisor};

/// Who may call a method.
enum May {
    /// Anyone, with or without credentials.
    Anyone,
    /// Callers in these roles; other roles are refused, and calls without credentials are
    /// unauthenticated.
    Roles(&'static [Role]),
}

/// Every role there is.
const EVERY_ROLE: &[Role] = &[Intake, Investigator, Supervisor, Liaison, Admin];
/// The roles that read victims' data and work the queues.
const INVESTIGATING: &[Role] = &[Investigator, Supervisor];

/// Who may call what, written out by hand from SECURITY.md ("Who may call what"), and not read
/// from the server's permission table or `Role::holds`: a wrong entry there shows as a mismatch
/// here. Previews store and reveal nothing, so every role but `admin` may make them; lookups
/// carry no victim data, so investigators may make them as liaisons do.
const MATRIX: &[(&str, May)] = &[
    ("/scamtrail.v1.IntakeService/SubmitReport", May::Roles(&[Intake])),
    ("/scamtrail.v1.IntakeService/NormalizeIdentifiers", May::Roles(&[Intake, Investigator, Supervisor, Liaison])),
    ("/scamtrail.v1.IntakeService/GetReportStatus", May::Roles(&[Intake])),
    ("/scamtrail.v1.IntakeService/AddReportDetails", May::Roles(&[Intake])),
    ("/scamtrail.v1.TriageService/GetReport", May::Roles(INVESTIGATING)),
    ("/scamtrail.v1.TriageService/GetCluster", May::Roles(&[Investigator, Supervisor, Liaison])),
    ("/scamtrail.v1.TriageService/ExplainLink", May::Roles(&[Investigator, Supervisor, Liaison])),
    ("/scamtrail.v1.TriageService/SetIdentifierState", May::Roles(INVESTIGATING)),
    ("/scamtrail.v1.TriageService/ListQueues", May::Roles(INVESTIGATING)),
    ("/scamtrail.v1.TriageService/ListQueue", May::Roles(INVESTIGATING)),
    ("/scamtrail.v1.TriageService/ClaimNext", May::Roles(INVESTIGATING)),
    ("/scamtrail.v1.TriageService/RenewClaim", May::Roles(INVESTIGATING)),
    ("/scamtrail.v1.TriageService/ReleaseClaim", May::Roles(INVESTIGATING)),
    ("/scamtrail.v1.TriageService/UpdateCluster", May::Roles(INVESTIGATING)),
    ("/scamtrail.v1.TriageService/WatchQueue", May::Roles(INVESTIGATING)),
    ("/scamtrail.v1.TriageService/ListBridges", May::Roles(INVESTIGATING)),
    ("/scamtrail.v1.TriageService/SearchReports", May::Roles(INVESTIGATING)),
    ("/scamtrail.v1.TriageService/SearchClusters", May::Roles(INVESTIGATING)),
    ("/scamtrail.v1.TriageService/LinkClusters", May::Roles(INVESTIGATING)),
    ("/scamtrail.v1.TriageService/UnlinkClusters", May::Roles(INVESTIGATING)),
    ("/scamtrail.v1.TriageService/ListClusterNotes", May::Roles(INVESTIGATING)),
    ("/scamtrail.v1.LookupService/LookupIdentifiers", May::Roles(&[Investigator, Supervisor, Liaison])),
    ("/scamtrail.v1.AuthService/Login", May::Anyone),
    ("/scamtrail.v1.AuthService/Logout", May::Roles(EVERY_ROLE)),
    ("/scamtrail.v1.AuthService/WhoAmI", May::Roles(EVERY_ROLE)),
    ("/scamtrail.v1.AdminService/ListAuditEvents", May::Roles(&[Admin])),
    ("/scamtrail.v1.ExportService/ExportCluster", May::Roles(&[Investigator, Supervisor, Liaison])),
    ("/scamtrail.v1.ExportService/ExportIdentifiers", May::Roles(&[Investigator, Supervisor, Liaison])),
    ("/scamtrail.v1.IntakeService/GetMyData", May::Roles(&[Intake])),
    ("/scamtrail.v1.IntakeService/EraseMyData", May::Roles(&[Intake])),
    ("/scamtrail.v1.IntakeService/SetMyConsent", May::Roles(&[Intake])),
];

/// Every method the server's API declares, from the compiled descriptors, and whether it
/// streams its answer.
fn served_methods() -> Vec<(String, bool)> {
    let set = prost_types::FileDescriptorSet::decode(scamtrail_proto::FILE_DESCRIPTOR_SET).unwrap();
    let mut methods = vec![];
    for file in set.file.iter().filter(|f| f.package().starts_with("scamtrail.")) {
        for service in &file.service {
            for method in &service.method {
                let path = format!("/{}.{}/{}", file.package(), service.name(), method.name());
                methods.push((path, method.server_streaming()));
            }
        }
    }
    methods
}

/// Calls `path` with an empty request and `token`; the status code it ends with (`Ok` when a
/// stream opened).
async fn call_empty(server: &TestServer, path: &str, token: &str, streaming: bool) -> Code {
    let mut grpc = tonic::client::Grpc::new(server.authed(token).await);
    grpc.ready().await.unwrap();
    let path: http::uri::PathAndQuery = path.parse().unwrap();
    let request = tonic::Request::new(Vec::new());
    let result = if streaming {
        grpc.server_streaming(request, path, Raw).await.map(|_| ())
    } else {
        grpc.unary(request, path, Raw).await.map(|_| ())
    };
    result.err().map_or(Code::Ok, |s| s.code())
}

/// The status an empty request gets from a caller that may call the method: most methods need a
/// field and say so; these accept the empty request.
fn permitted_status(path: &str, role: Role) -> Code {
    match path.rsplit('/').next().unwrap() {
        // A search without filters lists everything, a page at a time.
        "WhoAmI" | "ListQueues" | "ListAuditEvents" | "WatchQueue" | "SearchReports" | "SearchClusters"
        | "ListBridges" => Code::Ok,
        // API keys (intake, liaison) do not sign out; a session does.
        "Logout" if matches!(role, Intake | Liaison) => Code::FailedPrecondition,
        "Logout" => Code::Ok,
        _ => Code::InvalidArgument,
    }
}

#[tokio::test]
async fn every_method_answers_every_role_as_the_written_matrix_says() {
    // The matrix names every served method once, and the roles are the ones there are.
    let served = served_methods();
    let mut listed: Vec<&str> = MATRIX.iter().map(|(path, _)| *path).collect();
    let mut paths: Vec<&str> = served.iter().map(|(path, _)| path.as_str()).collect();
    listed.sort_unstable();
    paths.sort_unstable();
    assert_eq!(listed, paths, "a method was added or removed: write down who may call it");
    assert!(Role::ALL.len() == EVERY_ROLE.len() && Role::ALL.iter().all(|r| EVERY_ROLE.contains(r)));
    for backend in BACKENDS {
        let server = TestServer::start(backend).await.unwrap();
        let mut callers = vec![(None, String::new())];
        for &role in EVERY_ROLE {
            callers.push((Some(role), server.token(&format!("matrix-{role}"), role.as_str()).await));
        }
        // Sign-outs last, so that the sessions serve every other call first.
        let mut matrix: Vec<_> = MATRIX.iter().collect();
        matrix.sort_by_key(|(path, _)| path.ends_with("/Logout"));
        for (path, may) in matrix {
            let streaming = served.iter().any(|(p, streams)| p == path && *streams);
            for (role, token) in &callers {
                let expected = match (may, role) {
                    (May::Anyone, _) => Code::InvalidArgument, // an empty sign-in
                    (May::Roles(_), None) => Code::Unauthenticated,
                    (May::Roles(allowed), Some(r)) if !allowed.contains(r) => Code::PermissionDenied,
                    (May::Roles(_), Some(r)) => permitted_status(path, *r),
                };
                let got = call_empty(&server, path, token, streaming).await;
                assert_eq!(got, expected, "{backend:?} {path} as {role:?}");
            }
        }
        // A path outside the table is refused, whoever calls.
        let admin = &callers.last().unwrap().1;
        assert_eq!(call_empty(&server, "/scamtrail.v1.TriageService/Nope", admin, false).await, Code::PermissionDenied);
    }
}

#[tokio::test]
async fn signing_in_and_managing_users_and_keys() {
    for backend in BACKENDS {
        let server = TestServer::start(backend).await.unwrap();
        server.create_user("ines", "investigator", None, TEST_PASSWORD).unwrap();
        let token = server.login("ines", TEST_PASSWORD).await.unwrap();
        let mut auth = pb::auth_service_client::AuthServiceClient::new(server.authed(&token).await);
        let me = auth.who_am_i(pb::WhoAmIRequest {}).await.unwrap().into_inner();
        assert_eq!((me.name.as_str(), me.role), ("ines", pb::Role::Investigator as i32));
        assert!(me.expires_at.is_some());

        // Wrong password and unknown user: the same answer.
        let wrong = server.login("ines", "Not-the-password-1").await.unwrap_err();
        let unknown = server.login("nobody", TEST_PASSWORD).await.unwrap_err();
        assert_eq!((wrong.code(), wrong.message()), (unknown.code(), unknown.message()));
        assert_eq!(wrong.code(), Code::Unauthenticated);

        // The CLI refuses weak passwords and keys for people's roles.
        assert!(server.create_user("weak", "investigator", None, "short").is_err());
        assert!(server.create_key("k", "investigator", None).is_err());
        assert!(server.create_key("k", "liaison", None).is_err(), "a liaison key needs its agency");

        // A key is shown once, when it is made, and works (its revocation: the test below).
        let key = server.create_key("frontend-eu", "intake", None).unwrap();
        assert!(key.starts_with("stk_") && key.len() == 68, "{key}");
        let mut intake = pb::intake_service_client::IntakeServiceClient::new(server.authed(&key).await);
        intake.submit_report(request(sample_report(), "")).await.unwrap();
        let (ok, listing) = server.command_output(&["key", "list"]).unwrap();
        assert!(ok && listing.lines().any(|l| l.starts_with("frontend-eu\tintake\t-\t")), "{listing}");
        assert!(!listing.contains(&key), "the list never shows a key");
    }
}

/// How long a server may go on trusting a credential it has checked: SECURITY.md promises that
/// every server refuses a revoked key within 10 seconds.
const CREDENTIAL_CACHE_TIME: Duration = Duration::from_secs(10);
/// What a loaded test machine gets on top (a call, a poll interval, a slow database).
const SLACK: Duration = Duration::from_secs(3);

/// Makes `call` every 200 ms until it is refused, and checks that the refusal is
/// UNAUTHENTICATED and that no call succeeded later than the cache time after `ended` (the
/// instant before the credential was ended).
async fn refused_within_the_cache_time<F, Fut>(what: &str, ended: Instant, mut call: F)
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<(), tonic::Status>>,
{
    loop {
        let answer = call().await;
        let after = ended.elapsed();
        match answer {
            Err(e) => {
                assert_eq!(e.code(), Code::Unauthenticated, "{what}: {e:?}");
                return;
            }
            Ok(()) => assert!(
                after <= CREDENTIAL_CACHE_TIME + SLACK,
                "{what} was still accepted {after:?} after it was ended, beyond the {CREDENTIAL_CACHE_TIME:?} cache time"
            ),
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

#[tokio::test]
async fn a_running_server_refuses_revoked_keys_disabled_users_and_signed_out_sessions() {
    for backend in BACKENDS {
        let server = TestServer::start(backend).await.unwrap();
        // A key and two sessions, each used once so that the server has checked and cached it.
        let key = server.create_key("frontend-eu", "intake", None).unwrap();
        let intake = pb::intake_service_client::IntakeServiceClient::new(server.authed(&key).await);
        let preview = || {
            let mut intake = intake.clone();
            let values =
                vec![scamtrail_e2e::id("+44 20 7946 0958", pb::IdentifierRole::Unspecified, pb::IdentifierKind::Phone)];
            async move {
                intake
                    .normalize_identifiers(pb::NormalizeIdentifiersRequest { values, country: String::new() })
                    .await
                    .map(|_| ())
            }
        };
        let list_queues = |triage: &ActorClient| {
            let mut triage = triage.clone();
            async move { triage.list_queues(pb::ListQueuesRequest::default()).await.map(|_| ()) }
        };
        preview().await.unwrap();
        let ines = pb::triage_service_client::TriageServiceClient::new(
            server.authed(&server.token("ines", "investigator").await).await,
        );
        list_queues(&ines).await.unwrap();
        let lena_token = server.token("lena", "investigator").await;
        let lena = pb::triage_service_client::TriageServiceClient::new(server.authed(&lena_token).await);
        list_queues(&lena).await.unwrap();

        // A signed-out session is refused at once, on its next call of any kind.
        let mut auth = pb::auth_service_client::AuthServiceClient::new(server.authed(&lena_token).await);
        auth.logout(pb::LogoutRequest {}).await.unwrap();
        let e = list_queues(&lena).await.unwrap_err();
        assert_eq!(e.code(), Code::Unauthenticated, "a signed-out token stops at once: {e:?}");
        assert_eq!(auth.who_am_i(pb::WhoAmIRequest {}).await.unwrap_err().code(), Code::Unauthenticated);

        // The key revoked and the user disabled with the CLI while the server runs, as an
        // operator does: both are refused within the cache time, without a restart.
        let ended = Instant::now();
        server.run_command(&["key", "revoke", "--name", "frontend-eu"]).unwrap();
        server.run_command(&["user", "disable", "--name", "ines"]).unwrap();
        tokio::join!(
            refused_within_the_cache_time("a revoked key", ended, preview),
            refused_within_the_cache_time("a disabled user's session", ended, || list_queues(&ines)),
        );
        // Nor can the disabled user sign in again.
        assert_eq!(server.login("ines", TEST_PASSWORD).await.unwrap_err().code(), Code::Unauthenticated);
    }
}

#[tokio::test]
async fn repeated_failed_sign_ins_are_throttled_per_account_and_address() {
    for backend in BACKENDS {
        let server = TestServer::start(backend).await.unwrap();
        server.create_user("olga", "investigator", None, TEST_PASSWORD).unwrap();
        for attempt in 0..5 {
            let e = server.login("olga", &format!("Guess-number-{attempt}")).await.unwrap_err();
            assert_eq!(e.code(), Code::Unauthenticated, "attempt {attempt}");
        }
        // Even the right password now waits at this address: a guesser learns nothing from the
        // answer (the owner elsewhere is not held back: tests/proxies.rs).
        let throttled = server.login("olga", TEST_PASSWORD).await.unwrap_err();
        assert_eq!(throttled.code(), Code::ResourceExhausted, "{throttled:?}");
        let retry = throttled.get_details_retry_info().expect("RetryInfo");
        assert!(retry.retry_delay.is_some_and(|d| d > Duration::ZERO && d <= Duration::from_secs(1)));
        // Other accounts are unaffected, and an unknown name is throttled like a known one.
        server.create_user("pavel", "investigator", None, TEST_PASSWORD).unwrap();
        server.login("pavel", TEST_PASSWORD).await.unwrap();
        for _ in 0..5 {
            server.login("ghost", TEST_PASSWORD).await.unwrap_err();
        }
        assert_eq!(server.login("ghost", TEST_PASSWORD).await.unwrap_err().code(), Code::ResourceExhausted);
        // After the wait, the owner signs in.
        tokio::time::sleep(Duration::from_millis(1_100)).await;
        server.login("olga", TEST_PASSWORD).await.unwrap();
    }
}

#[tokio::test]
async fn record_rules_liaison_agency_and_supervisor_decisions() {
    for backend in BACKENDS {
        let server = TestServer::start(backend).await.unwrap();
        let mut intake = server.intake().await;
        let referred = intake.submit_report(request(sample_report(), "")).await.unwrap().into_inner();
        let mut other = sample_report();
        other.payments[0].beneficiaries[0].value = "DE89 3704 0044 0532 0130 00".into();
        other.identifiers.clear();
        let other = intake.submit_report(request(other, "")).await.unwrap().into_inner();
        assert_ne!(referred.cluster_id, other.cluster_id);

        let investigator = server.token("ivan", "investigator").await;
        let mut ivan = pb::triage_service_client::TriageServiceClient::new(server.authed(&investigator).await);
        // Investigators may not safelist, assign others or reopen; supervisors may.
        let safelist = pb::SetIdentifierStateRequest {
            key: "+44 20 7946 0958".into(),
            state: pb::IdentifierState::Safelisted as i32,
            reason: "our own hotline".into(),
            country: "GB".into(),
        };
        let e = ivan.set_identifier_state(safelist.clone()).await.unwrap_err();
        assert_eq!(e.code(), Code::PermissionDenied, "{e:?}");
        let cluster = ivan
            .get_cluster(pb::GetClusterRequest { cluster_id: referred.cluster_id, max_reports: 0 })
            .await
            .unwrap()
            .into_inner()
            .cluster
            .unwrap();
        let assign = |assignee: &str, version: i64| pb::UpdateClusterRequest {
            cluster_id: referred.cluster_id,
            version,
            status: pb::ClusterStatus::Assigned as i32,
            assignee: assignee.into(),
            ..Default::default()
        };
        let e = ivan.update_cluster(assign("someone-else", cluster.version)).await.unwrap_err();
        assert_eq!(e.code(), Code::PermissionDenied, "{e:?}");
        let mine = ivan.update_cluster(assign("ivan", cluster.version)).await.unwrap().into_inner().cluster.unwrap();
        // A supervisor hands it to someone else; the investigator may not take it back from them.
        let mut sup = server.triage().await;
        let theirs = sup.update_cluster(assign("olga", mine.version)).await.unwrap().into_inner().cluster.unwrap();
        let unassign = pb::UpdateClusterRequest { assignee: "-".into(), status: 0, ..assign("", theirs.version) };
        let e = ivan.update_cluster(unassign).await.unwrap_err();
        assert_eq!(e.code(), Code::PermissionDenied, "{e:?}");
        let mine = sup.update_cluster(assign("ivan", theirs.version)).await.unwrap().into_inner().cluster.unwrap();
        let refer = pb::UpdateClusterRequest {
            cluster_id: referred.cluster_id,
            version: mine.version,
            status: pb::ClusterStatus::Referred as i32,
            referred_to: TEST_AGENCY.into(),
            ..Default::default()
        };
        ivan.update_cluster(refer).await.unwrap();

        // The liaison reads the cluster referred to its agency, and no other.
        let liaison = server.token("police-system", "liaison").await;
        let mut police = pb::triage_service_client::TriageServiceClient::new(server.authed(&liaison).await);
        let got = police
            .get_cluster(pb::GetClusterRequest { cluster_id: referred.cluster_id, max_reports: 100 })
            .await
            .unwrap()
            .into_inner();
        assert_eq!(got.cluster.as_ref().unwrap().referred_to, TEST_AGENCY);
        assert!(got.reports.iter().any(|r| r.report_id == referred.report_id), "{got:?}");
        assert_eq!(victim_data_in(&got), NONE, "a cluster carries no victim data");
        // Outside its scope a liaison hears what an unknown record answers, and learns no id.
        let e = police
            .get_cluster(pb::GetClusterRequest { cluster_id: other.cluster_id, max_reports: 0 })
            .await
            .unwrap_err();
        let unknown =
            police.get_cluster(pb::GetClusterRequest { cluster_id: 999_999, max_reports: 0 }).await.unwrap_err();
        assert_eq!((e.code(), e.message()), (unknown.code(), unknown.message()));
        assert_eq!(e.code(), Code::NotFound);
        let explain = |a: i64, b: i64| pb::ExplainLinkRequest { report_a: a, report_b: b };
        let unknown = police.explain_link(explain(referred.report_id, 999_999)).await.unwrap_err();
        assert_eq!(unknown.code(), Code::NotFound);
        for (a, b) in [
            (referred.report_id, other.report_id),
            (other.report_id, referred.report_id),
            (other.report_id, other.report_id),
        ] {
            let e = police.explain_link(explain(a, b)).await.unwrap_err();
            assert_eq!((e.code(), e.message()), (unknown.code(), unknown.message()), "{a} {b}");
            assert!(!e.message().contains(&other.cluster_id.to_string()), "{e:?}");
        }
        let inside = police.explain_link(explain(referred.report_id, referred.report_id)).await.unwrap().into_inner();
        assert_eq!(inside.cluster_a, referred.cluster_id);
        assert_eq!(victim_data_in(&inside), NONE);
        // Every explanation is audited, refused or not, with the reports it named.
        // A lookup's event names the keys looked up, never the values as typed.
        let mut lookup = pb::lookup_service_client::LookupServiceClient::new(server.authed(&liaison).await);
        let values = ["de89 3704 0044 0532 0130 00", "DE89370400440532013000", "+44 20 7946 0958"]
            .map(|v| pb::ScammerIdentifier { value: v.into(), ..Default::default() });
        lookup
            .lookup_identifiers(pb::LookupIdentifiersRequest { values: values.to_vec(), country: "GB".into() })
            .await
            .unwrap();
        let events = scamtrail_e2e::audit_events_of(&server, "key:police-system").await;
        let looked: Vec<_> = events.iter().filter(|e| e.action.ends_with("/LookupIdentifiers")).collect();
        assert_eq!(looked.len(), 1, "{looked:?}");
        assert!(looked[0].targets.contains(&"key:iban:DE89370400440532013000".to_owned()), "{:?}", looked[0]);
        assert!(looked[0].targets.contains(&"key:tel:+442079460958".to_owned()), "{:?}", looked[0]);
        assert_eq!(looked[0].targets.iter().filter(|t| t.starts_with("key:")).count(), 2, "{:?}", looked[0]);
        assert!(!looked[0].targets.iter().any(|t| t.contains("de89") || t.contains("7946 0958")), "{:?}", looked[0]);
        let explains: Vec<_> = events.iter().filter(|e| e.action.ends_with("/ExplainLink")).collect();
        assert_eq!(explains.len(), 5, "{explains:?}");
        assert!(
            explains
                .iter()
                .any(|e| e.outcome == "NOT_FOUND" && e.targets.contains(&format!("report:{}", other.report_id)))
        );
        assert!(
            explains
                .iter()
                .any(|e| e.outcome == "OK" && e.targets.contains(&format!("cluster:{}", referred.cluster_id)))
        );
        // A lookup answers for any identifier, with no victim data; a victim's own contact
        // details are not identifiers, so looking them up finds nothing.
        let look = |values: &[&str]| pb::LookupIdentifiersRequest {
            values: values.iter().map(|v| pb::ScammerIdentifier { value: (*v).into(), ..Default::default() }).collect(),
            country: "GB".into(),
        };
        let found = lookup
            .lookup_identifiers(look(&["+44 20 7946 0958", "DE89 3704 0044 0532 0130 00"]))
            .await
            .unwrap()
            .into_inner();
        assert!(found.results.iter().all(|r| r.known), "{found:?}");
        assert_eq!(
            found.results.iter().map(|r| r.cluster_id).collect::<Vec<_>>(),
            [referred.cluster_id, other.cluster_id]
        );
        assert_eq!(victim_data_in(&found), NONE);
        let victims = lookup.lookup_identifiers(look(&["ada@example.org", "07700 900123"])).await.unwrap().into_inner();
        assert!(victims.results.iter().all(|r| !r.known && r.report_count == 0 && r.cluster_id == 0), "{victims:?}");
        // Reports carry victim data: never for a liaison, by id or by reference.
        for selector in [
            pb::get_report_request::Selector::ReportId(referred.report_id),
            pb::get_report_request::Selector::Reference(referred.reference.clone()),
        ] {
            let e = police.get_report(pb::GetReportRequest { selector: Some(selector) }).await.unwrap_err();
            assert_eq!(e.code(), Code::PermissionDenied, "{e:?}");
        }

        // A supervisor safelists; an investigator may not undo it.
        sup.set_identifier_state(safelist).await.unwrap();
        let normal = pb::SetIdentifierStateRequest {
            key: "+44 20 7946 0958".into(),
            state: pb::IdentifierState::Normal as i32,
            reason: String::new(),
            country: "GB".into(),
        };
        assert_eq!(ivan.set_identifier_state(normal).await.unwrap_err().code(), Code::PermissionDenied);

        // Only a supervisor reopens a closed cluster.
        let current = sup
            .get_cluster(pb::GetClusterRequest { cluster_id: other.cluster_id, max_reports: 0 })
            .await
            .unwrap()
            .into_inner()
            .cluster
            .unwrap();
        let close = pb::UpdateClusterRequest {
            cluster_id: other.cluster_id,
            version: current.version,
            status: pb::ClusterStatus::Closed as i32,
            disposition: pb::Disposition::NotFraud as i32,
            ..Default::default()
        };
        let closed = sup.update_cluster(close).await.unwrap().into_inner().cluster.unwrap();
        let reopen = pb::UpdateClusterRequest {
            cluster_id: other.cluster_id,
            version: closed.version,
            status: pb::ClusterStatus::Triaging as i32,
            ..Default::default()
        };
        assert_eq!(ivan.update_cluster(reopen.clone()).await.unwrap_err().code(), Code::PermissionDenied);
        sup.update_cluster(reopen).await.unwrap();
    }
}

/// The sample report's victim data, lower-cased: the victim's name, e-mail, phone (as typed and
/// as digits), vulnerability note, and words of the narrative.
const VICTIM_DATA: &[&str] =
    &["ada example", "ada@example.org", "07700 900123", "7700900123", "recently bereaved", "showed me profits"];
/// No victim data found.
const NONE: Vec<&str> = Vec::new();

/// The pieces of [`VICTIM_DATA`] that an answer carries, in any case.
fn victim_data_in(answer: &impl Message) -> Vec<&'static str> {
    let bytes = answer.encode_to_vec().to_ascii_lowercase();
    VICTIM_DATA.iter().copied().filter(|v| bytes.windows(v.len()).any(|w| w == v.as_bytes())).collect()
}

#[tokio::test]
async fn an_admin_reads_the_audit_trail_and_no_victim_data() {
    for backend in BACKENDS {
        let server = TestServer::start(backend).await.unwrap();
        let mut intake = server.intake().await;
        let submitted = intake.submit_report(request(sample_report(), "")).await.unwrap().into_inner();
        let by_id = || pb::get_report_request::Selector::ReportId(submitted.report_id);
        let by_reference = || pb::get_report_request::Selector::Reference(submitted.reference.clone());
        // The search finds victim data where it is: in the report, as a supervisor reads it.
        let mut sup = server.triage().await;
        let report = sup.get_report(pb::GetReportRequest { selector: Some(by_id()) }).await.unwrap().into_inner();
        let as_typed = ["ada example", "ada@example.org", "07700 900123", "recently bereaved", "showed me profits"];
        assert_eq!(victim_data_in(&report), as_typed);

        let admin = server.token("root", "admin").await;
        let mut triage = pb::triage_service_client::TriageServiceClient::new(server.authed(&admin).await);
        for selector in [by_id(), by_reference()] {
            let e = triage.get_report(pb::GetReportRequest { selector: Some(selector) }).await.unwrap_err();
            assert_eq!(e.code(), Code::PermissionDenied, "{e:?}");
        }
        let cluster = pb::GetClusterRequest { cluster_id: submitted.cluster_id, max_reports: 100 };
        assert_eq!(triage.get_cluster(cluster).await.unwrap_err().code(), Code::PermissionDenied);
        let explain = pb::ExplainLinkRequest { report_a: submitted.report_id, report_b: submitted.report_id };
        assert_eq!(triage.explain_link(explain).await.unwrap_err().code(), Code::PermissionDenied);
        let mut lookup = pb::lookup_service_client::LookupServiceClient::new(server.authed(&admin).await);
        let values = vec![pb::ScammerIdentifier { value: "+44 20 7946 0958".into(), ..Default::default() }];
        let e = lookup.lookup_identifiers(pb::LookupIdentifiersRequest { values, country: "GB".into() }).await;
        assert_eq!(e.unwrap_err().code(), Code::PermissionDenied);

        // What an admin does read, the audit trail, names records and never their victims; the
        // refusals are in it.
        let mut audit = pb::admin_service_client::AdminServiceClient::new(server.authed(&admin).await);
        let trail = audit.list_audit_events(pb::ListAuditEventsRequest::default()).await.unwrap().into_inner();
        assert_eq!(victim_data_in(&trail), NONE);
        let refused = trail
            .events
            .iter()
            .filter(|e| e.actor == "root" && e.outcome == "PERMISSION_DENIED")
            .map(|e| e.action.rsplit('/').next().unwrap())
            .collect::<Vec<_>>();
        assert_eq!(refused, ["GetReport", "GetReport", "GetCluster", "ExplainLink", "LookupIdentifiers"], "{trail:?}");
    }
}

#[tokio::test]
async fn audited_calls_are_chained_and_verify_detects_changed_or_removed_rows() {
    for backend in BACKENDS {
        let server = TestServer::start(backend).await.unwrap();
        let mut intake = server.intake().await;
        let submitted = intake.submit_report(request(sample_report(), "")).await.unwrap().into_inner();
        let mut triage = server.triage_as("sofia").await;
        let by_id = |id| pb::GetReportRequest { selector: Some(pb::get_report_request::Selector::ReportId(id)) };
        triage.get_report(by_id(submitted.report_id)).await.unwrap();
        assert_eq!(triage.get_report(by_id(999_999)).await.unwrap_err().code(), Code::NotFound);
        let admin = server.token("root", "admin").await;
        let admin = pb::admin_service_client::AdminServiceClient::new(server.authed(&admin).await);
        let sofias = async || {
            let req = pb::ListAuditEventsRequest { actor: "sofia".into(), ..Default::default() };
            admin.clone().list_audit_events(req).await.unwrap().into_inner().events
        };
        let events = sofias().await;
        let reads: Vec<_> = events.iter().filter(|e| e.action.ends_with("/GetReport")).collect();
        assert_eq!(reads.len(), 2, "{events:?}");
        assert_eq!(reads[0].targets, vec![format!("report:{}", submitted.report_id)]);
        assert_eq!((reads[0].outcome.as_str(), reads[1].outcome.as_str()), ("OK", "NOT_FOUND"));
        assert_eq!(reads[0].role, pb::Role::Supervisor as i32);
        assert!(reads[0].peer.starts_with("127.0.0.1:"), "{}", reads[0].peer);
        // A successful sign-in is recorded as the user who signed in.
        let logins: Vec<_> = events.iter().filter(|e| e.action.ends_with("/Login")).collect();
        assert_eq!(logins.len(), 1, "{events:?}");
        assert_eq!((logins[0].outcome.as_str(), logins[0].role), ("OK", pb::Role::Supervisor as i32));
        assert_eq!(logins[0].targets, vec!["user:sofia".to_owned()]);
        let all =
            admin.clone().list_audit_events(pb::ListAuditEventsRequest::default()).await.unwrap().into_inner().events;
        assert!(all.iter().any(|e| e.action == "scamtrail user create" && e.targets == ["user:sofia"]));
        assert!(all.iter().any(|e| e.action.ends_with("/Login") && e.targets == ["user:sofia"] && e.outcome == "OK"));
        assert!(all.windows(2).all(|w| w[1].sequence == w[0].sequence + 1));

        // A change leaves its intent, then its outcome with the records it touched.
        let claim = pb::ClaimNextRequest { queue: pb::Queue::New as i32, lease_seconds: 60, ..Default::default() };
        let claimed = triage.claim_next(claim).await.unwrap().into_inner().cluster.unwrap();
        let events = sofias().await;
        let claims: Vec<_> = events.iter().filter(|e| e.action.ends_with("/ClaimNext")).collect();
        assert_eq!(claims.len(), 2, "{claims:?}");
        assert_eq!((claims[0].outcome.as_str(), claims[0].targets.len()), ("STARTED", 0));
        assert_eq!(claims[1].outcome, "OK");
        assert_eq!(claims[1].targets, vec![format!("cluster:{}", claimed.cluster_id)]);
        assert!(claims[0].sequence < claims[1].sequence);

        let (intact, out) = server.command_output(&["audit", "verify"]).unwrap();
        assert!(intact && out.contains("intact"), "{out}");
        // The printed checkpoint is kept: after the newest row is removed the chain still
        // verifies, but the checkpoint is no longer in it.
        let checkpoint = out.lines().find(|l| l.starts_with("checkpoint ")).unwrap().to_owned();
        let (ok, _) = server.command_output(&["audit", "verify", "--checkpoint", &checkpoint]).unwrap();
        assert!(ok, "the checkpoint is in the trail");
        let last = checkpoint.split(' ').nth(1).unwrap();
        server.sql(&format!("DELETE FROM audit_events WHERE sequence = {last}")).unwrap();
        assert!(server.command_output(&["audit", "verify"]).unwrap().0, "a shorter chain still chains");
        let (ok, out) = server.command_output(&["audit", "verify", "--checkpoint", &checkpoint]).unwrap();
        assert!(!ok && out.contains("checkpoint"), "{out}");
        let target = reads[0].sequence;
        server.sql(&format!("UPDATE audit_events SET actor = 'mallory' WHERE sequence = {target}")).unwrap();
        let (intact, out) = server.command_output(&["audit", "verify"]).unwrap();
        assert!(!intact && out.contains(&format!("BROKEN at event {target}")), "{out}");
        server.sql(&format!("UPDATE audit_events SET actor = 'sofia' WHERE sequence = {target}")).unwrap();
        assert!(server.command_output(&["audit", "verify"]).unwrap().0, "restored");
        server.sql(&format!("DELETE FROM audit_events WHERE sequence = {}", target - 1)).unwrap();
        let (intact, out) = server.command_output(&["audit", "verify"]).unwrap();
        assert!(!intact && out.contains(&format!("event {} is missing", target - 1)), "{out}");
    }
}

#[tokio::test]
async fn intake_over_its_rate_is_told_when_to_retry() {
    for backend in BACKENDS {
        let server = TestServer::start_with(backend, &["--intake-rate-per-key", "2", "--intake-rate-per-peer", "0"])
            .await
            .unwrap();
        let mut intake = server.intake().await;
        let mut limited = None;
        for i in 0..12 {
            let values =
                vec![scamtrail_e2e::id("+44 20 7946 0958", pb::IdentifierRole::Unspecified, pb::IdentifierKind::Phone)];
            match intake.normalize_identifiers(pb::NormalizeIdentifiersRequest { values, country: String::new() }).await
            {
                Ok(_) => {}
                Err(e) => {
                    assert_eq!(e.code(), Code::ResourceExhausted, "call {i}: {e:?}");
                    limited = Some(e);
                    break;
                }
            }
        }
        let limited = limited.expect("12 calls at once exceed 2/s with a burst of 4");
        let delay = limited.get_details_retry_info().and_then(|r| r.retry_delay).expect("RetryInfo");
        assert!(delay > Duration::ZERO && delay <= Duration::from_secs(1), "{delay:?}");
        // Another key has its own allowance.
        let other = server.create_key("frontend-two", "intake", None).unwrap();
        let mut two = pb::intake_service_client::IntakeServiceClient::new(server.authed(&other).await);
        two.submit_report(request(sample_report(), "")).await.unwrap();
    }
}

#[tokio::test]
async fn sign_ins_from_one_address_are_limited_whatever_the_names() {
    for backend in BACKENDS {
        // 1 sign-in a second per address, with a burst of 2.
        let server = TestServer::start_with(backend, &["--login-rate-per-peer", "1"]).await.unwrap();
        server.create_user("rosa", "investigator", None, TEST_PASSWORD).unwrap();
        // Eight names at once from one address, each tried once: no account has failed before,
        // so only the limit per address can hold any of them back.
        let attempts = (0..8).map(|i| {
            let server = &server;
            async move { server.login_from("127.0.0.5", &format!("sprayed-{i}"), TEST_PASSWORD).await.unwrap_err() }
        });
        let answers = futures::future::join_all(attempts).await;
        let (limited, checked): (Vec<_>, Vec<_>) = answers.iter().partition(|e| e.code() == Code::ResourceExhausted);
        assert!(checked.iter().all(|e| e.code() == Code::Unauthenticated), "{answers:?}");
        assert!((1..=3).contains(&checked.len()), "a burst of 2 at 1/s let {} through: {answers:?}", checked.len());
        for e in &limited {
            assert!(e.message().contains("sign-in attempts from your address"), "{e:?}");
            let delay = e.get_details_retry_info().and_then(|r| r.retry_delay).expect("RetryInfo");
            assert!(delay > Duration::ZERO && delay <= Duration::from_secs(1), "{delay:?}");
        }
        // Another address has its own allowance: its owner signs in meanwhile.
        server.login_from("127.0.0.6", "rosa", TEST_PASSWORD).await.unwrap();
        // After the wait, the first address is heard again.
        tokio::time::sleep(Duration::from_millis(1_100)).await;
        let e = server.login_from("127.0.0.5", "sprayed-8", TEST_PASSWORD).await.unwrap_err();
        assert_eq!(e.code(), Code::Unauthenticated, "{e:?}");
    }
}

#[tokio::test]
async fn slow_calls_end_in_deadline_exceeded_and_excess_calls_are_shed() {
    for backend in BACKENDS {
        let server = TestServer::start_with(backend, &["--call-timeout-ms", "1"]).await.unwrap();
        // A sign-in hashes a password (tens of milliseconds): over a 1 ms budget.
        let e = server.login("anyone", TEST_PASSWORD).await.unwrap_err();
        assert_eq!(e.code(), Code::DeadlineExceeded, "{e:?}");
        // The server still answers probes.
        let mut health = tonic_health::pb::health_client::HealthClient::new(server.channel().await);
        health.check(tonic_health::pb::HealthCheckRequest { service: String::new() }).await.unwrap();

        let server = TestServer::start_with(backend, &["--max-concurrent-calls", "1"]).await.unwrap();
        let logins = (0..8).map(|i| {
            let server = &server;
            async move { server.login(&format!("user{i}"), TEST_PASSWORD).await }
        });
        let answers = futures::future::join_all(logins).await;
        let shed = answers.iter().filter(|r| matches!(r, Err(e) if e.code() == Code::Unavailable)).count();
        let served = answers.iter().filter(|r| matches!(r, Err(e) if e.code() == Code::Unauthenticated)).count();
        assert!(shed >= 1 && served >= 1 && shed + served == 8, "shed {shed}, served {served}: {answers:?}");
    }
}

#[tokio::test]
async fn one_connection_carries_a_bounded_number_of_streams() {
    for backend in BACKENDS {
        let server = TestServer::start_with(backend, &["--max-streams-per-connection", "2"]).await.unwrap();
        let token = server.token("watcher", "investigator").await;
        let channel = server.authed(&token).await;
        let watch = || pb::WatchQueueRequest { queue: 0 };
        let mut one = pb::triage_service_client::TriageServiceClient::new(channel.clone());
        let mut two = one.clone();
        let mut three = one.clone();
        let _a = one.watch_queue(watch()).await.unwrap();
        let _b = two.watch_queue(watch()).await.unwrap();
        // A third stream on the same connection waits for a free one.
        let third = tokio::time::timeout(Duration::from_secs(1), three.watch_queue(watch())).await;
        assert!(third.is_err(), "the connection carried a third stream");
        // Another connection is served.
        let mut other = pb::triage_service_client::TriageServiceClient::new(server.authed(&token).await);
        other.watch_queue(watch()).await.unwrap();
    }
}

#[tokio::test]
async fn without_an_audit_trail_victim_data_is_not_read_and_nothing_changes() {
    for backend in BACKENDS {
        let server = TestServer::start(backend).await.unwrap();
        let mut intake = server.intake().await;
        let submitted = intake.submit_report(request(sample_report(), "")).await.unwrap().into_inner();
        let mut triage = server.triage_as("tomas").await;
        let by_id =
            || pb::GetReportRequest { selector: Some(pb::get_report_request::Selector::ReportId(submitted.report_id)) };
        triage.get_report(by_id()).await.unwrap();
        server.sql("ALTER TABLE audit_events RENAME TO audit_events_away").unwrap();
        let e = triage.get_report(by_id()).await.unwrap_err();
        assert_eq!(e.code(), Code::Unavailable, "{e:?}");
        let claim = pb::ClaimNextRequest { queue: pb::Queue::New as i32, lease_seconds: 60, ..Default::default() };
        assert_eq!(triage.claim_next(claim.clone()).await.unwrap_err().code(), Code::Unavailable);
        // Calls that are not audited go on.
        intake.submit_report(request(sample_report(), "")).await.unwrap();
        server.sql("ALTER TABLE audit_events_away RENAME TO audit_events").unwrap();
        // Nothing was claimed while the trail was away.
        let claimed = triage.claim_next(claim).await.unwrap().into_inner().cluster.unwrap();
        assert_eq!(claimed.cluster_id, submitted.cluster_id);
        assert!(server.command_output(&["audit", "verify"]).unwrap().0);
    }
}

#[tokio::test]
async fn an_open_watch_ends_when_its_user_is_disabled() {
    for backend in BACKENDS {
        let server = TestServer::start(backend).await.unwrap();
        let token = server.token("wanda", "investigator").await;
        let mut triage = pb::triage_service_client::TriageServiceClient::new(server.authed(&token).await);
        let mut stream = triage.watch_queue(pb::WatchQueueRequest { queue: 0 }).await.unwrap().into_inner();
        server.run_command(&["user", "disable", "--name", "wanda"]).unwrap();
        // Within one recheck (10 s) the stream ends with UNAUTHENTICATED, though nothing happened.
        let next = tokio::time::timeout(Duration::from_secs(15), stream.message()).await.expect("the watch went on");
        let e = next.unwrap_err();
        assert_eq!(e.code(), Code::Unauthenticated, "{e:?}");
    }
}
