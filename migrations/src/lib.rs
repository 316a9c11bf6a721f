//! scamtrail's schema, as sea-orm migrations that run unchanged on SQLite and PostgreSQL.
//!
//! The server applies pending migrations at start (`scamtrail serve`) and on demand
//! (`scamtrail migrate`). A migration, once released, is never edited: change the schema with a new
//! one. Instants are BIGINT microseconds since the Unix epoch and vocabularies are their stable
//! lower-case names, so both databases store the same values.

pub use sea_orm_migration::MigratorTrait;
use sea_orm_migration::prelude::*;

mod m0001_reports;
mod m0002_clusters;
mod m0003_access;
mod m0004_identifier_categories;
mod m0005_drop_report_identifiers_key;
mod m0006_clusters_merged_into;
mod m0007_key_origins;
mod m0011_identifier_feed;
mod m0012_exact_amounts;
mod m0013_cluster_tags;
mod m0014_bridges;
mod m0015_erasure_requests;
mod m0017_search_indexes;
mod m0018_manual_links;

/// The category names `m0004` filled identifiers' masks with, in the order of their bits.
pub use m0004_identifier_categories::CATEGORIES as CATEGORY_BITS_AT_M0004;

/// Every migration, in the order they apply.
pub struct Migrator;

#[async_trait::async_trait]
impl MigratorTrait for Migrator {
    fn migrations() -> Vec<Box<dyn MigrationTrait>> {
        vec![
            Box::new(m0001_reports::Migration),
            Box::new(m0002_clusters::Migration),
            Box::new(m0003_access::Migration),
            Box::new(m0004_identifier_categories::Migration),
            Box::new(m0005_drop_report_identifiers_key::Migration),
            Box::new(m0006_clusters_merged_into::Migration),
            Box::new(m0007_key_origins::Migration),
            Box::new(m0011_identifier_feed::Migration),
            Box::new(m0012_exact_amounts::Migration),
            Box::new(m0013_cluster_tags::Migration),
            Box::new(m0014_bridges::Migration),
            Box::new(m0015_erasure_requests::Migration),
            Box::new(m0017_search_indexes::Migration),
            Box::new(m0018_manual_links::Migration),
        ]
    }
}
