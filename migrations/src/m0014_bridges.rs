//! The bridge rule in the store (`scamtrail_core::bridges`). `report_links.strong`: whether the
//! report names the identifier as a payment's beneficiary or the caller's number.
//! `identifiers.strong_count` counts those links (so an identifier named mostly in weak roles is
//! known without reading its links), `institutional` marks an institution's kind of number
//! (toll-free, shared-cost, UAN, premium rate), `bridge` is where it stands with the rule (`''`,
//! `held`, `marked`, or `linked` once a supervisor decided it links), with `bridge_detail` (the
//! explanation shown) and `bridge_groups`; `bridge_judged_at` is its report count when the writer
//! last judged it (it judges again once the count has grown enough). An index on `(bridge, report_count)`
//! lists the bridges for review.
//!
//! Existing links and identifiers get their roles and kinds of number from `report_identifiers`;
//! a key only implied by another (a GB IBAN's sort code and account number) keeps a weak role
//! until its report is stored again.

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

/// The columns added, as `ALTER TABLE` clauses both databases read alike.
const COLUMNS: &[(&str, &str)] = &[
    ("report_links", "strong BOOLEAN NOT NULL DEFAULT FALSE"),
    ("identifiers", "strong_count BIGINT NOT NULL DEFAULT 0"),
    ("identifiers", "institutional BOOLEAN NOT NULL DEFAULT FALSE"),
    ("identifiers", "bridge TEXT NOT NULL DEFAULT ''"),
    ("identifiers", "bridge_detail TEXT NOT NULL DEFAULT ''"),
    ("identifiers", "bridge_groups BIGINT NOT NULL DEFAULT 0"),
    ("identifiers", "bridge_judged_at BIGINT NOT NULL DEFAULT 0"),
];

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let db = manager.get_connection();
        for (table, column) in COLUMNS {
            db.execute_unprepared(&format!("ALTER TABLE {table} ADD COLUMN {column}")).await?;
        }
        db.execute_unprepared(
            "UPDATE report_links SET strong = TRUE WHERE EXISTS (SELECT 1 FROM report_identifiers ri \
             JOIN identifiers i ON i.key = ri.key WHERE ri.report_id = report_links.report_id \
             AND i.id = report_links.identifier_id AND ri.suggested = FALSE \
             AND (ri.payment_position IS NOT NULL OR ri.role IN ('beneficiary_account', 'caller_number')))",
        )
        .await?;
        db.execute_unprepared(
            "UPDATE identifiers SET strong_count = s.n FROM (SELECT identifier_id AS id, COUNT(*) AS n \
             FROM report_links WHERE strong = TRUE GROUP BY identifier_id) AS s WHERE identifiers.id = s.id",
        )
        .await?;
        db.execute_unprepared(
            "UPDATE identifiers SET institutional = TRUE WHERE key IN (SELECT ri.key FROM report_identifiers ri \
             WHERE ri.phone_type IN ('TOLL_FREE', 'SHARED_COST', 'UAN', 'PREMIUM_RATE'))",
        )
        .await?;
        db.execute_unprepared("CREATE INDEX identifiers_bridge ON identifiers (bridge, report_count)").await?;
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let db = manager.get_connection();
        db.execute_unprepared("DROP INDEX identifiers_bridge").await?;
        for (table, column) in COLUMNS.iter().rev() {
            let name = column.split_whitespace().next().unwrap_or_default();
            db.execute_unprepared(&format!("ALTER TABLE {table} DROP COLUMN {name}")).await?;
        }
        Ok(())
    }
}
