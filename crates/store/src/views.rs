//! What the store answers about clusters and identifiers: read models built from rows, in
//! `scamtrail-core` vocabulary, for the server to map to the wire.

use scamtrail_core::{Category, ClusterStatus, Disposition, EventKind, IdentifierState, UnixMicros};
use serde::{Deserialize, Serialize};

use crate::StoreError;
use crate::entity::{cluster, cluster_event, identifier};

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
    /// Loss per currency as reported.
    pub loss_by_currency: Vec<(String, i64)>,
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

/// An identifier across reports.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IdentifierView {
    /// Canonical key.
    pub key: String,
    /// Fine-grained kind.
    pub kind: String,
    /// How to show it.
    pub display: String,
    /// Linking state.
    pub state: IdentifierState,
    /// Why excluded or safelisted.
    pub state_reason: String,
    /// Reports carrying it.
    pub report_count: i64,
    /// At or above the hot threshold.
    pub hot: bool,
    /// The cluster it links.
    pub cluster_id: Option<i64>,
    /// The first report carrying it.
    pub first_seen: Option<UnixMicros>,
    /// The latest report carrying it.
    pub last_seen: Option<UnixMicros>,
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
    /// Loss per currency.
    pub loss: Vec<(String, i64)>,
    /// Contact ongoing.
    pub contact_ongoing: bool,
    /// Keys of its linking identifiers.
    pub identifier_keys: Vec<String>,
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

/// `name:count;name:count`.
pub(crate) fn pairs_text(pairs: &[(String, i64)]) -> String {
    pairs.iter().map(|(k, v)| format!("{k}:{v}")).collect::<Vec<_>>().join(";")
}

fn parse_pairs(column: &str, text: &str) -> Result<Vec<(String, i64)>, StoreError> {
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
    pub(crate) fn from_row(row: &cluster::Model, now: UnixMicros) -> Result<Self, StoreError> {
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
            loss_by_currency: parse_pairs("clusters.loss_by_currency", &row.loss_by_currency)?,
            recoverable_minor: row.recoverable_minor,
            recall_closes_at: row.recall_closes_at.map(UnixMicros),
            first_seen: row.first_seen.map(UnixMicros),
            last_seen: row.last_seen.map(UnixMicros),
            categories,
            countries: split_commas(&row.countries).map(str::to_owned).collect(),
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

impl IdentifierView {
    /// Reads a row; `hot` against the configured threshold.
    pub(crate) fn from_row(row: &identifier::Model, hot_threshold: i64) -> Result<Self, StoreError> {
        Ok(Self {
            key: row.key.clone(),
            kind: row.kind.clone(),
            display: row.display.clone(),
            state: row.state.parse().map_err(|_| corrupt("identifiers.state", &row.state))?,
            state_reason: row.state_reason.clone(),
            report_count: row.report_count,
            hot: row.report_count >= hot_threshold,
            cluster_id: row.cluster_id,
            first_seen: row.first_seen.map(UnixMicros),
            last_seen: row.last_seen.map(UnixMicros),
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lists_and_pairs_round_trip() {
        assert_eq!(comma_list(["investment", "romance"]), ",investment,romance,");
        assert_eq!(split_commas(",investment,romance,").collect::<Vec<_>>(), ["investment", "romance"]);
        let pairs = vec![("EUR".to_owned(), 480_000), ("tx:btc".to_owned(), 2)];
        assert_eq!(parse_pairs("c", &pairs_text(&pairs)).unwrap(), pairs);
        assert!(parse_pairs("c", "EUR").is_err());
    }
}
