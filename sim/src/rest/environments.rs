//! Environments and deployments: the lists, one of each, and stopping an environment.

use super::*;

pub(super) fn find_environment<'w>(
    world: &'w World,
    project: &ProjectDef,
    raw: &str,
) -> Result<&'w crate::environments::Environment, GitlabError> {
    let id = record_id(raw)?;
    world
        .environments
        .get(&id)
        .filter(|e| e.project_id == project.id)
        .ok_or(GitlabError::RecordNotFound)
}

pub(super) async fn list_environments(
    State(sim): State<Sim>,
    Path(id): Path<String>,
    OriginalUri(uri): OriginalUri,
) -> Result<Response, GitlabError> {
    let project = &find_project(&sim, &id)?;
    let params = Params::parse(uri.query());
    let name = params.get("name");
    let search = params.get("search");
    if name.is_some() && search.is_some() {
        return Err(GitlabError::Param("name, search are mutually exclusive".into()));
    }
    if search.is_some_and(|s| s.chars().count() < 3) {
        return Err(GitlabError::BadRequest("Search query is less than 3 characters".into()));
    }
    let states = params.choice("states", &["available", "stopping", "stopped"])?;
    let url = url_of(&sim, &uri);
    sim.read(|ctx| {
        let envs: Vec<Value> = ctx
            .world
            .environments
            .values()
            .filter(|e| e.project_id == project.id)
            .filter(|e| name.is_none_or(|n| e.name == n))
            .filter(|e| search.is_none_or(|q| e.name.contains(q)))
            .filter(|e| states.is_none_or(|s| ctx.world.environment_state(e) == s))
            .map(|e| ctx.environment(e, false))
            .collect();
        let page = paginate(envs, &params, &url, Counting::Counted)?;
        Ok(json_page(page.items, page.headers))
    })
}

pub(super) async fn show_environment(
    State(sim): State<Sim>,
    Path((id, environment_id)): Path<(String, String)>,
) -> Result<Response, GitlabError> {
    let project = &find_project(&sim, &id)?;
    sim.read(|ctx| {
        let env = find_environment(ctx.world, project, &environment_id)?;
        Ok(axum::Json(ctx.environment(env, true)).into_response())
    })
}

/// `GET /projects/:id/protected_environments` (GitLab Premium): which environments only some
/// roles may deploy to. Maintainers only, as in GitLab (`authorize_admin_project`).
pub(super) async fn protected_environments(
    State(sim): State<Sim>,
    Extension(caller): Extension<Caller>,
    Path(id): Path<String>,
) -> Result<Response, GitlabError> {
    let project = &find_project(&sim, &id)?;
    caller.require(project, users::Role::Maintainer)?;
    sim.read(|ctx| {
        let mut names: Vec<&str> = ctx
            .world
            .environments
            .values()
            .filter(|e| e.project_id == project.id)
            .map(|e| e.name.as_str())
            .filter(|name| users::is_protected(name))
            .collect();
        names.sort_unstable();
        names.dedup();
        let protected: Vec<Value> = names
            .into_iter()
            .enumerate()
            .map(|(i, name)| {
                json!({
                    "name": name,
                    "deploy_access_levels": [entities::role_rule(900 + i as u64, users::deploy_role(name))],
                    "required_approval_count": 0,
                    "approval_rules": users::approval_rule(name)
                        .map(|(role, required)| vec![entities::approval_rule(role, required)])
                        .unwrap_or_default(),
                })
            })
            .collect();
        Ok(axum::Json(protected).into_response())
    })
}

pub(super) async fn stop_environment(
    State(sim): State<Sim>,
    Extension(caller): Extension<Caller>,
    Path((id, environment_id)): Path<(String, String)>,
    OriginalUri(uri): OriginalUri,
    body: Bytes,
) -> Result<Response, GitlabError> {
    let project = &find_project(&sim, &id)?;
    let params = Params::parse(uri.query());
    let body_force = serde_json::from_slice::<Value>(&body)
        .ok()
        .and_then(|v| v.get("force").and_then(Value::as_bool));
    let force = params.bool("force")?.or(body_force).unwrap_or(false);
    let env = sim.write(|world, now| {
        let env = find_environment(world, project, &environment_id)?;
        caller.require(project, users::deploy_role(&env.name))?;
        let env = env.id;
        world
            .stop_environment(env, force, caller.person(), now)
            .map_err(|_| GitlabError::RecordNotFound)?;
        Ok(env)
    })?;
    sim.read(|ctx| Ok(axum::Json(ctx.environment(&ctx.world.environments[&env], false)).into_response()))
}

pub(super) const DEPLOYMENT_STATUSES: [&str; 7] = [
    "created", "running", "success", "failed", "canceled", "skipped", "blocked",
];

