//! The `scamtrail` command: `serve` (the default embedded set-up needs no flags), `migrate`,
//! `recluster` (rebuild every cluster in bulk), `normalize` (one value per line on stdin, one
//! JSON object per line on stdout), `user` and `key` (people and systems that may call), and
//! `audit verify`.

use std::io::{BufRead, Write};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use clap::{Parser, Subcommand, ValueEnum};
use scamtrail_core::{BridgeConfig, PriorityWeights, RateTable};
use scamtrail_normalize::{Country, Hint, KindHint, Normalizer, NormalizerConfig, ReadValue};
use scamtrail_server::{ServeConfig, TlsFiles, serve};
use scamtrail_store::{ClusterConfig, Store, StoreConfig};

mod admin;
mod config_file;

/// scamtrail: take in fraud-victim reports, link them, and triage the networks behind them.
#[derive(Parser)]
#[command(version, about)]
struct Cli {
    /// Log format.
    #[arg(long, global = true, value_enum, default_value = "text", env = "SCAMTRAIL_LOG_FORMAT")]
    log_format: LogFormat,
    #[command(subcommand)]
    command: Command,
}

#[derive(Clone, Copy, ValueEnum)]
enum LogFormat {
    Text,
    Json,
}

#[derive(Subcommand)]
enum Command {
    /// Run the gRPC server (gRPC, gRPC-Web, health, reflection) until SIGINT or SIGTERM.
    #[command(args_override_self = true)]
    Serve(Box<ServeArgs>),
    /// The server's configuration: `config check --config scamtrail.toml` reads it as `serve`
    /// would (file, environment, flags), checks every setting and prints what it would use.
    Config {
        #[command(subcommand)]
        command: ConfigCommand,
    },
    /// People who sign in: `user create --role investigator --name alice` (password from stdin).
    User {
        #[command(subcommand)]
        command: UserCommand,
    },
    /// Systems' API keys: `key create --role intake --name frontend-eu` prints the key once.
    Key {
        #[command(subcommand)]
        command: KeyCommand,
    },
    /// The audit trail: `audit verify` checks its keyed hash chain and kept checkpoints.
    Audit {
        #[command(subcommand)]
        command: AuditCommand,
    },
    /// Reports: `report erase --id N` erases a report's personal data (a victim's written request).
    Report {
        #[command(subcommand)]
        command: ReportCommand,
    },
    /// The retention policy: `retention run [--dry-run]` erases (or lists) the personal data of
    /// reports whose cluster was closed more than --retention-months ago, and of victims whose
    /// erasure request waited for a legal hold to end.
    Retention {
        #[command(subcommand)]
        command: RetentionCommand,
    },
    /// Victims' data keys: `data-key rotate` adds a version and seals everything under it.
    DataKey {
        #[command(subcommand)]
        command: DataKeyCommand,
    },
    /// Rebuild every cluster from the report–identifier links in bulk. Stop the servers first.
    Recluster {
        #[command(flatten)]
        database: DatabaseArgs,
        #[command(flatten)]
        clusters: ClusterArgs,
    },
    /// Copy a live SQLite database into FILE (a consistent snapshot, taken while servers run),
    /// with its card, audit and data keys beside it as FILE.card-key, FILE.audit-key and
    /// FILE.data-key. Keep the copy of the data keys apart from the database's copy.
    Backup {
        #[command(flatten)]
        database: DatabaseArgs,
        /// The copy to make (a new file).
        #[arg(long)]
        to: PathBuf,
        /// The card MAC key file to copy beside it.
        #[arg(long, default_value = "scamtrail.card-key", env = "SCAMTRAIL_CARD_KEY_FILE")]
        card_key_file: PathBuf,
        #[command(flatten)]
        audit_key: AuditKeyArgs,
        #[command(flatten)]
        data_key: DataKeyArgs,
    },
    /// Put a backup in place: FILE becomes the SQLite database of --database-url and its key
    /// files go where --card-key-file, --audit-key-file and --data-key-file say. Refuses to
    /// overwrite anything.
    Restore {
        /// The backup (made by `scamtrail backup --to FILE`).
        #[arg(long)]
        from: PathBuf,
        #[command(flatten)]
        database: DatabaseArgs,
        /// Where the card MAC key goes.
        #[arg(long, default_value = "scamtrail.card-key", env = "SCAMTRAIL_CARD_KEY_FILE")]
        card_key_file: PathBuf,
        #[command(flatten)]
        audit_key: AuditKeyArgs,
        #[command(flatten)]
        data_key: DataKeyArgs,
    },
    /// Apply pending database migrations and exit.
    Migrate {
        #[command(flatten)]
        database: DatabaseArgs,
    },
    /// Normalise identifiers: one value per line on stdin, one JSON object per line on stdout.
    Normalize {
        /// The reporter's country (ISO 3166-1 alpha-2), for national numbers and accounts.
        #[arg(long)]
        country: Option<String>,
        /// The kind of every value (iban, bic, bank_account, card, phone, email, website,
        /// crypto_wallet, crypto_transaction, telegram, whatsapp, instagram, tiktok, facebook, x).
        #[arg(long)]
        kind: Option<String>,
        /// File holding the card MAC key, so that card keys match the server's.
        #[arg(long, default_value = "scamtrail.card-key", env = "SCAMTRAIL_CARD_KEY_FILE")]
        card_key_file: PathBuf,
        /// A shared-hosts file read beside the shipped list, so that links key as the server's.
        #[arg(long, env = "SCAMTRAIL_SHARED_HOSTS_FILE")]
        shared_hosts_file: Option<PathBuf>,
    },
    /// Export a cluster or the indicator feed from a running server, with a token:
    /// `export cluster 12 --format stix|misp|graphml|csv|package [--out FILE]`,
    /// `export feed --since CURSOR --format csv|stix|misp`; `export pdf PACKAGE` prints a referral
    /// package's case with headless Chromium.
    Export {
        #[command(subcommand)]
        command: scamtrail_server::export::client::ExportCommand,
    },
}

