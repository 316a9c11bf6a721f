//! Reading a form field as a person wrote it.
//!
//! Victims do not type clean values: they write a label before the value (`Tél : 06 12 34 56 78`,
//! `USDT (TRC20): T…`), a note after it (`(WhatsApp)`, `(NatWest)`), an extension after a
//! number (`ext. 12`, `poste 12`), a country code in brackets (`(+33) 6 12 34 56 78`), or two
//! values in one field (`020 7946 0958 / 07911 123456`, `IBAN FR76 … BIC AGRIFRPP`).
//!
//! A field is only read this way when it does not normalise as it stands, so a clean value costs
//! nothing more and keeps its outcome. Then the field is cut into values (at separators outside
//! brackets, and before a label naming a kind once a value has been written), and each value is
//! stripped of its label, notes and extension, which are reported as ignored and never change
//! the key. A label or note that names a kind (`WhatsApp`, `Telegram:`, `IBAN`, `ETH`) is tried
//! before the caller's hint: the victim's own word is more specific than the form's field.
//!
//! Labels are known words, in English and French (the languages the service meets first), so a
//! value is never cut at an arbitrary word; the lists are here, in one place, to grow.

use std::borrow::Cow;
use std::sync::LazyLock;

use regex::Regex;

use crate::rejection::Rejection;
use crate::types::{Hint, Identifier, Kind, KindHint};

/// The most values one field yields; a field with more separators is read as one value.
pub const MAX_VALUES_PER_FIELD: usize = 8;

/// The most notes read off the end of one value.
const MAX_NOTES: usize = 4;

/// What a part of a field left out of the key was.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum IgnoredPart {
    /// Words before the value naming what it is: `Tél :`, `IBAN:`, `ETH address`.
    Label,
    /// Words beside the value: `(NatWest)`, `(WhatsApp)`, a word between two values.
    Note,
    /// A telephone extension after the number: `ext. 12`, `poste 12`.
    Extension,
}

impl IgnoredPart {
    /// The stable SCREAMING_SNAKE name, e.g. `"LABEL"`.
    pub fn as_str(&self) -> &'static str {
        match self {
            IgnoredPart::Label => "LABEL",
            IgnoredPart::Note => "NOTE",
            IgnoredPart::Extension => "EXTENSION",
        }
    }
}

/// A part of a field read around a value and left out of its key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Ignored {
    /// What it was.
    pub part: IgnoredPart,
    /// The text as typed (after look-alike folding).
    pub text: String,
}

/// One value read from a field.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReadValue {
    /// The part of the field this value was read from: the whole field when it held one value.
    pub text: String,
    /// What normalisation made of it.
    pub outcome: Result<Identifier, Rejection>,
    /// The labels, notes and extension read around it, in the order they were found.
    pub ignored: Vec<Ignored>,
}

/// A field as read: its own identifier first, then any others it held.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reading {
    /// The field's identifier (the first value written).
    pub first: ReadValue,
    /// The other values the field held, in the order written; at most
    /// [`MAX_VALUES_PER_FIELD`]` - 1`, none with the key of an earlier one.
    pub others: Vec<ReadValue>,
}

impl Reading {
    /// A field that held one value, nothing ignored.
    pub(crate) fn one(text: &str, outcome: Result<Identifier, Rejection>) -> Reading {
        Reading { first: ReadValue { text: text.to_owned(), outcome, ignored: Vec::new() }, others: Vec::new() }
    }

    /// Every value, the field's own first.
    pub fn values(&self) -> impl Iterator<Item = &ReadValue> {
        std::iter::once(&self.first).chain(&self.others)
    }

    /// The field's identifier.
    pub(crate) fn into_first(self) -> Result<Identifier, Rejection> {
        self.first.outcome
    }
}

/// Normalises a cleaned value exactly as it stands (the normaliser's own door, passed in so that
/// reading a field needs nothing else of it).
pub(crate) trait Normalise: Fn(&str, &Hint) -> Result<Identifier, Rejection> {}

impl<F: Fn(&str, &Hint) -> Result<Identifier, Rejection>> Normalise for F {}

/// Whether a cleaned field is cut into several values.
pub(crate) fn holds_several(s: &str) -> bool {
    split(s).len() > 1
}

