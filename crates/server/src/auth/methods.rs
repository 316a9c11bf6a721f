//! The permission table: every RPC scamtrail serves, the one permission it requires, and whether
//! its calls go into the audit trail.
//!
//! The table is checked against the compiled service descriptors at start-up ([`check`]): a
//! method served but missing here, or listed here but not served, stops the server. At run time
//! a path not in the table is refused ([`Rule::for_path`] answers `None`), so adding an RPC
//! without deciding who may call it cannot go unnoticed.

use prost::Message;
use scamtrail_core::Permission;

/// What the table says of one method.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rule {
    /// The full method path, `/package.Service/Method`.
    pub path: &'static str,
    /// What the caller's role must hold.
    pub permission: Permission,
    /// How its calls are audited.
    pub audit: Audit,
}

/// How a method's calls go into the audit trail.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Audit {
    /// Not audited (intake, previews, queue listings, who-am-I).
    No,
    /// Reads victim data, looks up for police, signs in, or administers: an event with the
    /// outcome is appended before the answer leaves, and an answer that could not be audited is
    /// not given.
    Read,
    /// Changes triage state or a report: an intent event is appended before the handler runs (no
    /// intent recorded, no change made), then the event with the outcome.
    Change,
    /// Stores a report and issues its follow-up secret: an event with the outcome is queued after
    /// the call and written with the next batch of the trail. The answer does not wait for that
    /// commit (the report is already stored, and its secret is shown in this answer only):
    /// waiting took a third of intake's throughput.
    Issue,
}

impl Audit {
    /// Whether calls are audited at all.
    pub fn any(self) -> bool {
        self != Audit::No
    }
}

const fn rule(path: &'static str, permission: Permission, audit: Audit) -> Rule {
    Rule { path, permission, audit }
}

use Audit::{Change, Issue, No, Read};
use Permission as P;

/// Every scamtrail RPC.
pub const RULES: &[Rule] = &[
    rule("/scamtrail.v1.IntakeService/SubmitReport", P::SubmitReports, Issue),
    rule("/scamtrail.v1.IntakeService/NormalizeIdentifiers", P::PreviewIdentifiers, No),
    rule("/scamtrail.v1.IntakeService/GetReportStatus", P::VictimFollowUp, No),
    rule("/scamtrail.v1.IntakeService/AddReportDetails", P::VictimFollowUp, Change),
    rule("/scamtrail.v1.TriageService/GetReport", P::ReadVictimData, Read),
    rule("/scamtrail.v1.TriageService/GetCluster", P::ReadClusters, Read),
    rule("/scamtrail.v1.TriageService/ExplainLink", P::ReadClusters, Read),
    rule("/scamtrail.v1.TriageService/SetIdentifierState", P::DecideIdentifiers, Change),
    rule("/scamtrail.v1.TriageService/ListQueues", P::WorkQueues, No),
    rule("/scamtrail.v1.TriageService/ListQueue", P::WorkQueues, No),
    rule("/scamtrail.v1.TriageService/ClaimNext", P::WorkQueues, Change),
    rule("/scamtrail.v1.TriageService/RenewClaim", P::WorkQueues, Change),
    rule("/scamtrail.v1.TriageService/ReleaseClaim", P::WorkQueues, Change),
    rule("/scamtrail.v1.TriageService/UpdateCluster", P::WorkQueues, Change),
    rule("/scamtrail.v1.TriageService/WatchQueue", P::WorkQueues, No),
    rule("/scamtrail.v1.TriageService/ListBridges", P::WorkQueues, No),
    rule("/scamtrail.v1.TriageService/SearchReports", P::WorkQueues, Read),
    rule("/scamtrail.v1.TriageService/SearchClusters", P::WorkQueues, Read),
    rule("/scamtrail.v1.TriageService/LinkClusters", P::WorkQueues, Change),
    rule("/scamtrail.v1.TriageService/UnlinkClusters", P::WorkQueues, Change),
    rule("/scamtrail.v1.TriageService/ListClusterNotes", P::WorkQueues, Read),
    rule("/scamtrail.v1.LookupService/LookupIdentifiers", P::LookupIdentifiers, Read),
    rule("/scamtrail.v1.AuthService/Login", P::Public, Read),
    rule("/scamtrail.v1.AuthService/Logout", P::SignedIn, Change),
    rule("/scamtrail.v1.AuthService/WhoAmI", P::SignedIn, No),
    rule("/scamtrail.v1.AdminService/ListAuditEvents", P::Administer, Read),
    rule("/scamtrail.v1.ExportService/ExportCluster", P::ReadClusters, Read),
    rule("/scamtrail.v1.ExportService/ExportIdentifiers", P::LookupIdentifiers, Read),
    rule("/scamtrail.v1.IntakeService/GetMyData", P::VictimFollowUp, Read),
    rule("/scamtrail.v1.IntakeService/EraseMyData", P::VictimFollowUp, Change),
    rule("/scamtrail.v1.IntakeService/SetMyConsent", P::VictimFollowUp, Change),
];

