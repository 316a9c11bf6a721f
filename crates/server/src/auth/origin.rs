//! Keys bound to browser origins. A report page is public, so the intake key it carries is
//! public too; binding the key to the page's origins (`key create --origin`) stops other web
//! sites from using it in their visitors' browsers, which send the calling page's `Origin` and
//! cannot forge it. A bound key is for browsers only: a call with it and no `Origin` is refused
//! too. Scripts outside a browser can send any `Origin`, so the binding does not stop them: the
//! per-key and per-address intake limits do (README, "Web page").

use http::HeaderValue;
use tonic::Status;

/// Characters of a refused `Origin` repeated in a refusal at most.
const ORIGIN_QUOTED_MAX_CHARS: usize = 120;

/// The canonical form of a browser origin as a browser sends it: `scheme://host[:port]`, the
/// scheme and host in lower case, the default port of the scheme dropped, nothing after the host.
pub fn canonical(text: &str) -> Result<String, String> {
    let text = text.trim().trim_end_matches('/');
    let uri: http::Uri =
        text.parse().map_err(|_| format!("{text:?} is not an origin such as https://report.example.org"))?;
    let scheme = uri.scheme_str().map(str::to_ascii_lowercase);
    let Some(scheme @ ("https" | "http")) = scheme.as_deref() else {
        return Err(format!("{text:?}: an origin starts with https:// (or http://)"));
    };
    let authority = uri.authority().ok_or_else(|| format!("{text:?}: no host"))?;
    if authority.as_str().contains('@') || uri.path_and_query().is_some_and(|p| p.as_str() != "/") {
        return Err(format!("{text:?}: an origin is a scheme, a host and a port only, without user or path"));
    }
    let host = authority.host().to_ascii_lowercase();
    Ok(match (scheme, authority.port_u16()) {
        ("https", Some(443)) | ("http", Some(80)) | (_, None) => format!("{scheme}://{host}"),
        (_, Some(port)) => format!("{scheme}://{host}:{port}"),
    })
}

/// Whether a call sending `origin` may use a key bound to `allowed` (every call may use an
/// unbound key); the refusal names the origin.
pub fn admit(allowed: &[String], origin: Option<&HeaderValue>) -> Result<(), Status> {
    if allowed.is_empty() {
        return Ok(());
    }
    let Some(origin) = origin else {
        return Err(Status::permission_denied(
            "this key is bound to browser origins and the call sent no Origin; call from the allowed pages",
        ));
    };
    let text = String::from_utf8_lossy(origin.as_bytes());
    if canonical(&text).is_ok_and(|o| allowed.contains(&o)) {
        return Ok(());
    }
    let quoted: String = text.chars().take(ORIGIN_QUOTED_MAX_CHARS).collect();
    Err(Status::permission_denied(format!("origin {quoted:?} is not allowed to use this key")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn origins_are_compared_in_the_form_browsers_send() {
        assert_eq!(canonical("https://Report.Example.org/").unwrap(), "https://report.example.org");
        assert_eq!(canonical("https://report.example.org:443").unwrap(), "https://report.example.org");
        assert_eq!(canonical("http://127.0.0.1:8080").unwrap(), "http://127.0.0.1:8080");
        for bad in ["report.example.org", "ftp://x.example", "https://x.example/page", "https://u@x.example", ""] {
            assert!(canonical(bad).is_err(), "{bad}");
        }
        let allowed = vec!["https://report.example.org".to_owned()];
        let h = |s: &'static str| HeaderValue::from_static(s);
        assert!(admit(&allowed, Some(&h("https://report.example.org"))).is_ok());
        assert!(admit(&allowed, Some(&h("HTTPS://REPORT.EXAMPLE.ORG:443"))).is_ok());
        let refused = admit(&allowed, Some(&h("https://evil.example"))).unwrap_err();
        assert_eq!(refused.code(), tonic::Code::PermissionDenied);
        assert!(refused.message().contains("https://evil.example"), "{}", refused.message());
        assert!(admit(&allowed, None).is_err());
        assert!(admit(&allowed, Some(&h("null"))).is_err());
        assert!(admit(&[], None).is_ok());
        assert!(admit(&[], Some(&h("https://anywhere.example"))).is_ok());
    }
}
