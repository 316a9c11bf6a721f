//! `TriageService`: investigators read reports and clusters, decide on identifiers, and work the
//! queues (claim, renew, release, update, watch).
//!
//! Who is calling comes from the guard ([`crate::auth::Caller`]): claims, notes and history record
//! the caller's name. On top of the role's permission: a liaison reads only the clusters referred
//! to its agency; only a supervisor safelists identifiers, reopens closed clusters or assigns a
//! cluster to someone else.

use std::pin::Pin;

use scamtrail_core::{IdentifierState, Reference, Role, TagVocabulary, UnixMicros};
use scamtrail_normalize::{Hint, Normalizer};
use scamtrail_proto::v1 as pb;
use scamtrail_store::{BridgePageToken, IdentifierDecision, PageToken, Store};
use tokio_stream::{Stream, StreamExt, wrappers::BroadcastStream};
use tonic::{Request, Response, Status};

use crate::auth::{Caller, caller};
use crate::cluster_wire as cw;
use crate::error;
use crate::search_wire as sw;
use crate::violations::Violations;
use crate::wire;

/// How often an open queue watch checks that its caller's credentials still hold.
pub const WATCH_RECHECK: std::time::Duration = std::time::Duration::from_secs(10);

/// The triage service.
pub struct TriageApi {
    store: Store,
    normalizer: Normalizer,
    guard: std::sync::Arc<crate::auth::GuardState>,
    vocabulary: TagVocabulary,
}

impl TriageApi {
    /// A service reading from and writing to `store`; `normalizer` reads identifiers typed as raw values.
    /// `guard` checks the credentials of open watches again.
    pub fn new(store: Store, normalizer: Normalizer, guard: std::sync::Arc<crate::auth::GuardState>) -> Self {
        Self { store, normalizer, guard, vocabulary: TagVocabulary::default() }
    }

    /// The same service, taking only the tags of `vocabulary` (an empty one takes every tag).
    pub fn with_tag_vocabulary(self, vocabulary: TagVocabulary) -> Self {
        Self { vocabulary, ..self }
    }
}

/// Refuses a liaison a cluster not referred to its agency, with the answer an unknown cluster
/// gets: a liaison learns nothing of clusters outside its scope, not even that they exist.
fn visible_to(caller: &Caller, cluster: &scamtrail_store::ClusterView) -> Result<(), Status> {
    if in_scope(caller, cluster) { Ok(()) } else { Err(Status::not_found("no such cluster")) }
}

/// Whether the caller may see `cluster`: everyone but a liaison, and a liaison only the clusters
/// referred to its agency.
pub(crate) fn in_scope(caller: &Caller, cluster: &scamtrail_store::ClusterView) -> bool {
    if caller.role != Some(Role::Liaison) {
        return true;
    }
    let agency = caller.agency.as_deref().unwrap_or_default();
    cluster.referred_to.as_deref().is_some_and(|to| !agency.is_empty() && to.trim().eq_ignore_ascii_case(agency.trim()))
}

/// Whether the caller sees a report whose victim gave or withheld consent (core's rule).
fn sees(caller: &Caller, consented: bool) -> bool {
    caller.role.is_some_and(|role| role.sees_report(consented))
}

type WatchStream = Pin<Box<dyn Stream<Item = Result<pb::WatchQueueResponse, Status>> + Send>>;

#[tonic::async_trait]
impl pb::triage_service_server::TriageService for TriageApi {
    async fn get_report(
        &self,
        request: Request<pb::GetReportRequest>,
    ) -> Result<Response<pb::GetReportResponse>, Status> {
        use pb::get_report_request::Selector;
        let who = caller(&request)?;
        let mut v = Violations::default();
        let found = match request.into_inner().selector {
            None => {
                v.required("selector");
                None
            }
            Some(Selector::ReportId(id)) => Some(self.store.report_by_id(id).await.map_err(error::store)?),
            Some(Selector::Reference(typed)) => match Reference::parse(&typed) {
                Ok(reference) => Some(self.store.report_by_reference(&reference).await.map_err(error::store)?),
                Err(e) => {
                    v.add("reference", "INVALID_REFERENCE", e.to_string());
                    None
                }
            },
        };
        v.finish(()).map_err(error::invalid_argument)?;
        match found.flatten() {
            Some((stored, cluster)) => {
                who.target(format!("report:{}", stored.id));
                Ok(Response::new(pb::GetReportResponse { report: Some(wire::stored_report_out(&stored, cluster)) }))
            }
            None => Err(Status::not_found("no such report")),
        }
    }

