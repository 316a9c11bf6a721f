//! Readiness: a load balancer watching health sees every service go NOT_SERVING as soon as a
//! stop begins, while in-flight calls still finish; and NOT_SERVING while a start waits for
//! migrations.

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

/// A start waits for migrations (here: another session holds the PostgreSQL migration lock, as an
/// instance migrating the database would): meanwhile health answers NOT_SERVING for the server
/// and every service, and the server turns SERVING, and takes reports, once the lock is free.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn health_is_not_serving_while_migrations_wait() {
    use std::io::{BufRead, Write};
    let mut server = TestServer::start(Backend::Postgres).await.unwrap();
    server.terminate().unwrap();
    // The lock `scamtrail` takes while it migrates ("SCAMMIGR"), held by a session of its own
    // until its input ends.
    let mut migrating = std::process::Command::new("psql")
        .args([&server.database_url, "-X", "-A", "-t", "-q", "-v", "ON_ERROR_STOP=1"])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut session = migrating.stdin.take().unwrap();
    writeln!(session, "SELECT 'locked' FROM (SELECT pg_advisory_lock(5999710928852567890)) AS held;").unwrap();
    session.flush().unwrap();
    let mut said = String::new();
    std::io::BufReader::new(migrating.stdout.take().unwrap()).read_line(&mut said).unwrap();
    assert_eq!(said.trim(), "locked");

    server.restart_answering().await.unwrap();
    for service in ["", "scamtrail.v1.IntakeService", "scamtrail.v1.TriageService", "scamtrail.v1.ExportService"] {
        let mut health = HealthClient::new(server.channel().await);
        let answer = health.check(HealthCheckRequest { service: service.into() }).await.unwrap();
        assert_eq!(answer.into_inner().status(), ServingStatus::NotServing, "{service:?} while migrations wait");
    }
    // Still waiting a second later: the answer is not a race with a quick start.
    tokio::time::sleep(std::time::Duration::from_secs(1)).await;
    let mut health = HealthClient::new(server.channel().await);
    let answer = health.check(HealthCheckRequest { service: String::new() }).await.unwrap();
    assert_eq!(answer.into_inner().status(), ServingStatus::NotServing);

    drop(session);
    assert!(migrating.wait().unwrap().success(), "the locking session ends");
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    loop {
        // The port is closed for a moment while the server proper takes it from the starting one.
        let channel =
            tonic::transport::Channel::from_shared(format!("http://{}", server.addr)).unwrap().connect().await;
        if let Ok(channel) = channel {
            let health = HealthClient::new(channel).check(HealthCheckRequest::default()).await;
            if health.is_ok_and(|a| a.into_inner().status() == ServingStatus::Serving) {
                break;
            }
        }
        assert!(std::time::Instant::now() < deadline, "SERVING once the lock is free: {}", server.log());
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    let answer = server
        .intake()
        .await
        .submit_report(scamtrail_e2e::request(scamtrail_e2e::sample_report(), "after-start"))
        .await;
    assert!(answer.is_ok(), "{answer:?}");
    assert!(server.terminate().unwrap(), "{}", server.log());
}
