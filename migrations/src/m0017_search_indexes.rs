//! Indexes for investigators' searches (`SearchReports`, `SearchClusters`): each filter that can
//! narrow a search to few rows has an index that reads those rows in the order pages are listed
//! (newest first by `(received_at, id)`, clusters by priority), so a page stops after its rows.
//! Plain SQL that SQLite and PostgreSQL both take.
//!
//! Amounts are compared and ordered by `payments.amount_key`: the exact minor units
//! (`amount_exact`) zero-padded to 39 digits (the most an `i128` has), so that text order is
//! numeric order on both databases, beyond the 64 bits `amount_minor` saturates at (10 ETH is
//! 10^19 wei).

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

/// Digits of `payments.amount_key`.
const AMOUNT_KEY_DIGITS: usize = 39;

/// Each index: its name and what it covers.
const INDEXES: &[(&str, &str)] = &[
    // Every search by received time, and the newest-first order of every report search.
    ("reports_received", "reports (received_at, id)"),
    ("reports_category_received", "reports (category, received_at, id)"),
    ("report_victims_country", "report_victims (country, report_id)"),
    ("payments_paid", "payments (paid_at, report_id)"),
    // Currency with an amount range, and the largest-amount order.
    ("payments_currency_amount", "payments (currency, amount_key, report_id)"),
    // Clusters are listed most urgent first, ties by id: the index holds them in that order.
    ("clusters_status_priority", "clusters (status, priority_milli DESC, id)"),
    ("clusters_assignee", "clusters (assignee, priority_milli DESC, id)"),
    ("clusters_referred_to", "clusters (referred_to, priority_milli DESC, id)"),
];

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let db = manager.get_connection();
        db.execute_unprepared("ALTER TABLE payments ADD COLUMN amount_key VARCHAR(39) NOT NULL DEFAULT ''").await?;
        // substr from the end of 39 zeros and the digits: both databases have it (SQLite no lpad).
        db.execute_unprepared(&format!(
            "UPDATE payments SET amount_key = substr('{}' || amount_exact, length(amount_exact) + 1)",
            "0".repeat(AMOUNT_KEY_DIGITS)
        ))
        .await?;
        for (name, on) in INDEXES {
            db.execute_unprepared(&format!("CREATE INDEX {name} ON {on}")).await?;
        }
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let db = manager.get_connection();
        for (name, _) in INDEXES {
            db.execute_unprepared(&format!("DROP INDEX {name}")).await?;
        }
        db.execute_unprepared("ALTER TABLE payments DROP COLUMN amount_key").await?;
        Ok(())
    }
}
