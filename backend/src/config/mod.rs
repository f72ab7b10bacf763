//! Configuration, read once at start-up from the command line, the environment and the
//! configuration file (`file`).

pub mod file;

use std::net::SocketAddr;
use std::time::Duration;

use clap::{Args, Parser, Subcommand};
use secrecy::{ExposeSecret, SecretString};
use url::Url;

#[derive(Debug, Parser)]
#[command(
    name = "stageboard",
    version,
    about = "GitLab CI/CD pipeline dashboard and environments portal",
    long_about = "GitLab CI/CD pipeline dashboard and environments portal.\n\n\
        Without GITLAB_URL it runs in demo mode: a simulated GitLab starts in-process and the \
        dashboard shows its projects. With GITLAB_URL and GITLAB_TOKEN it watches a real GitLab."
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Option<Command>,
    /// A configuration file (stageboard.toml, see stageboard.example.toml): each setting below
    /// has its key there. A flag or an environment variable still beats the file.
    #[arg(long, env = "STAGEBOARD_CONFIG", global = true, value_name = "FILE")]
    pub config: Option<std::path::PathBuf>,
    #[command(flatten)]
    pub serve: ServeArgs,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run only the simulated GitLab, so that any GitLab client can be pointed at it.
    #[cfg(feature = "demo")]
    Sim(SimArgs),
    /// Kiosk tokens for wall screens that cannot sign in (the same store as the server:
    /// STAGEBOARD_DATA_DIR or STAGEBOARD_DATABASE_URL, or the configuration file's [storage];
    /// boards from STAGEBOARD_BOARDS or its [boards]).
    #[command(subcommand)]
    Kiosk(KioskCommand),
    /// Print the configuration the server would run with (secrets masked) and where each value
    /// comes from, then check it: exits non-zero, naming the setting, when it is wrong.
    CheckConfig,
}

#[derive(Debug, Subcommand)]
pub enum KioskCommand {
    /// Make a token for a board: prints it (shown this once) and the address to open on the
    /// screen.
    Create {
        /// The board the screen shows (a name from STAGEBOARD_BOARDS).
        #[arg(long)]
        board: String,
        /// Which screen it is, e.g. "lobby TV".
        #[arg(long, default_value = "")]
        label: String,
    },
    /// List the tokens: board, label, who made them and when, last use and from where.
    List,
    /// Revoke a token by its id: screens holding it stop at their next read.
    Revoke { id: i64 },
}

