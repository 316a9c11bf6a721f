//! What a server exposes besides its API: its SQLite files are readable by its own user only (an
//! existing file open to others is reported at start).

use std::os::unix::fs::PermissionsExt;
use std::path::PathBuf;

use scamtrail_e2e::{Backend, TestServer, request, sample_report};

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
