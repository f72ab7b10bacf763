//! `stageboard.toml`, the configuration file (`--config` / `STAGEBOARD_CONFIG`).
//!
//! Each key of the file is one of the server's settings, the same one an environment variable
//! and a flag set. The file's values take the place of the built-in defaults, so the environment
//! and the command line still win (flag, then environment, then file, then default): clap keeps
//! that order for us, and says afterwards where each value came from. A value is checked when
//! the file is read, by the setting's own parser, so a mistake names the file, the line and the
//! key; the checks that need several settings at once (`Config::from_args`) name the environment
//! variable, and `Loaded::explain` adds the file's key and line to them.

use std::ffi::OsString;
use std::path::{Path, PathBuf};

use clap::parser::ValueSource;
use clap::{ArgMatches, Command, CommandFactory, FromArgMatches};
use toml::Spanned;
use toml::de::{DeTable, DeValue};

use super::{Cli, ServeArgs};

/// What a key's value is written as.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// A string.
    Text,
    /// A whole number.
    Number,
    /// `true` or `false`.
    Switch,
    /// An array of strings (or numbers, such as project ids).
    List,
    /// A table of names to strings, each becoming `name=value`.
    Pairs,
    /// The boards: a table of board names, each the wall's address parameters, as a query
    /// string or as a table of them.
    Boards,
}

/// One key of the file and the setting it sets.
#[derive(Debug)]
pub struct Key {
    /// Where it is in the file, e.g. `gitlab.url`.
    pub path: &'static str,
    /// The setting's argument (the `ServeArgs` field).
    pub arg: &'static str,
    pub kind: Kind,
}

const fn key(path: &'static str, arg: &'static str, kind: Kind) -> Key {
    Key { path, arg, kind }
}

/// Every key, in the order `check-config` prints them. A test holds this to the server's
/// arguments: one key for each setting, and no other.
pub const KEYS: &[Key] = &[
    key("server.listen", "listen", Kind::Text),
    key("server.public_url", "public_url", Kind::Text),
    key("server.allowed_hosts", "allowed_hosts", Kind::List),
    key("server.trusted_proxies", "trusted_proxies", Kind::List),
    key("server.max_streams", "max_streams", Kind::Number),
    key(
        "server.max_streams_per_address",
        "max_streams_per_address",
        Kind::Number,
    ),
    key("server.max_connections", "max_connections", Kind::Number),
    key("server.metrics_token", "metrics_token", Kind::Text),
    key("server.replica_url", "replica_url", Kind::Text),
    key("gitlab.url", "gitlab_url", Kind::Text),
    key("gitlab.token", "gitlab_token", Kind::Text),
    key("gitlab.allow_http", "gitlab_allow_http", Kind::Switch),
    key("gitlab.timeout", "gitlab_timeout", Kind::Number),
    key("gitlab.poll_fast", "poll_fast", Kind::Number),
    key("gitlab.poll_idle", "poll_idle", Kind::Number),
    key("gitlab.poll_hooked", "poll_hooked", Kind::Number),
    key("gitlab.webhook_secret", "webhook_secret", Kind::Text),
    key("gitlab.webhook_signing_token", "webhook_signing_token", Kind::Text),
    key("selection.projects", "projects", Kind::List),
    key("selection.groups", "groups", Kind::List),
    key("selection.topics", "topics", Kind::List),
    key("selection.include", "include", Kind::List),
    key("selection.exclude", "exclude", Kind::List),
    key("selection.refresh", "selection_refresh", Kind::Number),
    key("refs.patterns", "refs", Kind::List),
    key("refs.protected", "protected_refs", Kind::Switch),
    key("refs.merge_requests", "merge_requests", Kind::Switch),
    key("cluster.mode", "cluster", Kind::Text),
    key("cluster.namespaces", "namespaces", Kind::List),
    key("cluster.label", "cluster_label", Kind::Text),
    key("cluster.environment_namespaces", "environment_namespaces", Kind::Pairs),
    key("access.mode", "access", Kind::Text),
    key("access.oauth_client_id", "oauth_client_id", Kind::Text),
    key("access.oauth_client_secret", "oauth_client_secret", Kind::Text),
    key("storage.data_dir", "data_dir", Kind::Text),
    key("storage.database_url", "database_url", Kind::Text),
    key("storage.secret_key", "secret_key", Kind::Text),
    key("boards", "boards", Kind::Boards),
];

