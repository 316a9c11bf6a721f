//! Web sites and hosts: `domain:<registrable domain>`.
//!
//! A scam site's many sub-domains (`login.trade-fx.co.uk`, `www.trade-fx.co.uk`) are one
//! operator, so the key is the registrable domain per the public suffix list, private suffixes
//! included (`a.blogspot.com` and `b.blogspot.com` are different people). Threat-intel style
//! defanged forms (`hxxps://`, `[.]`, `(.)`, `[dot]`) are refanged first. IP literals and
//! `localhost` are `NOT_A_DOMAIN`.
//!
//! Links to messaging and social networks are not keyed as domains: [`crate::social`] and
//! [`crate::whatsapp`] take those, via [`parse_url`].

use std::borrow::Cow;

use crate::rejection::{Rejection, RejectionCode};
use crate::text::{starts_with_ci, strip_prefix_ci};
use crate::types::{Facts, Identifier, Kind};

/// The longest host name (RFC 1035).
const MAX_HOST: usize = 253;

/// Replaces defanging markers with the characters they stand for.
pub(crate) fn refang(s: &str) -> Cow<'_, str> {
    let lower_start = s.as_bytes().get(..4).map(|b| b.to_ascii_lowercase());
    let defanged_scheme = lower_start.as_deref().is_some_and(|b| b == b"hxxp" || b == b"hxtp" || b == b"fxp:");
    if !defanged_scheme && !s.bytes().any(|b| matches!(b, b'[' | b'(' | b'{')) {
        return Cow::Borrowed(s);
    }
    let mut out = String::with_capacity(s.len());
    let mut rest = s;
    if let Some(tail) = strip_prefix_ci(rest, "hxxp").or_else(|| strip_prefix_ci(rest, "hxtp")) {
        out.push_str("http");
        rest = tail;
    }
    const MARKERS: [(&str, &str); 12] = [
        ("[.]", "."),
        ("(.)", "."),
        ("{.}", "."),
        ("[dot]", "."),
        ("(dot)", "."),
        ("{dot}", "."),
        ("[:]", ":"),
        ("[://]", "://"),
        ("[/]", "/"),
        ("[@]", "@"),
        ("[at]", "@"),
        ("(at)", "@"),
    ];
    'outer: while !rest.is_empty() {
        if rest.starts_with(['[', '(', '{']) {
            for (marker, plain) in MARKERS {
                if let Some(tail) = strip_prefix_ci(rest, marker) {
                    // `john.doe [at] gmail [dot] com`: the spaces around a marker were typed
                    // to set it apart and are no part of the address.
                    out.truncate(out.trim_end().len());
                    out.push_str(plain);
                    rest = tail.trim_start();
                    continue 'outer;
                }
            }
        }
        let mut chars = rest.chars();
        if let Some(c) = chars.next() {
            out.push(c);
        }
        rest = chars.as_str();
    }
    Cow::Owned(out)
}

/// The parts of a URL (or bare host with a path) that routing needs.
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct Url<'a> {
    /// The host, still as written (case, trailing dot, IDN).
    pub host: &'a str,
    /// The path without the leading `/`, up to `?` or `#`.
    pub path: &'a str,
    /// The query string without `?`, up to `#`.
    pub query: &'a str,
    /// Whether a scheme (`http://`, …) was present.
    pub had_scheme: bool,
}

/// Splits a URL (scheme optional) into host, path and query; `None` if there is no host.
pub(crate) fn split_url(s: &str) -> Option<Url<'_>> {
    let (had_scheme, rest) = match s.find("://") {
        Some(at) if at > 0 && at <= 10 && s[..at].bytes().all(|b| b.is_ascii_alphanumeric() || b == b'+') => {
            (true, &s[at + 3..])
        }
        _ => match strip_prefix_ci(s, "//") {
            Some(rest) => (true, rest),
            None => (false, s),
        },
    };
    let authority_end = rest.find(['/', '?', '#', '\\']).unwrap_or(rest.len());
    let authority = &rest[..authority_end];
    let after = &rest[authority_end..];
    // Drop user-info (`user:pass@`), then a port.
    let host_port = authority.rsplit('@').next().unwrap_or(authority);
    let host = if host_port.starts_with('[') {
        // IPv6 literal: keep the brackets so it is recognised as an address.
        match host_port.find(']') {
            Some(end) => &host_port[..=end],
            None => host_port,
        }
    } else {
        match host_port.rsplit_once(':') {
            Some((h, port)) if port.bytes().all(|b| b.is_ascii_digit()) => h,
            _ => host_port,
        }
    };
    if host.is_empty() {
        return None;
    }
    let after = after.trim_start_matches(['/', '\\']);
    let (path_query, _fragment) = after.split_once('#').unwrap_or((after, ""));
    let (path, query) = path_query.split_once('?').unwrap_or((path_query, ""));
    Some(Url { host, path, query, had_scheme })
}

