//! Access: people who sign in (`users`) and their `sessions`, systems' `api_keys`, the hash-chained
//! `audit_events`, the hash of each report's follow-up secret and the `report_additions` victims
//! made with it. Passwords and follow-up secrets are argon2id hashes; session tokens and API keys
//! are random 256-bit values stored as SHA-256.

use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Reports {
    Table,
    /// argon2id of the secret a victim received at submission; null for reports stored before.
    FollowUpHash,
}

#[derive(DeriveIden)]
enum Users {
    Table,
    Id,
    Name,
    Role,
    /// The agency of a liaison user.
    Agency,
    PasswordHash,
    CreatedAt,
    DisabledAt,
}

#[derive(DeriveIden)]
enum Sessions {
    Table,
    Id,
    TokenHash,
    UserId,
    CreatedAt,
    ExpiresAt,
    EndedAt,
}

#[derive(DeriveIden)]
enum ApiKeys {
    Table,
    Id,
    Name,
    Role,
    Agency,
    KeyHash,
    CreatedAt,
    RevokedAt,
    LastUsedAt,
}

/// Details a victim added to a report later (the narrative text is appended to the report's).
#[derive(DeriveIden)]
enum ReportAdditions {
    Table,
    Id,
    ReportId,
    ClientRequestId,
    AddedAt,
}

/// Append-only; each row's hash covers the previous row's hash, so a changed or removed row shows.
#[derive(DeriveIden)]
enum AuditEvents {
    Table,
    Sequence,
    At,
    Actor,
    Role,
    Action,
    Targets,
    Peer,
    Outcome,
    PrevHash,
    Hash,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .alter_table(Table::alter().table(Reports::Table).add_column(text_null(Reports::FollowUpHash)).to_owned())
            .await?;
        // Client request ids are now stored scoped to their caller (17 characters in front); SQLite
        // does not enforce lengths, PostgreSQL needs the room.
        if manager.get_database_backend() == sea_orm_migration::sea_orm::DbBackend::Postgres {
            manager
                .get_connection()
                .execute_unprepared("ALTER TABLE reports ALTER COLUMN client_request_id TYPE varchar(160)")
                .await?;
        }
        manager
            .create_table(
                Table::create()
                    .table(ReportAdditions::Table)
                    .col(big_pk_auto(ReportAdditions::Id))
                    .col(big_integer(ReportAdditions::ReportId))
                    .col(string_len_null(ReportAdditions::ClientRequestId, 128))
                    .col(big_integer(ReportAdditions::AddedAt))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("report_additions_request")
                    .table(ReportAdditions::Table)
                    .col(ReportAdditions::ReportId)
                    .col(ReportAdditions::ClientRequestId)
                    .unique()
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(Users::Table)
                    .col(big_pk_auto(Users::Id))
                    .col(string_len(Users::Name, 64).unique_key())
                    .col(string_len(Users::Role, 16))
                    .col(string_len_null(Users::Agency, 200))
                    .col(text(Users::PasswordHash))
                    .col(big_integer(Users::CreatedAt))
                    .col(big_integer_null(Users::DisabledAt))
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(Sessions::Table)
                    .col(big_pk_auto(Sessions::Id))
                    .col(string_len(Sessions::TokenHash, 64).unique_key())
                    .col(big_integer(Sessions::UserId))
                    .col(big_integer(Sessions::CreatedAt))
                    .col(big_integer(Sessions::ExpiresAt))
                    .col(big_integer_null(Sessions::EndedAt))
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(ApiKeys::Table)
                    .col(big_pk_auto(ApiKeys::Id))
                    .col(string_len(ApiKeys::Name, 64).unique_key())
                    .col(string_len(ApiKeys::Role, 16))
                    .col(string_len_null(ApiKeys::Agency, 200))
                    .col(string_len(ApiKeys::KeyHash, 64).unique_key())
                    .col(big_integer(ApiKeys::CreatedAt))
                    .col(big_integer_null(ApiKeys::RevokedAt))
                    .col(big_integer_null(ApiKeys::LastUsedAt))
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(AuditEvents::Table)
                    .col(big_integer(AuditEvents::Sequence).primary_key())
                    .col(big_integer(AuditEvents::At))
                    .col(string_len(AuditEvents::Actor, 80))
                    .col(string_len(AuditEvents::Role, 16))
                    .col(string_len(AuditEvents::Action, 120))
                    .col(text(AuditEvents::Targets))
                    .col(string_len(AuditEvents::Peer, 80))
                    .col(string_len(AuditEvents::Outcome, 32))
                    .col(string_len(AuditEvents::PrevHash, 64))
                    .col(string_len(AuditEvents::Hash, 64))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("audit_events_actor")
                    .table(AuditEvents::Table)
                    .col(AuditEvents::Actor)
                    .col(AuditEvents::Sequence)
                    .to_owned(),
            )
            .await?;
        Ok(())
    }
}