/// Reads a cleaned field that did not normalise as it stands or holds several values (`plain`
/// is its outcome as it stands).
pub(crate) fn read(n: &dyn Normalise, s: &str, hint: &Hint, plain: Result<Identifier, Rejection>) -> Reading {
    let segments = split(s);
    if segments.len() <= 1 {
        // Nothing read around the value: the plain outcome stands, with its own reason.
        return match plain {
            Ok(_) => with_label_and_notes(Reading::one(s, plain)),
            Err(_) => match read_value(n, s, hint, false) {
                Some(value) => Reading { first: value, others: Vec::new() },
                None => Reading::one(s, plain),
            },
        };
    }
    let mut values: Vec<ReadValue> = Vec::new();
    let mut pending_notes: Vec<Ignored> = Vec::new();
    for segment in segments {
        if !names_a_value(segment) && outcome_of(n, segment, hint, true).is_err() {
            // `06 12 34 56 78, ask for John`: words between values are a note on the value.
            let note = Ignored { part: IgnoredPart::Note, text: segment.to_owned() };
            match values.last_mut() {
                Some(last) => last.ignored.push(note),
                None => pending_notes.push(note),
            }
            continue;
        }
        let extra = !values.is_empty();
        let value = read_value(n, segment, hint, extra).unwrap_or_else(|| ReadValue {
            text: segment.to_owned(),
            outcome: outcome_of(n, segment, hint, extra),
            ignored: Vec::new(),
        });
        let repeated = value
            .outcome
            .as_ref()
            .is_ok_and(|id| values.iter().any(|v| v.outcome.as_ref().is_ok_and(|earlier| earlier.key == id.key)));
        if !repeated {
            values.push(value);
        }
    }
    let mut values = values.into_iter();
    let Some(mut first) = values.next() else {
        return Reading::one(s, plain);
    };
    // A field that reads whole as one value is cut only when its first piece is that value too
    // (`0x…/ +44 …`); otherwise the cut was inside the value's own syntax.
    if let Ok(whole) = &plain
        && first.outcome.as_ref().map_or(true, |id| id.key != whole.key)
    {
        return with_label_and_notes(Reading::one(s, plain));
    }
    pending_notes.append(&mut first.ignored);
    first.ignored = pending_notes;
    Reading { first, others: values.collect() }
}

/// A reading of a value that normalised as it stands, with the label it started with and the
/// notes set apart by a blank after it, if any (the kind's parser passed over them).
pub(crate) fn with_label_and_notes(mut reading: Reading) -> Reading {
    let text = reading.first.text.as_str();
    let (label, kind, rest) = leading_label(text);
    let (value, notes, _) = trailing_notes(rest);
    let ignored = &mut reading.first.ignored;
    // Only a label naming a kind: `NO 93 8601 …` is a Norwegian IBAN, not a number ("no.").
    if let (Some(label), Some(_)) = (label, kind) {
        ignored.push(Ignored { part: IgnoredPart::Label, text: label.to_owned() });
    }
    // `…/page_(1)` is part of a link; `… (NatWest)` is a note.
    if rest[value.len()..].starts_with(char::is_whitespace) {
        ignored.extend(notes.iter().map(|note| Ignored { part: IgnoredPart::Note, text: (*note).to_owned() }));
    }
    reading
}

/// The outcome of a value with nothing around it; a value after the first that does not fit the
/// field's kind is read without the hint (`IBAN … / AGRIFRPP`: a BIC beside the IBAN).
fn outcome_of(n: &dyn Normalise, value: &str, hint: &Hint, extra: bool) -> Result<Identifier, Rejection> {
    let outcome = n(value, hint);
    if outcome.is_err() && extra && hint.kind.is_some() {
        let detected = n(value, &Hint { kind: None, country: hint.country });
        if detected.is_ok() {
            return detected;
        }
    }
    outcome
}

/// Whether a segment between separators is written like a value (a word that is none, such as
/// `NatWest`, is a note unless it reads as an identifier: `DEUTDEFF`).
fn names_a_value(segment: &str) -> bool {
    segment.bytes().any(|b| b.is_ascii_digit() || matches!(b, b'@' | b'.' | b'_' | b':'))
        || leading_label(segment).1.is_some()
}

