//! Replicas sharing a PostgreSQL database (`STAGEBOARD_DATABASE_URL`): they share sessions,
//! kiosk tokens and the audit log through the store, and GitLab's traffic through this module.
//!
//! - **One leader.** Each replica asks for one PostgreSQL advisory lock on a connection of its
//!   own, every [`TICK`]. The one holding it polls GitLab ([`Hub::lead`]); the lock goes with
//!   its connection, so when that replica dies another takes it within a tick or two. The
//!   leader writes where the others reach it (`replica_leader`, its `STAGEBOARD_REPLICA_URL`).
//! - **Reads through the leader.** A replica that does not lead answers its pages from its own
//!   cache, and on a miss asks the leader's hub for the answer by its [`Key`]
//!   (`POST /internal/v1/read`, with a token derived from `STAGEBOARD_SECRET_KEY`), so the
//!   leader's single flight and cache stand for every replica. Only when the leader cannot be
//!   reached (while another takes over) does it ask GitLab itself.
//! - **Changes through PostgreSQL.** What the leader's hub publishes is written to
//!   `replica_changes`, with a NOTIFY; the others read the rows after the last they saw, on
//!   each notification and every few seconds (notifications sent while a connection was down
//!   are lost; the rows are not), and tell their browsers. A webhook or an action at a replica
//!   that does not lead is written there too, for the leader to apply and publish, so that
//!   every replica's browsers hear of it once the leader's answers have it.

use std::sync::Arc;
use std::time::{Duration, Instant};

use sqlx::postgres::{PgListener, PgPool};
use sqlx::{Connection, PgConnection, Row};
use stageboard_protocol::ServerEvent;
use tokio::sync::mpsc;
use url::Url;

use crate::gitlab::GitlabError;
use crate::hub::{Answer, Hub, Key, Leader, Outgoing, Role};

/// The advisory lock the leader holds ("stageboa" in ASCII).
const LOCK: i64 = 0x7374_6167_6562_6f61;
/// The lock a writer of `replica_changes` holds until it commits, so that rows commit in the
/// order of their numbers, and a reader that has seen row n never later finds one before it.
const WRITE_LOCK: i64 = LOCK + 1;
/// What `/internal/v1/read` reads of a request body, at most (a [`Key`] is small).
const MAX_KEY: usize = 64 << 10;
/// The channel notifications of new rows go on.
const CHANNEL: &str = "stageboard_changes";
/// How often a replica asks for the lock (and the leader checks it still has it).
pub const TICK: Duration = Duration::from_secs(2);
/// How often rows are read without a notification, in case one was lost.
const CATCH_UP: Duration = Duration::from_secs(5);
/// How long rows are kept for replicas that lost their connection.
const KEEP_MINUTES: i32 = 15;
/// Changes waiting to be written, at most (a leader whose database is down drops the rest).
const OUTBOX: usize = 4096;
/// What the replicas show each other, derived from the sealing key.
const PURPOSE: &str = "stageboard replicas: reads through the leader, v1";

/// This process as one of several replicas.
#[derive(Clone)]
pub struct Replicas(Arc<Inner>);

struct Inner {
    pool: PgPool,
    hub: Hub,
    /// Random per process: rows this replica wrote, it does not apply.
    me: String,
    /// The token other replicas present (and this one presents to the leader).
    token: String,
    http: reqwest::Client,
}

impl std::fmt::Debug for Replicas {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Replicas")
            .field("me", &self.0.me)
            .finish_non_exhaustive()
    }
}

impl Replicas {
    pub fn new(pool: PgPool, hub: Hub, sealer: &crate::store::Sealer) -> Replicas {
        let http = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .no_proxy()
            .connect_timeout(Duration::from_secs(3))
            .timeout(Duration::from_secs(20))
            .build()
            .expect("a plain HTTP client builds");
        Replicas(Arc::new(Inner {
            pool,
            hub,
            me: format!("{:016x}", rand::random::<u64>()),
            token: sealer.token(PURPOSE),
            http,
        }))
    }

    /// Starts following, asking for the lock, writing and reading changes; `url` is where the
    /// other replicas reach this one.
    pub fn start(&self, url: Url) {
        let (outbox, written) = mpsc::channel(OUTBOX);
        self.0.hub.replicate(outbox);
        tokio::spawn(elect(self.0.clone(), url));
        tokio::spawn(write(self.0.clone(), written));
        tokio::spawn(listen(self.0.clone()));
    }

