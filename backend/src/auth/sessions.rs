//! Sessions on the store (tower-sessions and its sqlx stores): the cookie carries nothing but
//! an id; HttpOnly, SameSite=Lax, and `Secure` with the `__Host-` prefix when people reach
//! stageboard over https; a session ends 12 hours after it last changed (tower-sessions
//! extends the expiry only when the session is saved).

use tower_sessions::cookie::SameSite;
use tower_sessions::cookie::time::Duration;
use tower_sessions::session::{Id, Record};
use tower_sessions::session_store::{self, ExpiredDeletion};
use tower_sessions::{Expiry, SessionManagerLayer};
use tower_sessions_sqlx_store::{PostgresStore, SqliteStore};

use crate::store::Database;

/// How long a session lasts without a request.
pub const INACTIVITY: Duration = Duration::hours(12);

/// The session store of the configured database.
#[derive(Debug, Clone)]
pub enum SessionStore {
    Sqlite(SqliteStore),
    Postgres(PostgresStore),
}

impl SessionStore {
    /// The store on `db`, its table made if missing, and a task removing expired sessions.
    pub async fn open(db: &Database) -> Result<SessionStore, String> {
        let store = match db {
            Database::Sqlite(pool) => SessionStore::Sqlite(SqliteStore::new(pool.clone())),
            Database::Postgres(pool) => SessionStore::Postgres(PostgresStore::new(pool.clone())),
        };
        let migrated = match &store {
            SessionStore::Sqlite(s) => s.migrate().await,
            SessionStore::Postgres(s) => s.migrate().await,
        };
        migrated.map_err(|e| format!("cannot make the sessions table: {e}"))?;
        let sweeper = store.clone();
        tokio::spawn(async move {
            let every = std::time::Duration::from_secs(3600);
            let swept = match sweeper {
                SessionStore::Sqlite(s) => s.continuously_delete_expired(every).await,
                SessionStore::Postgres(s) => s.continuously_delete_expired(every).await,
            };
            if let Err(e) = swept {
                tracing::warn!(error = %e, "expired sessions are no longer removed");
            }
        });
        Ok(store)
    }
}

#[async_trait::async_trait]
impl tower_sessions::SessionStore for SessionStore {
    async fn create(&self, record: &mut Record) -> session_store::Result<()> {
        match self {
            SessionStore::Sqlite(s) => s.create(record).await,
            SessionStore::Postgres(s) => s.create(record).await,
        }
    }

    async fn save(&self, record: &Record) -> session_store::Result<()> {
        match self {
            SessionStore::Sqlite(s) => s.save(record).await,
            SessionStore::Postgres(s) => s.save(record).await,
        }
    }

    async fn load(&self, id: &Id) -> session_store::Result<Option<Record>> {
        match self {
            SessionStore::Sqlite(s) => s.load(id).await,
            SessionStore::Postgres(s) => s.load(id).await,
        }
    }

    async fn delete(&self, id: &Id) -> session_store::Result<()> {
        match self {
            SessionStore::Sqlite(s) => s.delete(id).await,
            SessionStore::Postgres(s) => s.delete(id).await,
        }
    }
}

/// The session layer: over https the cookie is `__Host-stageboard` (Secure, Path=/, no
/// Domain); over plain http (loopback, the demo) it is `stageboard`.
pub fn layer(store: SessionStore, https: bool) -> SessionManagerLayer<SessionStore> {
    SessionManagerLayer::new(store)
        .with_name(if https { "__Host-stageboard" } else { "stageboard" })
        .with_secure(https)
        .with_http_only(true)
        .with_same_site(SameSite::Lax)
        .with_path("/")
        .with_expiry(Expiry::OnInactivity(INACTIVITY))
}
