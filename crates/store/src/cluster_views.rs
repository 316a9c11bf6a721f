//! Reads of one cluster (its summary, its detail, how two of its reports are linked) and the
//! read models they build, in `scamtrail-core` vocabulary, for the server to map to the wire.
//! They run on the [`Reader`], like every hot read: they never wait for the writer.

use std::collections::{BTreeMap, HashMap};

use scamtrail_core::{
    BridgeStanding, Category, ClusterStatus, Disposition, EventKind, LinkStep, RateTable, UnixMicros, shortest_link,
};
use serde::{Deserialize, Serialize};

use crate::amounts;
use crate::config::{ClusterConfig, KeySource};
use crate::db::entity::{cluster, cluster_event, identifier};
use crate::db::{IN_CHUNK, Reader, Value, placeholders};
use crate::error::StoreError;
use crate::lookups::{self, IdentifierView};

/// One named part of a stored priority.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PriorityPart {
    /// The component's name (`recoverable_money`, ...).
    pub name: String,
    /// Its value.
    pub value: f64,
    /// What it was computed from, in words.
    pub basis: String,
}

/// A live claim.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClaimView {
    /// Who holds it.
    pub holder: String,
    /// When it lapses.
    pub expires_at: UnixMicros,
}

/// A cluster: aggregates, triage state and priority.
#[derive(Debug, Clone, PartialEq)]
pub struct ClusterView {
    /// The cluster's id.
    pub id: i64,
    /// Workflow status.
    pub status: ClusterStatus,
    /// Triage version.
    pub version: i64,
    /// Reports in it.
    pub report_count: i64,
    /// Distinct victims.
    pub victim_count: i64,
    /// The reference currency of `total_loss_minor` and `recoverable_minor`.
    pub reference_currency: String,
    /// Total loss in the reference currency.
    pub total_loss_minor: i64,
    /// Loss per currency as reported, exact in minor units.
    pub loss_by_currency: Vec<(String, i128)>,
    /// The part of `loss_by_currency` the rate table has no rate for, left out of the totals.
    pub unconverted_loss: Vec<(String, i128)>,
    /// Investigators' tags, sorted.
    pub tags: Vec<String>,
    /// Money inside the recall window, in the reference currency (as of `priority_at`).
    pub recoverable_minor: i64,
    /// When the last recoverable payment leaves the recall window.
    pub recall_closes_at: Option<UnixMicros>,
    /// The earliest report.
    pub first_seen: Option<UnixMicros>,
    /// The latest report.
    pub last_seen: Option<UnixMicros>,
    /// Categories of its reports.
    pub categories: Vec<Category>,
    /// Victims' countries.
    pub countries: Vec<String>,
    /// Reports with contact ongoing.
    pub ongoing_reports: i64,
    /// Linking identifiers per kind.
    pub identifiers_by_kind: Vec<(String, i64)>,
    /// The priority's total.
    pub priority_total: f64,
    /// The priority's components.
    pub priority_parts: Vec<PriorityPart>,
    /// When the priority was computed.
    pub priority_at: UnixMicros,
    /// The claim, if live at read time.
    pub claim: Option<ClaimView>,
    /// The owner, if assigned.
    pub assignee: Option<String>,
    /// Why it was closed.
    pub disposition: Option<Disposition>,
    /// The agency it was referred to.
    pub referred_to: Option<String>,
    /// The survivor it was merged into.
    pub merged_into: Option<i64>,
    /// Keys of its hot identifiers (filled where the caller asked for them).
    pub hot_keys: Vec<String>,
}

/// One cluster event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClusterEventView {
    /// What happened.
    pub kind: EventKind,
    /// To which cluster.
    pub cluster_id: i64,
    /// The other cluster of a merge or split.
    pub other_cluster_id: Option<i64>,
    /// When.
    pub at: UnixMicros,
    /// Who (`system` for automatic changes).
    pub actor: String,
    /// Details in words.
    pub detail: String,
}