#[derive(Subcommand)]
enum ConfigCommand {
    /// Check the settings `serve` would use, without serving.
    #[command(args_override_self = true)]
    Check(Box<ServeArgs>),
}

/// What `scamtrail serve` takes.
#[derive(clap::Args)]
struct ServeArgs {
    /// A TOML file of settings, one key per flag (`listen = "0.0.0.0:50051"`); the environment
    /// and the flags typed override it.
    #[arg(long, env = "SCAMTRAIL_CONFIG")]
    config: Option<PathBuf>,
    /// Address to listen on.
    #[arg(long, default_value = "127.0.0.1:50051", env = "SCAMTRAIL_LISTEN")]
    listen: SocketAddr,
    #[command(flatten)]
    database: DatabaseArgs,
    /// Browser origin allowed to call over gRPC-Web; repeat for several.
    #[arg(long = "cors-origin", env = "SCAMTRAIL_CORS_ORIGINS", value_delimiter = ',')]
    cors_origins: Vec<String>,
    /// File holding the card MAC key (created on first start; share it between instances).
    #[arg(long, default_value = "scamtrail.card-key", env = "SCAMTRAIL_CARD_KEY_FILE")]
    card_key_file: PathBuf,
    #[command(flatten)]
    audit_key: AuditKeyArgs,
    #[command(flatten)]
    data_key: DataKeyArgs,
    /// Serve plaintext on a non-loopback --listen address: only behind a TLS-terminating proxy on
    /// this host. Without it, such an address needs --tls-cert and --tls-key.
    #[arg(long, env = "SCAMTRAIL_ALLOW_PLAINTEXT", value_parser = clap::builder::BoolishValueParser::new())]
    allow_plaintext: bool,
    /// Serve Prometheus metrics over plain HTTP on this address (e.g. 127.0.0.1:9464); keep it
    /// off the networks browsers reach. Off when unset.
    #[arg(long, env = "SCAMTRAIL_METRICS_LISTEN")]
    metrics_listen: Option<SocketAddr>,
    /// Export a trace span per call to this OTLP/gRPC collector (e.g. http://127.0.0.1:4317).
    /// Spans hold the method and status only. Off when unset.
    #[arg(long, env = "SCAMTRAIL_OTLP_ENDPOINT")]
    otlp_endpoint: Option<String>,
    /// Seconds in-flight calls may take to finish after a shutdown signal.
    #[arg(long, default_value_t = 10)]
    shutdown_grace_seconds: u64,
    #[command(flatten)]
    clusters: ClusterArgs,
    /// A safelist file (tab-separated kind, value, reason) applied beside the shipped one.
    #[arg(long, env = "SCAMTRAIL_SAFELIST_FILE")]
    safelist_file: Option<PathBuf>,
    /// A shared-hosts file (tab-separated host, path, case, note) read beside the shipped list.
    #[arg(long, env = "SCAMTRAIL_SHARED_HOSTS_FILE")]
    shared_hosts_file: Option<PathBuf>,
    /// The tags investigators may put on clusters: one tag or family (`campaign:*`) a line.
    /// Without it, every well-formed tag is taken.
    #[arg(long, env = "SCAMTRAIL_TAG_VOCABULARY_FILE")]
    tag_vocabulary_file: Option<PathBuf>,
    /// Seconds between rescoring clusters whose priority changes with time.
    #[arg(long, default_value_t = 30, env = "SCAMTRAIL_RESCORE_INTERVAL_SECONDS")]
    rescore_interval_seconds: u64,
    #[command(flatten)]
    guard: GuardArgs,
    #[command(flatten)]
    tls: TlsArgs,
    /// A directory of static files (the built report page, `web/dist`) served to GET requests on
    /// the gRPC port.
    #[arg(long, env = "SCAMTRAIL_WEB_DIR")]
    web_dir: Option<PathBuf>,
    #[command(flatten)]
    retention: RetentionArgs,
}

/// How long victims' personal data is kept.
#[derive(clap::Args)]
struct RetentionArgs {
    /// Months after a cluster is closed when its reports' victim data and narratives are erased
    /// (1 to 1,200; a month is 30.44 days). Clusters open or referred are a legal hold: nothing of
    /// them is erased. Identifiers, payments, dates, category and country stay.
    #[arg(
        long,
        default_value_t = scamtrail_server::retention::DEFAULT_RETENTION_MONTHS,
        env = "SCAMTRAIL_RETENTION_MONTHS",
        value_parser = clap::value_parser!(u32).range(1..=i64::from(scamtrail_server::retention::RETENTION_MONTHS_MAX))
    )]
    retention_months: u32,
}

#[derive(Subcommand)]
enum RetentionCommand {
    /// Erases, in batches of 500 each named in the audit trail first, the personal data and free
    /// text now due: reports of clusters closed more than --retention-months ago, and reports
    /// whose victim asked for erasure while their cluster was open. Servers do this every 10
    /// minutes; the command runs it now.
    Run {
        /// List the reports that would be erased, and erase nothing.
        #[arg(long)]
        dry_run: bool,
        #[command(flatten)]
        retention: RetentionArgs,
        #[command(flatten)]
        database: DatabaseArgs,
        #[command(flatten)]
        audit_key: AuditKeyArgs,
    },
}

