//! GitLab REST API v4, the subset stageboard relies on, with GitLab's status codes and bodies.

mod entities;
pub mod error;
mod pagination;
pub(crate) mod params;

use axum::Router;
use axum::body::Bytes;
use axum::extract::{OriginalUri, Path, State};
use axum::http::{StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde_json::{Value, json};

pub use entities::Ctx;
use error::GitlabError;
use pagination::{Counting, paginate};
use params::Params;

use crate::Sim;
use crate::scenario::{self, ProjectDef};
use crate::world::{JobStatus, Refusal, World};

pub fn routes() -> Router<Sim> {
    Router::new()
        .route("/version", get(version))
        .route("/projects", get(list_projects))
        .route("/groups/{id}/projects", get(group_projects))
        .route("/projects/{id}", get(show_project))
        .route("/projects/{id}/pipelines", get(list_pipelines))
        .route("/projects/{id}/pipelines/latest", get(latest_pipeline))
        .route("/projects/{id}/pipelines/{pipeline_id}", get(show_pipeline))
        .route("/projects/{id}/pipelines/{pipeline_id}/jobs", get(pipeline_jobs))
        .route("/projects/{id}/pipelines/{pipeline_id}/bridges", get(pipeline_bridges))
        .route("/projects/{id}/pipelines/{pipeline_id}/retry", post(retry_pipeline))
        .route("/projects/{id}/pipelines/{pipeline_id}/cancel", post(cancel_pipeline))
        .route("/projects/{id}/jobs", get(project_jobs))
        .route("/projects/{id}/jobs/{job_id}", get(show_job))
        .route("/projects/{id}/jobs/{job_id}/trace", get(job_trace))
        .route("/projects/{id}/jobs/{job_id}/retry", post(retry_job))
        .route("/projects/{id}/jobs/{job_id}/cancel", post(cancel_job))
        .route("/projects/{id}/jobs/{job_id}/play", post(play_job))
        .route("/projects/{id}/environments", get(list_environments))
        .route("/projects/{id}/environments/{environment_id}", get(show_environment))
        .route(
            "/projects/{id}/environments/{environment_id}/stop",
            post(stop_environment),
        )
        .route("/projects/{id}/deployments", get(list_deployments))
        .route("/projects/{id}/deployments/{deployment_id}", get(show_deployment))
        .route("/projects/{id}/repository/compare", get(compare))
}

const PIPELINE_STATUSES: [&str; 13] = [
    "created",
    "waiting_for_resource",
    "preparing",
    "waiting_for_callback",
    "pending",
    "running",
    "success",
    "failed",
    "canceling",
    "canceled",
    "skipped",
    "manual",
    "scheduled",
];

const SOURCES: [&str; 18] = [
    "push",
    "web",
    "trigger",
    "schedule",
    "api",
    "external",
    "pipeline",
    "chat",
    "webide",
    "merge_request_event",
    "external_pull_request_event",
    "parent_pipeline",
    "ondemand_dast_scan",
    "ondemand_dast_validation",
    "security_orchestration_policy",
    "container_registry_push",
    "duo_workflow",
    "pipeline_execution_policy_schedule",
];

/// `:id` is a numeric id or a URL-encoded full path (`platform%2Fpayments-api`).
fn find_project(sim: &Sim, id: &str) -> Result<ProjectDef, GitlabError> {
    sim.projects()
        .iter()
        .find(|p| id.parse::<u64>().is_ok_and(|n| n == p.id) || p.full_path() == id)
        .cloned()
        .ok_or(GitlabError::NotFoundNamed("Project"))
}

fn record_id(raw: &str) -> Result<u64, GitlabError> {
    // Grape validates `requires :job_id, type: Integer`.
    raw.parse::<u64>().map_err(|_| GitlabError::RecordNotFound)
}

fn url_of(sim: &Sim, uri: &Uri) -> String {
    format!("{}{}", sim.base_url(), uri.path())
}

fn json_page(items: Vec<Value>, headers: axum::http::HeaderMap) -> Response {
    (headers, axum::Json(Value::Array(items))).into_response()
}

async fn version() -> axum::Json<Value> {
    axum::Json(
        json!({ "version": "17.5.0", "revision": "2e8f3c6d1b7", "kas": { "enabled": false, "externalUrl": null, "version": null }, "enterprise": false }),
    )
}

async fn list_projects(State(sim): State<Sim>, OriginalUri(uri): OriginalUri) -> Result<Response, GitlabError> {
    let params = Params::parse(uri.query());
    let all = sim.projects();
    projects_page(&sim, &params, &uri, all.iter().collect())
}

async fn group_projects(
    State(sim): State<Sim>,
    Path(id): Path<String>,
    OriginalUri(uri): OriginalUri,
) -> Result<Response, GitlabError> {
    let params = Params::parse(uri.query());
    let group = scenario::GROUPS
        .iter()
        .find(|g| id.parse::<u64>().is_ok_and(|n| n == g.id) || g.full_path == id)
        .ok_or(GitlabError::NotFoundNamed("Group"))?;
    let subgroups = params.bool("include_subgroups")?.unwrap_or(false);
    let all = sim.projects();
    let projects = all
        .iter()
        .filter(|p| {
            p.group.id == group.id || (subgroups && p.group.full_path.starts_with(&format!("{}/", group.full_path)))
        })
        .collect();
    projects_page(&sim, &params, &uri, projects)
}

fn projects_page(
    sim: &Sim,
    params: &Params,
    uri: &Uri,
    mut projects: Vec<&ProjectDef>,
) -> Result<Response, GitlabError> {
    let simple = params.bool("simple")?.unwrap_or(false);
    params.bool("membership")?;
    if params.bool("archived")? == Some(true) {
        projects.clear();
    }
    let order = params.choice(
        "order_by",
        &[
            "id",
            "name",
            "path",
            "created_at",
            "updated_at",
            "last_activity_at",
            "similarity",
            "star_count",
        ],
    )?;
    let sort = params.choice("sort", &["asc", "desc"])?.unwrap_or("desc");
    if let Some(search) = params.get("search") {
        let search = search.to_lowercase();
        projects.retain(|p| p.name.contains(&search) || p.full_path().contains(&search));
    }
    match order {
        Some("name") | Some("path") => projects.sort_by(|a, b| a.name.cmp(&b.name)),
        _ => projects.sort_by_key(|p| p.id),
    }
    if sort == "desc" {
        projects.reverse();
    }
    let url = url_of(sim, uri);
    sim.read(|ctx| {
        let page = paginate(projects, params, &url, Counting::Counted)?;
        let items = page.items.iter().map(|p| ctx.project(p, simple)).collect();
        Ok(json_page(items, page.headers))
    })
}

async fn show_project(State(sim): State<Sim>, Path(id): Path<String>) -> Result<Response, GitlabError> {
    let project = &find_project(&sim, &id)?;
    sim.read(|ctx| Ok(axum::Json(ctx.project(project, false)).into_response()))
}

async fn list_pipelines(
    State(sim): State<Sim>,
    Path(id): Path<String>,
    OriginalUri(uri): OriginalUri,
) -> Result<Response, GitlabError> {
    let project = &find_project(&sim, &id)?;
    let params = Params::parse(uri.query());
    let scope = params.choice("scope", &["running", "pending", "finished", "branches", "tags"])?;
    let status = params.choice("status", &PIPELINE_STATUSES)?;
    let source = params.choice("source", &SOURCES)?;
    let order_by = params
        .choice("order_by", &["id", "status", "ref", "updated_at", "user_id"])?
        .unwrap_or("id");
    let sort = params.choice("sort", &["asc", "desc"])?.unwrap_or("desc");
    let git_ref = params.get("ref");
    let sha = params.get("sha");
    let username = params.get("username");
    let updated_after = params.time("updated_after")?;
    let updated_before = params.time("updated_before")?;
    let created_after = params.time("created_after")?;
    let created_before = params.time("created_before")?;
    let url = url_of(&sim, &uri);
    sim.read(|ctx| {
        let mut pipelines: Vec<_> = ctx
            .world
            .pipelines
            .values()
            .filter(|p| p.project_id == project.id)
            // Child pipelines are listed only when asked for by source (GitLab 17.0+).
            .filter(|p| match source {
                Some(s) => p.source == s,
                None => p.parent.is_none(),
            })
            .filter(|p| status.is_none_or(|s| p.status.as_str() == s))
            .filter(|p| git_ref.is_none_or(|r| p.git_ref == r))
            .filter(|p| sha.is_none_or(|s| p.commit.sha == s))
            .filter(|p| username.is_none_or(|u| p.user.username == u))
            .filter(|p| updated_after.is_none_or(|t| p.updated_at > t))
            .filter(|p| updated_before.is_none_or(|t| p.updated_at < t))
            .filter(|p| created_after.is_none_or(|t| p.created_at > t))
            .filter(|p| created_before.is_none_or(|t| p.created_at < t))
            .filter(|p| match scope {
                Some("running") => p.status == JobStatus::Running,
                Some("pending") => p.status == JobStatus::Pending,
                Some("finished") => p.status.is_completed(),
                Some("branches") => !p.tag,
                Some("tags") => p.tag,
                _ => true,
            })
            .collect();
        if matches!(scope, Some("branches") | Some("tags")) {
            // The latest pipeline of each branch or tag.
            let mut seen = std::collections::HashSet::new();
            pipelines.sort_by_key(|p| std::cmp::Reverse(p.id));
            pipelines.retain(|p| seen.insert(p.git_ref.clone()));
        }
        match order_by {
            "status" => pipelines.sort_by_key(|p| (p.status.as_str(), p.id)),
            "ref" => pipelines.sort_by(|a, b| (&a.git_ref, a.id).cmp(&(&b.git_ref, b.id))),
            "updated_at" => pipelines.sort_by_key(|p| (p.updated_at, p.id)),
            "user_id" => pipelines.sort_by_key(|p| (p.user.id, p.id)),
            _ => pipelines.sort_by_key(|p| p.id),
        }
        if sort == "desc" {
            pipelines.reverse();
        }
        let page = paginate(pipelines, &params, &url, Counting::Counted)?;
        let items = page.items.iter().map(|p| ctx.pipeline_listed(p)).collect();
        Ok(json_page(items, page.headers))
    })
}

fn find_pipeline<'w>(
    world: &'w World,
    project: &ProjectDef,
    raw: &str,
) -> Result<&'w crate::world::Pipeline, GitlabError> {
    let id = record_id(raw)?;
    world
        .pipelines
        .get(&id)
        .filter(|p| p.project_id == project.id)
        .ok_or(GitlabError::RecordNotFound)
}