/// Reads one value with its label, notes and extension; `None` when there was nothing around it.
fn read_value(n: &dyn Normalise, segment: &str, hint: &Hint, extra: bool) -> Option<ReadValue> {
    // The longest label first; a shorter one when the value does not read without the words
    // taken (`IBAN DE 89 …`: `DE` is a country here, not the French "de").
    let mut failed = None;
    for label_end in leading_labels(segment).into_iter().rev().chain([0]) {
        match read_after_label(n, segment, label_end, hint, extra) {
            Some(value) if value.outcome.is_ok() => return Some(value),
            Some(value) => {
                failed.get_or_insert(value);
            }
            // Nothing around the value: it may read as it stands (`tel:…;phone-context=…`
            // starts with a word that is also a label).
            None if failed.is_some() => {
                let outcome = outcome_of(n, segment, hint, extra);
                if outcome.is_ok() {
                    return Some(ReadValue { text: segment.to_owned(), outcome, ignored: Vec::new() });
                }
            }
            None => {}
        }
    }
    failed
}

/// Reads one value whose label ends at byte `label_end` (0: no label); `None` when nothing was
/// read around it.
fn read_after_label(n: &dyn Normalise, segment: &str, label_end: usize, hint: &Hint, extra: bool) -> Option<ReadValue> {
    let mut ignored = Vec::new();
    let label = segment[..label_end].trim_end();
    let label_kind = label_kind(label);
    if !label.is_empty() {
        ignored.push(Ignored { part: IgnoredPart::Label, text: label.to_owned() });
    }
    let (rest, notes, note_kind) = trailing_notes(&segment[label_end..]);
    let phone_like = [label_kind, note_kind, hint.kind]
        .into_iter()
        .flatten()
        .all(|k| matches!(k, KindHint::Phone | KindHint::WhatsApp | KindHint::Telegram));
    let (rest, extension) = if phone_like { split_extension(rest) } else { (rest, None) };
    let value = unwrap_country_code(rest);
    let changed = !label.is_empty() || !notes.is_empty() || extension.is_some() || matches!(value, Cow::Owned(_));
    if !changed {
        return None;
    }
    let named = label_kind.or(note_kind);
    ignored.extend(notes.iter().map(|note| Ignored { part: IgnoredPart::Note, text: (*note).to_owned() }));
    if let Some((text, _)) = extension {
        ignored.push(Ignored { part: IgnoredPart::Extension, text: text.to_owned() });
    }
    let mut outcome = match named {
        None => outcome_of(n, &value, hint, extra),
        Some(named) => {
            let mut first = None;
            for kind in kinds_to_try(named, hint.kind) {
                match n(&value, &Hint { kind: Some(kind), country: hint.country }) {
                    Ok(id) => {
                        first = Some(Ok(id));
                        break;
                    }
                    Err(rejection) => {
                        first.get_or_insert(Err(rejection));
                    }
                }
            }
            first.unwrap_or_else(|| outcome_of(n, &value, hint, extra))
        }
    };
    // Words taken off a value that still reads as nothing were no label or note of it
    // (`their app was called …`): the value's own rejection stands, nothing ignored.
    if outcome.is_err() && named.is_none() && extension.is_none() {
        return None;
    }
    if let (Ok(id), Some((_, digits))) = (&mut outcome, extension)
        && id.kind == Kind::Phone
    {
        id.facts.extension = Some(digits.to_owned());
    }
    Some(ReadValue { text: segment.to_owned(), outcome, ignored })
}

/// The kinds to try for a value whose label or note names a kind, the victim's word first.
fn kinds_to_try(named: KindHint, hinted: Option<KindHint>) -> Vec<KindHint> {
    match hinted {
        // A form's WhatsApp or Telegram field is more specific than the word "phone" in it.
        Some(h @ (KindHint::WhatsApp | KindHint::Telegram)) if named == KindHint::Phone => vec![h],
        Some(hinted) if hinted != named => vec![named, hinted],
        _ => vec![named],
    }
}

