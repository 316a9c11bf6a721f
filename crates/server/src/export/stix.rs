//! STIX 2.1 bundles, for OpenCTI and most CTI platforms: the producing service as an `identity`,
//! the scammers' identifiers as SCOs (the standard `domain-name`, `url`, `email-addr`, `user-account`, and
//! OpenCTI's custom `bank-account`, `phone-number` and `cryptocurrency-wallet`, flagged with its
//! new-SCO extension definition) with the ids the STIX specification defines (UUIDv5 over the
//! id-contributing properties), one `observed-data` per report, the cluster as a `grouping`, and a
//! TLP 2.0 marking on every object.
//!
//! Written by hand with serde_json: the Rust STIX crates are for STIX 2.0 or unmaintained.
//! Objects stream out a page at a time; the grouping's `object_refs` are written by reading the
//! pages again, since every id is computed from its record.

use std::io::Write;

use scamtrail_core::UnixMicros;
use scamtrail_store::{ExportIdentifier, ExportReport};
use serde_json::{Value, json};
use uuid::Uuid;

use super::model::{Cluster, chain_of, decimal, id_of, is_handle, stamp, url_of, value_of};
use super::stream::{Out, Stopped};

/// The namespace the STIX specification gives for SCO ids.
const SCO_NAMESPACE: Uuid = Uuid::from_u128(0x00ab_edb4_aa42_466c_9c01_fed2_3315_a9b7);
/// OpenCTI's extension definition for its own SCO types.
const OPENCTI_NEW_SCO: &str = "extension-definition--f93e2c80-4231-4f9a-af8b-95c9bd566a82";
/// The TLP 2.0 property extension of the OASIS common objects.
const TLP_EXTENSION: &str = "extension-definition--60a3c5c5-0d10-413e-aab3-9e08dde9e88d";
/// When the producing identity and the extension definition were created: fixed, so that every
/// export names them the same.
const EPOCH: &str = "2026-01-01T00:00:00.000Z";

/// A TLP 2.0 marking.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Tlp {
    /// TLP:CLEAR.
    Clear,
    /// TLP:GREEN.
    Green,
    /// TLP:AMBER.
    Amber,
    /// TLP:AMBER+STRICT (the default: a case stays within the receiving organisation).
    #[default]
    AmberStrict,
    /// TLP:RED.
    Red,
}

impl Tlp {
    /// The marking's lower-case name (`amber+strict`), as MISP tags and the STIX extension write it.
    pub fn name(self) -> &'static str {
        match self {
            Tlp::Clear => "clear",
            Tlp::Green => "green",
            Tlp::Amber => "amber",
            Tlp::AmberStrict => "amber+strict",
            Tlp::Red => "red",
        }
    }

    /// The marking definition's id, as the OASIS common objects fix it.
    pub fn marking_id(self) -> &'static str {
        match self {
            Tlp::Clear => "marking-definition--94868c89-83c2-464b-929b-a1a8aa3c8487",
            Tlp::Green => "marking-definition--bab4a63c-aed9-4cf5-a766-dfca5abac2bb",
            Tlp::Amber => "marking-definition--55d920b0-5e8b-4f79-9ee9-91f868d9b421",
            Tlp::AmberStrict => "marking-definition--939a9414-2ddd-4d32-a0cd-375ea402b003",
            Tlp::Red => "marking-definition--e828b379-4e03-4974-9ac4-e53a884c97c1",
        }
    }
}

/// The producing service's identity id.
pub fn identity_id() -> String {
    format!("identity--{}", id_of("identity:scamtrail"))
}

/// An identifier's SCO type and its id-contributing properties, or `None` for kinds STIX has no
/// object for (BICs, transaction hashes).
fn sco_kind(kind: &str, key: &str) -> Option<(&'static str, Value)> {
    let value = value_of(key);
    Some(match kind {
        "iban" => ("bank-account", json!({ "iban": value })),
        "acct" => ("bank-account", json!({ "account_number": value })),
        "tel" => ("phone-number", json!({ "value": value })),
        "email" => ("email-addr", json!({ "value": value })),
        "domain" => ("domain-name", json!({ "value": value })),
        "url" => ("url", json!({ "value": url_of(key) })),
        k if is_handle(k) => ("user-account", json!({ "account_login": value, "account_type": k })),
        k => {
            chain_of(k)?;
            ("cryptocurrency-wallet", json!({ "value": value }))
        }
    })
}

fn id_from(sco_type: &str, contributing: &Value) -> String {
    // serde_json's maps keep keys sorted and write no spaces: for these flat string objects that
    // is the JSON Canonicalization Scheme the specification hashes.
    format!("{sco_type}--{}", Uuid::new_v5(&SCO_NAMESPACE, contributing.to_string().as_bytes()))
}

