//! TON accounts: `ton:<workchain>:<64 lower-case hex>`.
//!
//! One account has a raw form (`0:83df…`) and user-friendly forms: 36 bytes (flags, workchain,
//! 32-byte account id, CRC16-XMODEM) in base64 or base64url, 48 characters, bounceable (`EQ…`)
//! or non-bounceable (`UQ…`). Wallets show different ones, so all of them give one key.
//! Test-network addresses are refused.

use base64::Engine;
use base64::engine::general_purpose::{STANDARD_NO_PAD, URL_SAFE_NO_PAD};

use crate::rejection::{Rejection, RejectionCode};
use crate::text::{hex_decode_into, hex_lower};
use crate::types::{Facts, Identifier, Kind};

const BOUNCEABLE: u8 = 0x11;
const NON_BOUNCEABLE: u8 = 0x51;
const TESTNET: u8 = 0x80;

/// CRC-16/XMODEM (polynomial 0x1021, initial value 0).
pub(crate) fn crc16_xmodem(data: &[u8]) -> u16 {
    let mut crc: u16 = 0;
    for &byte in data {
        crc ^= u16::from(byte) << 8;
        for _ in 0..8 {
            crc = if crc & 0x8000 != 0 { (crc << 1) ^ 0x1021 } else { crc << 1 };
        }
    }
    crc
}

fn raw_parts(s: &str) -> Option<(&str, &str)> {
    let (wc, hex) = s.split_once(':')?;
    let wc_ok = !wc.is_empty() && wc.len() <= 4 && wc.trim_start_matches('-').bytes().all(|b| b.is_ascii_digit());
    (wc_ok && hex.len() == 64).then_some((wc, hex))
}

fn is_friendly_shaped(s: &str) -> bool {
    s.len() == 48 && s.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'+' | b'/'))
}

/// Whether a value is shaped like a TON address.
pub(crate) fn looks_like(s: &str) -> bool {
    raw_parts(s).is_some() || is_friendly_shaped(s)
}

/// Normalises a TON address in raw or user-friendly form.
pub(crate) fn parse(s: &str) -> Result<Identifier, Rejection> {
    let (workchain, account, verified) = if let Some((wc, hex)) = raw_parts(s) {
        let workchain: i8 = wc.parse().map_err(|_| format())?;
        let mut account = [0u8; 32];
        hex_decode_into(hex, &mut account).ok_or_else(format)?;
        (workchain, account, false)
    } else if is_friendly_shaped(s) {
        let mut bytes = [0u8; 36];
        let decoded = if s.contains(['-', '_']) {
            URL_SAFE_NO_PAD.decode_slice(s, &mut bytes)
        } else {
            STANDARD_NO_PAD.decode_slice(s, &mut bytes)
        };
        if decoded.ok() != Some(36) {
            return Err(format());
        }
        let crc = u16::from_be_bytes([bytes[34], bytes[35]]);
        if crc16_xmodem(&bytes[..34]) != crc {
            return Err(Rejection::new(
                RejectionCode::TonChecksum,
                "This TON address's checksum does not match; a character was probably mistyped.",
            ));
        }
        match bytes[0] {
            BOUNCEABLE | NON_BOUNCEABLE => {}
            flags if flags & TESTNET != 0 => {
                return Err(Rejection::new(
                    RejectionCode::TonFormat,
                    "This is a TON test-network address, not a real-money one.",
                ));
            }
            _ => return Err(format()),
        }
        let mut account = [0u8; 32];
        account.copy_from_slice(&bytes[2..34]);
        (i8::from_be_bytes([bytes[1]]), account, true)
    } else {
        return Err(format());
    };
    let value = format!("{workchain}:{}", hex_lower(&account));
    let facts = Facts { chain: Some("ton"), checksum_verified: verified, ..Facts::default() };
    Ok(Identifier::new(Kind::Ton, &value, s.to_owned(), facts))
}

fn format() -> Rejection {
    Rejection::new(RejectionCode::TonFormat, "A TON address is 48 characters (starting EQ or UQ) or a raw 0:… address.")
}

#[cfg(test)]
mod tests {
    use super::*;

    const RAW: &str = "0:83dfd552e63729b472fcbcc8c45ebcc6691702558b68ec7527e1ba403a0f31a8";

    fn friendly(flags: u8, workchain: i8, account: &[u8; 32], url_safe: bool) -> String {
        let mut bytes = [0u8; 36];
        bytes[0] = flags;
        bytes[1] = workchain.to_be_bytes()[0];
        bytes[2..34].copy_from_slice(account);
        let crc = crc16_xmodem(&bytes[..34]).to_be_bytes();
        bytes[34..].copy_from_slice(&crc);
        if url_safe { URL_SAFE_NO_PAD.encode(bytes) } else { STANDARD_NO_PAD.encode(bytes) }
    }

    #[test]
    fn crc16_xmodem_check_value() {
        // The catalogue check value of CRC-16/XMODEM.
        assert_eq!(crc16_xmodem(b"123456789"), 0x31C3);
    }

    #[test]
    fn documented_example_in_every_form() {
        for form in [
            RAW,
            "EQCD39VS5jcptHL8vMjEXrzGaRcCVYto7HUn4bpAOg8xqB2N",
            "UQCD39VS5jcptHL8vMjEXrzGaRcCVYto7HUn4bpAOg8xqEBI",
        ] {
            let id = parse(form).unwrap_or_else(|e| panic!("{form}: {e}"));
            assert_eq!(id.key, format!("ton:{RAW}"), "{form}");
        }
    }

    #[test]
    fn bounceable_non_bounceable_base64_and_base64url_agree() {
        let account = [0xfbu8; 32];
        let mut keys = std::collections::BTreeSet::new();
        for (flags, url_safe) in
            [(BOUNCEABLE, true), (NON_BOUNCEABLE, true), (BOUNCEABLE, false), (NON_BOUNCEABLE, false)]
        {
            let address = friendly(flags, -1, &account, url_safe);
            assert!(looks_like(&address));
            keys.insert(parse(&address).unwrap().key);
        }
        keys.insert(parse(&format!("-1:{}", hex_lower(&account))).unwrap().key);
        assert_eq!(keys.len(), 1, "{keys:?}");
        assert!(keys.contains(&format!("ton:-1:{}", "fb".repeat(32))));
    }

    #[test]
    fn rejections() {
        assert_eq!(
            parse("EQCD39VS5jcptHL8vMjEXrzGaRcCVYto7HUn4bpAOg8xqB2M").unwrap_err().code,
            RejectionCode::TonChecksum
        );
        let testnet = friendly(BOUNCEABLE | TESTNET, 0, &[1; 32], true);
        assert_eq!(parse(&testnet).unwrap_err().code, RejectionCode::TonFormat);
        assert_eq!(parse("0:83dfd552").unwrap_err().code, RejectionCode::TonFormat);
        assert_eq!(
            parse("x:83dfd552e63729b472fcbcc8c45ebcc6691702558b68ec7527e1ba403a0f31a8").unwrap_err().code,
            RejectionCode::TonFormat
        );
    }
}
