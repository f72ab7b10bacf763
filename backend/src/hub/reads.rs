//! Every GitLab read of the app, through the hub's cache: what each answer is called ([`Key`]),
//! how long it stays good, and the fallbacks' capability (GraphQL) learned once.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use bytes::Bytes;
use chrono::{DateTime, Utc};
use futures::FutureExt;
use futures::future::BoxFuture;
use serde::{Deserialize, Serialize};

use super::cache::{Scope, Weigh, debug_weight, is_outage};
use super::{Hub, Role};
use crate::gitlab::types::{
    GlApproval, GlCommit, GlDeployment, GlEnvironment, GlJob, GlPipeline, GlProject, GlProtectedBranch,
    GlProtectedEnvironment,
};
use crate::gitlab::{Gitlab, GitlabError, Page, PipelineFilter, PipelineGraph, PipelineSummary, Result};

/// One answer the hub keeps: which GitLab read it is, with everything that read depends on.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Key {
    Project(String),
    MemberProjects,
    GroupProjects(String),
    TopicProjects(String),
    ProjectRunners(u64),
    GroupRunners(String),
    Runner(u64),
    ActiveJobs(u64),
    MergeRequestPipelines(u64),
    MergeRequests(u64),
    Pipelines {
        project: u64,
        filter: PipelineFilter,
        page: u32,
        per_page: u32,
    },
    Pipeline {
        project: u64,
        pipeline: u64,
    },
    Jobs {
        project: u64,
        pipeline: u64,
    },
    Bridges {
        project: u64,
        pipeline: u64,
    },
    LatestPerRef {
        project: u64,
        tags: bool,
        count: u32,
    },
    Environments(u64),
    ProtectedEnvironments(u64),
    ProtectedBranches(u64),
    Environment {
        project: u64,
        environment: u64,
    },
    Deployments {
        project: u64,
        environment: Option<String>,
        status: Option<String>,
        count: u32,
    },
    Deployment {
        project: u64,
        deployment: u64,
    },
    Compare {
        project: u64,
        from: String,
        to: String,
    },
    Job {
        project: u64,
        job: u64,
    },
    Trace {
        project: u64,
        job: u64,
    },
    /// GraphQL: stage order and needs of a pipeline.
    Graph {
        path: String,
        iid: u64,
    },
    /// GraphQL: stage marks and commits of a batch of pipelines.
    Summaries {
        path: String,
        iids: Vec<u64>,
    },
    /// GraphQL: the environment each job of a pipeline deploys to.
    JobEnvironments {
        path: String,
        iid: u64,
    },
}

