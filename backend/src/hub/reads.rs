//! Every GitLab read of the app, through the hub's cache: what each answer is called ([`Key`]),
//! how long it stays good, and the fallbacks' capability (GraphQL) learned once.

use std::collections::HashMap;
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use bytes::Bytes;
use chrono::{DateTime, Utc};

use super::Hub;
use super::cache::{Scope, Weigh, debug_weight, is_outage};
use crate::gitlab::types::{
    GlApproval, GlCommit, GlDeployment, GlEnvironment, GlJob, GlPipeline, GlProject, GlProtectedBranch,
    GlProtectedEnvironment,
};
use crate::gitlab::{Gitlab, GitlabError, Page, PipelineFilter, PipelineGraph, PipelineSummary, Result};

/// One answer the hub keeps: which GitLab read it is, with everything that read depends on.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
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
#[derive(Debug, Clone)]
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
    Log(Bytes),
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

impl Hub {
    /// The answer for `key`: from the cache while good, else from GitLab (one request however
    /// many ask, within the limit of concurrent GitLab requests).
    pub(super) async fn read<T, F, Fut>(&self, key: Key, fetch: F) -> Result<T>
    where
        T: Into<Answer> + TryFrom<Answer, Error = Answer>,
        F: FnOnce(Arc<dyn Gitlab>) -> Fut + Send + 'static,
        Fut: Future<Output = Result<T>> + Send + 'static,
    {
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
        let answer = self
            .0
            .cache
            .read(key, version, max_age, &self.0.metrics, move || async move {
                // The semaphore is never closed.
                let _permit = permits.acquire_owned().await.ok();
                fetch(upstream).await.map(|answer| Arc::new(answer.into()))
            })
            .await;
        if let Some(capability) = &capability {
            capability.observe(&answer);
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
        answer.and_then(|read| {
            T::try_from(Arc::unwrap_or_clone(read.value)).map_err(|_| GitlabError::InvalidResponse {
                what: "the hub's cache".into(),
                reason: format!("a {kind} read found an answer of another type"),
            })
        })
    }
}

#[async_trait]
impl Gitlab for Hub {
    fn url(&self) -> String {
        self.0.upstream.url()
    }

    async fn project(&self, id_or_path: &str) -> Result<GlProject> {
        let id = id_or_path.to_owned();
        self.read(Key::Project(id.clone()), |g| async move { g.project(&id).await })
            .await
    }

    async fn member_projects(&self) -> Result<Vec<GlProject>> {
        self.read(Key::MemberProjects, |g| async move { g.member_projects().await })
            .await
    }

    async fn group_projects(&self, group: &str) -> Result<Vec<GlProject>> {
        let group = group.to_owned();
        self.read(Key::GroupProjects(group.clone()), |g| async move {
            g.group_projects(&group).await
        })
        .await
    }

    async fn merge_request_pipelines(&self, project: u64) -> Result<Vec<GlPipeline>> {
        self.read(Key::MergeRequestPipelines(project), move |g| async move {
            g.merge_request_pipelines(project).await
        })
        .await
    }

    async fn merge_requests(&self, project: u64) -> Result<Vec<crate::gitlab::types::GlMergeRequest>> {
        self.read(Key::MergeRequests(project), move |g| async move {
            g.merge_requests(project).await
        })
        .await
    }

    async fn project_runners(&self, project: u64) -> Result<Vec<crate::gitlab::types::GlRunner>> {
        self.read(Key::ProjectRunners(project), move |g| async move {
            g.project_runners(project).await
        })
        .await
    }

    async fn group_runners(&self, group: &str) -> Result<Vec<crate::gitlab::types::GlRunner>> {
        let group = group.to_owned();
        self.read(Key::GroupRunners(group.clone()), move |g| async move {
            g.group_runners(&group).await
        })
        .await
    }

    async fn runner(&self, runner: u64) -> Result<crate::gitlab::types::GlRunner> {
        self.read(Key::Runner(runner), move |g| async move { g.runner(runner).await })
            .await
    }

    async fn active_jobs(&self, project: u64) -> Result<Vec<GlJob>> {
        self.read(Key::ActiveJobs(project), move |g| async move {
            g.active_jobs(project).await
        })
        .await
    }

    async fn topic_projects(&self, topic: &str) -> Result<Vec<GlProject>> {
        let topic = topic.to_owned();
        self.read(Key::TopicProjects(topic.clone()), |g| async move {
            g.topic_projects(&topic).await
        })
        .await
    }

    async fn pipelines(
        &self,
        project: u64,
        filter: &PipelineFilter,
        page: u32,
        per_page: u32,
    ) -> Result<Page<GlPipeline>> {
        let key = Key::Pipelines {
            project,
            filter: filter.clone(),
            page,
            per_page,
        };
        let filter = filter.clone();
        self.read(key, move |g| async move {
            g.pipelines(project, &filter, page, per_page).await
        })
        .await
    }

