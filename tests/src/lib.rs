//! Test harness for end-to-end tests: runs the real `scamtrail` binary on 127.0.0.1 against a
//! real database (a fresh SQLite file, or a fresh database in the PostgreSQL server that
//! `make test` starts), and hands out real gRPC clients.
//!
//! The binary is `SCAMTRAIL_BIN` or `target/debug/scamtrail` (`make test` builds it first); the
//! PostgreSQL server is `SCAMTRAIL_TEST_POSTGRES_URL` (`scripts/pg-test-server`).

use std::net::TcpListener;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context, bail};

pub use scamtrail_load::scenario::{self, id, now_seconds, ts};
use scamtrail_proto::v1 as pb;
use scamtrail_proto::v1::intake_service_client::IntakeServiceClient;
use scamtrail_proto::v1::lookup_service_client::LookupServiceClient;
use scamtrail_proto::v1::triage_service_client::TriageServiceClient;
use tonic::service::interceptor::InterceptedService;
use tonic::transport::Channel;

pub use scamtrail_load::{Authed, Bearer};
/// A triage client calling as a signed-in user.
pub type ActorClient = TriageServiceClient<Authed>;

/// The password of every user the harness creates.
pub const TEST_PASSWORD: &str = "Harness-pass-2026!";
/// The agency of the harness's liaison key.
pub const TEST_AGENCY: &str = "Test Police";

/// Which database a test server uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    /// A SQLite file in a temp dir (the embedded default).
    Sqlite,
    /// A fresh database in the test PostgreSQL server.
    Postgres,
}

/// Both backends: every storage-touching test runs on each.
pub const BACKENDS: [Backend; 2] = [Backend::Sqlite, Backend::Postgres];

/// The `scamtrail` binary under test.
pub fn binary() -> PathBuf {
    std::env::var_os("SCAMTRAIL_BIN")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../target/debug/scamtrail"))
}

fn postgres_server_url() -> anyhow::Result<String> {
    std::env::var("SCAMTRAIL_TEST_POSTGRES_URL")
        .context("SCAMTRAIL_TEST_POSTGRES_URL is not set: run the tests with `make test`, which starts PostgreSQL")
}

fn psql(url: &str, sql: &str) -> anyhow::Result<()> {
    let out = Command::new("psql").args([url, "-v", "ON_ERROR_STOP=1", "-q", "-c", sql]).output()?;
    if !out.status.success() {
        bail!("psql {sql}: {}", String::from_utf8_lossy(&out.stderr));
    }
    Ok(())
}

fn free_port() -> anyhow::Result<u16> {
    Ok(TcpListener::bind("127.0.0.1:0")?.local_addr()?.port())
}

/// A running `scamtrail serve` with its own database, stopped and cleaned up on drop.
pub struct TestServer {
    child: Option<Child>,
    /// `127.0.0.1:PORT`.
    pub addr: String,
    /// The database URL it uses.
    pub database_url: String,
    dir: tempfile::TempDir,
    extra_args: Vec<String>,
    pg_database: Option<(String, String)>,
    tokens: std::sync::Mutex<std::collections::HashMap<String, String>>,
    log_filter: String,
}

impl TestServer {
    /// Starts a server on a fresh database of `backend`.
    pub async fn start(backend: Backend) -> anyhow::Result<Self> {
        Self::start_with(backend, &[]).await
    }

    /// Starts a server with extra `serve` arguments.
    pub async fn start_with(backend: Backend, extra: &[&str]) -> anyhow::Result<Self> {
        Self::start_logging(backend, extra, "info").await
    }