pub(super) async fn list_deployments(
    State(sim): State<Sim>,
    Path(id): Path<String>,
    OriginalUri(uri): OriginalUri,
) -> Result<Response, GitlabError> {
    let project = &find_project(&sim, &id)?;
    let params = Params::parse(uri.query());
    let environment = params.get("environment");
    let status = params.choice("status", &DEPLOYMENT_STATUSES)?;
    let order_by = params
        .choice(
            "order_by",
            &["id", "iid", "created_at", "updated_at", "finished_at", "ref"],
        )?
        .unwrap_or("id");
    let sort = params.choice("sort", &["asc", "desc"])?.unwrap_or("asc");
    let updated_after = params.time("updated_after")?;
    let updated_before = params.time("updated_before")?;
    if (updated_after.is_some() || updated_before.is_some()) && order_by != "updated_at" {
        return Err(GitlabError::BadRequest(
            "`updated_at` filter and `updated_at` sort must be paired".into(),
        ));
    }
    if order_by == "finished_at" && status != Some("success") {
        return Err(GitlabError::BadRequest(
            "`finished_at` sort requires `status=success`".into(),
        ));
    }
    let url = url_of(&sim, &uri);
    sim.read(|ctx| {
        let w = ctx.world;
        let mut deployments: Vec<&crate::environments::Deployment> = w
            .deployments
            .values()
            .filter(|d| d.project_id == project.id)
            .filter(|d| environment.is_none_or(|n| w.environments[&d.environment_id].name == n))
            .filter(|d| status.is_none_or(|s| crate::environments::deployment_status(w.jobs[&d.job_id].status) == s))
            .filter(|d| updated_after.is_none_or(|t| w.jobs[&d.job_id].changed_at > t))
            .filter(|d| updated_before.is_none_or(|t| w.jobs[&d.job_id].changed_at < t))
            .collect();
        match order_by {
            "updated_at" => deployments.sort_by_key(|d| (w.jobs[&d.job_id].changed_at, d.id)),
            "finished_at" => deployments.sort_by_key(|d| (w.jobs[&d.job_id].finished_at, d.id)),
            "ref" => deployments.sort_by(|a, b| {
                let r =
                    |d: &crate::environments::Deployment| w.pipelines[&w.jobs[&d.job_id].pipeline_id].git_ref.clone();
                (r(a), a.id).cmp(&(r(b), b.id))
            }),
            _ => deployments.sort_by_key(|d| d.id),
        }
        if sort == "desc" {
            deployments.reverse();
        }
        let page = paginate(deployments, &params, &url, Counting::Counted)?;
        Ok(json_page(
            page.items.iter().map(|d| ctx.deployment(d)).collect(),
            page.headers,
        ))
    })
}

pub(super) async fn show_deployment(
    State(sim): State<Sim>,
    Path((id, deployment_id)): Path<(String, String)>,
) -> Result<Response, GitlabError> {
    let project = &find_project(&sim, &id)?;
    sim.read(|ctx| {
        let id = record_id(&deployment_id)?;
        let d = ctx
            .world
            .deployments
            .get(&id)
            .filter(|d| d.project_id == project.id)
            .ok_or(GitlabError::RecordNotFound)?;
        Ok(axum::Json(ctx.deployment_extended(d)).into_response())
    })
}

use crate::environments::ApprovalRefusal;

#[derive(serde::Deserialize)]
struct ApprovalBody {
    status: Option<String>,
    comment: Option<String>,
}

/// `POST /projects/:id/deployments/:deployment_id/approval` (GitLab Premium): approve or reject
/// a deployment waiting for approval; 201 with the approval. GitLab's refusals are 400s with
/// the approval service's own words.
pub(super) async fn approve_deployment(
    State(sim): State<Sim>,
    Extension(caller): Extension<Caller>,
    Path((id, deployment_id)): Path<(String, String)>,
    OriginalUri(uri): OriginalUri,
    body: Bytes,
) -> Result<Response, GitlabError> {
    let project = &find_project(&sim, &id)?;
    // Reporters may read deployments; a non-member is told the project does not exist.
    caller.require(project, Role::Reporter)?;
    let params = Params::parse(uri.query());
    let body: ApprovalBody = if body.iter().all(u8::is_ascii_whitespace) {
        ApprovalBody {
            status: None,
            comment: None,
        }
    } else {
        serde_json::from_slice(&body).map_err(|_| GitlabError::Param("status is invalid".into()))?
    };
    let status = body.status.or_else(|| params.get("status").map(str::to_owned));
    let approved = match status.as_deref() {
        None => return Err(GitlabError::Param("status is missing".into())),
        Some("approved") => true,
        Some("rejected") => false,
        Some(_) => return Err(GitlabError::Param("status does not have a valid value".into())),
    };
    let comment = body.comment.or_else(|| params.get("comment").map(str::to_owned));
    let role = caller.role(project).expect("required above");
    let approval = sim.write(|world, now| {
        let id = record_id(&deployment_id)?;
        world
            .deployments
            .get(&id)
            .filter(|d| d.project_id == project.id)
            .ok_or(GitlabError::RecordNotFound)?;
        world
            .approve_deployment(id, caller.person(), role, approved, comment, now)
            .map_err(|refusal| match refusal {
                ApprovalRefusal::CommentTooLong => GitlabError::Invalid(vec![refusal.message().into()]),
                other => GitlabError::Refused(other.message()),
            })
    })?;
    sim.read(|ctx| Ok((StatusCode::CREATED, axum::Json(ctx.approval(&approval))).into_response()))
}
