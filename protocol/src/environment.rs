use crate::{Commit, EnvironmentCluster, Status, User};

/// A deployment as the environments pages show it.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct DeploymentSummary {
    pub id: u64,
    pub iid: Option<u64>,
    pub status: Status,
    #[serde(rename = "ref")]
    pub git_ref: String,
    pub sha: String,
    #[serde(default)]
    pub created_at: Option<crate::Timestamp>,
    pub user: Option<User>,
    pub job_id: Option<u64>,
    pub job_name: Option<String>,
    pub pipeline_id: Option<u64>,
}

/// A manual deploy job waiting to be run for an environment, and what it would bring.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct WaitingDeploy {
    pub job_id: u64,
    pub job_name: String,
    pub pipeline_id: Option<u64>,
    #[serde(rename = "ref")]
    pub git_ref: String,
    pub sha: String,
    /// The commits between what is deployed and what this job would deploy, oldest first.
    pub commits: Vec<Commit>,
}

/// One environment with what GitLab and the cluster say about it.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Environment {
    pub id: u64,
    pub project_id: u64,
    pub name: String,
    /// GitLab's folder: the part of the name before the first `/` (`review/x` is in `review`).
    pub folder: Option<String>,
    pub slug: Option<String>,
    pub state: String,
    pub tier: Option<String>,
    pub external_url: Option<String>,
    #[serde(default)]
    pub auto_stop_at: Option<crate::Timestamp>,
    pub last_deployment: Option<DeploymentSummary>,
    pub waiting: Vec<WaitingDeploy>,
    /// None when no cluster is configured or the environment's namespace is not watched.
    pub cluster: Option<EnvironmentCluster>,
    /// The cluster runs something other than GitLab's last successful deployment.
    pub drift: Option<String>,
}

/// A project's environments.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ProjectEnvironments {
    pub project_id: u64,
    pub environments: Vec<Environment>,
    pub cluster: crate::ClusterLink,
}

/// The environments grid: every watched project's environments in one answer.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct EnvironmentGrid {
    pub rows: Vec<EnvironmentRow>,
    pub cluster: crate::ClusterLink,
}

/// One project of the grid; `error` says why its environments could not be read (the other
/// projects still show).
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct EnvironmentRow {
    pub project: crate::Project,
    pub environments: Vec<Environment>,
    pub error: Option<String>,
}

/// One environment's page: itself and its deployment history.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct EnvironmentDetail {
    pub environment: Environment,
    pub deployments: Vec<DeploymentSummary>,
    pub cluster: crate::ClusterLink,
}
