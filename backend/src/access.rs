//! Who may read what (`STAGEBOARD_ACCESS`). `public`: whoever reaches the server reads every
//! watched project (actions still need a sign-in). `login`, the default once people can sign
//! in: pages send a visitor to GitLab's sign-in first, the API answers 401, and a signed-in
//! person reads only the watched projects GitLab lets them read: checked with their own token,
//! kept in their session for [`FRESH`] (so never longer than the session).

use std::sync::Arc;

use axum::extract::FromRequestParts;
use axum::http::StatusCode;
use axum::http::request::Parts;
use secrecy::SecretString;
use stageboard_protocol::ErrorCode;
use tower_sessions::Session;

use futures::StreamExt;

use crate::app::AppState;
use crate::error::{AppError, AppResult};
use crate::gitlab::{Gitlab, GitlabError};

/// `STAGEBOARD_ACCESS`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Access {
    /// Reads need a sign-in, and show what GitLab lets the person read.
    Login,
    /// Reads are open; actions need a sign-in.
    Public,
}

impl Access {
    pub fn parse(value: &str) -> Result<Access, String> {
        match value.trim() {
            "login" => Ok(Access::Login),
            "public" => Ok(Access::Public),
            other => Err(format!(
                "STAGEBOARD_ACCESS is `{}`: it is `login` (reads need a sign-in) or `public` (reads are open, actions need a sign-in).",
                crate::error::Shortened(other)
            )),
        }
    }
}

/// How long a person's readable projects are kept before GitLab is asked again.
pub const FRESH: chrono::Duration = chrono::Duration::minutes(5);

/// Watched projects outside a person's memberships checked one by one (public and internal
/// projects a person reads without being a member); past this many, they are not shown.
const MAX_CHECKED: usize = 50;

pub(crate) const READABLE: &str = "readable";

/// How long a readable set is still used while GitLab cannot be asked (it is away).
const STALE_AT_MOST: i64 = 30 * 60;

/// Something GitLab told about a person, kept in their session: whose it is (never used for
/// anyone else who signs in with the same session) and when it was read.
#[derive(Debug, serde::Serialize, serde::Deserialize)]
struct Kept<T> {
    person: u64,
    /// Unix seconds.
    at: i64,
    value: T,
}

/// What `session` keeps under `key` for `person`, and how many seconds old it is.
pub(crate) async fn kept<T: serde::de::DeserializeOwned>(
    session: &Session,
    key: &str,
    person: u64,
) -> Option<(T, i64)> {
    let kept: Kept<T> = session.get(key).await.ok().flatten()?;
    (kept.person == person).then(|| (kept.value, chrono::Utc::now().timestamp() - kept.at))
}

/// Whether something [`kept`] `age` seconds ago is fresh enough to use without asking GitLab.
pub(crate) fn fresh(age: i64) -> bool {
    (0..FRESH.num_seconds()).contains(&age)
}

/// Keeps `value` under `key` for `person`. Not kept (the store failing) only means GitLab is
/// asked again next time.
pub(crate) async fn keep<T: serde::Serialize>(session: &Session, key: &str, person: u64, value: T) {
    let kept = Kept {
        person,
        at: chrono::Utc::now().timestamp(),
        value,
    };
    let _ = session.insert(key, kept).await;
}

/// Who reads: everyone (`public`), a signed-in person limited to what GitLab lets them read,
/// or a kiosk screen limited to its board ([`crate::kiosk`]).
#[derive(Debug, Clone)]
pub struct Reader {
    /// `None`: every watched project.
    only: Option<Arc<Vec<u64>>>,
    /// A kiosk screen's board.
    kiosk: Option<String>,
}

impl Reader {
    pub fn everyone() -> Reader {
        Reader {
            only: None,
            kiosk: None,
        }
    }

    /// A kiosk screen showing `board`, which shows `projects`.
    pub fn kiosk(board: String, projects: Vec<u64>) -> Reader {
        Reader {
            only: Some(Arc::new(projects)),
            kiosk: Some(board),
        }
    }

    /// The board a kiosk screen is limited to.
    pub fn kiosk_board(&self) -> Option<&str> {
        self.kiosk.as_deref()
    }

    pub fn may_read(&self, project: u64) -> bool {
        self.only.as_ref().is_none_or(|only| only.contains(&project))
    }

