//! Jobs: of a pipeline, bridges, of a project, one job, its log, retry, cancel and play.

use super::*;

pub(super) fn find_job<'w>(
    world: &'w World,
    project: &ProjectDef,
    raw: &str,
) -> Result<&'w crate::world::Job, GitlabError> {
    let id = record_id(raw)?;
    world
        .jobs
        .get(&id)
        .filter(|j| j.project_id == project.id)
        .ok_or(GitlabError::RecordNotFound)
}

pub(super) const JOB_SCOPES: [&str; 13] = PIPELINE_STATUSES;

pub(super) async fn pipeline_jobs(
    State(sim): State<Sim>,
    Path((id, pipeline_id)): Path<(String, String)>,
    OriginalUri(uri): OriginalUri,
) -> Result<Response, GitlabError> {
    let project = &find_project(&sim, &id)?;
    let params = Params::parse(uri.query());
    let scopes = params.choices("scope", &JOB_SCOPES)?;
    let include_retried = params.bool("include_retried")?.unwrap_or(false);
    let url = url_of(&sim, &uri);
    sim.read(|ctx| {
        let pipeline = find_pipeline(ctx.world, project, &pipeline_id)?;
        let mut jobs: Vec<_> = ctx
            .world
            .jobs
            .values()
            .filter(|j| j.pipeline_id == pipeline.id && !j.is_bridge())
            .filter(|j| include_retried || !j.retried)
            .filter(|j| scopes.is_empty() || scopes.contains(&j.status.as_str()))
            .collect();
        jobs.reverse();
        let page = paginate(jobs, &params, &url, Counting::Counted)?;
        Ok(json_page(page.items.iter().map(|j| ctx.job(j)).collect(), page.headers))
    })
}

pub(super) async fn pipeline_bridges(
    State(sim): State<Sim>,
    Path((id, pipeline_id)): Path<(String, String)>,
    OriginalUri(uri): OriginalUri,
) -> Result<Response, GitlabError> {
    let project = &find_project(&sim, &id)?;
    let params = Params::parse(uri.query());
    let scopes = params.choices("scope", &JOB_SCOPES)?;
    let url = url_of(&sim, &uri);
    sim.read(|ctx| {
        let pipeline = find_pipeline(ctx.world, project, &pipeline_id)?;
        let mut bridges: Vec<_> = ctx
            .world
            .current_jobs(pipeline.id)
            .filter(|j| j.is_bridge())
            .filter(|j| scopes.is_empty() || scopes.contains(&j.status.as_str()))
            .collect();
        bridges.reverse();
        let page = paginate(bridges, &params, &url, Counting::Counted)?;
        Ok(json_page(
            page.items.iter().map(|j| ctx.bridge(j)).collect(),
            page.headers,
        ))
    })
}

pub(super) async fn project_jobs(
    State(sim): State<Sim>,
    Path(id): Path<String>,
    OriginalUri(uri): OriginalUri,
) -> Result<Response, GitlabError> {
    let project = &find_project(&sim, &id)?;
    let params = Params::parse(uri.query());
    let scopes = params.choices("scope", &JOB_SCOPES)?;
    let url = url_of(&sim, &uri);
    sim.read(|ctx| {
        let mut jobs: Vec<_> = ctx
            .world
            .jobs
            .values()
            .filter(|j| j.project_id == project.id && !j.is_bridge())
            .filter(|j| scopes.is_empty() || scopes.contains(&j.status.as_str()))
            .collect();
        jobs.reverse();
        let page = paginate(jobs, &params, &url, Counting::WithoutCount)?;
        Ok(json_page(page.items.iter().map(|j| ctx.job(j)).collect(), page.headers))
    })
}

pub(super) async fn show_job(
    State(sim): State<Sim>,
    Path((id, job_id)): Path<(String, String)>,
) -> Result<Response, GitlabError> {
    let project = &find_project(&sim, &id)?;
    sim.read(|ctx| {
        let job = find_job(ctx.world, project, &job_id)?;
        Ok(axum::Json(ctx.job(job)).into_response())
    })
}

