//! Environments: what GitLab deployed where, what the cluster runs there, what waits to be
//! deployed and what it would bring, and the stop action.

use axum::Json;
use axum::extract::State;
use stageboard_protocol::{
    ActionOutcome, ApprovalRequest, ClusterLink, DeploymentSummary, Environment, EnvironmentDetail, EnvironmentGrid,
    EnvironmentRow, ErrorBody, ProjectEnvironments, WaitingDeploy,
};

use super::extract::Path;
use super::wire;
use crate::app::AppState;
use crate::audit::{Actor, Attempt};
use crate::error::AppResult;
use crate::gitlab::types::{GlDeployment, GlEnvironment};

fn cluster_link(state: &AppState) -> ClusterLink {
    match state.cluster() {
        Some(cluster) => cluster.state.link(),
        None => ClusterLink {
            configured: false,
            connected: false,
            unreachable_since: None,
            message: Some(
                "No cluster is configured: set STAGEBOARD_CLUSTER to see what runs in each environment.".into(),
            ),
        },
    }
}

/// The cluster runs another image than GitLab last deployed there.
fn drift(images: &[String], last: Option<&GlDeployment>) -> Option<String> {
    let last = last?;
    if images.is_empty() {
        return None;
    }
    let tags: Vec<&str> = images
        .iter()
        .filter_map(|i| i.rsplit_once(':').map(|(_, t)| t))
        .collect();
    let matches = tags
        .iter()
        .any(|t| !t.is_empty() && (last.sha.starts_with(t) || *t == last.git_ref));
    (!matches).then(|| {
        format!(
            "the cluster runs {}, GitLab last deployed {} ({})",
            tags.join(", "),
            last.git_ref,
            &last.sha[..last.sha.len().min(8)]
        )
    })
}

async fn waiting_for(
    state: &AppState,
    project: u64,
    last: Option<&GlDeployment>,
    waiting: Vec<GlDeployment>,
) -> Vec<WaitingDeploy> {
    let manual: Vec<GlDeployment> = waiting
        .into_iter()
        .filter(|d| {
            d.deployable
                .as_ref()
                .is_some_and(|j| j.status == stageboard_protocol::Status::Manual)
        })
        .take(3)
        .collect();
    // The commits each waiting deploy would bring, asked for at once rather than in turn.
    let commits = futures::future::join_all(manual.iter().map(|d| async move {
        match last {
            Some(last) if last.sha != d.sha => state
                .gitlab()
                .compare(project, &last.sha, &d.sha)
                .await
                .map(|c| c.into_iter().map(wire::commit).collect())
                .unwrap_or_default(),
            _ => Vec::new(),
        }
    }))
    .await;
    manual
        .into_iter()
        .zip(commits)
        .map(|(d, commits)| {
            let job = d.deployable.expect("filtered");
            WaitingDeploy {
                job_id: job.id,
                job_name: job.name,
                pipeline_id: job.pipeline.as_ref().map(|p| p.id),
                git_ref: d.git_ref,
                sha: d.sha,
                commits,
                deployment_id: d.id,
                approval: None,
                refused: None,
            }
        })
        .collect()
}

async fn environment(
    state: &AppState,
    project: u64,
    env: GlEnvironment,
    last: Option<GlDeployment>,
    waiting: Vec<GlDeployment>,
) -> Environment {
    let cluster = match (state.cluster(), env.slug.as_deref()) {
        (Some(cluster), Some(slug)) => cluster
            .state
            .environment(cluster.namespaces.namespace_of(&env.name), slug),
        _ => None,
    };
    let drift = cluster.as_ref().and_then(|c| drift(&c.images, last.as_ref()));
    let waiting = waiting_for(state, project, last.as_ref(), waiting).await;
    Environment {
        id: env.id,
        project_id: project,
        folder: env.name.split_once('/').map(|(f, _)| f.to_owned()),
        name: env.name,
        slug: env.slug,
        state: env.state.unwrap_or_else(|| "available".into()),
        tier: env.tier,
        external_url: env.external_url,
        auto_stop_at: env.auto_stop_at.map(Into::into),
        last_deployment: last.map(wire::deployment),
        waiting,
        cluster,
        drift,
    }
}

/// Every watched project's environments, for the grid: one request for the page, the projects
/// read at once (the hub's cache and request limit apply). A project that cannot be read
/// carries an `error`; the others still show.
#[utoipa::path(get, path = "/api/v1/environments", tag = "environments",
    responses((status = 200, body = EnvironmentGrid), (status = 502, body = ErrorBody)))]
pub async fn grid(State(state): State<AppState>, reader: crate::access::Reader) -> AppResult<Json<EnvironmentGrid>> {
    let projects = state.readable_projects(&reader).await?;
    let rows = futures::future::join_all(projects.into_iter().map(|gl| {
        let state = &state;
        async move {
            let (environments, error) = match of_project(state, gl.id).await {
                Ok(environments) => (environments, None),
                Err(e) => (Vec::new(), Some(e.message().to_owned())),
            };
            EnvironmentRow {
                project: wire::project(gl),
                environments,
                error,
            }
        }
    }))
    .await;
    Ok(Json(EnvironmentGrid {
        rows,
        cluster: cluster_link(&state),
    }))
}

