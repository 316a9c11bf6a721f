//! The referral package's `case.html` printed to PDF by headless Chromium, on the machine that
//! runs the CLI (`scamtrail export pdf PACKAGE`, or `export cluster ID --format package --pdf`).
//! The server never starts a browser: the PDF is made where the package was saved, from the
//! package's own `case.html` once its SHA-256 matches the package's `manifest-sha256.txt`, so that
//! the printout is of the file the audit trail vouches for.
//!
//! Chromium runs with a profile of its own in a temporary directory (nothing of the operator's
//! browser is read or changed), without extensions or a first-run page, and is stopped after
//! [`RENDER_TIMEOUT`].

use std::io::{Read, Write};
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{Context, bail};
use sha2::{Digest, Sha256};

/// The names a headless Chromium goes by on PATH, in the order they are looked for.
pub const BROWSERS: [&str; 3] = ["chromium", "chromium-browser", "google-chrome"];
/// How long Chromium may take to print a case: a 10,000-report case prints in seconds.
pub const RENDER_TIMEOUT: Duration = Duration::from_secs(120);
/// Where the package holds the case.
const CASE: &str = "data/case.html";
/// The payload manifest, read to check the case before it is printed.
const MANIFEST: &str = "manifest-sha256.txt";
/// A manifest longer than this is not one scamtrail wrote (it lists seven files).
const MANIFEST_MAX: u64 = 64 * 1024;
/// The last bytes of Chromium's messages shown when it fails.
const MESSAGES_MAX: u64 = 4 * 1024;

fn executable(path: &Path) -> bool {
    std::fs::metadata(path).is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
}

/// The browser to print with: `explicit` (`--chromium`) when given, otherwise the first of
/// [`BROWSERS`] found on `path` (the value of PATH). The error says what was looked for and how
/// to provide it.
// Hand-written: std's `split_paths` is the whole of a PATH search on Unix, and the `which`
// crate's extra rules are for Windows, where the server does not run.
pub fn find_browser(explicit: Option<&Path>, path: Option<&std::ffi::OsStr>) -> anyhow::Result<PathBuf> {
    let on_path = |names: &[&Path]| {
        path.map(std::env::split_paths)
            .into_iter()
            .flatten()
            .flat_map(|dir| names.iter().map(move |name| dir.join(name)))
            .find(|candidate| executable(candidate))
    };
    if let Some(browser) = explicit {
        if executable(browser) {
            return Ok(browser.to_owned());
        }
        // A bare name (`--chromium chromium-beta`) is looked for on PATH, as a shell would.
        let bare = browser.components().count() == 1;
        if let Some(found) = on_path(&[browser]).filter(|_| bare) {
            return Ok(found);
        }
        bail!("--chromium {}: not an executable file", browser.display());
    }
    let names: Vec<&Path> = BROWSERS.iter().map(Path::new).collect();
    if let Some(found) = on_path(&names) {
        return Ok(found);
    }
    bail!(
        "cannot print case.html to PDF: no headless Chromium on PATH (looked for {}); install one \
         (Debian: apt-get install chromium) or name it with --chromium (SCAMTRAIL_CHROMIUM)",
        BROWSERS.join(", ")
    )
}

/// The SHA-256 the package's manifest lists for `case.html`.
fn listed_digest(package: &mut zip::ZipArchive<std::fs::File>) -> anyhow::Result<String> {
    let mut manifest = String::new();
    package
        .by_name(MANIFEST)
        .with_context(|| format!("no {MANIFEST} in the package: is it a referral package?"))?
        .take(MANIFEST_MAX)
        .read_to_string(&mut manifest)
        .with_context(|| format!("reading {MANIFEST}"))?;
    manifest
        .lines()
        .find_map(|line| line.split_once("  ").filter(|(_, path)| *path == CASE).map(|(digest, _)| digest.to_owned()))
        .with_context(|| format!("{MANIFEST} does not list {CASE}"))
}