/// An event as broadcast to queue watchers, with the cluster as it is after the event.
#[derive(Debug, Clone, PartialEq)]
pub struct QueueEvent {
    /// What happened.
    pub event: ClusterEventView,
    /// The cluster after it.
    pub cluster: ClusterView,
}

/// A report as listed in a cluster: no victim personal data.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClusterReportView {
    /// The report's id.
    pub id: i64,
    /// Its reference.
    pub reference: String,
    /// When received.
    pub received_at: UnixMicros,
    /// Its category.
    pub category: Category,
    /// Loss per currency, exact in minor units.
    pub loss: Vec<(String, i128)>,
    /// Contact ongoing.
    pub contact_ongoing: bool,
    /// Keys of its linking identifiers.
    pub identifier_keys: Vec<String>,
    /// Whether its victim consented to share it with the police.
    pub consent_to_share_with_police: bool,
}

/// A cluster with everything an investigator needs to judge it.
#[derive(Debug, Clone, PartialEq)]
pub struct ClusterDetail {
    /// The cluster.
    pub cluster: ClusterView,
    /// Its reports, newest first.
    pub reports: Vec<ClusterReportView>,
    /// Its linking identifiers, most reported first.
    pub identifiers: Vec<IdentifierView>,
    /// Its history, oldest first.
    pub events: Vec<ClusterEventView>,
    /// The bridges its reports carry (held, which no longer link, and marked, which join the
    /// groups it is made of), most reported first, at most 100.
    pub bridges: Vec<IdentifierView>,
}

fn corrupt(column: &str, value: &str) -> StoreError {
    StoreError::Corrupt(format!("{column} = {value:?}"))
}

/// `a,b,c` lists stored between commas: `,a,b,`.
pub(crate) fn comma_list(items: impl IntoIterator<Item = impl AsRef<str>>) -> String {
    let mut out = String::from(",");
    for item in items {
        out.push_str(item.as_ref());
        out.push(',');
    }
    out
}

fn split_commas(text: &str) -> impl Iterator<Item = &str> {
    text.split(',').filter(|s| !s.is_empty())
}

/// `name:count;name:count` (counts, or exact amounts in minor units).
pub(crate) fn pairs_text<T: std::fmt::Display>(pairs: &[(String, T)]) -> String {
    pairs.iter().map(|(k, v)| format!("{k}:{v}")).collect::<Vec<_>>().join(";")
}

fn parse_pairs<T: std::str::FromStr>(column: &str, text: &str) -> Result<Vec<(String, T)>, StoreError> {
    text.split(';')
        .filter(|s| !s.is_empty())
        .map(|pair| {
            let (k, v) = pair.rsplit_once(':').ok_or_else(|| corrupt(column, pair))?;
            Ok((k.to_owned(), v.parse().map_err(|_| corrupt(column, pair))?))
        })
        .collect()
}