/// A project's environments with their last deployment, cluster health and waiting deploys.
#[utoipa::path(get, path = "/api/v1/projects/{project_id}/environments", tag = "environments",
    params(("project_id" = u64, Path)),
    responses((status = 200, body = ProjectEnvironments), (status = 404, body = ErrorBody), (status = 502, body = ErrorBody)))]
pub async fn list(
    State(state): State<AppState>,
    reader: crate::access::Reader,
    Path(project): Path<u64>,
) -> AppResult<Json<ProjectEnvironments>> {
    state.ensure_readable(&reader, project).await?;
    Ok(Json(ProjectEnvironments {
        project_id: project,
        environments: of_project(&state, project).await?,
        cluster: cluster_link(&state),
    }))
}

pub(super) async fn of_project(state: &AppState, project: u64) -> AppResult<Vec<Environment>> {
    let gitlab = state.gitlab();
    let (envs, succeeded, waiting) = tokio::try_join!(
        gitlab.environments(project),
        gitlab.deployments(project, None, Some("success"), 100),
        // A manual deploy job's deployment is `blocked` (GitLab 15 and later), approvals or not.
        gitlab.deployments(project, None, Some("blocked"), 100),
    )?;
    let named = |list: &[GlDeployment], name: &str| -> Vec<GlDeployment> {
        list.iter()
            .filter(|d| d.environment.as_ref().is_some_and(|e| e.name == name))
            .cloned()
            .collect()
    };
    // Each environment's compares go out together, not one environment after another.
    Ok(futures::future::join_all(envs.into_iter().map(|env| {
        let last = named(&succeeded, &env.name).into_iter().next();
        let waiting = named(&waiting, &env.name);
        environment(state, project, env, last, waiting)
    }))
    .await)
}

/// One environment: deployment history, live resources, waiting manual deploys.
#[utoipa::path(get, path = "/api/v1/projects/{project_id}/environments/{environment_id}", tag = "environments",
    params(("project_id" = u64, Path), ("environment_id" = u64, Path)),
    responses((status = 200, body = EnvironmentDetail), (status = 404, body = ErrorBody), (status = 502, body = ErrorBody)))]
pub async fn show(
    State(state): State<AppState>,
    reader: crate::access::Reader,
    session: tower_sessions::Session,
    Path((project, environment_id)): Path<(u64, u64)>,
) -> AppResult<Json<EnvironmentDetail>> {
    state.ensure_readable(&reader, project).await?;
    let gitlab = state.gitlab();
    let mut env = gitlab.environment(project, environment_id).await?;
    let name = env.name.clone();
    let (history, waiting) = tokio::try_join!(
        gitlab.deployments(project, Some(&name), None, 20),
        gitlab.deployments(project, Some(&name), Some("blocked"), 10),
    )?;
    let last = env.last_deployment.take();
    let deployments: Vec<DeploymentSummary> = history.into_iter().map(wire::deployment).collect();
    let mut environment = environment(&state, project, env, last, waiting).await;
    let refused = said_beforehand(&state, &session, project, &mut environment).await;
    Ok(Json(EnvironmentDetail {
        environment,
        deployments,
        cluster: cluster_link(&state),
        refused,
    }))
}

/// What the environment page says before anyone presses a button: for each waiting deploy,
/// what its approvals wait for (GitLab Premium: only the single deployment tells), and where
/// GitLab would refuse the signed-in person, why (a protected environment's role, an approval
/// rule's role, approving one's own deployment). Returns why they may not stop it, if so.
async fn said_beforehand(
    state: &AppState,
    session: &tower_sessions::Session,
    project: u64,
    environment: &mut Environment,
) -> Option<String> {
    let mut deploy = stageboard_protocol::JobEnvironment {
        name: environment.name.clone(),
        tier: None,
        external_url: None,
        refused: None,
    };
    super::refusals::deploys(state, session, project, vec![&mut deploy]).await;
    // Below Developer, unless a protected environment lets them deploy all the same (a rule
    // naming them or their group: GitLab's deployment-only access).
    let role = super::refusals::below_developer(state, session, project, "Deploying and stopping environments").await;
    let protected = match role {
        Some(_) => super::refusals::protected_environments(state, project).await,
        None => None,
    };
    deploy.refused = deploy
        .refused
        .take()
        .or_else(|| super::refusals::job(Some(&deploy), role.as_ref(), protected.as_deref()));
    let gitlab = state.gitlab();
    let details = futures::future::join_all(
        environment
            .waiting
            .iter()
            .map(|w| gitlab.deployment(project, w.deployment_id)),
    )
    .await;
    for (waiting, detail) in environment.waiting.iter_mut().zip(details) {
        waiting.refused = deploy.refused.clone();
        let Ok(detail) = detail else { continue };
        let rules = detail.approval_summary.map(|s| s.rules).unwrap_or_default();
        if rules.is_empty() {
            continue;
        }
        // GitLab compares the deployment's user (who started it) with who approves.
        let started_by = detail.user.or(detail.deployable.and_then(|j| j.user)).map(|u| u.id);
        // Where GitLab does not count, count as it does: each rule's shortfall.
        let pending = detail.pending_approval_count.unwrap_or_else(|| {
            rules
                .iter()
                .map(|r| {
                    let approved = r.deployment_approvals.iter().filter(|a| a.status == "approved").count();
                    r.required_approvals.saturating_sub(approved as u32)
                })
                .sum()
        });
        let (refused, approve_refused) =
            super::refusals::approvals(state, session, project, &environment.name, &rules, started_by).await;
        waiting.approval = Some(stageboard_protocol::Approval {
            pending,
            rules: rules.into_iter().map(wire::approval_rule).collect(),
            refused,
            approve_refused,
        });
    }
    deploy.refused
}