impl Key {
    /// The kind of read, for the log (never ids or paths).
    pub fn kind(&self) -> &'static str {
        match self {
            Key::Project(_) => "project",
            Key::MemberProjects => "member projects",
            Key::GroupProjects(_) => "group projects",
            Key::TopicProjects(_) => "topic projects",
            Key::ProjectRunners(_) => "project runners",
            Key::GroupRunners(_) => "group runners",
            Key::Runner(_) => "runner",
            Key::ActiveJobs(_) => "active jobs",
            Key::MergeRequestPipelines(_) => "merge request pipelines",
            Key::MergeRequests(_) => "merge requests",
            Key::Pipelines { .. } => "pipeline list",
            Key::Pipeline { .. } => "pipeline",
            Key::Jobs { .. } => "pipeline jobs",
            Key::Bridges { .. } => "pipeline bridges",
            Key::LatestPerRef { .. } => "latest pipelines per ref",
            Key::Environments(_) => "environments",
            Key::ProtectedEnvironments(_) => "protected environments",
            Key::ProtectedBranches(_) => "protected branches",
            Key::Environment { .. } => "environment",
            Key::Deployments { .. } => "deployments",
            Key::Deployment { .. } => "deployment",
            Key::Compare { .. } => "compare",
            Key::Job { .. } => "job",
            Key::Trace { .. } => "job log",
            Key::Graph { .. } => "pipeline graph",
            Key::Summaries { .. } => "pipeline summaries",
            Key::JobEnvironments { .. } => "job environments",
        }
    }

    /// Read through GitLab's GraphQL API, which an instance may not offer.
    pub fn uses_graphql(&self) -> bool {
        matches!(
            self,
            Key::Graph { .. } | Key::Summaries { .. } | Key::JobEnvironments { .. }
        )
    }

    /// The optional part of GitLab's API this read needs, which an older or locked-down
    /// instance may lack, and what the pages do without it. Only reads the pages can do
    /// without: a core read answered by GitLab's unknown-route 404 stays an error of its own
    /// and never blocks its kind for everyone.
    fn capability(&self) -> Option<(&'static str, &'static str)> {
        match self {
            _ if self.uses_graphql() => Some((
                "the GraphQL API",
                "stages are ordered by job ids, pipelines lack stage marks and manual jobs their environment",
            )),
            Key::Bridges { .. } => Some(("pipeline bridges", "pipeline pages show no downstream pipelines")),
            Key::ProtectedEnvironments(_) => Some((
                "protected environments",
                "deploy buttons cannot say beforehand who may deploy (GitLab still decides)",
            )),
            Key::ProtectedBranches(_) => Some((
                "protected branches",
                "action buttons cannot say beforehand who may act on a protected branch (GitLab still decides)",
            )),
            _ => None,
        }
    }

    /// What the answer stays good for; `by_path` finds the scope of a project named by path;
    /// `listings` is how often the selection of projects is read again.
    fn scope(&self, trace_every: Duration, listings: Duration, by_path: impl Fn(&str) -> Scope) -> Scope {
        match self {
            // Renames and membership change without a pipeline changing: kept until the
            // selection is read again.
            Key::Project(_) | Key::MemberProjects | Key::GroupProjects(_) | Key::TopicProjects(_) => {
                Scope::For(listings)
            }
            Key::ProtectedEnvironments(_) | Key::ProtectedBranches(_) => Scope::For(Duration::from_secs(600)),
            // Runners come and go without a pipeline changing: a minute.
            Key::ProjectRunners(_) | Key::GroupRunners(_) | Key::Runner(_) => Scope::For(Duration::from_secs(60)),
            // A new merge request gets a pipeline, which changes the project.
            Key::ActiveJobs(project) | Key::MergeRequestPipelines(project) | Key::MergeRequests(project) => {
                Scope::Project(*project)
            }
            Key::Pipelines { project, .. }
            | Key::LatestPerRef { project, .. }
            | Key::Environments(project)
            | Key::Environment { project, .. }
            | Key::Deployments { project, .. }
            | Key::Job { project, .. } => Scope::Project(*project),
            Key::Pipeline { project, pipeline }
            | Key::Jobs { project, pipeline }
            | Key::Bridges { project, pipeline } => Scope::Pipeline(*project, *pipeline),
            // Commits between two shas never change; between refs they may.
            Key::Compare { project, from, to } => {
                let sha = |r: &str| r.len() == 40 && r.bytes().all(|b| b.is_ascii_hexdigit());
                if sha(from) && sha(to) {
                    Scope::Forever
                } else {
                    Scope::Project(*project)
                }
            }
            // Approvals given in GitLab change no pipeline: read again after half a minute.
            Key::Deployment { project, .. } => Scope::ProjectFor(*project, Duration::from_secs(30)),
            // A running log grows without its pipeline changing: fetched at most once per interval.
            Key::Trace { project, .. } => Scope::ProjectFor(*project, trace_every),
            Key::Graph { path, .. } | Key::Summaries { path, .. } | Key::JobEnvironments { path, .. } => by_path(path),
        }
    }
}

