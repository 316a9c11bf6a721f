//! The `scamtrail user`, `key` and `audit` commands. Each change is appended to the audit trail
//! as done by `cli`.

use std::io::{BufRead, IsTerminal, Write};

use scamtrail_core::{AuditEvent, Role, UnixMicros};
use scamtrail_server::auth::secrets;
use scamtrail_store::{Access, StoreConfig};

use super::{DatabaseArgs, KeyCommand, NewCaller, UserCommand};

async fn open(database: &DatabaseArgs) -> anyhow::Result<Access> {
    Ok(Access::open(&StoreConfig::new(database.database_url.clone())).await?)
}

fn check_name(name: &str) -> anyhow::Result<()> {
    let ok = (1..=64).contains(&name.len())
        && name.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || matches!(b, b'.' | b'_' | b'-'));
    anyhow::ensure!(ok, "--name {name:?}: 1 to 64 of a-z, 0-9, '.', '_', '-'");
    Ok(())
}

fn parse_role(text: &str, allowed: &[Role]) -> anyhow::Result<Role> {
    let names = allowed.iter().map(|r| r.as_str()).collect::<Vec<_>>().join(", ");
    match text.parse::<Role>() {
        Ok(role) if allowed.contains(&role) => Ok(role),
        _ => anyhow::bail!("--role {text:?}: one of {names}"),
    }
}

fn check_agency(role: Role, agency: &Option<String>) -> anyhow::Result<Option<String>> {
    let agency = agency.as_deref().map(str::trim).filter(|a| !a.is_empty());
    match (role, agency) {
        (Role::Liaison, None) => {
            anyhow::bail!("a liaison needs --agency (the clusters referred to it are the ones it reads)")
        }
        (Role::Liaison, Some(a)) if a.chars().count() > 200 => anyhow::bail!("--agency: at most 200 characters"),
        (Role::Liaison, Some(a)) => Ok(Some(a.to_owned())),
        (_, Some(_)) => anyhow::bail!("--agency is for liaison only"),
        (_, None) => Ok(None),
    }
}

async fn audit(access: &Access, action: &str, target: String) -> anyhow::Result<()> {
    let mut event = [AuditEvent::now("cli", "cli", action, vec![target], "cli", "OK")];
    access.append_audit(&mut event).await?;
    Ok(())
}

/// The new password: typed twice without echo at a terminal, else the first line of stdin.
fn read_password() -> anyhow::Result<String> {
    if std::io::stdin().is_terminal() {
        let first = rpassword::prompt_password("Password: ")?;
        let again = rpassword::prompt_password("Again: ")?;
        anyhow::ensure!(first == again, "the two passwords differ");
        Ok(first)
    } else {
        let mut line = String::new();
        std::io::stdin().lock().read_line(&mut line)?;
        Ok(line.trim_end_matches(['\r', '\n']).to_owned())
    }
}

pub(crate) async fn user(command: UserCommand) -> anyhow::Result<()> {
    match command {
        UserCommand::Create(NewCaller { name, role, agency, database }) => {
            check_name(&name)?;
            let role = parse_role(&role, &[Role::Investigator, Role::Supervisor, Role::Liaison, Role::Admin])?;
            let agency = check_agency(role, &agency)?;
            let password = read_password()?;
            if let Some(problem) = secrets::password_problem(&password, &name) {
                anyhow::bail!("password refused: {problem}");
            }
            let hash = tokio::task::spawn_blocking(move || secrets::hash(&password, secrets::PASSWORD_PARAMS)).await?;
            let access = open(&database).await?;
            access.create_user(&name, role, agency.as_deref(), &hash).await?;
            audit(&access, "scamtrail user create", format!("user:{name}")).await?;
            tracing::info!(user = %name, role = %role, "user created");
        }
        UserCommand::Disable { name, database } => {
            let access = open(&database).await?;
            anyhow::ensure!(access.disable_user(&name).await?, "no enabled user {name:?}");
            audit(&access, "scamtrail user disable", format!("user:{name}")).await?;
            tracing::info!(user = %name, "user disabled; its sessions ended");
        }
    }
    Ok(())
}

pub(crate) async fn key(command: KeyCommand) -> anyhow::Result<()> {
    match command {
        KeyCommand::Create(NewCaller { name, role, agency, database }) => {
            check_name(&name)?;
            let role = parse_role(&role, &[Role::Intake, Role::Liaison])?;
            let agency = check_agency(role, &agency)?;
            let key = secrets::new_token("stk_");
            let access = open(&database).await?;
            access.create_key(&name, role, agency.as_deref(), &secrets::token_hash(&key)).await?;
            audit(&access, "scamtrail key create", format!("key:{name}")).await?;
            tracing::info!(key = %name, role = %role, "key created; it is printed once on stdout and stored only as a hash");
            let mut out = std::io::stdout().lock();
            writeln!(out, "{key}")?;
        }
        KeyCommand::Revoke { name, database } => {
            let access = open(&database).await?;
            anyhow::ensure!(access.revoke_key(&name).await?, "no live key {name:?}");
            audit(&access, "scamtrail key revoke", format!("key:{name}")).await?;
            tracing::info!(key = %name, "key revoked");
        }
        KeyCommand::List { database } => {
            let access = open(&database).await?;
            let mut out = std::io::stdout().lock();
            writeln!(out, "name\trole\tagency\tcreated_at\trevoked_at\tlast_used_at")?;
            let at = |t: Option<UnixMicros>| t.map_or_else(|| "-".to_owned(), scamtrail_server::wire::date_time_text);
            for k in access.keys().await? {
                writeln!(
                    out,
                    "{}\t{}\t{}\t{}\t{}\t{}",
                    k.name,
                    k.role,
                    k.agency.as_deref().unwrap_or("-"),
                    at(Some(k.created_at)),
                    at(k.revoked_at),
                    at(k.last_used_at)
                )?;
            }
        }
    }
    Ok(())
}

pub(crate) async fn verify(database: DatabaseArgs, expect: Option<String>) -> anyhow::Result<()> {
    let expected = match &expect {
        None => None,
        Some(text) => {
            let parsed = text.split_once(':').and_then(|(s, h)| Some((s.parse::<i64>().ok()?, h.to_ascii_lowercase())));
            Some(
                parsed
                    .ok_or_else(|| anyhow::anyhow!("--expect {text:?}: SEQUENCE:HASH as `audit verify` printed it"))?,
            )
        }
    };
    let access = open(&database).await?;
    let verdict = access.verify_audit().await?;
    if let Some((sequence, why)) = verdict.broken {
        println!("audit trail BROKEN at event {sequence}: {why} ({} events before it chain)", verdict.events);
        std::process::exit(1);
    }
    let head = verdict.head.as_ref().map_or_else(|| "none".to_owned(), |(s, h)| format!("{s}:{h}"));
    println!("audit trail intact: {} events; head {head}", verdict.events);
    if let Some((sequence, hash)) = expected {
        let found = access.audit_events(sequence - 1, 1, None).await?;
        let stored = found.first().filter(|(e, _)| e.sequence == sequence).map(|(_, h)| h.as_str());
        if stored != Some(hash.as_str()) {
            println!("audit trail BROKEN: the checkpoint {sequence}:{hash} is not in it (rows removed or rewritten)");
            std::process::exit(1);
        }
        println!("checkpoint {sequence} found");
    }
    Ok(())
}
