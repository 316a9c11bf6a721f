//! WhatsApp links: a WhatsApp account *is* a phone number, so `wa.me/<digits>` and
//! `api.whatsapp.com/send?phone=<digits>` key as `tel:<E.164>` and link with calls and SMS from
//! the same number. Group invites and business short links name no number and are refused.

use crate::domain::Url;
use crate::phone;
use crate::rejection::{Rejection, RejectionCode};
use crate::text::strip_prefix_ci;
use crate::types::{Country, Identifier};

/// The messaging-app fact of a number given as a WhatsApp account.
const APP: &str = "whatsapp";

/// Whether a (lower-case) host is one of WhatsApp's.
pub(crate) fn is_host(host: &str) -> bool {
    matches!(
        host.strip_prefix("www.").unwrap_or(host),
        "wa.me" | "api.whatsapp.com" | "web.whatsapp.com" | "whatsapp.com" | "chat.whatsapp.com" | "wa.link"
    )
}

/// Normalises a WhatsApp link to the phone number it opens a chat with.
pub(crate) fn from_url(url: &Url<'_>, display: &str) -> Result<Identifier, Rejection> {
    let host = url.host.to_ascii_lowercase();
    let host = host.strip_prefix("www.").unwrap_or(&host);
    if host == "chat.whatsapp.com" || host == "wa.link" || url.path.starts_with("message/") {
        return Err(Rejection::new(
            RejectionCode::Unsupported,
            "This WhatsApp link is a group invite or business short link, not a phone number; enter the number instead.",
        ));
    }
    let from_query = url.query.split('&').find_map(|pair| {
        let (k, v) = pair.split_once('=')?;
        (k == "phone").then_some(v)
    });
    let digits = match from_query {
        Some(phone) => phone,
        None if host == "wa.me" => url.path.split('/').next().unwrap_or_default(),
        None => "",
    };
    // Links carry the number without `+`; `%2B` is an encoded `+`.
    let digits = strip_prefix_ci(digits, "%2B").unwrap_or(digits);
    let digits = digits.trim_start_matches('+');
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return Err(Rejection::new(RejectionCode::PhoneInvalid, "This WhatsApp link does not contain a phone number."));
    }
    let mut id = phone::parse(&format!("+{digits}"), None)?;
    id.display = display.to_owned();
    id.facts.messaging_app = Some(APP);
    Ok(id)
}

/// Normalises what a victim entered as "WhatsApp": a link, a `whatsapp://` URI or a number.
pub(crate) fn parse(s: &str, country: Option<Country>) -> Result<Identifier, Rejection> {
    if let Some(rest) = strip_prefix_ci(s, "whatsapp://") {
        let url = Url { host: "wa.me", path: "", query: rest.split_once('?').map_or("", |(_, q)| q), had_scheme: true };
        return from_url(&url, s);
    }
    if let Some(url) = crate::domain::split_url(s).filter(|u| is_host(&u.host.to_ascii_lowercase())) {
        return from_url(&url, s);
    }
    phone::parse(s, country).map(|mut id| {
        id.facts.messaging_app = Some(APP);
        id
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn links_become_phone_keys() {
        for raw in [
            "https://wa.me/447400123456",
            "wa.me/447400123456?text=hi",
            "https://api.whatsapp.com/send?phone=447400123456&text=x",
            "https://api.whatsapp.com/send/?phone=%2B447400123456",
            "whatsapp://send?phone=447400123456",
            "+44 7400 123456",
        ] {
            let id = parse(raw, None).unwrap_or_else(|e| panic!("{raw}: {e}"));
            assert_eq!(id.key, "tel:+447400123456", "{raw}");
            assert_eq!(id.facts.messaging_app, Some("whatsapp"), "{raw}");
        }
        assert_eq!(parse("07400 123456", Country::parse("GB")).unwrap().key, "tel:+447400123456");
    }

    #[test]
    fn invites_and_empty_links_are_refused() {
        assert_eq!(parse("https://chat.whatsapp.com/AbCdEf123", None).unwrap_err().code, RejectionCode::Unsupported);
        assert_eq!(parse("https://wa.me/message/ABCDEF", None).unwrap_err().code, RejectionCode::Unsupported);
        assert_eq!(parse("https://wa.me/", None).unwrap_err().code, RejectionCode::PhoneInvalid);
        assert_eq!(parse("https://wa.me/4474001234", None).unwrap_err().code, RejectionCode::PhoneInvalid);
    }
}
