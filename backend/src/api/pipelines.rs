use std::collections::{BTreeMap, HashMap};

use axum::Json;
use axum::extract::State;
use stageboard_protocol::{
    ActionOutcome, Downstream, ErrorBody, Job, Pipeline, PipelineDetail, PipelinePage, Stage, StageOrderSource, Status,
};

use super::extract::{Path, Query};
use super::wire;
use crate::app::AppState;
use crate::audit::{Actor, Attempt};
use crate::error::{AppError, AppResult};
use crate::gitlab::types::{GlJob, GlPipeline};
use crate::gitlab::{GitlabError, PipelineFilter, PipelineGraph};

#[derive(Debug, serde::Deserialize, utoipa::IntoParams)]
pub struct ListQuery {
    /// Branch or tag name.
    #[serde(rename = "ref")]
    git_ref: Option<String>,
    /// A pipeline status (success, failed, running, ...).
    status: Option<String>,
    /// How the pipeline was started (push, web, schedule, merge_request_event, ...).
    source: Option<String>,
    /// 1-based page number.
    page: Option<u32>,
    /// Pipelines per page, at most 100.
    per_page: Option<u32>,
}

/// A project's pipelines, newest first, one page at a time.
#[utoipa::path(get, path = "/api/v1/projects/{project_id}/pipelines", tag = "pipelines",
    params(("project_id" = u64, Path), ListQuery),
    responses((status = 200, body = PipelinePage), (status = 400, body = ErrorBody), (status = 404, body = ErrorBody), (status = 502, body = ErrorBody), (status = 503, body = ErrorBody)))]
pub async fn list(
    State(state): State<AppState>,
    reader: crate::access::Reader,
    Path(project): Path<u64>,
    Query(query): Query<ListQuery>,
) -> AppResult<Json<PipelinePage>> {
    if let Some(status) = &query.status
        && !Status::KNOWN.iter().any(|s| s.as_str() == status)
    {
        let known: Vec<&str> = Status::KNOWN.iter().map(Status::as_str).collect();
        return Err(AppError::bad_request(format!(
            "status `{status}` is not one of {}.",
            known.join(", ")
        )));
    }
    let page = query.page.unwrap_or(1).max(1);
    let per_page = query.per_page.unwrap_or(20).clamp(1, 100);
    state.ensure_readable(&reader, project).await?;
    let filter = PipelineFilter {
        git_ref: query.git_ref.filter(|r| !r.is_empty()),
        status: query.status,
        source: query.source.filter(|s| !s.is_empty()),
    };
    let project_key = project.to_string();
    let (found, info) = tokio::try_join!(
        state.gitlab().pipelines(project, &filter, page, per_page),
        state.gitlab().project(&project_key),
    )?;
    let mut pipelines: Vec<Pipeline> = found.items.into_iter().map(|p| wire::pipeline(p, project)).collect();
    super::summaries::enrich(&state, &info.path_with_namespace, &mut pipelines).await;
    Ok(Json(PipelinePage {
        pipelines,
        page,
        per_page,
        next_page: found.next_page,
        total: found.total,
    }))
}

/// A pipeline with its stages in order, jobs, `needs` and downstream pipelines.
#[utoipa::path(get, path = "/api/v1/projects/{project_id}/pipelines/{pipeline_id}", tag = "pipelines",
    params(("project_id" = u64, Path), ("pipeline_id" = u64, Path)),
    responses((status = 200, body = PipelineDetail), (status = 400, body = ErrorBody), (status = 404, body = ErrorBody), (status = 502, body = ErrorBody)))]