#[derive(Debug, Args)]
pub struct ServeArgs {
    /// Address to listen on.
    #[arg(long, env = "STAGEBOARD_LISTEN", default_value = "127.0.0.1:8080")]
    pub listen: SocketAddr,
    /// Host names browsers reach stageboard by (comma-separated, e.g. dash.example.com), besides
    /// this machine's loopback names and the listen address: a request addressed to any other
    /// name is refused (421), so that another site cannot reach it by DNS rebinding.
    #[arg(long, env = "STAGEBOARD_ALLOWED_HOSTS", value_delimiter = ',')]
    pub allowed_hosts: Vec<String>,
    /// The address people reach stageboard by, e.g. https://dash.example.com: its host is
    /// allowed, and over https browsers are told to use nothing else (HSTS).
    #[arg(long, env = "STAGEBOARD_PUBLIC_URL")]
    pub public_url: Option<Url>,
    /// GitLab to watch, e.g. https://gitlab.example.com. Without it, stageboard runs the demo.
    #[arg(long, env = "GITLAB_URL")]
    pub gitlab_url: Option<Url>,
    /// Allow GITLAB_URL to be plain http on a host that is not this machine (the token would
    /// cross the network unencrypted).
    /// `--gitlab-allow-http` alone turns it on, `--gitlab-allow-http=false` off (over the file).
    #[arg(long, env = "GITLAB_ALLOW_HTTP", default_value_t = false, action = clap::ArgAction::Set, num_args = 0..=1, require_equals = true, default_missing_value = "true")]
    pub gitlab_allow_http: bool,
    /// Token for reads (a personal, group or project access token with read_api).
    #[arg(long, env = "GITLAB_TOKEN", hide_env_values = true)]
    pub gitlab_token: Option<SecretString>,
    /// Projects to watch, comma-separated numeric ids or full paths (group/project). With no
    /// projects, groups or topics: every project the token's user is a member of.
    #[arg(long, env = "STAGEBOARD_PROJECTS", value_delimiter = ',')]
    pub projects: Vec<String>,
    /// Groups whose projects are watched, with their subgroups' (ids or full paths,
    /// comma-separated).
    #[arg(long, env = "STAGEBOARD_GROUPS", value_delimiter = ',')]
    pub groups: Vec<String>,
    /// Topics: the token user's projects with any of them are watched (comma-separated).
    #[arg(long, env = "STAGEBOARD_TOPICS", value_delimiter = ',')]
    pub topics: Vec<String>,
    /// Path patterns (`*` for any characters, e.g. `platform/*`): a project found by group,
    /// topic or membership is watched only if it matches one. Listed projects always are.
    #[arg(long, env = "STAGEBOARD_INCLUDE", value_delimiter = ',')]
    pub include: Vec<String>,
    /// Path patterns a project found by group, topic or membership must not match
    /// (e.g. `*/sandbox-*`).
    #[arg(long, env = "STAGEBOARD_EXCLUDE", value_delimiter = ',')]
    pub exclude: Vec<String>,
    /// Refs each project card shows besides the default branch: patterns, comma-separated
    /// (`release/*,v*`; `*` for any characters). Unset: the refs that ran most recently.
    #[arg(long, env = "STAGEBOARD_REFS", value_delimiter = ',')]
    pub refs: Vec<String>,
    /// Show each project's merge requests' latest pipelines (`refs/merge-requests/:iid/head`),
    /// with the merge request's title and link (`false` to leave them out).
    #[arg(long, env = "STAGEBOARD_MERGE_REQUESTS", default_value_t = true, action = clap::ArgAction::Set, num_args = 0..=1, require_equals = true, default_missing_value = "true")]
    pub merge_requests: bool,
    /// Also show each project's protected branches (`true`).
    #[arg(long, env = "STAGEBOARD_PROTECTED_REFS", default_value_t = false, action = clap::ArgAction::Set, num_args = 0..=1, require_equals = true, default_missing_value = "true")]
    pub protected_refs: bool,
    /// Seconds between readings of the selection (projects, groups, topics): a new project
    /// appears, and a removed or archived one disappears, within this.
    #[arg(long, env = "STAGEBOARD_SELECTION_REFRESH", default_value_t = 600)]
    pub selection_refresh: u64,
    /// Seconds to wait for GitLab before giving up on a request.
    #[arg(long, env = "STAGEBOARD_GITLAB_TIMEOUT", default_value_t = 15)]
    pub gitlab_timeout: u64,
    /// Where to read live cluster state: off, kubeconfig, in-cluster, or auto (kubeconfig, then
    /// in-cluster). The demo always watches its simulated cluster.
    #[arg(long, env = "STAGEBOARD_CLUSTER", value_enum, default_value_t = ClusterMode::Off)]
    pub cluster: ClusterMode,
    /// Namespaces to watch, comma-separated; the first is where environments live by default.
    #[arg(long, env = "STAGEBOARD_NAMESPACES", value_delimiter = ',', default_value = "gitlab")]
    pub namespaces: Vec<String>,
    /// The label that carries the GitLab environment slug on cluster objects.
    #[arg(long, env = "STAGEBOARD_CLUSTER_LABEL", default_value = "ref")]
    pub cluster_label: String,
    /// Environments that live elsewhere than the first namespace: `name=namespace`, a trailing
    /// `*` matching a prefix (`review/*=review`), comma-separated.
    #[arg(long, env = "STAGEBOARD_ENVIRONMENT_NAMESPACES", value_delimiter = ',')]
    pub environment_namespaces: Vec<String>,
    /// The secret token GitLab's webhooks carry (X-Gitlab-Token). Set it, and point Pipeline,
    /// Job and Deployment events at /hooks/gitlab, for changes within a second and less polling.
    #[arg(long, env = "STAGEBOARD_WEBHOOK_SECRET", hide_env_values = true)]
    pub webhook_secret: Option<SecretString>,
    /// GitLab's webhook signing token (`whsec_...`, Standard Webhooks): when set, deliveries must
    /// carry a valid `webhook-signature` no older than five minutes.
    #[arg(long, env = "STAGEBOARD_WEBHOOK_SIGNING_TOKEN", hide_env_values = true)]
    pub webhook_signing_token: Option<SecretString>,
    /// When set, /metrics answers only `Authorization: Bearer <this token>` (what Prometheus'
    /// `authorization` setting sends).
    #[arg(long, env = "STAGEBOARD_METRICS_TOKEN", hide_env_values = true)]
    pub metrics_token: Option<SecretString>,
    /// How many event streams (open pages) may be open at once; past it, pages fall back to
    /// their timers. The fan-out benchmark measured about 20 KB per stream.
    #[arg(long, env = "STAGEBOARD_MAX_STREAMS", default_value_t = 4000)]
    pub max_streams: usize,
    /// How many connections may be open at once (each event stream is one, and a browser keeps
    /// a few more for a while); past it, new ones wait until one closes. Lowered to what the
    /// open-files limit holds.
    #[arg(long, env = "STAGEBOARD_MAX_CONNECTIONS", default_value_t = 8192)]
    pub max_connections: usize,
    /// Proxies in front of stageboard (addresses or networks, e.g. 10.0.0.0/8, comma-separated)
    /// whose X-Forwarded-For names the client; anyone else's is ignored.
    #[arg(long, env = "STAGEBOARD_TRUSTED_PROXIES", value_delimiter = ',')]
    pub trusted_proxies: Vec<String>,
    /// Event streams one client address may hold at once (off unless set). Set it where an
    /// address is one person or machine, e.g. behind a trusted proxy: many people behind one
    /// address (an office's NAT) share it, and an IPv6 client counts by its /64.
    #[arg(long, env = "STAGEBOARD_MAX_STREAMS_PER_ADDRESS")]
    pub max_streams_per_address: Option<usize>,
    /// The OAuth application registered in GitLab (Admin › Applications, or a group's or
    /// user's): people sign in with it and act with their own GitLab rights. Needs
    /// STAGEBOARD_PUBLIC_URL (the callback is `<public url>/auth/callback`).
    #[arg(long, env = "GITLAB_OAUTH_CLIENT_ID")]
    pub oauth_client_id: Option<String>,
    /// Who may read: `login` (pages send visitors to GitLab's sign-in, and a person sees the
    /// watched projects GitLab lets them read) or `public` (reads open to whoever reaches the
    /// server; actions still need a sign-in). Default: `login` where people can sign in
    /// (GITLAB_OAUTH_CLIENT_ID), `public` otherwise and in demo mode.
    #[arg(long, env = "STAGEBOARD_ACCESS")]
    pub access: Option<String>,
    /// The application's secret, for a confidential application (a non-confidential one signs
    /// in with PKCE alone).
    #[arg(long, env = "GITLAB_OAUTH_CLIENT_SECRET", hide_env_values = true)]
    pub oauth_client_secret: Option<SecretString>,
    /// Where stageboard keeps what outlives a restart: the audit log (SQLite), the key that
    /// seals people's GitLab tokens. Back it up.
    #[arg(long, env = "STAGEBOARD_DATA_DIR", default_value = "./data")]
    pub data_dir: std::path::PathBuf,
    /// A PostgreSQL database (postgres://user:password@host:5432/db) instead of SQLite, for
    /// replicas that share sessions and the audit log.
    #[arg(long, env = "STAGEBOARD_DATABASE_URL", hide_env_values = true)]
    pub database_url: Option<SecretString>,
    /// With replicas (STAGEBOARD_DATABASE_URL): the address the other replicas reach this one
    /// at, e.g. http://10.0.0.5:8080, to read through the replica that polls GitLab.
    #[arg(long, env = "STAGEBOARD_REPLICA_URL")]
    pub replica_url: Option<Url>,
    /// The key sealing people's GitLab tokens at rest: 32 bytes in base64 (`openssl rand
    /// -base64 32`). Unset: made once into the data directory as secret.key.
    #[arg(long, env = "STAGEBOARD_SECRET_KEY", hide_env_values = true)]
    pub secret_key: Option<SecretString>,
    /// Seconds between the hub's questions to GitLab while pipelines run.
    #[arg(long, env = "STAGEBOARD_POLL_FAST", default_value_t = 5)]
    pub poll_fast: u64,
    /// Seconds between them while nothing runs.
    #[arg(long, env = "STAGEBOARD_POLL_IDLE", default_value_t = 40)]
    pub poll_idle: u64,
    /// Seconds between them while the project's webhooks arrive (polling is the safety net).
    #[arg(long, env = "STAGEBOARD_POLL_HOOKED", default_value_t = 300)]
    pub poll_hooked: u64,
    /// Wall boards, `name=parameters` separated by `;`: each shown at /wall/<name>, its
    /// parameters those /wall takes in its address (projects, refs, environments, hide_green,
    /// columns, rotate, every), e.g. `payments=projects=payments/*&refs=main,release/*&hide_green=1`.
    #[arg(long = "board", env = "STAGEBOARD_BOARDS", value_delimiter = ';')]
    pub boards: Vec<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum ClusterMode {
    Off,
    Kubeconfig,
    InCluster,
    Auto,
}

#[cfg(feature = "demo")]
#[derive(Debug, Args)]
pub struct SimArgs {
    /// Address to listen on.
    #[arg(long, env = "STAGEBOARD_SIM_LISTEN", default_value = "127.0.0.1:8081")]
    pub listen: SocketAddr,
    /// Token clients must send (PRIVATE-TOKEN or Authorization: Bearer).
    #[arg(long, env = "STAGEBOARD_SIM_TOKEN", hide_env_values = true)]
    pub token: String,
    /// Requests per minute before answering 429.
    #[arg(long, default_value_t = 2000)]
    pub rate_limit: u32,
    /// Seed of the story; the same seed gives the same history.
    #[arg(long, default_value_t = 2026)]
    pub seed: u64,
    /// Days of past pipelines to start with.
    #[arg(long, default_value_t = 3)]
    pub history_days: i64,
    /// Extra feature branches with their own review app (environment and cluster objects), as
    /// load for benchmarks.
    #[arg(long, default_value_t = 0)]
    pub review_apps: usize,
    /// Projects to simulate: the story's three and more built like them (load for benchmarks).
    #[arg(long, default_value_t = 3)]
    pub projects: usize,
    /// No new pushes or tags: a quiet GitLab, for measuring what watching costs when nothing happens.
    #[arg(long)]
    pub quiet: bool,
    /// Send Pipeline, Job and Deployment webhooks here (e.g. http://127.0.0.1:8080/hooks/gitlab).
    #[arg(long)]
    pub webhook_url: Option<Url>,
    /// The secret token the webhooks carry.
    #[arg(long, hide_env_values = true)]
    pub webhook_secret: Option<String>,
}

/// Where stageboard's GitLab is.
#[derive(Debug)]
pub enum GitlabSource {
    /// The simulated GitLab, started in-process.
    #[cfg(feature = "demo")]
    Demo(Demo),
    Gitlab {
        url: Url,
        token: SecretString,
    },
}

/// The demo's simulated GitLab and cluster.
#[cfg(feature = "demo")]
#[derive(Debug)]
pub struct Demo {
    pub clock: stageboard_sim::Clock,
    pub sim: stageboard_sim::SimConfig,
    /// Watch the simulated cluster (environments' live state).
    pub cluster: bool,
    /// The simulated GitLab sends its webhooks to this server, as a real one would be told to.
    pub webhooks: bool,
}

#[cfg(feature = "demo")]
impl Default for Demo {
    fn default() -> Self {
        use rand::Rng;
        Demo {
            clock: stageboard_sim::Clock::real(),
            sim: stageboard_sim::SimConfig {
                token: format!("glpat-demo-{:016x}", rand::rng().random::<u64>()),
                ..stageboard_sim::SimConfig::default()
            },
            cluster: true,
            webhooks: true,
        }
    }
}

#[derive(Debug)]
pub struct Config {
    pub listen: SocketAddr,
    /// Host names requests may be addressed to, besides loopback and the listen address.
    pub allowed_hosts: Vec<String>,
    /// Where people reach stageboard (validated: http(s), a host, nothing after it).
    pub public_url: Option<Url>,
    /// Where the other replicas reach this one (with PostgreSQL); `None`: the listen address.
    pub replica_url: Option<Url>,
    pub gitlab_source: GitlabSource,
    /// Which projects are watched.
    pub selection: crate::selection::Selection,
    /// Which refs a card shows besides the default branch.
    pub refs: crate::selection::RefSelection,
    pub gitlab: crate::gitlab::ClientOptions,
    pub cluster: ClusterMode,
    pub namespaces: crate::app::NamespaceMap,
    pub cluster_label: String,
    pub webhook_secret: Option<SecretString>,
    pub webhook_signing_token: Option<SecretString>,
    pub metrics_token: Option<SecretString>,
    pub max_streams: usize,
    /// What the server holds: connections, time to send headers.
    pub limits: crate::listen::Limits,
    /// Proxies whose X-Forwarded-For is believed.
    pub trusted_proxies: Vec<ipnet::IpNet>,
    pub max_streams_per_address: Option<usize>,
    pub hub: crate::hub::HubSettings,
    /// The audit log and sealed tokens.
    pub store: crate::store::StoreConfig,
    /// Signing in with GitLab, when configured (demo mode configures its own).
    pub oauth: Option<crate::auth::OAuthConfig>,
    /// STAGEBOARD_ACCESS; `None`: `login` with OAuth configured, else `public`.
    pub access: Option<crate::access::Access>,
    /// Wall boards by name.
    pub boards: crate::boards::Boards,
}

/// STAGEBOARD_REPLICA_URL: an http(s) origin the other replicas reach this one at.
fn replica_url(url: Url) -> Result<Url, String> {
    let fine = matches!(url.scheme(), "http" | "https")
        && url.host_str().is_some()
        && url.username().is_empty()
        && url.password().is_none()
        && url.path() == "/"
        && url.query().is_none();
    if fine {
        Ok(url)
    } else {
        // Not quoted back: it may carry a password.
        Err("STAGEBOARD_REPLICA_URL is not an http(s) origin without a user, path or query; give the address other replicas reach this one at, e.g. http://10.0.0.5:8080.".into())
    }
}

/// STAGEBOARD_PUBLIC_URL: an http(s) origin that stageboard is served at the root of.
fn public_url(url: Url) -> Result<Url, String> {
    let problem = if !matches!(url.scheme(), "http" | "https") {
        Some("is not http or https")
    } else if url.host_str().is_none_or(str::is_empty) {
        Some("names no host")
    } else if !url.username().is_empty() || url.password().is_some() {
        Some("carries a user name or password")
    } else if url.path() != "/" || url.query().is_some() || url.fragment().is_some() {
        Some("has a path, query or fragment; stageboard is served at the root of its host")
    } else {
        None
    };
    match problem {
        Some(problem) => Err(format!(
            "STAGEBOARD_PUBLIC_URL {problem}; give the address people open, e.g. https://dash.example.com."
        )),
        None => Ok(url),
    }
}

/// GITLAB_URL as the address the token may be sent to: GitLab's own base (with its relative URL
/// root if it has one), https unless GitLab is on this machine or plain http is allowed.
fn gitlab_base(url: Url, allow_http: bool) -> Result<Url, String> {
    if !url.username().is_empty() || url.password().is_some() {
        // Not echoed: it holds a password.
        return Err("GITLAB_URL carries a user name or password: remove it (https://gitlab.example.com) and put the token in GITLAB_TOKEN.".into());
    }
    let Some(host) = url.host() else {
        return Err(format!(
            "GITLAB_URL {url} names no host: set it to GitLab's address, e.g. https://gitlab.example.com."
        ));
    };
    if url.query().is_some() || url.fragment().is_some() {
        return Err(format!(
            "GITLAB_URL {url} has a `?…` or `#…` part: set it to GitLab's base address, e.g. https://gitlab.example.com."
        ));
    }
    let segments: Vec<&str> = url
        .path_segments()
        .into_iter()
        .flatten()
        .filter(|s| !s.is_empty())
        .collect();
    if segments
        .iter()
        .any(|s| matches!(*s, "api" | "-" | "graphql") || s.ends_with(".git"))
    {
        return Err(format!(
            "GITLAB_URL {url} is an API, project or repository address: set it to GitLab's base address (https://gitlab.example.com, or with its relative URL root, e.g. https://example.com/gitlab)."
        ));
    }
    let loopback = match host {
        url::Host::Domain(name) => name == "localhost" || name.ends_with(".localhost"),
        url::Host::Ipv4(ip) => ip.is_loopback(),
        url::Host::Ipv6(ip) => ip.is_loopback(),
    };
    match url.scheme() {
        "https" => Ok(url),
        "http" if loopback || allow_http => Ok(url),
        "http" => Err(format!(
            "GITLAB_URL {url} is plain http to another machine: the token would cross the network unencrypted. Use https, or set GITLAB_ALLOW_HTTP=true if this network is trusted."
        )),
        other => Err(format!(
            "GITLAB_URL {url} uses `{other}`: GitLab is reached over https (or http)."
        )),
    }
}

impl Config {
    /// One line on what this configuration watches and where it keeps things, for
    /// `check-config`.
    pub fn summary(&self) -> String {
        let gitlab = match &self.gitlab_source {
            #[cfg(feature = "demo")]
            GitlabSource::Demo(_) => "the demo's simulated GitLab".to_owned(),
            GitlabSource::Gitlab { url, .. } => format!("GitLab at {url}"),
        };
        let projects = self.selection.describe();
        let boards: Vec<&str> = self.boards.names().collect();
        let boards = if boards.is_empty() {
            "no named boards".to_owned()
        } else {
            format!("boards {}", boards.join(", "))
        };
        let storage = if self.store.database_url.is_some() {
            "PostgreSQL".to_owned()
        } else {
            format!("SQLite in {}", self.store.data_dir.display())
        };
        format!(
            "watches {gitlab}, {projects}; listens on {}; {boards}; keeps its data in {storage}",
            self.listen
        )
    }