    async fn get_cluster(
        &self,
        request: Request<pb::GetClusterRequest>,
    ) -> Result<Response<pb::GetClusterResponse>, Status> {
        let who = caller(&request)?;
        let req = request.into_inner();
        let mut v = Violations::default();
        let id = cw::id(&mut v, "cluster_id", req.cluster_id);
        let max_reports = match req.max_reports {
            0 => 200,
            n if (1..=10_000).contains(&n) => n as u64,
            _ => {
                v.add("max_reports", "OUT_OF_RANGE", "between 1 and 10,000");
                0
            }
        };
        v.finish(()).map_err(error::invalid_argument)?;
        match self.store.cluster(id, max_reports).await.map_err(error::store)? {
            Some(detail) => {
                who.target(format!("cluster:{id}"));
                visible_to(&who, &detail.cluster)?;
                let mut out = cw::detail_out(&detail);
                // A victim who did not consent to share with the police is not shown to a
                // liaison; the cluster's totals still count the report, anonymously.
                out.reports.retain(|r| sees(&who, r.consent_to_share_with_police));
                if !who.role.is_some_and(Role::reads_notes) {
                    out.events.retain(|e| e.kind() != pb::ClusterEventKind::Note);
                }
                Ok(Response::new(out))
            }
            None => Err(Status::not_found("no such cluster")),
        }
    }

    async fn explain_link(
        &self,
        request: Request<pb::ExplainLinkRequest>,
    ) -> Result<Response<pb::ExplainLinkResponse>, Status> {
        let who = caller(&request)?;
        let req = request.into_inner();
        let mut v = Violations::default();
        let a = cw::id(&mut v, "report_a", req.report_a);
        let b = cw::id(&mut v, "report_b", req.report_b);
        v.finish(()).map_err(error::invalid_argument)?;
        who.target(format!("report:{a}"));
        who.target(format!("report:{b}"));
        let no_such_report = || Status::not_found("no such report");
        // Scope before anything else: a report outside a liaison's clusters answers as an
        // unknown one does, so that a liaison cannot map reports to clusters.
        if who.role == Some(Role::Liaison) {
            for report in [a, b] {
                let cluster = match self.store.cluster_of_report(report).await.map_err(error::store)? {
                    Some(id) => self.store.cluster_summary(id).await.map_err(error::store)?,
                    None => None,
                };
                if !cluster.is_some_and(|c| in_scope(&who, &c)) {
                    return Err(no_such_report());
                }
            }
            // A report whose victim did not consent answers as an unknown one does.
            let consenting = self.store.consenting(&[a, b]).await.map_err(error::store)?;
            if !consenting.contains(&a) || !consenting.contains(&b) {
                return Err(no_such_report());
            }
        }
        let mut explained = self.store.explain_link(a, b).await.map_err(error::store)?.ok_or_else(no_such_report)?;
        // The reports the path goes through are named to a liaison only when their victims
        // consented; the others are steps without a report id.
        if who.role == Some(Role::Liaison)
            && let Some(path) = explained.path.as_mut()
        {
            let ids: Vec<i64> = path.iter().map(|step| step.report_id).collect();
            let consenting = self.store.consenting(&ids).await.map_err(error::store)?;
            for step in path.iter_mut() {
                if !consenting.contains(&step.report_id) {
                    step.report_id = 0;
                }
            }
        }
        who.target(format!("cluster:{}", explained.cluster_a));
        if explained.cluster_b != explained.cluster_a {
            who.target(format!("cluster:{}", explained.cluster_b));
        }
        Ok(Response::new(pb::ExplainLinkResponse {
            linked: explained.path.is_some(),
            path: explained.path.as_deref().map(cw::path_out).unwrap_or_default(),
            cluster_a: explained.cluster_a,
            cluster_b: explained.cluster_b,
            bridges: explained.bridges.iter().map(cw::identifier_out).collect(),
        }))
    }

