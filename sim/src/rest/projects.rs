//! Projects: the list (also per group), one project.

use super::*;

pub(super) async fn list_projects(
    State(sim): State<Sim>,
    OriginalUri(uri): OriginalUri,
) -> Result<Response, GitlabError> {
    let params = Params::parse(uri.query());
    let all = sim.projects();
    projects_page(&sim, &params, &uri, all.iter().collect())
}

pub(super) async fn group_projects(
    State(sim): State<Sim>,
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
        .collect();
    projects_page(&sim, &params, &uri, projects)
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

pub(super) async fn show_project(State(sim): State<Sim>, Path(id): Path<String>) -> Result<Response, GitlabError> {
    let project = &find_project(&sim, &id)?;
    sim.read(|ctx| Ok(axum::Json(ctx.project(project, false)).into_response()))
}
