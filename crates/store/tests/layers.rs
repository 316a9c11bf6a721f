//! The layers' doors, checked over the source tree (ARCHITECTURE.md states them):
//!
//! - only `crates/store/src/db/` speaks to the database drivers (sea-orm, sqlx, rusqlite): the
//!   store's domain modules, the server and `core` never name a driver, its connection or
//!   transaction types, or read a row by index;
//! - `core` builds no SQL;
//! - in the server only `error.rs` looks inside a `StoreError` (the one place store errors
//!   become statuses).
//!
//! A file's unit tests (its trailing `#[cfg(test)] mod tests`) are left out: a test may open a
//! database file with a driver of its own to check what the code under test wrote.

use std::path::{Path, PathBuf};

/// What only the database module may name.
const DRIVER: &[&str] = &[
    "sea_orm",
    "sqlx",
    "rusqlite",
    "ConnectionTrait",
    "TransactionTrait",
    "DatabaseConnection",
    "DatabaseTransaction",
    "QueryResult",
    "EntityTrait",
    "ActiveValue",
    "try_get_by_index",
    "query_all_raw",
    "execute_raw",
];

/// SQL that `core` must not build.
const SQL: &[&str] = &["SELECT ", "INSERT INTO", "UPDATE ", "DELETE FROM", "COALESCE(", "GROUP BY", " WHERE "];

/// The Rust files under `dir`, recursively, with their text up to their unit tests.
fn sources(dir: &Path) -> Vec<(PathBuf, String)> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display())) {
            let path = entry.unwrap().path();
            if path.is_dir() {
                stack.push(path);
            } else if path.extension().is_some_and(|e| e == "rs") {
                let text = std::fs::read_to_string(&path).unwrap();
                let code = match text.find("#[cfg(test)]\nmod tests") {
                    Some(at) => text[..at].to_owned(),
                    None => text,
                };
                out.push((path, code));
            }
        }
    }
    assert!(!out.is_empty(), "no sources under {}", dir.display());
    out
}

/// Each line of `code` (not a comment) holding one of `words`, as `path:line: word`.
fn findings(path: &Path, code: &str, words: &[&str]) -> Vec<String> {
    let mut found = Vec::new();
    for (n, line) in code.lines().enumerate() {
        let trimmed = line.trim_start();
        if trimmed.starts_with("//") {
            continue;
        }
        for word in words {
            if line.contains(word) {
                found.push(format!("{}:{}: {word}", path.display(), n + 1));
            }
        }
    }
    found
}

fn crates() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap().to_path_buf()
}

#[test]
fn only_the_database_module_speaks_to_the_drivers() {
    let store = crates().join("store/src");
    let db = store.join("db");
    let mut found = Vec::new();
    let mut checked = 0;
    for root in [store.clone(), crates().join("server/src"), crates().join("core/src")] {
        for (path, code) in sources(&root) {
            if path.starts_with(&db) {
                continue;
            }
            checked += 1;
            found.extend(findings(&path, &code, DRIVER));
        }
    }
    assert!(checked > 30, "only {checked} files checked");
    assert!(found.is_empty(), "driver names outside crates/store/src/db:\n{}", found.join("\n"));

    // The check sees what it looks for: the database module itself names the drivers.
    let in_db: usize = sources(&db).iter().map(|(path, code)| findings(path, code, DRIVER).len()).sum();
    assert!(in_db > 20, "the database module names the drivers only {in_db} times");
}

#[test]
fn core_builds_no_sql() {
    let mut found = Vec::new();
    for (path, code) in sources(&crates().join("core/src")) {
        found.extend(findings(&path, &code, SQL));
    }
    assert!(found.is_empty(), "SQL in core:\n{}", found.join("\n"));
}

#[test]
fn only_the_servers_error_module_looks_inside_store_errors() {
    let server = crates().join("server/src");
    let mut found = Vec::new();
    for (path, code) in sources(&server) {
        if path == server.join("error.rs") {
            assert!(!findings(&path, &code, &["StoreError as E", "E::"]).is_empty(), "error.rs maps store errors");
            continue;
        }
        found.extend(findings(&path, &code, &["StoreError::", "StoreError as"]));
    }
    assert!(found.is_empty(), "store errors looked into outside the server's error.rs:\n{}", found.join("\n"));
}
