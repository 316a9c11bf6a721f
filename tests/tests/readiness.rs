//! Readiness: a load balancer watching health sees every service go NOT_SERVING as soon as a
//! stop begins, while in-flight calls still finish.

use scamtrail_e2e::{Backend, TestServer};
use tonic_health::pb::health_check_response::ServingStatus;
use tonic_health::pb::{HealthCheckRequest, health_client::HealthClient};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn health_turns_not_serving_when_a_stop_begins() {
    let mut server = TestServer::start_with(Backend::Sqlite, &["--shutdown-grace-seconds", "3"]).await.unwrap();
    let mut watches = vec![];
    for service in ["", "scamtrail.v1.IntakeService", "scamtrail.v1.TriageService"] {
        let mut health = HealthClient::new(server.channel().await);
        let request = HealthCheckRequest { service: service.into() };
        let mut stream = health.watch(request).await.unwrap().into_inner();
        let first = stream.message().await.unwrap().unwrap();
        assert_eq!(first.status(), ServingStatus::Serving, "{service:?}");
        watches.push((service, stream));
    }
    server.sigterm().unwrap();
    for (service, stream) in &mut watches {
        let next = tokio::time::timeout(std::time::Duration::from_secs(2), stream.message()).await;
        let next = next.expect("told within the grace period").unwrap().unwrap();
        assert_eq!(next.status(), ServingStatus::NotServing, "{service:?}");
    }
    drop(watches);
    assert!(server.wait_exit().unwrap(), "{}", server.log());
}
