//! `scamtrail recluster`: rebuilds every cluster from the report–identifier links in bulk, in one
//! transaction: read all linking edges, compute the connected components in memory
//! (`scamtrail_core::components`), and write the new cluster of every report and identifier
//! through a temporary mapping table with one set-based UPDATE each, not row by row.
//!
//! Cluster ids stay stable where they can: a component keeps the id most of its reports already
//! had (larger components choose first); a cluster left with no reports is marked merged into the
//! cluster that took most of them. The result is the partition the incremental path gives.
//! It also links reports stored before clustering existed (no `report_links` rows yet), and recounts
//! every identifier's reports, first and last seen and categories from its links.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use scamtrail_core::{
    BridgeStanding, Category, ClusterStatus, IdentifierRole, IdentifierState, LinkableIdentifier, UnixMicros,
    components, institutional_phone_type,
};

use crate::config::ClusterConfig;
use crate::db::{Checkpoints, DbErr, IN_CHUNK, Intent, Pool, Tx, Value, execute_in};
use crate::error::StoreError;
use crate::{aggregates, bridges, clustering};

/// What a recluster did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ReclusterSummary {
    /// Reports read.
    pub reports: u64,
    /// Linking edges read.
    pub links: u64,
    /// Clusters after the run.
    pub clusters: u64,
    /// Reports whose cluster changed.
    pub moved_reports: u64,
}

/// Reports not in any cluster.
pub(crate) async fn unclustered_reports(pool: &Pool) -> Result<i64, DbErr> {
    let rows: Vec<(i64,)> = pool.fetch("SELECT COUNT(*) FROM reports WHERE cluster_id IS NULL", vec![]).await?;
    Ok(rows.first().map_or(0, |r| r.0))
}

/// Rebuilds every cluster; see the module comment. On a SQLite file the rebuild runs on a
/// rusqlite connection of its own, as the writer's batches do (`db::Writer`): it reads every
/// link, which through sqlx crossed a channel row by row.
pub(crate) async fn recluster(
    pool: &Pool,
    config: &ClusterConfig,
    checkpoints: Checkpoints,
    progress: &mut dyn FnMut(&str, u64, u64),
) -> Result<ReclusterSummary, StoreError> {
    let writer = pool.writer(checkpoints, "recluster")?;
    let summary = writer.transaction(Intent::Cluster, async |tx| rebuild(&tx, config, progress).await).await?;
    drop(writer);
    // A bulk rewrite leaves the planner's statistics behind (PostgreSQL's autovacuum analyses a
    // table loaded in one transaction only later): without them it joins links to reports by
    // scanning every report, 140 times slower per lookup at 200,000 reports.
    progress("analysing tables", 0, 1);
    pool.execute("ANALYZE", vec![]).await?;
    if !pool.is_postgres() {
        // SQLite's sampled statistics (`sqlite_stat4`) make it prepare a statement again on every
        // execution whose bound values could change its plan; the store's queries are index
        // probes whose plan the per-index statistics (`sqlite_stat1`) settle. The store's own
        // connections also fix their plans (QPSG), but sqlx's connections cannot (BENCHMARKS.md).
        let stat4: Vec<(i64,)> = pool.fetch("SELECT 1 FROM sqlite_master WHERE name = 'sqlite_stat4'", vec![]).await?;
        if !stat4.is_empty() {
            pool.execute("DELETE FROM sqlite_stat4", vec![]).await?;
        }
    }
    progress("analysing tables", 1, 1);
    Ok(summary)
}