/// The file's key for a setting's argument.
pub fn key_of(arg: &str) -> Option<&'static Key> {
    KEYS.iter().find(|k| k.arg == arg)
}

/// One value the file gives.
struct FileValue {
    key: &'static Key,
    values: Vec<String>,
    line: usize,
}

/// Without the values, which may be secrets.
impl std::fmt::Debug for FileValue {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FileValue")
            .field("key", &self.key.path)
            .field("line", &self.line)
            .finish_non_exhaustive()
    }
}

/// A configuration file, read and checked.
#[derive(Debug)]
pub struct File {
    pub path: PathBuf,
    values: Vec<FileValue>,
}

/// Where a setting's value came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Source {
    Flag,
    Environment(String),
    File { line: usize },
    Default,
    Unset,
}

/// A setting as the server will run with it.
#[derive(Debug)]
pub struct Effective {
    pub key: &'static Key,
    pub env: Option<String>,
    pub secret: bool,
    /// The values as given (before parsing); empty when unset.
    pub raw: Vec<String>,
    pub source: Source,
}

/// The command line, the environment and the file, put together.
#[derive(Debug)]
pub struct Loaded {
    pub command: Option<super::Command>,
    pub serve: ServeArgs,
    pub origin: Origin,
}

/// Where each setting came from: for errors and `check-config`.
#[derive(Debug)]
pub struct Origin {
    pub file: Option<PathBuf>,
    pub settings: Vec<Effective>,
}

/// Why loading stopped.
#[derive(Debug)]
pub enum Failure {
    /// Clap's own: `--help`, `--version`, a wrong flag (printed and exited by clap).
    Arguments(clap::Error),
    /// The configuration file: it cannot be read, or a key in it is wrong.
    File(String),
}

/// Reads the command line (`args`, with the program's name first), the environment, and the
/// file that `--config` or `STAGEBOARD_CONFIG` names.
pub fn load(args: Vec<OsString>) -> Result<Loaded, Failure> {
    // A first look, forgiving, for where the file is: it may follow the subcommand.
    let path = Cli::command()
        .ignore_errors(true)
        .try_get_matches_from(&args)
        .ok()
        .and_then(|m| m.get_one::<PathBuf>("config").cloned());
    let file = match &path {
        Some(path) => {
            let text = std::fs::read_to_string(path)
                .map_err(|e| Failure::File(format!("cannot read the configuration file {}: {e}", path.display())))?;
            let file = parse(path, &text).map_err(Failure::File)?;
            let command = Cli::command();
            let secrets = file
                .values
                .iter()
                .any(|v| arg_of(&command, v.key).is_hide_env_values_set());
            if secrets {
                warn_if_readable_by_others(path);
            }
            Some(file)
        }
        None => None,
    };
    assemble(args, file)
}

/// The command line and the environment over the file's values.
fn assemble(args: Vec<OsString>, file: Option<File>) -> Result<Loaded, Failure> {
    let mut command = Cli::command();
    if let Some(file) = &file {
        command = with_defaults(command, file).map_err(Failure::File)?;
    }
    let matches = command.try_get_matches_from(&args).map_err(Failure::Arguments)?;
    let settings = effective(&matches, file.as_ref());
    let cli = Cli::from_arg_matches(&matches).map_err(Failure::Arguments)?;
    Ok(Loaded {
        command: cli.command,
        serve: cli.serve,
        origin: Origin {
            file: file.map(|f| f.path),
            settings,
        },
    })
}

impl Origin {
    /// Adds, to an error naming a setting's environment variable, the file's key and line when
    /// the value came from the file: `GITLAB_URL … (GITLAB_URL is `gitlab.url`, stageboard.toml
    /// line 3)`.
    pub fn explain(&self, error: String) -> String {
        let Some(path) = &self.file else { return error };
        let mut notes = Vec::new();
        for setting in &self.settings {
            let (Source::File { line }, Some(env)) = (&setting.source, &setting.env) else {
                continue;
            };
            if names(&error, env) {
                notes.push(format!("{env} is `{}` at {}:{line}", setting.key.path, path.display()));
            }
        }
        if notes.is_empty() {
            error
        } else {
            format!("{error} ({})", notes.join("; "))
        }
    }
}

