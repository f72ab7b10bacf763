//! Projects: the list (also per group), one project.

use super::*;

pub(super) async fn list_projects(
    State(sim): State<Sim>,
    Extension(caller): Extension<Caller>,
    OriginalUri(uri): OriginalUri,
) -> Result<Response, GitlabError> {
    let params = Params::parse(uri.query());
    let all = sim.projects();
    // Every project is private: a person sees those they are a member of, at least at
    // `min_access_level` when it is given.
    let least = min_access_level(&params)?;
    let visible = all
        .iter()
        .filter(|p| caller.role(p).is_some_and(|r| r.access_level() >= least))
        .collect();
    projects_page(&sim, &params, &uri, visible)
}

pub(super) async fn group_projects(
    State(sim): State<Sim>,
    Extension(caller): Extension<Caller>,
    Path(id): Path<String>,
    OriginalUri(uri): OriginalUri,
) -> Result<Response, GitlabError> {
    let params = Params::parse(uri.query());
    let group = scenario::GROUPS
        .iter()
        .find(|g| id.parse::<u64>().is_ok_and(|n| n == g.id) || g.full_path == id)
        .ok_or(GitlabError::NotFoundNamed("Group"))?;
    let subgroups = params.bool("include_subgroups")?.unwrap_or(false);
    let all = sim.projects();
    let projects = all
        .iter()
        .filter(|p| {
            p.group.id == group.id || (subgroups && p.group.full_path.starts_with(&format!("{}/", group.full_path)))
        })
        .filter(|p| caller.role(p).is_some())
        .collect();
    projects_page(&sim, &params, &uri, projects)
}

/// GitLab's `min_access_level`: one of the access levels (10 Guest … 50 Owner), else 400.
fn min_access_level(params: &Params) -> Result<u32, GitlabError> {
    let level = params.choice("min_access_level", &["10", "15", "20", "30", "40", "50"])?;
    Ok(level.and_then(|l| l.parse().ok()).unwrap_or(0))
}

pub(super) fn projects_page(
    sim: &Sim,
    params: &Params,
    uri: &Uri,
    mut projects: Vec<&ProjectDef>,
) -> Result<Response, GitlabError> {
    let simple = params.bool("simple")?.unwrap_or(false);
    params.bool("membership")?;
    if params.bool("archived")? == Some(true) {
        projects.clear();
    }
    let order = params.choice(
        "order_by",
        &[
            "id",
            "name",
            "path",
            "created_at",
            "updated_at",
            "last_activity_at",
            "similarity",
            "star_count",
        ],
    )?;
    let sort = params.choice("sort", &["asc", "desc"])?.unwrap_or("desc");
    if let Some(search) = params.get("search") {
        let search = search.to_lowercase();
        projects.retain(|p| p.name.contains(&search) || p.full_path().contains(&search));
    }
    match order {
        Some("name") | Some("path") => projects.sort_by(|a, b| a.name.cmp(&b.name)),
        _ => projects.sort_by_key(|p| p.id),
    }
    if sort == "desc" {
        projects.reverse();
    }
    let url = url_of(sim, uri);
    sim.read(|ctx| {
        let page = paginate(projects, params, &url, Counting::Counted)?;
        let items = page.items.iter().map(|p| ctx.project(p, simple)).collect();
        Ok(json_page(items, page.headers))
    })
}

pub(super) async fn show_project(
    State(sim): State<Sim>,
    Extension(caller): Extension<Caller>,
    Path(id): Path<String>,
) -> Result<Response, GitlabError> {
    let project = &find_project(&sim, &id)?;
    let mut shown = sim.read(|ctx| ctx.project(project, false));
    // The signed-in person's own access (an administrator's token is not a member).
    let access = match &caller {
        Caller::Person { .. } => caller
            .role(project)
            .map(|role| json!({ "access_level": role.access_level(), "notification_level": 3 })),
        Caller::Token => None,
    };
    shown["permissions"] = json!({ "project_access": access, "group_access": null });
    Ok(axum::Json(shown).into_response())
}

/// The signed-in user (`read_user`, `read_api` or `api`).
pub(super) async fn current_user(State(sim): State<Sim>, Extension(caller): Extension<Caller>) -> axum::Json<Value> {
    let person = caller.person();
    let base = sim.base_url();
    axum::Json(json!({
        "id": person.id,
        "username": person.username,
        "name": person.name,
        "state": "active",
        "locked": false,
        "avatar_url": null,
        "web_url": format!("{base}/{}", person.username),
        "email": format!("{}@example.com", person.username),
        "is_admin": matches!(caller, Caller::Token),
    }))
}

/// `GET /projects/:id/members/all/:user_id`: a member's access, inherited and invited included
/// (every sim membership is direct). Any member of the project may ask.
pub(super) async fn project_member(
    State(sim): State<Sim>,
    Extension(caller): Extension<Caller>,
    Path((id, user_id)): Path<(String, String)>,
) -> Result<Response, GitlabError> {
    let project = &find_project(&sim, &id)?;
    caller.require(project, users::Role::Reporter)?;
    let user = record_id(&user_id)?;
    let (Some(person), Some(role)) = (users::person(user), users::role(user, project)) else {
        return Err(GitlabError::NotFoundNamed("Member"));
    };
    Ok(axum::Json(json!({
        "id": person.id,
        "username": person.username,
        "name": person.name,
        "state": "active",
        "access_level": role.access_level(),
    }))
    .into_response())
}
