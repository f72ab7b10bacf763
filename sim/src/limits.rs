//! What stands between a client and the API: authentication, GitLab's rate limiter and its
//! headers, and faults injected by tests.

use std::time::{SystemTime, UNIX_EPOCH};

use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use crate::Sim;
use crate::rest::error::GitlabError;
use crate::users::Caller;

/// Requests counted in the current one-minute window, as rack-attack's throttles do.
#[derive(Debug, Default)]
pub struct RateWindow {
    window_start: u64,
    count: u32,
}

/// Ways to make the simulated GitLab misbehave, for tests of stageboard's resilience.
#[derive(Debug, Clone, Default, serde::Deserialize, serde::Serialize)]
#[serde(default)]
pub struct Faults {
    /// Wait this long before answering.
    pub delay_ms: u64,
    /// Answer every API request with this status (500, 502, 503).
    pub status: Option<u16>,
    /// Cut JSON bodies in half.
    pub truncate: bool,
    /// Answer GraphQL with 404, as an instance without the endpoint would.
    pub no_graphql: bool,
    /// Answer the pipeline bridges endpoint with GitLab's 404 for an unknown route, as an
    /// older instance would.
    pub no_bridges: bool,
    /// Give every environment a `javascript:` external URL, as a hostile `.gitlab-ci.yml`
    /// could (`environment: url:` is the project's to write).
    pub hostile_urls: bool,
}

/// The external URL [`Faults::hostile_urls`] puts on every environment.
pub const HOSTILE_URL: &str = "javascript:alert(document.domain)";

fn make_urls_hostile(value: &mut serde_json::Value) {
    match value {
        serde_json::Value::Object(fields) => {
            for (key, field) in fields.iter_mut() {
                if key == "external_url" && field.is_string() {
                    *field = HOSTILE_URL.into();
                } else {
                    make_urls_hostile(field);
                }
            }
        }
        serde_json::Value::Array(items) => items.iter_mut().for_each(make_urls_hostile),
        _ => {}
    }
}

/// Who is asking: the configured token (an administrator's), or a person's OAuth token.
fn caller(sim: &Sim, request: &Request) -> Result<Caller, GitlabError> {
    let token = &sim.config().token;
    let headers = request.headers();
    let private = headers.get("private-token").and_then(|v| v.to_str().ok());
    let bearer = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "));
    if private == Some(token) || bearer == Some(token) {
        return Ok(Caller::Token);
    }
    bearer
        .and_then(|b| crate::oauth::caller(sim, b))
        .unwrap_or(Err(GitlabError::Unauthorized))
}

fn authorized(sim: &Sim, request: &Request) -> bool {
    matches!(caller(sim, request), Ok(Caller::Token))
}

/// What a person's token may do here: its scopes allow the request, and a project in the
/// path is one they are a member of (any other does not exist for them, as in GitLab).
fn allowed(sim: &Sim, caller: &Caller, request: &Request) -> Result<(), GitlabError> {
    let Caller::Person { scopes, .. } = caller else {
        return Ok(());
    };
    let path = request.uri().path();
    let has = |scope: &str| scopes.iter().any(|s| s == scope);
    // GraphQL queries are reads (stageboard sends no mutations).
    let reads = request.method() == axum::http::Method::GET
        || request.method() == axum::http::Method::HEAD
        || path == "/api/graphql";
    let scoped = has("api") || (reads && has("read_api")) || (reads && path == "/api/v4/user" && has("read_user"));
    if !scoped {
        return Err(GitlabError::InsufficientScope(if reads {
            "api read_api"
        } else {
            "api"
        }));
    }
    if let Some(id) = path
        .strip_prefix("/api/v4/projects/")
        .map(|rest| rest.split('/').next().unwrap_or_default())
    {
        let id = percent_encoding::percent_decode_str(id).decode_utf8_lossy();
        if let Ok(project) = crate::rest::find_project(sim, &id)
            && caller.role(&project).is_none()
        {
            return Err(GitlabError::NotFoundNamed("Project"));
        }
    }
    Ok(())
}

/// GitLab's 401 without a token it knows, its OAuth 401s for an expired or revoked one, and
/// its 403 and 404 for what the person may not do or see; the caller is passed on to the
/// handlers, which act in the person's name.
pub async fn authenticate(State(sim): State<Sim>, mut request: Request, next: Next) -> Response {
    let caller = match caller(&sim, &request).and_then(|c| allowed(&sim, &c, &request).map(|()| c)) {
        Ok(caller) => caller,
        Err(refused) => return refused.into_response(),
    };
    request.extensions_mut().insert(caller);
    next.run(request).await
}