/// Whether `text` names the variable `name` as a whole word (STAGEBOARD_MAX_STREAMS is not in
/// STAGEBOARD_MAX_STREAMS_PER_ADDRESS).
fn names(text: &str, name: &str) -> bool {
    let word = |c: char| c.is_ascii_alphanumeric() || c == '_';
    text.match_indices(name).any(|(at, _)| {
        let before = text[..at].chars().next_back();
        let after = text[at + name.len()..].chars().next();
        !before.is_some_and(word) && !after.is_some_and(word)
    })
}

/// The line (from 1) that a byte offset falls on.
fn line_of(text: &str, offset: usize) -> usize {
    text.as_bytes()[..offset.min(text.len())]
        .iter()
        .filter(|b| **b == b'\n')
        .count()
        + 1
}

/// Reads the file's text into the settings it gives; every mistake names the file, the line
/// and the key.
pub fn parse(path: &Path, text: &str) -> Result<File, String> {
    let document = DeTable::parse(text).map_err(|e| {
        let place = match e.span() {
            Some(span) => format!("{}:{}", path.display(), line_of(text, span.start)),
            None => path.display().to_string(),
        };
        format!("{place}: this is not TOML: {}", e.message().trim_end())
    })?;
    let mut values = Vec::new();
    let file = Text { path, text };
    file.walk(document.get_ref(), "", &mut values)?;
    Ok(File {
        path: path.to_owned(),
        values,
    })
}

/// The file being read, for naming places in it.
struct Text<'a> {
    path: &'a Path,
    text: &'a str,
}

impl Text<'_> {
    fn walk(&self, table: &DeTable<'_>, prefix: &str, out: &mut Vec<FileValue>) -> Result<(), String> {
        for (name, value) in table.iter() {
            let path = if prefix.is_empty() {
                name.get_ref().to_string()
            } else {
                format!("{prefix}.{}", name.get_ref())
            };
            let line = line_of(self.text, name.span().start);
            let place = format!("{}:{line}", self.path.display());
            if let Some(key) = KEYS.iter().find(|k| k.path == path) {
                let values = value_of(key, name.span().start, value)
                    .map_err(|(at, e)| format!("{}:{}: `{path}` {e}", self.path.display(), line_of(self.text, at)))?;
                out.push(FileValue { key, values, line });
                continue;
            }
            let below = format!("{path}.");
            if KEYS.iter().any(|k| k.path.starts_with(&below)) {
                match value.get_ref() {
                    DeValue::Table(inner) => self.walk(inner, &path, out)?,
                    _ => {
                        return Err(format!(
                            "{place}: `{path}` is a section: write [{path}] and its keys under it."
                        ));
                    }
                }
                continue;
            }
            return Err(if prefix.is_empty() {
                format!(
                    "{place}: unknown section or key `{path}`; the file has [server], [gitlab], [selection], [refs], [cluster], [access], [storage] and [boards] (see stageboard.example.toml)."
                )
            } else {
                let known: Vec<&str> = KEYS
                    .iter()
                    .filter_map(|k| k.path.strip_prefix(prefix)?.strip_prefix('.'))
                    .collect();
                format!("{place}: unknown key `{path}`; [{prefix}] has {}.", known.join(", "))
            });
        }
        Ok(())
    }
}

/// The setting's values for clap, from the file's value; a mistake comes with where it is (a
/// byte offset), `at` (the key) unless it is in one of a table's lines.
fn value_of(key: &Key, at: usize, value: &Spanned<DeValue<'_>>) -> Result<Vec<String>, (usize, String)> {
    match (key.kind, value.get_ref()) {
        (Kind::Pairs, DeValue::Table(table)) => table
            .iter()
            .map(|(name, v)| pair_of(name.get_ref(), v.get_ref()).map_err(|e| (name.span().start, e)))
            .collect(),
        (Kind::Boards, DeValue::Table(table)) => table
            .iter()
            .map(|(name, board)| board_of(name.get_ref(), board.get_ref()).map_err(|e| (name.span().start, e)))
            .collect(),
        _ => scalar_of(key, value).map_err(|e| (at, e)),
    }
}

/// An environment's namespace rule, `name=namespace`.
fn pair_of(name: &str, value: &DeValue<'_>) -> Result<String, String> {
    match value {
        DeValue::String(s) if !name.contains(['=', ',']) && !s.contains(',') => Ok(format!("{name}={s}")),
        DeValue::String(_) => Err(format!("has `{name}`: names and values without `=` or `,`.")),
        _ => Err(format!("maps names to strings: \"{name}\" = \"…\".")),
    }
}

