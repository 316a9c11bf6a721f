//! The `scamtrail user`, `key` and `audit` commands (and the record of `data-key rotate`). Each change is appended to the audit trail
//! as done by `cli`.

use std::io::{BufRead, IsTerminal, Write};

use scamtrail_core::{AuditEvent, Checkpoint, Role, UnixMicros};
use scamtrail_server::auth::{origin, secrets};
use scamtrail_server::key_file;
use scamtrail_store::{Access, StoreConfig};

use super::{AuditKeyArgs, DatabaseArgs, KeyCommand, NewCaller, UserCommand};

/// The access tables, appending audit events under the audit key (created if missing, as a
/// server's first start would).
async fn open(database: &DatabaseArgs, audit_key: &AuditKeyArgs) -> anyhow::Result<Access> {
    let (key, key_is_new) = key_file::audit_key(&audit_key.audit_key_file)?;
    let access = Access::open(&StoreConfig::new(database.database_url.clone()), key).await?;
    scamtrail_server::open_audit_trail(&access, &audit_key.audit_key_file, key_is_new).await?;
    Ok(access)
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

/// Records an operator's command on `database` in the audit trail, as done by `cli`.
pub(crate) async fn record(
    database: &DatabaseArgs,
    audit_key: &AuditKeyArgs,
    action: &str,
    target: String,
) -> anyhow::Result<()> {
    let access = open(database, audit_key).await?;
    audit(&access, action, target).await
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
        UserCommand::Create(NewCaller { name, role, agency, database, audit_key }) => {
            check_name(&name)?;
            let role = parse_role(&role, &[Role::Investigator, Role::Supervisor, Role::Liaison, Role::Admin])?;
            let agency = check_agency(role, &agency)?;
            let password = read_password()?;
            if let Some(problem) = secrets::password_problem(&password, &name) {
                anyhow::bail!("password refused: {problem}");
            }
            let hash = tokio::task::spawn_blocking(move || secrets::hash(&password, secrets::PASSWORD_PARAMS)).await?;
            let access = open(&database, &audit_key).await?;
            access.create_user(&name, role, agency.as_deref(), &hash).await?;
            audit(&access, "scamtrail user create", format!("user:{name}")).await?;
            tracing::info!(user = %name, role = %role, "user created");
        }
        UserCommand::Disable { name, database, audit_key } => {
            let access = open(&database, &audit_key).await?;
            anyhow::ensure!(access.disable_user(&name).await?, "no enabled user {name:?}");
            audit(&access, "scamtrail user disable", format!("user:{name}")).await?;
            tracing::info!(user = %name, "user disabled; its sessions ended");
        }
    }
    Ok(())
}

pub(crate) async fn key(command: KeyCommand) -> anyhow::Result<()> {
    match command {
        KeyCommand::Create { caller: NewCaller { name, role, agency, database, audit_key }, origins } => {
            check_name(&name)?;
            let role = parse_role(&role, &[Role::Intake, Role::Liaison])?;
            let agency = check_agency(role, &agency)?;
            anyhow::ensure!(origins.is_empty() || role == Role::Intake, "--origin is for intake keys only");
            anyhow::ensure!(origins.len() <= 32, "--origin: at most 32");
            let origins = origins
                .iter()
                .map(|o| origin::canonical(o).map_err(|e| anyhow::anyhow!("--origin {e}")))
                .collect::<anyhow::Result<Vec<_>>>()?;
            let key = secrets::new_token("stk_");
            let access = open(&database, &audit_key).await?;
            access.create_key(&name, role, agency.as_deref(), &secrets::token_hash(&key)).await?;
            if !origins.is_empty() {
                access.set_key_origins(&name, &origins).await?;
            }
            audit(&access, "scamtrail key create", format!("key:{name}")).await?;
            tracing::info!(key = %name, role = %role, origins = ?origins, "key created; it is printed once on stdout and stored only as a hash");
            let mut out = std::io::stdout().lock();
            writeln!(out, "{key}")?;
        }
        KeyCommand::Revoke { name, database, audit_key } => {
            let access = open(&database, &audit_key).await?;
            anyhow::ensure!(access.revoke_key(&name).await?, "no live key {name:?}");
            audit(&access, "scamtrail key revoke", format!("key:{name}")).await?;
            tracing::info!(key = %name, "key revoked");
        }
        KeyCommand::List { database, audit_key } => {
            let access = open(&database, &audit_key).await?;
            let mut out = std::io::stdout().lock();
            writeln!(out, "name\trole\tagency\tcreated_at\trevoked_at\tlast_used_at\torigins")?;
            let at = |t: Option<UnixMicros>| t.map_or_else(|| "-".to_owned(), scamtrail_server::wire::date_time_text);
            for k in access.keys().await? {
                writeln!(
                    out,
                    "{}\t{}\t{}\t{}\t{}\t{}\t{}",
                    k.name,
                    k.role,
                    k.agency.as_deref().unwrap_or("-"),
                    at(Some(k.created_at)),
                    at(k.revoked_at),
                    at(k.last_used_at),
                    if k.origins.is_empty() { "-".to_owned() } else { k.origins.join(",") }
                )?;
            }
        }
    }
    Ok(())
}

