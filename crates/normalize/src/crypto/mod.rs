//! Cryptocurrency wallet addresses and transaction hashes, one module per chain.
//!
//! Each chain module offers `looks_like` (a cheap shape test) and `parse` (full validation with
//! checksums). [`parse_wallet`] tries every chain whose shape fits and reports an `AMBIGUOUS`
//! rejection rather than guessing when more than one chain accepts the value. Block-explorer
//! links (`…/address/<addr>`, `…/tx/<hash>`) are unwrapped first, since victims paste those.

pub(crate) mod btc;
pub(crate) mod evm;
pub(crate) mod ltc;
pub(crate) mod sol;
pub(crate) mod ton;
pub(crate) mod tron;
pub(crate) mod tx;
mod utxo;
pub(crate) mod xrp;

use bs58::Alphabet;

use crate::rejection::{Rejection, RejectionCode};
use crate::types::Identifier;

/// Characters of the Bitcoin base58 alphabet.
pub(crate) fn is_base58(b: u8) -> bool {
    b.is_ascii_alphanumeric() && !matches!(b, b'0' | b'O' | b'I' | b'l')
}

/// Why a base58check string did not decode.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Base58Error {
    /// Not base58, or the wrong length.
    Format,
    /// The double-SHA256 checksum does not match.
    Checksum,
}

/// Decodes base58check into `out`, returning the payload (version byte first, checksum removed).
pub(crate) fn decode_check<'a>(
    s: &str,
    alphabet: &'static Alphabet,
    out: &'a mut [u8; 64],
) -> Result<&'a [u8], Base58Error> {
    if s.len() > 64 {
        return Err(Base58Error::Format);
    }
    match bs58::decode(s).with_alphabet(alphabet).with_check(None).onto(&mut out[..]) {
        Ok(len) => out.get(..len).ok_or(Base58Error::Format),
        Err(bs58::decode::Error::InvalidChecksum { .. }) => Err(Base58Error::Checksum),
        Err(_) => Err(Base58Error::Format),
    }
}

/// Base58check-encodes `payload` (version byte first).
pub(crate) fn encode_check(payload: &[u8], alphabet: &'static Alphabet) -> String {
    bs58::encode(payload).with_alphabet(alphabet).with_check().into_string()
}

/// The address inside a block-explorer link, or the value itself.
pub(crate) fn unwrap_explorer_link<'a>(s: &'a str, markers: &[&str]) -> &'a str {
    if !s.contains('/') {
        return s;
    }
    for marker in markers {
        if let Some(at) = s.find(marker) {
            let rest = &s[at + marker.len()..];
            let end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
            return &rest[..end];
        }
    }
    s
}

/// The markers explorers put before an address.
const ADDRESS_MARKERS: [&str; 3] = ["/address/", "/account/", "/accounts/"];

/// A chain's shape test and parser.
type Chain = (fn(&str) -> bool, fn(&str) -> Result<Identifier, Rejection>);

/// Every wallet chain, in the order their rejections are preferred when none accepts.
const CHAINS: [Chain; 7] = [
    (evm::looks_like, evm::parse),
    (btc::looks_like, btc::parse),
    (tron::looks_like, tron::parse),
    (ltc::looks_like, ltc::parse),
    (xrp::looks_like, xrp::parse),
    (ton::looks_like, ton::parse),
    (sol::looks_like, sol::parse),
];

/// Every chain's outcome for a value whose shape it fits (for detection).
pub(crate) fn wallet_outcomes(s: &str) -> Vec<Result<Identifier, Rejection>> {
    let s = unwrap_explorer_link(s, &ADDRESS_MARKERS);
    CHAINS.iter().filter(|(looks_like, _)| looks_like(s)).map(|(_, parse)| parse(s)).collect()
}

/// Normalises a wallet address on any supported chain.
pub(crate) fn parse_wallet(s: &str) -> Result<Identifier, Rejection> {
    let inner = unwrap_explorer_link(s, &ADDRESS_MARKERS);
    // A victim who says "wallet" may paste an EVM address without its 0x.
    if inner.len() == 40 && inner.bytes().all(|b| b.is_ascii_hexdigit()) {
        return evm::parse(&format!("0x{inner}"));
    }
    let outcomes = wallet_outcomes(s);
    crate::decide::decide(outcomes).unwrap_or_else(|| {
        Err(Rejection::new(
            RejectionCode::WalletUnrecognised,
            "This is not a wallet address of a supported chain (Bitcoin, Ethereum and other EVM chains, TRON, Litecoin, XRP, Solana, TON).",
        ))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn explorer_links_are_unwrapped() {
        let id =
            parse_wallet("https://etherscan.io/address/0x52908400098527886E0F7030069857D2E4169EE7#tokentxns").unwrap();
        assert_eq!(id.key, "evm:0x52908400098527886e0f7030069857d2e4169ee7");
        let id = parse_wallet("https://tronscan.org/#/address/TLa2f6VPqDgRE67v1736s7bJ8Ray5wYjU7").unwrap();
        assert_eq!(id.key, "trx:TLa2f6VPqDgRE67v1736s7bJ8Ray5wYjU7");
    }

    #[test]
    fn bare_forty_hex_is_an_evm_address_when_the_victim_says_wallet() {
        let id = parse_wallet("52908400098527886e0f7030069857d2e4169ee7").unwrap();
        assert_eq!(id.key, "evm:0x52908400098527886e0f7030069857d2e4169ee7");
    }

    #[test]
    fn nothing_fits() {
        assert_eq!(parse_wallet("hello").unwrap_err().code, RejectionCode::WalletUnrecognised);
        assert_eq!(parse_wallet("0x1234").unwrap_err().code, RejectionCode::WalletUnrecognised);
        assert_eq!(
            parse_wallet("0x52908400098527886E0F7030069857D2E4169E").unwrap_err().code,
            RejectionCode::EvmFormat
        );
    }
}
