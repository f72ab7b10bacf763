//! What stageboard keeps across restarts: the audit log of actions (and, with sign-in, the
//! sessions and people's sealed GitLab tokens). SQLite in the data directory by default;
//! PostgreSQL when `STAGEBOARD_DATABASE_URL` is `postgres://…`, so replicas share it. The
//! schema is sqlx migrations, one set per database (`backend/migrations/`), applied at start.

pub mod kiosk;
pub mod secret;

use std::path::PathBuf;
use std::str::FromStr;
use std::sync::Arc;

use chrono::DateTime;
use secrecy::{ExposeSecret, SecretString};
use sqlx::postgres::{PgConnectOptions, PgPool, PgPoolOptions};
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions};
use sqlx::{QueryBuilder, Row};

pub use secret::Sealer;
use stageboard_protocol::Timestamp;
/// The audit log's entries are stored as they go on the wire.
pub use stageboard_protocol::{AuditEntry, AuditOutcome};

/// Where the store lives.
#[derive(Debug, Clone)]
pub struct StoreConfig {
    /// `STAGEBOARD_DATA_DIR`: the SQLite file and the generated key.
    pub data_dir: PathBuf,
    /// `STAGEBOARD_DATABASE_URL`: PostgreSQL instead of SQLite.
    pub database_url: Option<SecretString>,
    /// `STAGEBOARD_SECRET_KEY`: the key sealing people's tokens.
    pub secret_key: Option<SecretString>,
}

/// The database behind the store.
#[derive(Debug, Clone)]
pub enum Database {
    Sqlite(SqlitePool),
    Postgres(PgPool),
}

#[derive(Debug, Clone)]
pub struct Store(Arc<Inner>);

#[derive(Debug)]
struct Inner {
    db: Database,
    sealer: Sealer,
}

