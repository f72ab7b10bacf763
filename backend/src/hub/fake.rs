//! A GitLab for the hub's own tests: it answers only the questions the parts under test should
//! ask (what changed, a job and its log), with what the test sets, and counts the log reads.
//! Any other question fails the test: it would mean the hub asked more than it needs.

use std::collections::HashMap;
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use async_trait::async_trait;
use bytes::Bytes;
use chrono::{DateTime, Utc};

use super::Hub;
use crate::gitlab::types::{GlCommit, GlDeployment, GlEnvironment, GlJob, GlPipeline, GlProject};
use crate::gitlab::{Gitlab, GitlabError, Page, PipelineFilter, PipelineGraph, PipelineSummary, Result};

#[derive(Default)]
pub struct FakeGitlab {
    /// The answer to "which pipelines were updated".
    pub pipelines: Mutex<Vec<GlPipeline>>,
    /// The job the log belongs to (any id), and its log.
    pub job: Mutex<Option<GlJob>>,
    pub trace: Mutex<Vec<u8>>,
    pub trace_reads: AtomicUsize,
}

impl FakeGitlab {
    pub fn answering(pipelines: Vec<GlPipeline>) -> Self {
        FakeGitlab {
            pipelines: Mutex::new(pipelines),
            ..Default::default()
        }
    }

    /// A job of this status whose log is `trace` so far.
    pub fn running_job(status: &str, trace: &[u8]) -> Self {
        let fake = FakeGitlab::default();
        fake.set_job(status);
        *fake.trace.lock().unwrap() = trace.to_vec();
        fake
    }

    pub fn set_job(&self, status: &str) {
        *self.job.lock().unwrap() = Some(
            serde_json::from_value(serde_json::json!({ "id": 5, "name": "build", "stage": "build", "status": status }))
                .unwrap(),
        );
    }

    pub fn append(&self, bytes: &[u8]) {
        self.trace.lock().unwrap().extend_from_slice(bytes);
    }
}

/// Watches project 1 (`group/app`) and waits for its first poll.
pub async fn watched(hub: &Hub) {
    hub.watch(&[(1, "group/app".into())]);
    for _ in 0..100 {
        if hub.primed() {
            return;
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    panic!("the first poll did not come");
}

pub fn pipeline(id: u64, status: &str, updated_at: &str) -> GlPipeline {
    serde_json::from_value(serde_json::json!({
        "id": id, "sha": "a".repeat(40), "status": status, "updated_at": updated_at
    }))
    .unwrap()
}

#[async_trait]
impl Gitlab for FakeGitlab {
    fn url(&self) -> String {
        "http://gitlab.test".into()
    }
    async fn pipelines_updated_after(&self, _: u64, _: Option<DateTime<Utc>>) -> Result<Vec<GlPipeline>> {
        Ok(self.pipelines.lock().unwrap().clone())
    }
    async fn job(&self, _: u64, _: u64) -> Result<GlJob> {
        self.job.lock().unwrap().clone().ok_or(GitlabError::NotFound {
            message: "404 Not found".into(),
        })
    }
    async fn trace(&self, _: u64, _: u64) -> Result<Bytes> {
        self.trace_reads.fetch_add(1, Ordering::SeqCst);
        Ok(Bytes::from(self.trace.lock().unwrap().clone()))
    }
    async fn project(&self, _: &str) -> Result<GlProject> {
        unreachable!()
    }
    async fn member_projects(&self) -> Result<Vec<GlProject>> {
        unreachable!()
    }
    async fn group_projects(&self, _: &str) -> Result<Vec<GlProject>> {
        unreachable!()
    }
    async fn topic_projects(&self, _: &str) -> Result<Vec<GlProject>> {
        unreachable!()
    }
    async fn merge_request_pipelines(&self, _: u64) -> Result<Vec<GlPipeline>> {
        unreachable!()
    }
    async fn merge_requests(&self, _: u64) -> Result<Vec<crate::gitlab::types::GlMergeRequest>> {
        unreachable!()
    }
    async fn project_runners(&self, _: u64) -> Result<Vec<crate::gitlab::types::GlRunner>> {
        unreachable!()
    }
    async fn group_runners(&self, _: &str) -> Result<Vec<crate::gitlab::types::GlRunner>> {
        unreachable!()
    }
    async fn runner(&self, _: u64) -> Result<crate::gitlab::types::GlRunner> {
        unreachable!()
    }
    async fn active_jobs(&self, _: u64) -> Result<Vec<GlJob>> {
        unreachable!()
    }
    async fn pipelines(&self, _: u64, _: &PipelineFilter, _: u32, _: u32) -> Result<Page<GlPipeline>> {
        unreachable!()
    }
    async fn pipeline(&self, _: u64, _: u64) -> Result<GlPipeline> {
        unreachable!()
    }
    async fn pipeline_jobs(&self, _: u64, _: u64) -> Result<Vec<GlJob>> {
        unreachable!()
    }
    async fn pipeline_bridges(&self, _: u64, _: u64) -> Result<Vec<GlJob>> {
        unreachable!()
    }
    async fn pipeline_graph(&self, _: &str, _: u64) -> Result<PipelineGraph> {
        unreachable!()
    }
    async fn pipeline_summaries(&self, _: &str, _: &[u64]) -> Result<HashMap<u64, PipelineSummary>> {
        unreachable!()
    }
    async fn latest_per_ref(&self, _: u64, _: bool, _: u32) -> Result<Vec<GlPipeline>> {
        unreachable!()
    }
    async fn job_environments(&self, _: &str, _: u64) -> Result<HashMap<u64, String>> {
        unreachable!()
    }
    async fn environments(&self, _: u64) -> Result<Vec<GlEnvironment>> {
        unreachable!()
    }
    async fn protected_environments(&self, _: u64) -> Result<Vec<crate::gitlab::types::GlProtectedEnvironment>> {
        unreachable!()
    }
    async fn protected_branches(&self, _: u64) -> Result<Vec<crate::gitlab::types::GlProtectedBranch>> {
        unreachable!()
    }
    async fn environment(&self, _: u64, _: u64) -> Result<GlEnvironment> {
        unreachable!()
    }
    async fn deployments(&self, _: u64, _: Option<&str>, _: Option<&str>, _: u32) -> Result<Vec<GlDeployment>> {
        unreachable!()
    }
    async fn deployment(&self, _: u64, _: u64) -> Result<GlDeployment> {
        unreachable!()
    }
    async fn compare(&self, _: u64, _: &str, _: &str) -> Result<Vec<GlCommit>> {
        unreachable!()
    }
    async fn approve_deployment(
        &self,
        _: u64,
        _: u64,
        _: bool,
        _: Option<&str>,
    ) -> Result<crate::gitlab::types::GlApproval> {
        unreachable!()
    }
    async fn stop_environment(&self, _: u64, _: u64, _: bool) -> Result<GlEnvironment> {
        unreachable!()
    }
    async fn retry_job(&self, _: u64, _: u64) -> Result<GlJob> {
        unreachable!()
    }
    async fn cancel_job(&self, _: u64, _: u64) -> Result<GlJob> {
        unreachable!()
    }
    async fn play_job(&self, _: u64, _: u64, _: &[(String, String)]) -> Result<GlJob> {
        unreachable!()
    }
    async fn retry_pipeline(&self, _: u64, _: u64) -> Result<GlPipeline> {
        unreachable!()
    }
    async fn cancel_pipeline(&self, _: u64, _: u64) -> Result<GlPipeline> {
        unreachable!()
    }
}
