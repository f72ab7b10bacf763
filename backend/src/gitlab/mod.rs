//! Everything stageboard reads from and asks of GitLab goes through the [`Gitlab`] trait, so a
//! shared cache (the hub) can stand in front of the real client without handlers changing.

mod client;
mod error;
mod graph;
mod time;
pub mod types;

use async_trait::async_trait;
use bytes::Bytes;
use percent_encoding::{NON_ALPHANUMERIC, utf8_percent_encode};
use serde_json::json;

pub use client::{ClientOptions, GitlabClient, MAX_ANSWER, Page, noting_status};
pub use error::{GitlabError, error_message};
pub use graph::{PipelineGraph, PipelineSummary, SummaryCommit};
pub use time::GitlabTime;
use types::{
    GlApproval, GlCommit, GlDeployment, GlEnvironment, GlJob, GlMergeRequest, GlPipeline, GlProject, GlProtectedBranch,
    GlProtectedEnvironment, GlRunner,
};

pub type Result<T, E = GitlabError> = std::result::Result<T, E>;

/// Filters of a pipeline list, as GitLab names them.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
pub struct PipelineFilter {
    pub git_ref: Option<String>,
    pub status: Option<String>,
    pub source: Option<String>,
}

#[async_trait]
pub trait Gitlab: Send + Sync + 'static {
    /// The GitLab instance, for messages and links.
    fn url(&self) -> String;
    /// A project by numeric id or full path.
    async fn project(&self, id_or_path: &str) -> Result<GlProject>;
    /// Projects the token's user is a member of.
    async fn member_projects(&self) -> Result<Vec<GlProject>>;
    /// The projects of a group (id or full path) and of its subgroups, archived ones left out.
    async fn group_projects(&self, group: &str) -> Result<Vec<GlProject>>;
    /// The token user's projects with this topic, archived ones left out.
    async fn topic_projects(&self, topic: &str) -> Result<Vec<GlProject>>;
    /// A project's latest merge-request pipelines (`source=merge_request_event`), newest first.
    async fn merge_request_pipelines(&self, project: u64) -> Result<Vec<GlPipeline>>;
    /// A project's open merge requests (the newest hundred).
    async fn merge_requests(&self, project: u64) -> Result<Vec<GlMergeRequest>>;
    /// The runners available to a project (GitLab lets Maintainers list them).
    async fn project_runners(&self, project: u64) -> Result<Vec<GlRunner>>;
    /// The runners available in a group: the instance's, its own and its ancestors' (GitLab
    /// lets those who maintain the group list them).
    async fn group_runners(&self, group: &str) -> Result<Vec<GlRunner>>;
    /// One runner's details: its tags, last contact.
    async fn runner(&self, runner: u64) -> Result<GlRunner>;
    /// A project's jobs waiting for a runner or running.
    async fn active_jobs(&self, project: u64) -> Result<Vec<GlJob>>;
    async fn pipelines(
        &self,
        project: u64,
        filter: &PipelineFilter,
        page: u32,
        per_page: u32,
    ) -> Result<Page<GlPipeline>>;
    /// Pipelines updated after `after` (all recent ones when `None`), most recently updated
    /// first, at most 100: one request, how the hub notices change.
    async fn pipelines_updated_after(
        &self,
        project: u64,
        after: Option<chrono::DateTime<chrono::Utc>>,
    ) -> Result<Vec<GlPipeline>>;
    async fn pipeline(&self, project: u64, pipeline: u64) -> Result<GlPipeline>;
    /// Every job of a pipeline, retried ones included, bridges excluded.
    async fn pipeline_jobs(&self, project: u64, pipeline: u64) -> Result<Vec<GlJob>>;
    async fn pipeline_bridges(&self, project: u64, pipeline: u64) -> Result<Vec<GlJob>>;
    /// Stage order and `needs` from GraphQL; `Err` when GraphQL cannot tell.
    async fn pipeline_graph(&self, project_path: &str, pipeline_iid: u64) -> Result<PipelineGraph>;
    /// Stage marks, commit, user and duration of many pipelines at once (GraphQL), by iid.
    async fn pipeline_summaries(
        &self,
        project_path: &str,
        iids: &[u64],
    ) -> Result<std::collections::HashMap<u64, PipelineSummary>>;
    /// The latest pipelines of branches (`tags == false`) or tags, one per ref, newest first.
    async fn latest_per_ref(&self, project: u64, tags: bool, count: u32) -> Result<Vec<GlPipeline>>;
    /// The environment each job of a pipeline deploys to, by job id (GraphQL).
    async fn job_environments(
        &self,
        project_path: &str,
        pipeline_iid: u64,
    ) -> Result<std::collections::HashMap<u64, String>>;
    /// A project's environments (without their last deployment).
    async fn environments(&self, project: u64) -> Result<Vec<GlEnvironment>>;
    /// Protected environments and who may deploy to them (GitLab Premium; Maintainers read it).
    async fn protected_environments(&self, project: u64) -> Result<Vec<GlProtectedEnvironment>>;
    /// Protected branches and who may push to and merge into them (whoever reads the code).
    async fn protected_branches(&self, project: u64) -> Result<Vec<GlProtectedBranch>>;
    /// One environment, with its last successful deployment.
    async fn environment(&self, project: u64, environment: u64) -> Result<GlEnvironment>;
    /// Deployments, newest first; `environment` and `status` filter.
    async fn deployments(
        &self,
        project: u64,
        environment: Option<&str>,
        status: Option<&str>,
        count: u32,
    ) -> Result<Vec<GlDeployment>>;
    /// One deployment, with what it waits for (approvals, GitLab Premium).
    async fn deployment(&self, project: u64, deployment: u64) -> Result<GlDeployment>;
    /// The commits after `from` up to `to`.
    async fn compare(&self, project: u64, from: &str, to: &str) -> Result<Vec<GlCommit>>;
    async fn stop_environment(&self, project: u64, environment: u64, force: bool) -> Result<GlEnvironment>;
    /// Approves (or rejects) a deployment waiting for approval, with an optional comment.
    async fn approve_deployment(
        &self,
        project: u64,
        deployment: u64,
        approved: bool,
        comment: Option<&str>,
    ) -> Result<GlApproval>;
    async fn job(&self, project: u64, job: u64) -> Result<GlJob>;
    /// The whole log (GitLab has no incremental API).
    async fn trace(&self, project: u64, job: u64) -> Result<Bytes>;
    async fn retry_job(&self, project: u64, job: u64) -> Result<GlJob>;
    async fn cancel_job(&self, project: u64, job: u64) -> Result<GlJob>;
    async fn play_job(&self, project: u64, job: u64, variables: &[(String, String)]) -> Result<GlJob>;
    async fn retry_pipeline(&self, project: u64, pipeline: u64) -> Result<GlPipeline>;
    async fn cancel_pipeline(&self, project: u64, pipeline: u64) -> Result<GlPipeline>;
}