/// Approves or rejects a deployment waiting for approval (GitLab Premium), as the signed-in
/// person, with an optional comment. A rejection fails the deploy job for good.
#[utoipa::path(post, path = "/api/v1/projects/{project_id}/deployments/{deployment_id}/approval", tag = "actions",
    params(("project_id" = u64, Path), ("deployment_id" = u64, Path)),
    request_body = ApprovalRequest,
    responses((status = 200, body = ActionOutcome), (status = 400, body = ErrorBody, description = "a comment too long, or GitLab's refusal"), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn approve(
    State(state): State<AppState>,
    actor: Actor,
    Path((project, deployment_id)): Path<(u64, u64)>,
    super::extract::Json(request): super::extract::Json<ApprovalRequest>,
) -> AppResult<Json<ActionOutcome>> {
    let acting = state.ensure_may_act(&actor, project).await?;
    let comment = request.comment.map(|c| c.trim().to_owned()).filter(|c| !c.is_empty());
    if let Some(comment) = &comment
        && comment.chars().count() > MAX_COMMENT
    {
        return Err(crate::error::AppError::bad_request(format!(
            "The comment has {} characters; GitLab keeps at most {MAX_COMMENT}. Shorten it.",
            comment.chars().count()
        )));
    }
    // Its environment and job, for the audit log (a cached read).
    let deployment = state.gitlab().deployment(project, deployment_id).await.ok();
    let job = deployment.as_ref().and_then(|d| d.deployable.as_ref());
    let attempt = Attempt {
        action: if request.approve {
            "approve_deployment"
        } else {
            "reject_deployment"
        },
        project,
        pipeline: job.and_then(|j| j.pipeline.as_ref().map(|p| p.id)),
        job: job.map(|j| j.id),
        environment: Some(
            deployment
                .as_ref()
                .and_then(|d| d.environment.as_ref().map(|e| e.name.clone()))
                .unwrap_or_else(|| format!("deployment #{deployment_id}")),
        ),
    };
    let approve = request.approve;
    let given = state
        .audited(&actor, attempt, async move {
            acting
                .approve_deployment(project, deployment_id, approve, comment)
                .await
        })
        .await?;
    let what = match deployment.as_ref().and_then(|d| d.environment.as_ref()) {
        Some(env) => format!("the deployment to {}", env.name),
        None => format!("deployment #{deployment_id}"),
    };
    let verb = if given.status == "rejected" {
        "rejected"
    } else {
        "approved"
    };
    Ok(Json(ActionOutcome {
        message: format!("{} {verb} {what}.", given.user.name),
        job: None,
        pipeline: None,
    }))
}

/// GitLab keeps approval comments of at most 255 characters.
const MAX_COMMENT: usize = 255;

/// Stops an environment: GitLab runs its `on_stop` job (state stopping, then stopped).
#[utoipa::path(post, path = "/api/v1/projects/{project_id}/environments/{environment_id}/stop", tag = "actions",
    params(("project_id" = u64, Path), ("environment_id" = u64, Path)),
    responses((status = 200, body = ActionOutcome), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn stop(
    State(state): State<AppState>,
    actor: Actor,
    Path((project, environment_id)): Path<(u64, u64)>,
) -> AppResult<Json<ActionOutcome>> {
    let acting = state.ensure_may_act(&actor, project).await?;
    // Its name, for the audit log (a cached read).
    let name = state
        .gitlab()
        .environment(project, environment_id)
        .await
        .ok()
        .map(|e| e.name);
    let attempt = Attempt {
        action: "stop_environment",
        project,
        pipeline: None,
        job: None,
        environment: Some(name.unwrap_or_else(|| format!("#{environment_id}"))),
    };
    let env = state
        .audited(&actor, attempt, async move {
            acting.stop_environment(project, environment_id).await
        })
        .await?;
    Ok(Json(ActionOutcome {
        message: format!(
            "Environment {} is {}.",
            env.name,
            env.state.as_deref().unwrap_or("stopping")
        ),
        job: None,
        pipeline: None,
    }))
}
