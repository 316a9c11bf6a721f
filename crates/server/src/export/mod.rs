//! `ExportService`: a cluster, or the indicator feed, in the formats police, CERTs, analysts and
//! banks import — STIX 2.1 ([`stix`]), MISP ([`misp`]), GraphML ([`graphml`]), CSV ([`csv`]) and
//! the referral package ([`package`]) — streamed a page at a time ([`stream`]) from one read
//! model of the cluster ([`model`], the store's `exports`).
//!
//! Who may export: investigators and supervisors any cluster, a liaison only the clusters referred
//! to its agency (others answer as unknown ones) and the feed. No export carries victim personal
//! data or narratives, and the reports of victims who did not consent to share them with the
//! police are left out of a liaison's exports and of every referral package (core's
//! `Role::exports_reports_without_consent`); the totals still count them. The referral package's
//! `case.html` names the victims who consented, with their account. Every export is audited twice: the guard's event when the stream starts,
//! and this service's event with the format and the size when it ends (for a package, before its
//! manifest, which names that event's sequence).

pub mod client;
pub mod csv;
pub mod graphml;
pub mod misp;
pub mod model;
pub mod package;
pub mod pdf;
pub mod stix;
pub mod stream;

use std::pin::Pin;
use std::sync::Arc;

use scamtrail_core::{AuditEvent, UnixMicros};
use scamtrail_proto::v1 as pb;
use scamtrail_store::{FeedCursor, FeedFilter, ReportsShown, Store};
use tokio_stream::Stream;
use tonic::{Request, Response, Status};
use tonic_types::{ErrorDetails, StatusExt};

use crate::auth::{Caller, GuardState, caller};
use crate::cluster_wire as cw;
use crate::error;
use crate::violations::Violations;
use model::Cluster;
use stix::Tlp;
use stream::{Sink, Stopped};

/// Identifiers in one page of the feed at most.
pub const FEED_PAGE_MAX: i32 = 10_000;

/// The export service.
pub struct ExportApi {
    store: Store,
    guard: Arc<GuardState>,
}

impl ExportApi {
    /// A service reading from `store`; `guard` holds the audit trail the exports' sizes go to.
    pub fn new(store: Store, guard: Arc<GuardState>) -> Self {
        Self { store, guard }
    }
}

type ChunkStream = Pin<Box<dyn Stream<Item = Result<pb::ExportChunk, Status>> + Send>>;

fn format_of(v: &mut Violations, value: i32, allowed: &[pb::ExportFormat]) -> pb::ExportFormat {
    match pb::ExportFormat::try_from(value) {
        Ok(format) if allowed.contains(&format) => format,
        Ok(pb::ExportFormat::Unspecified) => {
            v.required("format");
            pb::ExportFormat::Unspecified
        }
        _ => {
            let names: Vec<&str> = allowed.iter().map(|f| f.as_str_name()).collect();
            v.add("format", "UNKNOWN_FORMAT", format!("one of {}", names.join(", ")));
            pb::ExportFormat::Unspecified
        }
    }
}

fn tlp_of(v: &mut Violations, options: Option<&pb::ExportOptions>) -> Tlp {
    let value = options.map_or(0, |o| o.tlp);
    match pb::TlpMarking::try_from(value) {
        Ok(pb::TlpMarking::Unspecified | pb::TlpMarking::AmberStrict) => Tlp::AmberStrict,
        Ok(pb::TlpMarking::Clear) => Tlp::Clear,
        Ok(pb::TlpMarking::Green) => Tlp::Green,
        Ok(pb::TlpMarking::Amber) => Tlp::Amber,
        Ok(pb::TlpMarking::Red) => Tlp::Red,
        Err(_) => {
            v.add("options.tlp", "UNKNOWN_MARKING", "a TLP 2.0 marking");
            Tlp::AmberStrict
        }
    }
}

fn format_name(format: pb::ExportFormat) -> &'static str {
    match format {
        pb::ExportFormat::Stix => "stix",
        pb::ExportFormat::Misp => "misp",
        pb::ExportFormat::Graphml => "graphml",
        pb::ExportFormat::Csv => "csv",
        pb::ExportFormat::Package => "package",
        pb::ExportFormat::Unspecified => "unspecified",
    }
}

