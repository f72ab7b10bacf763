//! `POST /api/graphql`: the part of GitLab's schema that describes a pipeline's ordered stages,
//! their job groups, the jobs' `needs` and downstream pipelines. Types and field names follow
//! GitLab's (`app/graphql/types/ci/*`), so a query written against gitlab.com works here.

use async_graphql::{Context, EmptyMutation, EmptySubscription, Enum, ID, Object, SimpleObject};
use axum::Json;
use axum::extract::State;
use chrono::SecondsFormat;

use crate::Sim;
use crate::rest::Ctx;
use crate::scenario::ProjectDef;
use crate::world::{Job, JobStatus, Pipeline};

pub type Schema = async_graphql::Schema<Query, EmptyMutation, EmptySubscription>;

pub fn schema() -> Schema {
    Schema::build(Query, EmptyMutation, EmptySubscription).finish()
}

pub async fn handle(
    State(sim): State<Sim>,
    Json(request): Json<async_graphql::Request>,
) -> Json<async_graphql::Response> {
    let schema = sim.0.graphql.clone();
    Json(schema.execute(request.data(sim)).await)
}

pub struct Query;

#[Object]
impl Query {
    /// Finds a project by its full path.
    async fn project(&self, ctx: &Context<'_>, full_path: ID) -> Option<ProjectNode> {
        ctx.data_unchecked::<Sim>()
            .projects()
            .iter()
            .find(|p| p.full_path() == full_path.as_str())
            .map(|def| ProjectNode { def: def.clone() })
    }
}

pub struct ProjectNode {
    def: ProjectDef,
}

#[Object(name = "Project")]
impl ProjectNode {
    async fn id(&self) -> ID {
        ID(format!("gid://gitlab/Project/{}", self.def.id))
    }
    async fn full_path(&self) -> ID {
        ID(self.def.full_path())
    }
    async fn name(&self) -> &str {
        &self.def.name
    }
    /// A pipeline of the project by `iid`, or by global `id`; the latest when neither is given.
    async fn pipeline(
        &self,
        ctx: &Context<'_>,
        iid: Option<ID>,
        id: Option<ID>,
        sha: Option<String>,
    ) -> Option<PipelineNode> {
        let sim = ctx.data_unchecked::<Sim>();
        let project_id = self.def.id;
        sim.read(|c| {
            let found = c
                .world
                .pipelines
                .values()
                .rev()
                .filter(|p| p.project_id == project_id)
                .find(|p| {
                    iid.as_ref().is_none_or(|iid| p.iid.to_string() == iid.as_str())
                        && id.as_ref().is_none_or(|id| {
                            global_id("Ci::Pipeline", p.id) == id.as_str() || p.id.to_string() == id.as_str()
                        })
                        && sha.as_ref().is_none_or(|sha| &p.commit.sha == sha)
                })?;
            Some(pipeline_node(c, found))
        })
    }
}

#[derive(Enum, Copy, Clone, Eq, PartialEq)]
#[graphql(name = "CiJobStatus")]
pub enum CiJobStatus {
    Created,
    Pending,
    Running,
    Success,
    Failed,
    Canceled,
    Skipped,
    Manual,
}

impl From<JobStatus> for CiJobStatus {
    fn from(s: JobStatus) -> Self {
        match s {
            JobStatus::Created => CiJobStatus::Created,
            JobStatus::Pending => CiJobStatus::Pending,
            JobStatus::Running => CiJobStatus::Running,
            JobStatus::Success => CiJobStatus::Success,
            JobStatus::Failed => CiJobStatus::Failed,
            JobStatus::Canceled => CiJobStatus::Canceled,
            JobStatus::Skipped => CiJobStatus::Skipped,
            JobStatus::Manual => CiJobStatus::Manual,
        }
    }
}

#[derive(Enum, Copy, Clone, Eq, PartialEq)]
#[graphql(name = "CiJobKind")]
pub enum CiJobKind {
    Build,
    Bridge,
}