    pub fn from_args(args: ServeArgs) -> Result<Self, String> {
        let upstream = match (args.gitlab_url, args.gitlab_token) {
            #[cfg(feature = "demo")]
            (None, _) => GitlabSource::Demo(Demo::default()),
            #[cfg(not(feature = "demo"))]
            (None, _) => {
                return Err(
                    "GITLAB_URL is not set, and this build has no demo mode (build with `--features demo` for one): set GITLAB_URL and GITLAB_TOKEN.".into(),
                );
            }
            (Some(url), Some(token)) => GitlabSource::Gitlab {
                url: gitlab_base(url, args.gitlab_allow_http)?,
                token,
            },
            (Some(mut url), None) => {
                if url.password().is_some() {
                    let _ = url.set_password(Some("********"));
                }
                return Err(format!(
                    "GITLAB_URL is set to {url} but GITLAB_TOKEN is not: create a token with the read_api scope in GitLab (User settings > Access tokens) and set GITLAB_TOKEN."
                ));
            }
        };
        let list = |values: Vec<String>| -> Vec<String> {
            values
                .into_iter()
                .map(|v| v.trim().to_owned())
                .filter(|v| !v.is_empty())
                .collect()
        };
        if !(30..=86_400).contains(&args.selection_refresh) {
            return Err(format!(
                "STAGEBOARD_SELECTION_REFRESH is {}; give a number of seconds from 30 to 86400.",
                args.selection_refresh
            ));
        }
        let selection = crate::selection::Selection {
            projects: list(args.projects),
            groups: list(args.groups),
            topics: list(args.topics),
            include: list(args.include),
            exclude: list(args.exclude),
            refresh: Duration::from_secs(args.selection_refresh),
        };
        let mut rules = Vec::new();
        for rule in args
            .environment_namespaces
            .iter()
            .map(|r| r.trim())
            .filter(|r| !r.is_empty())
        {
            let (name, namespace) = rule.split_once('=').ok_or_else(|| {
                format!("STAGEBOARD_ENVIRONMENT_NAMESPACES has `{rule}`; write name=namespace, e.g. review/*=review.")
            })?;
            rules.push((name.trim().to_owned(), namespace.trim().to_owned()));
        }
        let mut watched = args
            .namespaces
            .iter()
            .map(|n| n.trim().to_owned())
            .filter(|n| !n.is_empty());
        let default = watched.next().unwrap_or_else(|| "gitlab".into());
        let namespaces = crate::app::NamespaceMap {
            default,
            rules,
            also: watched.collect(),
        };
        let cluster_label = args.cluster_label.trim().to_owned();
        if cluster_label.is_empty() {
            return Err(
                "STAGEBOARD_CLUSTER_LABEL is empty; it names the label carrying the environment slug (ref).".into(),
            );
        }
        if args
            .webhook_secret
            .as_ref()
            .is_some_and(|s| s.expose_secret().trim().len() < 16)
        {
            return Err("STAGEBOARD_WEBHOOK_SECRET is shorter than 16 characters: use a long random string, and the same in GitLab's webhook settings.".into());
        }
        if let Some(token) = &args.webhook_signing_token {
            use base64::Engine;
            let raw = token.expose_secret().trim();
            let decoded = base64::engine::general_purpose::STANDARD.decode(raw.trim_start_matches("whsec_"));
            if !raw.starts_with("whsec_") || decoded.is_err() {
                return Err(
                    "STAGEBOARD_WEBHOOK_SIGNING_TOKEN must be GitLab's signing token, whsec_ followed by base64."
                        .into(),
                );
            }
        }
        let seconds = |name: &str, s: u64| {
            if (1..=3600).contains(&s) {
                Ok(Duration::from_secs(s))
            } else {
                Err(format!("{name} is {s}; give a number of seconds from 1 to 3600."))
            }
        };
        let hub = crate::hub::HubSettings {
            fast: seconds("STAGEBOARD_POLL_FAST", args.poll_fast)?,
            idle: seconds("STAGEBOARD_POLL_IDLE", args.poll_idle)?,
            hooked: seconds("STAGEBOARD_POLL_HOOKED", args.poll_hooked)?,
            // Half the refresh: each reading finds the last one's listings expired.
            listings: selection.refresh / 2,
            ..crate::hub::HubSettings::default()
        };
        if args.max_streams_per_address == Some(0) {
            return Err("STAGEBOARD_MAX_STREAMS_PER_ADDRESS is 0, which refuses every page its events; leave it unset for no per-address bound.".into());
        }
        let public_url = args.public_url.map(public_url).transpose()?;
        let replica_url = args.replica_url.map(replica_url).transpose()?;
        if args.database_url.is_some() && replica_url.is_none() && args.listen.ip().is_unspecified() {
            return Err(format!(
                "With STAGEBOARD_DATABASE_URL, replicas read through the one that polls GitLab, and STAGEBOARD_LISTEN ({}) does not say where the others reach this one: set STAGEBOARD_REPLICA_URL, e.g. http://$(POD_IP):8080 in Kubernetes.",
                args.listen
            ));
        }
        let oauth = match (
            args.oauth_client_id.filter(|id| !id.trim().is_empty()),
            args.oauth_client_secret,
        ) {
            (Some(client_id), secret) => {
                if public_url.is_none() {
                    return Err("GITLAB_OAUTH_CLIENT_ID needs STAGEBOARD_PUBLIC_URL: GitLab sends people back to <public url>/auth/callback, the redirect URI registered with the application.".into());
                }
                Some(crate::auth::OAuthConfig {
                    client_id: client_id.trim().to_owned(),
                    client_secret: secret,
                })
            }
            (None, Some(_)) => {
                return Err("GITLAB_OAUTH_CLIENT_SECRET is set without GITLAB_OAUTH_CLIENT_ID; set both (or only the id for a non-confidential application).".into());
            }
            (None, None) => None,
        };
        let access = args
            .access
            .as_deref()
            .filter(|a| !a.trim().is_empty())
            .map(crate::access::Access::parse)
            .transpose()?;
        if access == Some(crate::access::Access::Login)
            && oauth.is_none()
            && matches!(upstream, GitlabSource::Gitlab { .. })
        {
            return Err("STAGEBOARD_ACCESS=login needs people to sign in, and signing in is not set up: set GITLAB_OAUTH_CLIENT_ID (docs/operations.md, \"Signing in with GitLab\"), or STAGEBOARD_ACCESS=public.".into());
        }
        Ok(Config {
            boards: crate::boards::Boards::parse(&args.boards)?,
            access,
            oauth,
            store: crate::store::StoreConfig {
                data_dir: args.data_dir,
                database_url: args.database_url,
                secret_key: args.secret_key,
            },
            public_url,
            replica_url,
            trusted_proxies: crate::client::parse_trusted(&args.trusted_proxies)?,
            max_streams_per_address: args.max_streams_per_address,
            webhook_secret: args.webhook_secret,
            metrics_token: args.metrics_token,
            max_streams: args.max_streams,
            limits: crate::listen::Limits {
                max_connections: args.max_connections,
                ..crate::listen::Limits::default()
            },
            webhook_signing_token: args.webhook_signing_token,
            hub,
            listen: args.listen,
            allowed_hosts: args
                .allowed_hosts
                .into_iter()
                .filter(|h| !h.trim().is_empty())
                .collect(),
            gitlab_source: upstream,
            selection,
            refs: crate::selection::RefSelection {
                patterns: list(args.refs),
                protected: args.protected_refs,
                merge_requests: args.merge_requests,
            },
            gitlab: crate::gitlab::ClientOptions {
                timeout: Duration::from_secs(args.gitlab_timeout.max(1)),
                ..crate::gitlab::ClientOptions::default()
            },
            cluster: args.cluster,
            namespaces,
            cluster_label,
        })
    }
}

#[cfg(test)]
mod tests {
    /// The README's configuration table is the reference: every setting the server reads from
    /// the environment has its row, and every row names a setting that exists.
    #[test]
    fn the_readme_documents_every_setting_and_no_other() {
        use clap::CommandFactory;
        let readme = include_str!("../../../README.md");
        let section = readme
            .split("## Configuration")
            .nth(1)
            .and_then(|rest| rest.split("\n## ").next())
            .expect("the README has a Configuration section");
        let rows: Vec<String> = section
            .lines()
            .filter_map(|line| line.strip_prefix("| `")?.split('`').next().map(str::to_owned))
            .collect();
        let settings: Vec<String> = super::Cli::command()
            .get_arguments()
            .filter_map(|arg| arg.get_env()?.to_str().map(str::to_owned))
            .collect();
        assert!(settings.len() > 20, "{settings:?}");
        let undocumented: Vec<&String> = settings.iter().filter(|s| !rows.contains(s)).collect();
        assert!(
            undocumented.is_empty(),
            "settings the README's table lacks: {undocumented:?}"
        );
        let unknown: Vec<&String> = rows
            .iter()
            .filter(|r| !settings.contains(r) && *r != "RUST_LOG")
            .collect();
        assert!(unknown.is_empty(), "rows naming no setting: {unknown:?}");
        // The second column is the setting's key in stageboard.toml.
        for arg in super::Cli::command().get_arguments() {
            let (Some(env), Some(key)) = (arg.get_env(), file::key_of(arg.get_id().as_str())) else {
                continue;
            };
            let row = format!("| `{}` | `{}` |", env.to_str().unwrap(), key.path);
            assert!(
                section.contains(&row),
                "the README's row for {env:?} should begin {row}"
            );
        }
    }

