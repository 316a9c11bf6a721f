//! The wire form of clusters, queues and identifier decisions: the store's read models out, the
//! triage requests in (validated, every bad field named).

use scamtrail_core::{
    BridgeStanding, ClusterStatus, Country, Disposition, IdentifierState, LinkStep, TAGS_PER_CLUSTER_MAX, Tag,
    TagVocabulary,
};
use scamtrail_proto::v1 as pb;
use scamtrail_store::{
    ClusterDetail, ClusterEventView, ClusterReportView, ClusterUpdate, ClusterView, EventKind, IdentifierView, Queue,
    QueueFilter,
};

use crate::violations::Violations;
use crate::wire::{category_in, category_out, enum_map, read_enum, timestamp};

enum_map!(status_in, status_out, pb::ClusterStatus, ClusterStatus {
    New => New, Triaging => Triaging, Assigned => Assigned, Referred => Referred,
    RecallRequested => RecallRequested, Monitoring => Monitoring, Closed => Closed, Merged => Merged,
});
enum_map!(disposition_in, disposition_out, pb::Disposition, Disposition {
    Actioned => Actioned, Recovered => Recovered, InsufficientInformation => InsufficientInformation,
    NotFraud => NotFraud, Duplicate => Duplicate, Other => Other,
});
enum_map!(state_in, state_out, pb::IdentifierState, IdentifierState {
    Normal => Normal, Excluded => Excluded, Safelisted => Safelisted, Held => Held,
});
enum_map!(bridge_in, bridge_out, pb::BridgeStanding, BridgeStanding {
    Held => Held, Marked => Marked, Linked => Linked,
});
enum_map!(queue_in, queue_out, pb::Queue, Queue {
    GoldenHour => GoldenHour, AtRisk => AtRisk, New => New, HotIdentifiers => HotIdentifiers,
});

/// Page size of ListQueue when none is asked for.
pub const PAGE_SIZE_DEFAULT: u64 = 50;
/// The largest page ListQueue returns.
pub const PAGE_SIZE_MAX: i32 = 500;
/// A claim's lease when none is asked for, in seconds.
pub const LEASE_DEFAULT_SECONDS: i32 = 900;
/// The longest lease, in seconds.
pub const LEASE_MAX_SECONDS: i32 = 86_400;

/// Reads a required queue.
pub fn queue(v: &mut Violations, field: &str, value: i32) -> Option<Queue> {
    let q = read_enum(v, field, value, queue_in);
    if q.is_none() && value == 0 {
        v.required(field);
    }
    q
}

/// Reads queue filters.
pub fn filter(v: &mut Violations, field: &str, f: Option<&pb::QueueFilter>) -> QueueFilter {
    let Some(f) = f else { return QueueFilter::default() };
    let mut out = QueueFilter::default();
    v.max_items(format!("{field}.categories"), f.categories.len(), 32);
    v.max_items(format!("{field}.victim_countries"), f.victim_countries.len(), 300);
    for (i, &c) in f.categories.iter().enumerate().take(32) {
        let name = format!("{field}.categories[{i}]");
        match read_enum(v, &name, c, category_in) {
            Some(c) => out.categories.push(c),
            None if c == 0 => v.add(name, "UNKNOWN_VALUE", "UNSPECIFIED is not a category"),
            None => {}
        }
    }
    v.max_items(format!("{field}.tags"), f.tags.len(), TAGS_PER_CLUSTER_MAX);
    out.tags = tags(v, &format!("{field}.tags"), &f.tags);
    for (i, c) in f.victim_countries.iter().enumerate().take(300) {
        match Country::parse(c.trim()) {
            Some(country) => out.countries.push(country.as_str().to_owned()),
            None => v.add(
                format!("{field}.victim_countries[{i}]"),
                "COUNTRY_UNKNOWN",
                "not an ISO 3166-1 alpha-2 country code, e.g. GB",
            ),
        }
    }
    out
}

