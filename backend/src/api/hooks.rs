//! `POST /hooks/gitlab`: GitLab's Pipeline, Job and Deployment webhooks. Checked (secret in
//! constant time, before the body is read), de-duplicated (Idempotency-Key,
//! X-Gitlab-Event-UUID, webhook-id), answered at once, and applied afterwards: the hub's cached
//! answers for that project become old and browsers hear.

use axum::extract::{Request, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde_json::json;
use stageboard_protocol::ErrorCode;

use crate::app::AppState;
use crate::error::AppError;
use crate::hub::hooks;

/// The largest delivery taken: a pipeline event with a few hundred jobs is well under it.
const BODY_LIMIT: usize = 2 << 20;

/// Takes a GitLab webhook delivery.
#[utoipa::path(post, path = "/hooks/gitlab", tag = "meta",
    request_body(content = Object, content_type = "application/json",
        description = "A GitLab Pipeline, Job or Deployment event, as GitLab sends it (object_kind says which)"),
    responses((status = 202, description = "accepted; applied asynchronously"),
              (status = 200, description = "a repeat, or a project this stageboard does not watch: nothing to do"),
              (status = 401, body = stageboard_protocol::ErrorBody, description = "missing or wrong X-Gitlab-Token"),
              (status = 400, body = stageboard_protocol::ErrorBody, description = "not a Pipeline, Job or Deployment event"),
              (status = 404, body = stageboard_protocol::ErrorBody, description = "webhooks are not configured"),
              (status = 413, body = stageboard_protocol::ErrorBody, description = "a body over 2 MB")))]
pub async fn receive(State(state): State<AppState>, request: Request) -> Response {
    let (parts, body) = request.into_parts();
    let headers = parts.headers;
    let metrics = state.hub().metrics().clone();
    let Some(webhooks) = state.webhooks() else {
        metrics.webhook("rejected");
        return AppError::not_found(
            "Webhooks are not configured here: set STAGEBOARD_WEBHOOK_SECRET and give GitLab the same secret token.",
        )
        .into_response();
    };
    let refuse = |message: String| {
        metrics.webhook("rejected");
        webhooks.log_refusal(&message);
        AppError::new(StatusCode::UNAUTHORIZED, ErrorCode::Unauthorized, message).into_response()
    };
    if let Some(secret) = &webhooks.secret {
        let token = headers.get("x-gitlab-token").map(|v| v.as_bytes());
        if !hooks::token_matches(token, secret) {
            return refuse(
                "X-Gitlab-Token is missing or wrong: give GitLab's webhook the secret token set in STAGEBOARD_WEBHOOK_SECRET."
                    .into(),
            );
        }
    }
    // Read only once the secret matched: nobody else makes the server hold a body.
    let Ok(body) = axum::body::to_bytes(body, BODY_LIMIT).await else {
        metrics.webhook("rejected");
        return AppError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            ErrorCode::BadRequest,
            "A webhook delivery is at most 2 MB.",
        )
        .into_response();
    };
    if let Some(signing) = &webhooks.signing {
        let header = |name: &str| headers.get(name).and_then(|v| v.to_str().ok());
        let checked = hooks::verify_signature(
            signing,
            header("webhook-id"),
            header("webhook-timestamp"),
            header("webhook-signature"),
            &body,
            chrono::Utc::now().timestamp(),
        );
        if let Err(why) = checked {
            return refuse(format!("The webhook signature was refused: {why}."));
        }
    }
    let event = headers
        .get("x-gitlab-event")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    let hook = match hooks::parse(event, &body) {
        Ok(hook) => hook,
        Err(message) => {
            metrics.webhook("rejected");
            return AppError::bad_request(message).into_response();
        }
    };
    // A retried or replayed delivery repeats its ids; each id is kept (at most 128 characters of
    // it), and any one seen before makes a repeat.
    let ids: Vec<String> = ["idempotency-key", "x-gitlab-event-uuid", "webhook-id"]
        .iter()
        .filter_map(|h| Some((h, headers.get(*h)?.to_str().ok()?)))
        .map(|(h, id)| format!("{h}:{}", id.chars().take(128).collect::<String>()))
        .collect();
    let fresh: Vec<bool> = ids.iter().map(|id| webhooks.first_delivery(id)).collect();
    if fresh.contains(&false) {
        metrics.webhook("duplicate");
        return (
            StatusCode::OK,
            axum::Json(json!({ "applied": false, "reason": "already received" })),
        )
            .into_response();
    }
    if !state.hub().is_watched(hook.project) {
        metrics.webhook("ignored");
        return (
            StatusCode::OK,
            axum::Json(json!({ "applied": false, "reason": "project not watched" })),
        )
            .into_response();
    }
    metrics.webhook("applied");
    let hub = state.hub().clone();
    tokio::spawn(async move {
        hub.changed(hook.project, hook.pipeline);
    });
    (StatusCode::ACCEPTED, axum::Json(json!({ "applied": true }))).into_response()
}