    use super::*;

    #[test]
    fn a_url_without_a_token_is_refused_with_directions() {
        let cli = Cli::try_parse_from(["stageboard", "--gitlab-url", "https://gitlab.example.com"]).unwrap();
        let error = Config::from_args(cli.serve).unwrap_err();
        assert!(error.contains("GITLAB_TOKEN") && error.contains("read_api"), "{error}");
    }

    #[test]
    fn the_token_never_shows_in_debug_output() {
        let cli = Cli::try_parse_from([
            "stageboard",
            "--gitlab-url",
            "https://gitlab.example.com",
            "--gitlab-token",
            "glpat-do-not-print",
            "--projects",
            "group/app, 42",
        ])
        .unwrap();
        let config = Config::from_args(cli.serve).unwrap();
        assert_eq!(config.selection.projects, ["group/app", "42"]);
        assert!(!format!("{config:?}").contains("glpat-do-not-print"));
    }

    #[test]
    fn environments_map_to_namespaces() {
        let cli = Cli::try_parse_from([
            "stageboard",
            "--namespaces",
            "gitlab,review,prod",
            "--environment-namespaces",
            "review/*=review, live=prod",
        ])
        .unwrap();
        let config = Config::from_args(cli.serve).unwrap();
        let map = &config.namespaces;
        assert_eq!(map.namespace_of("review/feature-x"), "review");
        assert_eq!(map.namespace_of("live"), "prod");
        assert_eq!(map.namespace_of("dev"), "gitlab");
        assert_eq!(map.namespaces(), ["gitlab", "review", "prod"]);
        let bad = Cli::try_parse_from(["stageboard", "--environment-namespaces", "live"]).unwrap();
        assert!(Config::from_args(bad.serve).unwrap_err().contains("name=namespace"));
    }