/// A new user or key.
#[derive(clap::Args)]
struct NewCaller {
    /// 1 to 64 of a-z, 0-9, '.', '_', '-' (a person's sign-in name, or a system's, e.g. frontend-eu).
    #[arg(long)]
    name: String,
    /// Users: investigator, supervisor, liaison or admin. Keys: intake (victim-support frontends)
    /// or liaison (police systems).
    #[arg(long)]
    role: String,
    /// The agency of a liaison (the clusters referred to it are the ones it reads).
    #[arg(long)]
    agency: Option<String>,
    #[command(flatten)]
    database: DatabaseArgs,
    #[command(flatten)]
    audit_key: AuditKeyArgs,
}

/// The key of the audit chain.
#[derive(clap::Args)]
struct AuditKeyArgs {
    /// File holding the audit key that chains the audit trail (created on first use). Keep it, and
    /// its backups, apart from the database's; servers and commands on one database share it.
    #[arg(long, default_value = "scamtrail.audit-key", env = "SCAMTRAIL_AUDIT_KEY_FILE")]
    audit_key_file: PathBuf,
}

/// The keys that seal victims' personal data.
#[derive(clap::Args)]
struct DataKeyArgs {
    /// File holding the data keys that seal victims' personal data (created 0600 on first start).
    /// Back it up apart from the database's backups: without it no victim's data can be read.
    /// Servers and commands on one database share it.
    #[arg(long, default_value = "scamtrail.data-key", env = "SCAMTRAIL_DATA_KEY_FILE")]
    data_key_file: PathBuf,
}

#[derive(Subcommand)]
enum ReportCommand {
    /// Erases the victim's name, e-mail, phone and vulnerability note and the narrative (with
    /// added details) of one report, keeping its identifiers, payments, dates, category and
    /// country. Refused while the report's cluster is not closed (a legal hold). Audited.
    Erase {
        /// The report's id.
        #[arg(long)]
        id: i64,
        #[command(flatten)]
        database: DatabaseArgs,
        #[command(flatten)]
        audit_key: AuditKeyArgs,
    },
}

#[derive(Subcommand)]
enum DataKeyCommand {
    /// Adds a data key version to the file and seals every victim's personal data under it, in
    /// batches, beside running servers (they take the new key within 10 seconds). Stopped
    /// anywhere, every value stays readable: `data-key rotate --resume` finishes the work.
    Rotate {
        /// Seal what an interrupted rotation left under older keys, without adding a key.
        #[arg(long)]
        resume: bool,
        /// Stop after sealing this many rows (a rotation in several sittings).
        #[arg(long)]
        limit: Option<u64>,
        #[command(flatten)]
        database: DatabaseArgs,
        #[command(flatten)]
        data_key: DataKeyArgs,
        #[command(flatten)]
        audit_key: AuditKeyArgs,
    },
}

#[derive(Subcommand)]
enum UserCommand {
    /// Creates a user. The password is read from the terminal without echo, or from the first
    /// line of stdin when stdin is not a terminal; never from the command line.
    Create(NewCaller),
    /// Disables a user and ends its sessions.
    Disable {
        /// Sign-in name.
        #[arg(long)]
        name: String,
        #[command(flatten)]
        database: DatabaseArgs,
        #[command(flatten)]
        audit_key: AuditKeyArgs,
    },
}

#[derive(Subcommand)]
enum KeyCommand {
    /// Creates an API key and prints it on stdout, once: it is stored only as a hash.
    Create {
        #[command(flatten)]
        caller: NewCaller,
        /// A browser origin the key may be used from (an intake key carried by a public page, e.g.
        /// https://report.example.org); repeat for several. A bound key is refused from any other
        /// origin and from calls without one.
        #[arg(long = "origin", value_name = "ORIGIN")]
        origins: Vec<String>,
    },
    /// Revokes a key (servers stop accepting it within 10 seconds).
    Revoke {
        /// The key's name.
        #[arg(long)]
        name: String,
        #[command(flatten)]
        database: DatabaseArgs,
        #[command(flatten)]
        audit_key: AuditKeyArgs,
    },
    /// Lists keys: name, role, agency, created, revoked, last used.
    List {
        #[command(flatten)]
        database: DatabaseArgs,
        #[command(flatten)]
        audit_key: AuditKeyArgs,
    },
}

#[derive(Subcommand)]
enum AuditCommand {
    /// Recomputes the audit trail's chain under the audit key (the file must exist); exits 1 naming
    /// the first event that does not chain. Prints a signed checkpoint of the newest event
    /// (`checkpoint SEQUENCE HASH MAC`): keep it elsewhere, and pass it later as --checkpoint.
    Verify {
        /// A checkpoint line printed earlier (repeat for several): its MAC must be the audit key's,
        /// and the trail must still hold that event with that hash (rows removed from the end, or a
        /// rewritten trail, fail this).
        #[arg(long = "checkpoint")]
        checkpoints: Vec<String>,
        #[command(flatten)]
        database: DatabaseArgs,
        #[command(flatten)]
        audit_key: AuditKeyArgs,
    },
}

