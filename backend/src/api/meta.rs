use axum::Json;
use axum::extract::State;

use serde_json::{Value, json};
use stageboard_protocol::ServerInfo;

use crate::app::AppState;

/// What the front end needs to know about this server.
#[utoipa::path(get, path = "/api/v1/info", tag = "meta", responses((status = 200, body = ServerInfo)))]
pub async fn info(State(state): State<AppState>, session: tower_sessions::Session) -> Json<ServerInfo> {
    let person = match state.auth() {
        Some(_) => crate::auth::signed_in(&state, &session).await.map(|p| p.user()),
        None => None,
    };
    Json(ServerInfo {
        demo: state.is_demo(),
        gitlab_url: state.gitlab_url(),
        version: env!("CARGO_PKG_VERSION").to_owned(),
        actions_enabled: person.is_some(),
        sign_in: state.auth().is_some(),
        person,
    })
}

/// Prometheus metrics: GitLab requests, rate-limit budget, poll intervals, webhooks, SSE.
#[utoipa::path(get, path = "/metrics", tag = "meta", responses((status = 200, description = "Prometheus text format", content_type = "text/plain"),
    (status = 401, body = stageboard_protocol::ErrorBody, description = "STAGEBOARD_METRICS_TOKEN is set and the request does not carry it")))]
pub async fn metrics(
    State(state): State<AppState>,
    headers: axum::http::HeaderMap,
) -> Result<impl axum::response::IntoResponse, crate::error::AppError> {
    let authorization = headers.get(axum::http::header::AUTHORIZATION).map(|v| v.as_bytes());
    if !state.may_read_metrics(authorization) {
        return Err(crate::error::AppError::new(
            axum::http::StatusCode::UNAUTHORIZED,
            stageboard_protocol::ErrorCode::Unauthorized,
            "The metrics need `Authorization: Bearer <STAGEBOARD_METRICS_TOKEN>`.",
        ));
    }
    let hub = state.hub();
    hub.metrics().oldest_state_age(hub.oldest_state_age().unwrap_or(0.0));
    Ok((
        [(
            axum::http::header::CONTENT_TYPE,
            "text/plain; version=0.0.4; charset=utf-8",
        )],
        hub.metrics().encode(),
    ))
}

/// Liveness: the server answers. It does not depend on GitLab being up. `replica` says whether
/// this process polls GitLab: `alone`, or, with replicas, `leading` or `following`.
#[utoipa::path(get, path = "/health", tag = "meta", responses((status = 200, description = "the server is up")))]
pub async fn health(State(state): State<AppState>) -> Json<Value> {
    Json(json!({ "status": "ok", "replica": state.hub().role().as_str() }))
}