    /// Starts a server with extra `serve` arguments and a log filter (`SCAMTRAIL_LOG`).
    pub async fn start_logging(backend: Backend, extra: &[&str], log_filter: &str) -> anyhow::Result<Self> {
        let dir = tempfile::tempdir()?;
        let (database_url, pg_database) = match backend {
            Backend::Sqlite => (format!("sqlite://{}", dir.path().join("scamtrail.db").display()), None),
            Backend::Postgres => {
                let server = postgres_server_url()?;
                let name = format!("st_test_{}_{}", std::process::id(), rand_suffix());
                psql(&server, &format!("CREATE DATABASE {name}"))?;
                let base = server.rsplit_once('/').map(|(b, _)| b.to_owned()).unwrap_or(server.clone());
                (format!("{base}/{name}"), Some((server, name)))
            }
        };
        let mut server = Self {
            child: None,
            addr: String::new(),
            database_url,
            dir,
            extra_args: extra.iter().map(|s| s.to_string()).collect(),
            pg_database,
            tokens: Default::default(),
            log_filter: log_filter.to_owned(),
        };
        server.launch().await?;
        Ok(server)
    }

    /// Starts a server on the database and key files already in `dir` (`card.key`, `audit.key`),
    /// e.g. a restored backup.
    pub async fn start_in(dir: tempfile::TempDir, database_url: String) -> anyhow::Result<Self> {
        let mut server = Self {
            child: None,
            addr: String::new(),
            database_url,
            dir,
            extra_args: vec![],
            pg_database: None,
            tokens: Default::default(),
            log_filter: "info".into(),
        };
        server.launch().await?;
        Ok(server)
    }

    /// Another server process on this one's database, with copies of its key files and the
    /// credentials it has made so far: a second instance. This one keeps (and drops) the database.
    pub async fn another_instance(&self) -> anyhow::Result<Self> {
        let dir = tempfile::tempdir()?;
        std::fs::copy(self.dir.path().join("card.key"), dir.path().join("card.key"))?;
        std::fs::copy(self.audit_key_file(), dir.path().join("audit.key"))?;
        // Instances on one database share its data keys, as they share the card and audit keys.
        std::fs::copy(self.data_key_file(), dir.path().join("data.key"))?;
        let mut server = Self {
            child: None,
            addr: String::new(),
            database_url: self.database_url.clone(),
            dir,
            extra_args: self.extra_args.clone(),
            pg_database: None,
            tokens: std::sync::Mutex::new(self.tokens.lock().unwrap_or_else(|e| e.into_inner()).clone()),
            log_filter: self.log_filter.clone(),
        };
        server.launch().await?;
        Ok(server)
    }

    async fn launch(&mut self) -> anyhow::Result<()> {
        let port = free_port()?;
        self.addr = format!("127.0.0.1:{port}");
        let log = std::fs::OpenOptions::new().create(true).append(true).open(self.log_path())?;
        let child = self
            .command()
            .arg("serve")
            .args(["--listen", &self.addr, "--database-url", &self.database_url])
            .arg("--card-key-file")
            .arg(self.dir.path().join("card.key"))
            .args(&self.extra_args)
            .env("SCAMTRAIL_LOG", &self.log_filter)
            // No rate limits unless a test sets them with flags (flags win over the environment).
            .env("SCAMTRAIL_INTAKE_RATE_PER_KEY", "0")
            .env("SCAMTRAIL_INTAKE_RATE_PER_PEER", "0")
            .env("SCAMTRAIL_LOGIN_RATE_PER_PEER", "0")
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .with_context(|| format!("starting {} (run `make test`, which builds it)", binary().display()))?;
        self.child = Some(child);
        self.wait_ready().await
    }

