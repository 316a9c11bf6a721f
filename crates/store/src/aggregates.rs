//! A cluster's aggregates (reports, victims, losses by currency and in the reference currency,
//! categories, countries, identifiers by kind) and its priority (`scamtrail_core::score`),
//! recomputed from its reports, payments and identifiers inside a write transaction, for any
//! number of clusters in a few set-based statements.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use scamtrail_core::{ClusterFacts, PaymentMethod, RecoverablePayment, UnixMicros, score};

use crate::cluster_views::{PriorityPart, comma_list, pairs_text};
use crate::config::ClusterConfig;
use crate::db::{DbErr, IN_CHUNK, Tx, Value, placeholders};

/// Recomputes aggregates and priority of clusters from their reports, payments and identifiers;
/// returns each cluster's new priority (thousandths).
pub(crate) async fn recompute(
    txn: &Tx<'_>,
    config: &ClusterConfig,
    clusters: &[i64],
    now: UnixMicros,
) -> Result<HashMap<i64, i64>, DbErr> {
    let gathered = gather(txn, config, clusters).await?;
    let mut priorities = HashMap::with_capacity(clusters.len());
    let mut rows: Vec<Vec<Value>> = Vec::with_capacity(clusters.len());
    for &c in clusters {
        let Some(g) = gathered.get(&c) else { continue };
        let facts = g.facts(config);
        let priority = score(&facts, &config.weights, now);
        let parts: Vec<PriorityPart> = priority
            .components
            .iter()
            .map(|p| PriorityPart { name: p.name.to_owned(), value: p.value, basis: p.basis.clone() })
            .collect();
        let parts = serde_json::to_string(&parts).map_err(|e| DbErr::Custom(e.to_string()))?;
        priorities.insert(c, priority.total_milli());
        rows.push(vec![
            c.into(),
            g.report_count.into(),
            facts.victim_count.into(),
            config.rates.reference().into(),
            facts.total_loss_reference_minor.into(),
            pairs_text(&g.loss_by_currency.iter().map(|(k, v)| (k.clone(), *v)).collect::<Vec<(String, i128)>>())
                .into(),
            priority.recoverable_reference_minor.into(),
            priority.recall_window_closes_at.map(|t| t.0).into(),
            g.report_times.iter().min().map(|t| t.0).into(),
            g.report_times.iter().max().map(|t| t.0).into(),
            comma_list(&g.categories).into(),
            comma_list(&g.countries).into(),
            facts.ongoing_contact_reports.into(),
            pairs_text(&g.identifiers_by_kind).into(),
            priority.total_milli().into(),
            parts.into(),
            now.0.into(),
            priority.rescore_at.map(|t| t.0).into(),
        ]);
    }
    // One statement per chunk of clusters (UPDATE ... FROM a list of values, on SQLite and
    // PostgreSQL alike), not one per cluster.
    const COLUMNS: [&str; 17] = [
        "report_count",
        "victim_count",
        "reference_currency",
        "total_loss_minor",
        "loss_by_currency",
        "recoverable_minor",
        "recall_closes_at",
        "first_seen",
        "last_seen",
        "categories",
        "countries",
        "ongoing_reports",
        "identifiers_by_kind",
        "priority_milli",
        "priority_components",
        "priority_at",
        "rescore_at",
    ];
    let set = COLUMNS.iter().map(|c| format!("{c} = v.{c}")).collect::<Vec<_>>().join(", ");
    let row = format!("({})", placeholders(COLUMNS.len() + 1));
    for chunk in rows.chunks(IN_CHUNK / 10) {
        let text = format!(
            "WITH v(id, {}) AS (VALUES {}) UPDATE clusters SET {set} FROM v WHERE clusters.id = v.id",
            COLUMNS.join(", "),
            vec![row.as_str(); chunk.len()].join(", ")
        );
        txn.execute(&text, chunk.concat()).await?;
    }
    Ok(priorities)
}

/// What a cluster's aggregates are computed from, accumulated row by row.
#[derive(Default)]
struct Gathered {
    report_count: i64,
    report_times: Vec<UnixMicros>,
    victims: BTreeSet<String>,
    vulnerable: BTreeSet<String>,
    ongoing: i64,
    total: i64,
    recoverable: Vec<RecoverablePayment>,
    loss_by_currency: BTreeMap<String, i128>,
    categories: BTreeSet<String>,
    countries: BTreeSet<String>,
    identifiers_by_kind: Vec<(String, i64)>,
}

