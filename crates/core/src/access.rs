//! Who may do what: the roles of ../DESIGN.md and the permissions each holds.
//!
//! Every RPC requires exactly one [`Permission`] (the server's method table says which); a role
//! either holds it or not ([`Role::holds`]). Record-level rules (a liaison reads only the clusters
//! referred to its agency; only a supervisor safelists, reopens or assigns others) sit on top,
//! in the handlers.

use crate::kinds::vocabulary;

vocabulary!(
    /// What a caller is.
    Role, "role" {
        /// A victim-support frontend (API key): submits reports, previews identifiers, victims' follow-up.
        Intake = "intake",
        /// Works triage queues, reads reports with victim data, decides on identifiers.
        Investigator = "investigator",
        /// An investigator who may also assign others, safelist identifiers and reopen closed clusters.
        Supervisor = "supervisor",
        /// A police system (API key): looks identifiers up, reads the clusters referred to its agency.
        Liaison = "liaison",
        /// Administers users and keys and reads the audit trail.
        Admin = "admin",
    }
);

vocabulary!(
    /// What an RPC requires of its caller.
    Permission, "permission" {
        /// Nothing: callers without credentials (signing in).
        Public = "public",
        /// Any valid credential (who am I, sign out).
        SignedIn = "signed_in",
        /// Store new reports.
        SubmitReports = "submit_reports",
        /// Normalise values without storing them (previews while a victim types).
        PreviewIdentifiers = "preview_identifiers",
        /// Act for a victim holding a report's reference and secret (status, added details).
        VictimFollowUp = "victim_follow_up",
        /// Read reports with the victim's personal data.
        ReadVictimData = "read_victim_data",
        /// Read clusters (no victim personal data); liaisons only those referred to their agency.
        ReadClusters = "read_clusters",
        /// List, claim and update clusters in the triage queues, and watch them.
        WorkQueues = "work_queues",
        /// Exclude identifiers from linking or return them to normal (safelisting needs a supervisor).
        DecideIdentifiers = "decide_identifiers",
        /// Look identifiers up in bulk (no victim data).
        LookupIdentifiers = "lookup_identifiers",
        /// Read the audit trail, manage users and keys.
        Administer = "administer",
    }
);

impl Role {
    /// Whether the role holds `permission`.
    pub fn holds(self, permission: Permission) -> bool {
        use Permission as P;
        match permission {
            P::Public | P::SignedIn => true,
            P::SubmitReports | P::VictimFollowUp => self == Role::Intake,
            P::PreviewIdentifiers => self != Role::Admin,
            P::ReadVictimData | P::WorkQueues | P::DecideIdentifiers => self.investigates(),
            P::ReadClusters | P::LookupIdentifiers => self.investigates() || self == Role::Liaison,
            P::Administer => self == Role::Admin,
        }
    }

    /// Investigator or supervisor: the roles that read victims' personal data.
    pub fn investigates(self) -> bool {
        matches!(self, Role::Investigator | Role::Supervisor)
    }

    /// Whether the role reads investigators' notes on a cluster: those who write them. A liaison
    /// reads the clusters referred to its agency, not what investigators wrote about them.
    pub fn reads_notes(self) -> bool {
        self.investigates()
    }

    /// Whether an export made by this role carries the reports of victims who did not consent to
    /// share them with the police: a referral package never does (it is made for the police,
    /// whoever makes it), other formats only for the roles that work the cases. A liaison is the
    /// police. The cluster's totals still count every report, without naming any.
    pub fn exports_reports_without_consent(self, referral_package: bool) -> bool {
        !referral_package && self.investigates()
    }

    /// Whether the role sees a report whose victim gave (`consented`) or withheld consent to share
    /// it with the police. A liaison is the police: the report of a victim who did not consent is
    /// not shown to it at all, anywhere (it only counts, anonymously, in its cluster's totals).
    pub fn sees_report(self, consented: bool) -> bool {
        consented || self != Role::Liaison
    }

    /// Whether the role is held by systems through API keys rather than by people signing in.
    pub fn is_for_systems(self) -> bool {
        matches!(self, Role::Intake | Role::Liaison)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn liaisons_see_only_the_reports_of_victims_who_consented() {
        for role in Role::ALL.iter() {
            assert!(role.sees_report(true));
            assert_eq!(role.sees_report(false), *role != Role::Liaison, "{role:?}");
        }
    }

    #[test]
    fn only_investigators_and_supervisors_read_victim_data() {
        let readers: Vec<Role> = Role::ALL.iter().copied().filter(|r| r.holds(Permission::ReadVictimData)).collect();
        assert_eq!(readers, vec![Role::Investigator, Role::Supervisor]);
    }

    #[test]
    fn each_role_holds_what_the_design_gives_it() {
        assert!(Role::Intake.holds(Permission::SubmitReports));
        assert!(!Role::Intake.holds(Permission::ReadClusters));
        assert!(Role::Liaison.holds(Permission::LookupIdentifiers));
        assert!(Role::Liaison.holds(Permission::ReadClusters));
        assert!(!Role::Liaison.holds(Permission::WorkQueues));
        assert!(Role::Investigator.reads_notes() && Role::Supervisor.reads_notes());
        assert!(!Role::Liaison.reads_notes() && !Role::Admin.reads_notes() && !Role::Intake.reads_notes());
        assert!(!Role::Admin.holds(Permission::ReadVictimData));
        assert!(Role::Admin.holds(Permission::Administer));
        assert!(!Role::Supervisor.holds(Permission::Administer));
        assert!(Role::ALL.iter().all(|r| r.holds(Permission::SignedIn) && r.holds(Permission::Public)));
    }

    #[test]
    fn only_case_workers_export_reports_without_consent_and_never_in_a_referral() {
        let exporting: Vec<Role> =
            Role::ALL.iter().copied().filter(|r| r.exports_reports_without_consent(false)).collect();
        assert_eq!(exporting, vec![Role::Investigator, Role::Supervisor]);
        assert!(Role::ALL.iter().all(|r| !r.exports_reports_without_consent(true)));
    }
}
