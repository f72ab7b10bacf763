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
    /// The deployment the job would make (its approvals are given to it).
    #[serde(default)]
    pub deployment_id: u64,
    /// Who must approve it before it may run, and who did (GitLab Premium's deployment
    /// approvals); `None` where it needs no approval or GitLab does not say.
    #[serde(default)]
    pub approval: Option<Approval>,
    /// Why the signed-in person may not run it, where GitLab tells beforehand.
    #[serde(default)]
    pub refused: Option<String>,
}

/// What a deployment waits for: approvals by rule, and who gave them.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Approval {
    /// Approvals still needed; 0 once every rule is satisfied.
    pub pending: u32,
    pub rules: Vec<ApprovalRule>,
    /// Why the signed-in person may neither approve nor reject, where GitLab tells beforehand.
    #[serde(default)]
    pub refused: Option<String>,
    /// Why they may reject but not approve (they started this deployment).
    #[serde(default)]
    pub approve_refused: Option<String>,
}

/// One approval rule: who (a role such as "Maintainers", a user or a group, in GitLab's
/// words), how many of them, and their answers.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ApprovalRule {
    pub who: String,
    pub required: u32,
    pub given: Vec<GivenApproval>,
}

/// An approval or a rejection, with its comment.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct GivenApproval {
    pub user: User,
    pub approved: bool,
    pub comment: Option<String>,
    #[serde(default)]
    pub at: Option<crate::Timestamp>,
}

/// Approving or rejecting a deployment (`POST .../deployments/{id}/approval`).
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ApprovalRequest {
    /// `true` approves, `false` rejects (which fails the deploy job for good).
    pub approve: bool,
    /// Why, for the people who read the deployment in GitLab (at most 255 characters).
    #[serde(default)]
    pub comment: Option<String>,
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
    /// Why the signed-in person may not deploy to or stop it, where GitLab tells beforehand.
    #[serde(default)]
    pub refused: Option<String>,
}
