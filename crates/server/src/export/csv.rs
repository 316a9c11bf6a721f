//! CSV (RFC 4180: CRLF, fields quoted when needed, one header line that never changes): a
//! cluster's reports, payments and identifiers as three files in a zip, and the feed's identifiers
//! as one file.

use std::io::Write;

use scamtrail_store::{ExportIdentifier, ExportReport};

use super::model::{Cluster, decimal, stamp, value_of};
use super::stream::{Out, Stopped};

/// The header of `reports.csv`.
pub const REPORT_HEADER: [&str; 9] = [
    "reference",
    "received_at",
    "category",
    "first_contact_at",
    "last_contact_at",
    "contact_channels",
    "contact_ongoing",
    "payment_count",
    "identifier_keys",
];
/// The header of `payments.csv`.
pub const PAYMENT_HEADER: [&str; 10] = [
    "reference",
    "position",
    "amount_minor",
    "amount",
    "currency",
    "method",
    "paid_at",
    "transaction_hash",
    "recall_requested",
    "beneficiary_key",
];
/// The header of `identifiers.csv` and of the feed.
pub const IDENTIFIER_HEADER: [&str; 11] = [
    "key",
    "kind",
    "value",
    "display",
    "state",
    "report_count",
    "first_seen",
    "last_seen",
    "cluster_id",
    "categories",
    "links",
];

fn writer<W: Write>(out: W) -> csv::Writer<W> {
    csv::WriterBuilder::new().terminator(csv::Terminator::CRLF).from_writer(out)
}

fn csv_error(e: csv::Error) -> Stopped {
    Stopped::Io(std::io::Error::other(e.to_string()))
}

fn instant(at: Option<scamtrail_core::UnixMicros>) -> String {
    at.map(stamp).unwrap_or_default()
}

/// Writes `reports.csv`.
pub async fn reports<O: Out>(out: &mut O, cluster: &Cluster) -> Result<(), Stopped> {
    let mut w = writer(Vec::new());
    w.write_record(REPORT_HEADER).map_err(csv_error)?;
    let mut after = 0;
    loop {
        let page = cluster.reports(after).await?;
        let Some(last) = page.last() else { break };
        after = last.id;
        for r in &page {
            report_row(&mut w, r)?;
        }
        hand_on(&mut w, out).await?;
    }
    hand_on(&mut w, out).await
}

/// Moves what the CSV writer holds to `out` and hands it on (the csv crate's writer owns its
/// output, so each page is written to a buffer first).
async fn hand_on<O: Out>(w: &mut csv::Writer<Vec<u8>>, out: &mut O) -> Result<(), Stopped> {
    w.flush()?;
    let written = std::mem::replace(w, writer(Vec::new())).into_inner().map_err(|e| Stopped::Io(e.into_error()))?;
    out.write_all(&written)?;
    out.page_done().await
}

fn report_row<W: Write>(w: &mut csv::Writer<W>, r: &ExportReport) -> Result<(), Stopped> {
    let keys: Vec<&str> = r.identifiers.iter().map(|l| l.key.as_str()).collect();
    w.write_record([
        r.reference.as_str(),
        &stamp(r.received_at),
        &r.category,
        &instant(r.first_contact_at),
        &instant(r.last_contact_at),
        &r.contact_channels,
        if r.contact_ongoing { "true" } else { "false" },
        &r.payments.len().to_string(),
        &keys.join(" "),
    ])
    .map_err(csv_error)
}

/// Writes `payments.csv`.
pub async fn payments<O: Out>(out: &mut O, cluster: &Cluster) -> Result<(), Stopped> {
    let mut w = writer(Vec::new());
    w.write_record(PAYMENT_HEADER).map_err(csv_error)?;
    let mut after = 0;
    loop {
        let page = cluster.reports(after).await?;
        let Some(last) = page.last() else { break };
        after = last.id;
        for r in &page {
            for p in &r.payments {
                let beneficiary = r
                    .identifiers
                    .iter()
                    .find(|l| l.payment_position == Some(p.position))
                    .map(|l| l.key.as_str())
                    .unwrap_or_default();
                w.write_record([
                    r.reference.as_str(),
                    &p.position.to_string(),
                    &p.amount_minor.to_string(),
                    &decimal(p.amount_minor, &p.currency),
                    &p.currency,
                    p.method.as_deref().unwrap_or_default(),
                    &instant(p.paid_at),
                    &p.transaction_hash,
                    if p.recall_requested { "true" } else { "false" },
                    beneficiary,
                ])
                .map_err(csv_error)?;
            }
        }
        hand_on(&mut w, out).await?;
    }
    hand_on(&mut w, out).await
}

/// Writes `identifiers.csv`.
pub async fn identifiers<O: Out>(out: &mut O, cluster: &Cluster) -> Result<(), Stopped> {
    let mut w = writer(Vec::new());
    w.write_record(IDENTIFIER_HEADER).map_err(csv_error)?;
    let mut after = 0;
    loop {
        let page = cluster.identifiers(after).await?;
        let Some(last) = page.last() else { break };
        after = last.id;
        for i in &page {
            identifier_row(&mut w, i)?;
        }
        hand_on(&mut w, out).await?;
    }
    hand_on(&mut w, out).await
}

/// Writes one page of the feed as CSV (with the header when `header`).
pub fn feed_page<W: Write>(out: W, page: &[ExportIdentifier], header: bool) -> Result<(), Stopped> {
    let mut w = writer(out);
    if header {
        w.write_record(IDENTIFIER_HEADER).map_err(csv_error)?;
    }
    for i in page {
        identifier_row(&mut w, i)?;
    }
    w.flush()?;
    Ok(())
}

fn identifier_row<W: Write>(w: &mut csv::Writer<W>, i: &ExportIdentifier) -> Result<(), Stopped> {
    let categories: Vec<&str> = i.categories.iter().map(|c| c.as_str()).collect();
    w.write_record([
        i.key.as_str(),
        &i.kind,
        value_of(&i.key),
        &i.display,
        i.state.as_str(),
        &i.report_count.to_string(),
        &instant(i.first_seen),
        &instant(i.last_seen),
        &i.cluster_id.map(|c| c.to_string()).unwrap_or_default(),
        &categories.join(" "),
        if i.state.links() { "true" } else { "false" },
    ])
    .map_err(csv_error)
}