/// `:id` as GitLab takes it: a number, or the full path URL-encoded (`group%2Fproject`).
pub fn project_path_param(id_or_path: &str) -> String {
    utf8_percent_encode(id_or_path, NON_ALPHANUMERIC).to_string()
}

#[async_trait]
impl Gitlab for GitlabClient {
    fn url(&self) -> String {
        self.base_url().to_string()
    }

    async fn project(&self, id_or_path: &str) -> Result<GlProject> {
        self.get(&format!("/projects/{}", project_path_param(id_or_path)), &[])
            .await
    }

    async fn member_projects(&self) -> Result<Vec<GlProject>> {
        let query = [
            ("membership", "true".to_owned()),
            // Reporter or more: who may read pipelines and job logs whatever the project's
            // settings (a Guest may not, in a private project).
            ("min_access_level", "20".to_owned()),
            ("simple", "true".to_owned()),
            ("archived", "false".to_owned()),
            // By id: a stable order to page through (by activity, projects move between pages
            // while they are read); a project met twice is kept once.
            ("order_by", "id".to_owned()),
            ("sort", "desc".to_owned()),
        ];
        self.projects_by_id("/projects", &query).await
    }

    async fn group_projects(&self, group: &str) -> Result<Vec<GlProject>> {
        let query = [
            ("include_subgroups", "true".to_owned()),
            // A project shared with the group belongs elsewhere: its own group selects it.
            ("with_shared", "false".to_owned()),
            ("simple", "true".to_owned()),
            ("archived", "false".to_owned()),
            ("order_by", "id".to_owned()),
            ("sort", "desc".to_owned()),
        ];
        let path = format!("/groups/{}/projects", project_path_param(group));
        self.projects_by_id(&path, &query).await
    }

    async fn merge_request_pipelines(&self, project: u64) -> Result<Vec<GlPipeline>> {
        let query = [
            ("source", "merge_request_event".to_owned()),
            ("order_by", "id".to_owned()),
            ("sort", "desc".to_owned()),
        ];
        Ok(self
            .page(&format!("/projects/{project}/pipelines"), &query, 1, 30)
            .await?
            .items)
    }