    #[test]
    fn the_public_url_and_the_client_bounds_are_checked_at_start_up() {
        let read = |extra: &[&str]| {
            let mut args = vec!["stageboard"];
            args.extend_from_slice(extra);
            Config::from_args(Cli::try_parse_from(args).unwrap().serve)
        };
        let ok = read(&["--public-url", "https://dash.example.com/"]).unwrap();
        assert_eq!(ok.public_url.unwrap().host_str(), Some("dash.example.com"));
        for (url, says) in [
            ("ftp://dash.example.com", "not http or https"),
            ("https://me:pw@dash.example.com", "user name or password"),
            ("https://dash.example.com/stageboard", "root of its host"),
            ("https://dash.example.com/?x=1", "root of its host"),
        ] {
            let error = read(&["--public-url", url]).unwrap_err();
            assert!(
                error.contains(says) && error.contains("STAGEBOARD_PUBLIC_URL"),
                "{url}: {error}"
            );
            assert!(!error.contains("pw"), "{error}");
        }
        assert!(read(&["--trusted-proxies", "10.0.0.0/8, 192.0.2.1"]).is_ok());
        assert!(
            read(&["--trusted-proxies", "ingress"])
                .unwrap_err()
                .contains("`ingress`")
        );
        assert!(read(&["--max-streams-per-address", "0"]).unwrap_err().contains("unset"));
    }

