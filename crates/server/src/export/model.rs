//! What every format shares: the cluster being exported and its pages, how a key becomes a value
//! and a kind the receiving tools know, deterministic ids, and timestamps.

use scamtrail_core::UnixMicros;
use scamtrail_store::{ClusterView, ExportIdentifier, ExportReport, ExportVictim, ReportsShown, Store};
use uuid::Uuid;

use super::stream::Stopped;

/// Records per page read from the store: a page of STIX is a few hundred kilobytes.
pub const PAGE: u64 = 500;

/// The namespace of scamtrail's own deterministic ids (UUIDv5 over a record's name), so that two
/// exports of the same cluster name its objects the same.
pub const SCAMTRAIL_NAMESPACE: Uuid = Uuid::from_u128(0x6a1f_3c2e_8b4d_5e9f_a0b1_c2d3_e4f5_0617);

/// A deterministic id for the record `name` (`cluster:12`, `report:ST-...`).
pub fn id_of(name: &str) -> Uuid {
    Uuid::new_v5(&SCAMTRAIL_NAMESPACE, name.as_bytes())
}

/// The cluster an export is written from.
pub struct Cluster {
    /// The store its pages are read from.
    pub store: Store,
    /// Its summary (aggregates, priority, referral).
    pub view: ClusterView,
    /// Which of its reports the export shows (the victims' consent, the caller's role).
    pub shown: ReportsShown,
}

impl Cluster {
    /// Reports after report id `after`.
    pub async fn reports(&self, after: i64) -> Result<Vec<ExportReport>, Stopped> {
        Ok(self.store.export_reports(self.view.id, after, PAGE, self.shown).await?)
    }

    /// The victims of `reports` who consented to share them with the police, for the referral.
    pub async fn consenting_victims(&self, reports: &[i64]) -> Result<Vec<ExportVictim>, Stopped> {
        Ok(self.store.export_victims(reports).await?)
    }

    /// Identifiers after identifier id `after`.
    pub async fn identifiers(&self, after: i64) -> Result<Vec<ExportIdentifier>, Stopped> {
        Ok(self.store.export_identifiers(self.view.id, after, PAGE).await?)
    }
}

/// The value a key stands for, as tools outside write it (`iban:DE89...` → `DE89...`).
pub fn value_of(key: &str) -> &str {
    key.split_once(':').map_or(key, |(_, value)| value)
}

/// A link's key as a URL (`url:bit.ly/abc` → `https://bit.ly/abc`): the key keeps the host and
/// the path that names the site, and the links it stands for (shorteners, link pages, site
/// hosts) are served over HTTPS.
pub fn url_of(key: &str) -> String {
    format!("https://{}", value_of(key))
}

/// The ticker of a wallet kind, or `None` for kinds that are not wallets.
pub fn chain_of(kind: &str) -> Option<&'static str> {
    Some(match kind {
        "btc" => "BTC",
        "evm" => "ETH",
        "trx" => "TRX",
        "ltc" => "LTC",
        "xrp" => "XRP",
        "sol" => "SOL",
        "ton" => "TON",
        _ => return None,
    })
}

/// Whether an identifier is a social-media or messaging handle.
pub fn is_handle(kind: &str) -> bool {
    matches!(kind, "telegram" | "instagram" | "tiktok" | "facebook" | "x")
}

/// An instant as STIX and MISP write it: RFC 3339 in UTC, to the millisecond.
pub fn stamp(at: UnixMicros) -> String {
    let nanos = i128::from(at.0.div_euclid(1000)) * 1_000_000;
    match time::OffsetDateTime::from_unix_timestamp_nanos(nanos) {
        Ok(t) => format!(
            "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:03}Z",
            t.year(),
            u8::from(t.month()),
            t.day(),
            t.hour(),
            t.minute(),
            t.second(),
            t.millisecond()
        ),
        Err(_) => "1970-01-01T00:00:00.000Z".to_owned(),
    }
}

/// The date part of [`stamp`].
pub fn date(at: UnixMicros) -> String {
    stamp(at)[..10].to_owned()
}

/// An amount in minor units as a decimal number in its currency's units (`1234` EUR → `12.34`).
pub fn decimal(amount_minor: i128, currency: &str) -> String {
    let places = scamtrail_core::decimals(currency);
    let sign = if amount_minor < 0 { "-" } else { "" };
    let magnitude = amount_minor.unsigned_abs();
    if places == 0 {
        return format!("{sign}{magnitude}");
    }
    let divisor = 10u128.pow(places);
    format!("{sign}{}.{:0width$}", magnitude / divisor, magnitude % divisor, width = places as usize)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn instants_are_written_to_the_millisecond_in_utc() {
        assert_eq!(stamp(UnixMicros(1_700_000_000_123_456)), "2023-11-14T22:13:20.123Z");
        assert_eq!(date(UnixMicros(0)), "1970-01-01");
    }

    #[test]
    fn amounts_keep_their_currency_decimals() {
        assert_eq!(decimal(123_456, "EUR"), "1234.56");
        assert_eq!(decimal(5, "EUR"), "0.05");
        assert_eq!(decimal(10_000, "JPY"), "10000");
        assert_eq!(decimal(-7, "EUR"), "-0.07");
    }
}