    async fn merge_requests(&self, project: u64) -> Result<Vec<GlMergeRequest>> {
        let query = [
            ("state", "opened".to_owned()),
            ("order_by", "updated_at".to_owned()),
            ("sort", "desc".to_owned()),
        ];
        Ok(self
            .page(&format!("/projects/{project}/merge_requests"), &query, 1, 100)
            .await?
            .items)
    }

    async fn project_runners(&self, project: u64) -> Result<Vec<GlRunner>> {
        self.all(&format!("/projects/{project}/runners"), &[]).await
    }

    async fn group_runners(&self, group: &str) -> Result<Vec<GlRunner>> {
        self.all(&format!("/groups/{}/runners", project_path_param(group)), &[])
            .await
    }

    async fn runner(&self, runner: u64) -> Result<GlRunner> {
        self.get(&format!("/runners/{runner}"), &[]).await
    }

    async fn active_jobs(&self, project: u64) -> Result<Vec<GlJob>> {
        let query = [("scope[]", "pending".to_owned()), ("scope[]", "running".to_owned())];
        self.all(&format!("/projects/{project}/jobs"), &query).await
    }

    async fn topic_projects(&self, topic: &str) -> Result<Vec<GlProject>> {
        let query = [
            ("topic", topic.to_owned()),
            // Without it, GitLab answers with every project the token may see: on gitlab.com,
            // the world's public ones.
            ("membership", "true".to_owned()),
            // Reporter or more, as for membership: who may read pipelines and job logs.
            ("min_access_level", "20".to_owned()),
            ("simple", "true".to_owned()),
            ("archived", "false".to_owned()),
            ("order_by", "id".to_owned()),
            ("sort", "desc".to_owned()),
        ];
        self.projects_by_id("/projects", &query).await
    }

    async fn pipelines(
        &self,
        project: u64,
        filter: &PipelineFilter,
        page: u32,
        per_page: u32,
    ) -> Result<Page<GlPipeline>> {
        let mut query = Vec::new();
        if let Some(r) = &filter.git_ref {
            query.push(("ref", r.clone()));
        }
        if let Some(s) = &filter.status {
            query.push(("status", s.clone()));
        }
        if let Some(s) = &filter.source {
            query.push(("source", s.clone()));
        }
        self.page(&format!("/projects/{project}/pipelines"), &query, page, per_page)
            .await
    }

    async fn pipelines_updated_after(
        &self,
        project: u64,
        after: Option<chrono::DateTime<chrono::Utc>>,
    ) -> Result<Vec<GlPipeline>> {
        let mut query = vec![("order_by", "updated_at".to_owned()), ("sort", "desc".to_owned())];
        if let Some(after) = after {
            query.push((
                "updated_after",
                after.to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
            ));
        }
        let page = self
            .page(&format!("/projects/{project}/pipelines"), &query, 1, 100)
            .await?;
        Ok(page.items)
    }

    async fn pipeline(&self, project: u64, pipeline: u64) -> Result<GlPipeline> {
        self.get(&format!("/projects/{project}/pipelines/{pipeline}"), &[])
            .await
    }

    async fn pipeline_jobs(&self, project: u64, pipeline: u64) -> Result<Vec<GlJob>> {
        let query = [("include_retried", "true".to_owned())];
        self.all(&format!("/projects/{project}/pipelines/{pipeline}/jobs"), &query)
            .await
    }

    async fn pipeline_bridges(&self, project: u64, pipeline: u64) -> Result<Vec<GlJob>> {
        self.all(&format!("/projects/{project}/pipelines/{pipeline}/bridges"), &[])
            .await
    }

    async fn pipeline_graph(&self, project_path: &str, pipeline_iid: u64) -> Result<PipelineGraph> {
        let answer = self
            .graphql(
                graph::QUERY,
                json!({ "fullPath": project_path, "iid": pipeline_iid.to_string() }),
            )
            .await?;
        PipelineGraph::from_answer(answer)
    }

    async fn pipeline_summaries(
        &self,
        project_path: &str,
        iids: &[u64],
    ) -> Result<std::collections::HashMap<u64, PipelineSummary>> {
        if iids.is_empty() {
            return Ok(Default::default());
        }
        let answer = self
            .graphql(&graph::summaries_query(iids), json!({ "fullPath": project_path }))
            .await?;
        graph::summaries_from_answer(answer)
    }

    async fn latest_per_ref(&self, project: u64, tags: bool, count: u32) -> Result<Vec<GlPipeline>> {
        let scope = if tags { "tags" } else { "branches" };
        let page = self
            .page(
                &format!("/projects/{project}/pipelines"),
                &[("scope", scope.to_owned())],
                1,
                count,
            )
            .await?;
        Ok(page.items)
    }