/// The content type and file name of a cluster's export.
fn file_of(format: pb::ExportFormat, id: i64) -> (&'static str, String) {
    match format {
        pb::ExportFormat::Stix => ("application/stix+json;version=2.1", format!("cluster-{id}.stix.json")),
        pb::ExportFormat::Misp => ("application/json", format!("cluster-{id}.misp.json")),
        pb::ExportFormat::Graphml => ("application/graphml+xml", format!("cluster-{id}.graphml")),
        pb::ExportFormat::Csv => ("application/zip", format!("cluster-{id}-csv.zip")),
        _ => ("application/zip", format!("cluster-{id}-referral.zip")),
    }
}

/// Key prefixes of an identifier kind; `None` for kinds never exported.
fn prefixes(kind: pb::IdentifierKind) -> Option<&'static [&'static str]> {
    use pb::IdentifierKind as K;
    Some(match kind {
        K::Iban => &["iban"],
        K::Bic => &["bic"],
        K::BankAccount => &["acct"],
        K::Phone | K::Whatsapp => &["tel"],
        K::Email => &["email"],
        K::Website => &["domain", "url"],
        K::CryptoWallet => &["btc", "evm", "trx", "ltc", "xrp", "sol", "ton"],
        K::CryptoTransaction => &["tx"],
        K::Telegram => &["telegram"],
        K::Instagram => &["instagram"],
        K::Tiktok => &["tiktok"],
        K::Facebook => &["facebook"],
        K::X => &["x"],
        K::Card | K::Unspecified => return None,
    })
}

/// Reads the feed's `since`: empty, a cursor this service gave (`LAST_SEEN.ID`), or an RFC 3339
/// instant.
fn cursor_of(v: &mut Violations, since: &str) -> FeedCursor {
    let since = since.trim();
    if since.is_empty() {
        return FeedCursor::default();
    }
    if let Some((seen, id)) = since.split_once('.')
        && let (Ok(last_seen), Ok(id)) = (seen.parse::<i64>(), id.parse::<i64>())
        && last_seen >= 0
        && id >= 0
    {
        return FeedCursor { last_seen, id };
    }
    match time::OffsetDateTime::parse(since, &time::format_description::well_known::Rfc3339) {
        Ok(t) => FeedCursor { last_seen: i64::try_from(t.unix_timestamp_nanos() / 1000).unwrap_or(0).max(0), id: 0 },
        Err(_) => {
            v.add("since", "INVALID_CURSOR", "a cursor from an earlier page, or an RFC 3339 instant");
            FeedCursor::default()
        }
    }
}

fn cursor_text(cursor: FeedCursor) -> String {
    format!("{}.{}", cursor.last_seen, cursor.id)
}

fn head(content_type: &str, file_name: String, generated: UnixMicros) -> pb::ExportChunk {
    pb::ExportChunk {
        content_type: content_type.to_owned(),
        file_name,
        generated_at: Some(prost_types::Timestamp {
            seconds: generated.0.div_euclid(1_000_000),
            nanos: (generated.0.rem_euclid(1_000_000) * 1000) as i32,
        }),
        ..Default::default()
    }
}

fn stopped(e: Stopped) -> Status {
    match e {
        Stopped::Store(e) => error::store(e),
        Stopped::Gone => Status::cancelled("the client went away"),
        e => Status::internal(format!("the export failed: {e}")),
    }
}

/// The event of a finished (or failed) export: its records, format and size.
struct Audited {
    guard: Arc<GuardState>,
    caller: Caller,
    method: &'static str,
    targets: Vec<String>,
    recorded: bool,
}

impl Audited {
    async fn append(&mut self, size: u64, outcome: &str) -> Result<i64, Stopped> {
        self.recorded = true;
        let mut targets = self.targets.clone();
        targets.push(format!("bytes:{size}"));
        let role = self.caller.role.map_or("none", |r| r.as_str());
        let event = AuditEvent::now(&self.caller.actor, role, self.method, targets, &self.caller.peer, outcome);
        Ok(self.guard.audit_log().append_numbered(event).await?)
    }
}

