//! E-mail addresses: `email:<local>@<domain>`.
//!
//! The whole address is lower-cased (providers treat local parts case-insensitively in practice,
//! and victims copy addresses in any case) and the domain is converted to ASCII (IDNA). Provider
//! specific folding (Gmail dots, `+tags`) is deliberately not applied: it is not universal and a
//! wrong merge links unrelated victims. `mailto:` links and defanged `[at]`/`[.]` are accepted.

use crate::domain;
use crate::rejection::{Rejection, RejectionCode};
use crate::text::strip_prefix_ci;
use crate::types::{Facts, Identifier, Kind};

/// The longest local part (RFC 5321).
const MAX_LOCAL: usize = 64;

/// Whether a value is shaped like an e-mail address (for hint-less detection).
pub(crate) fn looks_like(s: &str) -> bool {
    let s = strip_prefix_ci(s, "mailto:").unwrap_or(s);
    match s.rfind('@') {
        // A `/` before the `@` is a path: `https://www.tiktok.com/@name` is a link.
        Some(at) => at > 0 && at + 1 < s.len() && !s.contains(char::is_whitespace) && !s[..at].contains('/'),
        None => s.contains("[at]") || s.contains("(at)") || s.contains("[@]"),
    }
}

fn local_char_ok(c: char) -> bool {
    c.is_ascii_alphanumeric() || "!#$%&'*+/=?^_`{|}~-.".contains(c) || (!c.is_ascii() && c.is_alphanumeric())
}

/// Normalises an e-mail address.
pub(crate) fn parse(s: &str) -> Result<Identifier, Rejection> {
    let s = strip_prefix_ci(s, "mailto:").unwrap_or(s);
    // A mailto: link may carry `?subject=…`.
    let s = s.split('?').next().unwrap_or_default();
    let refanged = domain::refang(s);
    let s = refanged.trim();
    let Some((local, host)) = s.rsplit_once('@') else {
        return Err(format_rejection("An e-mail address has an @ between the name and the domain."));
    };
    let local = local.strip_prefix('<').unwrap_or(local);
    let host = host.strip_suffix('>').unwrap_or(host);
    // RFC 5322 allows `/` in a local part, but no provider hands out such addresses, while every
    // link with an `@` in its path (`tiktok.com/@name`) has one before the `@`.
    if local.contains('/') {
        return Err(format_rejection("This is a web address, not an e-mail address."));
    }
    if local.is_empty() || local.chars().count() > MAX_LOCAL {
        return Err(format_rejection("The part before the @ is missing or too long."));
    }
    if !local.chars().all(local_char_ok) || local.starts_with('.') || local.ends_with('.') || local.contains("..") {
        return Err(format_rejection("The part before the @ has characters an e-mail address cannot have."));
    }
    let host = domain::canonical_host(host).map_err(|e| {
        if e.code == RejectionCode::NotADomain {
            format_rejection("An e-mail address ends in a domain name, not an IP address or local name.")
        } else {
            format_rejection("The part after the @ is not a valid domain name.")
        }
    })?;
    // The domain must end in a real public suffix, but the key keeps the full host:
    // `a@mail.example.com` and `a@example.com` are different mailboxes.
    domain::registrable(&host)
        .map_err(|_| format_rejection("The part after the @ does not end in a known top-level domain."))?;
    let local = if local.is_ascii() { local.to_ascii_lowercase() } else { local.to_lowercase() };
    let value = format!("{local}@{host}");
    Ok(Identifier::new(Kind::Email, &value, value.clone(), Facts::default()))
}

fn format_rejection(message: &str) -> Rejection {
    Rejection::new(RejectionCode::EmailFormat, message)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn forms_of_one_address() {
        for raw in [
            "support@trade-fx.co.uk",
            "Support@Trade-FX.co.uk",
            "mailto:support@trade-fx.co.uk",
            "MAILTO:Support@trade-fx.co.uk?subject=Hello",
            "support[at]trade-fx[.]co[.]uk",
            "<support@trade-fx.co.uk>",
            "support@trade-fx.co.uk.",
            "support [at] trade-fx [dot] co [dot] uk",
            "support [@] trade-fx.co.uk",
        ] {
            let id = parse(raw).unwrap_or_else(|e| panic!("{raw}: {e}"));
            assert_eq!(id.key, "email:support@trade-fx.co.uk", "{raw}");
        }
    }

    #[test]
    fn idn_domain_and_unicode_local_part() {
        assert_eq!(parse("info@bücher.de").unwrap().key, "email:info@xn--bcher-kva.de");
        assert_eq!(parse("Ärger@example.com").unwrap().key, "email:ärger@example.com");
    }

    #[test]
    fn plus_tags_and_dots_are_kept() {
        assert_eq!(parse("j.doe+scam@gmail.com").unwrap().key, "email:j.doe+scam@gmail.com");
    }

    #[test]
    fn rejections() {
        for raw in [
            "support",
            "@example.com",
            "support@",
            "sup port@example.com",
            ".support@example.com",
            "sup..port@example.com",
            "support@localhost",
            "support@127.0.0.1",
            "support@example",
            "support@example.notatld",
            "a@b@",
            "https://www.tiktok.com/@fxguru.com",
            "www.example.com/@someone.com",
        ] {
            assert_eq!(parse(raw).unwrap_err().code, RejectionCode::EmailFormat, "{raw}");
        }
        let long_local = format!("{}@example.com", "a".repeat(65));
        assert_eq!(parse(&long_local).unwrap_err().code, RejectionCode::EmailFormat);
    }
}
