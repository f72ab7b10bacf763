//! The one way the app talks to the server: typed results, the server's error message on failure.

use gloo_net::http::Request;
use leptos::prelude::*;
use serde::de::DeserializeOwned;
use stageboard_protocol::{ErrorBody, PipelinePage, Project, ServerInfo};

/// A failed request, with what a person should read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiError {
    pub message: String,
}

impl std::fmt::Display for ApiError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message)
    }
}

pub async fn get<T: DeserializeOwned>(path: &str) -> Result<T, ApiError> {
    let response = Request::get(path).send().await.map_err(|e| ApiError {
        message: format!("stageboard's server could not be reached ({e}). Is it running?"),
    })?;
    if response.ok() {
        return response.json::<T>().await.map_err(|e| ApiError {
            message: format!("The server's answer could not be read ({e})."),
        });
    }
    let status = response.status();
    match response.json::<ErrorBody>().await {
        Ok(body) => Err(ApiError { message: body.message }),
        Err(_) => Err(ApiError {
            message: format!("The server answered {status}."),
        }),
    }
}

pub async fn projects() -> Result<Vec<Project>, ApiError> {
    get("/api/v1/projects").await
}

pub async fn pipelines(project_id: u64) -> Result<PipelinePage, ApiError> {
    get(&format!("/api/v1/projects/{project_id}/pipelines")).await
}

/// The server's facts (demo mode, GitLab URL), loaded once for the whole app.
pub fn provide_server_info() {
    let info = LocalResource::new(|| get::<ServerInfo>("/api/v1/info"));
    provide_context(info);
}

pub fn use_server_info() -> LocalResource<Result<ServerInfo, ApiError>> {
    expect_context()
}
