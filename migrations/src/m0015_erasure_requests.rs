//! Erasure requests and erasures of a report's personal data: `reports.erasure_requested_at`
//! (a victim asked through the follow-up while a legal hold lasted; the request is applied when
//! the hold ends) and `reports.erased_at` (when the personal data and free text went, by request
//! or by the retention policy).

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let db = manager.get_connection();
        // One column per statement: SQLite adds one at a time.
        db.execute_unprepared("ALTER TABLE reports ADD COLUMN erasure_requested_at BIGINT NULL").await?;
        db.execute_unprepared("ALTER TABLE reports ADD COLUMN erased_at BIGINT NULL").await?;
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let db = manager.get_connection();
        db.execute_unprepared("ALTER TABLE reports DROP COLUMN erased_at").await?;
        db.execute_unprepared("ALTER TABLE reports DROP COLUMN erasure_requested_at").await?;
        Ok(())
    }
}