    async fn set_identifier_state(
        &self,
        request: Request<pb::SetIdentifierStateRequest>,
    ) -> Result<Response<pb::SetIdentifierStateResponse>, Status> {
        let who = caller(&request)?;
        let actor = who.actor.clone();
        let req = request.into_inner();
        let mut v = Violations::default();
        let state = cw::state(&mut v, "state", req.state);
        if state == Some(IdentifierState::Safelisted) && !who.is_supervisor() {
            return Err(Status::permission_denied("only a supervisor safelists identifiers"));
        }
        let country = crate::lookup::country(&mut v, "country", &req.country);
        let reason = cw::free_text(&mut v, "reason", &req.reason, cw::REASON_MAX_CHARS);
        if reason.is_empty() && state.is_some_and(|s| s != scamtrail_core::IdentifierState::Normal) {
            v.add("reason", "REQUIRED", "say why the identifier must not link");
        }
        let typed = req.key.trim();
        v.max_chars("key", typed, scamtrail_core::limits::IDENTIFIER_VALUE_MAX_CHARS);
        // A stored canonical key is taken as it is; anything else is normalised, so that an
        // investigator may paste the value as a victim typed it.
        let known = if typed.is_empty() {
            v.required("key");
            None
        } else {
            self.store.identifier(typed).await.map_err(error::store)?
        };
        let target = match (&known, typed.is_empty()) {
            (Some(k), _) => Some((k.key.clone(), k.kind.clone(), k.display.clone())),
            (None, true) => None,
            (None, false) => match self.normalizer.normalize(typed, &Hint { kind: None, country }) {
                Ok(id) => Some((id.key, id.kind.as_str().to_owned(), id.display)),
                Err(r) => {
                    v.add(
                        "key",
                        "UNKNOWN_IDENTIFIER",
                        format!("not a known key, and the value does not normalise: {}", r.message),
                    );
                    None
                }
            },
        };
        let ((key, kind, display), state) = v
            .finish((target, state))
            .map_err(error::invalid_argument)
            .and_then(|(t, s)| t.zip(s).ok_or_else(|| Status::invalid_argument("key and state are required")))?;
        who.target(format!("identifier:{key}"));
        if !who.is_supervisor() {
            let current = match known {
                Some(k) if k.key == key => Some(k),
                _ => self.store.identifier(&key).await.map_err(error::store)?,
            };
            if let Some(k) = current.as_ref().filter(|k| k.state.supervisor_decides()) {
                return Err(Status::permission_denied(format!(
                    "only a supervisor changes a {} identifier",
                    k.state.as_str()
                )));
            }
            if current.and_then(|k| k.bridge).is_some_and(|b| b.supervisor_decides(state)) {
                return Err(Status::permission_denied("only a supervisor links a bridge for good"));
            }
        }
        let decision = IdentifierDecision { key, kind, display, reason };
        let (identifier, changed) =
            self.store.set_identifier_state(&decision, state, &actor).await.map_err(error::store)?;
        tracing::info!(key = %identifier.key, state = state.as_str(), actor = %actor, changed = ?changed, "identifier state set");
        for id in &changed {
            who.target(format!("cluster:{id}"));
        }
        Ok(Response::new(pb::SetIdentifierStateResponse {
            identifier: Some(cw::identifier_out(&identifier)),
            changed_cluster_ids: changed,
        }))
    }

    async fn list_queues(
        &self,
        request: Request<pb::ListQueuesRequest>,
    ) -> Result<Response<pb::ListQueuesResponse>, Status> {
        let req = request.into_inner();
        let mut v = Violations::default();
        let filter = cw::filter(&mut v, "filter", req.filter.as_ref());
        v.finish(()).map_err(error::invalid_argument)?;
        let counts = self.store.queue_counts(&filter).await.map_err(error::store)?;
        Ok(Response::new(pb::ListQueuesResponse {
            queues: counts
                .into_iter()
                .map(|(q, n)| pb::QueueCount { queue: cw::queue_out(Some(q)), clusters: n })
                .collect(),
        }))
    }