/// Authentication, abuse limits and timeouts.
#[derive(clap::Args)]
struct GuardArgs {
    /// Intake calls (submit, preview, follow-up) per second per API key; 0 for no limit.
    #[arg(long, default_value_t = 200, env = "SCAMTRAIL_INTAKE_RATE_PER_KEY")]
    intake_rate_per_key: u32,
    /// Intake calls per second per peer address; 0 for no limit.
    #[arg(long, default_value_t = 50, env = "SCAMTRAIL_INTAKE_RATE_PER_PEER")]
    intake_rate_per_peer: u32,
    /// Sign-in attempts per second per peer address; 0 for no limit.
    #[arg(long, default_value_t = 5, env = "SCAMTRAIL_LOGIN_RATE_PER_PEER")]
    login_rate_per_peer: u32,
    /// A reverse proxy (CIDR, or one address) whose forwarding header names the client; repeat
    /// the flag, or separate several with commas. Calls from other peers are limited and audited
    /// by their own address, whatever headers they send.
    #[arg(
        long = "trusted-proxy",
        value_name = "CIDR",
        env = "SCAMTRAIL_TRUSTED_PROXIES",
        value_delimiter = ',',
        value_parser = network
    )]
    trusted_proxies: Vec<ipnet::IpNet>,
    /// The header the trusted proxies write the client into (only that one is read).
    #[arg(long, value_enum, default_value = "x-forwarded-for", env = "SCAMTRAIL_FORWARDED_HEADER")]
    forwarded_header: ForwardedHeaderArg,
    /// Calls in progress at most; further calls are answered UNAVAILABLE at once.
    #[arg(long, default_value_t = 1024, env = "SCAMTRAIL_MAX_CONCURRENT_CALLS")]
    max_concurrent_calls: usize,
    /// Concurrent calls per HTTP/2 connection at most.
    #[arg(long, default_value_t = 128, env = "SCAMTRAIL_MAX_STREAMS_PER_CONNECTION")]
    max_streams_per_connection: u32,
    /// Milliseconds a call may take before it is answered DEADLINE_EXCEEDED (a shorter
    /// grpc-timeout from the client wins). Streams count only until they start.
    #[arg(long, default_value_t = 30_000, env = "SCAMTRAIL_CALL_TIMEOUT_MS")]
    call_timeout_ms: u64,
    /// Hours a signed-in session lasts.
    #[arg(long, default_value_t = 12, env = "SCAMTRAIL_SESSION_HOURS")]
    session_hours: u64,
}

/// The forwarding headers a trusted proxy may write.
#[derive(Clone, Copy, ValueEnum)]
enum ForwardedHeaderArg {
    /// `X-Forwarded-For: client, proxy, ...`.
    XForwardedFor,
    /// RFC 7239 `Forwarded: for=client, for=proxy, ...`.
    Forwarded,
}

/// A network in CIDR notation, or one address (its own network).
fn network(text: &str) -> Result<ipnet::IpNet, String> {
    let text = text.trim();
    text.parse::<ipnet::IpNet>()
        .or_else(|_| text.parse::<std::net::IpAddr>().map(ipnet::IpNet::from))
        .map_err(|_| format!("{text:?} is not an address or a network such as 10.0.0.0/8 or 2001:db8::/32"))
}

impl GuardArgs {
    fn config(&self) -> anyhow::Result<scamtrail_server::auth::GuardConfig> {
        use scamtrail_server::auth::peer::{ForwardedHeader, TrustedProxies};
        use scamtrail_server::auth::throttle::Rate;
        anyhow::ensure!(self.call_timeout_ms >= 1, "--call-timeout-ms must be at least 1");
        anyhow::ensure!((1..=24 * 30).contains(&self.session_hours), "--session-hours: 1 to 720");
        if let Some(everyone) = self.trusted_proxies.iter().find(|n| n.prefix_len() == 0) {
            tracing::warn!(network = %everyone, "--trusted-proxy trusts every address: any caller can choose the address it is limited and audited by");
        }
        let header = match self.forwarded_header {
            ForwardedHeaderArg::XForwardedFor => ForwardedHeader::XForwardedFor,
            ForwardedHeaderArg::Forwarded => ForwardedHeader::Forwarded,
        };
        let rate = |per_second: u32| Rate { per_second, burst: per_second.saturating_mul(2) };
        Ok(scamtrail_server::auth::GuardConfig {
            intake_per_key: rate(self.intake_rate_per_key),
            intake_per_peer: rate(self.intake_rate_per_peer),
            login_per_peer: rate(self.login_rate_per_peer),
            trusted_proxies: TrustedProxies::new(self.trusted_proxies.clone(), header),
            max_concurrent_calls: self.max_concurrent_calls.max(1),
            call_timeout: Duration::from_millis(self.call_timeout_ms),
            session_ttl: Duration::from_secs(self.session_hours * 3_600),
        })
    }
}

/// Optional TLS.
#[derive(clap::Args)]
struct TlsArgs {
    /// PEM certificate chain; with --tls-key, the server speaks TLS only.
    #[arg(long, env = "SCAMTRAIL_TLS_CERT", requires = "tls_key")]
    tls_cert: Option<PathBuf>,
    /// PEM private key of --tls-cert.
    #[arg(long, env = "SCAMTRAIL_TLS_KEY", requires = "tls_cert")]
    tls_key: Option<PathBuf>,
    /// PEM CA certificate; with it, clients must present a certificate it signed (mTLS).
    #[arg(long, env = "SCAMTRAIL_CLIENT_CA", requires = "tls_cert")]
    client_ca: Option<PathBuf>,
}

