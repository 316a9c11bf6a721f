//! `scamtrail export`: the CLI end of `ExportService`. It talks to a running server with the
//! caller's token rather than to the database, so that an export from the command line passes
//! the same role and record rules and lands in the audit trail under the same name as one made
//! over gRPC. Chunks are written to the file as they arrive (a progress bar counts the bytes).
//! A saved referral package's `case.html` can be printed to PDF here too ([`super::pdf`]).

use std::io::Write;
use std::path::{Path, PathBuf};

use anyhow::Context;
use scamtrail_proto::v1 as pb;
use tonic::transport::{Certificate, ClientTlsConfig, Endpoint};

/// Where the server is and who is calling.
#[derive(Debug, Clone, clap::Args)]
pub struct ServerArgs {
    /// The server's URL (`http://127.0.0.1:50051`, or `https://...` with TLS).
    #[arg(long, env = "SCAMTRAIL_SERVER", default_value = "http://127.0.0.1:50051")]
    pub server: String,
    /// A session token (from `Login`) or an API key.
    #[arg(long, env = "SCAMTRAIL_TOKEN", hide_env_values = true)]
    pub token: String,
    /// The CA certificate (PEM) that signed the server's, for `https://` with a private CA.
    #[arg(long, env = "SCAMTRAIL_CA_CERT")]
    pub ca_cert: Option<PathBuf>,
}

/// A format named on the command line.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    /// A STIX 2.1 bundle.
    Stix,
    /// A MISP event.
    Misp,
    /// GraphML (clusters only).
    Graphml,
    /// CSV (a zip of three files for a cluster).
    Csv,
    /// The referral package (clusters only).
    Package,
}

/// A TLP 2.0 marking named on the command line.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum)]
pub enum Marking {
    /// TLP:CLEAR.
    Clear,
    /// TLP:GREEN.
    Green,
    /// TLP:AMBER.
    Amber,
    /// TLP:AMBER+STRICT.
    #[default]
    #[value(name = "amber+strict", alias = "amber-strict")]
    AmberStrict,
    /// TLP:RED.
    Red,
}

impl Marking {
    fn options(self) -> pb::ExportOptions {
        let tlp = match self {
            Marking::Clear => pb::TlpMarking::Clear,
            Marking::Green => pb::TlpMarking::Green,
            Marking::Amber => pb::TlpMarking::Amber,
            Marking::AmberStrict => pb::TlpMarking::AmberStrict,
            Marking::Red => pb::TlpMarking::Red,
        };
        pb::ExportOptions { tlp: tlp as i32 }
    }
}

/// Which browser prints a case to PDF.
#[derive(Debug, Clone, clap::Args)]
pub struct BrowserArgs {
    /// The headless Chromium to print with; `chromium`, `chromium-browser` or `google-chrome` on
    /// PATH when absent.
    #[arg(long, env = "SCAMTRAIL_CHROMIUM")]
    pub chromium: Option<PathBuf>,
}

impl BrowserArgs {
    fn find(&self) -> anyhow::Result<PathBuf> {
        super::pdf::find_browser(self.chromium.as_deref(), std::env::var_os("PATH").as_deref())
    }
}

impl Format {
    fn wire(self) -> pb::ExportFormat {
        match self {
            Format::Stix => pb::ExportFormat::Stix,
            Format::Misp => pb::ExportFormat::Misp,
            Format::Graphml => pb::ExportFormat::Graphml,
            Format::Csv => pb::ExportFormat::Csv,
            Format::Package => pb::ExportFormat::Package,
        }
    }
}