/// `scamtrail audit verify`: exits 1 when the chain is broken or a kept checkpoint is contradicted;
/// else prints a signed checkpoint of the newest event, to keep elsewhere.
pub(crate) async fn verify(
    database: DatabaseArgs,
    audit_key: AuditKeyArgs,
    checkpoints: Vec<String>,
) -> anyhow::Result<()> {
    let checkpoints = checkpoints
        .iter()
        .map(|text| text.parse::<Checkpoint>().map_err(|e| anyhow::anyhow!("--checkpoint {text:?}: {e}")))
        .collect::<anyhow::Result<Vec<_>>>()?;
    let key = key_file::existing_audit_key(&audit_key.audit_key_file)?;
    let access = Access::open(&StoreConfig::new(database.database_url.clone()), key).await?;
    let verdict = access.verify_audit(&checkpoints).await?;
    if let Some((sequence, why)) = &verdict.broken {
        println!("audit trail BROKEN at event {sequence}: {why} ({} events before it chain)", verdict.events);
        std::process::exit(1);
    }
    if !verdict.checkpoint_faults.is_empty() {
        for fault in &verdict.checkpoint_faults {
            println!("audit trail BROKEN: {fault}");
        }
        std::process::exit(1);
    }
    let unkeyed = match verdict.unkeyed {
        0 => String::new(),
        n => format!(" ({n} from before the audit key, vouched for by the keyed events after them)"),
    };
    println!("audit trail intact: {} events{unkeyed}", verdict.events);
    for c in &checkpoints {
        println!("checkpoint {} found", c.sequence);
    }
    match &verdict.head {
        Some(head) => println!("{head}"),
        None => println!("no events: nothing to checkpoint"),
    }
    Ok(())
}

/// Runs `scamtrail retention run`: the reports whose personal data is due for erasure (clusters
/// closed more than `months` ago, and victims' requests whose hold has ended), each batch named in
/// the audit trail and then erased; with `dry_run`, only listed.
pub(crate) async fn retention(
    database: DatabaseArgs,
    audit_key: AuditKeyArgs,
    months: u32,
    dry_run: bool,
) -> anyhow::Result<()> {
    use scamtrail_server::retention::{Actor, closed_before, pass};
    let access = open(&database, &audit_key).await?;
    let config = StoreConfig::new(database.database_url.clone());
    let retention =
        scamtrail_store::Store::retention_of(&config, Some(closed_before(UnixMicros::now(), months))).await?;
    let who = Actor { actor: "cli", action: "scamtrail retention run", peer: "cli" };
    let verb = if dry_run { "would erase" } else { "erased" };
    let total = pass(&retention, &access, who, dry_run, &mut |reports| {
        for id in reports {
            println!("{verb} report {id}");
        }
    })
    .await;
    retention.close().await?;
    let total = total?;
    if dry_run {
        println!("{total} report(s) due (retention {months} months); dry run: nothing erased");
    } else {
        println!("{total} report(s) erased (retention {months} months)");
    }
    Ok(())
}