/// What a label word says about the value after it: `Some(Some(kind))` names a kind,
/// `Some(None)` is a word of a label that names none (`address`, `numéro`), `None` is no label.
fn label_word(word: &str) -> Option<Option<KindHint>> {
    use KindHint as K;
    let kind = match word {
        "whatsapp" | "whatsap" | "watsapp" | "wa" | "wsp" => K::WhatsApp,
        "telegram" | "telegramme" | "tg" | "tlg" => K::Telegram,
        "tel" | "telephone" | "phone" | "mobile" | "portable" | "cell" | "cellphone" | "gsm" | "fixe" | "mob"
        | "ph" | "tel/fax" => K::Phone,
        "email" | "e-mail" | "mail" | "courriel" | "mel" | "e-mel" => K::Email,
        "iban" => K::Iban,
        "bic" | "swift" | "bic/swift" | "swift/bic" => K::Bic,
        "rib" | "account" | "compte" | "acct" | "acc" => K::BankAccount,
        "wallet" | "portefeuille" | "eth" | "ethereum" | "erc20" | "erc-20" | "bep20" | "bep-20" | "bsc" | "bnb"
        | "btc" | "bitcoin" | "usdt" | "usdc" | "tether" | "trc20" | "trc-20" | "tron" | "trx" | "sol" | "solana"
        | "ton" | "xrp" | "ripple" | "ltc" | "litecoin" | "crypto" | "polygon" | "matic" | "arbitrum" => {
            K::CryptoWallet
        }
        "txid" | "tx" | "txhash" | "hash" | "transaction" => K::CryptoTransaction,
        "site" | "website" | "web" | "url" | "lien" | "link" => K::Website,
        "instagram" | "insta" | "ig" => K::Instagram,
        "tiktok" => K::TikTok,
        "facebook" | "fb" => K::Facebook,
        "twitter" => K::X,
        "address" | "adresse" | "addr" | "adr" | "number" | "numero" | "num" | "no" | "n°" | "nº" | "nr" | "de"
        | "du" | "d'" | "the" | "my" | "his" | "her" | "their" | "son" | "sa" | "code" | "id" | "username" | "user"
        | "pseudo" | "handle" | "contact" | "via" | "on" | "sur" | "of" | "is" | "est" | "profile" | "profil"
        | "page" | "compte:" => return Some(None),
        _ => return None,
    };
    Some(Some(kind))
}

/// Label words that start a new value when written after one (`… BIC AGRIFRPP`).
fn starts_a_value(word: &str) -> bool {
    matches!(
        word,
        "iban"
            | "bic"
            | "swift"
            | "rib"
            | "tel"
            | "telephone"
            | "whatsapp"
            | "telegram"
            | "email"
            | "e-mail"
            | "courriel"
            | "phone"
            | "mobile"
            | "portable"
    )
}

/// Characters a label word is made of.
fn is_word_char(c: char) -> bool {
    c.is_alphanumeric() || matches!(c, '-' | '_' | '.' | '/' | '\'' | '’' | '°' | 'º')
}

/// A word lower-cased, French accents dropped, trailing dots gone: how labels are compared.
fn fold_word(token: &str) -> String {
    token
        .trim_end_matches('.')
        .chars()
        .flat_map(char::to_lowercase)
        .map(|c| match c {
            'é' | 'è' | 'ê' | 'ë' => 'e',
            'à' | 'â' => 'a',
            'î' | 'ï' => 'i',
            'ô' => 'o',
            'ù' | 'û' => 'u',
            'ç' => 'c',
            '’' => '\'',
            c => c,
        })
        .collect()
}

/// What a token says as a label; a token of several words joined by `/` is a label when all are.
fn token_label(token: &str) -> Option<Option<KindHint>> {
    let word = fold_word(token);
    if word.is_empty() || word.len() > 24 {
        return None;
    }
    if let Some(said) = label_word(&word) {
        return Some(said);
    }
    let mut kind = None;
    for part in word.split('/') {
        kind = kind.or(label_word(part)?);
    }
    Some(kind)
}