/// The rebuild, inside the transaction `txn`.
async fn rebuild(
    txn: &Tx<'_>,
    config: &ClusterConfig,
    progress: &mut dyn FnMut(&str, u64, u64),
) -> Result<ReclusterSummary, DbErr> {
    let now = UnixMicros::now();
    backfill_links(txn, progress).await?;
    identifier_stats(txn).await?;
    progress("judging bridges", 0, 1);
    let settled = hold_bridges(txn, config, now).await?;
    progress("judging bridges", 1, 1);

    progress("reading links", 0, 1);
    let reports: Vec<(i64, Option<i64>)> = txn.fetch("SELECT id, cluster_id FROM reports ORDER BY id", vec![]).await?;
    let mut links: Vec<(i64, i64)> = txn
        .fetch(
            "SELECT l.report_id, l.identifier_id FROM report_links l JOIN identifiers i ON i.id = l.identifier_id \
             WHERE i.state = 'normal'",
            vec![],
        )
        .await?;
    // Investigators' manual links survive the rebuild: they are edges of the graph too.
    links.extend(clustering::manual_edges(txn, None).await?);
    progress("reading links", 1, 1);

    progress("computing components", 0, 1);
    let report_ids: Vec<i64> = reports.iter().map(|(id, _)| *id).collect();
    let mut parts = components(&report_ids, &links);
    progress("computing components", 1, 1);

    // Larger components choose their id first: the id most of their reports already had.
    let old: HashMap<i64, Option<i64>> = reports.iter().copied().collect();
    parts.sort_by_key(|p| std::cmp::Reverse(p.len()));
    let mut taken: HashMap<i64, usize> = HashMap::new();
    let mut chosen: Vec<Option<i64>> = Vec::with_capacity(parts.len());
    for (index, part) in parts.iter().enumerate() {
        let mut votes: BTreeMap<i64, usize> = BTreeMap::new();
        for r in part {
            if let Some(Some(c)) = old.get(r) {
                *votes.entry(*c).or_default() += 1;
            }
        }
        let best = votes
            .iter()
            .filter(|(c, _)| !taken.contains_key(*c))
            .max_by_key(|&(c, n)| (*n, std::cmp::Reverse(*c)))
            .map(|(c, _)| *c);
        if let Some(c) = best {
            taken.insert(c, index);
        }
        chosen.push(best);
    }
    let total = parts.len() as u64;
    let mut report_map: Vec<(i64, i64)> = Vec::new();
    let mut moved = 0;
    for (index, part) in parts.iter().enumerate() {
        let id = match chosen[index] {
            Some(c) => c,
            None => clustering::create_cluster(txn, config, now).await?,
        };
        chosen[index] = Some(id);
        for r in part {
            if old.get(r).copied().flatten() != Some(id) {
                report_map.push((*r, id));
                moved += 1;
            }
        }
        if index % 1024 == 0 {
            progress("assigning clusters", index as u64, total);
        }
    }
    progress("assigning clusters", total, total);

    progress("writing", 0, 3);
    txn.execute(
        "CREATE TEMPORARY TABLE recluster_map (report_id BIGINT PRIMARY KEY, cluster_id BIGINT NOT NULL)",
        vec![],
    )
    .await?;
    for chunk in report_map.chunks(IN_CHUNK) {
        let sql = format!(
            "INSERT INTO recluster_map (report_id, cluster_id) VALUES {}",
            vec!["(?, ?)"; chunk.len()].join(", ")
        );
        txn.execute(&sql, chunk.iter().flat_map(|&(r, c)| [Value::from(r), Value::from(c)]).collect()).await?;
    }
    txn.execute(
        "UPDATE reports SET cluster_id = m.cluster_id FROM recluster_map AS m WHERE m.report_id = reports.id",
        vec![],
    )
    .await?;
    progress("writing", 1, 3);
    // An identifier links the cluster of its reports while it is normal.
    txn.execute("UPDATE identifiers SET cluster_id = NULL", vec![]).await?;
    txn.execute(
        "UPDATE identifiers SET cluster_id = s.cluster_id FROM \
         (SELECT l.identifier_id AS id, MIN(r.cluster_id) AS cluster_id FROM report_links l \
          JOIN reports r ON r.id = l.report_id GROUP BY l.identifier_id) AS s \
         WHERE identifiers.id = s.id AND identifiers.state = 'normal'",
        vec![],
    )
    .await?;
    txn.execute("DROP TABLE recluster_map", vec![]).await?;
    progress("writing", 2, 3);
    // Clusters left without reports were merged into where most of their reports went.
    let live: Vec<i64> = chosen.iter().flatten().copied().collect();
    let emptied = txn
        .fetch_ids(
            "SELECT c.id FROM clusters c WHERE c.merged_into IS NULL \
             AND NOT EXISTS (SELECT 1 FROM reports r WHERE r.cluster_id = c.id)",
            vec![],
        )
        .await?;
    for id in emptied {
        let Some(into) = most_reports_went(id, &old, &report_map) else { continue };
        txn.execute(
            &format!("UPDATE clusters SET {} WHERE id = ?", clustering::RETIRE),
            vec![ClusterStatus::Merged.as_str().into(), into.into(), id.into()],
        )
        .await?;
        txn.execute("UPDATE clusters SET merged_into = ? WHERE merged_into = ?", vec![into.into(), id.into()]).await?;
    }
    progress("writing", 3, 3);
    let clusters = bridges::group_clusters(txn, &settled.bridges).await?;
    for (id, bridge) in &settled.bridges {
        let of = clusters.get(id).map(Vec::as_slice).unwrap_or_default();
        bridges::write_judgement(txn, &config.bridges, *id, Some(bridge), of, bridge.reports as i64).await?;
    }
    for (i, chunk) in live.chunks(256).enumerate() {
        aggregates::recompute(txn, config, chunk, now).await?;
        progress("recomputing aggregates", (i * 256 + chunk.len()) as u64, live.len() as u64);
    }
    Ok(ReclusterSummary {
        reports: reports.len() as u64,
        links: links.len() as u64,
        clusters: live.len() as u64,
        moved_reports: moved,
    })
}

