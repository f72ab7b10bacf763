use chrono::{DateTime, Utc};

use crate::{Commit, Job, Status, User};

/// A pipeline as listed and as shown at the top of its page.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Pipeline {
    pub id: u64,
    pub iid: Option<u64>,
    pub project_id: u64,
    pub status: Status,
    /// The branch or tag name.
    #[serde(rename = "ref")]
    pub git_ref: String,
    pub tag: Option<bool>,
    pub sha: String,
    pub source: Option<String>,
    pub name: Option<String>,
    pub created_at: Option<DateTime<Utc>>,
    pub updated_at: Option<DateTime<Utc>>,
    pub started_at: Option<DateTime<Utc>>,
    pub finished_at: Option<DateTime<Utc>>,
    /// Seconds the pipeline ran, as GitLab counts it.
    pub duration: Option<u64>,
    pub queued_duration: Option<f64>,
    pub user: Option<User>,
    pub commit: Option<Commit>,
    pub web_url: String,
}

/// One page of a project's pipelines.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct PipelinePage {
    pub pipelines: Vec<Pipeline>,
    pub page: u32,
    pub per_page: u32,
    pub next_page: Option<u32>,
    /// Absent when GitLab does not count (over 10,000 pipelines).
    pub total: Option<u64>,
}

/// Where the order of a pipeline's stages came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub enum StageOrderSource {
    /// GitLab's GraphQL API, which knows the real stage positions and `needs`.
    Graphql,
    /// GraphQL was unavailable: stages ordered by their smallest job id, no `needs` known.
    JobIds,
}

/// A stage with its jobs, in the pipeline's stage order.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Stage {
    pub name: String,
    /// The worst status among the stage's current (not retried) jobs.
    pub status: Status,
    pub jobs: Vec<Job>,
}

/// A trigger (bridge) job and the pipeline it started, possibly in another project.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Downstream {
    pub bridge_id: u64,
    pub bridge_name: String,
    pub stage: String,
    pub status: Status,
    pub pipeline: Option<Pipeline>,
}

/// Everything the pipeline page shows.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct PipelineDetail {
    pub pipeline: Pipeline,
    pub stages: Vec<Stage>,
    pub downstream: Vec<Downstream>,
    pub stage_order: StageOrderSource,
}