#[derive(SimpleObject)]
#[graphql(name = "DetailedStatus")]
pub struct DetailedStatus {
    id: String,
    icon: String,
    text: String,
    label: String,
    group: String,
    tooltip: String,
    has_details: bool,
    details_path: Option<String>,
}

fn detailed(status: JobStatus, path: Option<String>) -> DetailedStatus {
    let label = if status == JobStatus::Success {
        "passed"
    } else {
        status.as_str()
    };
    DetailedStatus {
        id: format!("{}-{}", status.as_str(), path.as_deref().unwrap_or("")),
        icon: format!("status_{}", status.as_str()),
        text: label.to_owned(),
        label: label.to_owned(),
        group: status.as_str().to_owned(),
        tooltip: label.to_owned(),
        has_details: path.is_some(),
        details_path: path,
    }
}

#[derive(SimpleObject)]
#[graphql(name = "Pipeline")]
pub struct PipelineNode {
    id: ID,
    iid: String,
    status: CiJobStatus,
    #[graphql(name = "ref")]
    git_ref: String,
    sha: String,
    path: String,
    source: String,
    created_at: String,
    started_at: Option<String>,
    finished_at: Option<String>,
    /// Seconds the pipeline ran.
    duration: Option<i32>,
    user: Option<UserCore>,
    commit: Option<CommitNode>,
    detailed_status: DetailedStatus,
    stages: StageConnection,
    downstream: PipelineRefConnection,
    upstream: Option<PipelineRef>,
}

#[derive(SimpleObject)]
#[graphql(name = "UserCore")]
pub struct UserCore {
    id: ID,
    username: String,
    name: String,
    avatar_url: Option<String>,
}

#[derive(SimpleObject)]
#[graphql(name = "Commit")]
pub struct CommitNode {
    sha: String,
    short_id: String,
    title: String,
    author_name: String,
}

#[derive(SimpleObject)]
#[graphql(name = "CiStageConnection")]
pub struct StageConnection {
    nodes: Vec<StageNode>,
}

#[derive(SimpleObject)]
#[graphql(name = "CiStage")]
pub struct StageNode {
    id: ID,
    name: String,
    status: String,
    detailed_status: DetailedStatus,
    groups: GroupConnection,
}

#[derive(SimpleObject)]
#[graphql(name = "CiGroupConnection")]
pub struct GroupConnection {
    nodes: Vec<GroupNode>,
}

#[derive(SimpleObject)]
#[graphql(name = "CiGroup")]
pub struct GroupNode {
    id: String,
    name: String,
    size: i32,
    detailed_status: DetailedStatus,
    jobs: JobConnection,
}

#[derive(SimpleObject)]
#[graphql(name = "CiJobConnection")]
pub struct JobConnection {
    nodes: Vec<JobNode>,
}

#[derive(SimpleObject)]
#[graphql(name = "CiJob")]
pub struct JobNode {
    id: ID,
    name: String,
    kind: CiJobKind,
    status: CiJobStatus,
    allow_failure: bool,
    retried: bool,
    manual_job: bool,
    /// `dag` when the job uses `needs`, `stage` otherwise.
    scheduling_type: String,
    stage: StageName,
    needs: NeedConnection,
    created_at: String,
    started_at: Option<String>,
    finished_at: Option<String>,
    duration: Option<i32>,
    queued_duration: Option<f64>,
    web_path: String,
    detailed_status: DetailedStatus,
    downstream_pipeline: Option<PipelineRef>,
    /// The environment the job deploys to, variables expanded (GitLab 18.x).
    expanded_environment_name: Option<String>,
}

#[derive(SimpleObject)]
#[graphql(name = "CiStageName")]
pub struct StageName {
    name: String,
}

#[derive(SimpleObject)]
#[graphql(name = "CiBuildNeedConnection")]
pub struct NeedConnection {
    nodes: Vec<Need>,
}

#[derive(SimpleObject)]
#[graphql(name = "CiBuildNeed")]
pub struct Need {
    id: ID,
    name: String,
}

