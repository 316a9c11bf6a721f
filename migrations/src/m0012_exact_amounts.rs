//! Exact amounts: `payments.amount_exact` holds a payment's minor units as decimal digits, since
//! an 18-decimal asset's amounts (10 ETH is 10^19 wei) do not fit the 64-bit `amount_minor`.
//! Every stored amount is copied digit for digit, so none changes; `amount_minor` stays for
//! older tools, holding the amount when it fits 64 bits.

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let db = manager.get_connection();
        db.execute_unprepared("ALTER TABLE payments ADD COLUMN amount_exact TEXT NOT NULL DEFAULT '0'").await?;
        db.execute_unprepared("UPDATE payments SET amount_exact = CAST(amount_minor AS TEXT)").await?;
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager.get_connection().execute_unprepared("ALTER TABLE payments DROP COLUMN amount_exact").await?;
        Ok(())
    }
}
