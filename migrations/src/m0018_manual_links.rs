//! Manual links: an investigator's edge between two clusters, made on outside evidence
//! (`LinkClusters`). It joins one report of each (the oldest of each cluster when it was made),
//! so it outlives the clusters' ids through merges, splits and `recluster`; removing it
//! (`UnlinkClusters`) keeps the row, with who removed it, when and why.

use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum ManualLinks {
    Table,
    Id,
    /// The oldest report of one cluster when the link was made.
    ReportA,
    /// The oldest report of the other.
    ReportB,
    CreatedAt,
    /// The investigator who made it: the link's source.
    Actor,
    /// The outside evidence.
    Reason,
    /// Null while the link holds.
    RemovedAt,
    RemovedBy,
    RemovedReason,
}

#[derive(DeriveIden)]
enum Reports {
    Table,
    Id,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let end = |from| {
            ForeignKey::create()
                .from(ManualLinks::Table, from)
                .to(Reports::Table, Reports::Id)
                .on_delete(ForeignKeyAction::Cascade)
                .to_owned()
        };
        manager
            .create_table(
                Table::create()
                    .table(ManualLinks::Table)
                    .col(big_pk_auto(ManualLinks::Id))
                    .col(big_integer(ManualLinks::ReportA))
                    .col(big_integer(ManualLinks::ReportB))
                    .col(big_integer(ManualLinks::CreatedAt))
                    .col(string_len(ManualLinks::Actor, 200))
                    .col(text(ManualLinks::Reason))
                    .col(big_integer_null(ManualLinks::RemovedAt))
                    .col(string_len_null(ManualLinks::RemovedBy, 200))
                    .col(text_null(ManualLinks::RemovedReason))
                    .foreign_key(&mut end(ManualLinks::ReportA))
                    .foreign_key(&mut end(ManualLinks::ReportB))
                    .to_owned(),
            )
            .await?;
        // The links in force, by either end: a split and ExplainLink read a cluster's by its reports.
        let db = manager.get_connection();
        db.execute_unprepared("CREATE INDEX manual_links_a ON manual_links (report_a) WHERE removed_at IS NULL")
            .await?;
        db.execute_unprepared("CREATE INDEX manual_links_b ON manual_links (report_b) WHERE removed_at IS NULL")
            .await?;
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager.drop_table(Table::drop().table(ManualLinks::Table).to_owned()).await?;
        Ok(())
    }
}
