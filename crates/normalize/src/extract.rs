//! Extraction: finds identifiers in a victim's free text (narratives, pasted chats, e-mails).
//!
//! One linear regex pass per family finds candidate spans (the `regex` crate guarantees linear
//! time, so no input is catastrophic); each candidate goes through its kind's normaliser, so
//! extraction never accepts what `normalize` would refuse. Overlaps are settled by family
//! strength (a URL beats the host inside it, an IBAN beats the digits inside it), then by
//! length; the result is deduplicated by key and ordered by position.
//!
//! Text is folded first (full-width digits, zero-width characters, typographic dashes) with an
//! offset map, so spans always point into the original text.
//!
//! Deliberate limits: a bare `@handle` is only taken when a network is named just before it;
//! a BIC only when it contains a digit or "BIC"/"SWIFT" is written just before it (eight
//! capital letters are too often a shouted word); national phone numbers only with a country.

use std::sync::LazyLock;

use regex::Regex;

use crate::card::{self, CardMac};
use crate::crypto;
use crate::shared_host::SharedHosts;
use crate::social::{self, Network};
use crate::text::Folded;
use crate::types::{Country, Extracted, Identifier};
use crate::{account, bic, email, iban, link, phone};

/// The most text one call scans; the rest is ignored (a report's narrative is far shorter).
pub const MAX_EXTRACT_BYTES: usize = 1 << 20;

/// The most identifiers one call returns.
const MAX_RESULTS: usize = 1000;

/// How far before a handle or BIC we look for a naming word.
const CONTEXT_BYTES: usize = 48;

macro_rules! regex {
    ($name:ident, $pattern:expr) => {
        static $name: LazyLock<Regex> = LazyLock::new(|| {
            // The patterns are constants checked by the tests; an invalid one is a bug caught
            // there, and `never_matches` keeps even that from panicking at run time.
            Regex::new($pattern).unwrap_or_else(|_| never_matches())
        });
    };
}

fn never_matches() -> Regex {
    Regex::new(r"[^\s\S]").unwrap_or_else(|_| never_matches())
}

/// A run that may contain defanged dots.
const HOST_CHARS: &str = r"(?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?)";
const DOT: &str = r"(?:\.|\[\.\]|\(\.\)|\{\.\}|\[dot\]|\(dot\))";

regex!(
    URL,
    r#"(?i)\b(?:https?|hxxps?|hxtps?|ftp)(?:://|\[://\]|\[:\]//)(?:[^\s<>"'\[\]{}|\\^`]|\[\.\]|\(\.\)|\[dot\]|\[/\])+"#
);
regex!(HOST, &format!(r"(?i)\b{HOST_CHARS}(?:{DOT}{HOST_CHARS})+(?:/[^\s<>\x22'|\\^`]*)?"));
regex!(EMAIL, &format!(r"(?i)[a-z0-9._%+\-]+(?:@|\[@\]|\[at\]|\(at\))(?:{HOST_CHARS}{DOT})+{HOST_CHARS}"));
regex!(IBAN, r"(?i)\b[a-z]{2}[0-9]{2}(?:[ \-]?[a-z0-9]){11,32}");
regex!(PHONE_INTL, r"(?:\+|\b00)[1-9][0-9 \-().]{5,22}[0-9]");
regex!(PHONE_NATIONAL, r"\(?\b[0-9][0-9 \-().]{5,18}[0-9]");
regex!(TEL_URI, r"(?i)\btel:\+?[0-9][0-9\-.()]*(?:;[a-z\-]+=[^\s;]+)*");
regex!(CARD, r"\b[0-9](?:[ \-]?[0-9]){11,18}\b");
regex!(HEX, r"\b(?:0[xX])?[0-9a-fA-F]{40,64}\b");
regex!(BASE58, r"\b[1-9A-HJ-NP-Za-km-z]{25,88}\b");
regex!(BECH32, r"(?i)\b(?:bc|tb|ltc)1[a-z0-9]{6,87}\b");
regex!(TON, r"(?:\b[EU]Q[A-Za-z0-9_\-+/]{46}|-?\b[0-9]:[0-9a-fA-F]{64}\b)");
regex!(HANDLE, r"(?:^|[^A-Za-z0-9_@.])@([A-Za-z0-9_.]{1,32})");
regex!(UK_ACCOUNT, r"\b[0-9]{2}-[0-9]{2}-[0-9]{2}[ ]+[0-9]{6,8}\b");
regex!(BIC, r"\b[A-Z]{6}[A-Z0-9]{2}(?:[A-Z0-9]{3})?\b");
regex!(NETWORK_WORD, r"(?i)\b(telegram|tg|instagram|insta|ig|tiktok|tik tok|facebook|fb|twitter|x)\b");
regex!(BIC_WORD, r"(?i)\b(bic|swift)\b");

