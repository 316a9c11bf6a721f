//! sea-orm entities: one module per table, mirroring the migrations in `scamtrail-migration`.

#![allow(missing_docs)] // each column is documented in the migration that creates it

/// `reports`: one victim's account of one scam.
pub mod report {
    use sea_orm::entity::prelude::*;

    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "reports")]
    pub struct Model {
        #[sea_orm(primary_key)]
        pub id: i64,
        pub reference: String,
        pub client_request_id: Option<String>,
        pub received_at: i64,
        pub category: String,
        pub first_contact_at: Option<i64>,
        pub last_contact_at: Option<i64>,
        pub contact_channels: String,
        pub narrative: String,
        pub contact_ongoing: bool,
        pub cluster_id: Option<i64>,
        pub follow_up_hash: Option<String>,
    }

    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}

/// `report_victims`: the victim's personal data, one row per report.
pub mod report_victim {
    use sea_orm::entity::prelude::*;

    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "report_victims")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub report_id: i64,
        pub name: String,
        pub email: String,
        pub phone: String,
        pub country: Option<String>,
        pub age_band: Option<String>,
        pub declared_vulnerable: bool,
        pub vulnerability_note: String,
        pub consent_to_share_police: bool,
        pub victim_key: Option<String>,
    }

    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}

/// `payments`: the payments of a report, by position.
pub mod payment {
    use sea_orm::entity::prelude::*;

    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "payments")]
    pub struct Model {
        #[sea_orm(primary_key)]
        pub id: i64,
        pub report_id: i64,
        pub position: i32,
        pub amount_minor: i64,
        pub currency: String,
        pub method: Option<String>,
        pub paid_at: Option<i64>,
        pub transaction_hash: String,
        pub recall_requested: bool,
        /// The exact amount in minor units, as decimal digits (`amount_minor` holds it only when it
        /// fits 64 bits, else saturates); migration `m0012`.
        pub amount_exact: String,
        /// `amount_exact` zero-padded to 39 digits, so that text order is numeric order (searches);
        /// migration `m0017`.
        pub amount_key: String,
    }

    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}

/// `report_identifiers`: every identifier of a report with its normalised key or reason.
pub mod report_identifier {
    use sea_orm::entity::prelude::*;

    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "report_identifiers")]
    pub struct Model {
        #[sea_orm(primary_key)]
        pub id: i64,
        pub report_id: i64,
        pub payment_position: Option<i32>,
        pub position: i32,
        pub raw: String,
        pub role: Option<String>,
        pub kind_hint: Option<String>,
        pub suggested: bool,
        pub kind: Option<String>,
        pub key: Option<String>,
        pub display: Option<String>,
        pub country: Option<String>,
        pub bank_code: Option<String>,
        pub phone_type: Option<String>,
        pub chain: Option<String>,
        pub checksum_verified: bool,
        pub unverified_reason: Option<String>,
        pub unverified_message: Option<String>,
    }

    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}

/// `identifiers`: one row per canonical key, with its linking state and report count.
pub mod identifier {
    use sea_orm::entity::prelude::*;

    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "identifiers")]
    pub struct Model {
        #[sea_orm(primary_key)]
        pub id: i64,
        pub key: String,
        pub kind: String,
        pub display: String,
        pub state: String,
        pub state_reason: String,
        pub state_source: Option<String>,
        pub state_changed_at: Option<i64>,
        pub report_count: i64,
        pub first_seen: Option<i64>,
        pub last_seen: Option<i64>,
        pub cluster_id: Option<i64>,
        pub category_mask: i64,
        pub strong_count: i64,
        pub institutional: bool,
        pub bridge: String,
        pub bridge_detail: String,
        pub bridge_groups: i64,
        pub bridge_judged_at: i64,
    }

    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}

/// `clusters`: connected components of the graph, their aggregates, triage state and priority.
pub mod cluster {
    use sea_orm::entity::prelude::*;

    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "clusters")]
    pub struct Model {
        #[sea_orm(primary_key)]
        pub id: i64,
        pub created_at: i64,
        pub status: String,
        pub version: i64,
        pub merged_into: Option<i64>,
        pub assignee: Option<String>,
        pub disposition: Option<String>,
        pub referred_to: Option<String>,
        pub claim_holder: Option<String>,
        pub claim_expires_at: Option<i64>,
        pub report_count: i64,
        pub victim_count: i64,
        pub reference_currency: String,
        pub total_loss_minor: i64,
        pub loss_by_currency: String,
        pub recoverable_minor: i64,
        pub recall_closes_at: Option<i64>,
        pub first_seen: Option<i64>,
        pub last_seen: Option<i64>,
        pub categories: String,
        pub countries: String,
        pub ongoing_reports: i64,
        pub identifiers_by_kind: String,
        pub priority_milli: i64,
        pub priority_components: String,
        pub priority_at: i64,
        pub rescore_at: Option<i64>,
        /// Investigators' tags, `,a,b,` (`,` for none); migration `m0013`.
        pub tags: String,
    }

    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}

/// `cluster_events`: what happened to each cluster (lineage and triage history), append-only.
pub mod cluster_event {
    use sea_orm::entity::prelude::*;

    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "cluster_events")]
    pub struct Model {
        #[sea_orm(primary_key)]
        pub id: i64,
        pub cluster_id: i64,
        pub at: i64,
        pub kind: String,
        pub other_cluster_id: Option<i64>,
        pub actor: String,
        pub detail: String,
    }

    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}