/// The whole log, always 200 (`Range` is ignored), empty when the job has none yet.
pub(super) async fn job_trace(
    State(sim): State<Sim>,
    Path((id, job_id)): Path<(String, String)>,
) -> Result<Response, GitlabError> {
    let project = &find_project(&sim, &id)?;
    sim.read(|ctx| {
        let job = find_job(ctx.world, project, &job_id)?;
        let pipeline = &ctx.world.pipelines[&job.pipeline_id];
        let body = crate::trace::render(job, pipeline, &project.full_path(), ctx.now);
        Ok((
            [
                (header::CONTENT_TYPE, "text/plain".to_owned()),
                (
                    header::CONTENT_DISPOSITION,
                    format!("infile; filename=\"{}.log\"", job.id),
                ),
            ],
            body,
        )
            .into_response())
    })
}

pub(super) async fn retry_job(
    State(sim): State<Sim>,
    Extension(caller): Extension<Caller>,
    Path((id, job_id)): Path<(String, String)>,
) -> Result<Response, GitlabError> {
    let project = &find_project(&sim, &id)?;
    caller.require(project, Role::Developer)?;
    sim.write(|world, now| {
        let job = find_job(world, project, &job_id)?.id;
        let (pipeline, environment) = deploys_to(world, job);
        caller.require_ref(project, &pipeline.git_ref, pipeline.tag, environment.as_deref())?;
        world
            .retry_job(job, caller.person(), now)
            .map_err(|_| GitlabError::Forbidden("Job is not retryable".into()))
    })
    .and_then(|new_id| {
        sim.read(|ctx| Ok((StatusCode::CREATED, axum::Json(ctx.job(&ctx.world.jobs[&new_id]))).into_response()))
    })
}

pub(super) async fn cancel_job(
    State(sim): State<Sim>,
    Extension(caller): Extension<Caller>,
    Path((id, job_id)): Path<(String, String)>,
) -> Result<Response, GitlabError> {
    let project = &find_project(&sim, &id)?;
    caller.require(project, Role::Developer)?;
    let job = sim.write(|world, now| {
        let job = find_job(world, project, &job_id)?.id;
        let (pipeline, environment) = deploys_to(world, job);
        caller.require_ref(project, &pipeline.git_ref, pipeline.tag, environment.as_deref())?;
        world
            .cancel_job(job, now)
            .map_err(|_| GitlabError::Forbidden("Job is not cancelable".into()))?;
        Ok(job)
    })?;
    sim.read(|ctx| Ok((StatusCode::CREATED, axum::Json(ctx.job(&ctx.world.jobs[&job]))).into_response()))
}

#[derive(serde::Deserialize)]
pub(super) struct PlayBody {
    #[serde(default)]
    job_variables_attributes: Vec<PlayVariable>,
}

#[derive(serde::Deserialize)]
pub(super) struct PlayVariable {
    key: String,
    value: String,
}

pub(super) async fn play_job(
    State(sim): State<Sim>,
    Extension(caller): Extension<Caller>,
    Path((id, job_id)): Path<(String, String)>,
    body: Bytes,
) -> Result<Response, GitlabError> {
    let project = &find_project(&sim, &id)?;
    caller.require(project, Role::Developer)?;
    let variables = if body.iter().all(u8::is_ascii_whitespace) {
        Vec::new()
    } else {
        serde_json::from_slice::<PlayBody>(&body)
            .map_err(|_| GitlabError::Param("job_variables_attributes is invalid".into()))?
            .job_variables_attributes
            .into_iter()
            .map(|v| (v.key, v.value))
            .collect()
    };
    let job = sim.write(|world, now| {
        let job = find_job(world, project, &job_id)?;
        // A deploy to a protected environment: only the roles allowed to deploy there.
        if let Some(environment) = &job.def.environment {
            caller.require(project, users::deploy_role(environment.name))?;
        }
        let (pipeline, environment) = deploys_to(world, job.id);
        caller.require_ref(project, &pipeline.git_ref, pipeline.tag, environment.as_deref())?;
        let job = job.id;
        world
            .play_job(job, caller.person(), variables, now)
            .map_err(|refusal| match refusal {
                Refusal::Unplayable => GitlabError::BadRequest("Unplayable Job".into()),
                _ => GitlabError::Forbidden("Job is not playable".into()),
            })?;
        Ok(job)
    })?;
    sim.read(|ctx| Ok(axum::Json(ctx.job(&ctx.world.jobs[&job])).into_response()))
}

/// A job's pipeline and the environment it deploys to, if any.
fn deploys_to(world: &World, job: u64) -> (&crate::world::Pipeline, Option<String>) {
    let job = &world.jobs[&job];
    let pipeline = &world.pipelines[&job.pipeline_id];
    let environment = job
        .def
        .environment
        .map(|def| crate::environments::environment_name(&def, pipeline));
    (pipeline, environment)
}
