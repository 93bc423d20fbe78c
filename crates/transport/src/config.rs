//! Layered settings for every service binary: a TOML file, then `MASH_*`
//! environment variables, then flags, each overriding the one before.
//!
//! clap already ranks flags over environment variables over defaults, so the
//! file's values become the defaults of a clap command built from the binary's
//! own arguments. Every value is then parsed by that argument's own value
//! parser, whichever layer it came from, and the file can name only
//! arguments that exist.

use std::ffi::OsString;
use std::fmt;
use std::path::{Path, PathBuf};

use clap::Command;
use clap::error::ErrorKind;

/// The `--config` flag every service binary takes.
#[derive(Clone, Debug, clap::Args)]
pub struct ConfigFile {
    /// A TOML file of settings, keyed by flag name with `_` for `-` (e.g.
    /// `database_url = "…"`); environment variables and flags override it.
    #[arg(long = "config", env = "MASH_CONFIG", value_name = "FILE")]
    pub config: Option<PathBuf>,
}

/// Parses `T` from the process's arguments, environment and `--config` file
/// (or `MASH_CONFIG`), exiting with a usage error like `T::parse()` does.
pub fn parse_layered<T: clap::Parser>() -> T {
    let args: Vec<OsString> = std::env::args_os().collect();
    let command = T::command();
    let command = match config_path(&args) {
        Some(path) => match with_file_defaults(command, &path) {
            Ok(command) => command,
            Err(error) => error.exit(),
        },
        None => command,
    };
    let parsed = command.try_get_matches_from(args).and_then(|matches| T::from_arg_matches(&matches));
    parsed.unwrap_or_else(|error| error.exit())
}

/// The config file named by `--config FILE`, `--config=FILE` or `MASH_CONFIG`.
/// Found before clap runs because its contents change the command clap runs.
fn config_path(args: &[OsString]) -> Option<PathBuf> {
    let mut rest = args.iter().skip(1);
    while let Some(arg) = rest.next() {
        if arg == "--" {
            break;
        }
        if arg == "--config" {
            return rest.next().map(PathBuf::from);
        }
        if let Some(path) = arg.to_str().and_then(|arg| arg.strip_prefix("--config=")) {
            return Some(path.into());
        }
    }
    std::env::var_os("MASH_CONFIG").map(PathBuf::from)
}

fn with_file_defaults(mut command: Command, path: &Path) -> Result<Command, clap::Error> {
    let fail = |command: &mut Command, problem: String| {
        command.error(ErrorKind::InvalidValue, format!("config file {}: {problem}", path.display()))
    };
    let text = match std::fs::read_to_string(path) {
        Ok(text) => text,
        Err(error) => return Err(fail(&mut command, error.to_string())),
    };
    let table: toml::Table = match text.parse() {
        Ok(table) => table,
        Err(error) => return Err(fail(&mut command, error.to_string())),
    };
    for (key, value) in table {
        let id = key.replace('-', "_");
        let Some(arg) = command.get_arguments().find(|arg| arg.get_id() == id.as_str() && id != "config") else {
            let known = command
                .get_arguments()
                .filter(|arg| arg.get_long().is_some() && arg.get_id() != "config")
                .map(|arg| arg.get_id().as_str().to_owned())
                .collect::<Vec<_>>();
            return Err(fail(&mut command, format!("unknown setting {key:?}; known: {}", known.join(", "))));
        };
        // An argument that hides its environment value is a secret: its value
        // from the file must not appear in `--help` either.
        let hide = arg.is_hide_env_values_set() || arg.is_hide_default_value_set();
        let values = match scalars(&value) {
            Some(values) => values,
            None => {
                return Err(fail(&mut command, format!("{key}: expected a string, number, boolean or list of them")));
            }
        };
        command = command.mut_arg(id, |arg| arg.default_values(values).required(false).hide_default_value(hide));
    }
    Ok(command)
}

/// A TOML value as the strings clap would have read from the command line.
fn scalars(value: &toml::Value) -> Option<Vec<&'static str>> {
    match value {
        // Leaked: clap keeps defaults as `&'static str`, and these are read once
        // per process and live as long as it does.
        toml::Value::String(text) => Some(vec![text.clone().leak()]),
        toml::Value::Integer(n) => Some(vec![n.to_string().leak()]),
        toml::Value::Float(x) => Some(vec![x.to_string().leak()]),
        toml::Value::Boolean(b) => Some(vec![b.to_string().leak()]),
        toml::Value::Array(items) => items
            .iter()
            .map(|item| scalars(item).filter(|v| v.len() == 1))
            .collect::<Option<Vec<_>>>()
            .map(|v| v.concat()),
        toml::Value::Datetime(_) | toml::Value::Table(_) => None,
    }
}

/// A database URL, which may carry a password: `Debug` shows only the
/// scheme, host and path, so that printing settings never leaks it.
#[derive(Clone)]
pub struct DatabaseUrl(String);

impl DatabaseUrl {
    /// The full URL, for connecting. Never log it.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl From<String> for DatabaseUrl {
    fn from(url: String) -> Self {
        Self(url)
    }
}

