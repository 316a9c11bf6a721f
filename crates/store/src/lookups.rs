//! Lookups of identifiers by canonical key, for police and banks (no victim data), and the
//! identifier's read model. They run on the [`Reader`], like every hot read.

use std::collections::HashMap;

use scamtrail_core::{Category, IdentifierState, UnixMicros};

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
}

/// What is known of one key, for police and bank lookups: no victim data.
#[derive(Debug, Clone, PartialEq)]
pub struct KeyLookup {
    /// The identifier.
    pub identifier: IdentifierView,
    /// Its cluster's total loss in the reference currency, or its own reports' when it does not link.
    pub total_loss_minor: i64,
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
            "SELECT i.*, c.total_loss_minor AS cluster_loss FROM identifiers i \
             LEFT JOIN clusters c ON c.id = i.cluster_id WHERE i.key IN ({})",
            placeholders(chunk.len())
        );
        let rows: Vec<WithLoss> = db.fetch(&sql, chunk.iter().map(|k| Value::from(k.as_str())).collect()).await?;
        if rows.is_empty() {
            continue;
        }
        // An identifier that does not link has no cluster: its own reports' loss, summed per
        // currency. The sum is taken in double precision, which never overflows (an integer SUM
        // of two huge amounts fails the whole batch) and is exact up to 2^53 minor units.
        let loose: Vec<Value> =
            rows.iter().filter(|r| r.row.cluster_id.is_none()).map(|r| Value::from(r.row.id)).collect();
        let mut own_loss: HashMap<i64, i64> = HashMap::new();
        if !loose.is_empty() {
            let sql = format!(
                "SELECT l.identifier_id, p.currency, SUM(CAST(p.amount_minor AS DOUBLE PRECISION)) FROM payments p \
                 JOIN report_links l ON l.report_id = p.report_id WHERE l.identifier_id IN ({}) \
                 GROUP BY l.identifier_id, p.currency",
                placeholders(loose.len())
            );
            for (id, currency, sum) in db.fetch_unbounded::<(i64, String, f64)>(sql, loose).await? {
                // `as` saturates at the bounds of i64.
                let amount = config.rates.to_reference_minor(sum as i64, &currency).unwrap_or(0);
                let total = own_loss.entry(id).or_default();
                *total = total.saturating_add(amount);
            }
        }
        for WithLoss { row, cluster_loss } in rows {
            let total_loss_minor = match row.cluster_id {
                Some(_) => cluster_loss.unwrap_or(0),
                None => own_loss.get(&row.id).copied().unwrap_or(0),
            };
            out.insert(
                row.key.clone(),
                KeyLookup {
                    identifier: IdentifierView::from_row(&row, config.hot_threshold)?,
                    total_loss_minor,
                    reference_currency: config.rates.reference().to_owned(),
                    categories: Category::from_mask(row.category_mask),
                },
            );
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
        })
    }
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
