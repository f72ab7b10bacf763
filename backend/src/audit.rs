//! The audit log's writing side: every action stageboard sends to GitLab is written before it
//! is sent (`pending`), and completed with GitLab's answer before the response returns. If the
//! log cannot be written, nothing is sent.

use std::future::Future;

use axum::extract::FromRequestParts;
use axum::http::StatusCode;
use axum::http::request::Parts;
use stageboard_protocol::{AuditOutcome, ErrorCode};

use crate::app::AppState;
use crate::client::ClientAddr;
use crate::error::{AppError, AppResult};
use crate::gitlab::GitlabError;
use crate::store::AuditEntry;

/// The longest request id kept (a client may send its own `X-Request-Id`).
const MAX_REQUEST_ID: usize = 64;

/// Who is acting, and from where.
#[derive(Debug, Clone)]
pub struct Actor {
    pub person_id: u64,
    pub person: String,
    pub client_address: Option<String>,
    pub request_id: Option<String>,
    /// The signed-in person's GitLab token; `None`: nobody is signed in.
    pub token: Option<secrecy::SecretString>,
    /// Their session, to renew the token in.
    pub session: Option<tower_sessions::Session>,
    /// A kiosk screen ([`crate::kiosk`]), which may not act.
    pub kiosk: bool,
}

impl FromRequestParts<AppState> for Actor {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        let Ok(ClientAddr(address)) = ClientAddr::from_request_parts(parts, state).await;
        let request_id = parts
            .headers
            .get("x-request-id")
            .and_then(|v| v.to_str().ok())
            .map(|id| id.chars().take(MAX_REQUEST_ID).collect());
        let session = tower_sessions::Session::from_request_parts(parts, state).await.ok();
        let (person, kiosk) = match &session {
            Some(session) => (
                crate::auth::signed_in(state, session).await,
                crate::kiosk::is_kiosk(session).await,
            ),
            None => (None, false),
        };
        // Its token, renewed first when it is about to expire.
        let person = match (person, &session) {
            (Some(person), Some(session)) => crate::auth::fresh_token(state, session, &person)
                .await
                .map(|token| (person, token)),
            _ => None,
        };
        let client_address = address.map(|a| a.to_string());
        Ok(match person {
            Some((person, token)) => Actor {
                session: session.clone(),
                person_id: person.id,
                token: Some(secrecy::SecretString::from(token)),
                person: person.username,
                client_address,
                request_id,
                kiosk,
            },
            // Nobody signed in: the action is refused before anything is sent or recorded.
            None => Actor {
                person_id: 0,
                person: "not signed in".into(),
                client_address,
                request_id,
                token: None,
                session: None,
                kiosk,
            },
        })
    }
}

/// An action about to be sent to GitLab.
#[derive(Debug, Clone)]
pub struct Attempt {
    pub action: &'static str,
    pub project: u64,
    pub pipeline: Option<u64>,
    pub job: Option<u64>,
    pub environment: Option<String>,
}

impl Attempt {
    pub fn on_job(action: &'static str, project: u64, job: u64) -> Self {
        Attempt {
            action,
            project,
            pipeline: None,
            job: Some(job),
            environment: None,
        }
    }

    pub fn on_pipeline(action: &'static str, project: u64, pipeline: u64) -> Self {
        Attempt {
            action,
            project,
            pipeline: Some(pipeline),
            job: None,
            environment: None,
        }
    }
}

/// GitLab's status, the outcome and the words for the log.
fn outcome_of(error: &GitlabError) -> (u16, AuditOutcome, String) {
    use GitlabError::*;
    let refused = |status: u16, message: &str| (status, AuditOutcome::Refused, message.to_owned());
    match error {
        Refused { status, message } | Rejected { status, message } => refused(*status, message),
        Unauthorized { message } => refused(401, message),
        Forbidden { message } => refused(403, message),
        NotFound { message } => refused(404, message),
        RateLimited { .. } => (429, AuditOutcome::Failed, error.to_string()),
        Server { status, .. } => (*status, AuditOutcome::Failed, error.to_string()),
        Redirected { status, .. } => (*status, AuditOutcome::Failed, error.to_string()),
        Unreachable { .. } | InvalidResponse { .. } | TooLarge { .. } | Unsupported { .. } => {
            (0, AuditOutcome::Failed, error.to_string())
        }
    }
}

impl AppState {
    /// Sends `action` to GitLab with a record of it in the audit log: written first, completed
    /// with GitLab's answer after. The log failing to take the record stops the action. The
    /// action and its record run on their own task, so a page that leaves meanwhile does not
    /// leave the record unfinished.
    pub async fn audited<T, F>(&self, actor: &Actor, attempt: Attempt, action: F) -> AppResult<T>
    where
        T: Send + 'static,
        F: Future<Output = Result<T, GitlabError>> + Send + 'static,
    {
        let entry = AuditEntry {
            id: 0,
            at: chrono::Utc::now().into(),
            person_id: actor.person_id,
            person: actor.person.clone(),
            action: attempt.action.into(),
            project_id: attempt.project,
            pipeline_id: attempt.pipeline,
            job_id: attempt.job,
            environment: attempt.environment,
            status: 0,
            outcome: AuditOutcome::Pending,
            message: String::new(),
            client_address: actor.client_address.clone(),
            request_id: actor.request_id.clone(),
        };
        let id = self.store().record(&entry).await.map_err(|e| {
            tracing::error!(error = %e, action = attempt.action, "the audit log cannot be written; the action was not sent");
            AppError::new(
                StatusCode::SERVICE_UNAVAILABLE,
                ErrorCode::Busy,
                "The audit log cannot be written just now, so nothing was sent to GitLab. Try again shortly.",
            )
        })?;
        let sent = action;
        let store = self.store().clone();
        let finished = tokio::spawn(async move {
            let (result, answered) = crate::gitlab::noting_status(sent).await;
            let (status, outcome, message) = match &result {
                Ok(_) => (
                    if answered == 0 { 200 } else { answered },
                    AuditOutcome::Done,
                    String::new(),
                ),
                Err(e) => outcome_of(e),
            };
            if let Err(e) = store.settle(id, status, outcome, &message).await {
                // GitLab has acted: the answer stands; the entry stays `pending`.
                tracing::error!(error = %e, entry = id, "the outcome of an action could not be written to the audit log");
            }
            result
        });
        let result = finished.await.map_err(|e| {
            tracing::error!(error = %e, entry = id, "an action's task failed");
            AppError::new(
                StatusCode::INTERNAL_SERVER_ERROR,
                ErrorCode::Internal,
                "The action failed inside stageboard; see the audit log and GitLab for what happened.",
            )
        })?;
        result.map_err(AppError::from)
    }
}