    async fn list_queue(
        &self,
        request: Request<pb::ListQueueRequest>,
    ) -> Result<Response<pb::ListQueueResponse>, Status> {
        let req = request.into_inner();
        let mut v = Violations::default();
        let queue = cw::queue(&mut v, "queue", req.queue);
        let filter = cw::filter(&mut v, "filter", req.filter.as_ref());
        let page_size = match req.page_size {
            0 => cw::PAGE_SIZE_DEFAULT,
            n if (1..=cw::PAGE_SIZE_MAX).contains(&n) => n as u64,
            _ => {
                v.add("page_size", "OUT_OF_RANGE", format!("between 1 and {}", cw::PAGE_SIZE_MAX));
                cw::PAGE_SIZE_DEFAULT
            }
        };
        let after = match req.page_token.trim() {
            "" => None,
            t => {
                let token = PageToken::decode(t);
                if token.is_none() {
                    v.add("page_token", "INVALID_PAGE_TOKEN", "not a token this server handed out");
                }
                token
            }
        };
        let queue =
            v.finish(queue).map_err(error::invalid_argument)?.ok_or_else(|| Status::invalid_argument("queue"))?;
        let (clusters, next) = self.store.queue_page(queue, &filter, page_size, after).await.map_err(error::store)?;
        Ok(Response::new(pb::ListQueueResponse {
            clusters: clusters.iter().map(cw::cluster_out).collect(),
            next_page_token: next.map(|t| t.encode()).unwrap_or_default(),
        }))
    }

    async fn list_bridges(
        &self,
        request: Request<pb::ListBridgesRequest>,
    ) -> Result<Response<pb::ListBridgesResponse>, Status> {
        let req = request.into_inner();
        let mut v = Violations::default();
        let page_size = match req.page_size {
            0 => cw::PAGE_SIZE_DEFAULT,
            n if (1..=cw::PAGE_SIZE_MAX).contains(&n) => n as u64,
            _ => {
                v.add("page_size", "OUT_OF_RANGE", format!("between 1 and {}", cw::PAGE_SIZE_MAX));
                cw::PAGE_SIZE_DEFAULT
            }
        };
        let after = match req.page_token.trim() {
            "" => None,
            t => {
                let token = BridgePageToken::decode(t);
                if token.is_none() {
                    v.add("page_token", "INVALID_PAGE_TOKEN", "not a token this server handed out");
                }
                token
            }
        };
        v.finish(()).map_err(error::invalid_argument)?;
        let (identifiers, next) = self.store.bridges(page_size, after).await.map_err(error::store)?;
        Ok(Response::new(pb::ListBridgesResponse {
            identifiers: identifiers.iter().map(cw::identifier_out).collect(),
            next_page_token: next.map(|t| t.encode()).unwrap_or_default(),
        }))
    }

    async fn claim_next(
        &self,
        request: Request<pb::ClaimNextRequest>,
    ) -> Result<Response<pb::ClaimNextResponse>, Status> {
        let who = caller(&request)?;
        let req = request.into_inner();
        let mut v = Violations::default();
        let queue = cw::queue(&mut v, "queue", req.queue);
        let filter = cw::filter(&mut v, "filter", req.filter.as_ref());
        let lease = cw::lease(&mut v, "lease_seconds", req.lease_seconds);
        let queue =
            v.finish(queue).map_err(error::invalid_argument)?.ok_or_else(|| Status::invalid_argument("queue"))?;
        let claimed = self.store.claim_next(queue, &filter, &who.actor, lease).await.map_err(error::store)?;
        if let Some(c) = &claimed {
            who.target(format!("cluster:{}", c.id));
        }
        Ok(Response::new(pb::ClaimNextResponse { cluster: claimed.as_ref().map(cw::cluster_out) }))
    }

    async fn renew_claim(
        &self,
        request: Request<pb::RenewClaimRequest>,
    ) -> Result<Response<pb::RenewClaimResponse>, Status> {
        let who = caller(&request)?;
        let req = request.into_inner();
        let mut v = Violations::default();
        let id = cw::id(&mut v, "cluster_id", req.cluster_id);
        let lease = cw::lease(&mut v, "lease_seconds", req.lease_seconds);
        v.finish(()).map_err(error::invalid_argument)?;
        who.target(format!("cluster:{id}"));
        let cluster = self.store.renew_claim(id, &who.actor, lease).await.map_err(error::store)?;
        Ok(Response::new(pb::RenewClaimResponse { cluster: Some(cw::cluster_out(&cluster)) }))
    }