    /// The projects this reader is limited to, if any.
    pub fn only(&self) -> Option<&[u64]> {
        self.only.as_deref().map(Vec::as_slice)
    }
}

pub fn sign_in_first() -> AppError {
    AppError::new(
        StatusCode::UNAUTHORIZED,
        ErrorCode::Unauthorized,
        "Sign in with GitLab to read this stageboard: it shows what GitLab lets you read (/auth/login).",
    )
}

impl FromRequestParts<AppState> for Reader {
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        let session = Session::from_request_parts(parts, state).await.ok();
        // A kiosk screen reads its board, however reads are open.
        if let Some(session) = &session {
            let Ok(crate::client::ClientAddr(from)) = crate::client::ClientAddr::from_request_parts(parts, state).await;
            if let Some(kiosk) = crate::kiosk::of_session(state, session, from.map(|a| a.to_string())).await? {
                if !crate::kiosk::READS.contains(&parts.uri.path()) {
                    return Err(AppError::forbidden(
                        "This is a kiosk screen: it reads its wall board and nothing else.",
                    ));
                }
                let projects = crate::kiosk::projects(state, &kiosk).await?;
                return Ok(Reader::kiosk(kiosk.token.board, projects));
            }
        }
        if state.access() == Access::Public {
            return Ok(Reader::everyone());
        }
        let session = session.ok_or_else(sign_in_first)?;
        let person = crate::auth::signed_in(state, &session)
            .await
            .ok_or_else(sign_in_first)?;
        let projects = readable(state, &session, &person).await?;
        Ok(Reader {
            only: Some(Arc::new(projects)),
            kiosk: None,
        })
    }
}

/// The watched projects `person` may read: from their session while fresh, else asked of GitLab
/// with their token (their memberships, then the other watched projects one by one).
async fn readable(state: &AppState, session: &Session, person: &crate::auth::SignedIn) -> AppResult<Vec<u64>> {
    let kept: Option<(Vec<u64>, i64)> = kept(session, READABLE, person.id).await;
    if let Some((projects, age)) = &kept
        && fresh(*age)
    {
        return Ok(projects.clone());
    }
    let token = crate::auth::fresh_token(state, session, person)
        .await
        .ok_or_else(sign_in_first)?;
    let watched: Vec<u64> = state.watched_projects().await?.iter().map(|p| p.id).collect();
    let asked = match ask_gitlab(state, &token, &watched).await {
        Err(GitlabError::Unauthorized { .. }) => {
            // Expired (they last two hours): renewed as for an action, then asked once more.
            let renewed = match state.auth() {
                Some(auth) => auth.renew(state, session, &token).await,
                None => None,
            };
            match renewed {
                Some(token) => ask_gitlab(state, &token, &watched).await,
                None => {
                    return Err(AppError::new(
                        StatusCode::UNAUTHORIZED,
                        ErrorCode::Unauthorized,
                        "Your GitLab sign-in has expired and could not be renewed: sign in again (/auth/login).",
                    ));
                }
            }
        }
        other => other,
    };
    match asked {
        Ok(projects) => {
            keep(session, READABLE, person.id, &projects).await;
            Ok(projects)
        }
        // GitLab away for now: what was last known (for a while), rather than nothing.
        Err(e) => match kept {
            Some((projects, age))
                if (e.is_transient() || matches!(e, GitlabError::RateLimited { .. })) && age < STALE_AT_MOST =>
            {
                Ok(projects)
            }
            // Their own token refused (blocked, scopes taken away): theirs to sort out, not the
            // operator's (the shared token's messages would say so).
            _ if matches!(e, GitlabError::Unauthorized { .. } | GitlabError::Forbidden { .. }) => Err(AppError::new(
                StatusCode::UNAUTHORIZED,
                ErrorCode::Unauthorized,
                format!("GitLab refused your sign-in ({e}): sign in again (/auth/login)."),
            )),
            _ => Err(e.into()),
        },
    }
}

