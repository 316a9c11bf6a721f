//! `scamtrail-load`: measures a running scamtrail server, or seeds a database.
//!
//! `run` first measures the server's gRPC health `Check` rate at the same concurrency (the
//! baseline), then the workload, and prints throughput and latency percentiles, each also as a
//! ratio of the baseline. `seed` fills a database with reports through the bulk import path and
//! one recluster.

use std::path::PathBuf;
use std::time::Duration;

use clap::{Parser, Subcommand, ValueEnum};
use scamtrail_load::drive::{Measured, drive};
use scamtrail_load::{Bearer, scenario};
use scamtrail_normalize::{Normalizer, NormalizerConfig};
use scamtrail_proto::v1 as pb;
use scamtrail_server::wire::Intake;
use scamtrail_store::{Store, StoreConfig};
use tonic::service::interceptor::InterceptedService;
use tonic::transport::Channel;

/// Load generator and seeder for scamtrail.
#[derive(Parser)]
#[command(version, about)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Clone, Copy, ValueEnum, PartialEq, Eq, Debug)]
enum Workload {
    /// SubmitReport: 2 to 6 identifiers and 1 or 2 payments each, from generated networks.
    Submit,
    /// LookupIdentifiers with 10 values of seeded networks, in other formats.
    Lookup,
    /// ListQueue: the first page of the new queue.
    ListQueue,
    /// SearchReports: the first page of one category's reports, newest first.
    SearchCategory,
    /// SearchReports: the reports paying one seeded account (its full key as the prefix).
    SearchKey,
    /// SearchReports: EUR payments of at least 1,000, largest first.
    SearchAmount,
    /// SearchReports by a payment method no index serves (cash: none of the seeded reports).
    SearchUnindexed,
    /// SearchClusters: the first page of new clusters, most urgent first.
    SearchClusters,
}

#[derive(Subcommand)]
enum Command {
    /// Measure a workload against a running server.
    Run {
        /// The server.
        #[arg(long, default_value = "127.0.0.1:50051")]
        addr: String,
        /// What to call.
        #[arg(long, value_enum, default_value = "submit")]
        workload: Workload,
        /// Calls in flight.
        #[arg(long, default_value_t = 64)]
        concurrency: usize,
        /// Seconds to measure the workload.
        #[arg(long, default_value_t = 20)]
        seconds: u64,
        /// Seconds to measure the health-check baseline.
        #[arg(long, default_value_t = 5)]
        baseline_seconds: u64,
        /// Networks the generated reports are spread over (for lookups: the seed's count).
        #[arg(long, default_value_t = 20_000)]
        networks: usize,
        /// The first report number (so that successive runs submit new reports).
        #[arg(long, default_value_t = 0)]
        start: u64,
        /// The server's process id, to report its peak resident memory.
        #[arg(long)]
        server_pid: Option<u32>,
        /// A label for the results line (e.g. the database).
        #[arg(long, default_value = "")]
        label: String,
        /// The bearer token the calls carry: an intake key for submit, a liaison key for lookup,
        /// an investigator's session for list-queue and the searches.
        #[arg(long, env = "SCAMTRAIL_TOKEN", default_value = "", hide_env_values = true)]
        token: String,
    },
    /// Fill a database with reports through the bulk import path, then recluster.
    Seed {
        /// The database.
        #[arg(long, default_value = "sqlite://scamtrail.db")]
        database_url: String,
        /// Reports to add.
        #[arg(long, default_value_t = 1_000_000)]
        reports: usize,
        /// Networks they are spread over.
        #[arg(long, default_value_t = 20_000)]
        networks: usize,
        /// Reports per import transaction.
        #[arg(long, default_value_t = 2_000)]
        batch: usize,
        /// The card key file (as the server's), so card keys match.
        #[arg(long, default_value = "scamtrail.card-key")]
        card_key_file: PathBuf,
        /// The data key file (as the server's), so the server reads the seeded victims' data.
        #[arg(long, default_value = "scamtrail.data-key", env = "SCAMTRAIL_DATA_KEY_FILE")]
        data_key_file: PathBuf,
    },
}

fn main() -> anyhow::Result<()> {
    tracing_subscriber::fmt().with_env_filter("warn").with_writer(std::io::stderr).init();
    let cli = Cli::parse();
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build()?;
    match cli.command {
        Command::Run {
            addr,
            workload,
            concurrency,
            seconds,
            baseline_seconds,
            networks,
            start,
            server_pid,
            label,
            token,
        } => runtime.block_on(run(RunArgs {
            addr,
            workload,
            concurrency,
            duration: Duration::from_secs(seconds),
            baseline: Duration::from_secs(baseline_seconds),
            networks,
            start,
            server_pid,
            label,
            token,
        })),
        Command::Seed { database_url, reports, networks, batch, card_key_file, data_key_file } => {
            let keys = (card_key_file, data_key_file);
            runtime.block_on(seed(database_url, reports, networks, batch.max(1), keys))
        }
    }
}

