//! MISP event JSON, for MISP and CSIRTs: the cluster is the Event (info, date, threat level,
//! analysis, distribution, a `tlp:` tag, an `annotation` object with the summary); IBANs and
//! accounts become `bank-account` objects, numbers `phone-number` objects, wallets `coin-address`
//! objects, domains, links, e-mail addresses and handles plain attributes, each report a `report` object
//! (the reference as `case-number`, a summary without victim data) referring to its identifiers.
//! Object names, relations, template ids and versions are those of the misp-objects templates
//! PyMISP validates against.
//!
//! Written by hand with serde_json (no maintained Rust MISP crate), a page at a time; every uuid
//! is derived from its record, so two exports of the same cluster are the same.

use std::io::Write;

use scamtrail_store::{ExportIdentifier, ExportReport};
use serde_json::{Value, json};

use super::model::{Cluster, chain_of, date, decimal, id_of, is_handle, url_of, value_of};
use super::stix::{Tlp, description};
use super::stream::{Out, Stopped};

/// A plain attribute: (type, category).
fn attribute_type(kind: &str) -> Option<(&'static str, &'static str)> {
    match kind {
        "domain" => Some(("domain", "Network activity")),
        "url" => Some(("url", "Network activity")),
        "email" => Some(("email-src", "Payload delivery")),
        k if is_handle(k) => Some(("text", "Social network")),
        _ => None,
    }
}

fn uuid(name: &str) -> String {
    id_of(&format!("misp:{name}")).to_string()
}

/// The uuid of what an identifier becomes (object or attribute).
fn identifier_uuid(key: &str) -> String {
    uuid(key)
}

fn object_attribute(key: &str, relation: &str, kind: &str, category: &str, value: &str, to_ids: bool) -> Value {
    json!({
        "uuid": uuid(&format!("{key}:{relation}")), "object_relation": relation, "type": kind,
        "category": category, "value": value, "to_ids": to_ids, "disable_correlation": false,
    })
}

fn template(name: &str) -> (&'static str, u32, &'static str) {
    match name {
        "bank-account" => ("b4712203-95a8-4883-80e9-b566f5df11c9", 3, "financial"),
        "phone-number" => ("c4b5a67c-63d2-11ec-90d6-0242ac120003", 1, "mobile"),
        "coin-address" => ("d0e6997e-78da-4815-a6a1-cfc1c1cb8a46", 7, "financial"),
        "report" => ("70a68471-df22-4e3f-aa1a-5a3be19f82df", 8, "misc"),
        _ => ("5d8dc046-15a1-4ca3-a09f-ed4ede7c4487", 3, "misc"),
    }
}

fn misp_object(uuid: String, name: &str, attributes: Vec<Value>, references: Vec<Value>) -> Value {
    let (template_uuid, version, meta) = template(name);
    let mut object = json!({
        "uuid": uuid, "name": name, "meta-category": meta, "template_uuid": template_uuid,
        "template_version": version.to_string(), "distribution": "5", "Attribute": attributes,
    });
    if !references.is_empty() {
        object["ObjectReference"] = references.into();
    }
    object
}

/// The object an identifier becomes, if it becomes one.
fn identifier_object(i: &ExportIdentifier) -> Option<Value> {
    let key = i.key.as_str();
    let value = value_of(key);
    let attributes = match i.kind.as_str() {
        "iban" => vec![object_attribute(key, "iban", "iban", "Financial fraud", value, true)],
        "acct" => vec![object_attribute(key, "account", "bank-account-nr", "Financial fraud", value, true)],
        "tel" => vec![object_attribute(key, "phone-number", "phone-number", "Financial fraud", value, true)],
        "btc" => vec![
            object_attribute(key, "address", "btc", "Financial fraud", value, true),
            object_attribute(key, "symbol", "text", "Other", "BTC", false),
        ],
        k => {
            let chain = chain_of(k)?;
            vec![
                object_attribute(key, "address-crypto", "text", "Financial fraud", value, true),
                object_attribute(key, "symbol", "text", "Other", chain, false),
            ]
        }
    };
    let name = match i.kind.as_str() {
        "iban" | "acct" => "bank-account",
        "tel" => "phone-number",
        _ => "coin-address",
    };
    let mut object = misp_object(identifier_uuid(key), name, attributes, vec![]);
    object["comment"] = format!("reported {} times, state {}", i.report_count, i.state.as_str()).into();
    Some(object)
}

/// A plain attribute an identifier becomes, if it becomes one.
fn identifier_attribute(i: &ExportIdentifier) -> Option<Value> {
    let (kind, category) = attribute_type(&i.kind)?;
    let value = match i.kind.as_str() {
        k if is_handle(k) => i.key.clone(),
        "url" => url_of(&i.key),
        _ => value_of(&i.key).to_owned(),
    };
    Some(json!({
        "uuid": identifier_uuid(&i.key), "type": kind, "category": category, "value": value,
        "to_ids": kind != "text", "distribution": "5",
        "comment": format!("reported {} times, state {}", i.report_count, i.state.as_str()),
    }))
}

/// Whether a key becomes something the event holds (an object or an attribute).
fn exported(kind: &str) -> bool {
    matches!(kind, "iban" | "acct" | "tel") || chain_of(kind).is_some() || attribute_type(kind).is_some()
}