/// How clusters are valued and when an identifier is hot.
#[derive(clap::Args)]
struct ClusterArgs {
    /// Reports at which an identifier is hot (listed in the hot-identifiers queue; it keeps linking).
    #[arg(long, default_value_t = 25, env = "SCAMTRAIL_HOT_THRESHOLD")]
    hot_threshold: i64,
    /// Hours after a bank, instant or card payment during which a recall may still succeed.
    #[arg(long, default_value_t = 72, env = "SCAMTRAIL_RECALL_WINDOW_HOURS")]
    recall_window_hours: i64,
    /// Exchange rates into the reference currency, as JSON: {"reference": "EUR", "rates": {"GBP": 1.17}}.
    /// Without it, built-in indicative rates into EUR are used.
    #[arg(long, env = "SCAMTRAIL_RATES_FILE")]
    rates_file: Option<PathBuf>,
    /// Priority weights, as a JSON object naming any of: recoverable_base, recoverable_per_decade,
    /// ongoing_contact, vulnerable_per_victim, vulnerable_max, total_loss_per_decade,
    /// victims_per_doubling, velocity_per_report, velocity_max, actionable_per_identifier,
    /// actionable_max, velocity_window_seconds (the others keep their defaults).
    #[arg(long, env = "SCAMTRAIL_PRIORITY_WEIGHTS_FILE")]
    priority_weights_file: Option<PathBuf>,
    /// Bridge rule: reports a group needs to stand on its own evidence (see ARCHITECTURE.md, Bridges).
    #[arg(long, default_value_t = 2, env = "SCAMTRAIL_BRIDGE_MIN_GROUP_REPORTS")]
    bridge_min_group_reports: usize,
    /// Bridge rule: the most groups a bridge named in strong roles may join and keep linking (marked);
    /// one that joins more is held.
    #[arg(long, default_value_t = 3, env = "SCAMTRAIL_BRIDGE_MAX_MARKED_GROUPS")]
    bridge_max_marked_groups: usize,
    /// Bridge rule: the share of a bridge's reports (percent) that must name it as a payment's
    /// beneficiary or the caller's number for it to keep linking.
    #[arg(long, default_value_t = 50, env = "SCAMTRAIL_BRIDGE_STRONG_SHARE_PERCENT")]
    bridge_strong_share_percent: usize,
    /// Bridge rule: evidence identifiers with at most this many reports are followed one step further.
    #[arg(long, default_value_t = 100, env = "SCAMTRAIL_BRIDGE_EXPAND_MAX_REPORTS")]
    bridge_expand_max_reports: usize,
}

impl ClusterArgs {
    fn config(&self) -> anyhow::Result<ClusterConfig> {
        anyhow::ensure!(self.hot_threshold >= 2, "--hot-threshold must be at least 2");
        anyhow::ensure!((1..=24 * 365).contains(&self.recall_window_hours), "--recall-window-hours: 1 to 8760");
        let read = |path: &PathBuf, what: &str| {
            std::fs::read_to_string(path).map_err(|e| anyhow::anyhow!("cannot read {what} {}: {e}", path.display()))
        };
        let rates = match &self.rates_file {
            None => RateTable::builtin(),
            Some(path) => RateTable::from_json(&read(path, "rates file")?)
                .map_err(|e| anyhow::anyhow!("rates file {}: {e}", path.display()))?,
        };
        let mut weights = match &self.priority_weights_file {
            None => PriorityWeights::default(),
            Some(path) => PriorityWeights::from_json(&read(path, "priority weights file")?)
                .map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))?,
        };
        // The recall window has a flag of its own, the one setting operators change most.
        weights.recall_window_seconds = self.recall_window_hours * 3_600;
        anyhow::ensure!((1..=1_000).contains(&self.bridge_min_group_reports), "--bridge-min-group-reports: 1 to 1000");
        anyhow::ensure!((1..=1_000).contains(&self.bridge_max_marked_groups), "--bridge-max-marked-groups: 1 to 1000");
        anyhow::ensure!(self.bridge_strong_share_percent <= 100, "--bridge-strong-share-percent: 0 to 100");
        anyhow::ensure!(
            (1..=10_000).contains(&self.bridge_expand_max_reports),
            "--bridge-expand-max-reports: 1 to 10000"
        );
        let bridges = BridgeConfig {
            min_group_reports: self.bridge_min_group_reports,
            max_marked_groups: self.bridge_max_marked_groups,
            strong_share_percent: self.bridge_strong_share_percent,
            expand_max_reports: self.bridge_expand_max_reports,
        };
        Ok(ClusterConfig { rates, weights, hot_threshold: self.hot_threshold, bridges })
    }
}

#[derive(clap::Args)]
struct DatabaseArgs {
    /// Database URL: `sqlite://path.db` (created if missing) or `postgres://user:pass@host:port/db`.
    #[arg(long, default_value = "sqlite://scamtrail.db", env = "SCAMTRAIL_DATABASE_URL")]
    database_url: String,
}

/// The allocator: a server answer is built of many small allocations (rows, strings, protobuf
/// messages) made on one thread and freed on another; mimalloc's per-thread free lists serve that
/// pattern with less locking and copying than the system allocator (BENCHMARKS.md). It is built
/// without transparent huge pages, which made its memory resident in 2 MiB steps (the intake
/// benchmark peaked at 260 MiB with them, 138 MiB without, at the same rate).
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> anyhow::Result<()> {
    let cli = parse_command_line()?;
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build()?;
    let otlp_endpoint = match &cli.command {
        Command::Serve(args) => args.otlp_endpoint.clone(),
        _ => None,
    };
    let tracer = {
        // The exporter's channel belongs to this runtime.
        let _runtime = runtime.enter();
        otlp_endpoint.as_deref().map(scamtrail_server::telemetry::tracer_provider).transpose()?
    };
    init_logging(cli.log_format, tracer.as_ref());
    let result = run(cli, &runtime);
    if let Some(tracer) = tracer {
        // Sends the last spans; the exporter blocks, so not on a runtime thread.
        let flushed = runtime.block_on(runtime.spawn_blocking(move || tracer.shutdown()));
        if let Ok(Err(e)) = flushed {
            eprintln!("traces: the last spans could not be sent: {e}");
        }
    }
    result
}