/// Applies the bridge rule to the whole graph (`scamtrail_core::settle`): what the rule held
/// before is judged again with the rest, never what a supervisor linked or an investigator
/// decided; the held identifiers stop linking, the rest of its decisions are cleared and written
/// again (their explanations once clusters are known). Every identifier the rule could judge
/// counts as judged at its present size, for the writer's schedule (`BridgeConfig::due`).
async fn hold_bridges(txn: &Tx<'_>, config: &ClusterConfig, now: UnixMicros) -> Result<scamtrail_core::Settled, DbErr> {
    let settled = bridges::settle_stored(txn, &config.bridges).await?;
    let (normal, held) = (IdentifierState::Normal.as_str(), IdentifierState::Held.as_str());
    txn.execute(
        "UPDATE identifiers SET state = ?, state_reason = '', state_changed_at = ? WHERE state = ?",
        vec![normal.into(), now.0.into(), held.into()],
    )
    .await?;
    txn.execute(
        "UPDATE identifiers SET bridge = '', bridge_detail = '', bridge_groups = 0 WHERE bridge IN (?, ?)",
        vec![BridgeStanding::Held.as_str().into(), BridgeStanding::Marked.as_str().into()],
    )
    .await?;
    let held_ids: Vec<i64> = settled.held().into_iter().collect();
    execute_in(
        txn,
        "UPDATE identifiers SET state = ?, state_source = ?, state_changed_at = ? WHERE id IN ({ids})",
        vec![held.into(), clustering::BRIDGE_RULE.into(), now.0.into()],
        &held_ids,
    )
    .await?;
    txn.execute(
        "UPDATE identifiers SET bridge_judged_at = report_count WHERE state IN (?, ?) AND bridge <> ? AND report_count >= ?",
        vec![
            normal.into(),
            held.into(),
            BridgeStanding::Linked.as_str().into(),
            (config.bridges.min_reports() as i64).into(),
        ],
    )
    .await?;
    Ok(settled)
}

/// Where most reports of an emptied cluster went.
fn most_reports_went(id: i64, old: &HashMap<i64, Option<i64>>, map: &[(i64, i64)]) -> Option<i64> {
    let mut votes: BTreeMap<i64, usize> = BTreeMap::new();
    for (r, to) in map {
        if old.get(r).copied().flatten() == Some(id) {
            *votes.entry(*to).or_default() += 1;
        }
    }
    votes.into_iter().max_by_key(|&(c, n)| (n, std::cmp::Reverse(c))).map(|(c, _)| c)
}

/// Recomputes every identifier's report count, strong count, first and last seen and categories
/// from its links.
async fn identifier_stats(txn: &Tx<'_>) -> Result<(), DbErr> {
    // One set-based statement (UPDATE ... FROM, on SQLite and PostgreSQL alike): a correlated
    // subquery per identifier would scan the fresh links once per row where statistics are stale.
    let sql = format!(
        "UPDATE identifiers SET report_count = s.n, strong_count = s.k, first_seen = s.f, last_seen = s.l, \
         category_mask = s.m FROM \
         (SELECT l.identifier_id AS id, COUNT(*) AS n, SUM(CASE WHEN l.strong THEN 1 ELSE 0 END) AS k, \
          MIN(r.received_at) AS f, MAX(r.received_at) AS l, {} AS m FROM report_links l JOIN reports r ON r.id = l.report_id GROUP BY l.identifier_id) AS s \
         WHERE identifiers.id = s.id",
        category_mask_sql("r.category")
    );
    txn.execute(&sql, vec![]).await?;
    Ok(())
}

/// A stored identifier as the backfill reads it: report, key, kind, display, role, payment, phone type.
type BackfillRow = (i64, String, Option<String>, Option<String>, Option<String>, Option<i32>, Option<String>);

