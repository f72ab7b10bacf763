//! GitLab's REST entities as stageboard reads them: only the fields it uses, every one optional
//! that GitLab may leave out, unknown fields ignored, statuses kept even when unknown.

use serde::{Deserialize, Serialize};
use stageboard_protocol::Status;

use super::time::GitlabTime;

#[derive(Debug, Clone, Deserialize, Serialize)]
pub struct GlProject {
    pub id: u64,
    pub name: String,
    pub path_with_namespace: String,
    #[serde(default)]
    pub description: Option<String>,
    #[serde(default)]
    pub default_branch: Option<String>,
    pub web_url: String,
    /// The requesting user's access (absent from `simple` answers).
    #[serde(default)]
    pub permissions: Option<GlPermissions>,
    /// Whether who started a deployment may approve it (GitLab Premium; absent elsewhere).
    #[serde(default)]
    pub allow_pipeline_trigger_approve_deployment: Option<bool>,
    /// Archived (absent from `simple` answers, which lists ask for with `archived=false`).
    #[serde(default)]
    pub archived: Option<bool>,
}

#[derive(Debug, Clone, Deserialize, Serialize)]
pub struct GlUser {
    pub id: u64,
    pub username: String,
    pub name: String,
    #[serde(default)]
    pub avatar_url: Option<String>,
}

#[derive(Debug, Clone, Deserialize, Serialize)]
pub struct GlCommit {
    pub id: String,
    #[serde(default)]
    pub short_id: Option<String>,
    #[serde(default)]
    pub title: Option<String>,
    #[serde(default)]
    pub author_name: Option<String>,
}

/// A pipeline: the list item, the single pipeline, and the one nested in jobs share this type.
#[derive(Debug, Clone, Deserialize, Serialize)]
pub struct GlPipeline {
    pub id: u64,
    #[serde(default)]
    pub iid: Option<u64>,
    #[serde(default)]
    pub project_id: Option<u64>,
    pub sha: String,
    #[serde(rename = "ref", default)]
    pub git_ref: Option<String>,
    pub status: Status,
    #[serde(default)]
    pub source: Option<String>,
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default)]
    pub tag: Option<bool>,
    #[serde(default)]
    pub created_at: Option<GitlabTime>,
    #[serde(default)]
    pub updated_at: Option<GitlabTime>,
    #[serde(default)]
    pub started_at: Option<GitlabTime>,
    #[serde(default)]
    pub finished_at: Option<GitlabTime>,
    #[serde(default)]
    pub duration: Option<f64>,
    #[serde(default)]
    pub queued_duration: Option<f64>,
    #[serde(default)]
    pub user: Option<GlUser>,
    #[serde(default)]
    pub web_url: Option<String>,
}

/// A job, or a bridge (trigger job) when `downstream_pipeline` is present.
#[derive(Debug, Clone, Deserialize, Serialize)]
pub struct GlJob {
    pub id: u64,
    pub name: String,
    pub stage: String,
    pub status: Status,
    #[serde(rename = "ref", default)]
    pub git_ref: Option<String>,
    #[serde(default)]
    pub tag: Option<bool>,
    #[serde(default)]
    pub allow_failure: Option<bool>,
    #[serde(default)]
    pub created_at: Option<GitlabTime>,
    #[serde(default)]
    pub started_at: Option<GitlabTime>,
    #[serde(default)]
    pub finished_at: Option<GitlabTime>,
    #[serde(default)]
    pub duration: Option<f64>,
    #[serde(default)]
    pub queued_duration: Option<f64>,
    #[serde(default)]
    pub failure_reason: Option<String>,
    #[serde(default)]
    pub user: Option<GlUser>,
    #[serde(default)]
    pub commit: Option<GlCommit>,
    #[serde(default)]
    pub pipeline: Option<GlPipeline>,
    #[serde(default)]
    pub web_url: Option<String>,
    #[serde(default)]
    pub downstream_pipeline: Option<GlPipeline>,
    /// The tags a runner must have to take it.
    #[serde(default)]
    pub tag_list: Option<Vec<String>>,
    /// The runner that took it (absent while it waits for one).
    #[serde(default)]
    pub runner: Option<GlRunner>,
}

#[derive(Debug, Clone, Deserialize, Serialize)]
pub struct GlEnvironmentRef {
    pub id: u64,
    pub name: String,
    #[serde(default)]
    pub slug: Option<String>,
    #[serde(default)]
    pub external_url: Option<String>,
}

/// A deployment, as listed and as nested in an environment.
#[derive(Debug, Clone, Deserialize, Serialize)]
pub struct GlDeployment {
    pub id: u64,
    #[serde(default)]
    pub iid: Option<u64>,
    #[serde(rename = "ref")]
    pub git_ref: String,
    pub sha: String,
    #[serde(default)]
    pub status: Option<Status>,
    #[serde(default)]
    pub created_at: Option<GitlabTime>,
    #[serde(default)]
    pub updated_at: Option<GitlabTime>,
    #[serde(default)]
    pub user: Option<GlUser>,
    #[serde(default)]
    pub environment: Option<GlEnvironmentRef>,
    #[serde(default)]
    pub deployable: Option<GlJob>,
    /// Approvals still needed (GitLab Premium; only a single deployment says).
    #[serde(default)]
    pub pending_approval_count: Option<u32>,
    #[serde(default)]
    pub approval_summary: Option<GlApprovalSummary>,
}