impl ClusterView {
    /// Reads a row; the claim is kept only if live at `now`.
    pub(crate) fn from_row(row: &cluster::Model, rates: &RateTable, now: UnixMicros) -> Result<Self, StoreError> {
        let status = row.status.parse().map_err(|_| corrupt("clusters.status", &row.status))?;
        let disposition = match &row.disposition {
            Some(d) => Some(d.parse().map_err(|_| corrupt("clusters.disposition", d))?),
            None => None,
        };
        let categories = split_commas(&row.categories)
            .map(|c| c.parse().map_err(|_| corrupt("clusters.categories", c)))
            .collect::<Result<_, _>>()?;
        let priority_parts: Vec<PriorityPart> = serde_json::from_str(&row.priority_components)
            .map_err(|_| corrupt("clusters.priority_components", &row.priority_components))?;
        let loss_by_currency: Vec<(String, i128)> = parse_pairs("clusters.loss_by_currency", &row.loss_by_currency)?;
        let claim = match (&row.claim_holder, row.claim_expires_at) {
            (Some(holder), Some(at)) if at > now.0 => {
                Some(ClaimView { holder: holder.clone(), expires_at: UnixMicros(at) })
            }
            _ => None,
        };
        Ok(Self {
            id: row.id,
            status,
            version: row.version,
            report_count: row.report_count,
            victim_count: row.victim_count,
            reference_currency: row.reference_currency.clone(),
            total_loss_minor: row.total_loss_minor,
            loss_by_currency: loss_by_currency.clone(),
            unconverted_loss: loss_by_currency.into_iter().filter(|(c, _)| rates.rate(c).is_none()).collect(),
            recoverable_minor: row.recoverable_minor,
            recall_closes_at: row.recall_closes_at.map(UnixMicros),
            first_seen: row.first_seen.map(UnixMicros),
            last_seen: row.last_seen.map(UnixMicros),
            categories,
            countries: split_commas(&row.countries).map(str::to_owned).collect(),
            tags: split_commas(&row.tags).map(str::to_owned).collect(),
            ongoing_reports: row.ongoing_reports,
            identifiers_by_kind: parse_pairs("clusters.identifiers_by_kind", &row.identifiers_by_kind)?,
            priority_total: row.priority_milli as f64 / 1000.0,
            priority_parts,
            priority_at: UnixMicros(row.priority_at),
            claim,
            assignee: row.assignee.clone(),
            disposition,
            referred_to: row.referred_to.clone(),
            merged_into: row.merged_into,
            hot_keys: Vec::new(),
        })
    }
}

impl ClusterEventView {
    /// Reads a row.
    pub(crate) fn from_row(row: &cluster_event::Model) -> Result<Self, StoreError> {
        Ok(Self {
            kind: row.kind.parse().map_err(|_| corrupt("cluster_events.kind", &row.kind))?,
            cluster_id: row.cluster_id,
            other_cluster_id: row.other_cluster_id,
            at: UnixMicros(row.at),
            actor: row.actor.clone(),
            detail: row.detail.clone(),
        })
    }
}

/// Cluster views of rows, with their hot identifier keys filled in.
pub(crate) async fn views(
    db: &Reader,
    config: &ClusterConfig,
    rows: &[cluster::Model],
    now: UnixMicros,
) -> Result<Vec<ClusterView>, StoreError> {
    let mut views: Vec<ClusterView> =
        rows.iter().map(|r| ClusterView::from_row(r, &config.rates, now)).collect::<Result<_, _>>()?;
    let ids: Vec<i64> = rows.iter().map(|r| r.id).collect();
    let mut hot: HashMap<i64, Vec<String>> = HashMap::new();
    for chunk in ids.chunks(IN_CHUNK) {
        let sql = format!(
            "SELECT cluster_id, key FROM identifiers WHERE cluster_id IN ({}) AND report_count >= ? \
             ORDER BY report_count DESC, key",
            placeholders(chunk.len())
        );
        let mut values: Vec<Value> = chunk.iter().map(|&i| Value::from(i)).collect();
        values.push(config.hot_threshold.into());
        for (cluster, key) in db.fetch::<(i64, String)>(&sql, values).await? {
            hot.entry(cluster).or_default().push(key);
        }
    }
    for v in &mut views {
        v.hot_keys = hot.remove(&v.id).unwrap_or_default();
    }
    Ok(views)
}

/// One cluster, as it is now.
pub(crate) async fn cluster_view(
    db: &Reader,
    config: &ClusterConfig,
    id: i64,
) -> Result<Option<ClusterView>, StoreError> {
    let rows: Vec<cluster::Model> = db.fetch("SELECT * FROM clusters WHERE id = ?", vec![id.into()]).await?;
    views(db, config, &rows, UnixMicros::now()).await.map(|mut v| v.pop())
}