/// Reads tags, naming each bad one (`field[i]`); at most `TAGS_PER_CLUSTER_MAX` are read.
fn tags(v: &mut Violations, field: &str, texts: &[String]) -> Vec<Tag> {
    let mut out = Vec::new();
    for (i, text) in texts.iter().enumerate().take(TAGS_PER_CLUSTER_MAX) {
        match Tag::parse(text) {
            Ok(tag) => out.push(tag),
            Err(e) => v.add(format!("{field}[{i}]"), e.code(), e.to_string()),
        }
    }
    out
}

/// Reads a lease in seconds (0 means the default).
pub fn lease(v: &mut Violations, field: &str, seconds: i32) -> std::time::Duration {
    let s = if seconds == 0 { LEASE_DEFAULT_SECONDS } else { seconds };
    if !(1..=LEASE_MAX_SECONDS).contains(&s) {
        v.add(field, "OUT_OF_RANGE", format!("between 1 and {LEASE_MAX_SECONDS} seconds"));
    }
    std::time::Duration::from_secs(s.clamp(1, LEASE_MAX_SECONDS) as u64)
}

/// Reads a required positive id.
pub fn id(v: &mut Violations, field: &str, value: i64) -> i64 {
    if value <= 0 {
        v.add(field, "REQUIRED", "a positive id is required");
    }
    value
}

/// Checks a name (an assignee, an agency): at most `max` characters.
pub fn text(v: &mut Violations, field: &str, value: &str, max: usize) -> String {
    v.max_chars(field, value, max);
    value.trim().to_owned()
}

/// Validates `UpdateCluster` into the change it asks for (`supervisor`: whether the caller is
/// one; tags added must be in the deployment's `vocabulary`); or names every bad field.
pub fn cluster_update(
    req: &pb::UpdateClusterRequest,
    supervisor: bool,
    vocabulary: &TagVocabulary,
) -> Result<ClusterUpdate, Violations> {
    let mut v = Violations::default();
    let id = id(&mut v, "cluster_id", req.cluster_id);
    if req.version <= 0 {
        v.add("version", "REQUIRED", "quote the version you read");
    }
    let status = status(&mut v, "status", req.status);
    if status == Some(ClusterStatus::Merged) {
        v.add("status", "NOT_ALLOWED", "clusters are merged by linking, not by hand");
    }
    let disposition = disposition(&mut v, "disposition", req.disposition);
    let assignee = text(&mut v, "assignee", &req.assignee, SHORT_TEXT_MAX_CHARS);
    let referred_to = text(&mut v, "referred_to", &req.referred_to, SHORT_TEXT_MAX_CHARS);
    let note = free_text(&mut v, "note", &req.note, NOTE_MAX_CHARS);
    v.max_items("add_tags", req.add_tags.len(), TAGS_PER_CLUSTER_MAX);
    v.max_items("remove_tags", req.remove_tags.len(), TAGS_PER_CLUSTER_MAX);
    let add_tags = tags(&mut v, "add_tags", &req.add_tags);
    for (i, tag) in add_tags.iter().enumerate() {
        if !vocabulary.allows(tag) {
            let known = vocabulary.describe();
            v.add(format!("add_tags[{i}]"), "NOT_IN_VOCABULARY", format!("not a tag of this deployment: {known}"));
        }
    }
    let remove_tags = tags(&mut v, "remove_tags", &req.remove_tags);
    match status {
        Some(ClusterStatus::Assigned) if assignee.is_empty() || assignee == "-" => {
            v.add("assignee", "REQUIRED", "an assigned cluster needs an assignee")
        }
        Some(ClusterStatus::Closed) if disposition.is_none() => {
            v.add("disposition", "REQUIRED", "a closed cluster needs a disposition")
        }
        Some(ClusterStatus::Referred) if referred_to.is_empty() => {
            v.add("referred_to", "REQUIRED", "name the agency it is referred to")
        }
        _ => {}
    }
    if disposition.is_some() && status != Some(ClusterStatus::Closed) {
        v.add("disposition", "NOT_ALLOWED", "a disposition is given when closing");
    }
    if status.is_none()
        && assignee.is_empty()
        && referred_to.is_empty()
        && note.is_empty()
        && req.add_tags.is_empty()
        && req.remove_tags.is_empty()
    {
        v.add("status", "NOTHING_TO_CHANGE", "give a status, an assignee, a referral, a note or tags");
    }
    v.finish(ClusterUpdate {
        supervisor,
        cluster_id: id,
        version: req.version,
        status,
        assignee: match assignee.as_str() {
            "" => None,
            "-" => Some(None),
            name => Some(Some(name.to_owned())),
        },
        disposition,
        referred_to: (!referred_to.is_empty()).then_some(referred_to),
        note: (!note.is_empty()).then_some(note),
        add_tags,
        remove_tags,
    })
}