    async fn release_claim(
        &self,
        request: Request<pb::ReleaseClaimRequest>,
    ) -> Result<Response<pb::ReleaseClaimResponse>, Status> {
        let who = caller(&request)?;
        let req = request.into_inner();
        let mut v = Violations::default();
        let id = cw::id(&mut v, "cluster_id", req.cluster_id);
        v.finish(()).map_err(error::invalid_argument)?;
        who.target(format!("cluster:{id}"));
        let cluster = self.store.release_claim(id, &who.actor).await.map_err(error::store)?;
        Ok(Response::new(pb::ReleaseClaimResponse { cluster: Some(cw::cluster_out(&cluster)) }))
    }

    async fn update_cluster(
        &self,
        request: Request<pb::UpdateClusterRequest>,
    ) -> Result<Response<pb::UpdateClusterResponse>, Status> {
        let who = caller(&request)?;
        let req = request.into_inner();
        let update =
            cw::cluster_update(&req, who.is_supervisor(), &self.vocabulary).map_err(error::invalid_argument)?;
        who.target(format!("cluster:{}", update.cluster_id));
        let cluster = self.store.update_cluster(&update, &who.actor).await.map_err(error::store)?;
        Ok(Response::new(pb::UpdateClusterResponse { cluster: Some(cw::cluster_out(&cluster)) }))
    }

    async fn search_reports(
        &self,
        request: Request<pb::SearchReportsRequest>,
    ) -> Result<Response<pb::SearchReportsResponse>, Status> {
        let who = caller(&request)?;
        let (search, page) = sw::report_search(request.get_ref()).map_err(error::invalid_argument)?;
        // The trail keeps what was searched for, not what was found.
        who.target(format!("search:reports {}", search.describe()));
        let (hits, next) =
            self.store.search_reports(&search, page.size, page.after.as_ref()).await.map_err(error::store)?;
        Ok(Response::new(pb::SearchReportsResponse {
            reports: hits.iter().map(sw::hit_out).collect(),
            next_page_token: next.map(|c| c.encode()).unwrap_or_default(),
        }))
    }

    async fn search_clusters(
        &self,
        request: Request<pb::SearchClustersRequest>,
    ) -> Result<Response<pb::SearchClustersResponse>, Status> {
        let who = caller(&request)?;
        let (search, page) =
            sw::cluster_search(request.get_ref(), self.store.reference_currency()).map_err(error::invalid_argument)?;
        who.target(format!("search:clusters {}", search.describe()));
        let (clusters, next) =
            self.store.search_clusters(&search, page.size, page.after).await.map_err(error::store)?;
        Ok(Response::new(pb::SearchClustersResponse {
            clusters: clusters.iter().map(cw::cluster_out).collect(),
            next_page_token: next.map(|t| t.encode()).unwrap_or_default(),
        }))
    }

    async fn link_clusters(
        &self,
        request: Request<pb::LinkClustersRequest>,
    ) -> Result<Response<pb::LinkClustersResponse>, Status> {
        let who = caller(&request)?;
        let req = request.into_inner();
        let mut v = Violations::default();
        let a = cw::id(&mut v, "cluster_a", req.cluster_a);
        let b = cw::id(&mut v, "cluster_b", req.cluster_b);
        if a > 0 && a == b {
            v.add("cluster_b", "SAME_CLUSTER", "a cluster is linked to itself already");
        }
        let reason = sw::reason(&mut v, &req.reason);
        v.finish(()).map_err(error::invalid_argument)?;
        who.target(format!("cluster:{a}"));
        who.target(format!("cluster:{b}"));
        let (link, cluster) = self.store.link_clusters([a, b], &reason, &who.actor).await.map_err(error::store)?;
        who.target(format!("link:{link}"));
        tracing::info!(link, cluster_a = a, cluster_b = b, into = cluster.id, actor = %who.actor, "clusters linked");
        Ok(Response::new(pb::LinkClustersResponse { link_id: link, cluster: Some(cw::cluster_out(&cluster)) }))
    }

    async fn unlink_clusters(
        &self,
        request: Request<pb::UnlinkClustersRequest>,
    ) -> Result<Response<pb::UnlinkClustersResponse>, Status> {
        let who = caller(&request)?;
        let req = request.into_inner();
        let mut v = Violations::default();
        let link = cw::id(&mut v, "link_id", req.link_id);
        let reason = sw::reason(&mut v, &req.reason);
        v.finish(()).map_err(error::invalid_argument)?;
        who.target(format!("link:{link}"));
        let (cluster, split) = self.store.unlink_clusters(link, &reason, &who.actor).await.map_err(error::store)?;
        who.target(format!("cluster:{}", cluster.id));
        for id in &split {
            who.target(format!("cluster:{id}"));
        }
        tracing::info!(link, cluster = cluster.id, split = ?split, actor = %who.actor, "manual link removed");
        Ok(Response::new(pb::UnlinkClustersResponse {
            cluster: Some(cw::cluster_out(&cluster)),
            split_cluster_ids: split,
        }))
    }