/// Where each label word (with its separators) ends at the start of `s`, in order; the label
/// never takes the whole of `s`.
fn leading_labels(s: &str) -> Vec<usize> {
    let mut ends = Vec::new();
    let mut pos = 0;
    loop {
        let rest = &s[pos..];
        let token_len = rest.find(|c: char| !is_word_char(c)).unwrap_or(rest.len());
        if token_len == 0 || token_label(&rest[..token_len]).is_none() {
            break;
        }
        let after = &rest[token_len..];
        // A label is set apart from its value; `mail@example.com` starts with no label.
        if !after.starts_with(|c: char| c.is_whitespace() || matches!(c, ':' | '=' | '(' | '+' | '>')) {
            break;
        }
        let next = pos + token_len + label_separators(after);
        if s[next..].trim().is_empty() {
            break;
        }
        ends.push(next);
        pos = next;
    }
    ends
}

/// The kind the first word naming one in a label names.
fn label_kind(label: &str) -> Option<KindHint> {
    label.split(|c: char| !is_word_char(c)).filter(|w| !w.is_empty()).find_map(|w| token_label(w).flatten())
}

/// The whole label at the start of `s`: its text, the kind it names and the rest.
fn leading_label(s: &str) -> (Option<&str>, Option<KindHint>, &str) {
    match leading_labels(s).last() {
        Some(&end) => {
            let label = s[..end].trim_end();
            (Some(label), label_kind(label), &s[end..])
        }
        None => (None, None, s),
    }
}

/// Bytes of separators after a label word: blanks, `:`, `=`, `>`, dashes, and a bracketed
/// qualifier such as `(TRC20)` (but not a bracketed country code, which belongs to the number).
fn label_separators(s: &str) -> usize {
    let mut at = 0;
    loop {
        let rest = &s[at..];
        let Some(c) = rest.chars().next() else { return at };
        if c.is_whitespace() || matches!(c, ':' | '=' | '>' | '-') {
            at += c.len_utf8();
        } else if c == '(' {
            match rest.find(')') {
                Some(close) if close <= 32 && rest[1..close].chars().any(char::is_alphabetic) => at += close + 1,
                _ => return at,
            }
        } else {
            return at;
        }
    }
}

/// The markers of defanged addresses, which are no notes.
fn is_defang_marker(inner: &str) -> bool {
    matches!(inner.trim().to_ascii_lowercase().as_str(), "at" | "dot" | "." | "@" | ":" | "/" | "://")
}

/// Splits notes off the end: `(NatWest)`, `[perso]`, a trailing `WhatsApp`, ` - office`.
/// Returns the rest, the notes (in the order written) and a kind a note names.
fn trailing_notes(s: &str) -> (&str, Vec<&str>, Option<KindHint>) {
    let mut rest = s.trim_end();
    let mut notes = Vec::new();
    let mut kind = None;
    while notes.len() < MAX_NOTES {
        let Some((before, note, said)) = last_note(rest) else { break };
        if before.trim().is_empty() {
            break;
        }
        notes.push(note);
        kind = said.or(kind);
        rest = before.trim_end();
    }
    notes.reverse();
    (rest, notes, kind)
}

/// The last note of `s`, if it ends in one: what comes before, the note, a kind it names.
fn last_note(s: &str) -> Option<(&str, &str, Option<KindHint>)> {
    let close = s.chars().last()?;
    if let Some(open) = match close {
        ')' => Some('('),
        ']' => Some('['),
        '}' => Some('{'),
        _ => None,
    } {
        let start = s[..s.len() - 1].rfind(open)?;
        let inner = &s[start + 1..s.len() - 1];
        if !inner.chars().any(char::is_alphabetic) || is_defang_marker(inner) {
            return None;
        }
        let said = inner
            .split_whitespace()
            .map(token_label)
            .collect::<Option<Vec<_>>>()
            .and_then(|kinds| kinds.into_iter().flatten().next());
        return Some((&s[..start], &s[start..], said));
    }
    // A word naming a kind after the value: `+33 6 12 34 56 78 WhatsApp`.
    if let Some((before, word)) = s.rsplit_once(char::is_whitespace)
        && let Some(Some(kind)) = token_label(word)
    {
        return Some((before, word, Some(kind)));
    }
    // Words after a spaced dash: `+44 20 7946 0958 - office`.
    let (before, words) = s.rsplit_once(" - ")?;
    let words_only = words.chars().any(char::is_alphabetic) && !words.chars().any(|c| c.is_ascii_digit());
    words_only.then_some((before, &s[before.len() + 1..], None))
}

