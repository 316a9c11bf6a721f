//! The audit trail's chain is keyed with the server's audit key, which lives in a file apart from
//! the database: `scamtrail audit verify` needs that file, fails a trail rewritten without the key
//! (plain SHA-256, or another key), and with a checkpoint it printed earlier fails a trail cut
//! back below it. A trail from before the key is sealed by the first start with a new key, and
//! nothing is appended after a newest event the key did not sign. On SQLite and PostgreSQL.

use scamtrail_core::{AUDIT_GENESIS, AuditEvent, AuditKey};
use scamtrail_e2e::{BACKENDS, TestServer, request, sample_report};
use scamtrail_proto::v1 as pb;
use scamtrail_store::{Access, StoreConfig};
use tonic::Code;

/// A GetReport of victim data by `reader`, a supervisor (made with the CLI and signed in on first
/// use): audited calls and CLI commands, each an event in the trail.
async fn read_victim_data(server: &TestServer, reader: &str) -> Result<(), tonic::Status> {
    let mut intake = server.intake().await;
    let submitted = intake.submit_report(request(sample_report(), "")).await?.into_inner();
    let mut triage = server.triage_as(reader).await;
    let selector = Some(pb::get_report_request::Selector::ReportId(submitted.report_id));
    triage.get_report(pb::GetReportRequest { selector }).await.map(|_| ())
}

/// The stored trail, oldest first, each event with its stored hash.
async fn stored_trail(server: &TestServer) -> Vec<(AuditEvent, String)> {
    // Reading needs no key: any will do.
    let config = StoreConfig::new(server.database_url.clone());
    let access = Access::open(&config, AuditKey::new(b"only reads")).await.unwrap();
    access.audit_events(0, 100_000, None).await.unwrap()
}

/// Rewrites every event's previous hash and hash with `hash(event, previous hash)`, as someone
/// with write access to the database would.
fn rewrite(server: &TestServer, trail: &[(AuditEvent, String)], hash: impl Fn(&AuditEvent, &str) -> String) {
    let mut prev = AUDIT_GENESIS.to_owned();
    for (event, _) in trail {
        let new = hash(event, &prev);
        let sequence = event.sequence;
        server
            .sql(&format!("UPDATE audit_events SET prev_hash = '{prev}', hash = '{new}' WHERE sequence = {sequence}"))
            .unwrap();
        prev = new;
    }
}

/// `scamtrail audit verify` with the server's key file and `checkpoints`: whether it passed, and its stdout.
fn verify(server: &TestServer, checkpoints: &[&str]) -> (bool, String) {
    let mut args = vec!["audit", "verify"];
    for checkpoint in checkpoints {
        args.extend(["--checkpoint", checkpoint]);
    }
    server.command_output(&args).unwrap()
}

fn checkpoint_line(out: &str) -> String {
    out.lines()
        .find(|l| l.starts_with("checkpoint "))
        .unwrap_or_else(|| panic!("no checkpoint printed: {out}"))
        .to_owned()
}

#[tokio::test]
async fn an_untouched_trail_verifies_under_its_key_only_and_prints_a_signed_checkpoint() {
    for backend in BACKENDS {
        let server = TestServer::start(backend).await.unwrap();
        read_victim_data(&server, "sofia").await.unwrap();
        let trail = stored_trail(&server).await;
        let (newest, newest_hash) = trail.last().unwrap();
        let (ok, out) = verify(&server, &[]);
        assert!(ok && out.starts_with(&format!("audit trail intact: {} events\n", trail.len())), "{backend:?}: {out}");
        let line = checkpoint_line(&out);
        let parts: Vec<&str> = line.split(' ').collect();
        assert_eq!(parts.len(), 4, "{line}");
        assert_eq!((parts[1], parts[2]), (newest.sequence.to_string().as_str(), newest_hash.as_str()), "{line}");
        let (ok, out) = verify(&server, &[&line]);
        assert!(ok && out.contains(&format!("checkpoint {} found", newest.sequence)), "{out}");

        // Without the key file nothing is verified (and no key is made); with another key the
        // first event already fails.
        let verify_with = |key_file: &std::path::Path| {
            let out = server
                .command()
                .env("SCAMTRAIL_AUDIT_KEY_FILE", key_file)
                .args(["audit", "verify", "--database-url", &server.database_url])
                .output()
                .unwrap();
            (
                out.status.success(),
                String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr),
            )
        };
        let missing = server.file("missing.key");
        let (ok, out) = verify_with(&missing);
        assert!(!ok && out.contains("--audit-key-file"), "{out}");
        assert!(!missing.exists(), "audit verify never makes a key");
        let other = server.file("other.key");
        std::fs::write(&other, "5a".repeat(32)).unwrap();
        let (ok, out) = verify_with(&other);
        assert!(!ok && out.contains("BROKEN at event 1"), "{out}");
    }
}