fn find_job<'w>(world: &'w World, project: &ProjectDef, raw: &str) -> Result<&'w crate::world::Job, GitlabError> {
    let id = record_id(raw)?;
    world
        .jobs
        .get(&id)
        .filter(|j| j.project_id == project.id)
        .ok_or(GitlabError::RecordNotFound)
}

async fn show_pipeline(
    State(sim): State<Sim>,
    Path((id, pipeline_id)): Path<(String, String)>,
) -> Result<Response, GitlabError> {
    let project = &find_project(&sim, &id)?;
    sim.read(|ctx| {
        let pipeline = find_pipeline(ctx.world, project, &pipeline_id)?;
        Ok(axum::Json(ctx.pipeline(pipeline)).into_response())
    })
}

async fn latest_pipeline(
    State(sim): State<Sim>,
    Path(id): Path<String>,
    OriginalUri(uri): OriginalUri,
) -> Result<Response, GitlabError> {
    let project = &find_project(&sim, &id)?;
    let params = Params::parse(uri.query());
    let git_ref = params.get("ref").unwrap_or("main").to_owned();
    sim.read(|ctx| {
        let pipeline = ctx
            .world
            .latest_pipeline(project.id, &git_ref)
            .ok_or(GitlabError::RecordNotFound)?;
        Ok(axum::Json(ctx.pipeline(pipeline)).into_response())
    })
}