/// Identifiers in a cluster's detail at most (the most reported).
pub const DETAIL_IDENTIFIERS_MAX: u64 = 1_000;
/// Events in a cluster's detail at most (the latest).
pub const DETAIL_EVENTS_MAX: u64 = 500;

/// An investigator's note as stored (sealed under the data keys), opened; a note from before
/// sealing reads as it is, and one that does not open (cut short in another instance's
/// announcement) reads as empty: `GetCluster` reads it whole from the history.
pub(crate) fn open_note(keys: &KeySource, cluster_id: i64, stored: &str) -> String {
    let binding = scamtrail_core::note_binding(cluster_id);
    match keys.open(scamtrail_core::PersonalField::InvestigatorNote, &binding, stored) {
        Ok(note) => note,
        Err(scamtrail_core::OpenError::NotSealed) => stored.to_owned(),
        Err(e) => {
            tracing::debug!(cluster_id, error = %e, "a note does not open here");
            String::new()
        }
    }
}

/// A cluster with its reports (newest first, at most `max_reports`), identifiers and history
/// (its notes opened with `data_keys`).
pub(crate) async fn cluster_detail(
    db: &Reader,
    config: &ClusterConfig,
    data_keys: &KeySource,
    id: i64,
    max_reports: u64,
) -> Result<Option<ClusterDetail>, StoreError> {
    let Some(cluster) = cluster_view(db, config, id).await? else { return Ok(None) };
    // A merged cluster has no reports of its own: its detail is its history.
    let report_rows: Vec<ReportRow> = db
        .fetch(
            "SELECT id, reference, received_at, category, contact_ongoing FROM reports WHERE cluster_id = ? \
             ORDER BY id DESC LIMIT ?",
            vec![id.into(), (max_reports as i64).into()],
        )
        .await?;
    let reports = report_views(db, report_rows).await?;
    let identifiers = db
        .fetch::<identifier::Model>(
            "SELECT * FROM identifiers WHERE cluster_id = ? ORDER BY report_count DESC, key LIMIT ?",
            vec![id.into(), (DETAIL_IDENTIFIERS_MAX as i64).into()],
        )
        .await?
        .iter()
        .map(|r| IdentifierView::from_row(r, config.hot_threshold))
        .collect::<Result<_, _>>()?;
    let mut events = db
        .fetch::<cluster_event::Model>(
            "SELECT * FROM cluster_events WHERE cluster_id = ? ORDER BY id DESC LIMIT ?",
            vec![id.into(), (DETAIL_EVENTS_MAX as i64).into()],
        )
        .await?
        .iter()
        .map(ClusterEventView::from_row)
        .collect::<Result<Vec<_>, _>>()?;
    events.reverse();
    for event in events.iter_mut().filter(|e| e.kind == EventKind::Note) {
        event.detail = open_note(data_keys, event.cluster_id, &event.detail);
    }
    let bridges = lookups::bridges_of_cluster(db, config, id).await?;
    Ok(Some(ClusterDetail { cluster, reports, identifiers, events, bridges }))
}

/// A report row as listed: id, reference, received at, category, contact ongoing.
pub(crate) type ReportRow = (i64, String, i64, String, bool);

