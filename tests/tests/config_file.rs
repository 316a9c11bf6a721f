//! `serve --config scamtrail.toml` and `scamtrail config check`: the file's settings are used,
//! the environment and the flags typed win over them, and a wrong key stops the start by name.

use std::io::{Read, Write};
use std::process::Command;

use scamtrail_e2e::{Backend, TestServer, binary, id};
use scamtrail_proto::v1::{self as pb, IdentifierKind as K, IdentifierRole as R};

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

/// The body of `GET /metrics` at `address`.
fn scrape(address: &str) -> String {
    let mut stream = std::net::TcpStream::connect(address).unwrap();
    stream.write_all(b"GET /metrics HTTP/1.1\r\nHost: scamtrail\r\nConnection: close\r\n\r\n").unwrap();
    let mut answer = String::new();
    stream.read_to_string(&mut answer).unwrap();
    answer
}

#[tokio::test]
async fn the_file_gives_settings_that_the_environment_and_the_flags_override() {
    let dir = tempfile::tempdir().unwrap();
    let metrics = format!("127.0.0.1:{}", free_port());
    let config = dir.path().join("scamtrail.toml");
    std::fs::write(
        &config,
        format!(
            "# The harness types --listen: the typed flag wins.\nlisten = \"127.0.0.1:1\"\n\
             metrics_listen = \"{metrics}\"\n\
             # The harness sets SCAMTRAIL_INTAKE_RATE_PER_KEY=0 (no limit): the environment wins.\n\
             intake-rate-per-key = 1\n\
             cors-origin = [\"https://report.example.org\"]\n"
        ),
    )
    .unwrap();
    let server = TestServer::start_with(Backend::Sqlite, &["--config", config.to_str().unwrap()]).await.unwrap();
    let mut intake = server.intake().await;
    for _ in 0..5 {
        let values = vec![id("+44 20 7946 0958", R::Unspecified, K::Phone)];
        intake
            .normalize_identifiers(pb::NormalizeIdentifiersRequest { values, country: String::new() })
            .await
            .expect("no rate limit: the environment overrides the file");
    }
    let text = scrape(&metrics);
    assert!(text.starts_with("HTTP/1.1 200"), "the file's metrics-listen is used: {text}");
    assert!(text.contains("grpc_server_handled_total"));

    let check = Command::new(binary()).args(["config", "check", "--config"]).arg(&config).output().unwrap();
    let out = String::from_utf8_lossy(&check.stdout);
    assert!(check.status.success(), "{out}{}", String::from_utf8_lossy(&check.stderr));
    assert!(out.contains("listen = 127.0.0.1:1") && out.contains(&format!("metrics = {metrics}")), "{out}");
    assert!(out.contains("configuration OK"));
}

#[test]
fn config_check_names_what_is_wrong() {
    let dir = tempfile::tempdir().unwrap();
    for (text, expected) in [
        ("lisen = \"127.0.0.1:5\"\n", "`lisen` is not a setting of serve"),
        ("listen = \"0.0.0.0:50051\"\n", "not a loopback address"),
        ("intake-rate-per-key = \"fast\"\n", "fast"),
        ("listen = [\n", "scamtrail.toml"),
        ("tls-cert = \"missing.pem\"\ntls-key = \"missing.key\"\n", "missing.pem"),
    ] {
        let config = dir.path().join("scamtrail.toml");
        std::fs::write(&config, text).unwrap();
        let check = Command::new(binary())
            .args(["config", "check", "--config"])
            .arg(&config)
            .env_remove("SCAMTRAIL_LISTEN")
            .env("RUST_BACKTRACE", "0")
            .output()
            .unwrap();
        let err = String::from_utf8_lossy(&check.stderr);
        assert!(!check.status.success(), "{text}: accepted");
        assert!(err.contains(expected), "{text}: {err}");
    }
}

/// The example configuration shipped in `deploy/` passes `config check` once its paths exist
/// (here in a temporary directory), and the systemd unit is accepted by `systemd-analyze verify`
/// where systemd is installed.
#[test]
fn the_shipped_configuration_and_unit_are_valid() {
    let dir = tempfile::tempdir().unwrap();
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let tls = dir.path().join("tls");
    std::fs::create_dir(&tls).unwrap();
    let key = Command::new("openssl")
        .current_dir(&tls)
        .args(["req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"])
        .args(["-keyout", "key.pem", "-out", "cert.pem", "-days", "2", "-subj", "/CN=scamtrail.example"])
        .output()
        .expect("openssl (scripts/install-test-deps)");
    assert!(key.status.success(), "{}", String::from_utf8_lossy(&key.stderr));
    let example = std::fs::read_to_string(root.join("deploy/scamtrail.toml")).unwrap();
    let local = example
        .replace("/etc/scamtrail/tls/", &format!("{}/", tls.display()))
        .replace("/var/lib/scamtrail/", &format!("{}/", dir.path().display()));
    let config = dir.path().join("scamtrail.toml");
    std::fs::write(&config, local).unwrap();
    let check = Command::new(binary())
        .args(["config", "check", "--config"])
        .arg(&config)
        .env_remove("SCAMTRAIL_LISTEN")
        .env_remove("SCAMTRAIL_DATABASE_URL")
        .output()
        .unwrap();
    let out = String::from_utf8_lossy(&check.stdout);
    assert!(check.status.success(), "{out}{}", String::from_utf8_lossy(&check.stderr));
    assert!(out.contains("listen = 0.0.0.0:50051") && out.contains("tls = true"), "{out}");

    let Ok(analyze) = Command::new("systemd-analyze").arg("--version").output() else {
        eprintln!("systemd-analyze is not installed: the unit was not verified");
        return;
    };
    assert!(analyze.status.success());
    let unit = std::fs::read_to_string(root.join("deploy/scamtrail.service")).unwrap();
    let unit = unit.replace("/usr/local/bin/scamtrail", binary().canonicalize().unwrap().to_str().unwrap());
    let path = dir.path().join("scamtrail.service");
    std::fs::write(&path, unit).unwrap();
    let verify = Command::new("systemd-analyze").arg("verify").arg(&path).output().unwrap();
    let said = format!("{}{}", String::from_utf8_lossy(&verify.stdout), String::from_utf8_lossy(&verify.stderr));
    assert!(verify.status.success() && !said.contains("scamtrail.service:"), "{said}");
}