/// Whether a value looks like a URL or a host name (for hint-less detection).
pub(crate) fn looks_like(s: &str) -> bool {
    if s.contains(char::is_whitespace) {
        return false;
    }
    if starts_with_ci(s, "http") || starts_with_ci(s, "hxxp") || starts_with_ci(s, "www") || s.contains("://") {
        return true;
    }
    let host_end = s.find(['/', '?', '#']).unwrap_or(s.len());
    let host = &s[..host_end];
    host.contains('.') || host.contains("[.]") || host.contains("(.)") || host.contains("[dot]")
}

/// A host name made canonical: lower-case ASCII (IDNs in punycode), no trailing dot.
pub(crate) fn canonical_host(host: &str) -> Result<Cow<'_, str>, Rejection> {
    let host = host.strip_suffix('.').unwrap_or(host);
    if host.is_empty() {
        return Err(invalid("There is no site name in this address."));
    }
    if host.starts_with('[') || is_ipv4(host) {
        return Err(not_a_domain());
    }
    let plain = host.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'.');
    let ascii: Cow<'_, str> = if plain && !host.contains("xn--") {
        Cow::Borrowed(host)
    } else if host.is_ascii() && !host.contains("xn--") && !host.contains("XN--") {
        Cow::Owned(host.to_ascii_lowercase())
    } else {
        match idna::domain_to_ascii(host) {
            Ok(ascii) => Cow::Owned(ascii),
            Err(_) => {
                return Err(invalid("This web address has characters a domain name cannot have."));
            }
        }
    };
    validate_labels(&ascii)?;
    if ascii == "localhost" || ascii.ends_with(".localhost") {
        return Err(not_a_domain());
    }
    if is_ipv4(&ascii) {
        return Err(not_a_domain());
    }
    Ok(ascii)
}

/// Dotted-quad and other all-numeric hosts are addresses, not names.
fn is_ipv4(host: &str) -> bool {
    !host.is_empty() && host.bytes().all(|b| b.is_ascii_digit() || b == b'.')
        || host.split('.').all(|label| {
            !label.is_empty()
                && (label.bytes().all(|b| b.is_ascii_digit())
                    || strip_prefix_ci(label, "0x").is_some_and(|h| h.bytes().all(|b| b.is_ascii_hexdigit())))
        })
}

fn validate_labels(host: &str) -> Result<(), Rejection> {
    if host.len() > MAX_HOST {
        return Err(invalid("This site name is longer than any domain can be."));
    }
    for label in host.split('.') {
        let ok = !label.is_empty()
            && label.len() <= 63
            && !label.starts_with('-')
            && !label.ends_with('-')
            && label.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-');
        if !ok {
            return Err(invalid("This is not a valid web address or domain name."));
        }
    }
    Ok(())
}

/// The registrable domain of a canonical host, per the public suffix list.
pub(crate) fn registrable(host: &str) -> Result<&str, Rejection> {
    let Some(domain) = psl::domain(host.as_bytes()) else {
        return Err(invalid("This is a shared ending (like co.uk or blogspot.com), not a site of its own."));
    };
    if !domain.suffix().is_known() {
        return Err(invalid("This address does not end in a known top-level domain (like .com or .co.uk)."));
    }
    std::str::from_utf8(domain.as_bytes()).map_err(|_| invalid("This is not a valid domain name."))
}

/// Normalises a host that is already known to be a plain web site (not a social network).
pub(crate) fn from_host(host: &str, display: String) -> Result<Identifier, Rejection> {
    let canonical = canonical_host(host)?;
    let domain = registrable(&canonical)?;
    Ok(Identifier::new(Kind::Domain, domain, display, Facts::default()))
}

