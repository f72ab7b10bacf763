//! The audit log: who tried which action, where, and what GitLab answered.

use axum::Json;
use axum::extract::State;
use stageboard_protocol::{AuditOutcome, AuditPage, ErrorBody};

use super::extract::Query;
use crate::app::AppState;
use crate::error::{AppError, AppResult};

/// The filters; one left empty (`project=`, a form's "any") is no filter.
#[derive(Debug, serde::Deserialize, utoipa::IntoParams)]
pub struct AuditQuery {
    /// Only this project's entries.
    #[serde(default, deserialize_with = "empty_as_none")]
    project: Option<u64>,
    /// Only this person's (GitLab username).
    #[serde(default, deserialize_with = "empty_as_none")]
    person: Option<String>,
    /// Only this action (`play_job`, `retry_job`, …).
    #[serde(default, deserialize_with = "empty_as_none")]
    action: Option<String>,
    /// Only entries that ended so: pending, done, refused or failed.
    #[serde(default, deserialize_with = "empty_as_none")]
    outcome: Option<String>,
    /// Entries older than this id (the previous page's `next_before`).
    #[serde(default, deserialize_with = "empty_as_none")]
    before: Option<i64>,
    /// Entries per page: 1 to 200, 50 by default.
    #[serde(default, deserialize_with = "empty_as_none")]
    limit: Option<u32>,
}

fn empty_as_none<'de, D, T>(deserializer: D) -> Result<Option<T>, D::Error>
where
    D: serde::Deserializer<'de>,
    T: std::str::FromStr,
    T::Err: std::fmt::Display,
{
    let value: Option<String> = serde::Deserialize::deserialize(deserializer)?;
    match value.as_deref().map(str::trim) {
        None | Some("") => Ok(None),
        Some(v) => v.parse().map(Some).map_err(serde::de::Error::custom),
    }
}

/// Action attempts, newest first, of the projects the reader can read. Where people sign in,
/// only a signed-in person reads it (it names people and their addresses).
#[utoipa::path(get, path = "/api/v1/audit", tag = "audit", params(AuditQuery),
    responses((status = 200, body = AuditPage), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody)))]
pub async fn list(
    State(state): State<AppState>,
    session: tower_sessions::Session,
    reader: crate::access::Reader,
    Query(query): Query<AuditQuery>,
) -> AppResult<Json<AuditPage>> {
    if state.auth().is_some() && !state.is_demo() && crate::auth::signed_in(&state, &session).await.is_none() {
        return Err(AppError::new(
            axum::http::StatusCode::UNAUTHORIZED,
            stageboard_protocol::ErrorCode::Unauthorized,
            "Sign in with GitLab to read the audit log: it names people and where they acted from.",
        ));
    }
    let outcome = query
        .outcome
        .as_deref()
        .map(|o| {
            AuditOutcome::parse(o).ok_or_else(|| {
                AppError::bad_request(format!(
                    "outcome `{}` is not one of pending, done, refused, failed.",
                    crate::error::Shortened(o)
                ))
            })
        })
        .transpose()?;
    let limit = query.limit.unwrap_or(50);
    if !(1..=200).contains(&limit) {
        return Err(AppError::bad_request("limit is from 1 to 200."));
    }
    let projects: Vec<_> = state
        .readable_projects(&reader)
        .await?
        .into_iter()
        .map(super::wire::project)
        .collect();
    let readable = projects.iter().map(|p| p.id).collect();
    let mut entries = state
        .store()
        .audit(&crate::store::AuditFilter {
            projects: Some(readable),
            project: query.project,
            person: query.person,
            action: query.action,
            outcome,
            before: query.before,
            limit: limit + 1,
        })
        .await
        .map_err(|e| {
            tracing::error!(error = %e, "the audit log cannot be read");
            AppError::new(
                axum::http::StatusCode::SERVICE_UNAVAILABLE,
                stageboard_protocol::ErrorCode::Busy,
                "The audit log cannot be read just now; try again shortly.",
            )
        })?;
    let more = entries.len() > limit as usize;
    entries.truncate(limit as usize);
    let next_before = more.then(|| entries.last().map(|e| e.id)).flatten();
    Ok(Json(AuditPage {
        entries,
        next_before,
        projects,
    }))
}