async fn ask_gitlab(state: &AppState, token: &str, watched: &[u64]) -> Result<Vec<u64>, GitlabError> {
    let gitlab = state.gitlab_client().for_person(SecretString::from(token.to_owned()));
    let members: Vec<u64> = gitlab.member_projects().await?.iter().map(|p| p.id).collect();
    let mut readable: Vec<u64> = watched.iter().copied().filter(|id| members.contains(id)).collect();
    // The others: whether GitLab shows this person their pipelines (public and internal
    // projects, or pipelines made public), a few at a time.
    let others = watched
        .iter()
        .copied()
        .filter(|id| !members.contains(id))
        .take(MAX_CHECKED);
    let checked: Vec<(u64, Result<(), GitlabError>)> = futures::stream::iter(others)
        .map(|id| {
            let gitlab = &gitlab;
            async move {
                let filter = crate::gitlab::PipelineFilter::default();
                (id, gitlab.pipelines(id, &filter, 1, 1).await.map(drop))
            }
        })
        .buffer_unordered(4)
        .collect()
        .await;
    for (id, answer) in checked {
        match answer {
            Ok(()) => readable.push(id),
            Err(GitlabError::NotFound { .. } | GitlabError::Forbidden { .. }) => {}
            Err(e) => return Err(e),
        }
    }
    readable.sort_unstable();
    Ok(readable)
}

/// People's roles on projects as GitLab told them (with each person's own token), by person and
/// project: kept for [`FRESH`], and read once however many requests want one at the same time
/// (a page's parallel reads, a person's tabs), so GitLab is not asked per request. A failed
/// read is shared by those waiting for it and kept a few seconds. Forgotten when the person
/// signs in again. Bounded: past [`Roles::MOST`] entries the stale ones go, then all.
#[derive(Default)]
pub struct Roles(std::sync::Mutex<std::collections::HashMap<(u64, u64), Role>>);

/// A role as read (or being read) at an instant.
type Role = (std::time::Instant, Arc<tokio::sync::OnceCell<Option<u32>>>);

impl Roles {
    const MOST: usize = 10_000;
    /// How long a failed read stands before GitLab is asked again.
    const FAILED_FOR: std::time::Duration = std::time::Duration::from_secs(5);

    /// Whoever signs in anew is asked again (they may have been given a role meanwhile).
    pub fn forget(&self, person: u64) {
        self.0.lock().expect("roles lock").retain(|(p, _), _| *p != person);
    }

    pub async fn get_or_read<F, Fut>(&self, person: u64, project: u64, read: F) -> Option<u32>
    where
        F: FnOnce() -> Fut,
        Fut: std::future::Future<Output = Option<u32>>,
    {
        let fresh_for = FRESH.to_std().expect("a positive duration");
        let stale = |(at, cell): &Role| {
            let life = match cell.get() {
                Some(None) => Self::FAILED_FOR,
                _ => fresh_for,
            };
            at.elapsed() >= life
        };
        let cell = {
            let mut roles = self.0.lock().expect("roles lock");
            if roles.len() >= Self::MOST {
                roles.retain(|_, role| !stale(role));
                if roles.len() >= Self::MOST {
                    roles.clear();
                }
            }
            let entry = roles
                .entry((person, project))
                .or_insert_with(|| (std::time::Instant::now(), Arc::default()));
            if stale(entry) {
                *entry = (std::time::Instant::now(), Arc::default());
            }
            entry.1.clone()
        };
        *cell.get_or_init(read).await
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicUsize, Ordering};

    use super::*;

    #[tokio::test]
    async fn a_role_is_read_once_however_many_ask_and_a_failure_is_shared_not_kept_long() {
        let roles = Roles::default();
        let reads = AtomicUsize::new(0);
        let read = || async {
            reads.fetch_add(1, Ordering::SeqCst);
            tokio::time::sleep(std::time::Duration::from_millis(20)).await;
            Some(30)
        };
        let all = futures::future::join_all((0..20).map(|_| roles.get_or_read(2, 1, read))).await;
        assert!(all.iter().all(|r| *r == Some(30)));
        assert_eq!(reads.load(Ordering::SeqCst), 1, "one read for twenty askers");

        let failures = AtomicUsize::new(0);
        let failing = || async {
            failures.fetch_add(1, Ordering::SeqCst);
            tokio::time::sleep(std::time::Duration::from_millis(20)).await;
            None
        };
        let all = futures::future::join_all((0..20).map(|_| roles.get_or_read(3, 1, failing))).await;
        assert!(all.iter().all(Option::is_none));
        assert_eq!(
            failures.load(Ordering::SeqCst),
            1,
            "a failure is shared, not retried by each"
        );

        roles.forget(2);
        assert_eq!(roles.get_or_read(2, 1, read).await, Some(30));
        assert_eq!(reads.load(Ordering::SeqCst), 2, "asked again after signing in anew");
    }
}