impl fmt::Debug for DatabaseUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // The user, password and query (libpq accepts `?password=`) are left out.
        let Some((scheme, rest)) = self.0.split_once("://") else {
            // `sqlite:file.db` style: no authority, so nothing secret but the path.
            return write!(f, "DatabaseUrl({:?})", self.0.split('?').next().unwrap_or_default());
        };
        let rest = rest.split('?').next().unwrap_or_default();
        let (authority, path) = rest.split_once('/').unwrap_or((rest, ""));
        let host = authority.rsplit_once('@').map_or(authority, |(_, host)| host);
        write!(f, "DatabaseUrl(\"{scheme}://{host}/{path}\")")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::{CommandFactory, FromArgMatches, Parser};

    #[derive(Debug, Parser)]
    struct Args {
        #[command(flatten)]
        config: ConfigFile,
        #[arg(long, env = "MASH_TEST_CONFIG_DATABASE_URL", hide_env_values = true)]
        database_url: DatabaseUrl,
        #[arg(long, env = "MASH_TEST_CONFIG_DEADLINE_MS", default_value_t = 2000)]
        deadline_ms: u64,
        #[arg(long = "feed", value_delimiter = ',')]
        feeds: Vec<String>,
    }

    fn parse(file: &str, args: &[&str]) -> Result<Args, clap::Error> {
        let dir = tempfile::tempdir().map_err(|e| clap::Error::raw(ErrorKind::Io, e))?;
        let path = dir.path().join("service.toml");
        std::fs::write(&path, file).map_err(|e| clap::Error::raw(ErrorKind::Io, e))?;
        let command = with_file_defaults(Args::command(), &path)?;
        let argv = std::iter::once("test").chain(args.iter().copied());
        Args::from_arg_matches(&command.try_get_matches_from(argv)?)
    }

    #[test]
    fn the_file_fills_in_what_flags_do_not_say() -> Result<(), clap::Error> {
        let file = "database_url = \"sqlite://a.db\"\ndeadline-ms = 500\nfeeds = [\"police=https://p\", \"health=https://h\"]\n";
        let args = parse(file, &[])?;
        assert_eq!(args.database_url.expose(), "sqlite://a.db");
        assert_eq!(args.deadline_ms, 500);
        assert_eq!(args.feeds, ["police=https://p", "health=https://h"]);
        let args = parse(file, &["--deadline-ms", "700", "--feed", "education=https://e"])?;
        assert_eq!(args.deadline_ms, 700);
        assert_eq!(args.feeds, ["education=https://e"]);
        Ok(())
    }

    fn refusal(file: &str) -> clap::Error {
        match parse(file, &[]) {
            Ok(args) => panic!("accepted {file:?} as {args:?}"),
            Err(error) => error,
        }
    }

    #[test]
    fn the_file_is_checked_like_flags() {
        let unknown = refusal("databse_url = \"x\"\n").to_string();
        assert!(unknown.contains("unknown setting \"databse_url\"") && unknown.contains("database_url"), "{unknown}");
        let typed = refusal("database_url = \"x\"\ndeadline_ms = \"soon\"\n");
        assert_eq!(typed.kind(), ErrorKind::ValueValidation, "{typed}");
        let nested = refusal("[database_url]\nx = 1\n").to_string();
        assert!(nested.contains("expected a string"), "{nested}");
    }

    #[test]
    fn secrets_from_the_file_stay_out_of_help() -> Result<(), clap::Error> {
        let dir = tempfile::tempdir().map_err(|e| clap::Error::raw(ErrorKind::Io, e))?;
        let path = dir.path().join("service.toml");
        std::fs::write(&path, "database_url = \"postgres://mash:hunter2@db/mash\"\ndeadline_ms = 500\n")
            .map_err(|e| clap::Error::raw(ErrorKind::Io, e))?;
        let help = with_file_defaults(Args::command(), &path)?.render_long_help().to_string();
        assert!(!help.contains("hunter2"), "{help}");
        assert!(help.contains("[default: 500]"), "{help}");
        Ok(())
    }

    #[test]
    fn database_urls_print_without_credentials() {
        let url = DatabaseUrl::from(
            "postgres://mash:hunter2@db.internal:5432/mash?password=hunter2&sslmode=require".to_owned(),
        );
        assert_eq!(format!("{url:?}"), "DatabaseUrl(\"postgres://db.internal:5432/mash\")");
        let url = DatabaseUrl::from("sqlite:///var/lib/mash/broker.db?mode=rwc".to_owned());
        assert_eq!(format!("{url:?}"), "DatabaseUrl(\"sqlite:///var/lib/mash/broker.db\")");
    }

    #[test]
    fn the_config_path_comes_from_the_flag() {
        let args = |list: &[&str]| list.iter().map(OsString::from).collect::<Vec<_>>();
        assert_eq!(config_path(&args(&["svc", "--config", "a.toml"])), Some("a.toml".into()));
        assert_eq!(config_path(&args(&["svc", "--listen", "x", "--config=b.toml"])), Some("b.toml".into()));
    }
}
