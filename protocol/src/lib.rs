//! Wire types of stageboard's JSON API, shared by the backend (which produces them) and the front
//! end (which decodes them). Serde only, so it builds for wasm32 and native alike.

mod audit;
mod bundle;
mod environment;
mod error;
mod event;
mod job;
mod kiosk;
mod pipeline;
mod project;
pub mod reads;
mod runner;
mod status;
pub mod time;
mod wall;

pub use audit::{AuditEntry, AuditOutcome, AuditPage};
pub use bundle::Bundle;
pub use environment::{
    Approval, ApprovalRequest, ApprovalRule, DeploymentSummary, Environment, EnvironmentDetail, EnvironmentGrid,
    EnvironmentRow, GivenApproval, ProjectEnvironments, WaitingDeploy,
};
pub use error::{ErrorBody, ErrorCode};
pub use event::ServerEvent;
pub use job::{ActionOutcome, Job, JobEnvironment, JobLog, PlayRequest, PlayVariable};
pub use kiosk::{KioskToken, KioskTokenRequest, KioskTokens, NewKioskToken};
pub use pipeline::{
    BrokenSince, Downstream, MergeRequestRef, Pipeline, PipelineDetail, PipelinePage, ProjectOverview, Stage,
    StageMark, StageOrderSource,
};
pub use project::{Project, ServerInfo};
pub use runner::{Runner, Runners, Waiting};
pub use status::Status;
pub use time::Timestamp;
pub use wall::{Broken, Tile, TileEnvironment, Wall};

/// A GitLab user as stageboard shows it: enough to name and picture a person.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct User {
    pub id: u64,
    pub username: String,
    pub name: String,
    pub avatar_url: Option<String>,
}

/// The commit a pipeline or job ran for.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Commit {
    pub sha: String,
    pub short_sha: String,
    pub title: String,
    pub author_name: String,
}

/// A commit's short form where GitLab gives none: its first 8 characters, as GitLab shows it.
pub fn short_sha(sha: &str) -> String {
    sha.chars().take(8).collect()
}

mod health;
pub use health::{
    ClusterDeployment, ClusterIngress, ClusterLink, ClusterPod, ClusterService, EnvironmentCluster, Health,
    HealthStatus, PodWarning,
};
