//! New rows of the tables, built from `scamtrail-core` types (reading rows back into core types
//! is the domain modules' work: they hold the rules of what a stored value may be).

use scamtrail_core::{
    DataKeys, NewPayment, NewReport, NormalizedIdentifier, PersonalField, ReportedIdentifier, UnixMicros, Victim,
};
use sea_orm::ActiveValue::{NotSet, Set};

use super::entity::{cluster_event, payment, report, report_identifier, report_victim};

/// A new report's row, its narrative sealed under `keys`.
pub(crate) fn report_row(
    r: &NewReport,
    reference: &str,
    received_at: UnixMicros,
    keys: &DataKeys,
) -> report::ActiveModel {
    let channels: Vec<&str> = r.contact_channels.iter().map(|c| c.as_str()).collect();
    report::ActiveModel {
        id: NotSet,
        reference: Set(reference.to_owned()),
        client_request_id: Set(r.client_request_id.clone()),
        received_at: Set(received_at.0),
        category: Set(r.category.as_str().to_owned()),
        first_contact_at: Set(r.first_contact_at.map(|t| t.0)),
        last_contact_at: Set(r.last_contact_at.map(|t| t.0)),
        contact_channels: Set(channels.join(",")),
        narrative: Set(keys.seal(PersonalField::Narrative, reference, &r.narrative)),
        contact_ongoing: Set(r.contact_ongoing),
        cluster_id: Set(None),
        follow_up_hash: Set(r.follow_up_hash.clone()),
    }
}

/// A report's victim's row, the personal fields sealed under `keys` (bound to the report's
/// `reference`) and the victim's key a MAC under the index key.
pub(crate) fn victim_row(report_id: i64, reference: &str, v: &Victim, keys: &DataKeys) -> report_victim::ActiveModel {
    let seal = |field, text: &str| Set(keys.seal(field, reference, text));
    report_victim::ActiveModel {
        report_id: Set(report_id),
        name: seal(PersonalField::VictimName, &v.name),
        email: seal(PersonalField::VictimEmail, &v.email),
        phone: seal(PersonalField::VictimPhone, &v.phone),
        country: Set(v.country.map(|c| c.as_str().to_owned())),
        age_band: Set(v.age_band.map(|a| a.as_str().to_owned())),
        declared_vulnerable: Set(v.declared_vulnerable),
        vulnerability_note: seal(PersonalField::VulnerabilityNote, &v.vulnerability_note),
        consent_to_share_police: Set(v.consent_to_share_with_police),
        victim_key: Set(keys.victim_key(v)),
    }
}

/// A payment's row, at `position` in its report.
pub(crate) fn payment_row(report_id: i64, position: usize, p: &NewPayment) -> payment::ActiveModel {
    payment::ActiveModel {
        id: NotSet,
        report_id: Set(report_id),
        position: Set(position as i32),
        // Readers use `amount_exact`; the 64-bit column keeps a saturated copy for older tools.
        amount_minor: Set(i64::try_from(p.amount_minor).unwrap_or(i64::MAX)),
        amount_exact: Set(p.amount_minor.to_string()),
        amount_key: Set(amount_key(p.amount_minor)),
        currency: Set(p.currency.clone()),
        method: Set(p.method.map(|m| m.as_str().to_owned())),
        paid_at: Set(p.paid_at.map(|t| t.0)),
        transaction_hash: Set(p.transaction_hash.clone()),
        recall_requested: Set(p.recall_requested),
    }
}

/// The first free positions of a report's payments, typed identifiers and suggestions (all 0
/// for a new report; after the existing ones for added details).
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct FirstPositions {
    pub payment: usize,
    pub typed: usize,
    pub suggested: usize,
}

/// The rows of a report's payments, their beneficiaries, and its typed and suggested
/// identifiers, numbered from `first`, appended to `payments` and `identifiers`.
pub(crate) fn trail_rows(
    report_id: i64,
    trail: (&[NewPayment], &[ReportedIdentifier], &[ReportedIdentifier]),
    first: FirstPositions,
    payments: &mut Vec<payment::ActiveModel>,
    identifiers: &mut Vec<report_identifier::ActiveModel>,
) {
    let (new_payments, typed, suggested) = trail;
    for (i, p) in new_payments.iter().enumerate() {
        let position = first.payment + i;
        payments.push(payment_row(report_id, position, p));
        for (b, beneficiary) in p.beneficiaries.iter().enumerate() {
            let place = Place { payment_position: Some(position), position: b, suggested: false };
            identifiers.push(identifier_row(report_id, place, beneficiary));
        }
    }
    for (list, from, suggested) in [(typed, first.typed, false), (suggested, first.suggested, true)] {
        for (i, id) in list.iter().enumerate() {
            identifiers.push(identifier_row(
                report_id,
                Place { payment_position: None, position: from + i, suggested },
                id,
            ));
        }
    }
}

/// Where an identifier sits in its report.
pub(crate) struct Place {
    pub payment_position: Option<usize>,
    pub position: usize,
    pub suggested: bool,
}

/// An identifier's row, at `place` in its report.
pub(crate) fn identifier_row(report_id: i64, place: Place, id: &ReportedIdentifier) -> report_identifier::ActiveModel {
    let normalized = id.outcome.as_ref().ok();
    let unverified = id.outcome.as_ref().err();
    let field = |f: fn(&NormalizedIdentifier) -> Option<String>| Set(normalized.and_then(f));
    report_identifier::ActiveModel {
        id: NotSet,
        report_id: Set(report_id),
        payment_position: Set(place.payment_position.map(|p| p as i32)),
        position: Set(place.position as i32),
        raw: Set(id.raw.clone()),
        role: Set(id.role.map(|r| r.as_str().to_owned())),
        kind_hint: Set(id.kind_hint.map(|k| k.as_str().to_owned())),
        suggested: Set(place.suggested),
        kind: field(|n| Some(n.kind.clone())),
        key: field(|n| Some(n.key.clone())),
        display: field(|n| Some(n.display.clone())),
        country: field(|n| n.country.clone()),
        bank_code: field(|n| n.bank_code.clone()),
        phone_type: field(|n| n.phone_type.clone()),
        chain: field(|n| n.chain.clone()),
        checksum_verified: Set(normalized.is_some_and(|n| n.checksum_verified)),
        unverified_reason: Set(unverified.map(|u| u.reason.clone())),
        unverified_message: Set(unverified.map(|u| u.message.clone())),
    }
}

/// A cluster event's row.
pub(crate) fn cluster_event_row(
    cluster_id: i64,
    at: UnixMicros,
    kind: &str,
    other_cluster_id: Option<i64>,
    actor: &str,
    detail: &str,
) -> cluster_event::ActiveModel {
    cluster_event::ActiveModel {
        id: NotSet,
        cluster_id: Set(cluster_id),
        at: Set(at.0),
        kind: Set(kind.to_owned()),
        other_cluster_id: Set(other_cluster_id),
        actor: Set(actor.to_owned()),
        detail: Set(detail.to_owned()),
    }
}

/// A payment's `amount_key`: its minor units zero-padded to 39 digits (an `i128`'s most), so
/// that comparing the text compares the amounts.
pub(crate) fn amount_key(minor: i128) -> String {
    format!("{:039}", minor.max(0))
}
