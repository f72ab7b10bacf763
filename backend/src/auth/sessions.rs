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

    /// Saves what a request changed, over what other requests stored since it loaded the
    /// session: a record deleted meanwhile (signed out) is not brought back, and a sign-in
    /// renewed or ended meanwhile stays so (each request saves the whole record, and one that
    /// loaded it before a renewal would otherwise put back the spent tokens).
    async fn save(&self, record: &Record) -> session_store::Result<()> {
        let Some(stored) = self.load(&record.id).await? else {
            return Ok(());
        };
        let mut record = record.clone();
        keep_newer_sign_in(&mut record, &stored);
        match self {
            SessionStore::Sqlite(s) => s.save(&record).await,
            SessionStore::Postgres(s) => s.save(&record).await,
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

/// The stored sign-in wins over `record`'s when it is newer (tokens renewed meanwhile) or gone
/// (signed out meanwhile); otherwise `record`'s own stands.
fn keep_newer_sign_in(record: &mut Record, stored: &Record) {
    let key = super::PERSON;
    let expires = |r: &Record| {
        r.data
            .get(key)
            .and_then(|p| p.get("expires_at"))
            .and_then(|e| e.as_i64())
    };
    let person = |r: &Record| r.data.get(key).and_then(|p| p.get("id")).and_then(|i| i.as_u64());
    match (person(record), person(stored)) {
        (Some(_), None) => {
            record.data.remove(key);
        }
        (Some(mine), Some(theirs)) if mine == theirs && expires(stored) > expires(record) => {
            record.data.insert(key.to_owned(), stored.data[key].clone());
        }
        _ => {}
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

#[cfg(test)]
mod tests {
    use tower_sessions::SessionStore as _;

    use super::*;

    fn signed_in(id: u64, expires_at: i64) -> serde_json::Value {
        serde_json::json!({ "id": id, "username": "achen", "expires_at": expires_at, "access": "sealed" })
    }

    #[tokio::test]
    async fn a_stale_save_neither_undoes_a_renewal_nor_a_sign_out() {
        let pool = sqlx::SqlitePool::connect("sqlite::memory:").await.unwrap();
        let store = SessionStore::Sqlite(SqliteStore::new(pool));
        if let SessionStore::Sqlite(s) = &store {
            s.migrate().await.unwrap();
        }
        let mut first = Record {
            id: Id::default(),
            data: [(super::super::PERSON.to_owned(), signed_in(2, 100))].into(),
            expiry_date: tower_sessions::cookie::time::OffsetDateTime::now_utc() + INACTIVITY,
        };
        store.create(&mut first).await.unwrap();
        // Request A renews (expires at 200) while request B, which loaded the session before,
        // saves its own change (a cache entry) with the old sign-in.
        let mut renewed = first.clone();
        renewed.data.insert(super::super::PERSON.to_owned(), signed_in(2, 200));
        store.save(&renewed).await.unwrap();
        let mut stale = first.clone();
        stale.data.insert("readable".into(), serde_json::json!([1]));
        store.save(&stale).await.unwrap();
        let now = store.load(&first.id).await.unwrap().unwrap();
        assert_eq!(now.data[super::super::PERSON]["expires_at"], 200, "the renewal stands");
        assert_eq!(now.data["readable"], serde_json::json!([1]), "B's own change too");

        // Signed out meanwhile: B's save does not sign the person back in.
        store.delete(&first.id).await.unwrap();
        store.save(&stale).await.unwrap();
        assert!(store.load(&first.id).await.unwrap().is_none());
    }
}
