//! Kiosk tokens in the store: only each token's SHA-256 is kept, so the database never holds
//! what would open a screen.

use chrono::{DateTime, Utc};
use sqlx::{QueryBuilder, Row};
use stageboard_protocol::{KioskToken, Timestamp};

use super::{Database, Store, StoreError};

/// A token's digest as stored (hex SHA-256). Tokens are 32 random bytes, so a plain digest
/// is enough: nothing to guess.
pub fn digest(token: &str) -> String {
    ring::digest::digest(&ring::digest::SHA256, token.as_bytes())
        .as_ref()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

fn at(ms: Option<i64>) -> Option<Timestamp> {
    ms.and_then(DateTime::from_timestamp_millis).map(Timestamp)
}

/// A kiosk token as kept: as listed, and the projects its maker vouched for (`None`: made on
/// the command line, the board as configured).
#[derive(Debug, Clone)]
pub struct Kiosk {
    pub token: KioskToken,
    pub projects: Option<Vec<u64>>,
}

fn projects_of(text: Option<String>) -> Option<Vec<u64>> {
    text.map(|t| t.split(',').filter_map(|id| id.trim().parse().ok()).collect())
}

macro_rules! kiosk_of {
    ($row:expr) => {{
        let row = $row;
        Kiosk {
            projects: projects_of(row.try_get("projects")?),
            token: kiosk_token!(row),
        }
    }};
}

macro_rules! kiosk_token {
    ($row:expr) => {{
        let row = $row;
        KioskToken {
            id: row.try_get("id")?,
            board: row.try_get("board")?,
            label: row.try_get("label")?,
            created_at: Timestamp(DateTime::from_timestamp_millis(row.try_get("created_at_ms")?).unwrap_or_default()),
            created_by: row.try_get("created_by")?,
            last_used_at: at(row.try_get("last_used_at_ms")?),
            last_used_from: row.try_get("last_used_from")?,
            revoked_at: at(row.try_get("revoked_at_ms")?),
        }
    }};
}

impl Store {
    /// Keeps a new token for `board` (its digest), pinned to `projects` when given; returns it
    /// as listed.
    pub async fn kiosk_create(
        &self,
        token: &str,
        board: &str,
        projects: Option<&[u64]>,
        label: &str,
        by: &str,
    ) -> Result<KioskToken, StoreError> {
        let now = Utc::now().timestamp_millis();
        let projects = projects.map(|p| p.iter().map(u64::to_string).collect::<Vec<_>>().join(","));
        macro_rules! insert {
            ($db:ty, $pool:expr) => {{
                let mut query = QueryBuilder::<$db>::new(
                    "INSERT INTO kiosk_tokens (token_hash, board, projects, label, created_at_ms, created_by) VALUES (",
                );
                let mut values = query.separated(", ");
                values
                    .push_bind(digest(token))
                    .push_bind(board.to_owned())
                    .push_bind(projects.clone())
                    .push_bind(label.to_owned())
                    .push_bind(now)
                    .push_bind(by.to_owned());
                query.push(") RETURNING *");
                let row = query.build().fetch_one($pool).await?;
                Ok(kiosk_token!(&row))
            }};
        }
        match self.database() {
            Database::Sqlite(pool) => insert!(sqlx::Sqlite, pool),
            Database::Postgres(pool) => insert!(sqlx::Postgres, pool),
        }
    }

    /// The tokens, active ones first, each newest first (the revoked ones marked).
    pub async fn kiosk_list(&self) -> Result<Vec<KioskToken>, StoreError> {
        macro_rules! select {
            ($db:ty, $pool:expr) => {{
                let rows = QueryBuilder::<$db>::new(
                    "SELECT * FROM kiosk_tokens ORDER BY (revoked_at_ms IS NULL) DESC, id DESC LIMIT 1000",
                )
                .build()
                .fetch_all($pool)
                .await?;
                rows.iter()
                    .map(|row| Ok(kiosk_token!(row)))
                    .collect::<Result<Vec<_>, sqlx::Error>>()
                    .map_err(StoreError::from)
            }};
        }
        match self.database() {
            Database::Sqlite(pool) => select!(sqlx::Sqlite, pool),
            Database::Postgres(pool) => select!(sqlx::Postgres, pool),
        }
    }

    /// The token, unless it is revoked or unknown.
    pub async fn kiosk_find(&self, token: &str) -> Result<Option<Kiosk>, StoreError> {
        self.kiosk_where("token_hash", digest(token), true).await
    }

    /// The token of this id, unless it is revoked or unknown.
    pub async fn kiosk_get(&self, id: i64) -> Result<Option<Kiosk>, StoreError> {
        self.kiosk_where("id", id, true).await
    }

    /// The token of this id, revoked or not.
    pub async fn kiosk_any(&self, id: i64) -> Result<Option<Kiosk>, StoreError> {
        self.kiosk_where("id", id, false).await
    }

    async fn kiosk_where<V>(&self, column: &'static str, value: V, active: bool) -> Result<Option<Kiosk>, StoreError>
    where
        V: for<'q> sqlx::Encode<'q, sqlx::Sqlite>
            + sqlx::Type<sqlx::Sqlite>
            + for<'q> sqlx::Encode<'q, sqlx::Postgres>
            + sqlx::Type<sqlx::Postgres>
            + Send
            + Clone
            + 'static,
    {
        macro_rules! select {
            ($db:ty, $pool:expr) => {{
                let mut query = QueryBuilder::<$db>::new("SELECT * FROM kiosk_tokens WHERE ");
                if active {
                    query.push("revoked_at_ms IS NULL AND ");
                }
                query.push(column).push(" = ").push_bind(value.clone());
                let row = query.build().fetch_optional($pool).await?;
                row.map(|row| Ok(kiosk_of!(&row)))
                    .transpose()
                    .map_err(|e: sqlx::Error| StoreError::from(e))
            }};
        }
        match self.database() {
            Database::Sqlite(pool) => select!(sqlx::Sqlite, pool),
            Database::Postgres(pool) => select!(sqlx::Postgres, pool),
        }
    }

    /// Notes that the token was used, now, from `address`.
    pub async fn kiosk_used(&self, id: i64, address: Option<&str>) -> Result<(), StoreError> {
        let now = Utc::now().timestamp_millis();
        macro_rules! update {
            ($db:ty, $pool:expr) => {{
                let mut query = QueryBuilder::<$db>::new("UPDATE kiosk_tokens SET last_used_at_ms = ");
                query
                    .push_bind(now)
                    .push(", last_used_from = ")
                    .push_bind(address.map(str::to_owned))
                    .push(" WHERE id = ")
                    .push_bind(id);
                query.build().execute($pool).await?;
                Ok(())
            }};
        }
        match self.database() {
            Database::Sqlite(pool) => update!(sqlx::Sqlite, pool),
            Database::Postgres(pool) => update!(sqlx::Postgres, pool),
        }
    }

    /// Revokes a token: whether there was one to revoke.
    pub async fn kiosk_revoke(&self, id: i64) -> Result<bool, StoreError> {
        let now = Utc::now().timestamp_millis();
        macro_rules! update {
            ($db:ty, $pool:expr) => {{
                let mut query = QueryBuilder::<$db>::new("UPDATE kiosk_tokens SET revoked_at_ms = ");
                query
                    .push_bind(now)
                    .push(" WHERE revoked_at_ms IS NULL AND id = ")
                    .push_bind(id);
                Ok(query.build().execute($pool).await?.rows_affected() > 0)
            }};
        }
        match self.database() {
            Database::Sqlite(pool) => update!(sqlx::Sqlite, pool),
            Database::Postgres(pool) => update!(sqlx::Postgres, pool),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_token_is_kept_as_its_digest_and_stops_working_when_revoked() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(&crate::store::StoreConfig {
            data_dir: dir.path().to_owned(),
            database_url: None,
            secret_key: None,
        })
        .await
        .unwrap();
        let made = store
            .kiosk_create("sbk_secret", "lobby", Some(&[1, 3]), "lobby TV", "achen")
            .await
            .unwrap();
        assert_eq!((made.board.as_str(), made.label.as_str()), ("lobby", "lobby TV"));
        let found = store
            .kiosk_find("sbk_secret")
            .await
            .unwrap()
            .expect("found by its token");
        assert_eq!(found.token.id, made.id);
        assert_eq!(found.projects, Some(vec![1, 3]), "pinned to what its maker vouched for");
        assert!(store.kiosk_find("sbk_other").await.unwrap().is_none());
        store.kiosk_used(made.id, Some("10.0.0.7")).await.unwrap();
        let listed = store.kiosk_list().await.unwrap();
        assert_eq!(listed[0].last_used_from.as_deref(), Some("10.0.0.7"));
        assert!(listed[0].last_used_at.is_some());
        // The database holds the digest, never the token.
        let Database::Sqlite(pool) = store.database() else {
            unreachable!()
        };
        let stored: String = sqlx::query_scalar("SELECT token_hash FROM kiosk_tokens")
            .fetch_one(pool)
            .await
            .unwrap();
        assert_eq!(stored, digest("sbk_secret"));
        assert!(!stored.contains("secret"));
        assert!(store.kiosk_revoke(made.id).await.unwrap());
        assert!(!store.kiosk_revoke(made.id).await.unwrap(), "once");
        assert!(store.kiosk_find("sbk_secret").await.unwrap().is_none());
        assert!(store.kiosk_get(made.id).await.unwrap().is_none());
        assert!(
            store
                .kiosk_any(made.id)
                .await
                .unwrap()
                .unwrap()
                .token
                .revoked_at
                .is_some()
        );
        assert!(store.kiosk_list().await.unwrap()[0].revoked_at.is_some());
    }
}
