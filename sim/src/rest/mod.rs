//! GitLab REST API v4, the subset stageboard relies on, with GitLab's status codes and bodies.

mod entities;
mod environments;
pub mod error;
mod jobs;
mod merge_requests;
mod pagination;
pub(crate) mod params;
mod pipelines;
mod projects;
mod repository;
mod runners;

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Extension, OriginalUri, Path, State};
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
use crate::users::{self, Caller, Role};
use crate::world::{JobStatus, Refusal, World};

use environments::*;
use jobs::*;
use merge_requests::*;
use pipelines::*;
use projects::*;
use repository::*;
use runners::*;

pub fn routes() -> Router<Sim> {
    Router::new()
        .route("/version", get(version))
        .route("/user", get(current_user))
        .route("/projects", get(list_projects).post(create_project))
        .route("/groups/{id}/projects", get(group_projects))
        .route("/groups/{id}/runners", get(group_runners))
        .route("/projects/{id}", get(show_project).delete(delete_project))
        .route("/projects/{id}/archive", post(archive_project))
        .route("/projects/{id}/unarchive", post(unarchive_project))
        .route("/projects/{id}/members/all/{user_id}", get(project_member))
        .route("/projects/{id}/runners", get(project_runners))
        .route("/projects/{id}/merge_requests", get(list_merge_requests))
        .route("/projects/{id}/merge_requests/{iid}", get(show_merge_request))
        .route(
            "/projects/{id}/merge_requests/{iid}/pipelines",
            post(create_merge_request_pipeline),
        )
        .route("/runners/{id}", get(show_runner))
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
        .route("/projects/{id}/protected_environments", get(protected_environments))
        .route("/projects/{id}/protected_branches", get(protected_branches))
        .route("/projects/{id}/deployments", get(list_deployments))
        .route("/projects/{id}/deployments/{deployment_id}", get(show_deployment))
        .route(
            "/projects/{id}/deployments/{deployment_id}/approval",
            post(approve_deployment),
        )
        .route("/projects/{id}/repository/compare", get(compare))
}

pub(crate) fn find_project(sim: &Sim, id: &str) -> Result<ProjectDef, GitlabError> {
    sim.projects()
        .iter()
        .filter(|p| !p.deleted)
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