/// Reports as listed (no victim data), in the order of `rows`, with their loss per currency, the
/// keys they carry and their victims' consent to share with the police.
pub(crate) async fn report_views(db: &Reader, rows: Vec<ReportRow>) -> Result<Vec<ClusterReportView>, StoreError> {
    let mut reports = Vec::with_capacity(rows.len());
    for (id, reference, received_at, category, contact_ongoing) in rows {
        reports.push(ClusterReportView {
            id,
            reference,
            received_at: UnixMicros(received_at),
            category: category
                .parse::<Category>()
                .map_err(|_| StoreError::Corrupt(format!("reports.category = {category:?}")))?,
            contact_ongoing,
            loss: Vec::new(),
            identifier_keys: Vec::new(),
            consent_to_share_with_police: false,
        });
    }
    let ids: Vec<i64> = reports.iter().map(|r| r.id).collect();
    let mut loss: HashMap<i64, BTreeMap<String, i128>> = HashMap::new();
    let mut keys: HashMap<i64, Vec<String>> = HashMap::new();
    for chunk in ids.chunks(IN_CHUNK) {
        let values: Vec<Value> = chunk.iter().map(|&i| Value::from(i)).collect();
        let sql = format!(
            "SELECT report_id, currency, amount_exact FROM payments WHERE report_id IN ({})",
            placeholders(chunk.len())
        );
        for (report, currency, amount) in db.fetch::<(i64, String, String)>(&sql, values.clone()).await? {
            let entry = loss.entry(report).or_default().entry(currency).or_default();
            *entry = entry.saturating_add(amounts::exact(&amount)?);
        }
        let sql = format!(
            "SELECT l.report_id, i.key FROM report_links l JOIN identifiers i ON i.id = l.identifier_id \
             WHERE l.report_id IN ({}) ORDER BY i.key",
            placeholders(chunk.len())
        );
        for (report, key) in db.fetch::<(i64, String)>(&sql, values).await? {
            keys.entry(report).or_default().push(key);
        }
    }
    let consenting = crate::consent::consenting(db, &ids).await?;
    for r in &mut reports {
        r.consent_to_share_with_police = consenting.contains(&r.id);
        r.loss = loss.remove(&r.id).map(|m| m.into_iter().collect()).unwrap_or_default();
        r.identifier_keys = keys.remove(&r.id).unwrap_or_default();
    }
    Ok(reports)
}

/// A note in a cluster's thread.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClusterNote {
    /// The note's id (its event's).
    pub id: i64,
    /// The cluster it was written on.
    pub cluster_id: i64,
    /// When.
    pub at: UnixMicros,
    /// Who wrote it.
    pub author: String,
    /// What they wrote (opened with the data keys).
    pub text: String,
}

/// A page of a cluster's notes after note `after` (0: from the first), oldest first, with the
/// notes of the clusters merged into it (merges re-point earlier ones, so that is one hop), and
/// the id to read on from; `None` for an unknown cluster. Notes are stored sealed, each bound to
/// the cluster it was written on, and opened here.
pub(crate) async fn cluster_notes(
    db: &Reader,
    data_keys: &KeySource,
    cluster: i64,
    after: i64,
    limit: u64,
) -> Result<Option<(Vec<ClusterNote>, Option<i64>)>, StoreError> {
    let known: Vec<(i64,)> = db.fetch("SELECT id FROM clusters WHERE id = ?", vec![cluster.into()]).await?;
    if known.is_empty() {
        return Ok(None);
    }
    let mut rows: Vec<(i64, i64, i64, String, String)> = db
        .fetch(
            "SELECT id, cluster_id, at, actor, detail FROM cluster_events WHERE kind = ? AND id > ? \
             AND cluster_id IN (SELECT id FROM clusters WHERE merged_into = ? UNION ALL SELECT ?) ORDER BY id LIMIT ?",
            vec![
                EventKind::Note.as_str().into(),
                after.into(),
                cluster.into(),
                cluster.into(),
                ((limit + 1) as i64).into(),
            ],
        )
        .await?;
    let next = if rows.len() as u64 > limit {
        rows.truncate(limit as usize);
        rows.last().map(|r| r.0)
    } else {
        None
    };
    let notes = rows
        .into_iter()
        .map(|(id, cluster_id, at, author, text)| ClusterNote {
            id,
            cluster_id,
            at: UnixMicros(at),
            author,
            text: open_note(data_keys, cluster_id, &text),
        })
        .collect();
    Ok(Some((notes, next)))
}

