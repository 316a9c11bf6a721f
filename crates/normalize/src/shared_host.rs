//! Shared hosts: link shorteners, link-in-bio services and hosting platforms on which one host
//! carries the short links, pages and sites of many unrelated people, told apart by the path.
//!
//! Keyed by their domain (`domain:bit.ly`, `domain:google.com`), every such link would link
//! unrelated scams (or, for a safelisted domain, never link at all). A link on a shared host is
//! keyed instead by the host and the path segments that name the site: `url:bit.ly/3xyzabc`,
//! `url:sites.google.com/view/cryptogains-pro`. Each entry says whether the service tells upper
//! from lower case in that segment, so the same link written differently keys the same and
//! different links on one shortener never do.
//!
//! The list ships compiled in (`data/shared_hosts.tsv`) and an operator may add entries of the
//! same form; this crate only parses the text (it does no I/O). Hosts whose tenants get their
//! own sub-domain need no entry: the public suffix list's private section keys them apart.

use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};

use crate::domain::{self, Url};
use crate::rejection::{Rejection, RejectionCode};
use crate::types::{Facts, Identifier, Kind};

/// The shared-hosts list shipped with scamtrail.
pub const SHIPPED_SHARED_HOSTS: &str = include_str!("../data/shared_hosts.tsv");

/// The longest site segment kept in a key; a longer one is not a site name but pasted noise.
const MAX_SITE: usize = 256;

/// Whether a service tells upper from lower case in the segment naming a site.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum SiteCase {
    /// Case-sensitive: `bit.ly/AbC` and `bit.ly/abc` are different links.
    Exact,
    /// Not case-sensitive: `linktr.ee/Name` is `linktr.ee/name`.
    Lower,
}

/// One way a shared host's paths name a site.
#[derive(Debug, Clone, PartialEq, Eq)]
struct PathRule {
    /// Literal segments before the site's (lower-case; matched in any case).
    literals: Vec<String>,
    /// Literal characters that start the site's segment (`@` for `medium.com/@name`), lower-case.
    site_prefix: String,
    /// The case rule of the site's segment.
    case: SiteCase,
}

/// FNV-1a: every link a victim sends is looked up here, and the host names are short, so a
/// hash of a few multiplications beats the standard SipHash (kept for keys an attacker chooses
/// to collide; the keys here are the operator's list, not input). Written out: ten lines do not
/// earn a dependency.
#[derive(Default)]
struct Fnv(u64);

impl Hasher for Fnv {
    fn finish(&self) -> u64 {
        self.0
    }

    fn write(&mut self, bytes: &[u8]) {
        let mut hash = if self.0 == 0 { 0xcbf2_9ce4_8422_2325 } else { self.0 };
        for b in bytes {
            hash = (hash ^ u64::from(*b)).wrapping_mul(0x0000_0100_0000_01b3);
        }
        self.0 = hash;
    }
}

/// Host names to their path rules.
type HostMap = HashMap<String, Vec<PathRule>, BuildHasherDefault<Fnv>>;

/// A list of shared hosts and how their paths name sites.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct SharedHosts {
    /// Rules by host (without `www.`), the most specific (longest literal path) first.
    exact: HostMap,
    /// Rules of `*.parent` entries, by the parent host.
    any_sub_domain: HostMap,
}

/// A line of a shared-hosts list that cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("line {line}: {message}")]
pub struct SharedHostsError {
    /// The 1-based line number.
    pub line: usize,
    /// What is wrong.
    pub message: String,
}

impl SharedHosts {
    /// The list shipped with scamtrail.
    pub fn shipped() -> SharedHosts {
        // The shipped text is a constant a unit test parses whole; an empty list is the
        // fallback that cannot happen, not a panic.
        SharedHosts::parse(SHIPPED_SHARED_HOSTS).unwrap_or_default()
    }