    /// Whether `given` (an `Authorization` header) is the replicas' token, compared in
    /// constant time.
    pub fn admits(&self, given: Option<&str>) -> bool {
        use subtle::ConstantTimeEq;
        given
            .and_then(|h| h.strip_prefix("Bearer "))
            .is_some_and(|t| bool::from(t.as_bytes().ct_eq(self.0.token.as_bytes())))
    }
}

/// The leader, over HTTP.
struct HttpLeader {
    read: Url,
    token: String,
    http: reqwest::Client,
    /// When it last failed to answer, and when that was last logged.
    failed: std::sync::Mutex<(Option<Instant>, Option<Instant>)>,
}

/// After the leader failed to answer, how long reads go to GitLab without trying it.
const LEADER_BACKOFF: Duration = Duration::from_secs(5);

#[async_trait::async_trait]
impl Leader for HttpLeader {
    async fn read(&self, key: &Key) -> Option<Result<Answer, GitlabError>> {
        let backing_off = self.failed.lock().expect("failed lock").0;
        if backing_off.is_some_and(|t| t.elapsed() < LEADER_BACKOFF) {
            return None;
        }
        let answer = self
            .http
            .post(self.read.clone())
            .bearer_auth(&self.token)
            .json(key)
            .send()
            .await;
        let failed = match answer {
            Ok(r) if r.status().is_success() => match r.json::<Result<Answer, GitlabError>>().await {
                Ok(answer) => return Some(answer),
                Err(e) => format!("its answer did not read: {e}"),
            },
            Ok(r) => format!("it answered {}", r.status()),
            Err(e) => e.without_url().to_string(),
        };
        let mut state = self.failed.lock().expect("failed lock");
        state.0 = Some(Instant::now());
        if state.1.is_none_or(|t| t.elapsed() > Duration::from_secs(60)) {
            state.1 = Some(Instant::now());
            tracing::warn!(leader = %self.read.origin().ascii_serialization(), error = %failed, "the leading replica did not answer a read; asking GitLab directly until it does");
        }
        None
    }
}

/// Asks for the leader's lock every tick on a connection of its own; leads while it holds it.
async fn elect(inner: Arc<Inner>, url: Url) {
    // The lock's connection asks the server to give up on it soon when it goes silent: a
    // half-open connection would otherwise keep the lock, and no replica would poll, for as
    // long as the server's TCP keepalive takes (two hours by default).
    // Set once connected (not as startup options, which a pooler may refuse); a server too old
    // for one of them still gives the lock.
    let options = inner.pool.connect_options();
    let mut connection: Option<PgConnection> = None;
    let mut leading = false;
    // Whether `replica_leader` names this replica since it took the lock.
    let mut said = false;
    let mut following: Option<String> = None;
    // The projects with pipelines not finished, as last told to the others.
    let mut told: Option<std::collections::HashSet<u64>> = None;
    let mut ticks: u64 = 0;
    loop {
        ticks += 1;
        if connection.is_none() {
            match tokio::time::timeout(TICK * 5, PgConnection::connect_with(&options)).await {
                Ok(Ok(mut c)) => {
                    for setting in [
                        "SET tcp_keepalives_idle = 5",
                        "SET tcp_keepalives_interval = 5",
                        "SET tcp_keepalives_count = 3",
                        "SET tcp_user_timeout = 15000",
                    ] {
                        if let Err(e) = sqlx::query(setting).execute(&mut c).await {
                            tracing::debug!(setting, error = %e, "PostgreSQL did not take a keepalive setting");
                        }
                    }
                    connection = Some(c);
                }
                Ok(Err(e)) => tracing::warn!(error = %e, "cannot reach PostgreSQL to ask for the leader's lock"),
                Err(_) => tracing::warn!("PostgreSQL did not answer within 10 s; asking for the leader's lock again"),
            }
        }
        match connection.as_mut() {
            Some(c) if leading => {
                let alive = tokio::time::timeout(TICK * 2, sqlx::query("SELECT 1").execute(&mut *c)).await;
                if !matches!(alive, Ok(Ok(_))) {
                    // The lock went with the connection: another replica may lead already.
                    tracing::warn!("lost the connection holding the leader's lock; no longer polling GitLab");
                    connection = None;
                    leading = false;
                    following = None;
                    inner.hub.follow(None);
                } else {
                    // Again every 30 s: a write of a replica that led before this one could
                    // have landed after this one's.
                    if !said || ticks.is_multiple_of(15) {
                        said = say_where(&inner, &mut *c, &url).await;
                    }
                    // When it changes, and every 30 s for replicas that started since.
                    let active = inner.hub.unfinished();
                    if told.as_ref() != Some(&active) || ticks.is_multiple_of(15) {
                        let _ = inner.hub.tell(Outgoing::Active(active.iter().copied().collect()));
                        told = Some(active);
                    }
                    if ticks.is_multiple_of(15)
                        && let Err(e) = prune(&inner.pool).await
                    {
                        tracing::warn!(error = %e, "cannot prune the replicas' changes");
                    }
                }
            }
            Some(c) => {
                let locked = tokio::time::timeout(
                    TICK * 2,
                    sqlx::query_scalar::<_, bool>("SELECT pg_try_advisory_lock($1)")
                        .bind(LOCK)
                        .fetch_one(&mut *c),
                )
                .await;
                match locked {
                    Ok(Ok(true)) => {
                        said = say_where(&inner, &mut *c, &url).await;
                        tracing::info!(replica = %inner.me, "this replica leads: it polls GitLab for every replica");
                        leading = true;
                        following = None;
                        told = None;
                        inner.hub.lead();
                    }
                    Ok(Ok(false)) => {
                        if let Some(address) = leader(&inner).await
                            && following.as_deref() != Some(address.as_str())
                        {
                            match Url::parse(&address).and_then(|u| u.join("internal/v1/read")) {
                                Ok(read) => {
                                    tracing::info!(leader = %address, "another replica leads: reading through it");
                                    inner.hub.follow(Some(Arc::new(HttpLeader {
                                        read,
                                        token: inner.token.clone(),
                                        http: inner.http.clone(),
                                        failed: std::sync::Mutex::new((None, None)),
                                    })));
                                }
                                Err(e) => {
                                    tracing::warn!(leader = %address, error = %e, "the leading replica's address is not a URL; reading GitLab directly");
                                    inner.hub.follow(None);
                                }
                            }
                            following = Some(address);
                        }
                    }
                    Ok(Err(e)) => {
                        tracing::warn!(error = %e, "cannot ask for the leader's lock; connecting again");
                        connection = None;
                    }
                    Err(_) => {
                        tracing::warn!("PostgreSQL did not answer the lock's question within 4 s; connecting again");
                        connection = None;
                    }
                }
            }
            None => {}
        }
        tokio::time::sleep(TICK).await;
    }
}