impl package::Recorder for Audited {
    async fn record(&mut self, size: u64) -> Result<i64, Stopped> {
        self.append(size, "OK").await
    }
}

const CLUSTER_METHOD: &str = "/scamtrail.v1.ExportService/ExportCluster";
const FEED_METHOD: &str = "/scamtrail.v1.ExportService/ExportIdentifiers";

#[tonic::async_trait]
impl pb::export_service_server::ExportService for ExportApi {
    type ExportClusterStream = ChunkStream;
    type ExportIdentifiersStream = ChunkStream;

    async fn export_cluster(
        &self,
        request: Request<pb::ExportClusterRequest>,
    ) -> Result<Response<Self::ExportClusterStream>, Status> {
        use pb::ExportFormat as F;
        let who = caller(&request)?;
        let req = request.into_inner();
        let mut v = Violations::default();
        let id = cw::id(&mut v, "cluster_id", req.cluster_id);
        let format = format_of(&mut v, req.format, &[F::Stix, F::Misp, F::Graphml, F::Csv, F::Package]);
        let tlp = tlp_of(&mut v, req.options.as_ref());
        v.finish(()).map_err(error::invalid_argument)?;
        who.target(format!("cluster:{id}"));
        who.target(format!("format:{}", format_name(format)));
        let Some(view) = self.store.cluster_summary(id).await.map_err(error::store)? else {
            return Err(Status::not_found("no such cluster"));
        };
        // A liaison learns nothing of clusters outside its agency, not even that they merged.
        if !crate::triage::in_scope(&who, &view) {
            return Err(Status::not_found("no such cluster"));
        }
        if let Some(survivor) = view.merged_into {
            let mut details = ErrorDetails::new();
            details.set_error_info(
                "CLUSTER_MERGED",
                "scamtrail",
                std::collections::HashMap::from([("survivor_cluster_id".to_owned(), survivor.to_string())]),
            );
            details.add_precondition_failure_violation(
                "MERGED",
                format!("cluster:{id}"),
                format!("merged into cluster {survivor}; export that one"),
            );
            return Err(Status::with_error_details(
                tonic::Code::FailedPrecondition,
                format!("cluster {id} was merged into cluster {survivor}"),
                details,
            ));
        }
        let generated = UnixMicros::now();
        let (content_type, file_name) = file_of(format, id);
        let (tx, rx) = tokio::sync::mpsc::channel(4);
        let mut sink = Sink::new(tx, head(content_type, file_name, generated));
        let shown = match who.role {
            Some(role) if role.exports_reports_without_consent(format == F::Package) => ReportsShown::All,
            _ => ReportsShown::ConsentingOnly,
        };
        let cluster = Cluster { store: self.store.clone(), view, shown };
        let mut audited = Audited {
            guard: self.guard.clone(),
            caller: who,
            method: CLUSTER_METHOD,
            targets: vec![format!("cluster:{id}"), format!("format:{}", format_name(format))],
            recorded: false,
        };
        tokio::spawn(async move {
            let written = match format {
                F::Stix => stix::cluster(&mut sink, &cluster, tlp).await,
                F::Misp => misp::cluster(&mut sink, &cluster, tlp).await,
                F::Graphml => graphml::cluster(&mut sink, &cluster).await,
                F::Csv => package::csv_zip(&mut sink, &cluster).await,
                _ => package::write(&mut sink, &cluster, tlp, &mut audited).await,
            };
            finish(sink, written, audited, String::new()).await;
        });
        Ok(Response::new(Box::pin(tokio_stream::wrappers::ReceiverStream::new(rx))))
    }