const JOB_SCOPES: [&str; 13] = PIPELINE_STATUSES;

async fn pipeline_jobs(
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

async fn pipeline_bridges(
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

async fn project_jobs(
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

async fn show_job(State(sim): State<Sim>, Path((id, job_id)): Path<(String, String)>) -> Result<Response, GitlabError> {
    let project = &find_project(&sim, &id)?;
    sim.read(|ctx| {
        let job = find_job(ctx.world, project, &job_id)?;
        Ok(axum::Json(ctx.job(job)).into_response())
    })
}

/// The whole log, always 200 (`Range` is ignored), empty when the job has none yet.
async fn job_trace(
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

async fn retry_job(
    State(sim): State<Sim>,
    Path((id, job_id)): Path<(String, String)>,
) -> Result<Response, GitlabError> {
    let project = &find_project(&sim, &id)?;
    sim.write(|world, now| {
        let job = find_job(world, project, &job_id)?.id;
        world
            .retry_job(job, scenario::TOKEN_OWNER, now)
            .map_err(|_| GitlabError::Forbidden("Job is not retryable".into()))
    })
    .and_then(|new_id| {
        sim.read(|ctx| Ok((StatusCode::CREATED, axum::Json(ctx.job(&ctx.world.jobs[&new_id]))).into_response()))
    })
}

async fn cancel_job(
    State(sim): State<Sim>,
    Path((id, job_id)): Path<(String, String)>,
) -> Result<Response, GitlabError> {
    let project = &find_project(&sim, &id)?;
    let job = sim.write(|world, now| {
        let job = find_job(world, project, &job_id)?.id;
        world
            .cancel_job(job, now)
            .map_err(|_| GitlabError::Forbidden("Job is not cancelable".into()))?;
        Ok(job)
    })?;
    sim.read(|ctx| Ok((StatusCode::CREATED, axum::Json(ctx.job(&ctx.world.jobs[&job]))).into_response()))
}

#[derive(serde::Deserialize)]
struct PlayBody {
    #[serde(default)]
    job_variables_attributes: Vec<PlayVariable>,
}

#[derive(serde::Deserialize)]
struct PlayVariable {
    key: String,
    value: String,
}

async fn play_job(
    State(sim): State<Sim>,
    Path((id, job_id)): Path<(String, String)>,
    body: Bytes,
) -> Result<Response, GitlabError> {
    let project = &find_project(&sim, &id)?;
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
        let job = find_job(world, project, &job_id)?.id;
        world
            .play_job(job, scenario::TOKEN_OWNER, variables, now)
            .map_err(|refusal| match refusal {
                Refusal::Unplayable => GitlabError::BadRequest("Unplayable Job".into()),
                _ => GitlabError::Forbidden("Job is not playable".into()),
            })?;
        Ok(job)
    })?;
    sim.read(|ctx| Ok(axum::Json(ctx.job(&ctx.world.jobs[&job])).into_response()))
}

async fn retry_pipeline(
    State(sim): State<Sim>,
    Path((id, pipeline_id)): Path<(String, String)>,
) -> Result<Response, GitlabError> {
    let project = &find_project(&sim, &id)?;
    let pipeline = sim.write(|world, now| {
        let pipeline = find_pipeline(world, project, &pipeline_id)?.id;
        world.retry_pipeline(pipeline, scenario::TOKEN_OWNER, now);
        Ok(pipeline)
    })?;
    sim.read(|ctx| {
        Ok((
            StatusCode::CREATED,
            axum::Json(ctx.pipeline(&ctx.world.pipelines[&pipeline])),
        )
            .into_response())
    })
}

async fn cancel_pipeline(
    State(sim): State<Sim>,
    Path((id, pipeline_id)): Path<(String, String)>,
) -> Result<Response, GitlabError> {
    let project = &find_project(&sim, &id)?;
    let pipeline = sim.write(|world, now| {
        let pipeline = find_pipeline(world, project, &pipeline_id)?.id;
        world.cancel_pipeline(pipeline, now);
        Ok(pipeline)
    })?;
    sim.read(|ctx| Ok(axum::Json(ctx.pipeline(&ctx.world.pipelines[&pipeline])).into_response()))
}

fn find_environment<'w>(
    world: &'w World,
    project: &ProjectDef,
    raw: &str,
) -> Result<&'w crate::environments::Environment, GitlabError> {
    let id = record_id(raw)?;
    world
        .environments
        .get(&id)
        .filter(|e| e.project_id == project.id)
        .ok_or(GitlabError::RecordNotFound)
}