    /// Reads a list: tab-separated host, path, case and a note; `#` comments and blank lines
    /// skipped. A line that does not read is an error naming it.
    pub fn parse(text: &str) -> Result<SharedHosts, SharedHostsError> {
        let mut hosts = SharedHosts::default();
        for (index, line) in text.lines().enumerate() {
            let error = |message: String| SharedHostsError { line: index + 1, message };
            let line = line.trim_end_matches('\r');
            if line.trim().is_empty() || line.trim_start().starts_with('#') {
                continue;
            }
            let mut columns = line.split('\t');
            let (Some(host), Some(path), Some(case), Some(note), None) =
                (columns.next(), columns.next(), columns.next(), columns.next(), columns.next())
            else {
                return Err(error("expected four tab-separated columns: host, path, case, note".into()));
            };
            if note.trim().is_empty() {
                return Err(error("the note is empty".into()));
            }
            let case = match case.trim() {
                "exact" => SiteCase::Exact,
                "lower" => SiteCase::Lower,
                other => return Err(error(format!("case {other:?} is neither exact nor lower"))),
            };
            let rule = path_rule(path.trim(), case).map_err(error)?;
            let host = host.trim();
            let (wildcard, name) = match host.strip_prefix("*.") {
                Some(parent) => (true, parent),
                None => (false, host.strip_prefix("www.").unwrap_or(host)),
            };
            let canonical = domain::canonical_host(name)
                .map_err(|e| error(format!("host {host:?} is not a host name: {}", e.message)))?;
            let map = if wildcard { &mut hosts.any_sub_domain } else { &mut hosts.exact };
            map.entry(canonical.into_owned()).or_default().push(rule);
        }
        for rules in hosts.exact.values_mut().chain(hosts.any_sub_domain.values_mut()) {
            rules.sort_by_key(|r| std::cmp::Reverse(r.literals.len()));
        }
        Ok(hosts)
    }

    /// Adds another list's entries (an operator's file beside the shipped list).
    pub fn extend(&mut self, other: SharedHosts) {
        for (map, more) in [(&mut self.exact, other.exact), (&mut self.any_sub_domain, other.any_sub_domain)] {
            for (host, rules) in more {
                let entry = map.entry(host).or_default();
                entry.extend(rules);
                entry.sort_by_key(|r| std::cmp::Reverse(r.literals.len()));
            }
        }
    }

    /// How many path rules the list holds.
    pub fn len(&self) -> usize {
        self.exact.values().chain(self.any_sub_domain.values()).map(Vec::len).sum()
    }

    /// Whether the list is empty.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The host as keyed and its rules, for a lower-case host; `None` unless it is shared.
    fn rules_for<'h>(&self, host: &'h str) -> Option<(&'h str, &[PathRule])> {
        let bare = host.strip_prefix("www.").unwrap_or(host);
        if let Some(rules) = self.exact.get(bare) {
            return Some((bare, rules));
        }
        if self.any_sub_domain.is_empty() {
            return None;
        }
        let (sub, parent) = host.split_once('.')?;
        let rules = self.any_sub_domain.get(parent).filter(|_| !sub.is_empty() && sub != "www")?;
        Some((host, rules))
    }

    /// The key of a link on a shared host (`url:<host>/<path naming the site>`), a rejection
    /// when a shortener or link page is named without a site, or `None` when the host is not
    /// shared or the link is to a page of the host's own.
    pub(crate) fn key(&self, host: &str, url: &Url<'_>, display: &str) -> Option<Result<Identifier, Rejection>> {
        let (keyed_host, rules) = self.rules_for(host)?;
        let segments: Vec<&str> = url.path.split('/').filter(|s| !s.is_empty()).collect();
        for rule in rules {
            let Some(site) = segments.get(rule.literals.len()) else { continue };
            let literals_match =
                rule.literals.iter().zip(&segments).all(|(literal, segment)| literal.eq_ignore_ascii_case(segment));
            let Some(site) = crate::text::strip_prefix_ci(site, &rule.site_prefix) else { continue };
            if !literals_match || !site_ok(site) {
                continue;
            }
            let mut value = String::with_capacity(keyed_host.len() + url.path.len() + 2);
            value.push_str(keyed_host);
            for literal in &rule.literals {
                value.push('/');
                value.push_str(literal);
            }
            value.push('/');
            value.push_str(&rule.site_prefix);
            match rule.case {
                SiteCase::Exact => value.push_str(site),
                SiteCase::Lower => value.push_str(&site.to_lowercase()),
            }
            return Some(Ok(Identifier::new(Kind::Url, &value, display.to_owned(), Facts::default())));
        }
        // A host that also serves pages of its own (`youtube.com/watch?v=…`,
        // `sites.google.com` alone) keys as its domain, as any site does; one whose every path
        // names a site (a shortener, a link page) names nothing without one.
        if !rules.iter().any(|r| r.literals.is_empty() && r.site_prefix.is_empty()) {
            return None;
        }
        Some(Err(Rejection::new(
            RejectionCode::LinkIncomplete,
            "This address is on a shared service (a link shortener, a link page or a site host) and does not name one site there; give the whole link as it was sent.",
        )))
    }
}

