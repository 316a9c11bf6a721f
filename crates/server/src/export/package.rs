//! The referral package: one zip a police unit receives, with `case.html` (a summary a person
//! reads and prints; the reports of victims who consented to share them with the police), the CSVs, the STIX bundle, the MISP event and the GraphML under `data/`, and
//! a BagIt bag around them (`bagit.txt`, `bag-info.txt` with the sequence of the audit event that
//! recorded the export, `manifest-sha256.txt` over the files, `tagmanifest-sha256.txt` over the
//! tag files), so that the receiver can check that nothing changed.

use std::io::Write;

use sha2::{Digest, Sha256};

use super::graphml::escape;
use super::model::{Cluster, date, decimal, stamp};
use super::stix::{Tlp, description};
use super::stream::{Entry, Out, Shared, Sink, Stopped, Zip, finish_zip};
use super::{csv, graphml, misp, stix};

/// Records the export in the audit trail once the payload's size is known; answers the event's
/// sequence.
pub trait Recorder: Send {
    /// Appends the event.
    fn record(&mut self, size: u64) -> impl Future<Output = Result<i64, Stopped>> + Send;
}

/// Writes the package.
pub async fn write(sink: &mut Sink, cluster: &Cluster, tlp: Tlp, recorder: &mut impl Recorder) -> Result<(), Stopped> {
    let shared = Shared::default();
    let mut zip = Zip::new_stream(shared.clone());
    let id = cluster.view.id;
    let mut manifest: Vec<(String, String, u64)> = vec![];
    let files = [
        "case.html".to_owned(),
        "reports.csv".to_owned(),
        "payments.csv".to_owned(),
        "identifiers.csv".to_owned(),
        format!("cluster-{id}.stix.json"),
        format!("cluster-{id}.misp.json"),
        format!("cluster-{id}.graphml"),
    ];
    for (n, name) in files.iter().enumerate() {
        let path = format!("data/{name}");
        let mut entry = Entry::start(&mut zip, &shared, sink, &path)?;
        match n {
            0 => case_html(&mut entry, cluster, tlp).await?,
            1 => csv::reports(&mut entry, cluster).await?,
            2 => csv::payments(&mut entry, cluster).await?,
            3 => csv::identifiers(&mut entry, cluster).await?,
            4 => stix::cluster(&mut entry, cluster, tlp).await?,
            5 => misp::cluster(&mut entry, cluster, tlp).await?,
            _ => graphml::cluster(&mut entry, cluster).await?,
        }
        let (hash, size) = entry.finish().await?;
        manifest.push((path, hash, size));
    }
    let payload: u64 = manifest.iter().map(|(_, _, size)| size).sum();
    let sequence = recorder.record(payload).await?;
    let mut tags: Vec<(String, String)> = vec![];
    let bagit = "BagIt-Version: 1.0\nTag-File-Character-Encoding: UTF-8\n".to_owned();
    let info = format!(
        "Source-Organization: scamtrail\nExternal-Identifier: cluster:{id}\nPayload-Oxum: {payload}.{}\n\
         Scamtrail-Audit-Sequence: {sequence}\nScamtrail-Marking: TLP:{}\n",
        manifest.len(),
        tlp.name().to_ascii_uppercase()
    );
    let lines: String = manifest.iter().map(|(path, hash, _)| format!("{hash}  {path}\n")).collect();
    for (name, text) in [("bagit.txt", bagit), ("bag-info.txt", info), ("manifest-sha256.txt", lines)] {
        let mut entry = Entry::start(&mut zip, &shared, sink, name)?;
        entry.write_all(text.as_bytes())?;
        entry.finish().await?;
        tags.push((name.to_owned(), hex::encode(Sha256::digest(text.as_bytes()))));
    }
    let lines: String = tags.iter().map(|(path, hash)| format!("{hash}  {path}\n")).collect();
    let mut entry = Entry::start(&mut zip, &shared, sink, "tagmanifest-sha256.txt")?;
    entry.write_all(lines.as_bytes())?;
    entry.finish().await?;
    finish_zip(zip, &shared, sink).await
}

/// A zip of the three CSV files (a cluster's CSV export).
pub async fn csv_zip(sink: &mut Sink, cluster: &Cluster) -> Result<(), Stopped> {
    let shared = Shared::default();
    let mut zip = Zip::new_stream(shared.clone());
    for name in ["reports.csv", "payments.csv", "identifiers.csv"] {
        let mut entry = Entry::start(&mut zip, &shared, sink, name)?;
        match name {
            "reports.csv" => csv::reports(&mut entry, cluster).await?,
            "payments.csv" => csv::payments(&mut entry, cluster).await?,
            _ => csv::identifiers(&mut entry, cluster).await?,
        }
        entry.finish().await?;
    }
    finish_zip(zip, &shared, sink).await
}

const STYLE: &str = "body{font-family:sans-serif;max-width:60em;margin:2em auto;color:#111}\
table{border-collapse:collapse;margin:1em 0}td,th{border:1px solid #999;padding:.2em .5em;text-align:left}\
.marking{font-weight:bold;color:#b45309}@media print{body{margin:0}}";