    #[test]
    fn gitlab_url_must_be_gitlabs_own_base_address() {
        let read = |url: &str, extra: &[&str]| {
            let mut args = vec!["stageboard", "--gitlab-url", url];
            args.extend_from_slice(extra);
            let cli = Cli::try_parse_from(args).unwrap();
            let mut serve = cli.serve;
            serve.gitlab_token = Some(SecretString::from("glpat-x"));
            Config::from_args(serve).map(|c| match c.gitlab_source {
                GitlabSource::Gitlab { url, .. } => url.to_string(),
                #[cfg(feature = "demo")]
                GitlabSource::Demo(_) => unreachable!(),
            })
        };
        let refused = |url: &str, says: &str| {
            let error = read(url, &[]).unwrap_err();
            assert!(error.contains(says), "{url}: {error}");
            assert!(!error.contains("hunter2"), "the password is never echoed: {error}");
        };
        refused("https://root:hunter2@gitlab.example.com", "user name or password");
        refused("https://gitlab.example.com/api/v4", "base address");
        refused("https://gitlab.example.com/group/app/-/pipelines", "base address");
        refused("https://gitlab.example.com/group/app.git", "base address");
        refused("https://gitlab.example.com/?private_token=x", "base address");
        refused("http://gitlab.example.com", "GITLAB_ALLOW_HTTP");
        refused("ftp://gitlab.example.com", "https");
        assert!(read("https://gitlab.example.com", &[]).is_ok());
        assert!(read("https://example.com/gitlab", &[]).is_ok(), "a relative URL root");
        assert!(read("http://127.0.0.1:3000", &[]).is_ok(), "this machine");
        assert!(read("http://localhost:3000", &[]).is_ok());
        assert!(read("http://gitlab.internal", &["--gitlab-allow-http"]).is_ok());
    }