/// Reads a path column: literal segments, then a segment ending in `{site}`.
fn path_rule(path: &str, case: SiteCase) -> Result<PathRule, String> {
    let mut segments: Vec<&str> = path.split('/').collect();
    let last = segments.pop().unwrap_or_default();
    let Some(site_prefix) = last.strip_suffix("{site}") else {
        return Err(format!("path {path:?} does not end in {{site}}"));
    };
    let clean = |s: &str| !s.is_empty() && !s.contains(['{', '}', '?', '#']) && !s.contains(char::is_whitespace);
    if segments.iter().any(|s| !clean(s)) || !(site_prefix.is_empty() || clean(site_prefix)) {
        return Err(format!("path {path:?} has an empty segment or a character a path segment cannot have"));
    }
    Ok(PathRule {
        literals: segments.iter().map(|s| s.to_ascii_lowercase()).collect(),
        site_prefix: site_prefix.to_ascii_lowercase(),
        case,
    })
}

/// Whether a path segment can name a site: printable, not too long.
fn site_ok(site: &str) -> bool {
    !site.is_empty() && site.len() <= MAX_SITE && !site.chars().any(|c| c.is_whitespace() || c.is_control())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::split_url;

    fn key(hosts: &SharedHosts, link: &str) -> Option<Result<String, RejectionCode>> {
        let url = split_url(link)?;
        let host = url.host.to_ascii_lowercase();
        hosts.key(&host, &url, link).map(|r| r.map(|id| id.key).map_err(|e| e.code))
    }

    #[test]
    fn the_shipped_list_reads_whole() {
        let hosts = SharedHosts::parse(SHIPPED_SHARED_HOSTS).unwrap();
        let lines = SHIPPED_SHARED_HOSTS.lines().filter(|l| !l.trim().is_empty() && !l.starts_with('#')).count();
        assert_eq!(hosts.len(), lines);
        assert_eq!(SharedHosts::shipped(), hosts);
    }

    #[test]
    fn sites_are_keyed_by_host_and_the_segments_naming_them() {
        let hosts = SharedHosts::shipped();
        for (link, expected) in [
            ("https://bit.ly/3xyzAbc", "url:bit.ly/3xyzAbc"),
            ("http://www.bit.ly/3xyzAbc/?utm_source=x#top", "url:bit.ly/3xyzAbc"),
            ("https://linktr.ee/CryptoGains", "url:linktr.ee/cryptogains"),
            ("https://sites.google.com/view/CryptoGains-Pro/home", "url:sites.google.com/view/cryptogains-pro"),
            ("https://docs.google.com/forms/d/e/1FAIpQLSd_AbC/viewform", "url:docs.google.com/forms/d/e/1FAIpQLSd_AbC"),
            ("https://docs.google.com/Forms/d/1AbC/edit", "url:docs.google.com/forms/d/1AbC"),
            ("https://forms.gle/AbC123", "url:forms.gle/AbC123"),
            ("https://jane.wixsite.com/FxClub", "url:jane.wixsite.com/fxclub"),
            ("https://medium.com/@FxGuru/why-i-quit", "url:medium.com/@fxguru"),
        ] {
            assert_eq!(key(&hosts, link), Some(Ok(expected.to_owned())), "{link}");
        }
    }

    #[test]
    fn a_shortener_without_a_site_is_incomplete_and_other_pages_are_not_shared() {
        let hosts = SharedHosts::shipped();
        for link in ["https://bit.ly/", "linktr.ee", "https://forms.gle"] {
            assert_eq!(key(&hosts, link), Some(Err(RejectionCode::LinkIncomplete)), "{link}");
        }
        // A page of the host's own keys as its domain.
        for link in
            ["https://sites.google.com/a/b", "https://medium.com/tag", "youtube.com", "https://youtube.com/watch?v=x"]
        {
            assert_eq!(key(&hosts, link), None, "{link}");
        }
        assert_eq!(key(&hosts, "https://trade-fx.co.uk/x"), None);
        assert_eq!(key(&hosts, "https://www.wixsite.com/x"), None);
    }

    #[test]
    fn an_operator_list_extends_and_bad_lines_are_named() {
        let mut hosts = SharedHosts::shipped();
        let before = hosts.len();
        hosts.extend(SharedHosts::parse("# mine\nshort.example\t{site}\texact\tour shortener\n").unwrap());
        assert_eq!(hosts.len(), before + 1);
        assert_eq!(key(&hosts, "short.example/Ab"), Some(Ok("url:short.example/Ab".to_owned())));
        for (text, needle) in [
            ("a.example\t{site}\texact\n", "four"),
            ("a.example\t{site}\tupper\tn\n", "neither"),
            ("a.example\tx/y\texact\tn\n", "{site}"),
            ("a.example\tx//{site}\texact\tn\n", "empty segment"),
            ("not a host\t{site}\texact\tn\n", "not a host name"),
            ("a.example\t{site}\texact\t \n", "note"),
        ] {
            let err = SharedHosts::parse(&format!("# c\n{text}")).unwrap_err();
            assert_eq!(err.line, 2, "{text}");
            assert!(err.message.contains(needle), "{text}: {err}");
        }
    }
}