/// Creates links (and identifier rows) for reports stored before clustering existed, and for
/// reports a bulk import stored, with the strength of each report's naming and the identifiers
/// that are an institution's kind of number.
async fn backfill_links(txn: &Tx<'_>, progress: &mut dyn FnMut(&str, u64, u64)) -> Result<(), DbErr> {
    let rows: Vec<BackfillRow> = txn
        .fetch(
            "SELECT ri.report_id, ri.key, ri.kind, ri.display, ri.role, ri.payment_position, ri.phone_type \
             FROM report_identifiers ri WHERE ri.key IS NOT NULL AND ri.suggested = ? \
             AND NOT EXISTS (SELECT 1 FROM report_links l WHERE l.report_id = ri.report_id) ORDER BY ri.report_id",
            vec![false.into()],
        )
        .await?;
    if rows.is_empty() {
        return Ok(());
    }
    // Each report's keys (with every key each implies), named strongly if any naming is strong.
    let mut by_report: BTreeMap<i64, BTreeMap<String, (LinkableIdentifier, bool)>> = BTreeMap::new();
    let mut institutional: BTreeSet<String> = BTreeSet::new();
    for (report, key, kind, display, role, payment, phone_type) in rows {
        let Some(linkable) = LinkableIdentifier::new(key, kind.unwrap_or_default(), display.unwrap_or_default()) else {
            continue;
        };
        let role = role.and_then(|r| r.parse::<IdentifierRole>().ok());
        let strong = payment.is_some() || role.is_some_and(IdentifierRole::is_strong);
        let of_kind = phone_type.as_deref().is_some_and(institutional_phone_type);
        for k in linkable.with_implied() {
            if of_kind {
                institutional.insert(k.key().to_owned());
            }
            let entry = by_report.entry(report).or_default().entry(k.key().to_owned()).or_insert((k, false));
            entry.1 |= strong;
        }
    }
    let total = by_report.len() as u64;
    progress("linking older reports", 0, total);
    let mut keys: BTreeMap<String, LinkableIdentifier> = BTreeMap::new();
    for list in by_report.values() {
        for (k, _) in list.values() {
            keys.entry(k.key().to_owned()).or_insert_with(|| k.clone());
        }
    }
    clustering::ensure_identifiers(txn, keys.values().map(|k| (k.key(), k.kind(), k.display()))).await?;
    let names: Vec<&str> = keys.keys().map(String::as_str).collect();
    let idents = clustering::identifiers_by_key(txn, &names).await?;
    let mut edges: Vec<(i64, i64, bool)> = Vec::new();
    for (report, list) in &by_report {
        for (key, (_, strong)) in list {
            if let Some(row) = idents.get(key) {
                edges.push((row.id, *report, *strong));
            }
        }
    }
    edges.sort_unstable();
    edges.dedup();
    for chunk in edges.chunks(IN_CHUNK / 3) {
        let sql = format!(
            "INSERT INTO report_links (identifier_id, report_id, strong) VALUES {} ON CONFLICT DO NOTHING",
            vec!["(?, ?, ?)"; chunk.len()].join(", ")
        );
        let values = chunk.iter().flat_map(|&(i, r, s)| [Value::from(i), Value::from(r), Value::from(s)]).collect();
        txn.execute(&sql, values).await?;
    }
    let marked: Vec<i64> = institutional.iter().filter_map(|k| idents.get(k)).map(|r| r.id).collect();
    execute_in(txn, "UPDATE identifiers SET institutional = ? WHERE id IN ({ids})", vec![true.into()], &marked).await?;
    progress("linking older reports", total, total);
    Ok(())
}

/// SQL aggregating the category names in `column` into a mask (`identifiers.category_mask`): the
/// sum of the distinct bits, which is their bitwise or (on SQLite and PostgreSQL alike).
fn category_mask_sql(column: &str) -> String {
    let cases: String = Category::ALL.iter().map(|c| format!(" WHEN '{}' THEN {}", c.as_str(), c.bit())).collect();
    format!("COALESCE(SUM(DISTINCT CASE {column}{cases} ELSE 0 END), 0)")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn category_masks_sum_the_bits_of_distinct_categories() {
        let sql = category_mask_sql("r.category");
        assert!(sql.starts_with("COALESCE(SUM(DISTINCT CASE r.category WHEN 'investment' THEN 1 "), "{sql}");
        assert!(sql.contains(&format!("WHEN 'other' THEN {} ELSE 0 END), 0)", Category::Other.bit())), "{sql}");
    }
}