    async fn wait_ready(&mut self) -> anyhow::Result<()> {
        let deadline = Instant::now() + Duration::from_secs(60);
        // A TLS server is ready when it says it listens (the harness's channels are plaintext).
        let tls = self.extra_args.iter().any(|a| a == "--tls-cert");
        while Instant::now() < deadline {
            if let Some(status) = self.child.as_mut().and_then(|c| c.try_wait().ok().flatten()) {
                bail!("server exited with {status}; log:\n{}", self.log());
            }
            if tls {
                if self.log().contains("scamtrail listening") {
                    return Ok(());
                }
                tokio::time::sleep(Duration::from_millis(50)).await;
                continue;
            }
            if let Ok(channel) = Channel::from_shared(format!("http://{}", self.addr))?.connect().await {
                let mut health = tonic_health::pb::health_client::HealthClient::new(channel);
                let req = tonic_health::pb::HealthCheckRequest { service: String::new() };
                if health.check(req).await.is_ok() {
                    return Ok(());
                }
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        bail!("server did not become ready; log:\n{}", self.log())
    }

    fn log_path(&self) -> PathBuf {
        self.dir.path().join("server.log")
    }

    /// The server's audit key file (in its temp dir; the server creates it on first start).
    pub fn audit_key_file(&self) -> PathBuf {
        self.dir.path().join("audit.key")
    }

    /// The server's data key file (in its temp dir; the server creates it on first start).
    pub fn data_key_file(&self) -> PathBuf {
        self.dir.path().join("data.key")
    }

    /// The `scamtrail` binary with this server's audit key file, as every command on its database
    /// must have.
    pub fn command(&self) -> Command {
        let mut command = Command::new(binary());
        command.env("SCAMTRAIL_AUDIT_KEY_FILE", self.audit_key_file());
        command.env("SCAMTRAIL_DATA_KEY_FILE", self.data_key_file());
        command
    }

    /// What the server has logged so far.
    pub fn log(&self) -> String {
        std::fs::read_to_string(self.log_path()).unwrap_or_default()
    }

    /// A channel to the server.
    pub async fn channel(&self) -> Channel {
        Channel::from_shared(format!("http://{}", self.addr)).expect("valid uri").connect().await.expect("connect")
    }

    /// A channel carrying `token` (empty: no credentials).
    pub async fn authed(&self, token: &str) -> Authed {
        InterceptedService::new(self.channel().await, Bearer::new(token))
    }

    /// A connection from the local address `from` (any of 127.0.0.0/8), so that one test can
    /// call as several peers.
    pub async fn channel_from(&self, from: std::net::IpAddr) -> Channel {
        Channel::from_shared(format!("http://{}", self.addr))
            .expect("valid uri")
            .local_address(Some(from))
            .connect()
            .await
            .expect("connect")
    }

    /// A channel carrying `token` over a connection from the local address `from`.
    pub async fn authed_from(&self, from: std::net::IpAddr, token: &str) -> Authed {
        InterceptedService::new(self.channel_from(from).await, Bearer::new(token))
    }

    /// Creates an API key with the CLI and returns it.
    pub fn create_key(&self, name: &str, role: &str, agency: Option<&str>) -> anyhow::Result<String> {
        let mut args = vec!["key", "create", "--name", name, "--role", role];
        if let Some(agency) = agency {
            args.extend(["--agency", agency]);
        }
        let out = self.command().args(&args).args(["--database-url", &self.database_url]).output()?;
        if !out.status.success() {
            bail!("scamtrail {args:?} failed: {}", String::from_utf8_lossy(&out.stderr));
        }
        Ok(String::from_utf8(out.stdout)?.trim().to_owned())
    }

    /// Creates a user with the CLI, the password given on stdin.
    pub fn create_user(&self, name: &str, role: &str, agency: Option<&str>, password: &str) -> anyhow::Result<()> {
        use std::io::Write;
        let mut args = vec!["user", "create", "--name", name, "--role", role];
        if let Some(agency) = agency {
            args.extend(["--agency", agency]);
        }
        let mut child = self
            .command()
            .args(&args)
            .args(["--database-url", &self.database_url])
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()?;
        child.stdin.take().context("stdin")?.write_all(format!("{password}\n").as_bytes())?;
        let out = child.wait_with_output()?;
        if !out.status.success() {
            bail!("scamtrail {args:?} failed: {}", String::from_utf8_lossy(&out.stderr));
        }
        Ok(())
    }

    /// Signs in over gRPC and returns the session token.
    pub async fn login(&self, name: &str, password: &str) -> Result<String, tonic::Status> {
        let mut auth = pb::auth_service_client::AuthServiceClient::new(self.channel().await);
        let req = pb::LoginRequest { user_name: name.into(), password: password.into() };
        Ok(auth.login(req).await?.into_inner().token)
    }

    /// Signs in over a connection from the local address `from` (any of 127.0.0.0/8), so that
    /// a test can be several clients, each limited and throttled by its own address.
    pub async fn login_from(&self, from: &str, name: &str, password: &str) -> Result<String, tonic::Status> {
        let channel = self.channel_from(from.parse().expect("a local address")).await;
        let mut auth = pb::auth_service_client::AuthServiceClient::new(channel);
        let req = pb::LoginRequest { user_name: name.into(), password: password.into() };
        Ok(auth.login(req).await?.into_inner().token)
    }

    /// A token for `name` in `role`, made on first use: an API key for intake and liaison (a
    /// liaison of [`TEST_AGENCY`]), a signed-in user's session for the others.
    pub async fn token(&self, name: &str, role: &str) -> String {
        if let Some(token) = self.tokens.lock().unwrap().get(name) {
            return token.clone();
        }
        let token = match role {
            "intake" => self.create_key(name, role, None).expect("key"),
            "liaison" => self.create_key(name, role, Some(TEST_AGENCY)).expect("key"),
            _ => {
                self.create_user(name, role, None, TEST_PASSWORD).expect("user");
                self.login(name, TEST_PASSWORD).await.expect("login")
            }
        };
        self.tokens.lock().unwrap().insert(name.to_owned(), token.clone());
        token
    }

    /// An intake client with the harness's intake key (`key:tests-intake` in the audit trail).
    pub async fn intake(&self) -> IntakeServiceClient<Authed> {
        let token = self.token("tests-intake", "intake").await;
        IntakeServiceClient::new(self.authed(&token).await)
            .max_decoding_message_size(8 << 20)
            .max_encoding_message_size(8 << 20)
    }

    /// The server process's id, while it runs.
    pub fn pid(&self) -> Option<u32> {
        self.child.as_ref().map(Child::id)
    }

    /// A triage client signed in as the supervisor `supervisor`.
    pub async fn triage(&self) -> ActorClient {
        self.triage_as("supervisor").await
    }

    /// A triage client signed in as `name`, a supervisor (created on first use).
    pub async fn triage_as(&self, name: &str) -> ActorClient {
        let token = self.token(name, "supervisor").await;
        TriageServiceClient::new(self.authed(&token).await)
    }

    /// A lookup client with the harness's liaison key.
    pub async fn lookup(&self) -> LookupServiceClient<Authed> {
        let token = self.token("tests-liaison", "liaison").await;
        LookupServiceClient::new(self.authed(&token).await)
    }

    /// Runs `scamtrail ARGS` against this server's database (while the server runs, as an
    /// operator's commands do), returning its stderr; fails if it exits unsuccessfully.
    pub fn run_command(&self, args: &[&str]) -> anyhow::Result<String> {
        let out = self.command().args(args).args(["--database-url", &self.database_url]).output()?;
        let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
        if !out.status.success() {
            bail!("scamtrail {args:?} failed: {stderr}");
        }
        Ok(stderr)
    }

    /// Runs `scamtrail ARGS --database-url URL`, returning whether it succeeded and its stdout.
    pub fn command_output(&self, args: &[&str]) -> anyhow::Result<(bool, String)> {
        let out = self.command().args(args).args(["--database-url", &self.database_url]).output()?;
        Ok((out.status.success(), String::from_utf8_lossy(&out.stdout).into_owned()))
    }

    /// Runs one SQL statement on the server's database (sqlite3 through Python, or psql).
    pub fn sql(&self, statement: &str) -> anyhow::Result<()> {
        match self.database_url.strip_prefix("sqlite://") {
            Some(path) => {
                let script = "import sqlite3,sys; c=sqlite3.connect(sys.argv[1]); c.execute(sys.argv[2]); c.commit()";
                let out = Command::new("python3").args(["-c", script, path, statement]).output()?;
                if !out.status.success() {
                    bail!("sqlite {statement}: {}", String::from_utf8_lossy(&out.stderr));
                }
                Ok(())
            }
            None => psql(&self.database_url, statement),
        }
    }

    /// Sends SIGTERM and waits for the process to exit; returns whether it exited cleanly.
    pub fn terminate(&mut self) -> anyhow::Result<bool> {
        self.sigterm()?;
        self.wait_exit()
    }

    /// Sends SIGTERM, without waiting for the process to exit.
    pub fn sigterm(&self) -> anyhow::Result<()> {
        let pid = self.pid().context("not running")?;
        let status = Command::new("kill").args(["-TERM", &pid.to_string()]).status()?;
        anyhow::ensure!(status.success(), "kill -TERM {pid}: {status}");
        Ok(())
    }

    /// Waits for the process to exit; returns whether it exited cleanly.
    pub fn wait_exit(&mut self) -> anyhow::Result<bool> {
        let mut child = self.child.take().context("not running")?;
        Ok(child.wait()?.success())
    }

    /// Kills the process with SIGKILL, as a crash would.
    pub fn kill9(&mut self) -> anyhow::Result<()> {
        if let Some(mut child) = self.child.take() {
            child.kill()?;
            child.wait()?;
        }
        Ok(())
    }

    /// Replaces the extra `serve` arguments used from the next (re)start on.
    pub fn set_extra_args(&mut self, extra: &[&str]) {
        self.extra_args = extra.iter().map(|s| s.to_string()).collect();
    }

    /// A file in the server's temp dir, for configuration files a test writes.
    pub fn file(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    /// Starts the server again on the same database.
    pub async fn restart(&mut self) -> anyhow::Result<()> {
        self.kill9()?;
        self.launch().await
    }
}

impl Drop for TestServer {
    fn drop(&mut self) {
        let _ = self.kill9();
        if let Some((server, name)) = &self.pg_database {
            let _ = psql(server, &format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"));
        }
    }
}

fn rand_suffix() -> String {
    use std::sync::atomic::{AtomicU64, Ordering};
    static NEXT: AtomicU64 = AtomicU64::new(0);
    let nanos =
        std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.subsec_nanos()).unwrap_or(0);
    format!("{}_{}", nanos, NEXT.fetch_add(1, Ordering::Relaxed))
}

/// Decodes the `google.rpc.BadRequest` field violations of a status as (field, reason) pairs.
pub fn violations(status: &tonic::Status) -> Vec<(String, String)> {
    use tonic_types::StatusExt;
    status
        .get_details_bad_request()
        .map(|b| b.field_violations.into_iter().map(|v| (v.field, v.reason)).collect())
        .unwrap_or_default()
}

/// A bank transfer of `pence` in GBP to `account`, `seconds_ago`.
pub fn bank_transfer(account: &str, pence: i64, seconds_ago: i64) -> pb::Payment {
    pb::Payment {
        amount_minor: pence,
        currency: "GBP".into(),
        method: pb::PaymentMethod::BankTransfer as i32,
        paid_at: ts(seconds_ago),
        beneficiaries: vec![id(account, pb::IdentifierRole::BeneficiaryAccount, pb::IdentifierKind::Unspecified)],
        transaction_hash: String::new(),
        recall_requested: false,
        amount: String::new(),
    }
}

/// A realistic investment-fraud report with a payment, identifiers and victim data.
pub fn sample_report() -> pb::Report {
    pb::Report {
        category: pb::ScamCategory::Investment as i32,
        first_contact_at: ts(20 * 86_400),
        last_contact_at: ts(3_600),
        contact_channels: vec![pb::ContactChannel::PhoneCall as i32, pb::ContactChannel::Whatsapp as i32],
        narrative: "A 'broker' called me from 020 7946 0958 and showed me profits on trade-fx.co.uk.".into(),
        payments: vec![bank_transfer("GB82 WEST 1234 5698 7654 32", 250_000, 7_200)],
        identifiers: vec![
            id("+44 20 7946 0958", pb::IdentifierRole::CallerNumber, pb::IdentifierKind::Phone),
            id("hxxps://trade-fx[.]co.uk/login", pb::IdentifierRole::Website, pb::IdentifierKind::Unspecified),
            id("DE89 3704 0044 0532 0130 01", pb::IdentifierRole::Other, pb::IdentifierKind::Iban),
        ],
        victim: Some(pb::Victim {
            name: "Ada Example".into(),
            email: "ada@example.org".into(),
            phone: "07700 900123".into(),
            country: "gb".into(),
            age_band: pb::AgeBand::AgeBand70Plus as i32,
            declared_vulnerable: true,
            vulnerability_note: "recently bereaved".into(),
            consent_to_share_with_police: true,
        }),
        contact_ongoing: true,
    }
}

/// A submit request.
pub fn request(report: pb::Report, client_request_id: &str) -> pb::SubmitReportRequest {
    pb::SubmitReportRequest { report: Some(report), client_request_id: client_request_id.into() }
}

/// Every audit event of `actor`, oldest first, read by an administrator over the API.
///
/// The administrator signs in afresh each time: a sign-in's event is written before it answers,
/// and with it every event queued before (submissions' events are queued, not awaited).
pub async fn audit_events_of(server: &TestServer, actor: &str) -> Vec<pb::AuditEvent> {
    server.token("tests-auditor", "admin").await;
    let token = server.login("tests-auditor", TEST_PASSWORD).await.expect("the auditor signs in");
    let mut admin = pb::admin_service_client::AdminServiceClient::new(server.authed(&token).await);
    let mut events = Vec::new();
    let mut after = 0;
    loop {
        let req = pb::ListAuditEventsRequest { actor: actor.into(), after_sequence: after, page_size: 1_000 };
        let page = admin.list_audit_events(req).await.expect("audit events").into_inner();
        events.extend(page.events);
        if page.next_after_sequence == 0 {
            return events;
        }
        after = page.next_after_sequence;
    }
}

/// Whether a failed call lost its connection to the server (a kill, a stop) rather than being
/// answered with an error: `UNAVAILABLE`, or a status the client made from a transport error (a
/// kill mid-call gives `UNKNOWN` with a broken pipe or a reset connection underneath, from the
/// channel or from the answer's body); a status a server sends carries no source error.
pub fn connection_lost(status: &tonic::Status) -> bool {
    let mut source = std::error::Error::source(status);
    while let Some(error) = source {
        if error.is::<tonic::transport::Error>() || error.is::<hyper::Error>() || error.is::<std::io::Error>() {
            return true;
        }
        source = error.source();
    }
    status.code() == tonic::Code::Unavailable
}

/// The clusters of `reports` (ids and references as acknowledged) as `server` reads them now,
/// each a set of report ids; every report must read back with its reference.
pub async fn clusters_of(
    server: &TestServer,
    reports: &[(i64, String)],
) -> std::collections::BTreeSet<std::collections::BTreeSet<i64>> {
    let mut triage = server.triage().await;
    let mut clusters: std::collections::BTreeMap<i64, std::collections::BTreeSet<i64>> = Default::default();
    for (report_id, reference) in reports {
        let selector = Some(pb::get_report_request::Selector::ReportId(*report_id));
        let got = triage.get_report(pb::GetReportRequest { selector }).await.expect("the report is there");
        let got = got.into_inner().report.expect("a report");
        assert_eq!(&got.reference, reference, "report {report_id} is the one acknowledged");
        clusters.entry(got.cluster_id).or_default().insert(*report_id);
    }
    clusters.into_values().collect()
}