/// Where the leading replica is reached, unless it is this one (whose old connection the
/// server has not yet let go of).
async fn leader(inner: &Inner) -> Option<String> {
    let row = sqlx::query("SELECT replica, url FROM replica_leader WHERE id = 1")
        .fetch_optional(&inner.pool)
        .await;
    match row {
        Ok(Some(row)) => {
            let (replica, url): (String, String) = (row.get(0), row.get(1));
            (replica != inner.me).then_some(url)
        }
        Ok(None) => None,
        Err(e) => {
            tracing::warn!(error = %e, "cannot read which replica leads");
            None
        }
    }
}

/// Writes `replica_leader`: where the other replicas reach this one. False when it could not
/// (tried again next tick: until then the others read GitLab themselves).
async fn say_where(inner: &Inner, connection: &mut PgConnection, url: &Url) -> bool {
    let said = sqlx::query(
        "INSERT INTO replica_leader (id, replica, url, since) VALUES (1, $1, $2, now()) \
         ON CONFLICT (id) DO UPDATE SET replica = $1, url = $2, since = now()",
    )
    .bind(&inner.me)
    .bind(url.as_str())
    .execute(connection)
    .await;
    if let Err(e) = &said {
        tracing::warn!(error = %e, "cannot write where the other replicas reach this one");
    }
    said.is_ok()
}

/// Deletes the rows older than [`KEEP_MINUTES`], and notes the newest deleted.
async fn prune(pool: &PgPool) -> Result<(), sqlx::Error> {
    let mut tx = pool.begin().await?;
    let newest: Option<i64> =
        sqlx::query_scalar("SELECT max(seq) FROM replica_changes WHERE at < now() - make_interval(mins => $1)")
            .bind(KEEP_MINUTES)
            .fetch_one(&mut *tx)
            .await?;
    if let Some(newest) = newest {
        sqlx::query("DELETE FROM replica_changes WHERE seq <= $1")
            .bind(newest)
            .execute(&mut *tx)
            .await?;
        sqlx::query(
            "INSERT INTO replica_pruned (id, upto) VALUES (1, $1) \
             ON CONFLICT (id) DO UPDATE SET upto = greatest(replica_pruned.upto, excluded.upto)",
        )
        .bind(newest)
        .execute(&mut *tx)
        .await?;
    }
    tx.commit().await
}

