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
    let group = find_group(&id).ok_or(GitlabError::NotFoundNamed("Group"))?;
    let subgroups = params.bool("include_subgroups")?.unwrap_or(false);
    // Every project is the group's own: none is shared with it from elsewhere.
    params.bool("with_shared")?;
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

/// A group by its id or full path.
fn find_group(id: &str) -> Option<&'static scenario::GroupDef> {
    scenario::GROUPS
        .iter()
        .copied()
        .find(|g| id.parse::<u64>().is_ok_and(|n| n == g.id) || g.full_path == id)
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
    projects.retain(|p| !p.deleted);
    if let Some(archived) = params.bool("archived")? {
        projects.retain(|p| p.archived == archived);
    }
    // `topic`: comma-separated, and a project must have every one of them.
    if let Some(topics) = params.get("topic").filter(|t| !t.trim().is_empty()) {
        let wanted: Vec<&str> = topics.split(',').map(str::trim).filter(|t| !t.is_empty()).collect();
        projects.retain(|p| {
            wanted
                .iter()
                .all(|w| p.topics.iter().any(|t| t.eq_ignore_ascii_case(w)))
        });
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

/// The body of `POST /projects` (JSON, as python-gitlab sends it, or a form).
#[derive(Debug, serde::Deserialize)]
pub(super) struct NewProject {
    name: Option<String>,
    path: Option<String>,
    namespace_id: Option<serde_json::Value>,
    #[serde(default)]
    topics: Option<serde_json::Value>,
}

/// `POST /projects`: a project in one of the groups (the simulator has no personal
/// namespaces), built like payments-api. 201 with the project.
pub(super) async fn create_project(
    State(sim): State<Sim>,
    Extension(caller): Extension<Caller>,
    headers: axum::http::HeaderMap,
    body: Bytes,
) -> Result<Response, GitlabError> {
    let form = headers
        .get(axum::http::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/x-www-form-urlencoded"));
    let new: NewProject = if form {
        // `topics[]=a&topics[]=b` (or `topics=a,b`) as a list; other fields as strings.
        let mut pairs = serde_json::Map::new();
        for (key, value) in url::form_urlencoded::parse(&body) {
            match key.strip_suffix("[]") {
                Some(list) => {
                    let entry = pairs.entry(list.to_owned()).or_insert_with(|| Value::Array(Vec::new()));
                    if let Value::Array(items) = entry {
                        items.push(Value::String(value.into_owned()));
                    }
                }
                None => {
                    pairs.insert(key.into_owned(), Value::String(value.into_owned()));
                }
            }
        }
        serde_json::from_value(Value::Object(pairs))
    } else {
        serde_json::from_slice(&body)
    }
    .map_err(|_| GitlabError::BadRequest("name, path, namespace_id or topics is invalid".into()))?;
    let (name, path) = match (new.name, new.path) {
        (Some(name), Some(path)) => (name, path),
        (Some(name), None) => (name.clone(), name.to_lowercase().replace(' ', "-")),
        (None, Some(path)) => (path.clone(), path),
        (None, None) => {
            return Err(GitlabError::Param(
                "name, path are missing, at least one parameter must be provided".into(),
            ));
        }
    };
    let valid_path = !path.is_empty()
        && path.len() <= 255
        && path.chars().all(|c| c.is_ascii_alphanumeric() || "-_.".contains(c))
        && !path.starts_with(['-', '.'])
        && !path.ends_with(".git");
    let mut invalid = Vec::new();
    if name.trim().is_empty() {
        invalid.push(("name", "can't be blank"));
    } else if name.len() > 255 {
        invalid.push(("name", "is too long (maximum is 255 characters)"));
    }
    if !valid_path {
        invalid.push((
            "path",
            "can contain only letters, digits, '_', '-' and '.'. Cannot start with '-', end in '.git' or end in '.atom'",
        ));
    }
    if !invalid.is_empty() {
        return Err(GitlabError::Fields(invalid));
    }
    let namespace = match &new.namespace_id {
        Some(Value::Number(n)) => n.to_string(),
        Some(Value::String(s)) => s.clone(),
        _ => {
            return Err(GitlabError::Param(
                "namespace_id is missing (the simulated GitLab has no personal namespaces)".into(),
            ));
        }
    };
    let group = find_group(&namespace).ok_or(GitlabError::NotFoundNamed("Namespace"))?;
    let topics: Vec<String> = match new.topics {
        Some(Value::Array(items)) => items.iter().filter_map(|t| t.as_str().map(str::to_owned)).collect(),
        Some(Value::String(list)) => list
            .split(',')
            .map(|t| t.trim().to_owned())
            .filter(|t| !t.is_empty())
            .collect(),
        _ => Vec::new(),
    };
    // Names and paths are each unique in their namespace (GitLab compares paths without case).
    let projects = sim.projects();
    let siblings: Vec<_> = projects
        .iter()
        .filter(|p| !p.deleted && p.group.id == group.id)
        .collect();
    let mut taken = Vec::new();
    if siblings.iter().any(|p| p.name == name) {
        taken.push(("name", "has already been taken"));
    }
    if siblings.iter().any(|p| p.path.eq_ignore_ascii_case(&path)) {
        taken.push(("path", "has already been taken"));
    }
    if !taken.is_empty() {
        return Err(GitlabError::Fields(taken));
    }
    if projects.len() >= scenario::MAX_PROJECTS {
        return Err(GitlabError::Forbidden("Project limit reached".into()));
    }
    let candidate = scenario::new_project(0, &name, &path, group, Vec::new(), String::new());
    if caller.role(&candidate).is_none_or(|r| r < Role::Maintainer) {
        return Err(GitlabError::Denied);
    }
    let project = sim.create_project(&name, &path, group, topics);
    let shown = sim.read(|ctx| ctx.project(&project, false));
    Ok((StatusCode::CREATED, axum::Json(shown)).into_response())
}

/// `POST /projects/:id/archive` and `/unarchive`: 201 with the project (Owners only).
async fn set_archived(sim: Sim, caller: Caller, id: String, archived: bool) -> Result<Response, GitlabError> {
    let project = find_project(&sim, &id)?;
    caller.require(&project, Role::Owner)?;
    let changed = sim
        .change_project(project.id, |p| p.archived = archived)
        .ok_or(GitlabError::NotFoundNamed("Project"))?;
    let shown = sim.read(|ctx| ctx.project(&changed, false));
    Ok((StatusCode::CREATED, axum::Json(shown)).into_response())
}

pub(super) async fn archive_project(
    State(sim): State<Sim>,
    Extension(caller): Extension<Caller>,
    Path(id): Path<String>,
) -> Result<Response, GitlabError> {
    set_archived(sim, caller, id, true).await
}

pub(super) async fn unarchive_project(
    State(sim): State<Sim>,
    Extension(caller): Extension<Caller>,
    Path(id): Path<String>,
) -> Result<Response, GitlabError> {
    set_archived(sim, caller, id, false).await
}

/// `DELETE /projects/:id`: 202 `{"message":"202 Accepted"}` (Owners only); gone from then on.
pub(super) async fn delete_project(
    State(sim): State<Sim>,
    Extension(caller): Extension<Caller>,
    Path(id): Path<String>,
) -> Result<Response, GitlabError> {
    let project = find_project(&sim, &id)?;
    caller.require(&project, Role::Owner)?;
    sim.change_project(project.id, |p| p.deleted = true);
    Ok((StatusCode::ACCEPTED, axum::Json(json!({ "message": "202 Accepted" }))).into_response())
}