/// One answer the hub keeps, typed by the read it answers (see [`Key`]). Single resources are
/// boxed so that a list costs no more than its own size.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub enum Answer {
    Project(Box<GlProject>),
    Projects(Vec<GlProject>),
    PipelinePage(Page<GlPipeline>),
    Pipelines(Vec<GlPipeline>),
    Pipeline(Box<GlPipeline>),
    Jobs(Vec<GlJob>),
    Job(Box<GlJob>),
    Graph(Box<PipelineGraph>),
    Summaries(HashMap<u64, PipelineSummary>),
    JobEnvironments(HashMap<u64, String>),
    Environments(Vec<GlEnvironment>),
    Protected(Vec<GlProtectedEnvironment>),
    ProtectedBranches(Vec<GlProtectedBranch>),
    Environment(Box<GlEnvironment>),
    Deployments(Vec<GlDeployment>),
    Deployment(Box<GlDeployment>),
    Commits(Vec<GlCommit>),
    Log(#[serde(with = "base64_bytes")] Bytes),
    Runners(Vec<crate::gitlab::types::GlRunner>),
    MergeRequests(Vec<crate::gitlab::types::GlMergeRequest>),
    Runner(Box<crate::gitlab::types::GlRunner>),
}

/// Each answer type in and out of [`Answer`]: `$wrap` puts it in its variant, `$unwrap`
/// takes it out.
macro_rules! answers {
    ($($variant:ident($t:ty, $wrap:path, $unwrap:expr)),* $(,)?) => {
        $(
            impl From<$t> for Answer {
                fn from(value: $t) -> Self {
                    Answer::$variant($wrap(value))
                }
            }
            impl TryFrom<Answer> for $t {
                type Error = Answer;
                fn try_from(answer: Answer) -> std::result::Result<Self, Answer> {
                    match answer {
                        Answer::$variant(value) => Ok($unwrap(value)),
                        other => Err(other),
                    }
                }
            }
        )*
    };
}

fn same<T>(value: T) -> T {
    value
}

answers!(
    Project(GlProject, Box::new, |b: Box<_>| *b),
    Projects(Vec<GlProject>, same, same),
    Runners(Vec<crate::gitlab::types::GlRunner>, same, same),
    MergeRequests(Vec<crate::gitlab::types::GlMergeRequest>, same, same),
    Runner(crate::gitlab::types::GlRunner, Box::new, |b: Box<_>| *b),
    PipelinePage(Page<GlPipeline>, same, same),
    Pipelines(Vec<GlPipeline>, same, same),
    Pipeline(GlPipeline, Box::new, |b: Box<_>| *b),
    Jobs(Vec<GlJob>, same, same),
    Job(GlJob, Box::new, |b: Box<_>| *b),
    Graph(PipelineGraph, Box::new, |b: Box<_>| *b),
    Summaries(HashMap<u64, PipelineSummary>, same, same),
    JobEnvironments(HashMap<u64, String>, same, same),
    Environments(Vec<GlEnvironment>, same, same),
    Protected(Vec<GlProtectedEnvironment>, same, same),
    ProtectedBranches(Vec<GlProtectedBranch>, same, same),
    Environment(GlEnvironment, Box::new, |b: Box<_>| *b),
    Deployments(Vec<GlDeployment>, same, same),
    Deployment(GlDeployment, Box::new, |b: Box<_>| *b),
    Commits(Vec<GlCommit>, same, same),
    Log(Bytes, same, same),
);

impl Weigh for Answer {
    fn weight(&self) -> usize {
        match self {
            Answer::Log(log) => log.len(),
            other => debug_weight(other),
        }
    }
}

/// A log travels between replicas as base64 text.
mod base64_bytes {
    use base64::Engine;
    use bytes::Bytes;
    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(bytes: &Bytes, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&base64::engine::general_purpose::STANDARD.encode(bytes))
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Bytes, D::Error> {
        let text = String::deserialize(deserializer)?;
        base64::engine::general_purpose::STANDARD
            .decode(text)
            .map(Bytes::from)
            .map_err(serde::de::Error::custom)
    }
}