    async fn list_cluster_notes(
        &self,
        request: Request<pb::ListClusterNotesRequest>,
    ) -> Result<Response<pb::ListClusterNotesResponse>, Status> {
        let who = caller(&request)?;
        let req = request.into_inner();
        let mut v = Violations::default();
        let id = cw::id(&mut v, "cluster_id", req.cluster_id);
        let page = sw::notes_page(&mut v, req.page_size, &req.page_token);
        v.finish(()).map_err(error::invalid_argument)?;
        who.target(format!("cluster:{id}"));
        let (notes, next) = self
            .store
            .cluster_notes(id, page.after.unwrap_or(0), page.size)
            .await
            .map_err(error::store)?
            .ok_or_else(|| Status::not_found("no such cluster"))?;
        Ok(Response::new(pb::ListClusterNotesResponse {
            notes: notes.iter().map(sw::note_out).collect(),
            next_page_token: next.map(|n| n.to_string()).unwrap_or_default(),
        }))
    }

    type WatchQueueStream = WatchStream;

    async fn watch_queue(
        &self,
        request: Request<pb::WatchQueueRequest>,
    ) -> Result<Response<Self::WatchQueueStream>, Status> {
        let who = caller(&request)?;
        let req = request.into_inner();
        let mut v = Violations::default();
        let queue = if req.queue == 0 { None } else { cw::queue(&mut v, "queue", req.queue) };
        v.finish(()).map_err(error::invalid_argument)?;
        let events = BroadcastStream::new(self.store.watch()).filter_map(move |item| match item {
            Ok(e) => {
                let in_queue = queue.is_some_and(|q| q.holds(&e.cluster, UnixMicros::now()));
                let wanted = queue.is_none() || in_queue || e.event.kind.moves_between_queues();
                wanted.then(|| {
                    Ok(pb::WatchQueueResponse {
                        event: Some(cw::event_out(&e.event)),
                        cluster: Some(cw::cluster_out(&e.cluster)),
                        in_queue,
                    })
                })
            }
            // A watcher too slow for the event rate is told so, rather than silently missing events.
            Err(tokio_stream::wrappers::errors::BroadcastStreamRecvError::Lagged(n)) => {
                Some(Err(Status::data_loss(format!("{n} events were missed; read the queue again and watch anew"))))
            }
        });
        // A watch ends with its session, and within WATCH_RECHECK of its credentials being
        // revoked, disabled or signed out: the events go through a task that checks them again.
        let expires = who.expires_at;
        let events = events.take_while(move |_| expires.is_none_or(|t| UnixMicros::now() < t));
        let (tx, rx) = tokio::sync::mpsc::channel(64);
        let guard = self.guard.clone();
        tokio::spawn(async move {
            let _open = OpenWatch::new();
            let mut events = Box::pin(events);
            let mut check = tokio::time::interval(WATCH_RECHECK);
            check.tick().await;
            loop {
                tokio::select! {
                    item = events.next() => {
                        let Some(item) = item else { return };
                        if tx.send(item).await.is_err() {
                            return;
                        }
                    }
                    _ = check.tick() => {
                        if !guard.still_valid(&who).await {
                            let ended = Status::unauthenticated("your credentials no longer hold; sign in and watch anew");
                            let _ = tx.send(Err(ended)).await;
                            return;
                        }
                    }
                    () = tx.closed() => return,
                }
            }
        });
        Ok(Response::new(Box::pin(tokio_stream::wrappers::ReceiverStream::new(rx))))
    }
}

/// Counts a watch stream in `scamtrail_watch_streams` while it is open.
struct OpenWatch;

impl OpenWatch {
    fn new() -> OpenWatch {
        metrics::gauge!("scamtrail_watch_streams").increment(1.0);
        OpenWatch
    }
}

impl Drop for OpenWatch {
    fn drop(&mut self) {
        metrics::gauge!("scamtrail_watch_streams").decrement(1.0);
    }
}