#[tokio::test]
async fn a_trail_rewritten_without_the_key_fails_verify_and_takes_no_more_events() {
    for backend in BACKENDS {
        let mut server = TestServer::start(backend).await.unwrap();
        read_victim_data(&server, "sofia").await.unwrap();
        // The forger hides who read the victim's data.
        server.sql("UPDATE audit_events SET actor = 'mallory' WHERE actor = 'sofia'").unwrap();
        let trail = stored_trail(&server).await;
        assert!(trail.iter().any(|(e, _)| e.actor == "mallory"));

        // Rewritten with the server's own key the forgery would hold (so the rewrite is faithful)...
        let key = scamtrail_server::key_file::existing_audit_key(&server.audit_key_file()).unwrap();
        rewrite(&server, &trail, |e, prev| e.chain_hash(&key, prev));
        assert!(verify(&server, &[]).0, "{backend:?}: a rewrite with the key holds");
        // ...but a forger without it has plain SHA-256 or a key of their own, and both fail.
        let other = AuditKey::new(b"the forger's own key");
        rewrite(&server, &trail, |e, prev| e.chain_hash(&other, prev));
        let (ok, out) = verify(&server, &[]);
        assert!(!ok && out.contains("BROKEN at event 1"), "{backend:?}: {out}");
        rewrite(&server, &trail, |e, prev| e.unkeyed_chain_hash(prev));
        let (ok, out) = verify(&server, &[]);
        assert!(!ok && out.contains("BROKEN at event 1"), "{backend:?}: {out}");

        // Nothing is chained after the forged trail, which would vouch for it: audited calls fail,
        // and a restart says why.
        let e = read_victim_data(&server, "sofia").await.unwrap_err();
        assert_eq!(e.code(), Code::Unavailable, "{e:?}");
        server.restart().await.unwrap();
        assert!(server.log().contains("rewritten without the key"), "{}", server.log());
        let (ok, out) = verify(&server, &[]);
        assert!(!ok && out.contains("BROKEN at event 1"), "{backend:?}: {out}");
    }
}

#[tokio::test]
async fn a_trail_cut_back_below_a_kept_checkpoint_fails_verify() {
    for backend in BACKENDS {
        let server = TestServer::start(backend).await.unwrap();
        read_victim_data(&server, "sofia").await.unwrap();
        let (ok, out) = verify(&server, &[]);
        assert!(ok, "{out}");
        let kept = checkpoint_line(&out);
        let kept_sequence: i64 = kept.split(' ').nth(1).unwrap().parse().unwrap();
        // Later events do not matter.
        read_victim_data(&server, "tomas").await.unwrap();
        let (ok, out) = verify(&server, &[&kept]);
        assert!(ok, "{backend:?}: {out}");

        // The kept event and every later one are removed: the chain alone still holds...
        server.sql(&format!("DELETE FROM audit_events WHERE sequence >= {kept_sequence}")).unwrap();
        let (ok, out) = verify(&server, &[]);
        assert!(ok, "a trail cut back still chains: {out}");
        // ...the checkpoint does not.
        let (ok, out) = verify(&server, &[&kept]);
        let fault = format!("checkpoint {kept_sequence}: the trail ends at event {}", kept_sequence - 1);
        assert!(!ok && out.contains(&fault), "{backend:?}: {out}");

        // A checkpoint of the new end, made without the key (the old MAC reused), is not taken.
        let trail = stored_trail(&server).await;
        let (end, end_hash) = trail.last().unwrap();
        let mac = kept.split(' ').nth(3).unwrap();
        let forged = format!("checkpoint {} {end_hash} {mac}", end.sequence);
        let (ok, out) = verify(&server, &[&forged]);
        assert!(!ok && out.contains("MAC is not the audit key's"), "{out}");
        let (ok, _) = verify(&server, &["checkpoint 3 abc"]);
        assert!(!ok, "a malformed checkpoint is refused");
    }
}

#[tokio::test]
async fn a_trail_from_before_the_key_is_sealed_by_the_first_start_with_a_new_key() {
    for backend in BACKENDS {
        let mut server = TestServer::start(backend).await.unwrap();
        read_victim_data(&server, "sofia").await.unwrap();
        server.terminate().unwrap();
        // As an older server left it: plain SHA-256 hashes, and no key file.
        let trail = stored_trail(&server).await;
        rewrite(&server, &trail, |e, prev| e.unkeyed_chain_hash(prev));
        std::fs::remove_file(server.audit_key_file()).unwrap();
        server.restart().await.unwrap();
        assert!(server.log().contains("sealed by a keyed event"), "{}", server.log());
        let (ok, out) = verify(&server, &[]);
        assert!(ok && out.contains(&format!("({} from before the audit key", trail.len())), "{backend:?}: {out}");
        // The trail goes on under the key.
        read_victim_data(&server, "tomas").await.unwrap();
        let (ok, out) = verify(&server, &[]);
        assert!(ok, "{backend:?}: {out}");
    }
}
