//! Pipelines: the list with its filters, one pipeline, the latest, retry and cancel.

use super::*;

pub(super) const PIPELINE_STATUSES: [&str; 13] = [
    "created",
    "waiting_for_resource",
    "preparing",
    "waiting_for_callback",
    "pending",
    "running",
    "success",
    "failed",
    "canceling",
    "canceled",
    "skipped",
    "manual",
    "scheduled",
];

pub(super) const SOURCES: [&str; 18] = [
    "push",
    "web",
    "trigger",
    "schedule",
    "api",
    "external",
    "pipeline",
    "chat",
    "webide",
    "merge_request_event",
    "external_pull_request_event",
    "parent_pipeline",
    "ondemand_dast_scan",
    "ondemand_dast_validation",
    "security_orchestration_policy",
    "container_registry_push",
    "duo_workflow",
    "pipeline_execution_policy_schedule",
];

/// `:id` is a numeric id or a URL-encoded full path (`platform%2Fpayments-api`).
pub(super) async fn list_pipelines(
    State(sim): State<Sim>,
    Path(id): Path<String>,
    OriginalUri(uri): OriginalUri,
) -> Result<Response, GitlabError> {
    let project = &find_project(&sim, &id)?;
    let params = Params::parse(uri.query());
    let scope = params.choice("scope", &["running", "pending", "finished", "branches", "tags"])?;
    let status = params.choice("status", &PIPELINE_STATUSES)?;
    let source = params.choice("source", &SOURCES)?;
    let order_by = params
        .choice("order_by", &["id", "status", "ref", "updated_at", "user_id"])?
        .unwrap_or("id");
    let sort = params.choice("sort", &["asc", "desc"])?.unwrap_or("desc");
    let git_ref = params.get("ref");
    let sha = params.get("sha");
    let username = params.get("username");
    let updated_after = params.time("updated_after")?;
    let updated_before = params.time("updated_before")?;
    let created_after = params.time("created_after")?;
    let created_before = params.time("created_before")?;
    let url = url_of(&sim, &uri);
    sim.read(|ctx| {
        let mut pipelines: Vec<_> = ctx
            .world
            .pipelines
            .values()
            .filter(|p| p.project_id == project.id)
            // Child pipelines are listed only when asked for by source (GitLab 17.0+).
            .filter(|p| match source {
                Some(s) => p.source == s,
                None => p.parent.is_none(),
            })
            .filter(|p| status.is_none_or(|s| p.status.as_str() == s))
            .filter(|p| git_ref.is_none_or(|r| p.git_ref == r))
            .filter(|p| sha.is_none_or(|s| p.commit.sha == s))
            .filter(|p| username.is_none_or(|u| p.user.username == u))
            .filter(|p| updated_after.is_none_or(|t| p.updated_at > t))
            .filter(|p| updated_before.is_none_or(|t| p.updated_at < t))
            .filter(|p| created_after.is_none_or(|t| p.created_at > t))
            .filter(|p| created_before.is_none_or(|t| p.created_at < t))
            .filter(|p| match scope {
                Some("running") => p.status == JobStatus::Running,
                Some("pending") => p.status == JobStatus::Pending,
                Some("finished") => p.status.is_completed(),
                // A merge request's ref is no branch.
                Some("branches") => !p.tag && !p.git_ref.starts_with("refs/merge-requests/"),
                Some("tags") => p.tag,
                _ => true,
            })
            .collect();
        if matches!(scope, Some("branches") | Some("tags")) {
            // The latest pipeline of each branch or tag.
            let mut seen = std::collections::HashSet::new();
            pipelines.sort_by_key(|p| std::cmp::Reverse(p.id));
            pipelines.retain(|p| seen.insert(p.git_ref.clone()));
        }
        match order_by {
            "status" => pipelines.sort_by_key(|p| (p.status.as_str(), p.id)),
            "ref" => pipelines.sort_by(|a, b| (&a.git_ref, a.id).cmp(&(&b.git_ref, b.id))),
            "updated_at" => pipelines.sort_by_key(|p| (p.updated_at, p.id)),
            "user_id" => pipelines.sort_by_key(|p| (p.user.id, p.id)),
            _ => pipelines.sort_by_key(|p| p.id),
        }
        if sort == "desc" {
            pipelines.reverse();
        }
        let page = paginate(pipelines, &params, &url, Counting::Counted)?;
        let items = page.items.iter().map(|p| ctx.pipeline_listed(p)).collect();
        Ok(json_page(items, page.headers))
    })
}

pub(super) fn find_pipeline<'w>(
    world: &'w World,
    project: &ProjectDef,
    raw: &str,
) -> Result<&'w crate::world::Pipeline, GitlabError> {
    let id = record_id(raw)?;
    world
        .pipelines
        .get(&id)
        .filter(|p| p.project_id == project.id)
        .ok_or(GitlabError::RecordNotFound)
}

pub(super) async fn show_pipeline(
    State(sim): State<Sim>,
    Path((id, pipeline_id)): Path<(String, String)>,
) -> Result<Response, GitlabError> {
    let project = &find_project(&sim, &id)?;
    sim.read(|ctx| {
        let pipeline = find_pipeline(ctx.world, project, &pipeline_id)?;
        Ok(axum::Json(ctx.pipeline(pipeline)).into_response())
    })
}

pub(super) async fn latest_pipeline(
    State(sim): State<Sim>,
    Path(id): Path<String>,
    OriginalUri(uri): OriginalUri,
) -> Result<Response, GitlabError> {
    let project = &find_project(&sim, &id)?;
    let params = Params::parse(uri.query());
    let git_ref = params.get("ref").unwrap_or("main").to_owned();
    sim.read(|ctx| {
        let pipeline = ctx
            .world
            .latest_pipeline(project.id, &git_ref)
            .ok_or(GitlabError::RecordNotFound)?;
        Ok(axum::Json(ctx.pipeline(pipeline)).into_response())
    })
}

pub(super) async fn retry_pipeline(
    State(sim): State<Sim>,
    Extension(caller): Extension<Caller>,
    Path((id, pipeline_id)): Path<(String, String)>,
) -> Result<Response, GitlabError> {
    let project = &find_project(&sim, &id)?;
    caller.require(project, Role::Developer)?;
    let pipeline = sim.write(|world, now| {
        let found = find_pipeline(world, project, &pipeline_id)?;
        caller.require_ref(project, &found.git_ref, found.tag, None)?;
        let pipeline = found.id;
        world.retry_pipeline(pipeline, caller.person(), now);
        Ok(pipeline)
    })?;
    sim.read(|ctx| {
        Ok((
            StatusCode::CREATED,
            axum::Json(ctx.pipeline(&ctx.world.pipelines[&pipeline])),
        )
            .into_response())
    })
}

pub(super) async fn cancel_pipeline(
    State(sim): State<Sim>,
    Extension(caller): Extension<Caller>,
    Path((id, pipeline_id)): Path<(String, String)>,
) -> Result<Response, GitlabError> {
    let project = &find_project(&sim, &id)?;
    caller.require(project, Role::Developer)?;
    let pipeline = sim.write(|world, now| {
        let found = find_pipeline(world, project, &pipeline_id)?;
        caller.require_ref(project, &found.git_ref, found.tag, None)?;
        let pipeline = found.id;
        world.cancel_pipeline(pipeline, now);
        Ok(pipeline)
    })?;
    sim.read(|ctx| Ok(axum::Json(ctx.pipeline(&ctx.world.pipelines[&pipeline])).into_response()))
}