/// `+44 20 7946 0958 ext. 12`: the number and the extension's text and digits.
static EXTENSION: LazyLock<Option<Regex>> = LazyLock::new(|| {
    Regex::new(r"(?i)^(.*\d)\s*[,;]?\s*((?:ext(?:ension)?|extn|poste|x|#)\s*[.:]?\s*(\d{1,6}))$").ok()
});

/// Splits a telephone extension off the end of a number.
fn split_extension(s: &str) -> (&str, Option<(&str, &str)>) {
    let Some(caps) = EXTENSION.as_ref().and_then(|re| re.captures(s)) else {
        return (s, None);
    };
    let (Some(number), Some(text), Some(digits)) = (caps.get(1), caps.get(2), caps.get(3)) else {
        return (s, None);
    };
    // A number has at least six digits before its extension (`0x1234` is no number).
    if number.as_str().bytes().filter(u8::is_ascii_digit).count() < 6 {
        return (s, None);
    }
    (number.as_str(), Some((text.as_str(), digits.as_str())))
}

/// `(+33) 6 12 34 56 78` is `+33 6 12 34 56 78`: brackets around a leading country code.
fn unwrap_country_code(s: &str) -> Cow<'_, str> {
    let s = s.trim();
    let Some(inner_end) = s.strip_prefix('(').and_then(|r| r.find(')')) else {
        return Cow::Borrowed(s);
    };
    let inner = &s[1..=inner_end];
    let digits = inner.strip_prefix('+').or_else(|| inner.strip_prefix("00"));
    match digits {
        Some(d) if (1..=4).contains(&d.len()) && d.bytes().all(|b| b.is_ascii_digit()) => {
            Cow::Owned(format!("{inner} {}", s[inner_end + 2..].trim_start()))
        }
        _ => Cow::Borrowed(s),
    }
}

/// Cuts a field into the values it holds: at `;`, `,`, `|`, a spaced `/` or `&`, the words
/// `or`/`ou`/`and`/`et`, and before a label naming a kind once a value has been written;
/// never inside brackets. More than [`MAX_VALUES_PER_FIELD`] pieces are read as one value.
fn split(s: &str) -> Vec<&str> {
    let mut pieces = Vec::new();
    let mut depth = 0usize;
    let mut start = 0;
    let bytes = s.as_bytes();
    let mut at = 0;
    let blank = |i: usize| bytes.get(i).is_none_or(|b| b.is_ascii_whitespace());
    while at < bytes.len() {
        let b = bytes[at];
        match b {
            b'(' | b'[' | b'{' => depth += 1,
            b')' | b']' | b'}' => depth = depth.saturating_sub(1),
            _ => {}
        }
        if depth > 0 {
            at += 1;
            continue;
        }
        let cut_here = match b {
            // `tel:…;phone-context=+44` and `;ext=12` are parameters of one value.
            b';' if is_parameter(&s[at + 1..]) => None,
            b';' | b',' | b'|' => Some(1),
            b'/' | b'&' if at > 0 && (blank(at - 1) || blank(at + 1)) => Some(1),
            _ if b.is_ascii_whitespace() => word_cut(&s[at + 1..], &s[start..at]),
            _ => None,
        };
        match cut_here {
            Some(skip) => {
                pieces.push(&s[start..at]);
                // A cut before a label keeps the label with the value after it.
                at += if skip == 0 { 1 } else { skip };
                start = at;
            }
            None => at += 1,
        }
    }
    pieces.push(&s[start..]);
    let pieces: Vec<&str> = pieces.into_iter().map(str::trim).filter(|p| !p.is_empty()).collect();
    if pieces.len() > MAX_VALUES_PER_FIELD { vec![s] } else { pieces }
}

/// Whether `rest` starts with a URI parameter (`phone-context=…`, `ext=…`).
fn is_parameter(rest: &str) -> bool {
    let name_len = rest.find(|c: char| !(c.is_ascii_alphanumeric() || c == '-')).unwrap_or(rest.len());
    name_len > 0 && rest[name_len..].starts_with('=')
}

