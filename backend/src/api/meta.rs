use axum::Json;
use axum::extract::State;

use super::extract;
use serde_json::{Value, json};
use stageboard_protocol::{ErrorBody, ServerInfo};

use crate::app::AppState;
use crate::error::{AppError, AppResult};

/// What the front end needs to know about this server.
#[utoipa::path(get, path = "/api/v1/info", tag = "meta", responses((status = 200, body = ServerInfo)))]
pub async fn info(State(state): State<AppState>) -> Json<ServerInfo> {
    Json(ServerInfo {
        demo: state.demo().is_some(),
        gitlab_url: state.gitlab_url(),
        version: env!("CARGO_PKG_VERSION").to_owned(),
        actions_enabled: state.actions_enabled(),
    })
}

/// Prometheus metrics: GitLab requests, rate-limit budget, poll intervals, webhooks, SSE.
#[utoipa::path(get, path = "/metrics", tag = "meta", responses((status = 200, description = "Prometheus text format", content_type = "text/plain")))]
pub async fn metrics(State(state): State<AppState>) -> impl axum::response::IntoResponse {
    let hub = state.hub();
    hub.metrics().oldest_state_age(hub.oldest_state_age().unwrap_or(0.0));
    (
        [(
            axum::http::header::CONTENT_TYPE,
            "text/plain; version=0.0.4; charset=utf-8",
        )],
        hub.metrics().encode(),
    )
}

/// Liveness: the server answers. It does not depend on GitLab being up.
#[utoipa::path(get, path = "/health", tag = "meta", responses((status = 200, description = "the server is up")))]
pub async fn health() -> Json<Value> {
    Json(json!({ "status": "ok" }))
}

#[derive(Debug, serde::Deserialize, utoipa::ToSchema)]
pub struct Advance {
    /// Seconds to move the simulated clock forward.
    seconds: i64,
}

/// Demo mode only: moves the simulated GitLab's clock forward, so a running job finishes now.
#[utoipa::path(post, path = "/api/v1/demo/advance", tag = "meta", request_body = Advance,
    responses((status = 200, description = "the new simulated time"), (status = 404, body = ErrorBody, description = "not in demo mode")))]
pub async fn advance(
    State(state): State<AppState>,
    extract::Json(advance): extract::Json<Advance>,
) -> AppResult<Json<Value>> {
    let sim = state
        .demo()
        .ok_or_else(|| AppError::not_found("The simulated clock exists only in demo mode."))?;
    if !(0..=86_400).contains(&advance.seconds) {
        return Err(AppError::bad_request("seconds must be between 0 and 86400."));
    }
    sim.advance(chrono::Duration::seconds(advance.seconds));
    // The pollers look now rather than at their next tick, so every screen sees the jump.
    state.hub().refresh_now().await;
    Ok(Json(json!({ "now": sim.clock().now() })))
}

/// Demo mode only: makes the simulated GitLab misbehave (`{"status": 503}`, `{"truncate": true}`,
/// `{"delay_ms": 2000}`; `{}` to heal), then lets the hub look at once, so anyone can watch
/// what stageboard does when GitLab fails.
#[utoipa::path(post, path = "/api/v1/demo/faults", tag = "meta",
    responses((status = 200, description = "the faults now in force"), (status = 404, body = ErrorBody, description = "not in demo mode")))]
pub async fn faults(
    State(state): State<AppState>,
    extract::Json(faults): extract::Json<stageboard_sim::Faults>,
) -> AppResult<Json<Value>> {
    let sim = state
        .demo()
        .ok_or_else(|| AppError::not_found("The simulated GitLab exists only in demo mode."))?;
    if faults.status.is_some_and(|s| !(500..=599).contains(&s)) {
        return Err(AppError::bad_request("status must be a 5xx code."));
    }
    if faults.delay_ms > 30_000 {
        return Err(AppError::bad_request("delay_ms must be at most 30000."));
    }
    sim.set_faults(faults.clone());
    state.hub().refresh_now().await;
    Ok(Json(json!({ "faults": faults })))
}