/// Who must approve a deployment and who did (GitLab Premium's `approval_summary`).
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
pub struct GlApprovalSummary {
    #[serde(default)]
    pub rules: Vec<GlApprovalRule>,
}

/// One approval rule: who (a role, a user or a group, as a deploy rule says it), how many of
/// them, and their answers.
#[derive(Debug, Clone, Deserialize, Serialize)]
pub struct GlApprovalRule {
    #[serde(flatten)]
    pub who: GlDeployAccess,
    #[serde(default)]
    pub required_approvals: u32,
    #[serde(default)]
    pub deployment_approvals: Vec<GlApproval>,
}

/// An approval or a rejection of a deployment.
#[derive(Debug, Clone, Deserialize, Serialize)]
pub struct GlApproval {
    pub user: GlUser,
    /// `approved` or `rejected`.
    pub status: String,
    #[serde(default)]
    pub created_at: Option<GitlabTime>,
    #[serde(default)]
    pub comment: Option<String>,
}

/// A protected environment (GitLab Premium): who may deploy to it.
#[derive(Debug, Clone, Deserialize, Serialize)]
pub struct GlProtectedEnvironment {
    pub name: String,
    #[serde(default)]
    pub deploy_access_levels: Vec<GlDeployAccess>,
}

/// A protected branch (name or wildcard): who may push to it and who may merge into it.
#[derive(Debug, Clone, Deserialize, Serialize)]
pub struct GlProtectedBranch {
    pub name: String,
    #[serde(default)]
    pub push_access_levels: Vec<GlDeployAccess>,
    #[serde(default)]
    pub merge_access_levels: Vec<GlDeployAccess>,
}

/// One rule of who may deploy (or push, or merge): a role (`access_level`), or one user, or one group.
#[derive(Debug, Clone, Deserialize, Serialize)]
pub struct GlDeployAccess {
    #[serde(default)]
    pub access_level: Option<u32>,
    #[serde(default)]
    pub access_level_description: Option<String>,
    #[serde(default)]
    pub user_id: Option<u64>,
    #[serde(default)]
    pub group_id: Option<u64>,
    /// A deploy key's rule (push access only), which is no person's.
    #[serde(default)]
    pub deploy_key_id: Option<u64>,
}

/// The requesting user's access to a project (`permissions` of `GET /projects/:id`).
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
pub struct GlPermissions {
    #[serde(default)]
    pub project_access: Option<GlAccess>,
    #[serde(default)]
    pub group_access: Option<GlAccess>,
}

#[derive(Debug, Clone, Deserialize, Serialize)]
pub struct GlAccess {
    pub access_level: u32,
}

impl GlPermissions {
    /// The higher of project and group access (GitLab's own rule).
    pub fn level(&self) -> u32 {
        [&self.project_access, &self.group_access]
            .into_iter()
            .flatten()
            .map(|a| a.access_level)
            .max()
            .unwrap_or(0)
    }
}

#[derive(Debug, Clone, Deserialize, Serialize)]
pub struct GlEnvironment {
    pub id: u64,
    pub name: String,
    #[serde(default)]
    pub slug: Option<String>,
    #[serde(default)]
    pub external_url: Option<String>,
    #[serde(default)]
    pub state: Option<String>,
    #[serde(default)]
    pub tier: Option<String>,
    #[serde(default)]
    pub created_at: Option<GitlabTime>,
    #[serde(default)]
    pub updated_at: Option<GitlabTime>,
    #[serde(default)]
    pub auto_stop_at: Option<GitlabTime>,
    #[serde(default)]
    pub last_deployment: Option<GlDeployment>,
}

/// A merge request, as its list gives it.
#[derive(Debug, Clone, Deserialize, Serialize)]
pub struct GlMergeRequest {
    pub iid: u64,
    #[serde(default)]
    pub title: String,
    #[serde(default)]
    pub web_url: Option<String>,
}

/// `Entities::Ci::Runner`, and from `GET /runners/:id` its details (`tag_list`,
/// `contacted_at`, `run_untagged`).
#[derive(Debug, Clone, Deserialize, Serialize)]
pub struct GlRunner {
    pub id: u64,
    #[serde(default)]
    pub description: Option<String>,
    #[serde(default)]
    pub paused: Option<bool>,
    /// Older GitLab: `active` is `!paused`.
    #[serde(default)]
    pub active: Option<bool>,
    #[serde(default)]
    pub runner_type: Option<String>,
    #[serde(default)]
    pub online: Option<bool>,
    #[serde(default)]
    pub status: Option<String>,
    #[serde(default)]
    pub tag_list: Option<Vec<String>>,
    #[serde(default)]
    pub contacted_at: Option<GitlabTime>,
    #[serde(default)]
    pub run_untagged: Option<bool>,
}

impl GlRunner {
    pub fn is_paused(&self) -> bool {
        self.paused.unwrap_or(false) || self.active == Some(false)
    }

    /// Online and not paused: it will take a job.
    pub fn takes_jobs(&self) -> bool {
        !self.is_paused() && (self.online == Some(true) || self.status.as_deref() == Some("online"))
    }

    /// It may take a job with these tags (whether online or not). Without its details (a list
    /// entry), it may: a job is said to wait only when no runner could take it.
    pub fn fits(&self, tags: &[String]) -> bool {
        if tags.is_empty() {
            self.run_untagged.unwrap_or(true)
        } else {
            self.tag_list
                .as_ref()
                .is_none_or(|own| tags.iter().all(|t| own.contains(t)))
        }
    }
}