/// At a blank before `rest`: `Some(bytes to skip)` when the field is cut here (`or` and its
/// blank are skipped; a label starting a value is kept), `None` otherwise.
fn word_cut(rest: &str, written: &str) -> Option<usize> {
    let token_len = rest.find(|c: char| !is_word_char(c)).unwrap_or(rest.len());
    let token = &rest[..token_len];
    let after = &rest[token_len..];
    if !after.starts_with(|c: char| c.is_whitespace() || matches!(c, ':' | '=')) || after.trim().is_empty() {
        return None;
    }
    let word = fold_word(token);
    if matches!(word.as_str(), "or" | "ou" | "and" | "et") {
        return Some(1 + token_len);
    }
    let has_value = written.bytes().any(|b| b.is_ascii_digit() || b == b'@');
    (has_value && starts_a_value(&word)).then_some(0)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::types::Country;
    use crate::{Normalizer, NormalizerConfig};

    fn normalizer() -> Normalizer {
        Normalizer::new(NormalizerConfig { card_mac_key: b"test".to_vec() })
    }

    fn read(raw: &str, kind: Option<KindHint>, country: Option<&str>) -> Reading {
        normalizer().read(raw, &Hint { kind, country: country.and_then(Country::parse) })
    }

    fn keys(reading: &Reading) -> Vec<String> {
        reading
            .values()
            .map(|v| v.outcome.as_ref().map(|id| id.key.clone()).unwrap_or_else(|e| e.to_string()))
            .collect()
    }

    fn ignored(value: &ReadValue) -> Vec<(&'static str, &str)> {
        value.ignored.iter().map(|i| (i.part.as_str(), i.text.as_str())).collect()
    }

    /// A value as typed, the form's kind, the country, its key and what is ignored around it.
    type Case = (&'static str, Option<KindHint>, Option<&'static str>, &'static str, Vec<(&'static str, &'static str)>);

    #[test]
    fn labels_and_notes_around_one_value() {
        let cases: [Case; 12] = [
            ("WhatsApp +33 6 12 34 56 78", None, None, "tel:+33612345678", vec![("LABEL", "WhatsApp")]),
            (
                "WhatsApp +33 6 12 34 56 78",
                Some(KindHint::WhatsApp),
                None,
                "tel:+33612345678",
                vec![("LABEL", "WhatsApp")],
            ),
            ("+33 6 12 34 56 78 (WhatsApp)", None, None, "tel:+33612345678", vec![("NOTE", "(WhatsApp)")]),
            ("Tél : 06 12 34 56 78", None, Some("FR"), "tel:+33612345678", vec![("LABEL", "Tél :")]),
            ("Telegram: @crypto_gains_vip", None, None, "telegram:crypto_gains_vip", vec![("LABEL", "Telegram:")]),
            (
                "IBAN: GB29 NWBK 6016 1331 9268 19 (NatWest)",
                None,
                None,
                "iban:GB29NWBK60161331926819",
                vec![("LABEL", "IBAN:"), ("NOTE", "(NatWest)")],
            ),
            (
                "USDT (TRC20): TR7NHqjeKQxGTCi8q8ZY4pL8otSzgjLj6t",
                None,
                None,
                "trx:TR7NHqjeKQxGTCi8q8ZY4pL8otSzgjLj6t",
                vec![("LABEL", "USDT (TRC20):")],
            ),
            (
                "ETH address 0x52908400098527886E0F7030069857D2E4169EE7",
                Some(KindHint::CryptoWallet),
                None,
                "evm:0x52908400098527886e0f7030069857d2e4169ee7",
                vec![("LABEL", "ETH address")],
            ),
            ("E-mail : John.Doe@gmail.com", None, None, "email:john.doe@gmail.com", vec![("LABEL", "E-mail :")]),
            ("(+33) 6 12 34 56 78", None, None, "tel:+33612345678", vec![]),
            ("+44 20 7946 0958 ext. 12", None, None, "tel:+442079460958", vec![("EXTENSION", "ext. 12")]),
            (
                "01 42 68 53 00 poste 12",
                Some(KindHint::Phone),
                Some("FR"),
                "tel:+33142685300",
                vec![("EXTENSION", "poste 12")],
            ),
        ];
        for (raw, kind, country, key, parts) in cases {
            let reading = read(raw, kind, country);
            assert_eq!(keys(&reading), vec![key.to_owned()], "{raw}");
            assert_eq!(ignored(&reading.first), parts, "{raw}");
        }
    }

    #[test]
    fn a_label_or_note_naming_a_kind_adds_its_fact() {
        let whatsapp = read("WhatsApp +33 6 12 34 56 78", None, None).first.outcome.unwrap();
        assert_eq!(whatsapp.facts.messaging_app, Some("whatsapp"));
        let noted = read("+33 6 12 34 56 78 (WhatsApp)", Some(KindHint::Phone), None).first.outcome.unwrap();
        assert_eq!(noted.facts.messaging_app, Some("whatsapp"));
        let extension = read("+44 20 7946 0958 x12", None, None).first.outcome.unwrap();
        assert_eq!(extension.facts.extension.as_deref(), Some("12"));
    }

    #[test]
    fn several_values_in_one_field() {
        let reading = read("020 7946 0958 / 07911 123456", Some(KindHint::Phone), Some("GB"));
        assert_eq!(keys(&reading), ["tel:+442079460958", "tel:+447911123456"]);
        assert_eq!(reading.others[0].text, "07911 123456");
        let reading = read("IBAN FR76 3000 6000 0112 3456 7890 189 BIC AGRIFRPP", Some(KindHint::Iban), None);
        assert_eq!(keys(&reading), ["iban:FR7630006000011234567890189", "bic:AGRIFRPP"]);
        assert_eq!(ignored(&reading.others[0]), [("LABEL", "BIC")]);
        let reading = read("a@example.com; b@example.com, a@example.com", None, None);
        assert_eq!(keys(&reading), ["email:a@example.com", "email:b@example.com"]);
        let reading = read("06 12 34 56 78 ou 06 98 76 54 32, demander Paul", None, Some("FR"));
        assert_eq!(keys(&reading), ["tel:+33612345678", "tel:+33698765432"]);
        assert_eq!(ignored(&reading.others[0]), [("NOTE", "demander Paul")]);
    }

    #[test]
    fn a_value_with_nothing_around_it_keeps_its_reason() {
        let reading = read("DE89 3704 0044 0532 0130 01", None, None);
        assert_eq!(reading.first.outcome.unwrap_err().code, crate::RejectionCode::IbanChecksum);
        let reading = read("1-800-FLOWERS", Some(KindHint::Phone), Some("US"));
        assert_eq!(reading.first.outcome.unwrap_err().code, crate::RejectionCode::PhoneLetters);
        assert!(reading.others.is_empty());
        let reading = read("their app was called BitNova Pro", None, None);
        assert_eq!(reading.first.outcome.unwrap_err().code, crate::RejectionCode::Unrecognised);
        assert!(reading.first.ignored.is_empty());
    }

    #[test]
    fn a_shorter_label_is_tried_when_the_longer_takes_part_of_the_value() {
        assert_eq!(keys(&read("IBAN DE 89 3704 0044 0532 0130 00", None, None)), ["iban:DE89370400440532013000"]);
        assert_eq!(keys(&read("IBAN: NO 93 8601 1117 947", None, None)), ["iban:NO9386011117947"]);
        assert!(read("NO93 8601 1117 947", None, None).first.ignored.is_empty());
        let reading = read("tel:112-34-56-78;phone-context=+966 ou +970 1800 123456", None, None);
        assert_eq!(keys(&reading), ["tel:+966112345678", "tel:+9701800123456"]);
    }

    #[test]
    fn a_label_never_takes_the_value() {
        // `mail@…` starts with a label word but no label; a handle that is a label word stays.
        assert_eq!(keys(&read("mail@example.com (perso)", None, None)), ["email:mail@example.com"]);
        assert_eq!(leading_label("Telegram contact").2, "contact");
        assert_eq!(leading_label("contact").0, None);
    }

    #[test]
    fn too_many_pieces_are_one_value() {
        let raw = "1;2;3;4;5;6;7;8;9";
        assert_eq!(split(raw), vec![raw]);
        assert_eq!(split("tel:020-7946-0958;phone-context=+44"), vec!["tel:020-7946-0958;phone-context=+44"]);
        assert_eq!(read(raw, None, None).others.len(), 0);
    }
}