async fn list_environments(
    State(sim): State<Sim>,
    Path(id): Path<String>,
    OriginalUri(uri): OriginalUri,
) -> Result<Response, GitlabError> {
    let project = &find_project(&sim, &id)?;
    let params = Params::parse(uri.query());
    let name = params.get("name");
    let search = params.get("search");
    if name.is_some() && search.is_some() {
        return Err(GitlabError::Param("name, search are mutually exclusive".into()));
    }
    if search.is_some_and(|s| s.chars().count() < 3) {
        return Err(GitlabError::BadRequest("Search query is less than 3 characters".into()));
    }
    let states = params.choice("states", &["available", "stopping", "stopped"])?;
    let url = url_of(&sim, &uri);
    sim.read(|ctx| {
        let envs: Vec<Value> = ctx
            .world
            .environments
            .values()
            .filter(|e| e.project_id == project.id)
            .filter(|e| name.is_none_or(|n| e.name == n))
            .filter(|e| search.is_none_or(|q| e.name.contains(q)))
            .filter(|e| states.is_none_or(|s| ctx.world.environment_state(e) == s))
            .map(|e| ctx.environment(e, false))
            .collect();
        let page = paginate(envs, &params, &url, Counting::Counted)?;
        Ok(json_page(page.items, page.headers))
    })
}

