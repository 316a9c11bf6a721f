//! ARCHITECTURE.md's code map stays true as files come and go: every source file of the store,
//! the server and the end-to-end suites is named in its section of the map (a new file without a
//! row, or a row for a file that is gone, fails here).

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).parent().expect("the workspace").to_path_buf()
}

/// The `.rs` files under `dir`, as paths relative to it (`db/pool.rs`).
fn sources(dir: &Path) -> BTreeSet<String> {
    let mut found = BTreeSet::new();
    let mut pending = vec![dir.to_path_buf()];
    while let Some(at) = pending.pop() {
        for entry in std::fs::read_dir(&at).expect("a source directory") {
            let path = entry.expect("an entry").path();
            if path.is_dir() {
                pending.push(path);
            } else if path.extension().is_some_and(|e| e == "rs") {
                let relative = path.strip_prefix(dir).expect("under dir");
                found.insert(relative.to_string_lossy().replace('\\', "/"));
            }
        }
    }
    found
}

/// The text of the section headed `heading`, up to the next heading of any level.
fn section<'a>(map: &'a str, heading: &str) -> &'a str {
    let start = map.find(heading).unwrap_or_else(|| panic!("ARCHITECTURE.md has no {heading:?}"));
    let body = &map[start + heading.len()..];
    let end = body.find("\n#").unwrap_or(body.len());
    &body[..end]
}

/// The names a section writes in backticks.
fn named(section: &str) -> BTreeSet<String> {
    section.split('`').skip(1).step_by(2).map(str::to_owned).collect()
}

fn check(heading: &str, dir: &str) {
    let map = std::fs::read_to_string(root().join("ARCHITECTURE.md")).expect("ARCHITECTURE.md");
    let named = named(section(&map, heading));
    let files = sources(&root().join(dir));
    let missing: Vec<&String> = files.iter().filter(|f| !named.contains(*f)).collect();
    assert!(missing.is_empty(), "{dir}: files without a row under {heading:?}: {missing:?}");
    let gone: Vec<&String> = named
        .iter()
        .filter(|n| n.ends_with(".rs") && !n.contains(' ') && !n.starts_with("crates/") && !n.starts_with("tests/"))
        .filter(|n| !files.contains(*n))
        .collect();
    assert!(gone.is_empty(), "{heading:?} names files that are not in {dir}: {gone:?}");
}

#[test]
fn every_store_module_has_a_row() {
    check("### The store's modules", "crates/store/src");
}

#[test]
fn every_server_module_has_a_row() {
    check("### The server's modules\n", "crates/server/src");
}

#[test]
fn every_end_to_end_suite_has_a_row() {
    check("### The tests\n", "tests/tests");
}
