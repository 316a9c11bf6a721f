//! Clustering through the store's public API, on a SQLite file and on PostgreSQL (a fresh
//! database on the server `SCAMTRAIL_TEST_POSTGRES_URL` names, which `make test` starts):
//! reports sharing a linking identifier join one cluster, a report bridging two clusters merges
//! them into the one with the most reports (ties: the oldest), and identifiers that do not link
//! (safelisted, excluded, unverified, a bank's BIC, found in the narrative) link nothing.

use std::process::Command;

use scamtrail_core::{Category, IdentifierState, NewPayment, NewReport, NormalizedIdentifier, ReportedIdentifier};
use scamtrail_core::{UnixMicros, Unverified};
use scamtrail_store::{IdentifierDecision, KeySource, Store, StoreConfig};

/// A database for one test, dropped with it.
struct Database {
    url: String,
    /// The PostgreSQL server and database name, to drop it.
    postgres: Option<(String, String)>,
    _dir: tempfile::TempDir,
}

impl Database {
    fn sqlite() -> Self {
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite://{}", dir.path().join("clusters.db").display());
        Self { url, postgres: None, _dir: dir }
    }

    fn postgres(name: &str) -> Self {
        let server = std::env::var("SCAMTRAIL_TEST_POSTGRES_URL")
            .expect("SCAMTRAIL_TEST_POSTGRES_URL is not set: run the tests with `make test`, which starts PostgreSQL");
        let database = format!("store_{name}_{}", std::process::id());
        psql(&server, &format!("DROP DATABASE IF EXISTS {database} WITH (FORCE)"));
        psql(&server, &format!("CREATE DATABASE {database}"));
        let base = server.rsplit_once('/').map(|(b, _)| b.to_owned()).unwrap_or(server.clone());
        Self {
            url: format!("{base}/{database}"),
            postgres: Some((server, database)),
            _dir: tempfile::tempdir().unwrap(),
        }
    }

    async fn open(&self) -> Store {
        // One set of data keys for every open in the process: a reopened database reads its reports.
        static KEYS: std::sync::OnceLock<KeySource> = std::sync::OnceLock::new();
        let keys = KEYS.get_or_init(|| KeySource::fixed(scamtrail_core::DataKeys::generate()));
        Store::open(&StoreConfig::new(self.url.clone()).with_data_keys(keys.clone())).await.unwrap()
    }
}

impl Drop for Database {
    fn drop(&mut self) {
        if let Some((server, database)) = &self.postgres {
            let _ = Command::new("psql")
                .args([server.as_str(), "-q", "-c", &format!("DROP DATABASE IF EXISTS {database} WITH (FORCE)")])
                .output();
        }
    }
}

fn psql(url: &str, sql: &str) {
    let out = Command::new("psql").args([url, "-v", "ON_ERROR_STOP=1", "-q", "-c", sql]).output().unwrap();
    assert!(out.status.success(), "psql {sql}: {}", String::from_utf8_lossy(&out.stderr));
}

/// An identifier the victim typed, normalised to `key` (its kind is the key's prefix).
fn typed(key: &str) -> ReportedIdentifier {
    let kind = key.split(':').next().unwrap_or_default().to_owned();
    ReportedIdentifier {
        raw: key.to_owned(),
        role: None,
        kind_hint: None,
        outcome: Ok(NormalizedIdentifier {
            kind,
            key: key.to_owned(),
            display: key.to_owned(),
            country: None,
            bank_code: None,
            phone_type: None,
            chain: None,
            checksum_verified: true,
        }),
    }
}

/// A value that did not normalise: kept as unverified, with its reason.
fn unverified(raw: &str) -> ReportedIdentifier {
    ReportedIdentifier {
        raw: raw.to_owned(),
        role: None,
        kind_hint: None,
        outcome: Err(Unverified { reason: "unrecognised".into(), message: "not a known kind of identifier".into() }),
    }
}

/// A report carrying `identifiers`, a payment to `beneficiaries`, and `suggested` finds.
fn report(
    identifiers: Vec<ReportedIdentifier>,
    beneficiaries: Vec<ReportedIdentifier>,
    suggested: Vec<ReportedIdentifier>,
) -> NewReport {
    NewReport {
        category: Category::Investment,
        first_contact_at: None,
        last_contact_at: None,
        contact_channels: Vec::new(),
        narrative: "They promised returns.".into(),
        payments: vec![NewPayment {
            amount_minor: 50_000,
            currency: "GBP".into(),
            method: None,
            paid_at: Some(UnixMicros::now()),
            beneficiaries,
            transaction_hash: String::new(),
            recall_requested: false,
        }],
        identifiers,
        suggested,
        victim: None,
        contact_ongoing: false,
        client_request_id: None,
        follow_up_hash: None,
    }
}

/// Submits a report carrying `keys` (typed) and returns its (report, cluster).
async fn submit(store: &Store, keys: &[&str]) -> (i64, i64) {
    let submitted = store.submit(report(keys.iter().map(|k| typed(k)).collect(), vec![], vec![])).await.unwrap();
    assert_eq!(store.cluster_of_report(submitted.report_id).await.unwrap(), Some(submitted.cluster_id));
    (submitted.report_id, submitted.cluster_id)
}

async fn reports_in(store: &Store, cluster: i64) -> i64 {
    store.cluster_summary(cluster).await.unwrap().expect("the cluster exists").report_count
}