async fn show_environment(
    State(sim): State<Sim>,
    Path((id, environment_id)): Path<(String, String)>,
) -> Result<Response, GitlabError> {
    let project = &find_project(&sim, &id)?;
    sim.read(|ctx| {
        let env = find_environment(ctx.world, project, &environment_id)?;
        Ok(axum::Json(ctx.environment(env, true)).into_response())
    })
}

async fn stop_environment(
    State(sim): State<Sim>,
    Path((id, environment_id)): Path<(String, String)>,
    OriginalUri(uri): OriginalUri,
    body: Bytes,
) -> Result<Response, GitlabError> {
    let project = &find_project(&sim, &id)?;
    let params = Params::parse(uri.query());
    let body_force = serde_json::from_slice::<Value>(&body)
        .ok()
        .and_then(|v| v.get("force").and_then(Value::as_bool));
    let force = params.bool("force")?.or(body_force).unwrap_or(false);
    let env = sim.write(|world, now| {
        let env = find_environment(world, project, &environment_id)?.id;
        world
            .stop_environment(env, force, scenario::TOKEN_OWNER, now)
            .map_err(|_| GitlabError::RecordNotFound)?;
        Ok(env)
    })?;
    sim.read(|ctx| Ok(axum::Json(ctx.environment(&ctx.world.environments[&env], false)).into_response()))
}

const DEPLOYMENT_STATUSES: [&str; 7] = [
    "created", "running", "success", "failed", "canceled", "skipped", "blocked",
];