/// Checks free text an investigator writes (a note, a reason): at most `max` characters; card
/// numbers in it are masked before it is stored. Names are not masked: they are compared with
/// the names of users and agencies.
pub fn free_text(v: &mut Violations, field: &str, value: &str, max: usize) -> String {
    scamtrail_normalize::mask_card_numbers(&text(v, field, value, max)).into_owned()
}

/// Notes on a cluster.
pub const NOTE_MAX_CHARS: usize = 10_000;
/// Reasons, names of agencies and assignees.
pub const SHORT_TEXT_MAX_CHARS: usize = 200;
/// Reasons for identifier decisions.
pub const REASON_MAX_CHARS: usize = 2_000;

/// An amount for the wire: exact as a decimal, and in minor units when they fit 64 bits.
pub fn amount(currency: &str, minor: impl Into<i128>) -> pb::Amount {
    let minor: i128 = minor.into();
    pb::Amount {
        currency: currency.to_owned(),
        amount_minor: i64::try_from(minor).unwrap_or(0),
        amount: scamtrail_core::amount_text(minor, currency),
    }
}

/// A cluster for the wire.
pub fn cluster_out(c: &ClusterView) -> pb::ClusterSummary {
    pb::ClusterSummary {
        cluster_id: c.id,
        status: status_out(Some(c.status)),
        version: c.version,
        report_count: c.report_count,
        victim_count: c.victim_count,
        total_loss: Some(amount(&c.reference_currency, c.total_loss_minor)),
        loss_by_currency: c.loss_by_currency.iter().map(|(cur, m)| amount(cur, *m)).collect(),
        recoverable: Some(amount(&c.reference_currency, c.recoverable_minor)),
        unconverted_loss: c.unconverted_loss.iter().map(|(cur, m)| amount(cur, *m)).collect(),
        recall_window_closes_at: c.recall_closes_at.map(timestamp),
        first_seen: c.first_seen.map(timestamp),
        last_seen: c.last_seen.map(timestamp),
        categories: c.categories.iter().map(|&k| category_out(Some(k))).collect(),
        victim_countries: c.countries.clone(),
        ongoing_contact_reports: c.ongoing_reports,
        identifiers_by_kind: c.identifiers_by_kind.iter().cloned().collect(),
        priority: Some(pb::Priority {
            total: c.priority_total,
            components: c
                .priority_parts
                .iter()
                .map(|p| pb::PriorityComponent { name: p.name.clone(), value: p.value, basis: p.basis.clone() })
                .collect(),
            computed_at: Some(timestamp(c.priority_at)),
        }),
        claim: c
            .claim
            .as_ref()
            .map(|k| pb::Claim { holder: k.holder.clone(), expires_at: Some(timestamp(k.expires_at)) }),
        assignee: c.assignee.clone().unwrap_or_default(),
        disposition: disposition_out(c.disposition),
        referred_to: c.referred_to.clone().unwrap_or_default(),
        merged_into_cluster_id: c.merged_into.unwrap_or_default(),
        hot_identifier_keys: c.hot_keys.clone(),
        tags: c.tags.clone(),
    }
}

