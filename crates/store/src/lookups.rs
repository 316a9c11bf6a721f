//! Lookups of identifiers by canonical key, for police and banks (no victim data), and the
//! identifier's read model. They run on the [`Reader`], like every hot read.

use std::collections::HashMap;

use scamtrail_core::{BridgeStanding, Category, IdentifierState, UnixMicros};

use crate::config::ClusterConfig;
use crate::db::entity::identifier;
use crate::db::{IN_CHUNK, IdentifierWithLoss as WithLoss, Reader, Value, placeholders};
use crate::error::StoreError;

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
    /// Where it stands with the bridge rule; `None` when it is no bridge.
    pub bridge: Option<BridgeStanding>,
    /// The bridge rule's explanation ("possible bridge to clusters 12, 40: 381 reports, 7 groups,
    /// weak roles"); empty when it is no bridge.
    pub bridge_detail: String,
    /// The independent groups of reports it joins, when it is a bridge.
    pub bridge_groups: i64,
}

/// What is known of one key, for police and bank lookups: no victim data.
#[derive(Debug, Clone, PartialEq)]
pub struct KeyLookup {
    /// The identifier.
    pub identifier: IdentifierView,
    /// Its cluster's total loss in the reference currency, or its own reports' when it does not link.
    pub total_loss_minor: i64,
    /// The losses `total_loss_minor` leaves out, by currency, for want of a rate.
    pub unconverted_loss: Vec<(String, i128)>,
    /// The reference currency.
    pub reference_currency: String,
    /// Categories of the reports that carry it.
    pub categories: Vec<Category>,
}

/// Looks keys up; unknown keys are absent from the answer. One query per 500 keys (the
/// identifiers with their categories and their cluster's loss), and one more for the own loss
/// of those that do not link.
pub(crate) async fn lookup(
    db: &Reader,
    config: &ClusterConfig,
    keys: &[String],
) -> Result<HashMap<String, KeyLookup>, StoreError> {
    let mut out = HashMap::new();
    let mut unique: Vec<&String> = keys.iter().collect();
    unique.sort_unstable();
    unique.dedup();
    for chunk in unique.chunks(IN_CHUNK) {
        let sql = format!(
            "SELECT i.*, c.total_loss_minor AS cluster_loss, c.loss_by_currency AS cluster_loss_by_currency \
             FROM identifiers i \
             LEFT JOIN clusters c ON c.id = i.cluster_id WHERE i.key IN ({})",
            placeholders(chunk.len())
        );
        let rows: Vec<WithLoss> = db.fetch(&sql, chunk.iter().map(|k| Value::from(k.as_str())).collect()).await?;
        if rows.is_empty() {
            continue;
        }
        // An identifier that does not link has no cluster: its own reports' loss, summed per
        // currency. The sum is taken in double precision over the exact amounts, which never
        // overflows and keeps the answer to one row per currency however many reports carry the
        // identifier; the total is converted at an indicative rate, so it is no less exact for it.
        let loose: Vec<Value> =
            rows.iter().filter(|r| r.row.cluster_id.is_none()).map(|r| Value::from(r.row.id)).collect();
        let mut own_loss: HashMap<i64, i64> = HashMap::new();
        let mut own_unconverted: HashMap<i64, Vec<(String, i128)>> = HashMap::new();
        if !loose.is_empty() {
            let sql = format!(
                "SELECT l.identifier_id, p.currency, SUM(CAST(p.amount_exact AS DOUBLE PRECISION)) FROM payments p \
                 JOIN report_links l ON l.report_id = p.report_id WHERE l.identifier_id IN ({}) \
                 GROUP BY l.identifier_id, p.currency",
                placeholders(loose.len())
            );
            for (id, currency, sum) in db.fetch_unbounded::<(i64, String, f64)>(sql, loose).await? {
                // `as` saturates at the bounds of i128.
                let Some(amount) = config.rates.to_reference_minor(sum as i128, &currency) else {
                    own_unconverted.entry(id).or_default().push((currency, sum as i128));
                    continue;
                };
                let total = own_loss.entry(id).or_default();
                *total = total.saturating_add(amount);
            }
        }
        for WithLoss { row, cluster_loss, cluster_loss_by_currency } in rows {
            let (total_loss_minor, unconverted_loss) = match row.cluster_id {
                Some(_) => (cluster_loss.unwrap_or(0), unconverted(config, cluster_loss_by_currency.as_deref())?),
                None => {
                    (own_loss.get(&row.id).copied().unwrap_or(0), own_unconverted.remove(&row.id).unwrap_or_default())
                }
            };
            out.insert(
                row.key.clone(),
                KeyLookup {
                    identifier: IdentifierView::from_row(&row, config.hot_threshold)?,
                    total_loss_minor,
                    unconverted_loss,
                    reference_currency: config.rates.reference().to_owned(),
                    categories: Category::from_mask(row.category_mask),
                },
            );
        }
    }
    Ok(out)
}

