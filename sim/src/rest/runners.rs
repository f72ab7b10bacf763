//! Runners: those available to a project (Maintainers only, as in GitLab), one runner's details.

use super::*;
use crate::scenario::{RUNNERS, RunnerDef};

/// `GET /projects/:id/runners`: the instance's, the project's groups' and its own runners,
/// filtered by `type`, `status`, `paused` and `tag_list` (every tag given).
pub(super) async fn project_runners(
    State(sim): State<Sim>,
    Extension(caller): Extension<Caller>,
    Path(id): Path<String>,
    OriginalUri(uri): OriginalUri,
) -> Result<Response, GitlabError> {
    let project = find_project(&sim, &id)?;
    caller.require(&project, Role::Maintainer)?;
    let params = Params::parse(uri.query());
    let kind = params.choice("type", &["instance_type", "group_type", "project_type"])?;
    let status = params.choice(
        "status",
        &["active", "paused", "online", "offline", "stale", "never_contacted"],
    )?;
    let paused = params.bool("paused")?;
    let tags: Vec<String> = params
        .get("tag_list")
        .map(|t| {
            t.split(',')
                .map(|t| t.trim().to_owned())
                .filter(|t| !t.is_empty())
                .collect()
        })
        .unwrap_or_default();
    let url = url_of(&sim, &uri);
    sim.read(|ctx| {
        let runners: Vec<&RunnerDef> = RUNNERS
            .iter()
            .filter(|r| r.serves(&project))
            .filter(|r| kind.is_none_or(|k| r.runner_type() == k))
            .filter(|r| paused.is_none_or(|p| r.paused == p))
            .filter(|r| tags.iter().all(|t| r.tags.contains(&t.as_str())))
            .filter(|r| {
                let (online, _) = ctx.world.runner_state(r, ctx.now);
                match status {
                    Some("online") => online,
                    Some("offline") => !online,
                    Some("active") => !r.paused,
                    Some("paused") => r.paused,
                    Some(_) => false,
                    None => true,
                }
            })
            .collect();
        let page = paginate(runners, &params, &url, Counting::Counted)?;
        let items = page.items.iter().map(|r| ctx.runner(r)).collect();
        Ok(json_page(items, page.headers))
    })
}

/// `GET /runners/:id`: for an administrator, or a Maintainer of a project it serves.
pub(super) async fn show_runner(
    State(sim): State<Sim>,
    Extension(caller): Extension<Caller>,
    Path(id): Path<String>,
) -> Result<Response, GitlabError> {
    let runner = id
        .parse::<u64>()
        .ok()
        .and_then(|id| RUNNERS.iter().find(|r| r.id == id))
        .ok_or(GitlabError::NotFoundNamed("Runner"))?;
    let may = sim
        .projects()
        .iter()
        .filter(|p| !p.deleted && runner.serves(p))
        .any(|p| caller.role(p).is_some_and(|r| r >= Role::Maintainer));
    if !may {
        return Err(GitlabError::Denied);
    }
    Ok(axum::Json(sim.read(|ctx| ctx.runner_details(runner))).into_response())
}

/// `GET /groups/:id/runners`: the runners available in a group: the instance's, its own and its
/// ancestors' (not its subgroups' or projects'); for whoever maintains a project in it.
pub(super) async fn group_runners(
    State(sim): State<Sim>,
    Extension(caller): Extension<Caller>,
    Path(id): Path<String>,
    OriginalUri(uri): OriginalUri,
) -> Result<Response, GitlabError> {
    let group = crate::scenario::GROUPS
        .iter()
        .copied()
        .find(|g| id.parse::<u64>().is_ok_and(|n| n == g.id) || g.full_path == id)
        .ok_or(GitlabError::NotFoundNamed("Group"))?;
    let maintains = sim
        .projects()
        .iter()
        .filter(|p| {
            !p.deleted && (p.group.id == group.id || p.group.full_path.starts_with(&format!("{}/", group.full_path)))
        })
        .any(|p| caller.role(p).is_some_and(|r| r >= Role::Maintainer));
    if !maintains {
        return Err(GitlabError::Denied);
    }
    let params = Params::parse(uri.query());
    let kind = params.choice("type", &["instance_type", "group_type", "project_type"])?;
    let url = url_of(&sim, &uri);
    let ancestors = |g: &crate::scenario::GroupDef| {
        group.full_path == g.full_path || group.full_path.starts_with(&format!("{}/", g.full_path))
    };
    sim.read(|ctx| {
        let runners: Vec<&RunnerDef> = RUNNERS
            .iter()
            .filter(|r| match r.scope {
                crate::scenario::RunnerScope::Instance => true,
                crate::scenario::RunnerScope::Group(g) => ancestors(g),
                crate::scenario::RunnerScope::Project(_) => false,
            })
            .filter(|r| kind.is_none_or(|k| r.runner_type() == k))
            .collect();
        let page = paginate(runners, &params, &url, Counting::Counted)?;
        let items = page.items.iter().map(|r| ctx.runner(r)).collect();
        Ok(json_page(items, page.headers))
    })
}