struct RunArgs {
    addr: String,
    workload: Workload,
    concurrency: usize,
    duration: Duration,
    baseline: Duration,
    networks: usize,
    start: u64,
    server_pid: Option<u32>,
    label: String,
    token: String,
}

async fn channel(addr: &str) -> anyhow::Result<Channel> {
    Ok(Channel::from_shared(format!("http://{addr}"))?.tcp_nodelay(true).connect().await?)
}

async fn run(args: RunArgs) -> anyhow::Result<()> {
    // Connections: one per 8 calls in flight, as a frontend's pool would have.
    let mut channels = Vec::new();
    for _ in 0..args.concurrency.div_ceil(8) {
        channels.push(channel(&args.addr).await?);
    }
    let pick = move |n: u64| channels[(n as usize) % channels.len()].clone();
    let bearer = Bearer::new(&args.token);
    let authed = move |n: u64| InterceptedService::new(pick(n), bearer.clone());

    let health = {
        let authed = authed.clone();
        drive(args.concurrency, args.baseline, move |n| {
            let mut client = tonic_health::pb::health_client::HealthClient::new(authed(n));
            async move {
                let req = tonic_health::pb::HealthCheckRequest { service: String::new() };
                client.check(req).await.map(|_| ()).map_err(|e| e.to_string())
            }
        })
        .await
    };
    let networks = args.networks.max(1);
    let start = args.start;
    let measured = match args.workload {
        Workload::Submit => {
            let run_tag = scenario::now_seconds();
            drive(args.concurrency, args.duration, move |n| {
                let mut client = pb::intake_service_client::IntakeServiceClient::new(authed(n));
                let k = start + n;
                let (_, report) = scenario::stream_report(k as usize, networks);
                let req =
                    pb::SubmitReportRequest { report: Some(report), client_request_id: format!("load-{run_tag}-{k}") };
                async move { client.submit_report(req).await.map(|_| ()).map_err(|e| e.to_string()) }
            })
            .await
        }
        Workload::Lookup => {
            drive(args.concurrency, args.duration, move |n| {
                let mut client = pb::lookup_service_client::LookupServiceClient::new(authed(n));
                let values = (0..10u64)
                    .map(|j| {
                        let net = scenario::network(((n * 10 + j) as usize * 7919) % networks, networks);
                        let value = match j % 3 {
                            0 => net.ibans[(j as usize) % net.ibans.len()].to_lowercase(),
                            1 => format!("+44 {}", net.phones[0]),
                            _ => format!("https://{}/", net.domains[0]),
                        };
                        scenario::id(&value, pb::IdentifierRole::Unspecified, pb::IdentifierKind::Unspecified)
                    })
                    .collect();
                let req = pb::LookupIdentifiersRequest { values, country: String::new() };
                async move { client.lookup_identifiers(req).await.map(|_| ()).map_err(|e| e.to_string()) }
            })
            .await
        }
        Workload::ListQueue => {
            drive(args.concurrency, args.duration, move |n| {
                let mut client = pb::triage_service_client::TriageServiceClient::new(authed(n));
                let req = pb::ListQueueRequest { queue: pb::Queue::New as i32, page_size: 50, ..Default::default() };
                async move { client.list_queue(req).await.map(|_| ()).map_err(|e| e.to_string()) }
            })
            .await
        }
        Workload::SearchCategory
        | Workload::SearchKey
        | Workload::SearchAmount
        | Workload::SearchUnindexed
        | Workload::SearchClusters => {
            let workload = args.workload;
            drive(args.concurrency, args.duration, move |n| {
                let mut client = pb::triage_service_client::TriageServiceClient::new(authed(n));
                let net = scenario::network((n as usize * 7919) % networks, networks);
                let reports = match workload {
                    Workload::SearchCategory => pb::SearchReportsRequest {
                        categories: vec![pb::ScamCategory::TechSupport as i32],
                        ..Default::default()
                    },
                    Workload::SearchKey => pb::SearchReportsRequest {
                        identifier_key_prefix: format!("iban:{}", net.ibans[0]),
                        ..Default::default()
                    },
                    Workload::SearchAmount => pb::SearchReportsRequest {
                        currency: "EUR".into(),
                        min_amount: "1000".into(),
                        order: pb::SearchOrder::LargestAmountFirst as i32,
                        ..Default::default()
                    },
                    _ => pb::SearchReportsRequest {
                        payment_methods: vec![pb::PaymentMethod::Cash as i32],
                        ..Default::default()
                    },
                };
                let reports = pb::SearchReportsRequest { page_size: 50, ..reports };
                let clusters = pb::SearchClustersRequest {
                    statuses: vec![pb::ClusterStatus::New as i32],
                    page_size: 50,
                    ..Default::default()
                };
                async move {
                    if workload == Workload::SearchClusters {
                        client.search_clusters(clusters).await.map(|_| ()).map_err(|e| e.to_string())
                    } else {
                        client.search_reports(reports).await.map(|_| ()).map_err(|e| e.to_string())
                    }
                }
            })
            .await
        }
    };
    print_results(&args, &health, &measured);
    if let Some(e) = measured.first_error.as_ref().or(health.first_error.as_ref()) {
        eprintln!("first error: {e}");
    }
    anyhow::ensure!(measured.ok > 0, "no call succeeded");
    Ok(())
}