#[derive(SimpleObject)]
#[graphql(name = "PipelineConnection")]
pub struct PipelineRefConnection {
    nodes: Vec<PipelineRef>,
}

/// A pipeline seen from another one (downstream or upstream).
#[derive(SimpleObject, Clone)]
#[graphql(name = "PipelineRef")]
pub struct PipelineRef {
    id: ID,
    iid: String,
    path: String,
    status: CiJobStatus,
    source_job: Option<SourceJob>,
    project: ProjectRef,
}

#[derive(SimpleObject, Clone)]
pub struct SourceJob {
    id: ID,
    name: String,
}

#[derive(SimpleObject, Clone)]
pub struct ProjectRef {
    full_path: String,
    name: String,
}

fn global_id(kind: &str, id: u64) -> String {
    format!("gid://gitlab/{kind}/{id}")
}

fn time(t: chrono::DateTime<chrono::Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Millis, true)
}

fn pipeline_path(c: &Ctx<'_>, p: &Pipeline) -> String {
    let project = c.world.project(p.project_id).expect("project");
    format!("/{}/-/pipelines/{}", project.full_path(), p.id)
}

fn pipeline_ref(c: &Ctx<'_>, p: &Pipeline) -> PipelineRef {
    let project = c.world.project(p.project_id).expect("project");
    let source_job = p.parent.map(|(_, bridge)| SourceJob {
        id: ID(global_id("Ci::Bridge", bridge)),
        name: c.world.jobs[&bridge].name.clone(),
    });
    PipelineRef {
        id: ID(global_id("Ci::Pipeline", p.id)),
        iid: p.iid.to_string(),
        path: pipeline_path(c, p),
        status: p.status.into(),
        source_job,
        project: ProjectRef {
            full_path: project.full_path(),
            name: project.name.to_string(),
        },
    }
}

/// The group a job belongs to: parallel jobs `rspec 1/3` .. `rspec 3/3` form group `rspec`.
fn group_name(job_name: &str) -> &str {
    match job_name.rsplit_once(' ') {
        Some((base, n))
            if n.split_once('/')
                .is_some_and(|(a, b)| a.parse::<u32>().is_ok() && b.parse::<u32>().is_ok()) =>
        {
            base
        }
        _ => job_name,
    }
}

fn worst(statuses: impl Iterator<Item = JobStatus>) -> JobStatus {
    let rank = |s: &JobStatus| match s {
        JobStatus::Failed => 8,
        JobStatus::Running => 7,
        JobStatus::Pending => 6,
        JobStatus::Manual => 5,
        JobStatus::Created => 4,
        JobStatus::Canceled => 3,
        JobStatus::Success => 2,
        JobStatus::Skipped => 1,
    };
    statuses.max_by_key(rank).unwrap_or(JobStatus::Created)
}

fn job_node(c: &Ctx<'_>, job: &Job, siblings: &[&Job]) -> JobNode {
    let project = c.world.project(job.project_id).expect("project");
    let needs = job
        .def
        .needs
        .map(|needs| {
            siblings
                .iter()
                .filter(|s| needs.contains(&s.def.name))
                .map(|s| Need {
                    id: ID(global_id("Ci::BuildNeed", s.id)),
                    name: s.name.clone(),
                })
                .collect()
        })
        .unwrap_or_default();
    let path = format!("/{}/-/jobs/{}", project.full_path(), job.id);
    JobNode {
        id: ID(global_id(
            if job.is_bridge() { "Ci::Bridge" } else { "Ci::Build" },
            job.id,
        )),
        name: job.name.clone(),
        kind: if job.is_bridge() {
            CiJobKind::Bridge
        } else {
            CiJobKind::Build
        },
        status: job.status.into(),
        allow_failure: job.def.allow_failure,
        retried: job.retried,
        manual_job: job.def.manual,
        scheduling_type: if job.def.needs.is_some() { "dag" } else { "stage" }.to_owned(),
        stage: StageName {
            name: job.stage().to_owned(),
        },
        needs: NeedConnection { nodes: needs },
        created_at: time(job.created_at),
        started_at: job.started_at.map(time),
        finished_at: job.finished_at.map(time),
        duration: job.duration(c.now).map(|d| d as i32),
        queued_duration: job.queued_duration(c.now),
        detailed_status: detailed(job.status, Some(path.clone())),
        web_path: path,
        expanded_environment_name: job
            .def
            .environment
            .map(|e| crate::environments::environment_name(&e, &c.world.pipelines[&job.pipeline_id])),
        downstream_pipeline: job
            .downstream
            .and_then(|id| c.world.pipelines.get(&id))
            .map(|p| pipeline_ref(c, p)),
    }
}

