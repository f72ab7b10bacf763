/// The one error shape every stageboard API answer uses when something went wrong:
/// `{"code": "not_found", "message": "..."}`. `message` is written for a person and says what to do.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ErrorBody {
    pub code: ErrorCode,
    pub message: String,
    /// Seconds to wait before trying again, when GitLab asked us to slow down.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retry_after: Option<u64>,
}

/// A machine-readable class of error, stable across versions.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub enum ErrorCode {
    BadRequest,
    NotFound,
    Forbidden,
    /// The request did not prove who sent it (a webhook without the right secret).
    Unauthorized,
    /// GitLab refused the configured token (401/403 on a read).
    GitlabAccess,
    /// GitLab answered the action with a refusal (400/403/409) and its own words.
    GitlabRefused,
    /// GitLab could not be reached, answered garbage, or failed with 5xx.
    GitlabUnavailable,
    /// GitLab is rate-limiting us; try again after `retry_after` seconds.
    GitlabRateLimited,
    OffsetOutOfRange,
    /// The server is at one of its limits (open event streams): try again shortly.
    Busy,
    /// The request's body was not sent in time: send it at once and try again.
    RequestTimeout,
    Internal,
}
