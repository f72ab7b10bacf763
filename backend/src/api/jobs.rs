use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use stageboard_protocol::{ActionOutcome, ErrorBody, ErrorCode, Job, JobLog, PlayRequest};

use super::extract::{OptionalJson, Path, Query};
use super::wire;
use crate::app::AppState;
use crate::audit::{Actor, Attempt};
use crate::error::{AppError, AppResult};
use crate::gitlab::types::GlJob;

/// What an action left a job as: "Job deploy_live #42 is pending."
fn job_now(job: GlJob) -> ActionOutcome {
    ActionOutcome {
        message: format!("Job {} #{} is {}.", job.name, job.id, job.status.label()),
        job: Some(to_wire(job)),
        pipeline: None,
    }
}

fn to_wire(job: GlJob) -> Job {
    let pipeline_id = job.pipeline.as_ref().map(|p| p.id).unwrap_or_default();
    wire::job(job, pipeline_id, false, Vec::new())
}

/// One job.
#[utoipa::path(get, path = "/api/v1/projects/{project_id}/jobs/{job_id}", tag = "jobs",
    params(("project_id" = u64, Path), ("job_id" = u64, Path)),
    responses((status = 200, body = Job), (status = 400, body = ErrorBody), (status = 404, body = ErrorBody), (status = 502, body = ErrorBody)))]
pub async fn show(
    State(state): State<AppState>,
    reader: crate::access::Reader,
    session: tower_sessions::Session,
    Path((project, job)): Path<(u64, u64)>,
) -> AppResult<Json<Job>> {
    state.ensure_readable(&reader, project).await?;
    let job = state.gitlab().job(project, job).await?;
    let on_branch = match &job.git_ref {
        Some(git_ref) => super::refusals::acting(&state, &session, project, git_ref, job.tag.unwrap_or(false)).await,
        None => None,
    };
    // Where it deploys: for a manual job's confirmation, and for whether a protected branch's
    // refusal holds (deployment-only access).
    let manual_in = (job.status == stageboard_protocol::Status::Manual || on_branch.is_some())
        .then(|| job.pipeline.as_ref().and_then(|p| p.iid))
        .flatten();
    let mut wire = to_wire(job);
    if let Some(iid) = manual_in
        && let Ok(info) = state.gitlab().project(&project.to_string()).await
    {
        let mut environments =
            super::job_environments::of_pipeline(&state, project, &info.path_with_namespace, iid).await;
        wire.environment = environments.remove(&wire.id);
        let deploys = wire.environment.as_mut().into_iter().collect();
        super::refusals::deploys(&state, &session, project, deploys).await;
    }
    if on_branch.is_some() {
        let protected = super::refusals::protected_environments(&state, project).await;
        wire.refused = super::refusals::job(wire.environment.as_ref(), on_branch.as_ref(), protected.as_deref());
    }
    Ok(Json(wire))
}

#[derive(Debug, serde::Deserialize, utoipa::IntoParams)]
pub struct LogQuery {
    /// Byte offset to read from: the `next_offset` of the previous answer, 0 for the whole log.
    offset: Option<u64>,
}

/// The most of a log one answer carries (escaped as JSON, up to six times as much).
const LOG_PAGE: usize = 2 << 20;

/// The job's log from `offset`: the whole log, not only GitLab's last 500 KB, 2 MB per answer
/// (`more` says to ask again from `next_offset`).
#[utoipa::path(get, path = "/api/v1/projects/{project_id}/jobs/{job_id}/log", tag = "jobs",
    params(("project_id" = u64, Path), ("job_id" = u64, Path), LogQuery),
    responses((status = 200, body = JobLog), (status = 400, body = ErrorBody), (status = 404, body = ErrorBody), (status = 416, body = ErrorBody, description = "offset past the end of the log")))]
pub async fn log(
    State(state): State<AppState>,
    reader: crate::access::Reader,
    Path((project, job_id)): Path<(u64, u64)>,
    Query(query): Query<LogQuery>,
) -> AppResult<Json<JobLog>> {
    state.ensure_readable(&reader, project).await?;
    // The job first: if it says finished, the trace read after it is complete.
    let job = state.gitlab().job(project, job_id).await?;
    let trace = state.gitlab().trace(project, job_id).await?;
    let offset = query.offset.unwrap_or(0);
    let size = trace.len() as u64;
    if offset > size {
        return Err(AppError::new(
            StatusCode::RANGE_NOT_SATISFIABLE,
            ErrorCode::OffsetOutOfRange,
            format!(
                "offset {offset} is past the end of job {job_id}'s log, which is {size} bytes long. Read from offset 0 to start over."
            ),
        ));
    }
    // At most LOG_PAGE bytes, ending on a whole character: the client asks again for `more`.
    let start = offset as usize;
    let mut end = trace.len().min(start + LOG_PAGE);
    while end > start && end < trace.len() && (trace[end] & 0xC0) == 0x80 {
        end -= 1;
    }
    let more = end < trace.len();
    let content = String::from_utf8_lossy(&trace[start..end]).into_owned();
    Ok(Json(JobLog {
        job_id,
        offset,
        next_offset: end as u64,
        content,
        complete: job.status.is_completed() && !more,
        more,
        status: job.status,
    }))
}

