//! Conversions between `scamtrail-core` types and table rows, in both directions.

use scamtrail_core::{
    AgeBand, Category, ContactChannel, Country, IdentifierRole, KindHint, NewPayment, NewReport, NormalizedIdentifier,
    ReportedIdentifier, UnixMicros, Unverified, Victim,
};
use sea_orm::ActiveValue::{NotSet, Set};

use crate::StoreError;
use crate::entity::{payment, report, report_identifier, report_victim};

/// Parses a stored vocabulary name, reporting which column held an unreadable value.
fn parse<T: std::str::FromStr>(column: &str, value: &str) -> Result<T, StoreError> {
    value.parse().map_err(|_| StoreError::Corrupt(format!("{column} = {value:?}")))
}

fn parse_opt<T: std::str::FromStr>(column: &str, value: Option<&str>) -> Result<Option<T>, StoreError> {
    value.map(|v| parse(column, v)).transpose()
}

pub(crate) fn report_row(r: &NewReport, reference: &str, received_at: UnixMicros) -> report::ActiveModel {
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
        narrative: Set(r.narrative.clone()),
        contact_ongoing: Set(r.contact_ongoing),
        cluster_id: Set(None),
        follow_up_hash: Set(r.follow_up_hash.clone()),
    }
}

pub(crate) fn victim_row(report_id: i64, v: &Victim) -> report_victim::ActiveModel {
    report_victim::ActiveModel {
        report_id: Set(report_id),
        name: Set(v.name.clone()),
        email: Set(v.email.clone()),
        phone: Set(v.phone.clone()),
        country: Set(v.country.map(|c| c.as_str().to_owned())),
        age_band: Set(v.age_band.map(|a| a.as_str().to_owned())),
        declared_vulnerable: Set(v.declared_vulnerable),
        vulnerability_note: Set(v.vulnerability_note.clone()),
        consent_to_share_police: Set(v.consent_to_share_with_police),
        victim_key: Set(v.identity_key()),
    }
}

pub(crate) fn payment_row(report_id: i64, position: usize, p: &NewPayment) -> payment::ActiveModel {
    payment::ActiveModel {
        id: NotSet,
        report_id: Set(report_id),
        position: Set(position as i32),
        amount_minor: Set(p.amount_minor),
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

pub(crate) fn identifier_from_row(row: &report_identifier::Model) -> Result<ReportedIdentifier, StoreError> {
    let outcome = match (&row.key, &row.unverified_reason) {
        (Some(key), _) => Ok(NormalizedIdentifier {
            kind: row.kind.clone().unwrap_or_default(),
            key: key.clone(),
            display: row.display.clone().unwrap_or_default(),
            country: row.country.clone(),
            bank_code: row.bank_code.clone(),
            phone_type: row.phone_type.clone(),
            chain: row.chain.clone(),
            checksum_verified: row.checksum_verified,
        }),
        (None, reason) => Err(Unverified {
            reason: reason.clone().unwrap_or_default(),
            message: row.unverified_message.clone().unwrap_or_default(),
        }),
    };
    Ok(ReportedIdentifier {
        raw: row.raw.clone(),
        role: parse_opt::<IdentifierRole>("report_identifiers.role", row.role.as_deref())?,
        kind_hint: parse_opt::<KindHint>("report_identifiers.kind_hint", row.kind_hint.as_deref())?,
        outcome,
    })
}

pub(crate) fn report_from_rows(
    r: &report::Model,
    victim: Option<&report_victim::Model>,
    payments: &[payment::Model],
    identifiers: &[report_identifier::Model],
) -> Result<NewReport, StoreError> {
    let contact_channels = r
        .contact_channels
        .split(',')
        .filter(|s| !s.is_empty())
        .map(|c| parse::<ContactChannel>("reports.contact_channels", c))
        .collect::<Result<_, _>>()?;
    let mut new_payments = Vec::with_capacity(payments.len());
    for p in payments {
        let beneficiaries = identifiers
            .iter()
            .filter(|i| i.payment_position == Some(p.position))
            .map(identifier_from_row)
            .collect::<Result<_, _>>()?;
        new_payments.push(NewPayment {
            amount_minor: p.amount_minor,
            currency: p.currency.clone(),
            method: parse_opt("payments.method", p.method.as_deref())?,
            paid_at: p.paid_at.map(UnixMicros),
            beneficiaries,
            transaction_hash: p.transaction_hash.clone(),
            recall_requested: p.recall_requested,
        });
    }
    let loose = |suggested: bool| -> Result<Vec<ReportedIdentifier>, StoreError> {
        identifiers
            .iter()
            .filter(|i| i.payment_position.is_none() && i.suggested == suggested)
            .map(identifier_from_row)
            .collect()
    };
    let victim = match victim {
        None => None,
        Some(v) => Some(Victim {
            name: v.name.clone(),
            email: v.email.clone(),
            phone: v.phone.clone(),
            country: match v.country.as_deref() {
                None => None,
                Some(c) => Some(
                    Country::parse(c).ok_or_else(|| StoreError::Corrupt(format!("report_victims.country = {c:?}")))?,
                ),
            },
            age_band: parse_opt::<AgeBand>("report_victims.age_band", v.age_band.as_deref())?,
            declared_vulnerable: v.declared_vulnerable,
            vulnerability_note: v.vulnerability_note.clone(),
            consent_to_share_with_police: v.consent_to_share_police,
        }),
    };
    Ok(NewReport {
        category: parse::<Category>("reports.category", &r.category)?,
        first_contact_at: r.first_contact_at.map(UnixMicros),
        last_contact_at: r.last_contact_at.map(UnixMicros),
        contact_channels,
        narrative: r.narrative.clone(),
        payments: new_payments,
        identifiers: loose(false)?,
        suggested: loose(true)?,
        victim,
        contact_ongoing: r.contact_ongoing,
        client_request_id: r.client_request_id.clone(),
        // Never read back: the hash serves only the follow-up check.
        follow_up_hash: None,
    })
}