/// Prints the `case.html` of the referral package at `package` to `out` with `browser`.
pub async fn render(package: &Path, out: &Path, browser: &Path) -> anyhow::Result<()> {
    let file = std::fs::File::open(package).with_context(|| format!("cannot open {}", package.display()))?;
    let mut zip = zip::ZipArchive::new(file).with_context(|| format!("{} is not a zip", package.display()))?;
    let listed = listed_digest(&mut zip)?;
    let dir = tempfile::Builder::new().prefix("scamtrail-pdf-").tempdir().context("a temporary directory")?;
    let page = dir.path().join("case.html");
    let mut hash = Sha256::new();
    {
        let mut case = zip.by_name(CASE).with_context(|| format!("no {CASE} in the package"))?;
        let mut copy = std::fs::File::create(&page)?;
        let mut buf = vec![0u8; 64 * 1024];
        loop {
            let n = case.read(&mut buf).with_context(|| format!("reading {CASE}"))?;
            if n == 0 {
                break;
            }
            hash.update(&buf[..n]);
            copy.write_all(&buf[..n])?;
        }
    }
    if hex::encode(hash.finalize()) != listed {
        bail!("{CASE} does not match the package's {MANIFEST}: the package was changed after it was exported");
    }
    let pdf = dir.path().join("case.pdf");
    let messages = dir.path().join("chromium.log");
    let mut command = tokio::process::Command::new(browser);
    command
        .arg("--headless")
        .arg("--disable-gpu")
        .arg("--no-first-run")
        .arg("--no-default-browser-check")
        .arg("--disable-extensions")
        .arg("--disable-background-networking")
        .arg("--no-pdf-header-footer")
        .arg(format!("--user-data-dir={}", dir.path().join("profile").display()))
        .arg(format!("--print-to-pdf={}", pdf.display()));
    // Chromium refuses to start its sandbox as root; the page is scamtrail's own, script-free HTML.
    if std::fs::metadata("/proc/self").is_ok_and(|m| m.uid() == 0) {
        command.arg("--no-sandbox");
    }
    let log = std::fs::File::create(&messages)?;
    let mut child = command
        .arg(&page)
        .stdin(std::process::Stdio::null())
        .stdout(log.try_clone()?)
        .stderr(log)
        .kill_on_drop(true)
        .spawn()
        .with_context(|| format!("cannot start {}", browser.display()))?;
    let status = match tokio::time::timeout(RENDER_TIMEOUT, child.wait()).await {
        Ok(status) => status?,
        Err(_) => {
            let _ = child.kill().await;
            bail!("{} did not print the case within {} s", browser.display(), RENDER_TIMEOUT.as_secs());
        }
    };
    let printed = std::fs::read(&pdf).unwrap_or_default();
    if !status.success() || !printed.starts_with(b"%PDF-") {
        bail!("{} did not print the case ({status}): {}", browser.display(), tail(&messages));
    }
    // Copied, not renamed: the temporary directory may be on another file system.
    std::fs::copy(&pdf, out).with_context(|| format!("cannot write {}", out.display()))?;
    Ok(())
}

/// The last lines Chromium wrote, for an error.
fn tail(path: &Path) -> String {
    let Ok(mut file) = std::fs::File::open(path) else { return String::new() };
    let len = file.metadata().map(|m| m.len()).unwrap_or(0);
    let mut text = String::new();
    let _ = std::io::Seek::seek(&mut file, std::io::SeekFrom::Start(len.saturating_sub(MESSAGES_MAX)));
    let _ = file.take(MESSAGES_MAX).read_to_string(&mut text);
    text.trim().to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_browser_is_found_on_path_or_named() {
        let dir = tempfile::tempdir().unwrap();
        let empty = tempfile::tempdir().unwrap();
        let path = std::env::join_paths([empty.path(), dir.path()]).unwrap();
        let e = find_browser(None, Some(&path)).unwrap_err().to_string();
        assert!(e.contains("chromium, chromium-browser, google-chrome") && e.contains("--chromium"), "{e}");
        let chrome = dir.path().join("google-chrome");
        std::fs::write(&chrome, "#!/bin/sh\n").unwrap();
        // Not executable yet: not a browser.
        assert!(find_browser(None, Some(&path)).is_err());
        std::fs::set_permissions(&chrome, std::fs::Permissions::from_mode(0o755)).unwrap();
        assert_eq!(find_browser(None, Some(&path)).unwrap(), chrome);
        let e = find_browser(Some(&dir.path().join("nothing")), Some(&path)).unwrap_err().to_string();
        assert!(e.starts_with("--chromium "), "{e}");
        assert_eq!(find_browser(Some(&chrome), None).unwrap(), chrome);
        assert_eq!(find_browser(Some(Path::new("google-chrome")), Some(&path)).unwrap(), chrome);
        assert!(find_browser(Some(Path::new("google-chrome")), None).is_err());
    }
}