/// The amounts of a cluster's `loss_by_currency` (`currency:minor;...`) the rate table cannot
/// convert.
fn unconverted(config: &ClusterConfig, loss_by_currency: Option<&str>) -> Result<Vec<(String, i128)>, StoreError> {
    let mut out = Vec::new();
    for pair in loss_by_currency.unwrap_or_default().split(';').filter(|s| !s.is_empty()) {
        let (currency, minor) = pair.rsplit_once(':').ok_or_else(|| corrupt("clusters.loss_by_currency", pair))?;
        if config.rates.rate(currency).is_none() {
            let minor = minor.parse().map_err(|_| corrupt("clusters.loss_by_currency", pair))?;
            out.push((currency.to_owned(), minor));
        }
    }
    Ok(out)
}

fn corrupt(column: &str, value: &str) -> StoreError {
    StoreError::Corrupt(format!("{column} = {value:?}"))
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
            bridge: match row.bridge.as_str() {
                "" => None,
                b => Some(b.parse().map_err(|_| corrupt("identifiers.bridge", b))?),
            },
            bridge_detail: row.bridge_detail.clone(),
            bridge_groups: row.bridge_groups,
        })
    }
}

/// Where the next page of the bridges for review starts: after this report count and id.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BridgePageToken {
    /// The last listed identifier's report count.
    pub report_count: i64,
    /// The last listed identifier's id.
    pub id: i64,
}

impl BridgePageToken {
    /// The token as the API hands it out.
    pub fn encode(&self) -> String {
        format!("{}.{}", self.report_count, self.id)
    }

    /// Reads a token handed out by `encode`.
    pub fn decode(text: &str) -> Option<Self> {
        let (n, id) = text.split_once('.')?;
        Some(Self { report_count: n.parse().ok()?, id: id.parse().ok()? })
    }
}

/// One page of the bridges waiting for review (held and marked identifiers), most reported
/// first, and the token of the next page.
pub(crate) async fn bridges_page(
    db: &Reader,
    config: &ClusterConfig,
    page_size: u64,
    after: Option<BridgePageToken>,
) -> Result<(Vec<IdentifierView>, Option<BridgePageToken>), StoreError> {
    let mut sql = String::from("SELECT * FROM identifiers WHERE bridge IN (?, ?)");
    let mut values: Vec<Value> = vec![BridgeStanding::Held.as_str().into(), BridgeStanding::Marked.as_str().into()];
    if let Some(t) = after {
        sql.push_str(" AND (report_count < ? OR (report_count = ? AND id > ?))");
        values.extend([t.report_count.into(), t.report_count.into(), t.id.into()]);
    }
    sql.push_str(" ORDER BY report_count DESC, id ASC LIMIT ?");
    values.push(((page_size + 1) as i64).into());
    let mut rows: Vec<identifier::Model> = db.fetch(&sql, values).await?;
    let next = if rows.len() as u64 > page_size {
        rows.truncate(page_size as usize);
        rows.last().map(|r| BridgePageToken { report_count: r.report_count, id: r.id })
    } else {
        None
    };
    let views = rows.iter().map(|r| IdentifierView::from_row(r, config.hot_threshold)).collect::<Result<_, _>>()?;
    Ok((views, next))
}

/// The bridges (held or marked) that reports of `cluster` carry, most reported first (at most 100).
pub(crate) async fn bridges_of_cluster(
    db: &Reader,
    config: &ClusterConfig,
    cluster: i64,
) -> Result<Vec<IdentifierView>, StoreError> {
    let rows: Vec<identifier::Model> = db
        .fetch(
            "SELECT * FROM identifiers WHERE bridge IN (?, ?) AND id IN (SELECT l.identifier_id FROM report_links l \
             JOIN reports r ON r.id = l.report_id WHERE r.cluster_id = ?) ORDER BY report_count DESC, id LIMIT 100",
            vec![BridgeStanding::Held.as_str().into(), BridgeStanding::Marked.as_str().into(), cluster.into()],
        )
        .await?;
    rows.iter().map(|r| IdentifierView::from_row(r, config.hot_threshold)).collect()
}

#[cfg(test)]
mod tests {
    use scamtrail_core::Category;

    /// The migration that filled identifiers' category masks used the bits categories have now.
    #[test]
    fn the_migration_filled_masks_with_todays_bits() {
        for (bit, name) in scamtrail_migration::CATEGORY_BITS_AT_M0004.iter().enumerate() {
            let category: Category = name.parse().unwrap();
            assert_eq!(category.bit(), 1 << bit, "{name}");
        }
    }
}