/// Peak and current resident memory of a process, in MiB, from /proc.
fn memory_mib(pid: u32) -> Option<(f64, f64)> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let field = |name: &str| {
        status
            .lines()
            .find(|l| l.starts_with(name))?
            .split_whitespace()
            .nth(1)?
            .parse::<f64>()
            .ok()
            .map(|kb| kb / 1024.0)
    };
    Some((field("VmHWM:")?, field("VmRSS:")?))
}

fn print_results(args: &RunArgs, health: &Measured, m: &Measured) {
    let base = health.rate();
    let line = |name: &str, r: &Measured| {
        println!(
            "{:<12} {:<28} {:>9} {:>6} {:>10.0} {:>8.2} {:>8.2} {:>8.2} {:>8.2} {:>8.3}",
            args.label,
            name,
            r.ok,
            r.errors,
            r.rate(),
            r.percentile_ms(50.0),
            r.percentile_ms(90.0),
            r.percentile_ms(99.0),
            r.max_ms(),
            r.rate() / base.max(1e-9),
        );
    };
    println!(
        "{:<12} {:<28} {:>9} {:>6} {:>10} {:>8} {:>8} {:>8} {:>8} {:>8}",
        "run", "workload", "ok", "errors", "calls/s", "p50 ms", "p90 ms", "p99 ms", "max ms", "ratio"
    );
    line(&format!("health c={}", args.concurrency), health);
    line(&format!("{:?} c={}", args.workload, args.concurrency).to_lowercase(), m);
    if let Some((peak, now)) = args.server_pid.and_then(memory_mib) {
        println!("{:<12} server resident memory: peak {peak:.0} MiB, now {now:.0} MiB", args.label);
    }
}

async fn seed(
    database_url: String,
    reports: usize,
    networks: usize,
    batch: usize,
    (card_key_file, data_key_file): (PathBuf, PathBuf),
) -> anyhow::Result<()> {
    let started = std::time::Instant::now();
    let card_mac_key = scamtrail_server::key_file::card_key(&card_key_file)?;
    let normalizer = Normalizer::new(NormalizerConfig { card_mac_key });
    let data_keys = scamtrail_server::key_file::data_keys(&data_key_file)?;
    let config = StoreConfig::new(database_url).with_data_keys(scamtrail_store::KeySource::fixed(data_keys));
    let store = Store::open(&config).await?;
    // As the server does at start: benign identifiers must not link the seeded networks.
    store.apply_safelist(&scamtrail_server::safelist::load(None, &normalizer)?).await?;
    let bar = indicatif::ProgressBar::new(reports as u64)
        .with_style(indicatif::ProgressStyle::with_template("{msg:>24} [{bar:40}] {pos}/{len} {elapsed} ({per_sec})")?);
    bar.set_message("importing reports");
    let mut k = 0;
    while k < reports {
        let intake = Intake { normalizer: &normalizer, now: scamtrail_core::UnixMicros::now() };
        let chunk: Vec<_> = (k..(k + batch).min(reports))
            .map(|i| {
                let (_, report) = scenario::stream_report(i, networks);
                let req = pb::SubmitReportRequest { report: Some(report), client_request_id: String::new() };
                intake.report(&req).map_err(|v| anyhow::anyhow!("generated report {i} is invalid: {v:?}"))
            })
            .collect::<Result<_, _>>()?;
        store.import(&chunk).await?;
        k += chunk.len();
        bar.set_position(k as u64);
    }
    bar.finish();
    drop(store);
    let mut bars = scamtrail_server::progress::StageBars::default();
    let summary = Store::recluster(&config, &mut |stage, done, total| bars.update(stage, done, total)).await?;
    bars.finish();
    println!(
        "seeded {reports} reports over {networks} networks in {:.1} s: {} links, {} clusters",
        started.elapsed().as_secs_f64(),
        summary.links,
        summary.clusters
    );
    Ok(())
}
