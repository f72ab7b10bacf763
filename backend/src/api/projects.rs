use axum::Json;
use axum::extract::State;
use stageboard_protocol::{ErrorBody, Project};

use crate::app::AppState;
use crate::error::AppResult;

/// The watched projects.
#[utoipa::path(get, path = "/api/v1/projects", tag = "projects",
    responses((status = 200, body = Vec<Project>), (status = 502, body = ErrorBody, description = "GitLab unreachable or refusing the token")))]
pub async fn list(State(state): State<AppState>, reader: crate::access::Reader) -> AppResult<Json<Vec<Project>>> {
    let projects = state.readable_projects(&reader).await?;
    Ok(Json(projects.into_iter().map(super::wire::project).collect()))
}
