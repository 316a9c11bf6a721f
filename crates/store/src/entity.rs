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