/// Asks GitLab the read `key` names: the one place a [`Key`] becomes a request, so that a
/// replica can ask the leading one for an answer by its key.
pub fn fetch(gitlab: Arc<dyn Gitlab>, key: Key) -> BoxFuture<'static, Result<Answer>> {
    async move {
        let g = gitlab.as_ref();
        Ok(match key {
            Key::Project(id) => g.project(&id).await?.into(),
            Key::MemberProjects => g.member_projects().await?.into(),
            Key::GroupProjects(group) => g.group_projects(&group).await?.into(),
            Key::TopicProjects(topic) => g.topic_projects(&topic).await?.into(),
            Key::ProjectRunners(project) => g.project_runners(project).await?.into(),
            Key::GroupRunners(group) => g.group_runners(&group).await?.into(),
            Key::Runner(runner) => g.runner(runner).await?.into(),
            Key::ActiveJobs(project) => g.active_jobs(project).await?.into(),
            Key::MergeRequestPipelines(project) => g.merge_request_pipelines(project).await?.into(),
            Key::MergeRequests(project) => g.merge_requests(project).await?.into(),
            Key::Pipelines {
                project,
                filter,
                page,
                per_page,
            } => g.pipelines(project, &filter, page, per_page).await?.into(),
            Key::Pipeline { project, pipeline } => g.pipeline(project, pipeline).await?.into(),
            Key::Jobs { project, pipeline } => g.pipeline_jobs(project, pipeline).await?.into(),
            Key::Bridges { project, pipeline } => g.pipeline_bridges(project, pipeline).await?.into(),
            Key::LatestPerRef { project, tags, count } => g.latest_per_ref(project, tags, count).await?.into(),
            Key::Environments(project) => g.environments(project).await?.into(),
            Key::ProtectedEnvironments(project) => g.protected_environments(project).await?.into(),
            Key::ProtectedBranches(project) => g.protected_branches(project).await?.into(),
            Key::Environment { project, environment } => g.environment(project, environment).await?.into(),
            Key::Deployments {
                project,
                environment,
                status,
                count,
            } => g
                .deployments(project, environment.as_deref(), status.as_deref(), count)
                .await?
                .into(),
            Key::Deployment { project, deployment } => g.deployment(project, deployment).await?.into(),
            Key::Compare { project, from, to } => g.compare(project, &from, &to).await?.into(),
            Key::Job { project, job } => g.job(project, job).await?.into(),
            Key::Trace { project, job } => g.trace(project, job).await?.into(),
            Key::Graph { path, iid } => g.pipeline_graph(&path, iid).await?.into(),
            Key::Summaries { path, iids } => g.pipeline_summaries(&path, &iids).await?.into(),
            Key::JobEnvironments { path, iid } => g.job_environments(&path, iid).await?.into(),
        })
    }
    .boxed()
}

impl Hub {
    /// The answer for `key`, typed.
    async fn read<T>(&self, key: Key) -> Result<T>
    where
        T: Into<Answer> + TryFrom<Answer, Error = Answer>,
    {
        let kind = key.kind();
        let answer = self.answer(key).await?;
        T::try_from(Arc::unwrap_or_clone(answer)).map_err(|_| GitlabError::InvalidResponse {
            what: "the hub's cache".into(),
            reason: format!("a {kind} read found an answer of another type"),
        })
    }