/// Retries a job: GitLab makes a new job with a new id.
#[utoipa::path(post, path = "/api/v1/projects/{project_id}/jobs/{job_id}/retry", tag = "actions",
    params(("project_id" = u64, Path), ("job_id" = u64, Path)),
    responses((status = 200, body = ActionOutcome), (status = 403, body = ErrorBody, description = "not allowed, or GitLab: Job is not retryable"), (status = 404, body = ErrorBody)))]
pub async fn retry(
    State(state): State<AppState>,
    actor: Actor,
    Path((project, job_id)): Path<(u64, u64)>,
) -> AppResult<Json<ActionOutcome>> {
    let acting = state.ensure_may_act(&actor, project).await?;
    let attempt = Attempt::on_job("retry_job", project, job_id);
    let job = state
        .audited(&actor, attempt, async move { acting.retry_job(project, job_id).await })
        .await?;
    Ok(Json(ActionOutcome {
        message: format!("Job {} is retrying as job #{}.", job.name, job.id),
        job: Some(to_wire(job)),
        pipeline: None,
    }))
}

/// Cancels a job.
#[utoipa::path(post, path = "/api/v1/projects/{project_id}/jobs/{job_id}/cancel", tag = "actions",
    params(("project_id" = u64, Path), ("job_id" = u64, Path)),
    responses((status = 200, body = ActionOutcome), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn cancel(
    State(state): State<AppState>,
    actor: Actor,
    Path((project, job_id)): Path<(u64, u64)>,
) -> AppResult<Json<ActionOutcome>> {
    let acting = state.ensure_may_act(&actor, project).await?;
    let attempt = Attempt::on_job("cancel_job", project, job_id);
    let job = state
        .audited(&actor, attempt, async move { acting.cancel_job(project, job_id).await })
        .await?;
    Ok(Json(job_now(job)))
}

/// Runs a manual job, optionally with variables.
#[utoipa::path(post, path = "/api/v1/projects/{project_id}/jobs/{job_id}/play", tag = "actions",
    params(("project_id" = u64, Path), ("job_id" = u64, Path)),
    request_body(content = Option<PlayRequest>, description = "Variables for the job; the body may be empty"),
    responses((status = 200, body = ActionOutcome), (status = 400, body = ErrorBody, description = "bad body, or GitLab: Unplayable Job"), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn play(
    State(state): State<AppState>,
    actor: Actor,
    Path((project, job_id)): Path<(u64, u64)>,
    OptionalJson(request): OptionalJson<PlayRequest>,
) -> AppResult<Json<ActionOutcome>> {
    let acting = state.ensure_actions_allowed(&actor)?;
    if let Some(bad) = request.variables.iter().find(|v| v.key.trim().is_empty()) {
        return Err(AppError::bad_request(format!(
            "A variable has an empty name (value `{}`); give every variable a name.",
            bad.value
        )));
    }
    state.ensure_watched(project).await?;
    let variables: Vec<(String, String)> = request.variables.into_iter().map(|v| (v.key, v.value)).collect();
    let attempt = Attempt::on_job("play_job", project, job_id);
    let job = state
        .audited(&actor, attempt, async move {
            acting.play_job(project, job_id, &variables).await
        })
        .await
        .map_err(|e| {
            // GitLab's bare "Unplayable Job": say what it usually means.
            if e.message().contains("Unplayable Job") {
                let message = format!(
                    "{} The job is not waiting to be run: it ran already, or its deployment still waits for approval (see its environment).",
                    e.message()
                );
                e.with_message(message)
            } else {
                e
            }
        })?;
    Ok(Json(job_now(job)))
}

/// The whole log as GitLab stores it, escape codes and all, as a file download.
#[utoipa::path(get, path = "/api/v1/projects/{project_id}/jobs/{job_id}/raw", tag = "jobs",
    params(("project_id" = u64, Path), ("job_id" = u64, Path)),
    responses((status = 200, content_type = "text/plain", description = "the raw log"), (status = 404, body = ErrorBody)))]
pub async fn raw(
    State(state): State<AppState>,
    reader: crate::access::Reader,
    Path((project, job_id)): Path<(u64, u64)>,
) -> AppResult<axum::response::Response> {
    use axum::response::IntoResponse;
    state.ensure_readable(&reader, project).await?;
    let trace = state.gitlab().trace(project, job_id).await?;
    Ok((
        [
            (axum::http::header::CONTENT_TYPE, "text/plain; charset=utf-8".to_owned()),
            (
                axum::http::header::CONTENT_DISPOSITION,
                format!("attachment; filename=\"job-{job_id}.log\""),
            ),
            (axum::http::header::X_CONTENT_TYPE_OPTIONS, "nosniff".to_owned()),
        ],
        trace,
    )
        .into_response())
}