fn report_object(r: &ExportReport) -> Value {
    let summary = format!(
        "{} report received {}; {} payment(s){}; {} identifier(s)",
        r.category,
        date(r.received_at),
        r.payments.len(),
        r.payments
            .iter()
            .map(|p| format!(" {} {}", decimal(p.amount_minor, &p.currency), p.currency))
            .collect::<String>(),
        r.identifiers.len()
    );
    let name = format!("report:{}", r.reference);
    let references: Vec<Value> = r
        .identifiers
        .iter()
        .filter(|l| exported(&l.kind))
        .map(|l| {
            json!({
                "uuid": uuid(&format!("{name}->{}", l.key)), "object_uuid": uuid(&name),
                "referenced_uuid": identifier_uuid(&l.key), "relationship_type": "related-to",
            })
        })
        .collect();
    misp_object(
        uuid(&name),
        "report",
        vec![
            object_attribute(&name, "case-number", "text", "Internal reference", &r.reference, false),
            object_attribute(&name, "summary", "text", "Other", &summary, false),
        ],
        references,
    )
}

fn threat_level(view: &scamtrail_store::ClusterView) -> &'static str {
    // 1 high: money can still be recalled or contact goes on; 2 medium: several reports; 3 low.
    if view.recoverable_minor > 0 || view.ongoing_reports > 0 {
        "1"
    } else if view.report_count > 1 {
        "2"
    } else {
        "3"
    }
}

fn separator(out: &mut impl Write, first: &mut bool) -> Result<(), Stopped> {
    if !std::mem::take(first) {
        out.write_all(b",\n")?;
    }
    Ok(())
}

fn value(out: &mut impl Write, v: &Value) -> Result<(), Stopped> {
    serde_json::to_writer(&mut *out, v).map_err(std::io::Error::other)?;
    Ok(())
}

/// Opens an event; `header` holds its fields without `Attribute` and `Object`.
fn open_event(out: &mut impl Write, header: Value) -> Result<(), Stopped> {
    let text = header.to_string();
    out.write_all(b"{\"Event\":")?;
    out.write_all(&text.as_bytes()[..text.len() - 1])?;
    Ok(())
}

/// Writes a cluster's event.
pub async fn cluster<O: Out>(out: &mut O, cluster: &Cluster, tlp: Tlp) -> Result<(), Stopped> {
    let view = &cluster.view;
    let day = date(view.first_seen.unwrap_or(view.priority_at));
    let header = json!({
        "uuid": uuid(&format!("cluster:{}", view.id)),
        "info": format!("scamtrail cluster {}: {} reports, {} {} lost", view.id, view.report_count,
            decimal(view.total_loss_minor.into(), &view.reference_currency), view.reference_currency),
        "date": day, "threat_level_id": threat_level(view), "analysis": "1", "distribution": "0",
        "published": false, "Tag": [{ "name": format!("tlp:{}", tlp.name()) }],
    });
    open_event(out, header)?;
    out.write_all(b",\"Attribute\":[\n")?;
    let mut first = true;
    let mut after = 0;
    loop {
        let page = cluster.identifiers(after).await?;
        let Some(last) = page.last() else { break };
        after = last.id;
        for a in page.iter().filter_map(identifier_attribute) {
            separator(out, &mut first)?;
            value(out, &a)?;
        }
        out.page_done().await?;
    }
    out.write_all(b"],\"Object\":[\n")?;
    let annotation_name = format!("cluster:{}:annotation", view.id);
    let annotation = misp_object(
        uuid(&annotation_name),
        "annotation",
        vec![
            object_attribute(&annotation_name, "text", "text", "Other", &description(view), false),
            object_attribute(&annotation_name, "type", "text", "Other", "Executive Summary", false),
        ],
        vec![],
    );
    value(out, &annotation)?;
    let mut after = 0;
    loop {
        let page = cluster.identifiers(after).await?;
        let Some(last) = page.last() else { break };
        after = last.id;
        for o in page.iter().filter_map(identifier_object) {
            out.write_all(b",\n")?;
            value(out, &o)?;
        }
        out.page_done().await?;
    }
    let mut after = 0;
    loop {
        let page = cluster.reports(after).await?;
        let Some(last) = page.last() else { break };
        after = last.id;
        for r in &page {
            out.write_all(b",\n")?;
            value(out, &report_object(r))?;
        }
        out.page_done().await?;
    }
    out.write_all(b"\n]}}\n")?;
    out.page_done().await
}

/// Writes one page of the feed as an event.
pub fn feed(out: &mut impl Write, page: &[ExportIdentifier], name: &str, day: &str, tlp: Tlp) -> Result<(), Stopped> {
    let header = json!({
        "uuid": uuid(name), "info": format!("scamtrail indicator feed: {} identifiers", page.len()),
        "date": day, "threat_level_id": "2", "analysis": "2", "distribution": "0", "published": false,
        "Tag": [{ "name": format!("tlp:{}", tlp.name()) }],
    });
    open_event(out, header)?;
    out.write_all(b",\"Attribute\":[\n")?;
    let mut first = true;
    for a in page.iter().filter_map(identifier_attribute) {
        separator(out, &mut first)?;
        value(out, &a)?;
    }
    out.write_all(b"],\"Object\":[\n")?;
    let mut first = true;
    for o in page.iter().filter_map(identifier_object) {
        separator(out, &mut first)?;
        value(out, &o)?;
    }
    out.write_all(b"\n]}}\n")?;
    Ok(())
}
