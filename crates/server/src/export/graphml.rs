//! GraphML, for Gephi, yEd and networkx: the bipartite graph of a cluster's reports and the
//! identifiers they carry, with typed attributes (numbers as numbers, so that Gephi can size and
//! filter by them). Hand-written: `petgraph-graphml` writes every attribute as a string.

use std::io::Write;

use super::model::{Cluster, stamp, value_of};
use super::stream::{Out, Stopped};

/// The attribute keys: (id, for, name, type).
const KEYS: &[(&str, &str, &str, &str)] = &[
    ("kind", "node", "kind", "string"),
    ("label", "node", "label", "string"),
    ("reports", "node", "report_count", "int"),
    ("loss", "node", "loss_minor", "long"),
    ("currency", "node", "currency", "string"),
    ("state", "node", "state", "string"),
    ("links", "node", "links", "boolean"),
    ("bridge", "node", "bridge", "boolean"),
    ("standing", "node", "bridge_standing", "string"),
    ("received", "node", "received_at", "string"),
    ("category", "node", "category", "string"),
    ("role", "edge", "role", "string"),
    ("weight", "edge", "weight", "double"),
];

/// Escapes text for XML, dropping the control characters XML 1.0 cannot carry.
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            c if (c as u32) < 0x20 && !matches!(c, '\t' | '\n' | '\r') => {}
            c => out.push(c),
        }
    }
    out
}

fn data(out: &mut impl Write, key: &str, value: &str) -> Result<(), Stopped> {
    write!(out, "<data key=\"{key}\">{}</data>", escape(value))?;
    Ok(())
}

/// Writes a cluster's graph.
pub async fn cluster<O: Out>(out: &mut O, cluster: &Cluster) -> Result<(), Stopped> {
    let view = &cluster.view;
    out.write_all(b"<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n")?;
    out.write_all(b"<graphml xmlns=\"http://graphml.graphdrawing.org/xmlns\">\n")?;
    for (id, target, name, kind) in KEYS {
        writeln!(out, "<key id=\"{id}\" for=\"{target}\" attr.name=\"{name}\" attr.type=\"{kind}\"/>")?;
    }
    writeln!(out, "<graph id=\"cluster-{}\" edgedefault=\"undirected\">", view.id)?;
    let mut after = 0;
    loop {
        let page = cluster.identifiers(after).await?;
        let Some(last) = page.last() else { break };
        after = last.id;
        for i in &page {
            write!(out, "<node id=\"{}\">", escape(&i.key))?;
            data(out, "kind", &i.kind)?;
            data(out, "label", value_of(&i.key))?;
            data(out, "reports", &i.report_count.to_string())?;
            data(out, "state", i.state.as_str())?;
            data(out, "links", if i.state.links() { "true" } else { "false" })?;
            // A bridge: it joins groups of reports that stand on their own evidence (the bridge
            // rule holds it, marks it, or a supervisor linked it).
            data(out, "bridge", if i.bridge.is_empty() { "false" } else { "true" })?;
            data(out, "standing", &i.bridge)?;
            out.write_all(b"</node>\n")?;
        }
        out.page_done().await?;
    }
    let mut after = 0;
    loop {
        let page = cluster.reports(after).await?;
        let Some(last) = page.last() else { break };
        after = last.id;
        for r in &page {
            let node = format!("report:{}", r.reference);
            write!(out, "<node id=\"{}\">", escape(&node))?;
            data(out, "kind", "report")?;
            data(out, "label", &r.reference)?;
            // Loss in the report's first currency, for a report paid in one (the usual case).
            let currency = r.payments.first().map(|p| p.currency.clone()).unwrap_or_default();
            let loss: i128 = r
                .payments
                .iter()
                .filter(|p| p.currency == currency)
                .fold(0i128, |sum, p| sum.saturating_add(p.amount_minor));
            data(out, "loss", &loss.to_string())?;
            data(out, "currency", &currency)?;
            data(out, "received", &stamp(r.received_at))?;
            data(out, "category", &r.category)?;
            out.write_all(b"</node>\n")?;
            for l in &r.identifiers {
                write!(out, "<edge source=\"{}\" target=\"{}\">", escape(&node), escape(&l.key))?;
                data(out, "role", l.role.as_deref().unwrap_or("other"))?;
                data(out, "weight", "1.0")?;
                out.write_all(b"</edge>\n")?;
            }
        }
        out.page_done().await?;
    }
    out.write_all(b"</graph>\n</graphml>\n")?;
    out.page_done().await
}