    /// The answer for `key`: from the cache while good, else from GitLab (one request however
    /// many ask, within the limit of concurrent GitLab requests) or, on a replica that does
    /// not lead, from the leading replica's hub.
    pub async fn answer(&self, key: Key) -> Result<Arc<Answer>> {
        let capability = key
            .capability()
            .map(|(feature, without)| self.0.capabilities.of(feature, without));
        if let Some(capability) = &capability {
            capability.check()?;
        }
        let kind = key.kind();
        let scope = key.scope(self.0.settings.trace, self.0.settings.listings, |path| {
            self.path_scope(path)
        });
        let (version, max_age) = self.freshness(scope);
        let upstream = self.0.upstream.clone();
        let permits = self.0.permits.clone();
        let leader = self.leader();
        let answer = self
            .0
            .cache
            .read(key.clone(), version, max_age, &self.0.metrics, move || async move {
                if let Some(leader) = leader
                    && let Some(answer) = leader.read(&key).await
                {
                    return answer.map(Arc::new);
                }
                // The semaphore is never closed.
                let _permit = permits.acquire_owned().await.ok();
                fetch(upstream, key).await.map(Arc::new)
            })
            .await;
        if let Some(capability) = &capability {
            capability.observe(&answer);
        }
        if self.role() == Role::Following {
            // The answer (or its error) is mostly the leader's: whether GitLab answers is
            // what the leader says (`Hub::apply`), not what one read through it suggests.
            return answer.map(|read| read.value);
        }
        match &answer {
            Ok(read) if read.fetched => {
                self.reachable();
                self.0.failures.answered(kind);
            }
            // From the cache (fresh or, during an outage, stale): says nothing about GitLab now.
            Ok(_) => {}
            Err(e) if is_outage(e) => self.unreachable(e),
            // Logged by its capability.
            Err(GitlabError::Unsupported { .. }) if capability.is_some() => self.reachable(),
            Err(e) => {
                self.reachable();
                self.0.failures.refused(kind, e);
            }
        }
        answer.map(|read| read.value)
    }
}

#[async_trait]
impl Gitlab for Hub {
    fn url(&self) -> String {
        self.0.upstream.url()
    }

    async fn project(&self, id_or_path: &str) -> Result<GlProject> {
        self.read(Key::Project(id_or_path.to_owned())).await
    }

    async fn member_projects(&self) -> Result<Vec<GlProject>> {
        self.read(Key::MemberProjects).await
    }

    async fn group_projects(&self, group: &str) -> Result<Vec<GlProject>> {
        self.read(Key::GroupProjects(group.to_owned())).await
    }

    async fn merge_request_pipelines(&self, project: u64) -> Result<Vec<GlPipeline>> {
        self.read(Key::MergeRequestPipelines(project)).await
    }

    async fn merge_requests(&self, project: u64) -> Result<Vec<crate::gitlab::types::GlMergeRequest>> {
        self.read(Key::MergeRequests(project)).await
    }

    async fn project_runners(&self, project: u64) -> Result<Vec<crate::gitlab::types::GlRunner>> {
        self.read(Key::ProjectRunners(project)).await
    }

    async fn group_runners(&self, group: &str) -> Result<Vec<crate::gitlab::types::GlRunner>> {
        self.read(Key::GroupRunners(group.to_owned())).await
    }

    async fn runner(&self, runner: u64) -> Result<crate::gitlab::types::GlRunner> {
        self.read(Key::Runner(runner)).await
    }

    async fn active_jobs(&self, project: u64) -> Result<Vec<GlJob>> {
        self.read(Key::ActiveJobs(project)).await
    }

    async fn topic_projects(&self, topic: &str) -> Result<Vec<GlProject>> {
        self.read(Key::TopicProjects(topic.to_owned())).await
    }

    async fn pipelines(
        &self,
        project: u64,
        filter: &PipelineFilter,
        page: u32,
        per_page: u32,
    ) -> Result<Page<GlPipeline>> {
        self.read(Key::Pipelines {
            project,
            filter: filter.clone(),
            page,
            per_page,
        })
        .await
    }

    async fn pipelines_updated_after(&self, project: u64, after: Option<DateTime<Utc>>) -> Result<Vec<GlPipeline>> {
        // The poller's own question: never cached.
        self.0.upstream.pipelines_updated_after(project, after).await
    }

    async fn pipeline(&self, project: u64, pipeline: u64) -> Result<GlPipeline> {
        self.read(Key::Pipeline { project, pipeline }).await
    }

    async fn pipeline_jobs(&self, project: u64, pipeline: u64) -> Result<Vec<GlJob>> {
        self.read(Key::Jobs { project, pipeline }).await
    }

    async fn pipeline_bridges(&self, project: u64, pipeline: u64) -> Result<Vec<GlJob>> {
        self.read(Key::Bridges { project, pipeline }).await
    }