    #[cfg(feature = "demo")]
    #[test]
    fn no_gitlab_url_means_demo_mode() {
        let cli = Cli::try_parse_from(["stageboard"]).unwrap();
        assert!(matches!(
            Config::from_args(cli.serve).unwrap().gitlab_source,
            GitlabSource::Demo(_)
        ));
    }

    #[cfg(not(feature = "demo"))]
    #[test]
    fn without_the_demo_a_gitlab_url_is_required() {
        let cli = Cli::try_parse_from(["stageboard"]).unwrap();
        let error = Config::from_args(cli.serve).unwrap_err();
        assert!(error.contains("GITLAB_URL") && error.contains("demo"), "{error}");
    }

    #[test]
    fn stageboard_access_is_login_or_public_and_login_needs_a_sign_in() {
        let read = |extra: &[&str]| {
            let mut args = vec![
                "stageboard",
                "--gitlab-url",
                "https://gitlab.example.com",
                "--gitlab-token",
                "t",
            ];
            args.extend_from_slice(extra);
            Config::from_args(Cli::try_parse_from(args).unwrap().serve)
        };
        let signing_in = ["--oauth-client-id", "app", "--public-url", "https://dash.example.com"];
        assert_eq!(
            read(&signing_in).unwrap().access,
            None,
            "the default: login, decided with OAuth"
        );
        let public = read(&[&signing_in[..], &["--access", "public"]].concat()).unwrap();
        assert_eq!(public.access, Some(crate::access::Access::Public));
        let error = read(&["--access", "login"]).unwrap_err();
        assert!(
            error.contains("STAGEBOARD_ACCESS=login") && error.contains("GITLAB_OAUTH_CLIENT_ID"),
            "{error}"
        );
        let error = read(&["--access", "sometimes"]).unwrap_err();
        assert!(
            error.contains("STAGEBOARD_ACCESS") && error.contains("`public`"),
            "{error}"
        );
    }
}
