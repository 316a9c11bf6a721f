//! Each identifier keeps the categories of the reports that carry it (`category_mask`, one bit
//! per category: `scamtrail_core::Category::bit`), so a lookup answers them without reading the
//! reports. Existing identifiers get theirs from their links.

use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Identifiers {
    Table,
    /// The categories of the reports carrying the identifier, as bits.
    CategoryMask,
}

/// The category names stored when this migration was written, in the order of their bits.
pub const CATEGORIES: [&str; 12] = [
    "investment",
    "crypto_investment",
    "tech_support",
    "refund",
    "romance",
    "shopping",
    "advance_fee",
    "impersonation",
    "recovery",
    "task",
    "sextortion",
    "other",
];

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .alter_table(
                Table::alter()
                    .table(Identifiers::Table)
                    .add_column(big_integer(Identifiers::CategoryMask).default(0))
                    .to_owned(),
            )
            .await?;
        let cases: String =
            CATEGORIES.iter().enumerate().map(|(bit, name)| format!(" WHEN '{name}' THEN {}", 1_i64 << bit)).collect();
        manager
            .get_connection()
            .execute_unprepared(&format!(
                "UPDATE identifiers SET category_mask = s.m FROM \
                 (SELECT l.identifier_id AS id, SUM(DISTINCT CASE r.category{cases} ELSE 0 END) AS m \
                  FROM report_links l JOIN reports r ON r.id = l.report_id GROUP BY l.identifier_id) AS s \
                 WHERE identifiers.id = s.id"
            ))
            .await?;
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .alter_table(Table::alter().table(Identifiers::Table).drop_column(Identifiers::CategoryMask).to_owned())
            .await
    }
}