/// Normalises a URL or host, keeping the whole (refanged) URL as the display form.
pub(crate) fn parse(s: &str) -> Result<Identifier, Rejection> {
    let refanged = refang(s);
    let Some(url) = split_url(&refanged) else {
        return Err(invalid("This is not a valid web address or domain name."));
    };
    if url.host.contains(char::is_whitespace) {
        return Err(invalid("A web address has no spaces in it."));
    }
    from_host(url.host, refanged.to_string())
}

fn invalid(message: &str) -> Rejection {
    Rejection::new(RejectionCode::DomainInvalid, message)
}

fn not_a_domain() -> Rejection {
    Rejection::new(RejectionCode::NotADomain, "This is an IP address or a local name, not a web site's domain name.")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(s: &str) -> String {
        parse(s).unwrap_or_else(|e| panic!("{s}: {e}")).key
    }

    #[test]
    fn urls_hosts_and_sub_domains_key_to_the_registrable_domain() {
        for raw in [
            "trade-fx.co.uk",
            "https://trade-fx.co.uk",
            "https://login.trade-fx.co.uk/account?id=1#x",
            "http://user:pw@www.Trade-FX.co.uk:8443/",
            "WWW.TRADE-FX.CO.UK.",
            "//trade-fx.co.uk/path",
        ] {
            assert_eq!(key(raw), "domain:trade-fx.co.uk", "{raw}");
        }
        assert_eq!(key("example.com"), "domain:example.com");
    }

    #[test]
    fn private_suffixes_keep_tenants_apart() {
        assert_eq!(key("a.blogspot.com"), "domain:a.blogspot.com");
        assert_eq!(key("https://b.blogspot.com/post"), "domain:b.blogspot.com");
        assert_eq!(key("scam.github.io"), "domain:scam.github.io");
        assert_eq!(parse("blogspot.com").unwrap_err().code, RejectionCode::DomainInvalid);
        assert_eq!(parse("co.uk").unwrap_err().code, RejectionCode::DomainInvalid);
    }

    #[test]
    fn defanged_forms_are_refanged_and_shown_refanged() {
        for raw in [
            "hxxps://trade-fx[.]co[.]uk/login",
            "hxxp://trade-fx(.)co(.)uk",
            "trade-fx[dot]co[dot]uk",
            "hxxps[:]//trade-fx[.]co.uk",
            "HXXPS://TRADE-FX[.]CO[.]UK",
        ] {
            assert_eq!(key(raw), "domain:trade-fx.co.uk", "{raw}");
        }
        assert_eq!(parse("hxxps://trade-fx[.]co[.]uk/login").unwrap().display, "https://trade-fx.co.uk/login");
    }

    #[test]
    fn idn_becomes_punycode() {
        assert_eq!(key("https://bücher.de/"), "domain:xn--bcher-kva.de");
        assert_eq!(key("xn--bcher-kva.de"), "domain:xn--bcher-kva.de");
        assert_eq!(key("ＢÜＣＨＥＲ.de"), "domain:xn--bcher-kva.de");
        assert_eq!(key("пример.рф"), "domain:xn--e1afmkfd.xn--p1ai");
    }

    #[test]
    fn addresses_and_local_names_are_not_domains() {
        for raw in [
            "http://192.168.0.1/login",
            "10.0.0.1",
            "http://[::1]:8080/",
            "localhost",
            "http://localhost:3000",
            "http://0x7f.0.0.1/",
            "api.localhost",
        ] {
            assert_eq!(parse(raw).unwrap_err().code, RejectionCode::NotADomain, "{raw}");
        }
    }

    #[test]
    fn malformed_names_are_invalid() {
        for raw in [
            "exa mple.com",
            "-bad.com",
            "bad-.com",
            "a..com",
            "example.notatld",
            "http://",
            "under_score.com",
            "https://",
        ] {
            assert_eq!(parse(raw).unwrap_err().code, RejectionCode::DomainInvalid, "{raw}");
        }
    }

    #[test]
    fn split_url_parts() {
        let u = split_url("https://t.me/some_channel?start=1#top").unwrap();
        assert_eq!((u.host, u.path, u.query, u.had_scheme), ("t.me", "some_channel", "start=1", true));
        let u = split_url("wa.me/447911123456").unwrap();
        assert_eq!((u.host, u.path, u.had_scheme), ("wa.me", "447911123456", false));
    }
}
