//! Reports, their victims, payments, and the identifiers victims typed.

use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Reports {
    Table,
    Id,
    Reference,
    ClientRequestId,
    ReceivedAt,
    Category,
    FirstContactAt,
    LastContactAt,
    ContactChannels,
    Narrative,
    ContactOngoing,
}

/// Victim personal data sits in its own table so that reads of it are deliberate and auditable.
#[derive(DeriveIden)]
enum ReportVictims {
    Table,
    ReportId,
    Name,
    Email,
    Phone,
    Country,
    AgeBand,
    DeclaredVulnerable,
    VulnerabilityNote,
    ConsentToSharePolice,
}

#[derive(DeriveIden)]
enum Payments {
    Table,
    Id,
    ReportId,
    Position,
    AmountMinor,
    Currency,
    Method,
    PaidAt,
    TransactionHash,
    RecallRequested,
}

/// One row per identifier a victim typed (in a payment when `payment_position` is set) or that was
/// found in the narrative (`suggested`), with its normalised key or the reason it has none.
#[derive(DeriveIden)]
enum ReportIdentifiers {
    Table,
    Id,
    ReportId,
    PaymentPosition,
    Position,
    Raw,
    Role,
    KindHint,
    Suggested,
    Kind,
    Key,
    Display,
    Country,
    BankCode,
    PhoneType,
    Chain,
    ChecksumVerified,
    UnverifiedReason,
    UnverifiedMessage,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(Reports::Table)
                    .col(big_pk_auto(Reports::Id))
                    .col(string_len_uniq(Reports::Reference, 16))
                    .col(string_len_null(Reports::ClientRequestId, 128).unique_key())
                    .col(big_integer(Reports::ReceivedAt))
                    .col(string_len(Reports::Category, 32))
                    .col(big_integer_null(Reports::FirstContactAt))
                    .col(big_integer_null(Reports::LastContactAt))
                    .col(string(Reports::ContactChannels))
                    .col(text(Reports::Narrative))
                    .col(boolean(Reports::ContactOngoing))
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(ReportVictims::Table)
                    .col(big_integer(ReportVictims::ReportId).primary_key())
                    .col(text(ReportVictims::Name))
                    .col(text(ReportVictims::Email))
                    .col(text(ReportVictims::Phone))
                    .col(string_len_null(ReportVictims::Country, 2))
                    .col(string_len_null(ReportVictims::AgeBand, 16))
                    .col(boolean(ReportVictims::DeclaredVulnerable))
                    .col(text(ReportVictims::VulnerabilityNote))
                    .col(boolean(ReportVictims::ConsentToSharePolice))
                    .foreign_key(
                        ForeignKey::create()
                            .from(ReportVictims::Table, ReportVictims::ReportId)
                            .to(Reports::Table, Reports::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(Payments::Table)
                    .col(big_pk_auto(Payments::Id))
                    .col(big_integer(Payments::ReportId))
                    .col(integer(Payments::Position))
                    .col(big_integer(Payments::AmountMinor))
                    .col(string_len(Payments::Currency, 16))
                    .col(string_len_null(Payments::Method, 32))
                    .col(big_integer_null(Payments::PaidAt))
                    .col(text(Payments::TransactionHash))
                    .col(boolean(Payments::RecallRequested))
                    .foreign_key(
                        ForeignKey::create()
                            .from(Payments::Table, Payments::ReportId)
                            .to(Reports::Table, Reports::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("payments_report_position")
                    .table(Payments::Table)
                    .col(Payments::ReportId)
                    .col(Payments::Position)
                    .unique()
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(ReportIdentifiers::Table)
                    .col(big_pk_auto(ReportIdentifiers::Id))
                    .col(big_integer(ReportIdentifiers::ReportId))
                    .col(integer_null(ReportIdentifiers::PaymentPosition))
                    .col(integer(ReportIdentifiers::Position))
                    .col(text(ReportIdentifiers::Raw))
                    .col(string_len_null(ReportIdentifiers::Role, 32))
                    .col(string_len_null(ReportIdentifiers::KindHint, 32))
                    .col(boolean(ReportIdentifiers::Suggested))
                    .col(string_len_null(ReportIdentifiers::Kind, 16))
                    .col(text_null(ReportIdentifiers::Key))
                    .col(text_null(ReportIdentifiers::Display))
                    .col(string_len_null(ReportIdentifiers::Country, 2))
                    .col(string_len_null(ReportIdentifiers::BankCode, 32))
                    .col(string_len_null(ReportIdentifiers::PhoneType, 32))
                    .col(string_len_null(ReportIdentifiers::Chain, 32))
                    .col(boolean(ReportIdentifiers::ChecksumVerified))
                    .col(string_len_null(ReportIdentifiers::UnverifiedReason, 64))
                    .col(text_null(ReportIdentifiers::UnverifiedMessage))
                    .foreign_key(
                        ForeignKey::create()
                            .from(ReportIdentifiers::Table, ReportIdentifiers::ReportId)
                            .to(Reports::Table, Reports::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("report_identifiers_report")
                    .table(ReportIdentifiers::Table)
                    .col(ReportIdentifiers::ReportId)
                    .col(ReportIdentifiers::PaymentPosition)
                    .col(ReportIdentifiers::Position)
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("report_identifiers_key")
                    .table(ReportIdentifiers::Table)
                    .col(ReportIdentifiers::Key)
                    .to_owned(),
            )
            .await?;
        Ok(())
    }
}
