//! Every route of the server, in one place.

use axum::Router;
use axum::extract::OriginalUri;
use axum::routing::{get, post};
use tower_http::trace::TraceLayer;

use crate::api::{environments, events, hooks, jobs, meta, openapi, overview, pipelines, projects};
use crate::app::AppState;
use crate::error::AppError;
use crate::spa;

pub fn router(state: AppState) -> Router {
    let api = Router::new()
        .route("/openapi.json", get(openapi::document))
        .route("/info", get(meta::info))
        .route("/events", get(events::events))
        .route("/demo/advance", post(meta::advance))
        .route("/demo/faults", post(meta::faults))
        .route("/overview", get(overview::overview))
        .route("/projects", get(projects::list))
        .route("/projects/{project_id}/pipelines", get(pipelines::list))
        .route("/projects/{project_id}/pipelines/{pipeline_id}", get(pipelines::show))
        .route(
            "/projects/{project_id}/pipelines/{pipeline_id}/retry",
            post(pipelines::retry),
        )
        .route(
            "/projects/{project_id}/pipelines/{pipeline_id}/cancel",
            post(pipelines::cancel),
        )
        .route("/projects/{project_id}/environments", get(environments::list))
        .route(
            "/projects/{project_id}/environments/{environment_id}",
            get(environments::show),
        )
        .route(
            "/projects/{project_id}/environments/{environment_id}/stop",
            post(environments::stop),
        )
        .route("/projects/{project_id}/jobs/{job_id}", get(jobs::show))
        .route("/projects/{project_id}/jobs/{job_id}/log", get(jobs::log))
        .route("/projects/{project_id}/jobs/{job_id}/raw", get(jobs::raw))
        .route("/projects/{project_id}/jobs/{job_id}/retry", post(jobs::retry))
        .route("/projects/{project_id}/jobs/{job_id}/cancel", post(jobs::cancel))
        .route("/projects/{project_id}/jobs/{job_id}/play", post(jobs::play))
        .fallback(api_not_found)
        .method_not_allowed_fallback(method_not_allowed);
    Router::new()
        .nest("/api/v1", api)
        .route("/health", get(meta::health))
        .route("/metrics", get(meta::metrics))
        .route("/hooks/gitlab", post(hooks::receive))
        .fallback(spa::serve)
        .layer(TraceLayer::new_for_http())
        .with_state(state)
}

async fn api_not_found(OriginalUri(uri): OriginalUri) -> AppError {
    AppError::not_found(format!(
        "There is no API route {}; see /api/v1/openapi.json.",
        uri.path()
    ))
}

async fn method_not_allowed() -> AppError {
    AppError::new(
        axum::http::StatusCode::METHOD_NOT_ALLOWED,
        stageboard_protocol::ErrorCode::BadRequest,
        "This route does not take that method; see /api/v1/openapi.json.",
    )
}
