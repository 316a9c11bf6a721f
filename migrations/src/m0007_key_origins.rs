//! Binds API keys to browser origins: `api_keys.origins` holds the origins a public page's intake
//! key may be used from (space-separated `scheme://host[:port]`), null for a key bound to none.

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager.get_connection().execute_unprepared("ALTER TABLE api_keys ADD COLUMN origins TEXT NULL").await?;
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager.get_connection().execute_unprepared("ALTER TABLE api_keys DROP COLUMN origins").await?;
        Ok(())
    }
}