impl Gathered {
    fn facts(&self, config: &ClusterConfig) -> ClusterFacts {
        ClusterFacts {
            victim_count: self.victims.len() as i64,
            total_loss_reference_minor: self.total,
            reference_currency: config.rates.reference().to_owned(),
            recoverable: self.recoverable.clone(),
            ongoing_contact_reports: self.ongoing,
            vulnerable_victims: self.vulnerable.len() as i64,
            report_times: self.report_times.clone(),
            actionable_identifiers: self.identifiers_by_kind.iter().fold(0i64, |sum, (_, n)| sum.saturating_add(*n)),
        }
    }
}

/// Payment methods whose money a bank may still recall.
const RECALLABLE: [PaymentMethod; 3] =
    [PaymentMethod::BankTransfer, PaymentMethod::InstantTransfer, PaymentMethod::Card];

/// A report row of [`gather`]: cluster, id, received, category, ongoing contact, and the victim's
/// country, key, age band and declared vulnerability.
type GatheredReport = (i64, i64, i64, String, bool, Option<String>, Option<String>, Option<String>, Option<bool>);

/// A payment row of [`gather`]: cluster, amount, currency, method, paid at.
type GatheredPayment = (i64, String, String, Option<String>, Option<i64>);

/// Reads what the aggregates of `clusters` are computed from: three queries per chunk of
/// clusters, whatever their number.
async fn gather(txn: &Tx<'_>, config: &ClusterConfig, clusters: &[i64]) -> Result<HashMap<i64, Gathered>, DbErr> {
    let mut out: HashMap<i64, Gathered> = clusters.iter().map(|&c| (c, Gathered::default())).collect();
    for chunk in clusters.chunks(IN_CHUNK) {
        let ids: Vec<Value> = chunk.iter().map(|&c| Value::from(c)).collect();
        let marks = placeholders(chunk.len());
        let reports: Vec<GatheredReport> = txn
            .fetch(
                &format!(
                    "SELECT r.cluster_id, r.id, r.received_at, r.category, r.contact_ongoing, v.country, \
                     v.victim_key, v.age_band, v.declared_vulnerable FROM reports r \
                     LEFT JOIN report_victims v ON v.report_id = r.id WHERE r.cluster_id IN ({marks})"
                ),
                ids.clone(),
            )
            .await?;
        for (cluster, id, received_at, category, ongoing, country, victim_key, age, declared) in reports {
            let Some(g) = out.get_mut(&cluster) else { continue };
            g.report_count += 1;
            g.report_times.push(UnixMicros(received_at));
            g.categories.insert(category);
            if ongoing {
                g.ongoing += 1;
            }
            if let Some(country) = country {
                g.countries.insert(country);
            }
            // A victim known by e-mail or phone counts once; one without counts per report.
            let who = victim_key.unwrap_or_else(|| format!("report:{id}"));
            if declared == Some(true) || age.as_deref() == Some(scamtrail_core::AgeBand::From70.as_str()) {
                g.vulnerable.insert(who.clone());
            }
            g.victims.insert(who);
        }
        let payments: Vec<GatheredPayment> = txn
            .fetch(
                &format!(
                    "SELECT r.cluster_id, p.amount_exact, p.currency, p.method, p.paid_at FROM payments p \
                     JOIN reports r ON r.id = p.report_id WHERE r.cluster_id IN ({marks})"
                ),
                ids.clone(),
            )
            .await?;
        for (cluster, amount, currency, method, paid_at) in payments {
            let Some(g) = out.get_mut(&cluster) else { continue };
            let amount = crate::amounts::exact(&amount).map_err(|e| DbErr::Custom(e.to_string()))?;
            let in_reference = config.rates.to_reference_minor(amount, &currency);
            if let Some(r) = in_reference {
                g.total = g.total.saturating_add(r);
            }
            let entry = g.loss_by_currency.entry(currency).or_default();
            *entry = entry.saturating_add(amount);
            let recallable =
                method.and_then(|m| m.parse::<PaymentMethod>().ok()).is_some_and(|m| RECALLABLE.contains(&m));
            if let (true, Some(at), Some(r)) = (recallable, paid_at, in_reference) {
                g.recoverable.push(RecoverablePayment { paid_at: UnixMicros(at), amount_reference_minor: r });
            }
        }
        let kinds: Vec<(i64, String, i64)> = txn
            .fetch(
                &format!(
                    "SELECT cluster_id, kind, COUNT(*) FROM identifiers WHERE cluster_id IN ({marks}) \
                     GROUP BY cluster_id, kind ORDER BY cluster_id, kind"
                ),
                ids,
            )
            .await?;
        for (cluster, kind, n) in kinds {
            if let Some(g) = out.get_mut(&cluster) {
                g.identifiers_by_kind.push((kind, n));
            }
        }
    }
    Ok(out)
}