/// Writes `case.html`: self-contained (inline style, no scripts, no outside resources).
async fn case_html(out: &mut Entry<'_>, cluster: &Cluster, tlp: Tlp) -> Result<(), Stopped> {
    let v = &cluster.view;
    let marking = format!("TLP:{}", tlp.name().to_ascii_uppercase());
    write!(
        out,
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>scamtrail cluster {id}</title>\
         <style>{STYLE}</style></head><body>\n<p class=\"marking\">{marking}</p>\n<h1>Cluster {id}</h1>\n\
         <h2>Priority</h2><p>{summary}</p>\n<h2>Totals</h2><table><tr><th>Currency</th><th>Reported loss</th></tr>",
        id = v.id,
        summary = escape(&description(v)),
    )?;
    for (currency, amount) in &v.loss_by_currency {
        write!(out, "<tr><td>{}</td><td>{}</td></tr>", escape(currency), decimal(*amount, currency))?;
    }
    write!(
        out,
        "<tr><th>{} (reference)</th><th>{}</th></tr></table>\n<p>Reports: {}; victims: {}; first report {}; latest {}.</p>\n",
        escape(&v.reference_currency),
        decimal(v.total_loss_minor.into(), &v.reference_currency),
        v.report_count,
        v.victim_count,
        v.first_seen.map(date).unwrap_or_default(),
        v.last_seen.map(date).unwrap_or_default()
    )?;
    match v.recall_closes_at {
        Some(at) => writeln!(
            out,
            "<h2>Recall window</h2><p>{} {} can still be recalled; the window closes {}.</p>",
            decimal(v.recoverable_minor.into(), &v.reference_currency),
            escape(&v.reference_currency),
            stamp(at)
        )?,
        None => out.write_all(b"<h2>Recall window</h2><p>No payment is still within its recall window.</p>\n")?,
    }
    out.write_all(b"<h2>Identifiers by kind</h2><table><tr><th>Kind</th><th>Count</th></tr>")?;
    for (kind, count) in &v.identifiers_by_kind {
        write!(out, "<tr><td>{}</td><td>{count}</td></tr>", escape(kind))?;
    }
    out.write_all(b"</table>\n<h2>Identifiers</h2><table><tr><th>Identifier</th><th>State</th><th>Reports</th></tr>")?;
    let mut after = 0;
    loop {
        let page = cluster.identifiers(after).await?;
        let Some(last) = page.last() else { break };
        after = last.id;
        for i in &page {
            writeln!(
                out,
                "<tr><td>{}</td><td>{}</td><td>{}</td></tr>",
                escape(&i.display),
                i.state.as_str(),
                i.report_count
            )?;
        }
        out.page_done().await?;
    }
    // The timeline shows what happened, only for the reports whose victims consented to share
    // them with the police (the cluster's `shown`); who it happened to in the section after it.
    out.write_all(
        b"</table>\n<h2>Timeline</h2><table><tr><th>Received</th><th>Reference</th><th>Category</th><th>Payments</th>\
          <th>Victim consents to share</th></tr>",
    )?;
    let mut after = 0;
    let mut listed: i64 = 0;
    loop {
        let page = cluster.reports(after).await?;
        let Some(last) = page.last() else { break };
        after = last.id;
        listed += page.len() as i64;
        for r in &page {
            let paid: Vec<String> =
                r.payments.iter().map(|p| format!("{} {}", decimal(p.amount_minor, &p.currency), p.currency)).collect();
            writeln!(
                out,
                "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
                stamp(r.received_at),
                escape(&r.reference),
                escape(&r.category),
                escape(&paid.join(", ")),
                if r.consent_to_share_with_police { "yes" } else { "no" }
            )?;
        }
        out.page_done().await?;
    }
    out.write_all(
        b"</table>\n<h2>Victims who consent to share with the police</h2><table><tr><th>Reference</th><th>Name</th>\
          <th>E-mail</th><th>Phone</th><th>Account</th></tr>",
    )?;
    let mut after = 0;
    loop {
        let page = cluster.reports(after).await?;
        let Some(last) = page.last() else { break };
        after = last.id;
        let consenting: Vec<i64> = page.iter().filter(|r| r.consent_to_share_with_police).map(|r| r.id).collect();
        let victims = cluster.consenting_victims(&consenting).await?;
        for victim in &victims {
            let reference = page.iter().find(|r| r.id == victim.report_id).map_or("", |r| r.reference.as_str());
            writeln!(
                out,
                "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
                escape(reference),
                escape(&victim.name),
                escape(&victim.email),
                escape(&victim.phone),
                escape(&victim.narrative)
            )?;
        }
        out.page_done().await?;
    }
    out.write_all(b"</table>\n")?;
    if listed < v.report_count {
        writeln!(
            out,
            "<p>{listed} of {} reports are listed: the victims of the others did not consent to share them with \
             the police. The totals count every report.</p>",
            v.report_count
        )?;
    }
    write!(out, "<p class=\"marking\">{marking}</p>\n</body></html>\n")?;
    Ok(())
}