async fn shared_identifiers_join_one_cluster(db: Database) {
    let store = db.open().await;
    let (a, first) = submit(&store, &["tel:+447700900001", "iban:GB29NWBK60161331926819"]).await;
    let (b, second) = submit(&store, &["tel:+447700900001"]).await;
    let (_, alone) = submit(&store, &["tel:+447700900002"]).await;
    assert_eq!(first, second, "two reports sharing a phone number are one cluster");
    assert_ne!(alone, first, "a report sharing nothing is a cluster of its own");
    assert_eq!(reports_in(&store, first).await, 2);
    let explained = store.explain_link(a, b).await.unwrap().unwrap();
    let path = explained.path.expect("the reports are linked");
    assert!(path.iter().any(|step| step.via_key.as_deref() == Some("tel:+447700900001")), "{path:?}");
}

async fn a_bridge_merges_into_the_largest_cluster(db: Database) {
    let store = db.open().await;
    // The older cluster has one report, the newer two: the newer survives.
    let (older_report, older) = submit(&store, &["iban:GB33BUKB20201555555555"]).await;
    let (_, larger) = submit(&store, &["tel:+447700900011"]).await;
    assert_eq!(submit(&store, &["tel:+447700900011"]).await.1, larger);
    assert!(older < larger);
    let (_, bridged) = submit(&store, &["tel:+447700900011", "iban:GB33BUKB20201555555555"]).await;
    assert_eq!(bridged, larger, "the cluster with the most reports survives");
    assert_eq!(store.cluster_of_report(older_report).await.unwrap(), Some(larger));
    let merged = store.cluster_summary(older).await.unwrap().unwrap();
    assert_eq!(merged.merged_into, Some(larger), "the other cluster is marked merged into the survivor");
    assert_eq!(merged.report_count, 0);
    assert_eq!(reports_in(&store, larger).await, 4);

    // Equal sizes: the oldest survives.
    let (_, first) = submit(&store, &["tel:+447700900021"]).await;
    let (_, second) = submit(&store, &["tel:+447700900022"]).await;
    let (_, tie) = submit(&store, &["tel:+447700900022", "tel:+447700900021"]).await;
    assert!(first < second);
    assert_eq!(tie, first, "of clusters of one report each, the oldest survives");
    assert_eq!(store.cluster_summary(second).await.unwrap().unwrap().merged_into, Some(first));
}

async fn identifiers_that_do_not_link_link_nothing(db: Database) {
    let store = db.open().await;
    let helpline = "tel:+448000001111";
    let decision = IdentifierDecision {
        key: helpline.into(),
        kind: "tel".into(),
        display: helpline.into(),
        reason: "a bank's helpline, spoofed".into(),
    };
    store.set_identifier_state(&decision, IdentifierState::Safelisted, "supervisor").await.unwrap();
    let (_, a) = submit(&store, &[helpline]).await;
    let (_, b) = submit(&store, &[helpline]).await;
    assert_ne!(a, b, "a safelisted number links nothing");

    // An identifier excluded after it linked splits its cluster.
    let shared = "domain:shared-processor.test";
    let (_, c) = submit(&store, &[shared]).await;
    let (d_report, d) = submit(&store, &[shared]).await;
    assert_eq!(c, d);
    let exclusion = IdentifierDecision {
        key: shared.into(),
        kind: "domain".into(),
        display: shared.into(),
        reason: "a payment processor".into(),
    };
    let (_, created) = store.set_identifier_state(&exclusion, IdentifierState::Excluded, "investigator").await.unwrap();
    assert_eq!(created.len(), 1, "the cluster split in two");
    assert_eq!(store.cluster_of_report(d_report).await.unwrap(), Some(created[0]));

    // Unverified values, a bank's BIC and identifiers found in the narrative never link.
    let mut clusters = Vec::new();
    for _ in 0..2 {
        let new = report(
            vec![unverified("call me on the usual number")],
            vec![typed("bic:NWBKGB2L")],
            vec![typed("tel:+447700900099")],
        );
        clusters.push(store.submit(new).await.unwrap().cluster_id);
    }
    assert_ne!(clusters[0], clusters[1], "unverified values, BICs and suggestions link nothing");
    assert_eq!(reports_in(&store, clusters[0]).await, 1);
}

#[tokio::test]
async fn shared_identifiers_join_one_cluster_on_sqlite() {
    shared_identifiers_join_one_cluster(Database::sqlite()).await;
}

#[tokio::test]
async fn shared_identifiers_join_one_cluster_on_postgres() {
    shared_identifiers_join_one_cluster(Database::postgres("join")).await;
}

#[tokio::test]
async fn a_bridge_merges_into_the_largest_cluster_on_sqlite() {
    a_bridge_merges_into_the_largest_cluster(Database::sqlite()).await;
}

#[tokio::test]
async fn a_bridge_merges_into_the_largest_cluster_on_postgres() {
    a_bridge_merges_into_the_largest_cluster(Database::postgres("merge")).await;
}

#[tokio::test]
async fn identifiers_that_do_not_link_link_nothing_on_sqlite() {
    identifiers_that_do_not_link_link_nothing(Database::sqlite()).await;
}

#[tokio::test]
async fn identifiers_that_do_not_link_link_nothing_on_postgres() {
    identifiers_that_do_not_link_link_nothing(Database::postgres("nolink")).await;
}