/// What to export.
#[derive(Debug, clap::Subcommand)]
pub enum ExportCommand {
    /// One cluster: `export cluster 12 --format stix --out case.json`.
    Cluster {
        /// The cluster's id.
        id: i64,
        /// The format.
        #[arg(long, value_enum)]
        format: Format,
        /// The file to write; the server's suggested name in the current directory when absent.
        #[arg(long)]
        out: Option<PathBuf>,
        /// The TLP 2.0 marking of STIX and MISP output (and of the package's case).
        #[arg(long, value_enum, default_value_t = Marking::AmberStrict)]
        tlp: Marking,
        /// With `--format package`: also print its case.html to PDF beside it (same name, `.pdf`),
        /// with headless Chromium.
        #[arg(long)]
        pdf: bool,
        /// The browser, for `--pdf`.
        #[command(flatten)]
        browser: BrowserArgs,
        /// Where the server is and who calls.
        #[command(flatten)]
        server: ServerArgs,
    },
    /// Print the case.html of a saved referral package to PDF with headless Chromium, after
    /// checking it against the package's manifest: `export pdf cluster-12-referral.zip`.
    Pdf {
        /// The referral package (a zip from `export cluster ID --format package`).
        package: PathBuf,
        /// The PDF to write; the package's name with `.pdf` when absent.
        #[arg(long)]
        out: Option<PathBuf>,
        /// The browser.
        #[command(flatten)]
        browser: BrowserArgs,
    },
    /// The indicator feed: `export feed --since 2026-12-01T00:00:00Z --format csv`. The next
    /// cursor is printed on stderr.
    Feed {
        /// A cursor an earlier page printed, or an RFC 3339 instant; the beginning when absent.
        #[arg(long, default_value = "")]
        since: String,
        /// The format (csv, stix or misp).
        #[arg(long, value_enum)]
        format: Format,
        /// Only identifiers carried by at least this many reports.
        #[arg(long, default_value_t = 1)]
        min_reports: i64,
        /// Only identifiers of this kind (`iban`, `bank-account`, `phone`, `email`, `website`,
        /// `crypto-wallet`, ...); repeat for several; every kind when absent.
        #[arg(long = "kind", value_parser = kind_of)]
        kinds: Vec<pb::IdentifierKind>,
        /// The TLP 2.0 marking of STIX and MISP output.
        #[arg(long, value_enum, default_value_t = Marking::AmberStrict)]
        tlp: Marking,
        /// The file to write; the server's suggested name when absent.
        #[arg(long)]
        out: Option<PathBuf>,
        /// Where the server is and who calls.
        #[command(flatten)]
        server: ServerArgs,
    },
}

/// An identifier kind as the proto names it, without its prefix, in lower case (`crypto-wallet`).
fn kind_of(name: &str) -> Result<pb::IdentifierKind, String> {
    let wire = format!("IDENTIFIER_KIND_{}", name.trim().to_ascii_uppercase().replace('-', "_"));
    match pb::IdentifierKind::from_str_name(&wire) {
        Some(kind) if kind != pb::IdentifierKind::Unspecified => Ok(kind),
        _ => Err("an identifier kind: iban, bic, bank-account, phone, whatsapp, email, website, crypto-wallet, \
                  crypto-transaction, telegram, instagram, tiktok, facebook or x"
            .to_owned()),
    }
}

async fn client(
    args: &ServerArgs,
) -> anyhow::Result<pb::export_service_client::ExportServiceClient<tonic::transport::Channel>> {
    let mut endpoint = Endpoint::from_shared(args.server.clone()).context("--server")?;
    if args.server.starts_with("https://") {
        let mut tls = ClientTlsConfig::new();
        if let Some(ca) = &args.ca_cert {
            let pem = std::fs::read(ca).with_context(|| format!("--ca-cert {}", ca.display()))?;
            tls = tls.ca_certificate(Certificate::from_pem(pem));
        }
        endpoint = endpoint.tls_config(tls)?;
    }
    let channel = endpoint.connect().await.with_context(|| format!("connecting to {}", args.server))?;
    Ok(pb::export_service_client::ExportServiceClient::new(channel).max_decoding_message_size(8 << 20))
}

