use crate::{Status, User};

/// A CI job.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Job {
    pub id: u64,
    pub name: String,
    pub stage: String,
    pub status: Status,
    pub pipeline_id: u64,
    #[serde(rename = "ref")]
    pub git_ref: String,
    pub allow_failure: bool,
    /// A newer attempt of this job exists.
    pub retried: bool,
    #[serde(default)]
    pub created_at: Option<crate::Timestamp>,
    #[serde(default)]
    pub started_at: Option<crate::Timestamp>,
    #[serde(default)]
    pub finished_at: Option<crate::Timestamp>,
    /// Seconds, with fractions.
    pub duration: Option<f64>,
    pub queued_duration: Option<f64>,
    /// Why it failed (`script_failure`, ...); only for failed jobs.
    pub failure_reason: Option<String>,
    /// Names of the jobs this one `needs`, when known (from GraphQL).
    pub needs: Vec<String>,
    pub user: Option<User>,
    pub web_url: String,
    /// The environment the job deploys to or stops, when GitLab says (manual jobs).
    #[serde(default)]
    pub environment: Option<JobEnvironment>,
    /// Why the signed-in person may not run, retry or cancel it, where GitLab tells beforehand
    /// (a protected branch); said on the job page.
    #[serde(default)]
    pub refused: Option<String>,
}

/// Where a deploy job deploys: what a person confirms before running it.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct JobEnvironment {
    pub name: String,
    /// production, staging, testing, development or other.
    pub tier: Option<String>,
    pub external_url: Option<String>,
    /// Why the signed-in person may not deploy here, as the environment's protection says
    /// ("live is a protected environment: only Maintainers may deploy to it…"); absent when
    /// nothing says so (GitLab still decides).
    #[serde(default)]
    pub refused: Option<String>,
}

/// A slice of a job's log: the bytes from `offset` to `next_offset`.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct JobLog {
    pub job_id: u64,
    pub offset: u64,
    /// Ask for this offset next to receive only what was appended since.
    pub next_offset: u64,
    /// The log text from `offset` (invalid UTF-8 replaced by U+FFFD).
    pub content: String,
    /// The job has finished and this is the end of its log: nothing more will come.
    pub complete: bool,
    /// More of the log is there already: ask again from `next_offset` at once (one answer
    /// carries at most 2 MB of it).
    #[serde(default)]
    pub more: bool,
    pub status: Status,
}

/// What GitLab answered to an action.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ActionOutcome {
    pub message: String,
    /// The job the action produced or changed (a retry makes a new job with a new id).
    pub job: Option<Job>,
    pub pipeline: Option<crate::Pipeline>,
}

/// Body of a play request: variables for the manual job.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct PlayRequest {
    #[serde(default)]
    pub variables: Vec<PlayVariable>,
}

#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct PlayVariable {
    pub key: String,
    pub value: String,
}