    async fn pipeline_graph(&self, project_path: &str, pipeline_iid: u64) -> Result<PipelineGraph> {
        self.read(Key::Graph {
            path: project_path.to_owned(),
            iid: pipeline_iid,
        })
        .await
    }

    async fn pipeline_summaries(&self, project_path: &str, iids: &[u64]) -> Result<HashMap<u64, PipelineSummary>> {
        self.read(Key::Summaries {
            path: project_path.to_owned(),
            iids: iids.to_vec(),
        })
        .await
    }

    async fn latest_per_ref(&self, project: u64, tags: bool, count: u32) -> Result<Vec<GlPipeline>> {
        self.read(Key::LatestPerRef { project, tags, count }).await
    }

    async fn job_environments(&self, project_path: &str, pipeline_iid: u64) -> Result<HashMap<u64, String>> {
        self.read(Key::JobEnvironments {
            path: project_path.to_owned(),
            iid: pipeline_iid,
        })
        .await
    }

    async fn environments(&self, project: u64) -> Result<Vec<GlEnvironment>> {
        self.read(Key::Environments(project)).await
    }

    async fn protected_environments(&self, project: u64) -> Result<Vec<GlProtectedEnvironment>> {
        self.read(Key::ProtectedEnvironments(project)).await
    }

    async fn protected_branches(&self, project: u64) -> Result<Vec<GlProtectedBranch>> {
        self.read(Key::ProtectedBranches(project)).await
    }

    async fn environment(&self, project: u64, environment: u64) -> Result<GlEnvironment> {
        self.read(Key::Environment { project, environment }).await
    }

    async fn deployments(
        &self,
        project: u64,
        environment: Option<&str>,
        status: Option<&str>,
        count: u32,
    ) -> Result<Vec<GlDeployment>> {
        self.read(Key::Deployments {
            project,
            environment: environment.map(str::to_owned),
            status: status.map(str::to_owned),
            count,
        })
        .await
    }

    async fn deployment(&self, project: u64, deployment: u64) -> Result<GlDeployment> {
        self.read(Key::Deployment { project, deployment }).await
    }

    async fn compare(&self, project: u64, from: &str, to: &str) -> Result<Vec<GlCommit>> {
        self.read(Key::Compare {
            project,
            from: from.to_owned(),
            to: to.to_owned(),
        })
        .await
    }

    async fn job(&self, project: u64, job: u64) -> Result<GlJob> {
        self.read(Key::Job { project, job }).await
    }

    async fn trace(&self, project: u64, job: u64) -> Result<Bytes> {
        self.read(Key::Trace { project, job }).await
    }

    // The hub holds the shared read token: it never acts with it. Actions go to GitLab as the
    // signed-in person (`acting.rs`), who tells the hub afterwards (`Hub::acted`).
    async fn stop_environment(&self, _: u64, _: u64, _: bool) -> Result<GlEnvironment> {
        Err(not_with_the_shared_token())
    }

    async fn approve_deployment(&self, _: u64, _: u64, _: bool, _: Option<&str>) -> Result<GlApproval> {
        Err(not_with_the_shared_token())
    }

    async fn retry_job(&self, _: u64, _: u64) -> Result<GlJob> {
        Err(not_with_the_shared_token())
    }

    async fn cancel_job(&self, _: u64, _: u64) -> Result<GlJob> {
        Err(not_with_the_shared_token())
    }

    async fn play_job(&self, _: u64, _: u64, _: &[(String, String)]) -> Result<GlJob> {
        Err(not_with_the_shared_token())
    }

    async fn retry_pipeline(&self, _: u64, _: u64) -> Result<GlPipeline> {
        Err(not_with_the_shared_token())
    }

    async fn cancel_pipeline(&self, _: u64, _: u64) -> Result<GlPipeline> {
        Err(not_with_the_shared_token())
    }
}

