//! Demo mode's controls (a build with the `demo` feature): the simulated GitLab's clock and
//! faults, so anyone can make a job finish now or watch what stageboard does when GitLab fails.

use axum::Json;
use axum::extract::State;
use serde_json::{Value, json};
use stageboard_protocol::ErrorBody;

use super::extract;
use crate::app::AppState;
use crate::error::{AppError, AppResult};

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

#[derive(Debug, serde::Deserialize, utoipa::ToSchema)]
pub struct RunnerSwitch {
    /// The runners with this tag (`docker`, `kubernetes`, `macos`), or without tags (`""`).
    tag: String,
    /// Back online (`true`) or offline (`false`).
    online: bool,
}

/// Demo mode only: takes the simulated runners with a tag offline, or brings them back, so
/// anyone can watch jobs wait and the overview say why.
#[utoipa::path(post, path = "/api/v1/demo/runners", tag = "meta", request_body = RunnerSwitch,
    responses((status = 200, description = "the runners switched"), (status = 404, body = ErrorBody, description = "not in demo mode")))]
pub async fn runners(
    State(state): State<AppState>,
    extract::Json(switch): extract::Json<RunnerSwitch>,
) -> AppResult<Json<Value>> {
    let sim = state
        .demo()
        .ok_or_else(|| AppError::not_found("The simulated runners exist only in demo mode."))?;
    let ids: Vec<u64> = stageboard_sim::scenario::RUNNERS
        .iter()
        .filter(|r| {
            if switch.tag.is_empty() {
                r.tags.is_empty()
            } else {
                r.tags.contains(&switch.tag.as_str())
            }
        })
        .map(|r| r.id)
        .collect();
    if ids.is_empty() {
        return Err(AppError::bad_request(format!(
            "No simulated runner has the tag `{}`: try docker, kubernetes or macos.",
            switch.tag.chars().take(40).collect::<String>()
        )));
    }
    sim.write(|world, now| {
        for id in &ids {
            world.force_runner(*id, switch.online, now);
        }
    });
    state.hub().refresh_now().await;
    Ok(Json(json!({ "runners": ids, "online": switch.online })))
}
