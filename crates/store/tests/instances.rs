//! Several instances starting at once on one fresh PostgreSQL database (the server
//! `SCAMTRAIL_TEST_POSTGRES_URL` names, which `make test` starts) migrate it once: each holds
//! an advisory lock while it migrates, and the others then find nothing pending.

use std::process::Command;

use scamtrail_store::{Store, StoreConfig};

fn psql(url: &str, sql: &str) -> String {
    let out = Command::new("psql").args([url, "-v", "ON_ERROR_STOP=1", "-q", "-t", "-A", "-c", sql]).output().unwrap();
    assert!(out.status.success(), "psql {sql}: {}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8_lossy(&out.stdout).trim().to_owned()
}

#[tokio::test]
async fn instances_starting_at_once_migrate_once() {
    let server = std::env::var("SCAMTRAIL_TEST_POSTGRES_URL")
        .expect("SCAMTRAIL_TEST_POSTGRES_URL is not set: run the tests with `make test`, which starts PostgreSQL");
    let database = format!("store_instances_{}", std::process::id());
    psql(&server, &format!("DROP DATABASE IF EXISTS {database} WITH (FORCE)"));
    psql(&server, &format!("CREATE DATABASE {database}"));
    let base = server.rsplit_once('/').map(|(b, _)| b.to_owned()).unwrap_or(server.clone());
    let url = format!("{base}/{database}");

    // Four opens polled together: their migrations race unless something makes them take turns.
    // Instances on one database share its data keys.
    let keys = scamtrail_store::KeySource::fixed(scamtrail_core::DataKeys::generate());
    let config = StoreConfig::new(url.clone()).with_data_keys(keys);
    let (a, b, c, d) =
        tokio::join!(Store::open(&config), Store::open(&config), Store::open(&config), Store::open(&config));
    let stores = [a, b, c, d].map(|s| s.expect("every instance starts"));
    let applied = psql(&url, "SELECT count(*) FROM seaql_migrations");
    let distinct = psql(&url, "SELECT count(DISTINCT version) FROM seaql_migrations");
    assert_eq!(applied, distinct);
    assert!(applied.parse::<u32>().unwrap() >= 7, "{applied}");
    drop(stores);
    psql(&server, &format!("DROP DATABASE IF EXISTS {database} WITH (FORCE)"));
}
