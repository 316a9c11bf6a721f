//! The `scamtrail` command: `serve` (the default embedded set-up needs no flags), `migrate`, and
//! `normalize` (one value per line on stdin, one JSON object per line on stdout).

use std::io::{BufRead, Write};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use clap::{Parser, Subcommand, ValueEnum};
use scamtrail_normalize::{Country, Hint, KindHint, Normalizer, NormalizerConfig};
use scamtrail_server::{ServeConfig, serve};
use scamtrail_store::{Store, StoreConfig};

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
    Serve {
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
        /// Seconds in-flight calls may take to finish after a shutdown signal.
        #[arg(long, default_value_t = 10)]
        shutdown_grace_seconds: u64,
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
    },
}

#[derive(clap::Args)]
struct DatabaseArgs {
    /// Database URL: `sqlite://path.db` (created if missing) or `postgres://user:pass@host:port/db`.
    #[arg(long, default_value = "sqlite://scamtrail.db", env = "SCAMTRAIL_DATABASE_URL")]
    database_url: String,
}

fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    init_logging(cli.log_format);
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build()?;
    match cli.command {
        Command::Serve { listen, database, cors_origins, card_key_file, shutdown_grace_seconds } => {
            let config = ServeConfig {
                listen,
                store: StoreConfig::new(database.database_url),
                cors_origins: cors_origins.into_iter().filter(|o| !o.is_empty()).collect(),
                card_key_file,
                shutdown_grace: Duration::from_secs(shutdown_grace_seconds),
            };
            runtime.block_on(serve(config, shutdown_signal()))
        }
        Command::Migrate { database } => {
            runtime.block_on(Store::migrate(&StoreConfig::new(database.database_url)))?;
            tracing::info!("migrations applied");
            Ok(())
        }
        Command::Normalize { country, kind, card_key_file } => normalize(country, kind, card_key_file),
    }
}

fn normalize(country: Option<String>, kind: Option<String>, card_key_file: PathBuf) -> anyhow::Result<()> {
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
    let card_mac_key = scamtrail_server::card_key::load_or_create(&card_key_file)?;
    let normalizer = Normalizer::new(NormalizerConfig { card_mac_key });
    let hint = Hint { kind, country };
    let stdout = std::io::stdout();
    let mut out = std::io::BufWriter::new(stdout.lock());
    for line in std::io::stdin().lock().lines() {
        let line = line?;
        let input = line.trim_end_matches('\r');
        let json = match normalizer.normalize(input, &hint) {
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
                },
            }),
            Err(r) => serde_json::json!({
                "input": input,
                "ok": false,
                "reason": r.code.as_str(),
                "message": r.message,
                "candidates": r.candidates.iter().map(|k| k.as_str()).collect::<Vec<_>>(),
            }),
        };
        serde_json::to_writer(&mut out, &json)?;
        out.write_all(b"\n")?;
    }
    out.flush()?;
    Ok(())
}

fn init_logging(format: LogFormat) {
    let filter = tracing_subscriber::EnvFilter::try_from_env("SCAMTRAIL_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt().with_env_filter(filter).with_writer(std::io::stderr);
    match format {
        LogFormat::Text => builder.init(),
        LogFormat::Json => builder.json().init(),
    }
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