fn scalar_of(key: &Key, value: &Spanned<DeValue<'_>>) -> Result<Vec<String>, String> {
    let short = key.path.rsplit('.').next().unwrap_or(key.path);
    match (key.kind, value.get_ref()) {
        (Kind::Text, DeValue::String(s)) => Ok(vec![s.to_string()]),
        (Kind::Text, _) => Err(format!("is a string in quotes: {short} = \"…\".")),
        (Kind::Number, DeValue::Integer(i)) if i.as_str().starts_with('-') => {
            Err(format!("is a whole number, 0 or more: {short} = 15."))
        }
        (Kind::Number, DeValue::Integer(i)) => number(i).map(|n| vec![n]),
        (Kind::Number, _) => Err(format!("is a whole number: {short} = 15.")),
        (Kind::Switch, DeValue::Boolean(b)) => Ok(vec![b.to_string()]),
        (Kind::Switch, _) => Err(format!("is true or false: {short} = true.")),
        (Kind::List, DeValue::Array(items)) => items
            .iter()
            .map(|item| match item.get_ref() {
                DeValue::String(s) if s.contains(',') => Err(format!(
                    "has `{s}`: one value per item, without commas."
                )),
                DeValue::String(s) => Ok(s.to_string()),
                DeValue::Integer(i) => number(i),
                _ => Err(format!("is a list of strings: {short} = [\"…\", \"…\"].")),
            })
            .collect(),
        (Kind::List, _) => Err(format!("is a list: {short} = [\"…\", \"…\"].")),
        (Kind::Pairs, _) => Err(format!(
            "is a table: [{}] with lines such as \"review/*\" = \"review\".",
            key.path
        )),
        (Kind::Boards, _) => Err("is a table: [boards] with lines such as lobby = \"hide_green=1\", or [boards.lobby] with the board's parameters.".into()),
    }
}

fn number(i: &toml::de::DeInteger<'_>) -> Result<String, String> {
    i64::from_str_radix(i.as_str(), i.radix())
        .map(|n| n.to_string())
        .map_err(|_| format!("has {i}, too large a number."))
}

/// A board as `name=parameters`: the parameters as the wall's address writes them, or a table
/// of them (`refs = ["main", "release/*"]`, `hide_green = true`).
fn board_of(name: &str, board: &DeValue<'_>) -> Result<String, String> {
    if name.contains(['=', ';']) || name.is_empty() {
        return Err(format!("has a board named `{name}`: a name without `=` or `;`."));
    }
    let query = match board {
        DeValue::String(query) => query.to_string(),
        DeValue::Table(parameters) => {
            let mut query = Vec::new();
            for (parameter, value) in parameters.iter() {
                let text = match value.get_ref() {
                    DeValue::String(s) => s.to_string(),
                    DeValue::Integer(i) => number(i)?,
                    DeValue::Boolean(b) => if *b { "1" } else { "0" }.to_owned(),
                    DeValue::Array(items) => items
                        .iter()
                        .map(|item| match item.get_ref() {
                            DeValue::String(s) => Ok(s.to_string()),
                            DeValue::Integer(i) => number(i),
                            _ => Err(format!("board `{name}`: `{}` lists strings.", parameter.get_ref())),
                        })
                        .collect::<Result<Vec<_>, _>>()?
                        .join(","),
                    _ => {
                        return Err(format!(
                            "board `{name}`: `{}` is a string, a number, true or false, or a list.",
                            parameter.get_ref()
                        ));
                    }
                };
                query.push(format!("{}={}", escaped(parameter.get_ref()), escaped(&text)));
            }
            query.join("&")
        }
        _ => {
            return Err(format!(
                "board `{name}` is the wall's parameters, as \"projects=group/*&hide_green=1\" or as a table [boards.{name}]."
            ));
        }
    };
    if query.contains(';') {
        return Err(format!("board `{name}` has a `;`, which separates boards."));
    }
    Ok(format!("{name}={query}"))
}

/// A parameter's name or value in the wall's address: only what would change its meaning there
/// is escaped, so that `check-config` shows `refs=main,release/*` as written.
fn escaped(text: &str) -> String {
    const MEANINGFUL: &percent_encoding::AsciiSet = &percent_encoding::CONTROLS
        .add(b' ')
        .add(b'%')
        .add(b'&')
        .add(b'=')
        .add(b'+')
        .add(b'#')
        .add(b';');
    percent_encoding::utf8_percent_encode(text, MEANINGFUL).to_string()
}