/// Writes one row and its notification, once every row numbered before it has committed.
async fn insert(inner: &Inner, body: &serde_json::Value) -> Result<(), sqlx::Error> {
    tokio::time::timeout(TICK * 5, insert_now(inner, body))
        .await
        .unwrap_or(Err(sqlx::Error::PoolTimedOut))
}

async fn insert_now(inner: &Inner, body: &serde_json::Value) -> Result<(), sqlx::Error> {
    let mut tx = inner.pool.begin().await?;
    // A writer that died holding the lock (its host gone, its connection half-open) must not
    // stop every other writer: nobody waits for the lock long, and the server ends a
    // transaction whose client went quiet.
    sqlx::query("SET LOCAL lock_timeout = '5s'").execute(&mut *tx).await?;
    sqlx::query("SET LOCAL idle_in_transaction_session_timeout = '5s'")
        .execute(&mut *tx)
        .await?;
    sqlx::query("SELECT pg_advisory_xact_lock($1)")
        .bind(WRITE_LOCK)
        .execute(&mut *tx)
        .await?;
    sqlx::query(
        "WITH c AS (INSERT INTO replica_changes (origin, body) VALUES ($1, $2) RETURNING seq) \
         SELECT pg_notify($3, seq::text) FROM c",
    )
    .bind(&inner.me)
    .bind(body)
    .bind(CHANNEL)
    .execute(&mut *tx)
    .await?;
    tx.commit().await
}

/// Writes what the hub tells the other replicas, each row with a notification. When a change
/// could not be written (or the hub had to drop one), the next row written first tells the
/// other replicas to read everything again.
async fn write(inner: Arc<Inner>, mut written: mpsc::Receiver<Outgoing>) {
    let mut lost = false;
    while let Some(message) = written.recv().await {
        lost |= inner.hub.take_dropped();
        // Only the leader's changes are what every replica's cache depends on: a lost webhook
        // of a follower costs no more than a webhook GitLab did not send.
        if inner.hub.role() != Role::Leading {
            lost = false;
        }
        let mut messages = Vec::with_capacity(2);
        if lost {
            messages.push(Outgoing::Event(ServerEvent::Reset {
                reason: "the server could not pass on every change; read everything again".into(),
            }));
        }
        messages.push(message);
        for message in messages {
            let body = match serde_json::to_value(&message) {
                Ok(body) => body,
                Err(e) => {
                    tracing::warn!(error = %e, "a change for the other replicas does not serialize");
                    continue;
                }
            };
            let mut written_now = false;
            for attempt in 0..3u32 {
                match insert(&inner, &body).await {
                    Ok(()) => {
                        written_now = true;
                        break;
                    }
                    Err(e) if attempt == 2 => tracing::warn!(
                        error = %e,
                        "cannot write a change for the other replicas; they will be told to read everything again"
                    ),
                    Err(_) => tokio::time::sleep(Duration::from_millis(200 << attempt)).await,
                }
            }
            if !written_now {
                lost = true;
                break;
            }
            if matches!(message, Outgoing::Event(ServerEvent::Reset { .. })) {
                lost = false;
            }
        }
    }
}

/// Listens for the others' rows, and reads them (after the last seen) on each notification,
/// every few seconds, and after a reconnection.
async fn listen(inner: Arc<Inner>) {
    let mut last: Option<i64> = None;
    loop {
        let mut listener = match PgListener::connect_with(&inner.pool).await {
            Ok(l) => l,
            Err(e) => {
                tracing::warn!(error = %e, "cannot listen for the other replicas' changes");
                tokio::time::sleep(TICK).await;
                continue;
            }
        };
        if let Err(e) = listener.listen(CHANNEL).await {
            tracing::warn!(error = %e, "cannot listen for the other replicas' changes");
            tokio::time::sleep(TICK).await;
            continue;
        }
        catch_up(&inner, &mut last).await;
        loop {
            match tokio::time::timeout(CATCH_UP, listener.try_recv()).await {
                // A notification, a connection lost and made again (what was sent meanwhile is
                // in the table), or a while without either.
                Ok(Ok(_)) | Err(_) => catch_up(&inner, &mut last).await,
                Ok(Err(e)) => {
                    tracing::warn!(error = %e, "lost the connection listening for the other replicas' changes");
                    break;
                }
            }
        }
    }
}

