//! The bridge rule (`scamtrail_core::bridges`) over the stored graph: judging one identifier from
//! its neighbourhood in the tables, settling the whole graph for `recluster`, and writing what the
//! rule decided (`identifiers.bridge`, `bridge_detail`, `bridge_groups`, `bridge_judged_at`).
//! Holding an identifier (it stops linking) and releasing one are changes to clusters, made by
//! [`crate::clustering`] with these judgements.
//!
//! Judging one identifier reads its own links, the links of its reports (the evidence) and, for
//! evidence identifiers with at most `expand_max_reports` reports, the links of their other
//! reports: bounded by its report count times `expand_max_reports` links, never a whole cluster.
//! The writer judges an identifier only when a batch adds reports to it and its count has grown by
//! a quarter since it was last judged, or by an eighth when the batch joins clusters through it
//! ([`BridgeConfig::due`], [`BridgeConfig::due_on_merge`]): geometric steps, so the reads an
//! identifier costs over its life stay within a small multiple of one judgement at its final size.

use std::collections::{BTreeMap, BTreeSet};

use scamtrail_core::{
    Bridge, BridgeConfig, BridgeStanding, BridgeVerdict, Edge, Evidence, IdentifierState, Mention, Settled, judge,
    settle_except,
};

use crate::db::{DbErr, IN_CHUNK, Tx, Value, placeholders};

/// A link of a report to an identifier that may count as evidence, with that identifier's report
/// count and strong count: `(report, identifier, reports, strong reports)`.
type Neighbour = (i64, i64, i64, i64);

/// Whether an identifier named by `reports` reports, `strong` of them strongly, is named mostly
/// in weak roles (and so is no evidence for others: two benign identifiers would vouch for each other).
fn weak(config: &BridgeConfig, reports: i64, strong: i64) -> bool {
    strong.saturating_mul(100) < reports.saturating_mul(config.strong_share_percent as i64)
}

/// The links of `reports` to linking identifiers other than `except` that count as evidence.
async fn neighbours(
    txn: &Tx<'_>,
    config: &BridgeConfig,
    reports: &[i64],
    except: i64,
) -> Result<Vec<Neighbour>, DbErr> {
    let mut out = Vec::new();
    for chunk in reports.chunks(IN_CHUNK) {
        let sql = format!(
            "SELECT l.report_id, l.identifier_id, i.report_count, i.strong_count FROM report_links l \
             JOIN identifiers i ON i.id = l.identifier_id WHERE l.report_id IN ({}) AND i.state = ? AND i.id <> ?",
            placeholders(chunk.len())
        );
        let mut values: Vec<Value> = chunk.iter().map(|&r| Value::from(r)).collect();
        values.extend([IdentifierState::Normal.as_str().into(), except.into()]);
        let rows: Vec<Neighbour> = txn.fetch(&sql, values).await?;
        out.extend(rows.into_iter().filter(|&(_, _, n, strong)| !weak(config, n, strong)));
    }
    Ok(out)
}

/// Judges one stored identifier from its neighbourhood (see the module comment); `None` when it
/// is not a bridge. Identifiers not in state normal (held, excluded, safelisted) are no evidence.
pub(crate) async fn judge_stored(
    txn: &Tx<'_>,
    config: &BridgeConfig,
    identifier: i64,
    institutional: bool,
) -> Result<Option<Bridge>, DbErr> {
    let mentions: Vec<(i64, bool)> = txn
        .fetch("SELECT report_id, strong FROM report_links WHERE identifier_id = ?", vec![identifier.into()])
        .await?;
    if mentions.len() < config.min_reports() {
        return Ok(None);
    }
    let mentions: Vec<Mention> = mentions.into_iter().map(|(report, strong)| Mention { report, strong }).collect();
    let mut mine: Vec<i64> = mentions.iter().map(|m| m.report).collect();
    mine.sort_unstable();
    mine.dedup();
    let evidence: Vec<Evidence> = neighbours(txn, config, &mine, identifier)
        .await?
        .into_iter()
        .map(|(report, id, reports, _)| Evidence {
            report,
            identifier: id,
            identifier_reports: reports.max(0) as usize,
        })
        .collect();
    // One step further: the other reports of quiet evidence identifiers, and what those name.
    let quiet: BTreeSet<i64> =
        evidence.iter().filter(|e| e.identifier_reports <= config.expand_max_reports).map(|e| e.identifier).collect();
    let quiet: Vec<i64> = quiet.into_iter().collect();
    let mut others: BTreeSet<i64> = BTreeSet::new();
    for chunk in quiet.chunks(IN_CHUNK) {
        let sql = format!("SELECT report_id FROM report_links WHERE identifier_id IN ({})", placeholders(chunk.len()));
        let found = txn.fetch_ids(&sql, chunk.iter().map(|&i| Value::from(i)).collect()).await?;
        others.extend(found.into_iter().filter(|r| mine.binary_search(r).is_err()));
    }
    let others: Vec<i64> = others.into_iter().collect();
    let beyond: Vec<(i64, i64)> =
        neighbours(txn, config, &others, identifier).await?.into_iter().map(|(r, i, _, _)| (r, i)).collect();
    Ok(judge(config, institutional, &mentions, &evidence, &beyond))
}