/// The server's argument a key sets.
fn arg_of<'c>(command: &'c Command, key: &Key) -> &'c clap::Arg {
    command
        .get_arguments()
        .find(|a| a.get_id() == key.arg)
        .unwrap_or_else(|| panic!("KEYS names `{}`, an argument the server has", key.arg))
}

/// Sets the file's values as the settings' defaults, each first checked alone by the setting's
/// own parser so that a wrong one is named with its line.
fn with_defaults(mut command: Command, file: &File) -> Result<Command, String> {
    for value in &file.values {
        let arg = arg_of(&command, value.key).clone();
        let secret = arg.is_hide_env_values_set();
        let choices: Vec<String> = arg
            .get_possible_values()
            .iter()
            .map(|v| v.get_name().to_owned())
            .collect();
        let probe = Command::new("stageboard")
            .no_binary_name(true)
            .arg(arg.env(None).required(false).default_values(value.values.clone()));
        if let Err(e) = probe.try_get_matches_from(Vec::<OsString>::new()) {
            let why = match std::error::Error::source(&e) {
                Some(source) => source.to_string(),
                None if !choices.is_empty() => format!("give one of {}", choices.join(", ")),
                None => first_line(&e.render().to_string()),
            };
            let shown = if secret {
                String::new()
            } else {
                format!(" = {:?}", value.values.join(","))
            };
            return Err(format!(
                "{}:{}: `{}`{shown} is not valid: {why}",
                file.path.display(),
                value.line,
                value.key.path
            ));
        }
        let values = value.values.clone();
        command = command.mut_arg(value.key.arg, |a| a.default_values(values));
    }
    Ok(command)
}

/// Clap's message without its `error: ` and the flag it names (the file names the key).
fn first_line(rendered: &str) -> String {
    let line = rendered.lines().next().unwrap_or_default();
    line.trim_start_matches("error: ").to_owned()
}

fn effective(matches: &ArgMatches, file: Option<&File>) -> Vec<Effective> {
    let command = Cli::command();
    KEYS.iter()
        .map(|key| {
            let arg = arg_of(&command, key);
            let env = arg.get_env().and_then(|e| e.to_str()).map(str::to_owned);
            let secret = arg.is_hide_env_values_set();
            // A secret's value is never kept here: only that it is set.
            let raw: Vec<String> = matches
                .get_raw(key.arg)
                .map(|values| values.map(|v| v.to_string_lossy().into_owned()).collect())
                .unwrap_or_default();
            let raw = if secret && !raw.is_empty() {
                vec!["********".into()]
            } else {
                raw
            };
            let from_file = file.and_then(|f| f.values.iter().find(|v| v.key.path == key.path));
            let source = match (matches.value_source(key.arg), from_file) {
                (Some(ValueSource::CommandLine), _) => Source::Flag,
                (Some(ValueSource::EnvVariable), _) => Source::Environment(env.clone().unwrap_or_default()),
                (Some(ValueSource::DefaultValue), Some(v)) => Source::File { line: v.line },
                (Some(ValueSource::DefaultValue), None) => Source::Default,
                _ => Source::Unset,
            };
            Effective {
                key,
                secret,
                env,
                raw,
                source,
            }
        })
        .collect()
}

/// On Unix, says when a file holding secrets may be read by other users.
fn warn_if_readable_by_others(path: &Path) {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        if let Ok(meta) = std::fs::metadata(path)
            && meta.permissions().mode() & 0o004 != 0
        {
            // Before logging is of use (and on stderr, so that `check-config` prints only the file).
            eprintln!(
                "stageboard: warning: {} holds secrets and every user of this machine may read it: chmod 600 it, or move the secrets to the environment.",
                path.display()
            );
        }
    }
}

/// A URL with a password in it (which the server refuses) shown without the password.
fn without_password(text: &str) -> String {
    match url::Url::parse(text) {
        Ok(mut url) if url.password().is_some() => {
            let _ = url.set_password(Some("********"));
            url.to_string()
        }
        _ => text.to_owned(),
    }
}

