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
    #[serde(default)]
    pub created_at: Option<crate::Timestamp>,
    #[serde(default)]
    pub updated_at: Option<crate::Timestamp>,
    #[serde(default)]
    pub started_at: Option<crate::Timestamp>,
    #[serde(default)]
    pub finished_at: Option<crate::Timestamp>,
    /// Seconds the pipeline ran, as GitLab counts it.
    pub duration: Option<u64>,
    pub queued_duration: Option<f64>,
    pub user: Option<User>,
    pub commit: Option<Commit>,
    pub web_url: String,
    /// One mark per stage, in order, with the stage's worst status; empty when unknown.
    #[serde(default)]
    pub stages: Vec<StageMark>,
    /// A merge request's pipeline (`refs/merge-requests/:iid/head`): the merge request.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub merge_request: Option<MergeRequestRef>,
}

/// The merge request a pipeline ran for.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct MergeRequestRef {
    pub iid: u64,
    pub title: String,
    /// Its page in GitLab: http(s), or empty.
    pub web_url: String,
}

/// A stage summarised to its name and worst status (the mini stage graph).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct StageMark {
    pub name: String,
    pub status: Status,
}

/// A project at a glance: its default branch's latest pipeline, since when that branch is red,
/// and what other refs are doing.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ProjectOverview {
    pub project: crate::Project,
    pub latest: Option<Pipeline>,
    pub broken_since: Option<BrokenSince>,
    /// The latest pipeline of each other recently active branch or tag, newest first.
    pub other_refs: Vec<Pipeline>,
    /// Set when this project could not be read; the others still show.
    pub error: Option<String>,
}

/// The default branch turned red: when, by which pipeline and commit, and who pushed since.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct BrokenSince {
    /// The first failed pipeline after the last green one.
    pub pipeline_id: u64,
    #[serde(default)]
    pub since: Option<crate::Timestamp>,
    pub commit: Option<Commit>,
    pub user: Option<User>,
    /// Everyone whose pipelines failed since the last green one, first breaker first.
    pub authors: Vec<String>,
    /// How many failed pipelines in a row.
    pub failed_pipelines: u32,
    /// The last green pipeline was not among those looked at: broken for longer than shown.
    pub at_least: bool,
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
    /// Why the signed-in person may not run, retry or cancel this pipeline's jobs, where
    /// GitLab tells beforehand (a protected branch).
    #[serde(default)]
    pub refused: Option<String>,
}
