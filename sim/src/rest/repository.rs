//! The repository: the commits between two refs, and which branches are protected.

use super::*;

pub(super) async fn compare(
    State(sim): State<Sim>,
    Path(id): Path<String>,
    OriginalUri(uri): OriginalUri,
) -> Result<Response, GitlabError> {
    let project = &find_project(&sim, &id)?;
    let params = Params::parse(uri.query());
    let (Some(from), Some(to)) = (params.get("from"), params.get("to")) else {
        return Err(GitlabError::Param("from is missing, to is missing".into()));
    };
    sim.read(|ctx| {
        let commits = ctx
            .world
            .commits_between(project.id, from, to)
            .ok_or(GitlabError::NotFoundNamed("Ref"))?;
        let commits: Vec<Value> = commits.iter().map(|c| ctx.plain_commit(project, c)).collect();
        Ok(axum::Json(json!({
            "commit": commits.last().cloned(),
            "commits": commits,
            "diffs": [],
            "compare_timeout": false,
            "compare_same_ref": from == to,
            "web_url": format!("{}/-/compare/{from}...{to}", ctx.project_url(project)),
        }))
        .into_response())
    })
}

/// `GET /projects/:id/protected_branches`: who may push to and merge into each protected
/// branch; anyone who may read the code may read it (`authorize_read_code!`).
pub(super) async fn protected_branches(
    State(sim): State<Sim>,
    Extension(caller): Extension<Caller>,
    Path(id): Path<String>,
) -> Result<Response, GitlabError> {
    let project = &find_project(&sim, &id)?;
    caller.require(project, Role::Reporter)?;
    let levels = |role: Role, id: u64| {
        json!([{
            "id": id,
            "access_level": role.access_level(),
            "access_level_description": format!("{}s", role.name()),
            "deploy_key_id": null,
            "user_id": null,
            "group_id": null,
        }])
    };
    let branches: Vec<Value> = users::protected_branch(project, "main")
        .map(|(push, merge)| {
            json!({
                "id": 1,
                "name": "main",
                "push_access_levels": levels(push, 11),
                "merge_access_levels": levels(merge, 12),
                "allow_force_push": false,
                "code_owner_approval_required": false,
            })
        })
        .into_iter()
        .collect();
    Ok(axum::Json(branches).into_response())
}