pub async fn show(
    State(state): State<AppState>,
    reader: crate::access::Reader,
    session: tower_sessions::Session,
    Path((project, pipeline_id)): Path<(u64, u64)>,
) -> AppResult<Json<PipelineDetail>> {
    state.ensure_readable(&reader, project).await?;
    let mut detail = assemble_detail(&state, project, pipeline_id).await?;
    let deploys = detail
        .stages
        .iter_mut()
        .flat_map(|s| s.jobs.iter_mut())
        .filter_map(|j| j.environment.as_mut())
        .collect();
    super::refusals::deploys(&state, &session, project, deploys).await;
    let (git_ref, tag) = (detail.pipeline.git_ref.clone(), detail.pipeline.tag.unwrap_or(false));
    detail.refused = super::refusals::acting(&state, &session, project, &git_ref, tag).await;
    if detail.refused.is_some() {
        let protected = super::refusals::protected_environments(&state, project).await;
        for job in detail.stages.iter_mut().flat_map(|s| s.jobs.iter_mut()) {
            job.refused = super::refusals::job(job.environment.as_ref(), detail.refused.as_ref(), protected.as_deref());
        }
    }
    // A downstream pipeline of a project this person may not read: only that there is one.
    for d in &mut detail.downstream {
        if d.pipeline.as_ref().is_some_and(|p| !reader.may_read(p.project_id)) {
            d.pipeline = None;
        }
    }
    Ok(Json(detail))
}

async fn assemble_detail(state: &AppState, project: u64, pipeline_id: u64) -> AppResult<PipelineDetail> {
    let gitlab = state.gitlab();
    let project_key = project.to_string();
    let (pipeline, jobs, bridges, project_info) = tokio::try_join!(
        gitlab.pipeline(project, pipeline_id),
        gitlab.pipeline_jobs(project, pipeline_id),
        async {
            match gitlab.pipeline_bridges(project, pipeline_id).await {
                // An older GitLab without the endpoint: a page without downstream pipelines.
                Err(GitlabError::Unsupported { .. }) => Ok(Vec::new()),
                other => other,
            }
        },
        gitlab.project(&project_key),
    )?;
    let graph = match pipeline.iid {
        Some(iid) => match gitlab.pipeline_graph(&project_info.path_with_namespace, iid).await {
            Ok(graph) => Some(graph),
            Err(e) => {
                // The hub logs what GitLab lacks or refuses, once per change.
                tracing::debug!(project, pipeline_id, error = %e, "no pipeline graph; ordering stages by job ids");
                None
            }
        },
        None => None,
    };
    let iid = pipeline.iid;
    let mut detail = assemble(project, pipeline, jobs, bridges, graph);
    // Where each job deploys: what a manual job's confirmation names, and what decides whether
    // a protected branch keeps a deploy job from someone who may deploy (any job's status).
    if let Some(iid) = iid {
        let mut environments =
            super::job_environments::of_pipeline(state, project, &project_info.path_with_namespace, iid).await;
        for job in detail.stages.iter_mut().flat_map(|s| s.jobs.iter_mut()) {
            job.environment = environments.remove(&job.id);
        }
    }
    Ok(detail)
}