fn run(cli: Cli, runtime: &tokio::runtime::Runtime) -> anyhow::Result<()> {
    match cli.command {
        Command::Serve(args) => {
            let config = serve_config(*args)?;
            runtime.block_on(serve(config, shutdown_signal()))
        }
        Command::Config { command: ConfigCommand::Check(args) } => {
            let config = serve_config(*args)?;
            check_files(&config)?;
            println!("listen = {}", config.listen);
            println!("database = {}", scamtrail_server::redact_url(&config.store.database_url));
            println!("tls = {}", config.tls.is_some());
            println!("metrics = {}", config.metrics_listen.map_or("off".to_owned(), |a| a.to_string()));
            println!("cors-origins = {:?}", config.cors_origins);
            println!("retention-months = {}", config.retention_months);
            println!("configuration OK");
            Ok(())
        }
        Command::User { command } => runtime.block_on(admin::user(command)),
        Command::Key { command } => runtime.block_on(admin::key(command)),
        Command::Audit { command: AuditCommand::Verify { checkpoints, database, audit_key } } => {
            runtime.block_on(admin::verify(database, audit_key, checkpoints))
        }
        Command::DataKey { command: DataKeyCommand::Rotate { resume, limit, database, data_key, audit_key } } => {
            runtime.block_on(rotate_data_keys(database, audit_key, data_key.data_key_file, resume, limit))
        }
        Command::Retention { command: RetentionCommand::Run { dry_run, retention, database, audit_key } } => {
            runtime.block_on(admin::retention(database, audit_key, retention.retention_months, dry_run))
        }
        Command::Report { command: ReportCommand::Erase { id, database, audit_key } } => {
            runtime.block_on(erase_report(database, audit_key, id))
        }
        Command::Recluster { database, clusters } => {
            let mut config = StoreConfig::new(database.database_url);
            config.clusters = clusters.config()?;
            runtime.block_on(recluster(&config))
        }
        Command::Backup { database, to, card_key_file, audit_key, data_key } => {
            let config = StoreConfig::new(database.database_url);
            let size = runtime.block_on(Store::backup(&config, &to))?;
            let beside = |suffix: &str| {
                let mut name = to.clone().into_os_string();
                name.push(suffix);
                PathBuf::from(name)
            };
            copy_private(&card_key_file, &beside(".card-key"))?;
            copy_private(&audit_key.audit_key_file, &beside(".audit-key"))?;
            copy_private(&data_key.data_key_file, &beside(".data-key"))?;
            println!(
                "backed up to {} ({size} bytes), with {}, {} and {}",
                to.display(),
                beside(".card-key").display(),
                beside(".audit-key").display(),
                beside(".data-key").display()
            );
            Ok(())
        }
        Command::Restore { from, database, card_key_file, audit_key, data_key } => {
            let beside = |suffix: &str| {
                let mut name = from.clone().into_os_string();
                name.push(suffix);
                PathBuf::from(name)
            };
            let target = database.database_url.strip_prefix("sqlite://").map(PathBuf::from).ok_or_else(|| {
                anyhow::anyhow!("--database-url: restore puts a SQLite file in place (sqlite://PATH)")
            })?;
            copy_private(&beside(".card-key"), &card_key_file)?;
            copy_private(&beside(".audit-key"), &audit_key.audit_key_file)?;
            copy_private(&beside(".data-key"), &data_key.data_key_file)?;
            copy_private(&from, &target)?;
            println!("restored {} into {}; start the server on it", from.display(), target.display());
            Ok(())
        }
        Command::Migrate { database } => {
            runtime.block_on(Store::migrate(&StoreConfig::new(database.database_url)))?;
            tracing::info!("migrations applied");
            Ok(())
        }
        Command::Normalize { country, kind, card_key_file, shared_hosts_file } => {
            normalize(country, kind, card_key_file, shared_hosts_file)
        }
        Command::Export { command } => runtime.block_on(scamtrail_server::export::client::run(command)),
    }
}

/// Runs `scamtrail data-key rotate`: a new version in the key file (unless resuming), then every
/// value sealed under it, with a progress bar per stage on stderr.
async fn rotate_data_keys(
    database: DatabaseArgs,
    audit_key: AuditKeyArgs,
    path: PathBuf,
    resume: bool,
    limit: Option<u64>,
) -> anyhow::Result<()> {
    let next = scamtrail_server::key_file::existing_data_keys(&path)?.current() + u32::from(!resume);
    // The intent first: no value is sealed under a key the trail does not know of.
    admin::record(&database, &audit_key, "scamtrail data-key rotate", format!("data-key:{next}")).await?;
    if !resume {
        let version = scamtrail_server::key_file::add_data_key(&path)?;
        tracing::info!(version, "data key version added");
    }
    let keys = scamtrail_server::key_file::existing_data_keys(&path)?;
    let version = keys.current();
    let config =
        StoreConfig::new(database.database_url.clone()).with_data_keys(scamtrail_store::KeySource::fixed(keys));
    let mut bars = scamtrail_server::progress::StageBars::default();
    let summary =
        Store::reseal_personal_data(&config, limit, &mut |stage, done, total| bars.update(stage, done, total)).await?;
    bars.finish();
    tracing::info!(
        version,
        narratives = summary.narratives,
        victims = summary.victims,
        notes = summary.notes,
        remaining = summary.remaining,
        "personal data sealed under the newest data key"
    );
    if summary.remaining > 0 {
        println!("{} rows left under older keys: run `scamtrail data-key rotate --resume`", summary.remaining);
    } else {
        println!("every value is sealed under data key version {version}");
    }
    Ok(())
}