/// Applies the rows after `last` that other replicas wrote.
async fn catch_up(inner: &Inner, last: &mut Option<i64>) {
    let Some(mut after) = *last else {
        // From now on: what was written before this replica started, its browsers never saw.
        match sqlx::query_scalar::<_, Option<i64>>(
            "SELECT greatest((SELECT max(seq) FROM replica_changes), (SELECT upto FROM replica_pruned WHERE id = 1))",
        )
        .fetch_one(&inner.pool)
        .await
        {
            Ok(max) => *last = Some(max.unwrap_or(0)),
            Err(e) => tracing::warn!(error = %e, "cannot read the other replicas' changes"),
        }
        return;
    };
    loop {
        let rows = sqlx::query("SELECT seq, origin, body FROM replica_changes WHERE seq > $1 ORDER BY seq LIMIT 500")
            .bind(after)
            .fetch_all(&inner.pool)
            .await;
        let rows = match rows {
            Ok(rows) => rows,
            Err(e) => {
                tracing::warn!(error = %e, "cannot read the other replicas' changes");
                return;
            }
        };
        if let Some(first) = rows.first()
            && first.get::<i64, _>(0) > after + 1
            && pruned_after(inner, after).await
        {
            tracing::warn!(
                "changes of other replicas were pruned before this one read them; its browsers read everything again"
            );
            inner.hub.apply(ServerEvent::Reset {
                reason: "this server missed changes while its database connection was down".into(),
            });
        }
        let more = rows.len() == 500;
        for row in rows {
            after = row.get(0);
            let origin: String = row.get(1);
            if origin == inner.me {
                continue;
            }
            let body: serde_json::Value = row.get(2);
            match serde_json::from_value::<Outgoing>(body) {
                Ok(Outgoing::Event(event)) => inner.hub.apply(event),
                Ok(Outgoing::Changed {
                    project,
                    pipeline,
                    acted,
                }) => inner.hub.apply_changed(project, pipeline, acted),
                Ok(Outgoing::Active(active)) if inner.hub.role() != Role::Leading => inner.hub.apply_active(&active),
                Ok(Outgoing::Active(_)) => {}
                Err(e) => tracing::warn!(error = %e, "a change of another replica does not read (another version?)"),
            }
        }
        *last = Some(after);
        if !more {
            return;
        }
    }
}

/// Whether rows after `after` were pruned before this replica read them (rather than the
/// sequence skipping a number, as it does for a write that failed).
async fn pruned_after(inner: &Inner, after: i64) -> bool {
    sqlx::query_scalar::<_, i64>("SELECT upto FROM replica_pruned WHERE id = 1")
        .fetch_optional(&inner.pool)
        .await
        // Unknown: assume the worst, at the cost of browsers reading everything again.
        .map_or(true, |upto| upto.is_some_and(|upto| upto > after))
}

/// `POST /internal/v1/read`: another replica's read, answered by this one's hub while it
/// leads. Not part of the public API: only replicas hold the token, and a request that came
/// through a proxy (an ingress adds `X-Forwarded-For`) is not theirs. The token is checked
/// before the body is read.
pub async fn read(
    axum::extract::State(state): axum::extract::State<crate::app::AppState>,
    request: axum::extract::Request,
) -> axum::response::Response {
    use axum::http::StatusCode;
    use axum::response::IntoResponse;
    let headers = request.headers();
    let proxied = ["x-forwarded-for", "forwarded", "x-real-ip"]
        .iter()
        .any(|h| headers.contains_key(*h));
    let Some(replicas) = state.replicas().filter(|_| !proxied) else {
        return StatusCode::NOT_FOUND.into_response();
    };
    let given = headers
        .get(axum::http::header::AUTHORIZATION)
        .and_then(|h| h.to_str().ok());
    if !replicas.admits(given) {
        return (StatusCode::UNAUTHORIZED, "only replicas read here").into_response();
    }
    let hub = state.hub();
    if hub.role() != Role::Leading {
        return (StatusCode::CONFLICT, "this replica does not lead").into_response();
    }
    let Ok(body) = axum::body::to_bytes(request.into_body(), MAX_KEY).await else {
        return (StatusCode::PAYLOAD_TOO_LARGE, "a read is a key, not this much").into_response();
    };
    let Ok(key) = serde_json::from_slice::<Key>(&body) else {
        return (StatusCode::BAD_REQUEST, "not a read this version knows").into_response();
    };
    let answer: Result<Answer, GitlabError> = hub.answer(key).await.map(Arc::unwrap_or_clone);
    axum::Json(answer).into_response()
}
