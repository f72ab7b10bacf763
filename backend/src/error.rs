//! The one error type of the HTTP API. Every failure becomes the protocol's [`ErrorBody`] with a
//! message a person can act on; details that help only an operator go to the log.

use axum::Json;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use stageboard_protocol::{ErrorBody, ErrorCode};

use crate::gitlab::GitlabError;

#[derive(Debug)]
pub struct AppError {
    status: StatusCode,
    body: ErrorBody,
}

pub type AppResult<T> = Result<T, AppError>;

impl AppError {
    pub fn new(status: StatusCode, code: ErrorCode, message: impl Into<String>) -> Self {
        AppError {
            status,
            body: ErrorBody {
                code,
                message: message.into(),
                retry_after: None,
            },
        }
    }

    pub fn bad_request(message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, ErrorCode::BadRequest, message)
    }

    pub fn not_found(message: impl Into<String>) -> Self {
        Self::new(StatusCode::NOT_FOUND, ErrorCode::NotFound, message)
    }

    pub fn forbidden(message: impl Into<String>) -> Self {
        Self::new(StatusCode::FORBIDDEN, ErrorCode::Forbidden, message)
    }

    /// The database failed: logged here (its words may name the database), and a 503 that
    /// says to try again.
    pub fn store(e: crate::store::StoreError) -> Self {
        tracing::error!(error = %e, "the database failed");
        Self::new(
            StatusCode::SERVICE_UNAVAILABLE,
            ErrorCode::Busy,
            "stageboard's database cannot be read or written just now; try again shortly.",
        )
    }

    pub fn status(&self) -> StatusCode {
        self.status
    }

    pub fn message(&self) -> &str {
        &self.body.message
    }

    /// The same error, said differently.
    pub fn with_message(mut self, message: String) -> Self {
        self.body.message = message;
        self
    }
}

/// A GitLab failure: for a read the visitor did nothing wrong, so say what is wrong between
/// stageboard and GitLab; for an action GitLab refused, its own words are what the person needs.
impl From<GitlabError> for AppError {
    fn from(error: GitlabError) -> Self {
        match error {
            GitlabError::Unreachable { url, reason } => Self::new(
                StatusCode::BAD_GATEWAY,
                ErrorCode::GitlabUnavailable,
                format!(
                    "GitLab at {url} could not be reached ({reason}). Check that GitLab is up and that GITLAB_URL is right."
                ),
            ),
            GitlabError::RateLimited { retry_after } => {
                let mut e = Self::new(
                    StatusCode::SERVICE_UNAVAILABLE,
                    ErrorCode::GitlabRateLimited,
                    format!(
                        "GitLab is rate-limiting stageboard. Try again in {} s.",
                        retry_after.as_secs()
                    ),
                );
                e.body.retry_after = Some(retry_after.as_secs().max(1));
                e
            }
            GitlabError::Unauthorized { message } => Self::new(
                StatusCode::BAD_GATEWAY,
                ErrorCode::GitlabAccess,
                format!(
                    "GitLab refused the configured token ({message}). It may be expired or revoked: set a valid GITLAB_TOKEN with the read_api scope."
                ),
            ),
            GitlabError::Forbidden { message } => Self::new(
                StatusCode::BAD_GATEWAY,
                ErrorCode::GitlabAccess,
                format!(
                    "The configured token lacks access to this on GitLab ({message}). Give the token's user at least Reporter access, with the read_api scope."
                ),
            ),
            GitlabError::NotFound { message } => Self::not_found(format!(
                "GitLab has no such resource, or the configured token cannot see it ({message})."
            )),
            GitlabError::Refused { status, message } => Self::new(
                StatusCode::from_u16(status)
                    .ok()
                    .filter(StatusCode::is_client_error)
                    .unwrap_or(StatusCode::BAD_REQUEST),
                ErrorCode::GitlabRefused,
                format!("GitLab refused: {message}"),
            ),
            GitlabError::Rejected { status: 400, message } => {
                Self::bad_request(format!("GitLab rejected the request: {message}"))
            }
            GitlabError::Rejected { status, message } => Self::new(
                StatusCode::BAD_GATEWAY,
                ErrorCode::GitlabUnavailable,
                format!("GitLab answered {status}: {message}"),
            ),
            GitlabError::Server { status, message } => Self::new(
                StatusCode::BAD_GATEWAY,
                ErrorCode::GitlabUnavailable,
                format!("GitLab failed with {status} ({message}). Try again shortly."),
            ),
            redirected @ GitlabError::Redirected { .. } => Self::new(
                StatusCode::BAD_GATEWAY,
                ErrorCode::GitlabUnavailable,
                redirected.to_string(),
            ),
            GitlabError::Unsupported { feature } => Self::new(
                StatusCode::NOT_IMPLEMENTED,
                ErrorCode::GitlabUnavailable,
                format!("GitLab does not offer {feature}, which this needs."),
            ),
            GitlabError::TooLarge { limit, .. } => Self::new(
                StatusCode::BAD_GATEWAY,
                ErrorCode::GitlabUnavailable,
                format!(
                    "GitLab's answer is larger than {} MB, more than stageboard reads (a job log this long is best read in GitLab, or downloaded from there).",
                    limit >> 20
                ),
            ),
            // The reason goes to the log, by the hub, once per outage.
            GitlabError::InvalidResponse { what, reason: _ } => Self::new(
                StatusCode::BAD_GATEWAY,
                ErrorCode::GitlabUnavailable,
                format!(
                    "GitLab sent a response stageboard could not read ({what}). Try again shortly; if it persists, check the GitLab version."
                ),
            ),
        }
    }
}

impl IntoResponse for AppError {
    fn into_response(self) -> Response {
        // GitLab's failures are logged by the hub once per change of state, not per request.
        let gitlab = matches!(
            self.body.code,
            ErrorCode::GitlabAccess | ErrorCode::GitlabUnavailable | ErrorCode::GitlabRateLimited
        );
        if self.status.is_server_error() && !gitlab {
            tracing::warn!(status = %self.status, message = %self.body.message, "request failed");
        }
        let retry_after = self.body.retry_after;
        let mut response = (self.status, Json(self.body)).into_response();
        if let Some(secs) = retry_after {
            response
                .headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from(secs));
        }
        response
    }
}

/// At most 40 characters of what a client sent, marked `…` when cut.
pub struct Shortened<'a>(pub &'a str);

impl std::fmt::Display for Shortened<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.0.char_indices().nth(40) {
            Some((end, _)) => write!(f, "{}…", &self.0[..end]),
            None => f.write_str(self.0),
        }
    }
}