/// TOML's basic string for `text`.
fn quoted(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 2);
    out.push('"');
    for c in text.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            c if c.is_control() => out.push_str(&format!("\\u{:04X}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// `stageboard check-config`: the configuration the server would run with, as a file (secrets
/// masked), each value with where it came from.
pub fn render(origin: &Origin) -> String {
    let file = origin
        .file
        .as_ref()
        .map(|p| p.display().to_string())
        .unwrap_or_else(|| "no configuration file".into());
    let mut out = format!(
        "# The configuration stageboard runs with. A flag beats the environment, which beats the\n# file ({file}), which beats the default.\n"
    );
    let mut section = "";
    for setting in &origin.settings {
        let (table, name) = setting.key.path.rsplit_once('.').unwrap_or(("", setting.key.path));
        if table != section && !table.is_empty() {
            out.push_str(&format!("\n[{table}]\n"));
            section = table;
        }
        let env = setting.env.as_deref().unwrap_or("-");
        let source = match &setting.source {
            Source::Flag => "from the command line".to_owned(),
            Source::Environment(var) => format!("from {var}"),
            Source::File { line } => format!("from {file}:{line}; or {env}"),
            Source::Default => format!("default; or {env}"),
            Source::Unset => format!("not set; or {env}"),
        };
        if setting.source == Source::Unset {
            let name = if setting.key.kind == Kind::Boards {
                "[boards]"
            } else {
                name
            };
            out.push_str(&format!("# {name}  # {source}\n"));
            continue;
        }
        if setting.key.kind == Kind::Boards {
            // A key at the top, so it comes after every section, as a table of its own.
            out.push_str(&format!("\n[boards]  # {source}\n"));
            for pair in &setting.raw {
                let (board, parameters) = pair.split_once('=').unwrap_or((pair, ""));
                out.push_str(&format!("{} = {}\n", quoted(board), quoted(parameters)));
            }
            continue;
        }
        let value = if setting.secret {
            quoted("********")
        } else {
            match setting.key.kind {
                // As parsed (the environment may say `007`), else as given, quoted.
                Kind::Number => match setting.raw.join(",").parse::<u64>() {
                    Ok(n) => n.to_string(),
                    Err(_) => quoted(&setting.raw.join(",")),
                },
                Kind::Switch => match setting.raw.join(",").as_str() {
                    "true" | "false" => setting.raw.join(","),
                    other => quoted(other),
                },
                Kind::Text => quoted(&without_password(&setting.raw.join(","))),
                Kind::List => format!(
                    "[{}]",
                    setting
                        .raw
                        .iter()
                        .map(|v| quoted(&without_password(v)))
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
                Kind::Pairs | Kind::Boards => format!(
                    "{{ {} }}",
                    setting
                        .raw
                        .iter()
                        .map(|pair| {
                            let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
                            format!("{} = {}", quoted(k), quoted(v))
                        })
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
            }
        };
        out.push_str(&format!("{name} = {value}  # {source}\n"));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Config;

    fn args(extra: &[&str]) -> Vec<OsString> {
        std::iter::once("stageboard")
            .chain(extra.iter().copied())
            .map(OsString::from)
            .collect()
    }

    /// The file `text` (called test.toml) under the command line `extra`.
    fn read(text: &str, extra: &[&str]) -> Result<Loaded, String> {
        let file = parse(Path::new("test.toml"), text)?;
        assemble(args(extra), Some(file)).map_err(|e| match e {
            Failure::File(message) => message,
            Failure::Arguments(e) => e.to_string(),
        })
    }

    #[test]
    fn every_setting_has_one_key_and_every_key_one_setting() {
        let command = Cli::command();
        let settings: Vec<&str> = command
            .get_arguments()
            .filter(|a| a.get_env().is_some() && a.get_id() != "config")
            .map(|a| a.get_id().as_str())
            .collect();
        let keyed: Vec<&str> = KEYS.iter().map(|k| k.arg).collect();
        let missing: Vec<&&str> = settings.iter().filter(|s| !keyed.contains(s)).collect();
        assert!(
            missing.is_empty(),
            "settings without a key in stageboard.toml: {missing:?}"
        );
        let extra: Vec<&&str> = keyed.iter().filter(|k| !settings.contains(k)).collect();
        assert!(extra.is_empty(), "keys naming no setting: {extra:?}");
        for (i, key) in KEYS.iter().enumerate() {
            assert!(
                KEYS[i + 1..].iter().all(|k| k.path != key.path && k.arg != key.arg),
                "{} twice",
                key.path
            );
        }
    }

    #[test]
    fn the_example_file_is_a_valid_configuration() {
        let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../stageboard.example.toml");
        let text = std::fs::read_to_string(&path).unwrap();
        let file = parse(&path, &text).unwrap();
        let loaded = assemble(args(&["--gitlab-token", "glpat-example"]), Some(file)).unwrap();
        // Every key is in the example: set, or (the secrets) shown commented out.
        for setting in &loaded.origin.settings {
            let (_, name) = setting.key.path.rsplit_once('.').unwrap_or(("", setting.key.path));
            if setting.secret {
                assert!(
                    text.contains(&format!("# {name} = ")),
                    "{} is not shown",
                    setting.key.path
                );
            } else {
                assert!(
                    matches!(setting.source, Source::File { .. }),
                    "{} is not in the example: {:?}",
                    setting.key.path,
                    setting.source
                );
            }
        }
        let Loaded { serve, origin, .. } = loaded;
        let config = Config::from_args(serve).map_err(|e| origin.explain(e)).unwrap();
        assert_eq!(config.listen.to_string(), "127.0.0.1:8080");
        assert_eq!(
            config.selection.projects,
            ["platform/payments", "platform/checkout", "42"]
        );
        assert_eq!(config.selection.groups, ["platform"]);
        assert_eq!(config.selection.topics, ["service"]);
        assert!(!config.selection.keeps("platform/ops/sandbox-tools"));
        assert_eq!(config.selection.refresh.as_secs(), 600);
        assert_eq!(config.namespaces.namespace_of("review/fix-login"), "review");
        assert_eq!(config.boards.names().collect::<Vec<_>>(), ["lobby", "payments"]);
        assert_eq!(config.hub.idle.as_secs(), 40);
        assert_eq!(config.store.data_dir, Path::new("/var/lib/stageboard"));
        assert!(config.summary().contains("GitLab at https://gitlab.example.com/"));
    }

    #[test]
    fn a_board_is_a_table_of_the_walls_parameters() {
        let loaded = read(
            "[boards.payments]\nprojects = [\"platform/payments*\", 42]\nrefs = [\"main\", \"release/*\"]\nhide_green = true\ncolumns = 4\n\n[boards]\nlobby = \"rotate=payments&every=30\"\n",
            &[],
        )
        .unwrap();
        let boards = loaded.serve.boards.clone();
        assert_eq!(
            boards,
            [
                "payments=projects=platform/payments*,42&refs=main,release/*&hide_green=1&columns=4",
                "lobby=rotate=payments&every=30"
            ]
        );
        let config = Config::from_args(loaded.serve).unwrap();
        assert_eq!(config.boards.names().collect::<Vec<_>>(), ["payments", "lobby"]);
    }

    #[test]
    fn mistakes_name_the_file_the_line_and_the_key() {
        for (text, says) in [
            (
                "[server]\n\nlisten = \"nope\"\n",
                "test.toml:3: `server.listen` = \"nope\" is not valid: invalid socket address",
            ),
            (
                "[server]\nlisten = 8080\n",
                "test.toml:2: `server.listen` is a string in quotes",
            ),
            (
                "[server]\nlistne = \"x\"\n",
                "test.toml:2: unknown key `server.listne`; [server] has listen, public_url",
            ),
            (
                "[sever]\nlisten = \"x\"\n",
                "test.toml:1: unknown section or key `sever`",
            ),
            ("[server]\nlisten = \"x\n", "test.toml:2: this is not TOML"),
            (
                "[server]\nlisten = \"a:1\"\nlisten = \"b:2\"\n",
                "test.toml:3: this is not TOML: duplicate key",
            ),
            ("server = 1\n", "test.toml:1: `server` is a section"),
            (
                "[cluster]\nmode = \"sometimes\"\n",
                "test.toml:2: `cluster.mode` = \"sometimes\" is not valid: give one of off, kubeconfig, in-cluster, auto",
            ),
            (
                "[server]\nmax_streams = -1\n",
                "test.toml:2: `server.max_streams` is a whole number, 0 or more",
            ),
            (
                "[gitlab]\ntimeout = \"15\"\n",
                "test.toml:2: `gitlab.timeout` is a whole number",
            ),
            (
                "[gitlab]\nallow_http = \"yes\"\n",
                "test.toml:2: `gitlab.allow_http` is true or false",
            ),
            (
                "[selection]\nprojects = \"a/b\"\n",
                "test.toml:2: `selection.projects` is a list",
            ),
            (
                "[selection]\nprojects = [\"a,b\"]\n",
                "test.toml:2: `selection.projects` has `a,b`",
            ),
            (
                "[cluster.environment_namespaces]\nlive = 3\n",
                "test.toml:2: `cluster.environment_namespaces` maps names to strings",
            ),
            (
                "[boards]\n\nlobby = 3\n",
                "test.toml:3: `boards` board `lobby` is the wall's parameters",
            ),
            (
                "[boards]\na = \"refs=x;y\"\n",
                "test.toml:2: `boards` board `a` has a `;`",
            ),
        ] {
            let error = read(text, &[]).map(|_| ()).expect_err(text);
            assert!(error.contains(says), "{text:?}:\n  said  {error}\n  not   {says}");
        }
    }

    #[test]
    fn a_secret_in_the_file_is_never_echoed() {
        let error = read("[gitlab]\ntoken = 7\n", &[]).map(|_| ()).unwrap_err();
        assert!(error.contains("`gitlab.token`"), "{error}");
        let error = read(
            "[storage]\ndata_dir = \"d\"\ndatabase_url = \"postgres://u:hunter2@h/db\"\n",
            &[],
        )
        .map(|_| ());
        assert!(error.is_ok(), "a database URL is a string");
        let url = read("[gitlab]\nurl = \"https://root:hunter2@gitlab.example.com\"\n", &[]).unwrap();
        let printed = render(&url.origin);
        assert!(
            printed.contains("url = \"https://root:********@gitlab.example.com/\""),
            "{printed}"
        );
        let loaded = read("[gitlab]\nwebhook_secret = \"hunter2-but-short\"\nurl = \"https://gitlab.example.com\"\ntoken = \"glpat-hunter2\"\n[server]\nmetrics_token = \"hunter2\"\n", &[]).unwrap();
        let printed = render(&loaded.origin);
        assert!(!printed.contains("hunter2"), "{printed}");
        assert!(!format!("{loaded:?}").contains("hunter2"), "nor in debug output");
        assert!(
            printed.contains("token = \"********\"  # from test.toml:4"),
            "{printed}"
        );
        assert!(printed.contains("metrics_token = \"********\""), "{printed}");
    }

    #[test]
    fn errors_from_the_whole_configuration_point_at_the_files_line() {
        let loaded = read("[server]\nmax_streams = 10\n\nmax_streams_per_address = 0\n", &[]).unwrap();
        let Loaded { serve, origin, .. } = loaded;
        let error = origin.explain(Config::from_args(serve).unwrap_err());
        assert!(
            error.contains("STAGEBOARD_MAX_STREAMS_PER_ADDRESS is 0")
                && error.contains("is `server.max_streams_per_address` at test.toml:4")
                && !error.contains("`server.max_streams` at"),
            "{error}"
        );
        // From the command line it says nothing of the file.
        let loaded = read("[server]\nmax_streams = 10\n", &["--max-streams-per-address", "0"]).unwrap();
        let Loaded { serve, origin, .. } = loaded;
        let error = origin.explain(Config::from_args(serve).unwrap_err());
        assert!(!error.contains("test.toml"), "{error}");
    }

    #[test]
    fn a_flag_beats_the_file_and_the_file_beats_the_default() {
        let loaded = read(
            "[server]\nlisten = \"127.0.0.1:9001\"\n[gitlab]\npoll_idle = 90\nallow_http = true\n",
            &["--listen", "127.0.0.1:9002"],
        )
        .unwrap();
        assert_eq!(loaded.serve.listen.to_string(), "127.0.0.1:9002");
        assert_eq!(loaded.serve.poll_idle, 90);
        assert!(loaded.serve.gitlab_allow_http);
        assert_eq!(loaded.serve.poll_fast, 5);
        let source = |path: &str| {
            loaded
                .origin
                .settings
                .iter()
                .find(|s| s.key.path == path)
                .unwrap()
                .source
                .clone()
        };
        assert_eq!(source("server.listen"), Source::Flag);
        assert_eq!(source("gitlab.poll_idle"), Source::File { line: 4 });
        assert_eq!(source("gitlab.poll_fast"), Source::Default);
        assert_eq!(source("gitlab.url"), Source::Unset);
    }

    #[test]
    fn a_name_is_found_as_a_whole_word() {
        assert!(names("STAGEBOARD_MAX_STREAMS is 0.", "STAGEBOARD_MAX_STREAMS"));
        assert!(!names(
            "STAGEBOARD_MAX_STREAMS_PER_ADDRESS is 0",
            "STAGEBOARD_MAX_STREAMS"
        ));
        assert!(!names("XGITLAB_URL", "GITLAB_URL"));
        assert!(names("(GITLAB_URL)", "GITLAB_URL"));
    }
}
