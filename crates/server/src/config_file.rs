//! `--config scamtrail.toml`: the settings of `serve` in a file, one key per flag.
//!
//! A key is a flag's long name without its dashes (`listen = "0.0.0.0:50051"`,
//! `database-url = "postgres://…"`, `intake-rate-per-key = 200`, `cors-origin = ["https://a",
//! "https://b"]`, `allow-plaintext = true`); underscores may stand for dashes. The file is read
//! before the command line: its values become arguments in front of the ones typed, so that a flag
//! typed wins over the file, and a value is skipped when the flag's environment variable is set,
//! so that the environment wins over the file too. A key that is no flag of `serve` stops the
//! start with its name, rather than being ignored.

use std::ffi::OsString;
use std::path::Path;

/// The largest configuration file read (the settings fit in a few kilobytes).
const MAX_CONFIG_BYTES: u64 = 1 << 20;

/// The arguments of `serve` that the file at `path` gives, for `command` (serve's definition).
/// `env_is_set` says whether an environment variable is set.
pub fn arguments(
    path: &Path,
    command: &clap::Command,
    env_is_set: impl Fn(&str) -> bool,
) -> anyhow::Result<Vec<OsString>> {
    let shown = path.display();
    let size =
        std::fs::metadata(path).map_err(|e| anyhow::anyhow!("cannot read the configuration {shown}: {e}"))?.len();
    anyhow::ensure!(size <= MAX_CONFIG_BYTES, "the configuration {shown} is larger than 1 MiB");
    let text =
        std::fs::read_to_string(path).map_err(|e| anyhow::anyhow!("cannot read the configuration {shown}: {e}"))?;
    let table: toml::Table = text.parse().map_err(|e| anyhow::anyhow!("{shown}: {e}"))?;
    let mut out = vec![];
    for (key, value) in &table {
        let long = key.replace('_', "-");
        let Some(arg) = command.get_arguments().find(|a| a.get_long() == Some(long.as_str()) && long != "config")
        else {
            let known: Vec<&str> =
                command.get_arguments().filter_map(clap::Arg::get_long).filter(|l| *l != "config").collect();
            anyhow::bail!("{shown}: `{key}` is not a setting of serve (the settings: {})", known.join(", "));
        };
        if arg.get_env().and_then(|e| e.to_str()).is_some_and(&env_is_set) {
            continue;
        }
        let flag = OsString::from(format!("--{long}"));
        let takes_value = arg.get_action().takes_values();
        let values: Vec<&toml::Value> = match value {
            toml::Value::Array(items) => items.iter().collect(),
            single => vec![single],
        };
        for item in values {
            let text = match item {
                toml::Value::String(s) => s.clone(),
                toml::Value::Integer(i) => i.to_string(),
                toml::Value::Float(f) => f.to_string(),
                toml::Value::Boolean(b) if !takes_value => {
                    if *b {
                        out.push(flag.clone());
                    }
                    continue;
                }
                toml::Value::Boolean(b) => b.to_string(),
                other => anyhow::bail!("{shown}: `{key}` is a {}; give a string, number or boolean", other.type_str()),
            };
            anyhow::ensure!(takes_value, "{shown}: `{key}` is a switch; give true or false");
            out.push(flag.clone());
            out.push(text.into());
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn command() -> clap::Command {
        clap::Command::new("serve")
            .arg(clap::Arg::new("config").long("config"))
            .arg(clap::Arg::new("listen").long("listen").env("TEST_LISTEN"))
            .arg(clap::Arg::new("database-url").long("database-url").env("TEST_DATABASE_URL"))
            .arg(clap::Arg::new("cors-origin").long("cors-origin").action(clap::ArgAction::Append))
            .arg(clap::Arg::new("allow-plaintext").long("allow-plaintext").action(clap::ArgAction::SetTrue))
            .arg(clap::Arg::new("rate").long("rate"))
    }

    fn read(text: &str, env: &[&str]) -> anyhow::Result<Vec<String>> {
        let dir = tempfile::tempdir()?;
        let path = dir.path().join("scamtrail.toml");
        std::fs::write(&path, text)?;
        let args = arguments(&path, &command(), |name| env.contains(&name))?;
        Ok(args.into_iter().map(|a| a.into_string().unwrap()).collect())
    }

    #[test]
    fn every_kind_of_value_becomes_arguments() {
        let args = read(
            "listen = \"0.0.0.0:50051\"\ndatabase_url = \"postgres://db/x\"\nrate = 5\n\
             cors-origin = [\"https://a.example\", \"https://b.example\"]\nallow-plaintext = true\n",
            &[],
        )
        .unwrap();
        assert_eq!(
            args,
            [
                "--allow-plaintext",
                "--cors-origin",
                "https://a.example",
                "--cors-origin",
                "https://b.example",
                "--database-url",
                "postgres://db/x",
                "--listen",
                "0.0.0.0:50051",
                "--rate",
                "5",
            ]
        );
        assert!(read("allow-plaintext = false\n", &[]).unwrap().is_empty());
    }

    #[test]
    fn the_environment_wins_over_the_file() {
        let args = read("listen = \"0.0.0.0:1\"\ndatabase-url = \"sqlite://x.db\"\n", &["TEST_LISTEN"]).unwrap();
        assert_eq!(args, ["--database-url", "sqlite://x.db"]);
    }

    #[test]
    fn unknown_keys_and_bad_values_are_named() {
        let err = read("listne = \"0.0.0.0:1\"\n", &[]).unwrap_err().to_string();
        assert!(err.contains("`listne` is not a setting of serve") && err.contains("listen"), "{err}");
        let err = read("config = \"other.toml\"\n", &[]).unwrap_err().to_string();
        assert!(err.contains("`config` is not a setting"), "{err}");
        let err = read("[database]\nurl = \"x\"\n", &[]).unwrap_err().to_string();
        assert!(err.contains("`database` is not a setting"), "{err}");
        let err = read("rate = { a = 1 }\n", &[]).unwrap_err().to_string();
        assert!(err.contains("`rate` is a table"), "{err}");
        let err = read("listen = \n", &[]).unwrap_err().to_string();
        assert!(err.contains("scamtrail.toml"), "{err}");
    }
}