/// Runs `scamtrail report erase`: the request in the audit trail first, then the erasure, or the
/// legal hold that stops it (exit 1).
async fn erase_report(database: DatabaseArgs, audit_key: AuditKeyArgs, id: i64) -> anyhow::Result<()> {
    admin::record(&database, &audit_key, "scamtrail report erase", format!("report:{id}")).await?;
    match Store::erase_personal_data(&StoreConfig::new(database.database_url.clone()), id).await? {
        scamtrail_store::Erasure::Erased => {
            println!("report {id}: personal data and free text erased");
            Ok(())
        }
        scamtrail_store::Erasure::Held { status } => anyhow::bail!(
            "report {id}: its cluster is {status}, a legal hold: nothing erased; erase it once the cluster is closed"
        ),
    }
}

/// Runs `scamtrail recluster` with a progress bar per stage on stderr.
async fn recluster(config: &StoreConfig) -> anyhow::Result<()> {
    let started = std::time::Instant::now();
    let mut bars = scamtrail_server::progress::StageBars::default();
    let summary = Store::recluster(config, &mut |stage, done, total| bars.update(stage, done, total)).await?;
    bars.finish();
    tracing::info!(
        reports = summary.reports,
        links = summary.links,
        clusters = summary.clusters,
        moved_reports = summary.moved_reports,
        seconds = started.elapsed().as_secs_f64(),
        "recluster done"
    );
    Ok(())
}

fn normalize(
    country: Option<String>,
    kind: Option<String>,
    card_key_file: PathBuf,
    shared_hosts_file: Option<PathBuf>,
) -> anyhow::Result<()> {
    let country = match country {
        None => None,
        Some(c) => {
            Some(Country::parse(&c).ok_or_else(|| anyhow::anyhow!("--country {c:?}: not an ISO 3166-1 alpha-2 code"))?)
        }
    };
    let kind = match kind {
        None => None,
        Some(k) => Some(k.parse::<KindHint>().map_err(|_| anyhow::anyhow!("--kind {k:?}: not a known kind"))?),
    };
    let card_mac_key = scamtrail_server::key_file::card_key(&card_key_file)?;
    let normalizer = Normalizer::new(NormalizerConfig { card_mac_key })
        .with_shared_hosts(scamtrail_server::shared_hosts::load(shared_hosts_file.as_deref())?);
    let hint = Hint { kind, country };
    let stdout = std::io::stdout();
    let mut out = std::io::BufWriter::new(stdout.lock());
    for line in std::io::stdin().lock().lines() {
        let line = line?;
        let input = line.trim_end_matches('\r');
        let reading = normalizer.read(input, &hint);
        // The field's identifier at the top level, as for one value; the others the field held
        // (each with its own outcome) in "others".
        let mut json = value_json(input, &reading.first);
        json["others"] = reading.others.iter().map(|other| value_json(&other.text, other)).collect();
        serde_json::to_writer(&mut out, &json)?;
        out.write_all(b"\n")?;
    }
    out.flush()?;
    Ok(())
}

/// Copies `from` to `to`, a new file readable by its owner only.
fn copy_private(from: &std::path::Path, to: &std::path::Path) -> anyhow::Result<()> {
    use std::os::unix::fs::OpenOptionsExt;
    let mut source = std::fs::File::open(from).map_err(|e| anyhow::anyhow!("cannot read {}: {e}", from.display()))?;
    let mut target = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(to)
        .map_err(|e| anyhow::anyhow!("cannot create {} (it must not exist yet): {e}", to.display()))?;
    std::io::copy(&mut source, &mut target)?;
    target.sync_all()?;
    Ok(())
}

/// The command line, with `serve --config FILE`'s settings in front of the flags typed.
fn parse_command_line() -> anyhow::Result<Cli> {
    let typed: Vec<std::ffi::OsString> = std::env::args_os().collect();
    let first = Cli::parse_from(&typed);
    let (config, subcommand) = match &first.command {
        Command::Serve(args) => (args.config.clone(), "serve"),
        Command::Config { command: ConfigCommand::Check(args) } => (args.config.clone(), "check"),
        _ => return Ok(first),
    };
    let Some(config) = config else { return Ok(first) };
    let cli = <Cli as clap::CommandFactory>::command();
    let serve = cli.find_subcommand("serve").ok_or_else(|| anyhow::anyhow!("no serve command"))?;
    let from_file = config_file::arguments(&config, serve, |name| std::env::var_os(name).is_some())?;
    let at = typed.iter().position(|a| a == subcommand).map_or(typed.len(), |i| i + 1);
    let mut args = typed[..at].to_vec();
    args.extend(from_file);
    args.extend_from_slice(&typed[at..]);
    Ok(Cli::parse_from(args))
}