/// The SCO an identifier becomes, or `None` for kinds STIX has no object for.
pub fn sco(kind: &str, key: &str) -> Option<Value> {
    let (sco_type, contributing) = sco_kind(kind, key)?;
    let id = id_from(sco_type, &contributing);
    let mut object = contributing;
    let map = object.as_object_mut()?;
    let value = value_of(key);
    match kind {
        "iban" | "acct" => {
            map.insert("value".into(), value.into());
        }
        k => {
            if let Some(chain) = chain_of(k) {
                map.insert("labels".into(), json!([chain]));
            }
        }
    }
    map.insert("type".into(), sco_type.into());
    map.insert("spec_version".into(), "2.1".into());
    map.insert("id".into(), id.into());
    if matches!(sco_type, "bank-account" | "phone-number" | "cryptocurrency-wallet") {
        map.insert("extensions".into(), json!({ OPENCTI_NEW_SCO: { "extension_type": "new-sco" } }));
    }
    Some(object)
}

/// The id of an identifier's SCO.
pub fn sco_id(kind: &str, key: &str) -> Option<String> {
    sco_kind(kind, key).map(|(sco_type, contributing)| id_from(sco_type, &contributing))
}

/// Opens a bundle and writes the objects every bundle needs: the identity, the marking and the
/// extension definition.
pub fn open_bundle(out: &mut impl Write, bundle_name: &str, tlp: Tlp) -> Result<(), Stopped> {
    writeln!(out, "{{\"type\":\"bundle\",\"id\":\"bundle--{}\",\"objects\":[", id_of(bundle_name))?;
    let identity = json!({
        "type": "identity", "spec_version": "2.1", "id": identity_id(), "created": EPOCH, "modified": EPOCH,
        "name": "scamtrail", "identity_class": "organization",
        "description": "Fraud-victim reports, normalised and clustered",
    });
    let marking = json!({
        "type": "marking-definition", "spec_version": "2.1", "id": tlp.marking_id(),
        "created": "2022-10-01T00:00:00.000Z", "name": format!("TLP:{}", tlp.name().to_ascii_uppercase()),
        "extensions": { TLP_EXTENSION: { "extension_type": "property-extension", "tlp_2_0": tlp.name() } },
    });
    let extension = json!({
        "type": "extension-definition", "spec_version": "2.1", "id": OPENCTI_NEW_SCO, "created": EPOCH,
        "modified": EPOCH, "created_by_ref": identity_id(), "name": "OpenCTI observables",
        "description": "OpenCTI's SCO types: bank-account, phone-number, cryptocurrency-wallet",
        "schema": "https://github.com/OpenCTI-Platform/opencti", "version": "1.0", "extension_types": ["new-sco"],
    });
    serde_json::to_writer(&mut *out, &identity).map_err(std::io::Error::other)?;
    out.write_all(b",\n")?;
    serde_json::to_writer(&mut *out, &marking).map_err(std::io::Error::other)?;
    out.write_all(b",\n")?;
    serde_json::to_writer(&mut *out, &extension).map_err(std::io::Error::other)?;
    Ok(())
}

/// Writes one more object of an open bundle.
pub fn object(out: &mut impl Write, mut object: Value, tlp: Tlp) -> Result<(), Stopped> {
    if let Some(map) = object.as_object_mut() {
        map.insert("object_marking_refs".into(), json!([tlp.marking_id()]));
    }
    out.write_all(b",\n")?;
    serde_json::to_writer(&mut *out, &object).map_err(std::io::Error::other)?;
    Ok(())
}

/// Closes a bundle.
pub fn close_bundle(out: &mut impl Write) -> Result<(), Stopped> {
    out.write_all(b"\n]}\n")?;
    Ok(())
}

/// Writes the SCOs of a page of identifiers.
pub fn identifiers(out: &mut impl Write, page: &[ExportIdentifier], tlp: Tlp) -> Result<(), Stopped> {
    for i in page {
        if let Some(sco) = sco(&i.kind, &i.key) {
            object(out, sco, tlp)?;
        }
    }
    Ok(())
}

fn observed_id(r: &ExportReport) -> String {
    format!("observed-data--{}", id_of(&format!("report:{}", r.reference)))
}

fn observed_data(r: &ExportReport) -> Option<Value> {
    let refs: Vec<String> = r.identifiers.iter().filter_map(|l| sco_id(&l.kind, &l.key)).collect();
    // observed-data must refer to something; a report without identifiers STIX knows has nothing
    // to show here (its reference is still in the CSVs).
    if refs.is_empty() {
        return None;
    }
    let first = r.first_contact_at.unwrap_or(r.received_at).min(r.received_at);
    let last = r.last_contact_at.unwrap_or(r.received_at).max(first);
    Some(json!({
        "type": "observed-data", "spec_version": "2.1", "id": observed_id(r), "created_by_ref": identity_id(),
        "created": stamp(r.received_at), "modified": stamp(r.received_at),
        "first_observed": stamp(first), "last_observed": stamp(last), "number_observed": 1,
        "object_refs": refs, "labels": [r.category],
        "external_references": [{ "source_name": "scamtrail", "external_id": r.reference }],
    }))
}

