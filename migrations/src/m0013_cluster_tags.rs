//! Investigators' tags on clusters (`campaign:operation-tulip`): `clusters.tags` holds them as
//! `,a,b,` (`,` for none), the form of a cluster's categories and countries, so that queue filters
//! match them alike.

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .get_connection()
            .execute_unprepared("ALTER TABLE clusters ADD COLUMN tags TEXT NOT NULL DEFAULT ','")
            .await?;
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager.get_connection().execute_unprepared("ALTER TABLE clusters DROP COLUMN tags").await?;
        Ok(())
    }
}
