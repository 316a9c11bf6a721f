//! `LookupService`: police and banks check identifiers against what victims reported. Each value
//! is normalised as at intake, so any formatting finds the same key; the answer carries counts,
//! the cluster and its loss, never victim data.

use scamtrail_core::{Country, limits};
use scamtrail_normalize::{Hint, Normalizer};
use scamtrail_proto::v1 as pb;
use scamtrail_store::Store;
use tonic::{Request, Response, Status};

use crate::cluster_wire as cw;
use crate::error;
use crate::violations::Violations;
use crate::wire;

/// Values in one `LookupIdentifiers` call at most.
pub const LOOKUP_BATCH_MAX: usize = 1_000;

/// The lookup service.
pub struct LookupApi {
    store: Store,
    normalizer: Normalizer,
}

impl LookupApi {
    /// A service reading `store`, normalising with `normalizer`.
    pub fn new(store: Store, normalizer: Normalizer) -> Self {
        Self { store, normalizer }
    }
}

/// Reads the optional country of national numbers.
pub fn country(v: &mut Violations, field: &str, value: &str) -> Option<Country> {
    match value.trim() {
        "" => None,
        c => {
            let parsed = Country::parse(c);
            if parsed.is_none() {
                v.add(field, "COUNTRY_UNKNOWN", "not an ISO 3166-1 alpha-2 country code, e.g. GB");
            }
            parsed
        }
    }
}

/// Reads a batch of values with their kind hints, naming every bad hint.
pub fn hints(v: &mut Violations, values: &[pb::ScammerIdentifier], country: Option<Country>, max: usize) -> Vec<Hint> {
    if values.is_empty() {
        v.required("values");
    }
    v.max_items("values", values.len(), max);
    let mut hints = Vec::with_capacity(values.len().min(max));
    for (i, value) in values.iter().enumerate().take(max) {
        v.max_chars(format!("values[{i}].value"), &value.value, limits::IDENTIFIER_VALUE_MAX_CHARS);
        match wire::kind_in(value.kind_hint) {
            Ok(kind) => hints.push(Hint { kind, country }),
            Err(_) => v.add(format!("values[{i}].kind_hint"), "UNKNOWN_VALUE", "not a defined identifier kind"),
        }
    }
    hints
}

#[tonic::async_trait]
impl pb::lookup_service_server::LookupService for LookupApi {
    async fn lookup_identifiers(
        &self,
        request: Request<pb::LookupIdentifiersRequest>,
    ) -> Result<Response<pb::LookupIdentifiersResponse>, Status> {
        let who = crate::auth::caller(&request)?;
        let req = request.into_inner();
        let mut v = Violations::default();
        let country = country(&mut v, "country", &req.country);
        let hints = hints(&mut v, &req.values, country, LOOKUP_BATCH_MAX);
        v.finish(()).map_err(error::invalid_argument)?;
        who.target(format!("lookup:{} values", req.values.len()));
        let results: Vec<_> = req
            .values
            .iter()
            .zip(&hints)
            .map(|(value, hint)| (value, self.normalizer.normalize(&value.value, hint)))
            .collect();
        // Each value is looked up by its key and every key it implies (an account's other shapes):
        // the answer is the shape most reports carry.
        let shapes: Vec<Vec<String>> = results
            .iter()
            .map(|(_, r)| match r {
                Ok(id) => std::iter::once(id.key.clone())
                    .chain(scamtrail_normalize::implied_identifiers(&id.key).into_iter().map(|i| i.key))
                    .collect(),
                Err(_) => Vec::new(),
            })
            .collect();
        let keys: Vec<String> = shapes.iter().flatten().cloned().collect();
        // The audit event names the keys looked up (normalised keys, never the raw values typed),
        // so that an agency's use can be reviewed.
        let mut audited: Vec<&String> = keys.iter().collect();
        audited.sort_unstable();
        audited.dedup();
        for key in audited {
            who.target(format!("key:{key}"));
        }
        let found = self.store.lookup(&keys).await.map_err(error::store)?;
        let answers = results
            .iter()
            .zip(&shapes)
            .map(|((value, result), shapes)| {
                let outcome = Some(wire::preview_out(&value.value, result));
                let known = shapes.iter().rev().filter_map(|k| found.get(k)).max_by_key(|k| k.identifier.report_count);
                match known {
                    None => pb::IdentifierLookup { outcome, ..Default::default() },
                    Some(k) => {
                        let summary = cw::identifier_out(&k.identifier);
                        pb::IdentifierLookup {
                            outcome,
                            known: k.identifier.report_count > 0,
                            report_count: k.identifier.report_count,
                            state: summary.state,
                            bridge: summary.bridge,
                            bridge_detail: summary.bridge_detail,
                            bridge_groups: summary.bridge_groups,
                            hot: k.identifier.hot,
                            cluster_id: k.identifier.cluster_id.unwrap_or_default(),
                            total_loss: Some(cw::amount(&k.reference_currency, k.total_loss_minor)),
                            unconverted_loss: k.unconverted_loss.iter().map(|(cur, m)| cw::amount(cur, *m)).collect(),
                            first_seen: k.identifier.first_seen.map(wire::timestamp),
                            last_seen: k.identifier.last_seen.map(wire::timestamp),
                            categories: k.categories.iter().map(|&c| wire::category_out(Some(c))).collect(),
                        }
                    }
                }
            })
            .collect();
        Ok(Response::new(pb::LookupIdentifiersResponse { results: answers }))
    }
}