/// A candidate found in the folded text.
struct Found {
    start: usize,
    end: usize,
    /// Lower is stronger when spans overlap.
    strength: u8,
    id: Identifier,
}

/// Finds identifiers in free text; see the module documentation.
pub(crate) fn extract(
    text: &str,
    country: Option<Country>,
    card_mac: &CardMac,
    shared: &SharedHosts,
) -> Vec<Extracted> {
    let mut cut = text.len().min(MAX_EXTRACT_BYTES);
    while !text.is_char_boundary(cut) {
        cut -= 1;
    }
    let folded = Folded::new(&text[..cut]);
    let t = folded.text.as_str();
    let mut found: Vec<Found> = Vec::new();
    let mut push = |start: usize, end: usize, strength: u8, id: Option<Identifier>| {
        if let Some(id) = id {
            found.push(Found { start, end, strength, id });
        }
    };

    for m in URL.find_iter(t) {
        let (s, e) = trim_trailing(t, m.start(), m.end());
        push(s, e, 0, link::parse(&t[s..e], shared).ok());
    }
    for m in EMAIL.find_iter(t) {
        push(m.start(), m.end(), 1, email::parse(m.as_str()).ok());
    }
    for m in IBAN.find_iter(t) {
        if let Some((e, id)) = iban_prefix(t, m.start(), m.end()) {
            push(m.start(), e, 2, Some(id));
        }
    }
    for m in HEX.find_iter(t) {
        let s = m.as_str();
        let id = if s.len() == 42 || s.len() == 40 || s.len() == 66 || s.len() == 64 {
            if crypto::tx::looks_like(s) {
                crypto::tx::parse(s).ok()
            } else if crypto::evm::looks_like(s) {
                crypto::evm::parse(s).ok()
            } else {
                crypto::tron::parse(s).ok()
            }
        } else {
            None
        };
        push(m.start(), m.end(), 3, id);
    }
    for m in BASE58.find_iter(t).chain(BECH32.find_iter(t)).chain(TON.find_iter(t)) {
        let s = m.as_str();
        let mut outcomes = crypto::wallet_outcomes(s);
        if crypto::tx::looks_like(s) {
            outcomes.push(crypto::tx::parse(s));
        }
        let id = match crate::decide::decide(outcomes) {
            Some(Ok(id)) => Some(id),
            _ => None,
        };
        push(m.start(), m.end(), 3, id);
    }
    for m in CARD.find_iter(t) {
        let id = card::looks_like(m.as_str()).then(|| card::parse(m.as_str(), card_mac).ok()).flatten();
        push(m.start(), m.end(), 4, id);
    }
    if country.is_none_or(|c| c.as_str() == "GB") {
        for m in UK_ACCOUNT.find_iter(t) {
            push(m.start(), m.end(), 5, account::parse(m.as_str(), Country::parse("GB")).ok());
        }
    }
    for m in BIC.find_iter(t) {
        let named = BIC_WORD.is_match(context_before(t, m.start()));
        let s = m.as_str();
        if (named || s.bytes().skip(6).any(|b| b.is_ascii_digit())) && bic::looks_like(s) {
            push(m.start(), m.end(), 6, bic::parse(s).ok());
        }
    }
    for m in TEL_URI.find_iter(t) {
        push(m.start(), m.end(), 7, phone::parse(m.as_str(), country).ok());
    }
    for m in PHONE_INTL.find_iter(t) {
        if let Some((e, id)) = phone_prefix(t, m.start(), m.end(), country) {
            push(m.start(), e, 7, Some(id));
        }
    }
    if country.is_some() {
        for m in PHONE_NATIONAL.find_iter(t) {
            if let Some((e, id)) = phone_prefix(t, m.start(), m.end(), country) {
                push(m.start(), e, 8, Some(id));
            }
        }
    }
    for caps in HANDLE.captures_iter(t) {
        let Some(handle) = caps.get(1) else { continue };
        let at = handle.start().saturating_sub(1);
        let handle_text = handle.as_str().trim_end_matches('.');
        let end = handle.start() + handle_text.len();
        if let Some(network) = named_network(context_before(t, at)) {
            push(at, end, 9, social::parse_handle(handle_text, network).ok());
        }
    }
    for m in HOST.find_iter(t) {
        if t[..m.start()].ends_with(['@', '.', '-']) {
            continue;
        }
        let (s, e) = trim_trailing(t, m.start(), m.end());
        push(s, e, 10, link::parse(&t[s..e], shared).ok());
    }

    settle(found, &folded)
}