async fn list_deployments(
    State(sim): State<Sim>,
    Path(id): Path<String>,
    OriginalUri(uri): OriginalUri,
) -> Result<Response, GitlabError> {
    let project = &find_project(&sim, &id)?;
    let params = Params::parse(uri.query());
    let environment = params.get("environment");
    let status = params.choice("status", &DEPLOYMENT_STATUSES)?;
    let order_by = params
        .choice(
            "order_by",
            &["id", "iid", "created_at", "updated_at", "finished_at", "ref"],
        )?
        .unwrap_or("id");
    let sort = params.choice("sort", &["asc", "desc"])?.unwrap_or("asc");
    let updated_after = params.time("updated_after")?;
    let updated_before = params.time("updated_before")?;
    if (updated_after.is_some() || updated_before.is_some()) && order_by != "updated_at" {
        return Err(GitlabError::BadRequest(
            "`updated_at` filter and `updated_at` sort must be paired".into(),
        ));
    }
    if order_by == "finished_at" && status != Some("success") {
        return Err(GitlabError::BadRequest(
            "`finished_at` sort requires `status=success`".into(),
        ));
    }
    let url = url_of(&sim, &uri);
    sim.read(|ctx| {
        let w = ctx.world;
        let mut deployments: Vec<&crate::environments::Deployment> = w
            .deployments
            .values()
            .filter(|d| d.project_id == project.id)
            .filter(|d| environment.is_none_or(|n| w.environments[&d.environment_id].name == n))
            .filter(|d| status.is_none_or(|s| crate::environments::deployment_status(w.jobs[&d.job_id].status) == s))
            .filter(|d| updated_after.is_none_or(|t| w.jobs[&d.job_id].changed_at > t))
            .filter(|d| updated_before.is_none_or(|t| w.jobs[&d.job_id].changed_at < t))
            .collect();
        match order_by {
            "updated_at" => deployments.sort_by_key(|d| (w.jobs[&d.job_id].changed_at, d.id)),
            "finished_at" => deployments.sort_by_key(|d| (w.jobs[&d.job_id].finished_at, d.id)),
            "ref" => deployments.sort_by(|a, b| {
                let r =
                    |d: &crate::environments::Deployment| w.pipelines[&w.jobs[&d.job_id].pipeline_id].git_ref.clone();
                (r(a), a.id).cmp(&(r(b), b.id))
            }),
            _ => deployments.sort_by_key(|d| d.id),
        }
        if sort == "desc" {
            deployments.reverse();
        }
        let page = paginate(deployments, &params, &url, Counting::Counted)?;
        Ok(json_page(
            page.items.iter().map(|d| ctx.deployment(d)).collect(),
            page.headers,
        ))
    })
}

async fn show_deployment(
    State(sim): State<Sim>,
    Path((id, deployment_id)): Path<(String, String)>,
) -> Result<Response, GitlabError> {
    let project = &find_project(&sim, &id)?;
    sim.read(|ctx| {
        let id = record_id(&deployment_id)?;
        let d = ctx
            .world
            .deployments
            .get(&id)
            .filter(|d| d.project_id == project.id)
            .ok_or(GitlabError::RecordNotFound)?;
        Ok(axum::Json(ctx.deployment(d)).into_response())
    })
}

async fn compare(
    State(sim): State<Sim>,
    Path(id): Path<String>,
    OriginalUri(uri): OriginalUri,
) -> Result<Response, GitlabError> {
    let project = &find_project(&sim, &id)?;
    let params = Params::parse(uri.query());
    let (Some(from), Some(to)) = (params.get("from"), params.get("to")) else {
        return Err(GitlabError::Param("from is missing, to is missing".into()));
    };
    sim.read(|ctx| {
        let commits = ctx
            .world
            .commits_between(project.id, from, to)
            .ok_or(GitlabError::NotFoundNamed("Ref"))?;
        let commits: Vec<Value> = commits.iter().map(|c| ctx.plain_commit(project, c)).collect();
        Ok(axum::Json(json!({
            "commit": commits.last().cloned(),
            "commits": commits,
            "diffs": [],
            "compare_timeout": false,
            "compare_same_ref": from == to,
            "web_url": format!("{}/-/compare/{from}...{to}", ctx.project_url(project)),
        }))
        .into_response())
    })
}
