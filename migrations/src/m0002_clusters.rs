//! Clusters: the identifiers victims reported (one row per canonical key, with its linking state),
//! the report–identifier edges that link reports, the clusters those edges make, and the events
//! of each cluster (lineage and triage history).

use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Reports {
    Table,
    Id,
    ClusterId,
}

#[derive(DeriveIden)]
enum ReportVictims {
    Table,
    /// A hash of the victim's e-mail or phone, so that one victim's reports count once.
    VictimKey,
}

/// One row per canonical key ever reported (or safelisted ahead of time).
#[derive(DeriveIden)]
enum Identifiers {
    Table,
    Id,
    Key,
    Kind,
    Display,
    /// normal, excluded or safelisted.
    State,
    StateReason,
    /// Who set the state: `shipped` (the safelist file) or `api`; null while never set.
    StateSource,
    StateChangedAt,
    /// Reports that carry the key (not narrative suggestions).
    ReportCount,
    FirstSeen,
    LastSeen,
    /// The cluster the key links, while it is in state normal and carried by a report.
    ClusterId,
}

/// The graph's edges: a report carries an identifier. Report pairs are never stored.
#[derive(DeriveIden)]
enum ReportLinks {
    Table,
    IdentifierId,
    ReportId,
}

#[derive(DeriveIden)]
enum Clusters {
    Table,
    Id,
    CreatedAt,
    Status,
    /// Bumped by every triage change; UpdateCluster quotes it.
    Version,
    MergedInto,
    Assignee,
    Disposition,
    ReferredTo,
    ClaimHolder,
    ClaimExpiresAt,
    ReportCount,
    VictimCount,
    ReferenceCurrency,
    TotalLossMinor,
    /// `CUR:amount` pairs separated by `;`.
    LossByCurrency,
    RecoverableMinor,
    RecallClosesAt,
    FirstSeen,
    LastSeen,
    /// Category names between commas, with a leading and trailing comma (`,investment,romance,`).
    Categories,
    /// Victim countries, in the same form.
    Countries,
    OngoingReports,
    /// `kind:count` pairs separated by `;`.
    IdentifiersByKind,
    PriorityMilli,
    /// The components as JSON: `[{"name":..,"value":..,"basis":..}]`.
    PriorityComponents,
    PriorityAt,
    /// When time alone next changes the priority (a recall window closing, a report ageing out).
    RescoreAt,
}

#[derive(DeriveIden)]
enum ClusterEvents {
    Table,
    Id,
    ClusterId,
    At,
    Kind,
    OtherClusterId,
    Actor,
    Detail,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .alter_table(
                Table::alter().table(Reports::Table).add_column(big_integer_null(Reports::ClusterId)).to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("reports_cluster")
                    .table(Reports::Table)
                    .col(Reports::ClusterId)
                    .col(Reports::Id)
                    .to_owned(),
            )
            .await?;
        manager
            .alter_table(
                Table::alter()
                    .table(ReportVictims::Table)
                    .add_column(string_len_null(ReportVictims::VictimKey, 64))
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(Identifiers::Table)
                    .col(big_pk_auto(Identifiers::Id))
                    .col(text(Identifiers::Key).unique_key())
                    .col(string_len(Identifiers::Kind, 16))
                    .col(text(Identifiers::Display))
                    .col(string_len(Identifiers::State, 16))
                    .col(text(Identifiers::StateReason))
                    .col(string_len_null(Identifiers::StateSource, 16))
                    .col(big_integer_null(Identifiers::StateChangedAt))
                    .col(big_integer(Identifiers::ReportCount))
                    .col(big_integer_null(Identifiers::FirstSeen))
                    .col(big_integer_null(Identifiers::LastSeen))
                    .col(big_integer_null(Identifiers::ClusterId))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("identifiers_cluster")
                    .table(Identifiers::Table)
                    .col(Identifiers::ClusterId)
                    .col(Identifiers::ReportCount)
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(ReportLinks::Table)
                    .col(big_integer(ReportLinks::IdentifierId))
                    .col(big_integer(ReportLinks::ReportId))
                    .primary_key(Index::create().col(ReportLinks::IdentifierId).col(ReportLinks::ReportId))
                    .foreign_key(
                        ForeignKey::create()
                            .from(ReportLinks::Table, ReportLinks::ReportId)
                            .to(Reports::Table, Reports::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .from(ReportLinks::Table, ReportLinks::IdentifierId)
                            .to(Identifiers::Table, Identifiers::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("report_links_report")
                    .table(ReportLinks::Table)
                    .col(ReportLinks::ReportId)
                    .col(ReportLinks::IdentifierId)
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(Clusters::Table)
                    .col(big_pk_auto(Clusters::Id))
                    .col(big_integer(Clusters::CreatedAt))
                    .col(string_len(Clusters::Status, 32))
                    .col(big_integer(Clusters::Version))
                    .col(big_integer_null(Clusters::MergedInto))
                    .col(string_len_null(Clusters::Assignee, 200))
                    .col(string_len_null(Clusters::Disposition, 32))
                    .col(string_len_null(Clusters::ReferredTo, 200))
                    .col(string_len_null(Clusters::ClaimHolder, 200))
                    .col(big_integer_null(Clusters::ClaimExpiresAt))
                    .col(big_integer(Clusters::ReportCount))
                    .col(big_integer(Clusters::VictimCount))
                    .col(string_len(Clusters::ReferenceCurrency, 16))
                    .col(big_integer(Clusters::TotalLossMinor))
                    .col(text(Clusters::LossByCurrency))
                    .col(big_integer(Clusters::RecoverableMinor))
                    .col(big_integer_null(Clusters::RecallClosesAt))
                    .col(big_integer_null(Clusters::FirstSeen))
                    .col(big_integer_null(Clusters::LastSeen))
                    .col(text(Clusters::Categories))
                    .col(text(Clusters::Countries))
                    .col(big_integer(Clusters::OngoingReports))
                    .col(text(Clusters::IdentifiersByKind))
                    .col(big_integer(Clusters::PriorityMilli))
                    .col(text(Clusters::PriorityComponents))
                    .col(big_integer(Clusters::PriorityAt))
                    .col(big_integer_null(Clusters::RescoreAt))
                    .to_owned(),
            )
            .await?;
        // The queues read waiting clusters in priority order: a partial index holds exactly those,
        // in that order, so a page is read without sorting. Same SQL on SQLite and PostgreSQL.
        manager
            .get_connection()
            .execute_unprepared(
                "CREATE INDEX clusters_waiting ON clusters (priority_milli DESC, id) \
                 WHERE status IN ('new', 'triaging')",
            )
            .await?;
        manager
            .create_index(
                Index::create().name("clusters_rescore").table(Clusters::Table).col(Clusters::RescoreAt).to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(ClusterEvents::Table)
                    .col(big_pk_auto(ClusterEvents::Id))
                    .col(big_integer(ClusterEvents::ClusterId))
                    .col(big_integer(ClusterEvents::At))
                    .col(string_len(ClusterEvents::Kind, 32))
                    .col(big_integer_null(ClusterEvents::OtherClusterId))
                    .col(string_len(ClusterEvents::Actor, 200))
                    .col(text(ClusterEvents::Detail))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("cluster_events_cluster")
                    .table(ClusterEvents::Table)
                    .col(ClusterEvents::ClusterId)
                    .col(ClusterEvents::Id)
                    .to_owned(),
            )
            .await?;
        Ok(())
    }
}