fn not_with_the_shared_token() -> crate::gitlab::GitlabError {
    crate::gitlab::GitlabError::Refused {
        status: 403,
        message: "stageboard sends actions only as the signed-in person, never with the shared read token".into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_key_has_the_scope_its_answer_needs() {
        let trace = Duration::from_secs(2);
        let by_path = |_: &str| Scope::Project(9);
        let sha = "a".repeat(40);
        let scope = |k: Key| k.scope(trace, Duration::from_secs(600), by_path);
        assert_eq!(
            scope(Key::Jobs {
                project: 1,
                pipeline: 2
            }),
            Scope::Pipeline(1, 2)
        );
        assert_eq!(scope(Key::Trace { project: 1, job: 2 }), Scope::ProjectFor(1, trace));
        assert_eq!(
            scope(Key::Compare {
                project: 1,
                from: sha.clone(),
                to: sha.clone()
            }),
            Scope::Forever
        );
        assert_eq!(
            scope(Key::Compare {
                project: 1,
                from: sha,
                to: "main".into()
            }),
            Scope::Project(1)
        );
        assert_eq!(
            scope(Key::Graph {
                path: "g/p".into(),
                iid: 3
            }),
            Scope::Project(9)
        );
        assert!(
            Key::Summaries {
                path: "g/p".into(),
                iids: vec![1]
            }
            .uses_graphql()
        );
        assert!(!Key::Environments(1).uses_graphql());
    }

    /// Replicas pass answers to each other: what GitLab said reads back the same.
    #[test]
    fn answers_travel_between_replicas_unchanged() {
        let fixture = |name: &str| {
            let path = format!("{}/../fixtures/gitlab/docs/{name}", env!("CARGO_MANIFEST_DIR"));
            std::fs::read(&path).unwrap_or_else(|e| panic!("{path}: {e}"))
        };
        let answers = [
            Answer::from(serde_json::from_slice::<GlPipeline>(&fixture("pipeline.json")).unwrap()),
            Answer::from(serde_json::from_slice::<Vec<GlJob>>(&fixture("pipeline_jobs_list.json")).unwrap()),
            Answer::from(serde_json::from_slice::<Vec<GlEnvironment>>(&fixture("environments_list.json")).unwrap()),
            Answer::from(serde_json::from_slice::<Vec<GlDeployment>>(&fixture("deployments_list.json")).unwrap()),
            Answer::from(Bytes::from_static(b"\x1b[32;1mok\x1b[0;m \xff\n")),
        ];
        for answer in answers {
            let travelled: Answer = serde_json::from_slice(&serde_json::to_vec(&answer).unwrap()).unwrap();
            assert_eq!(format!("{travelled:?}"), format!("{answer:?}"));
        }
        let key = Key::Deployments {
            project: 1,
            environment: Some("review/x".into()),
            status: None,
            count: 5,
        };
        assert_eq!(
            serde_json::from_str::<Key>(&serde_json::to_string(&key).unwrap()).unwrap(),
            key
        );
        let refused: Result<Answer> = Err(GitlabError::NotFound {
            message: "404 Project Not Found".into(),
        });
        let travelled: Result<Answer> = serde_json::from_str(&serde_json::to_string(&refused).unwrap()).unwrap();
        assert!(matches!(travelled, Err(GitlabError::NotFound { message }) if message == "404 Project Not Found"));
    }

    #[test]
    fn answers_weigh_what_they_carry() {
        let log = Answer::from(Bytes::from(vec![b'x'; 10_000]));
        assert_eq!(log.weight(), 10_000);
        let names: HashMap<u64, String> = (0..100).map(|i| (i, "production".repeat(10))).collect();
        let names = Answer::from(names);
        assert!(names.weight() > 100 * 100, "every name counts: {}", names.weight());
    }

    #[test]
    fn the_largest_log_read_from_gitlab_is_kept_by_the_cache() {
        // Else every page of a long log would read it whole from GitLab again.
        let largest = Answer::from(Bytes::from(vec![b'x'; crate::gitlab::MAX_ANSWER]));
        let share = super::super::cache::Bounds::default().bytes / 10;
        assert!(largest.weight() <= share, "{} > {share}", largest.weight());
    }
}