    async fn pipelines_updated_after(&self, project: u64, after: Option<DateTime<Utc>>) -> Result<Vec<GlPipeline>> {
        // The poller's own question: never cached.
        self.0.upstream.pipelines_updated_after(project, after).await
    }

    async fn pipeline(&self, project: u64, pipeline: u64) -> Result<GlPipeline> {
        self.read(Key::Pipeline { project, pipeline }, move |g| async move {
            g.pipeline(project, pipeline).await
        })
        .await
    }

    async fn pipeline_jobs(&self, project: u64, pipeline: u64) -> Result<Vec<GlJob>> {
        self.read(Key::Jobs { project, pipeline }, move |g| async move {
            g.pipeline_jobs(project, pipeline).await
        })
        .await
    }

    async fn pipeline_bridges(&self, project: u64, pipeline: u64) -> Result<Vec<GlJob>> {
        self.read(Key::Bridges { project, pipeline }, move |g| async move {
            g.pipeline_bridges(project, pipeline).await
        })
        .await
    }

    async fn pipeline_graph(&self, project_path: &str, pipeline_iid: u64) -> Result<PipelineGraph> {
        let path = project_path.to_owned();
        let key = Key::Graph {
            path: path.clone(),
            iid: pipeline_iid,
        };
        self.read(key, move |g| async move { g.pipeline_graph(&path, pipeline_iid).await })
            .await
    }

    async fn pipeline_summaries(&self, project_path: &str, iids: &[u64]) -> Result<HashMap<u64, PipelineSummary>> {
        let (path, iids) = (project_path.to_owned(), iids.to_vec());
        let key = Key::Summaries {
            path: path.clone(),
            iids: iids.clone(),
        };
        self.read(key, move |g| async move { g.pipeline_summaries(&path, &iids).await })
            .await
    }

    async fn latest_per_ref(&self, project: u64, tags: bool, count: u32) -> Result<Vec<GlPipeline>> {
        self.read(Key::LatestPerRef { project, tags, count }, move |g| async move {
            g.latest_per_ref(project, tags, count).await
        })
        .await
    }

    async fn job_environments(&self, project_path: &str, pipeline_iid: u64) -> Result<HashMap<u64, String>> {
        let path = project_path.to_owned();
        let key = Key::JobEnvironments {
            path: path.clone(),
            iid: pipeline_iid,
        };
        self.read(
            key,
            move |g| async move { g.job_environments(&path, pipeline_iid).await },
        )
        .await
    }

    async fn environments(&self, project: u64) -> Result<Vec<GlEnvironment>> {
        self.read(Key::Environments(project), move |g| async move {
            g.environments(project).await
        })
        .await
    }

    async fn protected_environments(&self, project: u64) -> Result<Vec<GlProtectedEnvironment>> {
        self.read(Key::ProtectedEnvironments(project), move |g| async move {
            g.protected_environments(project).await
        })
        .await
    }

    async fn protected_branches(&self, project: u64) -> Result<Vec<GlProtectedBranch>> {
        self.read(Key::ProtectedBranches(project), move |g| async move {
            g.protected_branches(project).await
        })
        .await
    }

    async fn environment(&self, project: u64, environment: u64) -> Result<GlEnvironment> {
        self.read(Key::Environment { project, environment }, move |g| async move {
            g.environment(project, environment).await
        })
        .await
    }

    async fn deployments(
        &self,
        project: u64,
        environment: Option<&str>,
        status: Option<&str>,
        count: u32,
    ) -> Result<Vec<GlDeployment>> {
        let (environment, status) = (environment.map(str::to_owned), status.map(str::to_owned));
        let key = Key::Deployments {
            project,
            environment: environment.clone(),
            status: status.clone(),
            count,
        };
        self.read(key, move |g| async move {
            g.deployments(project, environment.as_deref(), status.as_deref(), count)
                .await
        })
        .await
    }

    async fn deployment(&self, project: u64, deployment: u64) -> Result<GlDeployment> {
        self.read(Key::Deployment { project, deployment }, move |g| async move {
            g.deployment(project, deployment).await
        })
        .await
    }

    async fn compare(&self, project: u64, from: &str, to: &str) -> Result<Vec<GlCommit>> {
        let (from, to) = (from.to_owned(), to.to_owned());
        let key = Key::Compare {
            project,
            from: from.clone(),
            to: to.clone(),
        };
        self.read(key, move |g| async move { g.compare(project, &from, &to).await })
            .await
    }

    async fn job(&self, project: u64, job: u64) -> Result<GlJob> {
        self.read(
            Key::Job { project, job },
            move |g| async move { g.job(project, job).await },
        )
        .await
    }

    async fn trace(&self, project: u64, job: u64) -> Result<Bytes> {
        self.read(Key::Trace { project, job }, move |g| async move {
            g.trace(project, job).await
        })
        .await
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