/// How two reports are linked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LinkExplanation {
    /// The first report's cluster.
    pub cluster_a: i64,
    /// The second report's cluster.
    pub cluster_b: i64,
    /// A shortest path of shared identifiers, when they are linked.
    pub path: Option<Vec<LinkStep>>,
    /// The bridges that explain the answer: the marked ones the path goes through when they are
    /// linked; otherwise the held ones that reports of both clusters carry (they would link them).
    pub bridges: Vec<IdentifierView>,
}

/// The cluster a report is in; `None` for an unknown report.
pub(crate) async fn cluster_of_report(db: &Reader, report: i64) -> Result<Option<i64>, StoreError> {
    let rows: Vec<(Option<i64>,)> =
        db.fetch("SELECT cluster_id FROM reports WHERE id = ?", vec![report.into()]).await?;
    Ok(rows.first().and_then(|r| r.0))
}

/// Explains the link between two reports; `None` when either report is unknown.
pub(crate) async fn explain_link(
    db: &Reader,
    config: &ClusterConfig,
    a: i64,
    b: i64,
) -> Result<Option<LinkExplanation>, StoreError> {
    let (Some(cluster_a), Some(cluster_b)) = (cluster_of_report(db, a).await?, cluster_of_report(db, b).await?) else {
        return Ok(None);
    };
    if cluster_a != cluster_b {
        let of_b: Vec<String> =
            lookups::bridges_of_cluster(db, config, cluster_b).await?.into_iter().map(|i| i.key).collect();
        let bridges = lookups::bridges_of_cluster(db, config, cluster_a)
            .await?
            .into_iter()
            .filter(|i| i.bridge == Some(BridgeStanding::Held) && of_b.contains(&i.key))
            .collect();
        return Ok(Some(LinkExplanation { cluster_a, cluster_b, path: None, bridges }));
    }
    let mut links: Vec<(i64, String)> = db
        .fetch_unbounded(
            "SELECT l.report_id, i.key FROM report_links l JOIN reports r ON r.id = l.report_id \
             JOIN identifiers i ON i.id = l.identifier_id WHERE r.cluster_id = ? AND i.state = 'normal'"
                .to_owned(),
            vec![cluster_a.into()],
        )
        .await?;
    // A manual link is a step too, named `link:ID`.
    let manual: Vec<(i64, i64, i64)> = db
        .fetch(
            "SELECT m.id, m.report_a, m.report_b FROM manual_links m \
             WHERE m.removed_at IS NULL AND m.report_a IN (SELECT id FROM reports WHERE cluster_id = ?)",
            vec![cluster_a.into()],
        )
        .await?;
    for (id, from, to) in manual {
        links.extend([(from, format!("link:{id}")), (to, format!("link:{id}"))]);
    }
    let path = shortest_link(&links, a, b);
    let via: Vec<&str> = path.iter().flatten().filter_map(|s| s.via_key.as_deref()).collect();
    let bridges = lookups::bridges_of_cluster(db, config, cluster_a)
        .await?
        .into_iter()
        .filter(|i| i.bridge == Some(BridgeStanding::Marked) && via.contains(&i.key.as_str()))
        .collect();
    Ok(Some(LinkExplanation { cluster_a, cluster_b, path, bridges }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lists_and_pairs_round_trip() {
        assert_eq!(comma_list(["investment", "romance"]), ",investment,romance,");
        assert_eq!(split_commas(",investment,romance,").collect::<Vec<_>>(), ["investment", "romance"]);
        let pairs: Vec<(String, i64)> = vec![("EUR".to_owned(), 480_000), ("tx:btc".to_owned(), 2)];
        assert_eq!(parse_pairs("c", &pairs_text(&pairs)).unwrap(), pairs);
        // Exact amounts beyond 64 bits (20 ETH in wei) keep every digit.
        let amounts: Vec<(String, i128)> = vec![("ETH".to_owned(), 20_000_000_000_000_000_000)];
        assert_eq!(parse_pairs("c", &pairs_text(&amounts)).unwrap(), amounts);
        assert!(parse_pairs::<i64>("c", "EUR").is_err());
    }
}
