//! The OpenAPI document's frame; its paths come from the router (`crate::router::routes`),
//! which registers every handler through its `#[utoipa::path]`.

use std::sync::Arc;

use axum::{Extension, Json};
use utoipa::OpenApi;

#[derive(OpenApi)]
#[openapi(info(
    title = "stageboard API",
    description = "GitLab pipelines, jobs and logs for the stageboard dashboard. Errors always use the ErrorBody shape."
))]
pub struct ApiDoc;

/// This document: every route the server answers, with its parameters and answers.
#[utoipa::path(get, path = "/api/v1/openapi.json", tag = "meta", responses((status = 200, description = "OpenAPI 3.1")))]
pub async fn document(Extension(document): Extension<Arc<utoipa::openapi::OpenApi>>) -> Json<utoipa::openapi::OpenApi> {
    Json(document.as_ref().clone())
}
