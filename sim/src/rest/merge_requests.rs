//! Merge requests: a project's open ones (one per branch people push to), and a merge request's
//! pipeline made on demand.

use super::*;
use crate::scenario::{MergeRequestDef, merge_requests};

fn merge_request(ctx: &Ctx<'_>, project: &ProjectDef, mr: &MergeRequestDef) -> Value {
    let created = ctx.now - chrono::Duration::days(mr.iid as i64 + 1);
    let git_ref = format!("refs/merge-requests/{}/head", mr.iid);
    let head = ctx
        .world
        .pipelines
        .values()
        .rev()
        .find(|p| p.project_id == project.id && p.git_ref == git_ref);
    json!({
        "id": project.id * 1000 + mr.iid,
        "iid": mr.iid,
        "project_id": project.id,
        "title": mr.title,
        "description": "",
        "state": "opened",
        "created_at": entities::time(created),
        "updated_at": entities::time(head.map_or(created, |p| p.updated_at)),
        "target_branch": "main",
        "source_branch": mr.source_branch,
        "author": ctx.user(mr.author),
        "draft": false,
        "work_in_progress": false,
        "merge_status": "can_be_merged",
        "detailed_merge_status": "mergeable",
        "sha": head.map(|p| p.commit.sha.clone()),
        "references": {
            "short": format!("!{}", mr.iid),
            "full": format!("{}!{}", project.full_path(), mr.iid),
        },
        "web_url": format!("{}/-/merge_requests/{}", ctx.project_url(project), mr.iid),
        "head_pipeline": head.map(|p| ctx.pipeline_basic(p)),
    })
}

/// `GET /projects/:id/merge_requests`: newest first; every one is open.
pub(super) async fn list_merge_requests(
    State(sim): State<Sim>,
    Extension(caller): Extension<Caller>,
    Path(id): Path<String>,
    OriginalUri(uri): OriginalUri,
) -> Result<Response, GitlabError> {
    let project = find_project(&sim, &id)?;
    caller.require(&project, Role::Reporter)?;
    let params = Params::parse(uri.query());
    let state = params.choice("state", &["opened", "closed", "locked", "merged", "all"])?;
    params.choice("order_by", &["created_at", "updated_at", "title"])?;
    params.choice("sort", &["asc", "desc"])?;
    let mut all = merge_requests(&project);
    if !matches!(state, None | Some("opened") | Some("all")) {
        all.clear();
    }
    all.reverse();
    let url = url_of(&sim, &uri);
    sim.read(|ctx| {
        let page = paginate(all, &params, &url, Counting::Counted)?;
        let items = page.items.iter().map(|mr| merge_request(ctx, &project, mr)).collect();
        Ok(json_page(items, page.headers))
    })
}

fn find_merge_request(project: &ProjectDef, iid: &str) -> Result<MergeRequestDef, GitlabError> {
    let iid = record_id(iid)?;
    merge_requests(project)
        .into_iter()
        .find(|mr| mr.iid == iid)
        .ok_or(GitlabError::NotFoundNamed("Merge Request"))
}

/// `GET /projects/:id/merge_requests/:iid`.
pub(super) async fn show_merge_request(
    State(sim): State<Sim>,
    Extension(caller): Extension<Caller>,
    Path((id, iid)): Path<(String, String)>,
) -> Result<Response, GitlabError> {
    let project = find_project(&sim, &id)?;
    caller.require(&project, Role::Reporter)?;
    let mr = find_merge_request(&project, &iid)?;
    Ok(axum::Json(sim.read(|ctx| merge_request(ctx, &project, &mr))).into_response())
}

/// `POST /projects/:id/merge_requests/:iid/pipelines`: a pipeline for the merge request
/// (Developers and up); 201 with the pipeline.
pub(super) async fn create_merge_request_pipeline(
    State(sim): State<Sim>,
    Extension(caller): Extension<Caller>,
    Path((id, iid)): Path<(String, String)>,
) -> Result<Response, GitlabError> {
    let project = find_project(&sim, &id)?;
    caller.require(&project, Role::Developer)?;
    let mr = find_merge_request(&project, &iid)?;
    let pipeline = sim.write(|world, now| world.create_merge_request_pipeline(&project, mr.iid, now));
    let shown = sim.read(|ctx| ctx.pipeline_basic(&ctx.world.pipelines[&pipeline]));
    Ok((StatusCode::CREATED, axum::Json(shown)).into_response())
}
