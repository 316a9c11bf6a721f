//! Hint-less detection: which kind is this value?
//!
//! Every kind whose cheap shape test fits is parsed. One success wins; several successes are an
//! `AMBIGUOUS` rejection listing them (never a guess); no success returns the rejection of the
//! most specific kind that fitted, so "DE89 … (typo)" says `IBAN_CHECKSUM`, not "unrecognised".

use crate::decide::decide;
use crate::rejection::Rejection;
use crate::shared_host::SharedHosts;
use crate::social::{self, Network};
use crate::text::starts_with_ci;
use crate::types::{Country, Identifier, Kind};
use crate::{account, bic, card, crypto, domain, email, iban, link, phone, whatsapp};

/// Detects the kind of a cleaned value and normalises it.
pub(crate) fn detect(
    s: &str,
    country: Option<Country>,
    card_mac: &card::CardMac,
    shared: &SharedHosts,
) -> Result<Identifier, Rejection> {
    // Values that announce their kind.
    if starts_with_ci(s, "mailto:") {
        return email::parse(s);
    }
    if starts_with_ci(s, "tel:") || starts_with_ci(s, "callto:") || starts_with_ci(s, "sms:") {
        return phone::parse(s, country);
    }
    if starts_with_ci(s, "whatsapp://") {
        return whatsapp::parse(s, country);
    }
    if starts_with_ci(s, "tg://") {
        return link::parse_for_network(s, Network::Telegram);
    }
    if ["bitcoin:", "ethereum:", "litecoin:"].iter().any(|p| starts_with_ci(s, p)) {
        return crypto::parse_wallet(s);
    }
    if account::labelled(s).is_some() {
        return account::parse(s, country);
    }
    if let Some(handle) = s.strip_prefix('@').filter(|h| !h.contains('@')) {
        return Err(bare_handle(handle));
    }

    let mut outcomes = Vec::new();
    if iban::looks_like(s) {
        outcomes.push(iban::parse(s));
    }
    if bic::looks_like(s) {
        outcomes.push(bic::parse(s));
    }
    if card::looks_like(s) {
        outcomes.push(card::parse(s, card_mac));
    }
    if phone::looks_international(s) || (country.is_some() && phone::looks_national(s)) {
        outcomes.push(phone::parse(s, country));
    }
    if account::looks_like_uk(s) && country.is_none_or(|c| c.as_str() == "GB") {
        outcomes.push(account::parse(s, country));
    }
    outcomes.extend(crypto::wallet_outcomes(s));
    if crypto::tx::looks_like(s) {
        outcomes.push(crypto::tx::parse(s));
    }
    if email::looks_like(s) && !s.starts_with('@') {
        outcomes.push(email::parse(s));
    } else if looks_like_link(s) {
        outcomes.push(link::parse(s, shared));
    }
    decide(outcomes).unwrap_or_else(|| Err(Rejection::unrecognised()))
}

/// A URL, or a host with at least one letter (so `12.50` and bare IP numbers are not sites).
fn looks_like_link(s: &str) -> bool {
    if !domain::looks_like(s) {
        return false;
    }
    let has_scheme = s.contains("://") || starts_with_ci(s, "hxxp");
    has_scheme || s.split(['/', '?', '#']).next().unwrap_or_default().bytes().any(|b| b.is_ascii_alphabetic())
}

/// A bare `@handle` names no network: ambiguous between those whose rules it fits.
fn bare_handle(handle: &str) -> Rejection {
    let candidates: Vec<Kind> =
        Network::ALL.into_iter().filter(|n| social::handle_fits(*n, handle)).map(Network::kind).collect();
    if candidates.is_empty() {
        return Rejection::new(
            crate::rejection::RejectionCode::HandleFormat,
            "This is not a valid user name on Telegram, Instagram, TikTok, Facebook or X.",
        );
    }
    let mut rejection = Rejection::ambiguous(candidates);
    rejection.message =
        format!("Which network is @{handle} on? {}", "Choose Telegram, Instagram, TikTok, Facebook or X.");
    rejection
}