/// The store could not do what was asked: the database failed or is unreachable.
#[derive(Debug, thiserror::Error)]
#[error("the database failed: {0}")]
pub struct StoreError(#[from] sqlx::Error);

/// Which entries to read, newest first.
#[derive(Debug, Clone, Default)]
pub struct AuditFilter {
    /// Only these projects (the reader's); `None` is every project.
    pub projects: Option<Vec<u64>>,
    pub project: Option<u64>,
    pub person: Option<String>,
    pub action: Option<String>,
    pub outcome: Option<AuditOutcome>,
    /// Entries older than this id (paging).
    pub before: Option<i64>,
    pub limit: u32,
}

fn signed(n: u64) -> i64 {
    i64::try_from(n).unwrap_or(i64::MAX)
}

fn unsigned(n: i64) -> u64 {
    u64::try_from(n).unwrap_or_default()
}

impl Store {
    /// Opens (creating when needed) the configured database, brings its schema up to date and
    /// loads the sealing key. The error names the setting to fix, without its secret.
    pub async fn open(config: &StoreConfig) -> Result<Store, String> {
        if config.database_url.is_some() && config.secret_key.is_none() {
            // Each replica would make its own key, and open no token another one sealed.
            return Err("With STAGEBOARD_DATABASE_URL, set STAGEBOARD_SECRET_KEY too (the same on every replica), e.g. from `openssl rand -base64 32`.".into());
        }
        let db = match &config.database_url {
            Some(url) => {
                let refused = || {
                    "STAGEBOARD_DATABASE_URL is for PostgreSQL (postgres://user:password@host:5432/database); leave it unset for SQLite in STAGEBOARD_DATA_DIR.".to_owned()
                };
                let text = url.expose_secret();
                if !(text.starts_with("postgres://") || text.starts_with("postgresql://")) {
                    return Err(refused());
                }
                let options = PgConnectOptions::from_str(text).map_err(|_| refused())?;
                let shown = format!(
                    "{}:{}/{}",
                    options.get_host(),
                    options.get_port(),
                    options.get_database().unwrap_or_default()
                );
                let pool = PgPoolOptions::new()
                    .max_connections(10)
                    .acquire_timeout(std::time::Duration::from_secs(10))
                    .connect_with(options)
                    .await
                    .map_err(|e| {
                        format!(
                            "cannot connect to PostgreSQL at {shown} (STAGEBOARD_DATABASE_URL): {}",
                            without_secrets(&e, url)
                        )
                    })?;
                sqlx::migrate!("./migrations/postgres")
                    .run(&pool)
                    .await
                    .map_err(|e| format!("cannot bring the PostgreSQL schema at {shown} up to date: {e}"))?;
                Database::Postgres(pool)
            }
            None => {
                std::fs::create_dir_all(&config.data_dir).map_err(|e| {
                    format!(
                        "cannot create the data directory {} (STAGEBOARD_DATA_DIR): {e}",
                        config.data_dir.display()
                    )
                })?;
                let file = config.data_dir.join("stageboard.db");
                let options = SqliteConnectOptions::new()
                    .filename(&file)
                    .create_if_missing(true)
                    .journal_mode(SqliteJournalMode::Wal)
                    .busy_timeout(std::time::Duration::from_secs(5));
                let pool = SqlitePoolOptions::new()
                    .max_connections(4)
                    .connect_with(options)
                    .await
                    .map_err(|e| format!("cannot open {} (STAGEBOARD_DATA_DIR): {e}", file.display()))?;
                sqlx::migrate!("./migrations/sqlite")
                    .run(&pool)
                    .await
                    .map_err(|e| format!("cannot bring the schema of {} up to date: {e}", file.display()))?;
                Database::Sqlite(pool)
            }
        };
        let sealer = Sealer::load(config.secret_key.as_ref(), &config.data_dir)?;
        Ok(Store(Arc::new(Inner { db, sealer })))
    }

    pub fn database(&self) -> &Database {
        &self.0.db
    }

    pub fn sealer(&self) -> &Sealer {
        &self.0.sealer
    }

    /// Writes one action attempt; returns its id.
    pub async fn record(&self, entry: &AuditEntry) -> Result<i64, StoreError> {
        macro_rules! insert {
            ($db:ty, $pool:expr) => {{
                let mut query = QueryBuilder::<$db>::new(
                    "INSERT INTO audit (at_ms, person_id, person, action, project_id, pipeline_id, job_id, environment, status, outcome, message, client_address, request_id) ",
                );
                query.push_values([entry], |mut row, e| {
                    row.push_bind(e.at.timestamp_millis())
                        .push_bind(signed(e.person_id))
                        .push_bind(e.person.clone())
                        .push_bind(e.action.clone())
                        .push_bind(signed(e.project_id))
                        .push_bind(e.pipeline_id.map(signed))
                        .push_bind(e.job_id.map(signed))
                        .push_bind(e.environment.clone())
                        .push_bind(i32::from(e.status))
                        .push_bind(e.outcome.as_str())
                        .push_bind(e.message.clone())
                        .push_bind(e.client_address.clone())
                        .push_bind(e.request_id.clone());
                });
                query.push(" RETURNING id");
                let row = query.build().fetch_one($pool).await?;
                Ok(row.try_get::<i64, _>("id")?)
            }};
        }
        match &self.0.db {
            Database::Sqlite(pool) => insert!(sqlx::Sqlite, pool),
            Database::Postgres(pool) => insert!(sqlx::Postgres, pool),
        }
    }

    /// Completes an entry written before its action was sent: GitLab's status, the outcome
    /// and the message.
    pub async fn settle(&self, id: i64, status: u16, outcome: AuditOutcome, message: &str) -> Result<(), StoreError> {
        macro_rules! update {
            ($db:ty, $pool:expr) => {{
                let mut query = QueryBuilder::<$db>::new("UPDATE audit SET status = ");
                query
                    .push_bind(i32::from(status))
                    .push(", outcome = ")
                    .push_bind(outcome.as_str())
                    .push(", message = ")
                    .push_bind(message.to_owned())
                    .push(" WHERE id = ")
                    .push_bind(id);
                query.build().execute($pool).await?;
                Ok(())
            }};
        }
        match &self.0.db {
            Database::Sqlite(pool) => update!(sqlx::Sqlite, pool),
            Database::Postgres(pool) => update!(sqlx::Postgres, pool),
        }
    }

    /// Entries matching `filter`, newest first.
    pub async fn audit(&self, filter: &AuditFilter) -> Result<Vec<AuditEntry>, StoreError> {
        macro_rules! select {
            ($db:ty, $pool:expr) => {{
                let mut query = QueryBuilder::<$db>::new("SELECT * FROM audit WHERE 1 = 1");
                if let Some(projects) = &filter.projects {
                    if projects.is_empty() {
                        return Ok(Vec::new());
                    }
                    query.push(" AND project_id IN (");
                    let mut ids = query.separated(", ");
                    for id in projects {
                        ids.push_bind(signed(*id));
                    }
                    query.push(")");
                }
                if let Some(project) = filter.project {
                    query.push(" AND project_id = ").push_bind(signed(project));
                }
                if let Some(person) = &filter.person {
                    query.push(" AND person = ").push_bind(person.clone());
                }
                if let Some(action) = &filter.action {
                    query.push(" AND action = ").push_bind(action.clone());
                }
                if let Some(outcome) = &filter.outcome {
                    query.push(" AND outcome = ").push_bind(outcome.as_str());
                }
                if let Some(before) = filter.before {
                    query.push(" AND id < ").push_bind(before);
                }
                query
                    .push(" ORDER BY id DESC LIMIT ")
                    .push_bind(i64::from(filter.limit.clamp(1, 500)));
                let rows = query.build().fetch_all($pool).await?;
                rows.iter()
                    .map(|row| {
                        Ok(AuditEntry {
                            id: row.try_get("id")?,
                            at: Timestamp(DateTime::from_timestamp_millis(row.try_get("at_ms")?).unwrap_or_default()),
                            person_id: unsigned(row.try_get("person_id")?),
                            person: row.try_get("person")?,
                            action: row.try_get("action")?,
                            project_id: unsigned(row.try_get("project_id")?),
                            pipeline_id: row.try_get::<Option<i64>, _>("pipeline_id")?.map(unsigned),
                            job_id: row.try_get::<Option<i64>, _>("job_id")?.map(unsigned),
                            environment: row.try_get("environment")?,
                            status: u16::try_from(row.try_get::<i32, _>("status")?).unwrap_or_default(),
                            outcome: AuditOutcome::parse(row.try_get("outcome")?).unwrap_or(AuditOutcome::Pending),
                            message: row.try_get("message")?,
                            client_address: row.try_get("client_address")?,
                            request_id: row.try_get("request_id")?,
                        })
                    })
                    .collect::<Result<Vec<_>, sqlx::Error>>()
                    .map_err(StoreError::from)
            }};
        }
        match &self.0.db {
            Database::Sqlite(pool) => select!(sqlx::Sqlite, pool),
            Database::Postgres(pool) => select!(sqlx::Postgres, pool),
        }
    }

    /// Waits for the database's connections to close (at shutdown).
    pub async fn close(&self) {
        match &self.0.db {
            Database::Sqlite(pool) => pool.close().await,
            Database::Postgres(pool) => pool.close().await,
        }
    }
}

/// An error's text with the URL's password taken out, should the driver have quoted it.
fn without_secrets(error: &sqlx::Error, url: &SecretString) -> String {
    let text = error.to_string();
    match url::Url::parse(url.expose_secret())
        .ok()
        .and_then(|u| u.password().map(str::to_owned))
    {
        Some(password) if !password.is_empty() => text.replace(&password, "***"),
        _ => text,
    }
}
