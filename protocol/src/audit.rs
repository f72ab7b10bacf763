//! The audit log on the wire: every action attempt, who made it and what GitLab answered.

use crate::Timestamp;

/// One action attempt.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct AuditEntry {
    pub id: i64,
    pub at: Timestamp,
    /// The GitLab user id of who acted (0: the shared token, in demo mode).
    pub person_id: u64,
    /// Their GitLab username.
    pub person: String,
    /// `retry_job`, `cancel_job`, `play_job`, `retry_pipeline`, `cancel_pipeline`,
    /// `stop_environment`, `approve_deployment` or `reject_deployment`.
    pub action: String,
    pub project_id: u64,
    pub pipeline_id: Option<u64>,
    pub job_id: Option<u64>,
    pub environment: Option<String>,
    /// GitLab's status code; 0 when GitLab was not reached.
    pub status: u16,
    pub outcome: AuditOutcome,
    /// GitLab's words, or what went wrong.
    pub message: String,
    pub client_address: Option<String>,
    pub request_id: Option<String>,
}

/// How an attempt ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub enum AuditOutcome {
    /// Sent to GitLab, no answer recorded (stageboard stopped meanwhile).
    Pending,
    Done,
    /// GitLab (or stageboard, before asking GitLab) said no.
    Refused,
    /// GitLab could not be reached or failed.
    Failed,
}

impl AuditOutcome {
    pub fn as_str(self) -> &'static str {
        match self {
            AuditOutcome::Pending => "pending",
            AuditOutcome::Done => "done",
            AuditOutcome::Refused => "refused",
            AuditOutcome::Failed => "failed",
        }
    }

    pub fn parse(s: &str) -> Option<AuditOutcome> {
        [
            AuditOutcome::Pending,
            AuditOutcome::Done,
            AuditOutcome::Refused,
            AuditOutcome::Failed,
        ]
        .into_iter()
        .find(|o| o.as_str() == s)
    }
}

/// A page of the audit log, newest first.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct AuditPage {
    pub entries: Vec<AuditEntry>,
    /// Pass as `before` for the next (older) page; absent on the last.
    pub next_before: Option<i64>,
    /// The projects whose entries the reader may see: to name them, and to filter by.
    pub projects: Vec<crate::Project>,
}
