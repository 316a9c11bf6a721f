//! Drops the index of `report_identifiers` by canonical key. Lookups by key read `identifiers`
//! (migration `m0002`) and nothing filters `report_identifiers` by key any more, while every stored
//! identifier put an entry at a random place in this index: a page of log written per identifier
//! at intake (BENCHMARKS.md).

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum ReportIdentifiers {
    Table,
    Key,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_index(Index::drop().name("report_identifiers_key").table(ReportIdentifiers::Table).to_owned())
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_index(
                Index::create()
                    .name("report_identifiers_key")
                    .table(ReportIdentifiers::Table)
                    .col(ReportIdentifiers::Key)
                    .to_owned(),
            )
            .await
    }
}