/// Services that are not scamtrail's and answer anyone: probes and server reflection.
const OPEN_SERVICES: &[&str] =
    &["/grpc.health.v1.Health/", "/grpc.reflection.v1.ServerReflection/", "/grpc.reflection.v1alpha.ServerReflection/"];

impl Rule {
    /// The rule of a request path; `None` for a path not in the table (refused).
    pub fn for_path(path: &str) -> Option<&'static Rule> {
        RULES.iter().find(|r| r.path == path)
    }
}

/// Whether `path` belongs to the health or reflection services, which need no credentials.
pub fn is_open(path: &str) -> bool {
    OPEN_SERVICES.iter().any(|prefix| path.starts_with(prefix))
}

/// Every method path the encoded descriptor set declares, for its `scamtrail.` packages.
pub fn served_paths(descriptor_set: &[u8]) -> anyhow::Result<Vec<String>> {
    let set = prost_types::FileDescriptorSet::decode(descriptor_set)?;
    let mut paths = vec![];
    for file in &set.file {
        let package = file.package();
        if !package.starts_with("scamtrail.") {
            continue;
        }
        for service in &file.service {
            for method in &service.method {
                paths.push(format!("/{package}.{}/{}", service.name(), method.name()));
            }
        }
    }
    Ok(paths)
}

/// Checks that the table and the served methods are the same set.
pub fn check(descriptor_set: &[u8]) -> anyhow::Result<()> {
    let served = served_paths(descriptor_set)?;
    let unlisted: Vec<&String> = served.iter().filter(|p| Rule::for_path(p).is_none()).collect();
    anyhow::ensure!(
        unlisted.is_empty(),
        "methods without an entry in the permission table (crates/server/src/auth/methods.rs): {unlisted:?}"
    );
    let stale: Vec<&str> = RULES.iter().map(|r| r.path).filter(|p| !served.iter().any(|s| s == p)).collect();
    anyhow::ensure!(stale.is_empty(), "permission table entries for methods not served: {stale:?}");
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_served_method_has_exactly_one_rule() {
        check(scamtrail_proto::FILE_DESCRIPTOR_SET).unwrap();
        let mut paths: Vec<&str> = RULES.iter().map(|r| r.path).collect();
        paths.sort_unstable();
        paths.dedup();
        assert_eq!(paths.len(), RULES.len(), "a method is listed twice");
    }

    #[test]
    fn unknown_paths_have_no_rule_and_probes_are_open() {
        assert!(Rule::for_path("/scamtrail.v1.TriageService/DropEverything").is_none());
        assert!(is_open("/grpc.health.v1.Health/Check"));
        assert!(!is_open("/scamtrail.v1.AuthService/Login"));
    }
}
