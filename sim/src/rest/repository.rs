//! The repository: the commits between two refs.

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