/// Puts a pipeline page together from GitLab's pieces. With GraphQL's graph, stages follow
/// GitLab's order and jobs carry their `needs`; without it, stages are ordered by their smallest
/// job id (jobs are created in stage order, retries get higher ids).
pub fn assemble(
    project: u64,
    pipeline: GlPipeline,
    jobs: Vec<GlJob>,
    bridges: Vec<GlJob>,
    graph: Option<PipelineGraph>,
) -> PipelineDetail {
    let pipeline_id = pipeline.id;
    let commit = jobs
        .iter()
        .chain(&bridges)
        .find_map(|j| j.commit.clone())
        .map(wire::commit);
    let mut pipeline: Pipeline = wire::pipeline(pipeline, project);
    pipeline.commit = commit;

    // REST lists retried attempts too; the newest attempt of each name is the current one.
    let mut newest: HashMap<&str, u64> = HashMap::new();
    for job in jobs.iter().chain(&bridges) {
        let id = newest.entry(job.name.as_str()).or_insert(job.id);
        *id = (*id).max(job.id);
    }
    let retried = |job: &GlJob| newest.get(job.name.as_str()).is_some_and(|&id| id != job.id);
    let needs: HashMap<String, Vec<String>> = graph
        .iter()
        .flat_map(|g| &g.stages)
        .flat_map(|s| &s.jobs)
        .map(|j| (j.name.clone(), j.needs.clone()))
        .collect();

    let downstream = bridges
        .iter()
        .filter(|b| !retried(b))
        .map(|b| Downstream {
            bridge_id: b.id,
            bridge_name: b.name.clone(),
            stage: b.stage.clone(),
            status: b.status.clone(),
            pipeline: b.downstream_pipeline.clone().map(|p| {
                let project_id = p.project_id.unwrap_or(project);
                wire::pipeline(p, project_id)
            }),
        })
        .collect();

    let mut by_stage: BTreeMap<String, Vec<Job>> = BTreeMap::new();
    let mut first_id: HashMap<String, u64> = HashMap::new();
    for job in jobs.iter().chain(&bridges) {
        let lowest = first_id.entry(job.stage.clone()).or_insert(job.id);
        *lowest = (*lowest).min(job.id);
        let is_retried = retried(job);
        let job_needs = needs.get(&job.name).cloned().unwrap_or_default();
        by_stage
            .entry(job.stage.clone())
            .or_default()
            .push(wire::job(job.clone(), pipeline_id, is_retried, job_needs));
    }
    let mut order: Vec<String> = match &graph {
        Some(g) => g.stages.iter().map(|s| s.name.clone()).collect(),
        None => Vec::new(),
    };
    let mut rest: Vec<&String> = by_stage.keys().filter(|s| !order.contains(s)).collect();
    rest.sort_by_key(|s| first_id[*s]);
    order.extend(rest.into_iter().cloned());

    let stages = order
        .into_iter()
        .filter_map(|name| {
            let mut jobs = by_stage.remove(&name)?;
            jobs.sort_by_key(|j| j.id);
            let status = jobs
                .iter()
                .filter(|j| !j.retried)
                .map(|j| j.status.clone())
                .max_by_key(Status::severity)
                .unwrap_or(Status::Created);
            Some(Stage { name, status, jobs })
        })
        .collect();
    PipelineDetail {
        pipeline,
        stages,
        downstream,
        stage_order: if graph.is_some() {
            StageOrderSource::Graphql
        } else {
            StageOrderSource::JobIds
        },
        refused: None,
    }
}

/// Retries the pipeline's failed and canceled jobs.
#[utoipa::path(post, path = "/api/v1/projects/{project_id}/pipelines/{pipeline_id}/retry", tag = "actions",
    params(("project_id" = u64, Path), ("pipeline_id" = u64, Path)),
    responses((status = 200, body = ActionOutcome), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn retry(
    State(state): State<AppState>,
    actor: Actor,
    Path((project, pipeline_id)): Path<(u64, u64)>,
) -> AppResult<Json<ActionOutcome>> {
    let acting = state.ensure_may_act(&actor, project).await?;
    let attempt = Attempt::on_pipeline("retry_pipeline", project, pipeline_id);
    let pipeline = state
        .audited(&actor, attempt, async move {
            acting.retry_pipeline(project, pipeline_id).await
        })
        .await?;
    Ok(Json(ActionOutcome {
        message: format!("Pipeline #{pipeline_id} is retrying its failed and canceled jobs."),
        job: None,
        pipeline: Some(wire::pipeline(pipeline, project)),
    }))
}

/// Cancels every job of the pipeline that can still be canceled.
#[utoipa::path(post, path = "/api/v1/projects/{project_id}/pipelines/{pipeline_id}/cancel", tag = "actions",
    params(("project_id" = u64, Path), ("pipeline_id" = u64, Path)),
    responses((status = 200, body = ActionOutcome), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn cancel(
    State(state): State<AppState>,
    actor: Actor,
    Path((project, pipeline_id)): Path<(u64, u64)>,
) -> AppResult<Json<ActionOutcome>> {
    let acting = state.ensure_may_act(&actor, project).await?;
    let attempt = Attempt::on_pipeline("cancel_pipeline", project, pipeline_id);
    let pipeline = state
        .audited(&actor, attempt, async move {
            acting.cancel_pipeline(project, pipeline_id).await
        })
        .await?;
    Ok(Json(ActionOutcome {
        message: format!("Pipeline #{pipeline_id} is {}.", pipeline.status.label()),
        job: None,
        pipeline: Some(wire::pipeline(pipeline, project)),
    }))
}
