//! Reads, straight from the pool: they never wait for the writer.

use scamtrail_core::{Reference, StoredReport, UnixMicros};
use sea_orm::{ColumnTrait, DatabaseConnection, EntityTrait, QueryFilter, QueryOrder};

use crate::StoreError;
use crate::entity::{payment, report, report_identifier, report_victim};
use crate::rows::report_from_rows;

pub(crate) async fn report_by_id(
    db: &DatabaseConnection,
    id: i64,
) -> Result<Option<(StoredReport, Option<i64>)>, StoreError> {
    match report::Entity::find_by_id(id).one(db).await? {
        Some(row) => assemble(db, row).await.map(Some),
        None => Ok(None),
    }
}

pub(crate) async fn report_by_reference(
    db: &DatabaseConnection,
    reference: &Reference,
) -> Result<Option<(StoredReport, Option<i64>)>, StoreError> {
    let row = report::Entity::find().filter(report::Column::Reference.eq(reference.as_str())).one(db).await?;
    match row {
        Some(row) => assemble(db, row).await.map(Some),
        None => Ok(None),
    }
}

async fn assemble(db: &DatabaseConnection, row: report::Model) -> Result<(StoredReport, Option<i64>), StoreError> {
    let victim = report_victim::Entity::find_by_id(row.id).one(db).await?;
    let payments = payment::Entity::find()
        .filter(payment::Column::ReportId.eq(row.id))
        .order_by_asc(payment::Column::Position)
        .all(db)
        .await?;
    let identifiers = report_identifier::Entity::find()
        .filter(report_identifier::Column::ReportId.eq(row.id))
        .order_by_asc(report_identifier::Column::Id)
        .all(db)
        .await?;
    let report = report_from_rows(&row, victim.as_ref(), &payments, &identifiers)?;
    let reference = Reference::parse(&row.reference)
        .map_err(|_| StoreError::Corrupt(format!("reports.reference = {:?}", row.reference)))?;
    let stored = StoredReport { id: row.id, reference, received_at: UnixMicros(row.received_at), report };
    Ok((stored, row.cluster_id))
}