    async fn job_environments(
        &self,
        project_path: &str,
        pipeline_iid: u64,
    ) -> Result<std::collections::HashMap<u64, String>> {
        let answer = self
            .graphql(
                graph::ENVIRONMENTS_QUERY,
                json!({ "fullPath": project_path, "iid": pipeline_iid.to_string() }),
            )
            .await?;
        graph::environments_from_answer(answer)
    }

    async fn environments(&self, project: u64) -> Result<Vec<GlEnvironment>> {
        self.all(&format!("/projects/{project}/environments"), &[]).await
    }

    async fn protected_environments(&self, project: u64) -> Result<Vec<GlProtectedEnvironment>> {
        self.all(&format!("/projects/{project}/protected_environments"), &[])
            .await
    }

    async fn protected_branches(&self, project: u64) -> Result<Vec<GlProtectedBranch>> {
        self.all(&format!("/projects/{project}/protected_branches"), &[]).await
    }

    async fn environment(&self, project: u64, environment: u64) -> Result<GlEnvironment> {
        self.get(&format!("/projects/{project}/environments/{environment}"), &[])
            .await
    }

    async fn deployments(
        &self,
        project: u64,
        environment: Option<&str>,
        status: Option<&str>,
        count: u32,
    ) -> Result<Vec<GlDeployment>> {
        let mut query = vec![("order_by", "id".to_owned()), ("sort", "desc".to_owned())];
        if let Some(e) = environment {
            query.push(("environment", e.to_owned()));
        }
        if let Some(s) = status {
            query.push(("status", s.to_owned()));
        }
        Ok(self
            .page(&format!("/projects/{project}/deployments"), &query, 1, count)
            .await?
            .items)
    }

    async fn deployment(&self, project: u64, deployment: u64) -> Result<GlDeployment> {
        self.get(&format!("/projects/{project}/deployments/{deployment}"), &[])
            .await
    }

    async fn compare(&self, project: u64, from: &str, to: &str) -> Result<Vec<GlCommit>> {
        #[derive(serde::Deserialize)]
        struct Compare {
            #[serde(default)]
            commits: Vec<GlCommit>,
        }
        let query = [("from", from.to_owned()), ("to", to.to_owned())];
        let answer: Compare = self
            .get(&format!("/projects/{project}/repository/compare"), &query)
            .await?;
        Ok(answer.commits)
    }

    async fn stop_environment(&self, project: u64, environment: u64, force: bool) -> Result<GlEnvironment> {
        let body = json!({ "force": force });
        self.post(
            &format!("/projects/{project}/environments/{environment}/stop"),
            Some(&body),
        )
        .await
    }

    async fn approve_deployment(
        &self,
        project: u64,
        deployment: u64,
        approved: bool,
        comment: Option<&str>,
    ) -> Result<GlApproval> {
        let status = if approved { "approved" } else { "rejected" };
        let mut body = json!({ "status": status });
        if let Some(comment) = comment {
            body["comment"] = json!(comment);
        }
        self.post(
            &format!("/projects/{project}/deployments/{deployment}/approval"),
            Some(&body),
        )
        .await
    }

    async fn job(&self, project: u64, job: u64) -> Result<GlJob> {
        self.get(&format!("/projects/{project}/jobs/{job}"), &[]).await
    }

    async fn trace(&self, project: u64, job: u64) -> Result<Bytes> {
        self.get_bytes(&format!("/projects/{project}/jobs/{job}/trace")).await
    }

    async fn retry_job(&self, project: u64, job: u64) -> Result<GlJob> {
        self.post(&format!("/projects/{project}/jobs/{job}/retry"), None).await
    }

    async fn cancel_job(&self, project: u64, job: u64) -> Result<GlJob> {
        self.post(&format!("/projects/{project}/jobs/{job}/cancel"), None).await
    }

    async fn play_job(&self, project: u64, job: u64, variables: &[(String, String)]) -> Result<GlJob> {
        let attributes: Vec<_> = variables.iter().map(|(k, v)| json!({ "key": k, "value": v })).collect();
        let body = json!({ "job_variables_attributes": attributes });
        self.post(&format!("/projects/{project}/jobs/{job}/play"), Some(&body))
            .await
    }

    async fn retry_pipeline(&self, project: u64, pipeline: u64) -> Result<GlPipeline> {
        self.post(&format!("/projects/{project}/pipelines/{pipeline}/retry"), None)
            .await
    }

    async fn cancel_pipeline(&self, project: u64, pipeline: u64) -> Result<GlPipeline> {
        self.post(&format!("/projects/{project}/pipelines/{pipeline}/cancel"), None)
            .await
    }
}