/// Chooses non-overlapping candidates by strength then length, dedupes by key, orders by start.
fn settle(mut found: Vec<Found>, folded: &Folded) -> Vec<Extracted> {
    found.sort_by_key(|f| (f.strength, std::cmp::Reverse(f.end - f.start), f.start));
    let mut taken: Vec<(usize, usize)> = Vec::new();
    let mut kept: Vec<Found> = Vec::new();
    for f in found {
        if taken.iter().any(|&(s, e)| f.start < e && s < f.end) {
            continue;
        }
        taken.push((f.start, f.end));
        kept.push(f);
        if kept.len() >= MAX_RESULTS * 4 {
            break;
        }
    }
    kept.sort_by_key(|f| f.start);
    let mut seen = std::collections::HashSet::new();
    let mut out = Vec::new();
    for f in kept {
        if !seen.insert(f.id.key.clone()) {
            continue;
        }
        let (start, end) = folded.original_span(f.start, f.end);
        out.push(Extracted { identifier: f.id, start, end });
        if out.len() >= MAX_RESULTS {
            break;
        }
    }
    out
}

/// Drops sentence punctuation that a greedy URL match swallowed.
fn trim_trailing(t: &str, start: usize, mut end: usize) -> (usize, usize) {
    while end > start {
        let last = t.as_bytes()[end - 1];
        let unbalanced_paren = last == b')' && !t[start..end].contains('(');
        if matches!(last, b'.' | b',' | b';' | b':' | b'!' | b'?' | b'\'' | b'"' | b'*') || unbalanced_paren {
            end -= 1;
        } else {
            break;
        }
    }
    (start, end)
}

/// The text just before `at`, on a char boundary.
fn context_before(t: &str, at: usize) -> &str {
    let mut from = at.saturating_sub(CONTEXT_BYTES);
    while !t.is_char_boundary(from) {
        from += 1;
    }
    t.get(from..at).unwrap_or_default()
}

/// The network named last in `context`, if any.
fn named_network(context: &str) -> Option<Network> {
    let word = NETWORK_WORD.find_iter(context).last()?.as_str().to_ascii_lowercase();
    let network = match word.as_str() {
        "telegram" | "tg" => Network::Telegram,
        "instagram" | "insta" | "ig" => Network::Instagram,
        "tiktok" | "tik tok" => Network::TikTok,
        "facebook" | "fb" => Network::Facebook,
        _ => Network::X,
    };
    Some(network)
}

/// The IBAN at `start`: exactly its country's length in letters and digits, ending at a boundary.
fn iban_prefix(t: &str, start: usize, end: usize) -> Option<(usize, Identifier)> {
    let bytes = t.as_bytes();
    let want = iban::length_for(&bytes.get(start..start + 2)?.to_ascii_uppercase())?;
    let mut count = 0;
    let mut at = start;
    while at < end && count < want {
        if bytes[at].is_ascii_alphanumeric() {
            count += 1;
        }
        at += 1;
    }
    if count != want || bytes.get(at).is_some_and(u8::is_ascii_alphanumeric) {
        return None;
    }
    iban::parse(&t[start..at]).ok().map(|id| (at, id))
}

/// The longest phone number at `start`, dropping trailing digit groups that are not part of it.
fn phone_prefix(t: &str, start: usize, mut end: usize, country: Option<Country>) -> Option<(usize, Identifier)> {
    for _ in 0..4 {
        let candidate = t[start..end].trim_end_matches([' ', '-', '.', '(']);
        if let Ok(id) = phone::parse(candidate, country) {
            return Some((start + candidate.len(), id));
        }
        let cut = candidate.rfind([' ', '-', '.', '(', ')'])?;
        if cut == 0 {
            return None;
        }
        end = start + cut;
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_pattern_compiles() {
        for pattern in [
            &URL,
            &HOST,
            &EMAIL,
            &IBAN,
            &PHONE_INTL,
            &PHONE_NATIONAL,
            &TEL_URI,
            &CARD,
            &HEX,
            &BASE58,
            &BECH32,
            &TON,
            &HANDLE,
            &UK_ACCOUNT,
            &BIC,
            &NETWORK_WORD,
            &BIC_WORD,
        ] {
            assert_ne!(pattern.as_str(), never_matches().as_str());
        }
    }

    #[test]
    fn trailing_punctuation_is_not_part_of_a_link() {
        let t = "see https://x.example.com/a).";
        let (s, e) = trim_trailing(t, 4, t.len());
        assert_eq!(&t[s..e], "https://x.example.com/a");
    }
}
