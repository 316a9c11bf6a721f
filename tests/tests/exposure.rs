//! What a server exposes besides its API: its SQLite files are readable by its own user only (an
//! existing file open to others is reported at start), and it speaks plaintext only on loopback
//! unless told that a TLS-terminating proxy on the host fronts it.

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use scamtrail_e2e::{Backend, TestServer, binary, request, sample_report};

#[tokio::test]
async fn a_sqlite_database_its_log_and_shared_memory_are_readable_by_the_server_only() {
    let mut server = TestServer::start(Backend::Sqlite).await.unwrap();
    server.intake().await.submit_report(request(sample_report(), "")).await.unwrap();
    let db = PathBuf::from(server.database_url.strip_prefix("sqlite://").unwrap());
    for suffix in ["", "-wal", "-shm"] {
        let file = PathBuf::from(format!("{}{suffix}", db.display()));
        let mode = std::fs::metadata(&file).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600, "{}: {mode:o}", file.display());
    }
    assert!(!server.log().contains("open to other users"), "{}", server.log());

    // Opened up by someone, the file is reported, with its mode, at the next start.
    server.terminate().unwrap();
    std::fs::set_permissions(&db, std::fs::Permissions::from_mode(0o644)).unwrap();
    server.restart().await.unwrap();
    let log = server.log();
    let warning = log.lines().find(|l| l.contains("open to other users")).unwrap_or_else(|| panic!("{log}"));
    assert!(warning.contains(&db.display().to_string()) && warning.contains("0644"), "{warning}");
}

/// Starts `scamtrail serve --listen LISTEN` on a fresh SQLite file in `dir`, logging to `dir/server.log`.
fn serve(dir: &Path, listen: &str, extra: &[&str], env: &[(&str, &str)]) -> Child {
    let log = std::fs::OpenOptions::new().create(true).append(true).open(dir.join("server.log")).unwrap();
    Command::new(binary())
        .args(["serve", "--listen", listen])
        .arg("--database-url")
        .arg(format!("sqlite://{}", dir.join("scamtrail.db").display()))
        .arg("--card-key-file")
        .arg(dir.join("card.key"))
        .arg("--audit-key-file")
        .arg(dir.join("audit.key"))
        .arg("--data-key-file")
        .arg(dir.join("data.key"))
        .args(extra)
        .envs(env.iter().copied())
        .stdout(Stdio::null())
        .stderr(log)
        .spawn()
        .unwrap()
}

/// Whether a server answers health checks on 127.0.0.1:`port` within a minute.
async fn serves(port: u16) -> bool {
    let deadline = Instant::now() + Duration::from_secs(60);
    while Instant::now() < deadline {
        if let Ok(channel) =
            tonic::transport::Channel::from_shared(format!("http://127.0.0.1:{port}")).unwrap().connect().await
        {
            let mut health = tonic_health::pb::health_client::HealthClient::new(channel);
            // SERVING, not merely answering: a starting server answers NOT_SERVING while it
            // migrates, and killing it then would leave a half-migrated file for the next start.
            let answer = health.check(tonic_health::pb::HealthCheckRequest::default()).await;
            if answer.is_ok_and(|a| {
                a.into_inner().status() == tonic_health::pb::health_check_response::ServingStatus::Serving
            }) {
                return true;
            }
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    false
}

#[tokio::test]
async fn plaintext_on_a_public_address_needs_allow_plaintext() {
    let dir = tempfile::tempdir().unwrap();
    let port = std::net::TcpListener::bind("0.0.0.0:0").unwrap().local_addr().unwrap().port();
    let listen = format!("0.0.0.0:{port}");

    let mut refused = serve(dir.path(), &listen, &[], &[]);
    let deadline = Instant::now() + Duration::from_secs(30);
    let status = loop {
        if let Some(status) = refused.try_wait().unwrap() {
            break Some(status);
        }
        if Instant::now() > deadline {
            break None;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    let _ = refused.kill();
    let _ = refused.wait();
    let log = std::fs::read_to_string(dir.path().join("server.log")).unwrap();
    assert!(status.is_some_and(|s| !s.success()), "serve must refuse plaintext on {listen}: {log}");
    assert!(log.contains(&format!("--listen {listen}")) && log.contains("--allow-plaintext"), "{log}");

    // Allowed by the flag or its environment variable, it serves (here reached over loopback).
    for (extra, env) in [(&["--allow-plaintext"][..], &[][..]), (&[][..], &[("SCAMTRAIL_ALLOW_PLAINTEXT", "true")][..])]
    {
        let mut allowed = serve(dir.path(), &listen, extra, env);
        let served = serves(port).await;
        let _ = allowed.kill();
        let _ = allowed.wait();
        let log = std::fs::read_to_string(dir.path().join("server.log")).unwrap();
        assert!(served, "{extra:?} {env:?}: {log}");
    }
}