/// An identifier for the wire.
pub fn identifier_out(i: &IdentifierView) -> pb::IdentifierSummary {
    pb::IdentifierSummary {
        key: i.key.clone(),
        kind: i.kind.clone(),
        display: i.display.clone(),
        state: state_out(Some(i.state)),
        state_reason: i.state_reason.clone(),
        report_count: i.report_count,
        hot: i.hot,
        cluster_id: i.cluster_id.unwrap_or_default(),
        first_seen: i.first_seen.map(timestamp),
        last_seen: i.last_seen.map(timestamp),
        bridge: bridge_out(i.bridge),
        bridge_detail: i.bridge_detail.clone(),
        bridge_groups: i.bridge_groups,
    }
}

fn event_kind_out(k: EventKind) -> i32 {
    use pb::ClusterEventKind as W;
    (match k {
        EventKind::Created => W::Created,
        EventKind::Absorbed => W::Absorbed,
        EventKind::MergedInto => W::MergedInto,
        EventKind::SplitFrom => W::SplitFrom,
        EventKind::SplitOff => W::SplitOff,
        EventKind::StatusChanged => W::StatusChanged,
        EventKind::Claimed => W::Claimed,
        EventKind::Released => W::Released,
        EventKind::Note => W::Note,
        EventKind::PriorityChanged => W::PriorityChanged,
        EventKind::ReportsAdded => W::ReportsAdded,
    }) as i32
}

/// A cluster event for the wire.
pub fn event_out(e: &ClusterEventView) -> pb::ClusterEvent {
    pb::ClusterEvent {
        kind: event_kind_out(e.kind),
        cluster_id: e.cluster_id,
        other_cluster_id: e.other_cluster_id.unwrap_or_default(),
        at: Some(timestamp(e.at)),
        actor: e.actor.clone(),
        detail: e.detail.clone(),
    }
}

/// A report as listed, for the wire.
pub fn report_out(r: &ClusterReportView) -> pb::ClusterReport {
    pb::ClusterReport {
        report_id: r.id,
        reference: r.reference.clone(),
        received_at: Some(timestamp(r.received_at)),
        category: category_out(Some(r.category)),
        loss: r.loss.iter().map(|(c, m)| amount(c, *m)).collect(),
        contact_ongoing: r.contact_ongoing,
        identifier_keys: r.identifier_keys.clone(),
        consent_to_share_with_police: r.consent_to_share_with_police,
    }
}

/// A cluster in full for the wire.
pub fn detail_out(d: &ClusterDetail) -> pb::GetClusterResponse {
    pb::GetClusterResponse {
        cluster: Some(cluster_out(&d.cluster)),
        reports: d.reports.iter().map(report_out).collect(),
        identifiers: d.identifiers.iter().map(identifier_out).collect(),
        events: d.events.iter().map(event_out).collect(),
        bridges: d.bridges.iter().map(identifier_out).collect(),
    }
}

/// A link path for the wire.
pub fn path_out(path: &[LinkStep]) -> Vec<pb::LinkStep> {
    path.iter()
        .map(|s| pb::LinkStep { report_id: s.report_id, via_key: s.via_key.clone().unwrap_or_default() })
        .collect()
}

/// Reads a required identifier state that an investigator may choose (not HELD: the bridge rule's).
pub fn state(v: &mut Violations, field: &str, value: i32) -> Option<IdentifierState> {
    let s = read_enum(v, field, value, state_in);
    if s.is_none() && value == 0 {
        v.required(field);
    }
    match s {
        Some(s) if !s.chosen_by_hand() => {
            v.add(
                field,
                "NOT_ALLOWED",
                "only the bridge rule holds identifiers: choose NORMAL, EXCLUDED or SAFELISTED",
            );
            None
        }
        s => s,
    }
}

/// Reads an optional status (UNSPECIFIED leaves it unchanged).
pub fn status(v: &mut Violations, field: &str, value: i32) -> Option<ClusterStatus> {
    read_enum(v, field, value, status_in)
}

/// Reads an optional disposition.
pub fn disposition(v: &mut Violations, field: &str, value: i32) -> Option<Disposition> {
    read_enum(v, field, value, disposition_in)
}
