//! The triage vocabularies and the cluster workflow: what state an identifier is in for linking,
//! where a cluster stands, how it was closed, and which status changes the workflow allows.
//!
//! `Merged` is outside the workflow: only a merge sets it, so no transition leads there and none
//! leaves it.

use crate::kinds::vocabulary;

vocabulary!(
    /// What happened to a cluster.
    EventKind, "cluster event kind" {
        /// Created by a report.
        Created = "created",
        /// Another cluster merged into this one.
        Absorbed = "absorbed",
        /// This cluster merged into another.
        MergedInto = "merged_into",
        /// Split off from another cluster.
        SplitFrom = "split_from",
        /// Another cluster split off from this one.
        SplitOff = "split_off",
        /// Status, assignee, disposition or referral changed.
        StatusChanged = "status_changed",
        /// Claimed.
        Claimed = "claimed",
        /// Claim released.
        Released = "released",
        /// A note was written.
        Note = "note",
        /// The priority changed (not stored).
        PriorityChanged = "priority_changed",
        /// Reports joined.
        ReportsAdded = "reports_added",
    }
);

impl EventKind {
    /// Whether this event changes which clusters exist (a merge or a split), which every watcher
    /// needs to hear of whatever queue it watches.
    pub fn is_lineage(self) -> bool {
        matches!(self, EventKind::Absorbed | EventKind::MergedInto | EventKind::SplitFrom | EventKind::SplitOff)
    }

    /// Whether this event may take a cluster out of a queue (or put it back), which watchers of
    /// that queue need to hear of even when the cluster is no longer in it.
    pub fn moves_between_queues(self) -> bool {
        self.is_lineage()
            || matches!(
                self,
                EventKind::Claimed | EventKind::Released | EventKind::StatusChanged | EventKind::PriorityChanged
            )
    }

    /// Whether events of this kind are kept in the cluster's history (priority changes are only broadcast).
    pub fn is_stored(self) -> bool {
        !matches!(self, EventKind::PriorityChanged)
    }
}

vocabulary!(
    /// Whether an identifier links reports.
    IdentifierState, "identifier state" {
        /// Links the reports that share it.
        Normal = "normal",
        /// Kept on reports but never links them (a shared payment processor, a mass-mailed number).
        Excluded = "excluded",
        /// Known to be legitimate (a real bank's helpline spoofed by scammers); never links.
        Safelisted = "safelisted",
        /// Held by the bridge rule (`crate::bridges`): it joins groups of reports that stand on
        /// their own, so it does not link until a supervisor links or safelists it.
        Held = "held",
    }
);

vocabulary!(
    /// Where a cluster stands in triage.
    ClusterStatus, "cluster status" {
        /// Not looked at yet.
        New = "new",
        /// Someone is looking at it.
        Triaging = "triaging",
        /// Given to an investigator.
        Assigned = "assigned",
        /// Handed to the police or another agency.
        Referred = "referred",
        /// A recall of the victims' payments was asked of the banks.
        RecallRequested = "recall_requested",
        /// Watched for new reports.
        Monitoring = "monitoring",
        /// Finished, with a disposition.
        Closed = "closed",
        /// Folded into another cluster by a merge.
        Merged = "merged",
    }
);

vocabulary!(
    /// How a cluster was closed.
    Disposition, "disposition" {
        /// Action was taken against the scammers' identifiers.
        Actioned = "actioned",
        /// Money was recovered for the victims.
        Recovered = "recovered",
        /// Not enough information to act.
        InsufficientInformation = "insufficient_information",
        /// Not fraud after all.
        NotFraud = "not_fraud",
        /// A duplicate of another case.
        Duplicate = "duplicate",
        /// Any other outcome.
        Other = "other",
    }
);

impl IdentifierState {
    /// Whether only a supervisor may take an identifier out of this state (or put one in it):
    /// safelisting says an identifier is benign, and a held one waits for a supervisor to decide
    /// whether it is benign or a real shared account.
    pub fn supervisor_decides(self) -> bool {
        matches!(self, IdentifierState::Safelisted | IdentifierState::Held)
    }

    /// Whether an investigator may ask for this state; `Held` is the bridge rule's alone.
    pub fn chosen_by_hand(self) -> bool {
        self != IdentifierState::Held
    }
}

/// A status change the workflow does not allow.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("a cluster cannot go from {from} to {to}")]
pub struct TransitionError {
    /// The status the cluster has.
    pub from: ClusterStatus,
    /// The status that was asked for.
    pub to: ClusterStatus,
}

impl TransitionError {
    /// Where the cluster may go from its current status.
    pub fn allowed(&self) -> Vec<ClusterStatus> {
        self.from.successors().to_vec()
    }
}

impl ClusterStatus {
    /// Checks a status change; staying put is allowed except into `Merged`, which only merges set.
    pub fn check_transition(self, to: ClusterStatus) -> Result<(), TransitionError> {
        if to != ClusterStatus::Merged && (to == self || self.successors().contains(&to)) {
            Ok(())
        } else {
            Err(TransitionError { from: self, to })
        }
    }

    /// The statuses the workflow allows next, in declaration order.
    fn successors(self) -> &'static [ClusterStatus] {
        use ClusterStatus::*;
        match self {
            New => &[Triaging, Assigned, Monitoring, Closed],
            Triaging => &[New, Assigned, Referred, RecallRequested, Monitoring, Closed],
            Assigned => &[Triaging, Referred, RecallRequested, Monitoring, Closed],
            Referred => &[RecallRequested, Monitoring, Closed],
            RecallRequested => &[Referred, Monitoring, Closed],
            Monitoring => &[Triaging, Assigned, Referred, RecallRequested, Closed],
            // Reopening goes back through triage.
            Closed => &[Triaging],
            Merged => &[],
        }
    }
}