fn authorized<T>(message: T, token: &str) -> anyhow::Result<tonic::Request<T>> {
    let mut request = tonic::Request::new(message);
    request.metadata_mut().insert("authorization", format!("Bearer {token}").parse().context("--token")?);
    Ok(request)
}

/// Runs `scamtrail export ...`.
pub async fn run(command: ExportCommand) -> anyhow::Result<()> {
    match command {
        ExportCommand::Cluster { id, format, out, tlp, pdf, browser, server } => {
            // Known before the export starts, so that nobody waits for a package to learn it.
            let browser = match (pdf, format) {
                (false, _) => None,
                (true, Format::Package) => Some(browser.find()?),
                (true, _) => anyhow::bail!("--pdf prints a referral package's case: use it with --format package"),
            };
            let req =
                pb::ExportClusterRequest { cluster_id: id, format: format.wire() as i32, options: Some(tlp.options()) };
            let stream = client(&server).await?.export_cluster(authorized(req, &server.token)?).await?.into_inner();
            let (path, _) = save(stream, out.as_deref()).await?;
            if let Some(browser) = browser {
                print_pdf(&path, None, &browser).await?;
            }
        }
        ExportCommand::Pdf { package, out, browser } => {
            print_pdf(&package, out.as_deref(), &browser.find()?).await?;
        }
        ExportCommand::Feed { since, format, min_reports, kinds, tlp, out, server } => {
            let req = pb::ExportIdentifiersRequest {
                since,
                format: format.wire() as i32,
                min_reports,
                kinds: kinds.into_iter().map(|k| k as i32).collect(),
                options: Some(tlp.options()),
                ..Default::default()
            };
            let stream = client(&server).await?.export_identifiers(authorized(req, &server.token)?).await?.into_inner();
            let (_, cursor) = save(stream, out.as_deref()).await?;
            eprintln!("next cursor: {cursor}");
        }
    }
    Ok(())
}

/// Prints `package`'s case to `out` (the package's name with `.pdf` when absent).
async fn print_pdf(package: &Path, out: Option<&Path>, browser: &Path) -> anyhow::Result<()> {
    let out = out.map_or_else(|| package.with_extension("pdf"), Path::to_owned);
    super::pdf::render(package, &out, browser).await?;
    eprintln!("printed {} to {} with {}", package.display(), out.display(), browser.display());
    Ok(())
}

/// Writes the chunks to `out` (or the suggested name) as they arrive; answers the file's path
/// and the feed's cursor.
async fn save(mut stream: tonic::Streaming<pb::ExportChunk>, out: Option<&Path>) -> anyhow::Result<(PathBuf, String)> {
    let Some(first) = stream.message().await? else { anyhow::bail!("the server sent nothing") };
    let path = match out {
        Some(path) => path.to_owned(),
        // Only the file name of the suggestion: a server never chooses the directory.
        None => PathBuf::from(Path::new(&first.file_name).file_name().context("no file name suggested")?),
    };
    let mut file = std::io::BufWriter::new(
        std::fs::File::create(&path).with_context(|| format!("cannot create {}", path.display()))?,
    );
    let bar = indicatif::ProgressBar::new_spinner().with_style(
        indicatif::ProgressStyle::with_template("{spinner} {bytes} {binary_bytes_per_sec} {elapsed} {msg}")
            .unwrap_or_else(|_| indicatif::ProgressStyle::default_spinner()),
    );
    bar.set_message(path.display().to_string());
    let mut cursor = first.next_cursor.clone();
    file.write_all(&first.data)?;
    bar.inc(first.data.len() as u64);
    while let Some(chunk) = stream.message().await? {
        file.write_all(&chunk.data)?;
        bar.inc(chunk.data.len() as u64);
        if !chunk.next_cursor.is_empty() {
            cursor = chunk.next_cursor;
        }
    }
    file.flush()?;
    bar.finish();
    eprintln!("wrote {} ({}, {} bytes)", path.display(), first.content_type, bar.position());
    Ok((path, cursor))
}
