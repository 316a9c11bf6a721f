//! Indexes identifiers by when they were last reported, for the indicator feed
//! (`ExportIdentifiers`): a bank polls "what was reported since my cursor", a keyset over
//! `(last_seen, id)`, which without it read the whole identifiers table for every page.

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .get_connection()
            .execute_unprepared(
                "CREATE INDEX identifiers_last_seen ON identifiers (last_seen, id) WHERE last_seen IS NOT NULL",
            )
            .await?;
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager.get_connection().execute_unprepared("DROP INDEX identifiers_last_seen").await?;
        Ok(())
    }
}
