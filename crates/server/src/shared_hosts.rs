//! The shared hosts: link shorteners, link-in-bio services and site hosts whose links are keyed
//! by the path naming the site (`url:bit.ly/3xyzabc`). scamtrail ships a list (compiled into
//! `scamtrail-normalize`) and an operator may add a file of the same form
//! (`--shared-hosts-file`). A line that does not read stops the server at start, as a bad
//! safelist line does: a host silently missing would link every victim of its short links.

use std::path::Path;

use scamtrail_normalize::SharedHosts;

/// The shipped list plus an operator's file, if given.
pub fn load(extra: Option<&Path>) -> anyhow::Result<SharedHosts> {
    let mut hosts = SharedHosts::shipped();
    if let Some(path) = extra {
        let text = std::fs::read_to_string(path)
            .map_err(|e| anyhow::anyhow!("cannot read shared-hosts file {}: {e}", path.display()))?;
        let more = SharedHosts::parse(&text).map_err(|e| anyhow::anyhow!("{} {e}", path.display()))?;
        hosts.extend(more);
    }
    Ok(hosts)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_operator_file_adds_hosts_and_a_bad_line_is_named() {
        let dir = std::env::temp_dir().join(format!("scamtrail-shared-hosts-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let good = dir.join("good.tsv");
        std::fs::write(&good, "# ours\ngo.example.org\t{site}\texact\tour shortener\n").unwrap();
        let shipped = SharedHosts::shipped().len();
        assert_eq!(load(Some(&good)).unwrap().len(), shipped + 1);
        let bad = dir.join("bad.tsv");
        std::fs::write(&bad, "go.example.org\t{site}\n").unwrap();
        let err = load(Some(&bad)).unwrap_err().to_string();
        assert!(err.contains("bad.tsv line 1:"), "{err}");
        assert!(load(Some(&dir.join("missing.tsv"))).is_err());
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