/// `serve`'s settings as the server takes them.
fn serve_config(args: ServeArgs) -> anyhow::Result<ServeConfig> {
    let ServeArgs {
        config: _,
        listen,
        database,
        cors_origins,
        card_key_file,
        audit_key,
        data_key,
        allow_plaintext,
        metrics_listen,
        otlp_endpoint,
        shutdown_grace_seconds,
        clusters,
        safelist_file,
        shared_hosts_file,
        tag_vocabulary_file,
        rescore_interval_seconds,
        guard,
        tls,
        web_dir,
        retention,
    } = args;
    let mut store = StoreConfig::new(database.database_url);
    store.clusters = clusters.config()?;
    store.rescore_interval = Duration::from_secs(rescore_interval_seconds.max(1));
    Ok(ServeConfig {
        listen,
        store,
        cors_origins: cors_origins.into_iter().filter(|o| !o.is_empty()).collect(),
        card_key_file,
        audit_key_file: audit_key.audit_key_file,
        data_key_file: data_key.data_key_file,
        allow_plaintext,
        metrics_listen,
        trace_calls: otlp_endpoint.is_some(),
        shutdown_grace: Duration::from_secs(shutdown_grace_seconds),
        safelist_file,
        shared_hosts_file,
        tag_vocabulary_file,
        guard: guard.config()?,
        max_streams_per_connection: guard.max_streams_per_connection.max(1),
        tls: match (tls.tls_cert, tls.tls_key) {
            (Some(cert), Some(key)) => Some(TlsFiles { cert, key, client_ca: tls.client_ca }),
            _ => None,
        },
        web_dir,
        retention_months: retention.retention_months,
    })
}

/// The files a configuration names can be read (the key files may not exist yet: serve creates them).
fn check_files(config: &ServeConfig) -> anyhow::Result<()> {
    let mut files: Vec<(&str, &std::path::Path)> = vec![];
    if let Some(tls) = &config.tls {
        files.push(("tls-cert", &tls.cert));
        files.push(("tls-key", &tls.key));
        if let Some(ca) = &tls.client_ca {
            files.push(("client-ca", ca));
        }
    }
    if let Some(safelist) = &config.safelist_file {
        files.push(("safelist-file", safelist));
    }
    let page = config.web_dir.as_ref().map(|dir| dir.join("index.html"));
    if let Some(page) = &page {
        files.push(("web-dir", page));
    }
    for (setting, path) in files {
        std::fs::File::open(path).map_err(|e| anyhow::anyhow!("{setting}: cannot read {}: {e}", path.display()))?;
    }
    scamtrail_server::check_listen(config)?;
    Ok(())
}

/// One value read from a line, as `scamtrail normalize` prints it.
fn value_json(input: &str, value: &ReadValue) -> serde_json::Value {
    let ignored: Vec<serde_json::Value> =
        value.ignored.iter().map(|i| serde_json::json!({ "part": i.part.as_str(), "text": i.text })).collect();
    match &value.outcome {
        Ok(id) => serde_json::json!({
            "input": input,
            "ok": true,
            "key": id.key,
            "kind": id.kind.as_str(),
            "display": id.display,
            "facts": {
                "country": id.facts.country.map(|c| c.as_str()),
                "bank_code": id.facts.bank_code,
                "phone_type": id.facts.phone_type.map(|t| t.as_str()),
                "chain": id.facts.chain,
                "checksum_verified": id.facts.checksum_verified,
                "extension": id.facts.extension,
                "messaging_app": id.facts.messaging_app,
                "iban_registry": (id.kind == scamtrail_normalize::Kind::Iban)
                    .then(|| id.value())
                    .and_then(scamtrail_normalize::iban_registry)
                    .map(|r| r.to_string()),
            },
            "ignored": ignored,
        }),
        Err(r) => serde_json::json!({
            "input": input,
            "ok": false,
            "reason": r.code.as_str(),
            "message": r.message,
            "candidates": r.candidates.iter().map(|k| k.as_str()).collect::<Vec<_>>(),
            "ignored": ignored,
        }),
    }
}

fn init_logging(format: LogFormat, tracer: Option<&opentelemetry_sdk::trace::SdkTracerProvider>) {
    use opentelemetry::trace::TracerProvider as _;
    use tracing_subscriber::layer::SubscriberExt as _;
    use tracing_subscriber::util::SubscriberInitExt as _;
    use tracing_subscriber::{Layer as _, filter};
    let filter = tracing_subscriber::EnvFilter::try_from_env("SCAMTRAIL_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let fmt = tracing_subscriber::fmt::layer().with_writer(std::io::stderr);
    let fmt = match format {
        LogFormat::Text => fmt.boxed(),
        LogFormat::Json => fmt.json().boxed(),
    };
    // Only the calls' spans and scamtrail's own events within them leave for the collector.
    let traces = tracer.map(|provider| {
        tracing_opentelemetry::layer().with_tracer(provider.tracer("scamtrail")).with_filter(filter::filter_fn(|m| {
            m.target() == "scamtrail::call" || (m.is_event() && m.target().starts_with("scamtrail"))
        }))
    });
    tracing_subscriber::registry().with(filter).with(fmt).with(traces).init();
}

async fn shutdown_signal() {
    let interrupt = tokio::signal::ctrl_c();
    #[cfg(unix)]
    {
        let mut terminate = match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(s) => s,
            Err(e) => {
                tracing::error!(error = %e, "cannot listen for SIGTERM; only SIGINT stops the server");
                let _ = interrupt.await;
                return;
            }
        };
        tokio::select! {
            _ = interrupt => {}
            _ = terminate.recv() => {}
        }
    }
    #[cfg(not(unix))]
    let _ = interrupt.await;
}