/// A change of a cluster's workflow, as far as who may make it depends on it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WorkflowChange<'a> {
    /// The cluster's status now.
    pub from: ClusterStatus,
    /// The status asked for, if any.
    pub to: Option<ClusterStatus>,
    /// The assignee asked for, if the change assigns (`Some(None)` unassigns).
    pub assignee: Option<Option<&'a str>>,
    /// The cluster's assignee now.
    pub current_assignee: Option<&'a str>,
    /// Who asks.
    pub actor: &'a str,
}

/// A change only a supervisor may make.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum SupervisorOnly {
    /// Reopening a closed cluster.
    #[error("only a supervisor reopens a closed cluster")]
    Reopen,
    /// Assigning someone else, or unassigning someone else.
    #[error("only a supervisor assigns or unassigns someone else")]
    AssignOthers,
}

impl WorkflowChange<'_> {
    /// What of the change only a supervisor may make, if anything: reopening a closed cluster,
    /// and assigning or unassigning anyone but oneself.
    pub fn needs_supervisor(&self) -> Option<SupervisorOnly> {
        let reopens = self.from == ClusterStatus::Closed && self.to.is_some_and(|to| to != ClusterStatus::Closed);
        if reopens {
            return Some(SupervisorOnly::Reopen);
        }
        let other = |name: Option<&str>| name.is_some_and(|n| n != self.actor);
        let touches_others = match self.assignee {
            Some(new) => other(new) || other(self.current_assignee),
            None => false,
        };
        touches_others.then_some(SupervisorOnly::AssignOthers)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ClusterStatus::*;

    #[test]
    fn stored_names_parse_back() {
        for &s in IdentifierState::ALL {
            assert_eq!(s.as_str().parse::<IdentifierState>(), Ok(s));
        }
        for &s in ClusterStatus::ALL {
            assert_eq!(s.as_str().parse::<ClusterStatus>(), Ok(s));
        }
        for &d in Disposition::ALL {
            assert_eq!(d.as_str().parse::<Disposition>(), Ok(d));
        }
        for &e in EventKind::ALL {
            assert_eq!(e.as_str().parse::<EventKind>(), Ok(e));
        }
        assert_eq!("recall_requested".parse::<ClusterStatus>(), Ok(RecallRequested));
        assert_eq!("open".parse::<ClusterStatus>().unwrap_err().vocabulary, "cluster status");
    }

    #[test]
    fn the_workflow_allows_exactly_its_edges() {
        let allowed: &[(ClusterStatus, &[ClusterStatus])] = &[
            (New, &[Triaging, Assigned, Monitoring, Closed]),
            (Triaging, &[New, Assigned, Referred, RecallRequested, Monitoring, Closed]),
            (Assigned, &[Triaging, Referred, RecallRequested, Monitoring, Closed]),
            (Referred, &[RecallRequested, Monitoring, Closed]),
            (RecallRequested, &[Referred, Monitoring, Closed]),
            (Monitoring, &[Triaging, Assigned, Referred, RecallRequested, Closed]),
            (Closed, &[Triaging]),
            (Merged, &[]),
        ];
        for &(from, to_list) in allowed {
            for &to in ClusterStatus::ALL {
                let expected = to != Merged && (to == from || to_list.contains(&to));
                assert_eq!(from.check_transition(to).is_ok(), expected, "{from} -> {to}");
            }
        }
    }

    #[test]
    fn a_refused_transition_says_why_and_where_it_could_go() {
        let err = Closed.check_transition(Referred).unwrap_err();
        assert_eq!(err, TransitionError { from: Closed, to: Referred });
        assert_eq!(err.to_string(), "a cluster cannot go from closed to referred");
        assert_eq!(err.allowed(), vec![Triaging]);

        let err = Triaging.check_transition(Merged).unwrap_err();
        assert_eq!(err.allowed(), vec![New, Assigned, Referred, RecallRequested, Monitoring, Closed]);
        assert_eq!(Merged.check_transition(Merged).unwrap_err().allowed(), Vec::<ClusterStatus>::new());
    }

    #[test]
    fn staying_put_is_not_a_change() {
        assert_eq!(Referred.check_transition(Referred), Ok(()));
        assert_eq!(Closed.check_transition(Closed), Ok(()));
    }

    #[test]
    fn only_a_supervisor_reopens_or_assigns_others() {
        let change = |from, to, assignee, current_assignee| WorkflowChange {
            from,
            to,
            assignee,
            current_assignee,
            actor: "ann",
        };
        assert_eq!(change(Closed, Some(Triaging), None, None).needs_supervisor(), Some(SupervisorOnly::Reopen));
        assert_eq!(change(Closed, Some(Closed), None, None).needs_supervisor(), None);
        assert_eq!(change(New, Some(Triaging), Some(Some("ann")), None).needs_supervisor(), None);
        assert_eq!(change(New, None, Some(Some("bob")), None).needs_supervisor(), Some(SupervisorOnly::AssignOthers));
        assert_eq!(change(New, None, Some(None), Some("bob")).needs_supervisor(), Some(SupervisorOnly::AssignOthers));
        assert_eq!(change(New, None, Some(None), Some("ann")).needs_supervisor(), None);
        assert_eq!(change(New, None, None, Some("bob")).needs_supervisor(), None);
        assert_eq!(SupervisorOnly::AssignOthers.to_string(), "only a supervisor assigns or unassigns someone else");
    }
}