/// The rule applied to the whole stored graph (`recluster`): every identifier in state normal or
/// held is judged as [`settle_except`] does, never those a supervisor linked. Returns the bridges
/// by identifier id.
pub(crate) async fn settle_stored(txn: &Tx<'_>, config: &BridgeConfig) -> Result<Settled, DbErr> {
    let rows: Vec<(i64, i64, bool)> = txn
        .fetch(
            "SELECT l.report_id, l.identifier_id, l.strong FROM report_links l \
             JOIN identifiers i ON i.id = l.identifier_id WHERE i.state IN (?, ?)",
            vec![IdentifierState::Normal.as_str().into(), IdentifierState::Held.as_str().into()],
        )
        .await?;
    let edges: Vec<Edge> =
        rows.into_iter().map(|(report, identifier, strong)| Edge { report, identifier, strong }).collect();
    let institutional: BTreeSet<i64> = txn
        .fetch_ids("SELECT id FROM identifiers WHERE institutional = ?", vec![true.into()])
        .await?
        .into_iter()
        .collect();
    let linked: BTreeSet<i64> = txn
        .fetch_ids("SELECT id FROM identifiers WHERE bridge = ?", vec![BridgeStanding::Linked.as_str().into()])
        .await?
        .into_iter()
        .collect();
    Ok(settle_except(config, &edges, &institutional, &linked))
}

/// The clusters that the groups of `bridges` are in now (each group's first report's cluster),
/// by identifier, in ascending order.
pub(crate) async fn group_clusters(
    txn: &Tx<'_>,
    bridges: &BTreeMap<i64, Bridge>,
) -> Result<BTreeMap<i64, Vec<i64>>, DbErr> {
    let firsts: BTreeSet<i64> =
        bridges.values().flat_map(|b| b.groups.iter().filter_map(|g| g.first().copied())).collect();
    let firsts: Vec<i64> = firsts.into_iter().collect();
    let mut cluster_of: BTreeMap<i64, i64> = BTreeMap::new();
    for chunk in firsts.chunks(IN_CHUNK) {
        let sql = format!("SELECT id, cluster_id FROM reports WHERE id IN ({})", placeholders(chunk.len()));
        let rows: Vec<(i64, Option<i64>)> = txn.fetch(&sql, chunk.iter().map(|&r| Value::from(r)).collect()).await?;
        cluster_of.extend(rows.into_iter().filter_map(|(r, c)| c.map(|c| (r, c))));
    }
    Ok(bridges
        .iter()
        .map(|(&id, b)| {
            let clusters: BTreeSet<i64> =
                b.groups.iter().filter_map(|g| g.first().and_then(|r| cluster_of.get(r).copied())).collect();
            (id, clusters.into_iter().collect())
        })
        .collect())
}

/// Writes what the rule decided about `identifier` when it had `judged_at` reports: its standing
/// (none when it is no bridge), the explanation and the number of groups. A held identifier's
/// explanation is also the reason of its state.
pub(crate) async fn write_judgement(
    txn: &Tx<'_>,
    config: &BridgeConfig,
    identifier: i64,
    bridge: Option<&Bridge>,
    clusters: &[i64],
    judged_at: i64,
) -> Result<(), DbErr> {
    let standing = bridge.map(|b| BridgeStanding::from(b.verdict).as_str()).unwrap_or_default();
    let detail = bridge.map(|b| b.explain(config, clusters)).unwrap_or_default();
    let groups = bridge.map_or(0, |b| b.groups.len() as i64);
    txn.execute(
        "UPDATE identifiers SET bridge = ?, bridge_detail = ?, bridge_groups = ?, bridge_judged_at = ?, \
         state_reason = CASE WHEN state = ? THEN ? ELSE state_reason END WHERE id = ?",
        vec![
            standing.into(),
            detail.as_str().into(),
            groups.into(),
            judged_at.into(),
            IdentifierState::Held.as_str().into(),
            detail.as_str().into(),
            identifier.into(),
        ],
    )
    .await?;
    Ok(())
}

/// Whether the rule holds a bridge.
pub(crate) fn holds(bridge: Option<&Bridge>) -> bool {
    bridge.is_some_and(|b| b.verdict == BridgeVerdict::Held)
}