/// Writes a cluster's bundle.
pub async fn cluster<O: Out>(out: &mut O, cluster: &Cluster, tlp: Tlp) -> Result<(), Stopped> {
    let view = &cluster.view;
    open_bundle(out, &format!("cluster:{}", view.id), tlp)?;
    let mut after = 0;
    loop {
        let page = cluster.identifiers(after).await?;
        let Some(last) = page.last() else { break };
        after = last.id;
        identifiers(out, &page, tlp)?;
        out.page_done().await?;
    }
    let mut after = 0;
    loop {
        let page = cluster.reports(after).await?;
        let Some(last) = page.last() else { break };
        after = last.id;
        for r in &page {
            if let Some(o) = observed_data(r) {
                object(out, o, tlp)?;
            }
        }
        out.page_done().await?;
    }
    // The grouping, its references streamed from the pages again.
    let created = view.first_seen.unwrap_or(view.priority_at);
    let modified = view.last_seen.unwrap_or(created).max(created);
    let head = json!({
        "type": "grouping", "spec_version": "2.1", "id": format!("grouping--{}", id_of(&format!("cluster:{}", view.id))),
        "created_by_ref": identity_id(), "created": stamp(created), "modified": stamp(modified),
        "name": format!("scamtrail cluster {}", view.id), "description": description(view),
        "context": "suspicious-activity", "object_marking_refs": [tlp.marking_id()],
        "external_references": [{ "source_name": "scamtrail", "external_id": format!("cluster:{}", view.id) }],
    });
    let text = head.to_string();
    // Reopen the object to append object_refs, which may be long.
    out.write_all(b",\n")?;
    out.write_all(&text.as_bytes()[..text.len() - 1])?;
    out.write_all(b",\"object_refs\":[")?;
    let mut first = true;
    fn write_ref(out: &mut impl Write, first: &mut bool, id: &str) -> Result<(), Stopped> {
        if !std::mem::take(first) {
            out.write_all(b",")?;
        }
        serde_json::to_writer(&mut *out, id).map_err(std::io::Error::other)?;
        Ok(())
    }
    let mut after = 0;
    loop {
        let page = cluster.identifiers(after).await?;
        let Some(last) = page.last() else { break };
        after = last.id;
        for i in &page {
            if let Some(id) = sco_id(&i.kind, &i.key) {
                write_ref(out, &mut first, &id)?;
            }
        }
        out.page_done().await?;
    }
    let mut after = 0;
    loop {
        let page = cluster.reports(after).await?;
        let Some(last) = page.last() else { break };
        after = last.id;
        for r in &page {
            if r.identifiers.iter().any(|l| sco_kind(&l.kind, &l.key).is_some()) {
                write_ref(out, &mut first, &observed_id(r))?;
            }
        }
        out.page_done().await?;
    }
    // A grouping must refer to something: an empty cluster refers to its producer.
    if first {
        write_ref(out, &mut first, &identity_id())?;
    }
    out.write_all(b"]}")?;
    close_bundle(out)?;
    out.page_done().await
}

/// The grouping's description: the priority and why, and the loss.
pub fn description(view: &scamtrail_store::ClusterView) -> String {
    let mut text = format!(
        "{} reports from {} victims; loss {} {} in total",
        view.report_count,
        view.victim_count,
        decimal(view.total_loss_minor.into(), &view.reference_currency),
        view.reference_currency
    );
    for (currency, amount) in &view.loss_by_currency {
        text.push_str(&format!("; {} {currency} reported", decimal(*amount, currency)));
    }
    if view.recoverable_minor > 0 {
        text.push_str(&format!(
            "; {} {} still recoverable",
            decimal(view.recoverable_minor.into(), &view.reference_currency),
            view.reference_currency
        ));
    }
    text.push_str(&format!(". Priority {:.1}", view.priority_total));
    let parts: Vec<String> = view
        .priority_parts
        .iter()
        .filter(|p| p.value != 0.0)
        .map(|p| format!("{} {:.1} ({})", p.name, p.value, p.basis))
        .collect();
    if !parts.is_empty() {
        text.push_str(": ");
        text.push_str(&parts.join(", "));
    }
    text.push('.');
    text
}

/// When the feed's bundle is named from.
pub fn feed_bundle_name(since: &str, generated: UnixMicros) -> String {
    format!("feed:{since}:{}", generated.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The id `stix2` computes for the same IBAN (checked with stix2 3.0.2).
    #[test]
    fn sco_ids_are_the_specifications() {
        assert_eq!(
            sco_id("iban", "iban:DE89370400440532013000").as_deref(),
            Some("bank-account--0b603584-22df-51b2-93f8-694ccbde2623")
        );
        // stix2.URL(value="https://bit.ly/abc123").id
        assert_eq!(sco_id("url", "url:bit.ly/abc123").as_deref(), Some("url--f39c0a75-e669-5d3b-b4da-1b5a09a4a700"));
    }
}
