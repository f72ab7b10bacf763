use axum::Json;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde_json::json;

/// An error exactly as GitLab's API writes it: parameter validation uses `error`, helpers use
/// `message` (see CONTRACT.md §3 "Error bodies").
#[derive(Debug)]
pub enum GitlabError {
    /// 400 `{"error":"<param> is invalid"}` and friends, from parameter validation.
    Param(String),
    /// 400 `{"message":"400 Bad request - <reason>"}`.
    BadRequest(String),
    /// 400 `{"message":"<text>"}`: a service's refusal (`render_api_error!`).
    Refused(&'static str),
    /// 400 `{"message":["<text>", ...]}`: a record that failed validation.
    Invalid(Vec<String>),
    /// 400 `{"message":{"<attribute>":["<text>", ...], ...}}`: a model that failed validation,
    /// as `render_validation_error!` writes its `errors.messages`.
    Fields(Vec<(&'static str, &'static str)>),
    Unauthorized,
    /// 403 `{"message":"403 Forbidden - <reason>"}`.
    Forbidden(String),
    /// 403 `{"message":"403 Forbidden"}`: the user's role does not allow it.
    Denied,
    /// 403 for an OAuth token without the scope the request needs.
    InsufficientScope(&'static str),
    /// 401 for an OAuth token that has expired or was revoked, with Doorkeeper's words.
    InvalidToken(&'static str),
    /// 404 `{"message":"404 <What> Not Found"}` (projects, groups).
    NotFoundNamed(&'static str),
    /// 404 `{"message":"404 Not found"}`, an ActiveRecord miss (e.g. a job id).
    RecordNotFound,
    /// 404 `{"error":"404 Not Found"}` for a route GitLab does not have.
    NoRoute,
}

impl IntoResponse for GitlabError {
    fn into_response(self) -> Response {
        let (status, body) = match self {
            GitlabError::Param(message) => (StatusCode::BAD_REQUEST, json!({ "error": message })),
            GitlabError::BadRequest(reason) => (
                StatusCode::BAD_REQUEST,
                json!({ "message": format!("400 Bad request - {reason}") }),
            ),
            GitlabError::Refused(text) => (StatusCode::BAD_REQUEST, json!({ "message": text })),
            GitlabError::Invalid(errors) => (StatusCode::BAD_REQUEST, json!({ "message": errors })),
            GitlabError::Fields(errors) => {
                let mut fields = serde_json::Map::new();
                for (attribute, text) in errors {
                    if let serde_json::Value::Array(texts) = fields.entry(attribute).or_insert_with(|| json!([])) {
                        texts.push(text.into());
                    }
                }
                (StatusCode::BAD_REQUEST, json!({ "message": fields }))
            }
            GitlabError::Unauthorized => (StatusCode::UNAUTHORIZED, json!({ "message": "401 Unauthorized" })),
            GitlabError::Forbidden(reason) => (
                StatusCode::FORBIDDEN,
                json!({ "message": format!("403 Forbidden - {reason}") }),
            ),
            GitlabError::Denied => (StatusCode::FORBIDDEN, json!({ "message": "403 Forbidden" })),
            GitlabError::InsufficientScope(scope) => {
                let mut response = (
                    StatusCode::FORBIDDEN,
                    Json(json!({
                        "error": "insufficient_scope",
                        "error_description": "The request requires higher privileges than provided by the access token.",
                        "scope": scope,
                    })),
                )
                    .into_response();
                let challenge = format!(
                    "Bearer realm=\"Protected by OAuth 2.0\", error=\"insufficient_scope\", error_description=\"The request requires higher privileges than provided by the access token.\", scope=\"{scope}\""
                );
                if let Ok(value) = challenge.parse() {
                    response
                        .headers_mut()
                        .insert(axum::http::header::WWW_AUTHENTICATE, value);
                }
                return response;
            }
            GitlabError::InvalidToken(description) => {
                let mut response = (
                    StatusCode::UNAUTHORIZED,
                    Json(json!({ "error": "invalid_token", "error_description": description })),
                )
                    .into_response();
                let challenge = format!(
                    "Bearer realm=\"Protected by OAuth 2.0\", error=\"invalid_token\", error_description=\"{description}\""
                );
                if let Ok(value) = challenge.parse() {
                    response
                        .headers_mut()
                        .insert(axum::http::header::WWW_AUTHENTICATE, value);
                }
                return response;
            }
            GitlabError::NotFoundNamed(what) => (
                StatusCode::NOT_FOUND,
                json!({ "message": format!("404 {what} Not Found") }),
            ),
            GitlabError::RecordNotFound => (StatusCode::NOT_FOUND, json!({ "message": "404 Not found" })),
            GitlabError::NoRoute => (StatusCode::NOT_FOUND, json!({ "error": "404 Not Found" })),
        };
        (status, Json(body)).into_response()
    }
}