/// The Kubernetes API server's 401: a `Status` object, as kube-rs expects it.
pub async fn authenticate_kube(State(sim): State<Sim>, request: Request, next: Next) -> Response {
    if authorized(&sim, &request) {
        next.run(request).await
    } else {
        crate::cluster::api::status(axum::http::StatusCode::UNAUTHORIZED, "Unauthorized", "Unauthorized")
    }
}

pub async fn rate_limit(State(sim): State<Sim>, request: Request, next: Next) -> Response {
    let limit = sim.config().rate_limit_per_minute;
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default()
        .as_secs();
    let (observed, reset) = {
        let mut window = sim.0.limiter.lock().expect("limiter lock");
        let start = now - now % 60;
        if window.window_start != start {
            *window = RateWindow {
                window_start: start,
                count: 0,
            };
        }
        window.count += 1;
        (window.count, start + 60)
    };
    let mut response = if observed > limit {
        let retry_after = reset.saturating_sub(now).max(1);
        let reset_time = httpdate::fmt_http_date(UNIX_EPOCH + std::time::Duration::from_secs(reset));
        let mut response = (
            StatusCode::TOO_MANY_REQUESTS,
            [(header::CONTENT_TYPE, "text/plain")],
            "Retry later\n",
        )
            .into_response();
        let headers = response.headers_mut();
        insert(headers, "retry-after", retry_after.to_string());
        insert(headers, "ratelimit-resettime", reset_time);
        response
    } else {
        next.run(request).await
    };
    let headers = response.headers_mut();
    insert(headers, "ratelimit-name", "throttle_authenticated_api".into());
    insert(headers, "ratelimit-limit", limit.to_string());
    insert(headers, "ratelimit-observed", observed.to_string());
    insert(
        headers,
        "ratelimit-remaining",
        limit.saturating_sub(observed).to_string(),
    );
    insert(headers, "ratelimit-reset", reset.to_string());
    response
}

fn insert(headers: &mut HeaderMap, name: &'static str, value: String) {
    headers.insert(name, HeaderValue::from_str(&value).expect("header value"));
}

pub async fn inject_faults(State(sim): State<Sim>, request: Request, next: Next) -> Response {
    sim.0.requests.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let faults = sim.faults();
    if faults.delay_ms > 0 {
        tokio::time::sleep(std::time::Duration::from_millis(faults.delay_ms)).await;
    }
    if let Some(status) = faults.status {
        let status = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        let body = if status == StatusCode::INTERNAL_SERVER_ERROR {
            (
                status,
                axum::Json(serde_json::json!({ "message": "500 Internal Server Error" })),
            )
                .into_response()
        } else {
            // What a proxy in front of GitLab answers when GitLab itself is down.
            let html = format!("<html><body><h1>{status}</h1></body></html>");
            (status, [(header::CONTENT_TYPE, "text/html")], html).into_response()
        };
        return body;
    }
    let path = request.uri().path();
    if (faults.no_graphql && path == "/api/graphql") || (faults.no_bridges && path.ends_with("/bridges")) {
        return GitlabError::NoRoute.into_response();
    }
    let hostile = faults.hostile_urls && path.contains("/environments");
    let response = next.run(request).await;
    if hostile {
        let (parts, body) = response.into_parts();
        let bytes = axum::body::to_bytes(body, usize::MAX).await.unwrap_or_default();
        let Ok(mut json) = serde_json::from_slice::<serde_json::Value>(&bytes) else {
            return Response::from_parts(parts, Body::from(bytes));
        };
        make_urls_hostile(&mut json);
        let mut response = Response::from_parts(parts, Body::from(json.to_string()));
        response.headers_mut().remove(header::CONTENT_LENGTH);
        return response;
    }
    if !faults.truncate {
        return response;
    }
    let (parts, body) = response.into_parts();
    let bytes = axum::body::to_bytes(body, usize::MAX).await.unwrap_or_default();
    let cut = bytes.slice(..bytes.len() / 2);
    let mut response = Response::from_parts(parts, Body::from(cut));
    response.headers_mut().remove(header::CONTENT_LENGTH);
    response
}