fn pipeline_node(c: &Ctx<'_>, p: &Pipeline) -> PipelineNode {
    let jobs: Vec<&Job> = c.world.current_jobs(p.id).collect();
    let stages = p
        .def
        .stages
        .iter()
        .enumerate()
        .filter_map(|(idx, stage)| {
            let stage_jobs: Vec<&Job> = jobs.iter().copied().filter(|j| j.def.stage == *stage).collect();
            if stage_jobs.is_empty() {
                return None;
            }
            let mut group_names: Vec<&str> = Vec::new();
            for job in &stage_jobs {
                let name = group_name(&job.name);
                if !group_names.contains(&name) {
                    group_names.push(name);
                }
            }
            let groups = group_names
                .into_iter()
                .map(|name| {
                    let members: Vec<&Job> = stage_jobs
                        .iter()
                        .copied()
                        .filter(|j| group_name(&j.name) == name)
                        .collect();
                    let status = worst(members.iter().map(|j| j.status));
                    GroupNode {
                        id: format!("{}-{}-{}", p.id, stage, name),
                        name: name.to_owned(),
                        size: members.len() as i32,
                        detailed_status: detailed(status, None),
                        jobs: JobConnection {
                            nodes: members.iter().map(|j| job_node(c, j, &jobs)).collect(),
                        },
                    }
                })
                .collect();
            let status = worst(stage_jobs.iter().map(|j| j.status));
            Some(StageNode {
                id: ID(global_id("Ci::Stage", p.id * 100 + idx as u64)),
                name: stage.to_string(),
                status: status.as_str().to_owned(),
                detailed_status: detailed(status, None),
                groups: GroupConnection { nodes: groups },
            })
        })
        .collect();
    let downstream = jobs
        .iter()
        .filter_map(|j| j.downstream)
        .filter_map(|id| c.world.pipelines.get(&id))
        .map(|d| pipeline_ref(c, d))
        .collect();
    let upstream = p
        .parent
        .and_then(|(parent, _)| c.world.pipelines.get(&parent))
        .map(|u| pipeline_ref(c, u));
    PipelineNode {
        id: ID(global_id("Ci::Pipeline", p.id)),
        iid: p.iid.to_string(),
        status: p.status.into(),
        git_ref: p.git_ref.clone(),
        sha: p.commit.sha.clone(),
        path: pipeline_path(c, p),
        source: p.source.to_owned(),
        created_at: time(p.created_at),
        started_at: p.started_at.map(time),
        finished_at: p.finished_at.map(time),
        duration: p
            .started_at
            .zip(p.finished_at)
            .map(|(s, f)| (f - s).num_seconds() as i32),
        user: Some(UserCore {
            id: ID(global_id("User", p.user.id)),
            username: p.user.username.to_owned(),
            name: p.user.name.to_owned(),
            avatar_url: None,
        }),
        commit: Some(CommitNode {
            sha: p.commit.sha.clone(),
            short_id: p.commit.sha[..8].to_owned(),
            title: p.commit.title.clone(),
            author_name: p.commit.author.name.to_owned(),
        }),
        detailed_status: detailed(p.status, Some(pipeline_path(c, p))),
        stages: StageConnection { nodes: stages },
        downstream: PipelineRefConnection { nodes: downstream },
        upstream,
    }
}