    async fn export_identifiers(
        &self,
        request: Request<pb::ExportIdentifiersRequest>,
    ) -> Result<Response<Self::ExportIdentifiersStream>, Status> {
        use pb::ExportFormat as F;
        let who = caller(&request)?;
        let req = request.into_inner();
        let mut v = Violations::default();
        let cursor = cursor_of(&mut v, &req.since);
        let format = format_of(&mut v, req.format, &[F::Csv, F::Stix, F::Misp]);
        let tlp = tlp_of(&mut v, req.options.as_ref());
        let mut kinds: Vec<String> = vec![];
        for (n, &kind) in req.kinds.iter().enumerate().take(100) {
            match pb::IdentifierKind::try_from(kind).ok().and_then(prefixes) {
                Some(found) => kinds.extend(found.iter().map(|p| (*p).to_owned())),
                None => v.add(format!("kinds[{n}]"), "UNKNOWN_KIND", "an exported identifier kind (never cards)"),
            }
        }
        if req.kinds.len() > 100 {
            v.add("kinds", "TOO_MANY", "at most 100 kinds");
        }
        kinds.sort();
        kinds.dedup();
        if req.min_reports < 0 {
            v.add("min_reports", "OUT_OF_RANGE", "0 or more");
        }
        let page_size = match req.page_size {
            0 => FEED_PAGE_MAX,
            n if (1..=FEED_PAGE_MAX).contains(&n) => n,
            _ => {
                v.add("page_size", "OUT_OF_RANGE", "between 1 and 10,000");
                0
            }
        };
        v.finish(()).map_err(error::invalid_argument)?;
        who.target("feed".to_owned());
        who.target(format!("format:{}", format_name(format)));
        let filter = FeedFilter { kinds, min_reports: req.min_reports.max(1) };
        let page = self.store.identifier_feed(cursor, &filter, page_size as u64).await.map_err(error::store)?;
        let next = page.last().and_then(|i| i.last_seen.map(|seen| FeedCursor { last_seen: seen.0, id: i.id }));
        let next = cursor_text(next.unwrap_or(cursor));
        let generated = UnixMicros::now();
        let (content_type, file_name) = match format {
            F::Csv => ("text/csv", "identifiers.csv".to_owned()),
            F::Stix => ("application/stix+json;version=2.1", "identifiers.stix.json".to_owned()),
            _ => ("application/json", "identifiers.misp.json".to_owned()),
        };
        let (tx, rx) = tokio::sync::mpsc::channel(4);
        let mut sink = Sink::new(tx, head(content_type, file_name, generated));
        let audited = Audited {
            guard: self.guard.clone(),
            caller: who,
            method: FEED_METHOD,
            targets: vec![format!("feed:{}", cursor_text(cursor)), format!("format:{}", format_name(format))],
            recorded: false,
        };
        let since = cursor_text(cursor);
        tokio::spawn(async move {
            use stream::Out;
            let written = async {
                match format {
                    F::Csv => csv::feed_page(&mut sink, &page, true)?,
                    F::Stix => {
                        stix::open_bundle(&mut sink, &stix::feed_bundle_name(&since, generated), tlp)?;
                        stix::identifiers(&mut sink, &page, tlp)?;
                        stix::close_bundle(&mut sink)?;
                    }
                    _ => misp::feed(&mut sink, &page, &format!("feed:{since}"), &model::date(generated), tlp)?,
                }
                sink.page_done().await
            }
            .await;
            finish(sink, written, audited, next).await;
        });
        Ok(Response::new(Box::pin(tokio_stream::wrappers::ReceiverStream::new(rx))))
    }
}

/// Ends an export: the last bytes (and the feed's cursor) or the error, and the audit event with
/// the size, unless the package recorded it already.
async fn finish(sink: Sink, written: Result<(), Stopped>, mut audited: Audited, next_cursor: String) {
    let size = sink.written();
    match written {
        Ok(()) => {
            let sent = sink.finish(next_cursor).await;
            if !audited.recorded {
                let outcome = if sent.is_ok() { "OK" } else { "CANCELLED" };
                if let Err(e) = audited.append(size, outcome).await {
                    tracing::error!(error = %e, "cannot append an export's size to the audit trail");
                }
            }
        }
        Err(e) => {
            let status = stopped(e);
            if !audited.recorded
                && let Err(e) = audited.append(size, crate::auth::guard::code_name(status.code())).await
            {
                tracing::error!(error = %e, "cannot append an export's failure to the audit trail");
            }
            sink.fail(status).await;
        }
    }
}
