//! `/api/v1/overview`: every watched project at a glance.

use axum::Json;
use axum::extract::State;
use stageboard_protocol::{BrokenSince, ErrorBody, Pipeline, ProjectOverview, Status, Timestamp};

use super::summaries::enrich;
use super::wire;
use crate::app::AppState;
use crate::error::{AppError, AppResult};
use crate::gitlab::PipelineFilter;
use crate::gitlab::types::GlProject;

/// How far back "broken since" looks on the default branch.
const HISTORY: u32 = 30;
/// How many other refs a project card shows.
const OTHER_REFS: usize = 6;
/// How many merge requests' pipelines a card shows at most.
const MERGE_REQUESTS: usize = 4;

/// The latest pipeline of each of the project's open merge requests that has one, newest first,
/// with the merge request's title and link. None when GitLab will not say (a card does without).
async fn merge_request_pipelines(state: &AppState, project: u64) -> Vec<Pipeline> {
    let gitlab = state.gitlab();
    let (Ok(pipelines), Ok(open)) =
        tokio::join!(gitlab.merge_request_pipelines(project), gitlab.merge_requests(project))
    else {
        return Vec::new();
    };
    let mut seen = std::collections::HashSet::new();
    pipelines
        .into_iter()
        .filter(|p| seen.insert(p.git_ref.clone()))
        .filter_map(|p| {
            let iid: u64 = p
                .git_ref
                .as_deref()?
                .strip_prefix("refs/merge-requests/")?
                .strip_suffix("/head")?
                .parse()
                .ok()?;
            let mr = open.iter().find(|m| m.iid == iid)?;
            let web_url = mr
                .web_url
                .clone()
                .filter(|u| url::Url::parse(u).is_ok_and(|u| matches!(u.scheme(), "http" | "https")))
                .unwrap_or_default();
            let mut pipeline = wire::pipeline(p, project);
            pipeline.merge_request = Some(stageboard_protocol::MergeRequestRef {
                iid,
                title: mr.title.clone(),
                web_url,
            });
            Some(pipeline)
        })
        .take(MERGE_REQUESTS)
        .collect()
}

/// How many configured refs (STAGEBOARD_REFS) a card shows at most.
const CONFIGURED_REFS: usize = 12;

/// Every watched project with its default branch's latest pipeline, since when that branch is
/// red, and the latest pipelines of other refs. A project that cannot be read carries an
/// `error`; the others still show.
#[utoipa::path(get, path = "/api/v1/overview", tag = "projects",
    responses((status = 200, body = Vec<ProjectOverview>), (status = 502, body = ErrorBody)))]
pub async fn overview(
    State(state): State<AppState>,
    reader: crate::access::Reader,
) -> AppResult<Json<Vec<ProjectOverview>>> {
    let projects = state.readable_projects(&reader).await?;
    let cards = futures::future::join_all(projects.into_iter().map(|p| card(&state, p))).await;
    Ok(Json(cards))
}

pub(super) async fn card(state: &AppState, gl: GlProject) -> ProjectOverview {
    card_with_history(state, gl, OTHER_REFS).await.0
}

/// What a card's reads tell beyond the card, for the wall.
#[derive(Debug, Default)]
pub(super) struct History {
    /// When the default branch's latest failure in its recent history finished.
    pub last_failure: Option<Timestamp>,
    /// How long its last successful pipeline took, in seconds.
    pub last_duration: Option<u64>,
}

/// A project's card with up to `other_refs` other refs, and what its history says.
pub(super) async fn card_with_history(
    state: &AppState,
    gl: GlProject,
    other_refs: usize,
) -> (ProjectOverview, History) {
    let project = super::wire::project(gl.clone());
    match read_card(state, &gl, other_refs).await {
        Ok((latest, broken_since, other_refs, history)) => (
            ProjectOverview {
                project,
                latest,
                broken_since,
                other_refs,
                error: None,
            },
            history,
        ),
        Err(e) => (
            ProjectOverview {
                project,
                latest: None,
                broken_since: None,
                other_refs: Vec::new(),
                error: Some(AppError::from(e).message().to_owned()),
            },
            History::default(),
        ),
    }
}

type Card = (Option<Pipeline>, Option<BrokenSince>, Vec<Pipeline>, History);

async fn read_card(state: &AppState, gl: &GlProject, other_refs: usize) -> Result<Card, crate::gitlab::GitlabError> {
    let gitlab = state.gitlab();
    let branch = gl.default_branch.clone().unwrap_or_else(|| "main".into());
    let filter = PipelineFilter {
        git_ref: Some(branch.clone()),
        ..PipelineFilter::default()
    };
    let refs = state.refs();
    // Configured refs are looked for among every branch's and many tags' latest pipeline (one
    // read each); otherwise the most recent few.
    let (branch_count, tag_count) = if refs.is_recent() { (10, 5) } else { (100, 30) };
    let (recent, branches, tags) = tokio::try_join!(
        gitlab.pipelines(gl.id, &filter, 1, HISTORY),
        gitlab.latest_per_ref(gl.id, false, branch_count),
        gitlab.latest_per_ref(gl.id, true, tag_count),
    )?;
    let protected: Vec<String> = if refs.protected {
        // Without the right to read them, no branch counts as protected.
        gitlab
            .protected_branches(gl.id)
            .await
            .map(|list| list.into_iter().map(|b| b.name).collect())
            .unwrap_or_default()
    } else {
        Vec::new()
    };
    let reached_end = recent.next_page.is_none();
    let mut recent: Vec<Pipeline> = recent.items.into_iter().map(|p| wire::pipeline(p, gl.id)).collect();
    let configured = !refs.is_recent();
    let mut others: Vec<Pipeline> = branches
        .into_iter()
        .map(|p| (p, false))
        .chain(tags.into_iter().map(|p| (p, true)))
        .filter(|(p, tag)| !configured || refs.shows(p.git_ref.as_deref().unwrap_or_default(), *tag, &protected))
        .map(|(p, _)| wire::pipeline(p, gl.id))
        .filter(|p| p.git_ref != branch)
        .collect();
    others.sort_by_key(|p| std::cmp::Reverse(p.updated_at));
    others.truncate(if configured {
        other_refs.max(CONFIGURED_REFS)
    } else {
        other_refs
    });
    if refs.merge_requests {
        others.extend(merge_request_pipelines(state, gl.id).await);
    }
    let history = History {
        last_failure: recent
            .iter()
            .find(|p| p.status == Status::Failed)
            .and_then(|p| p.finished_at.or(p.updated_at)),
        // GitLab's list gives no duration: a finished pipeline last changed when it finished.
        last_duration: recent.iter().find(|p| p.status == Status::Success).and_then(|p| {
            p.duration.or_else(|| {
                let took = p.updated_at?.0 - p.started_at.or(p.created_at)?.0;
                u64::try_from(took.num_seconds()).ok()
            })
        }),
    };

    // The failed pipelines since the last green one, newest first (running ones do not count).
    let mut run: Vec<usize> = Vec::new();
    let mut green_seen = false;
    for (i, p) in recent.iter().enumerate() {
        match p.status {
            Status::Failed => run.push(i),
            Status::Success => {
                green_seen = true;
                break;
            }
            _ => {}
        }
    }
    // Only what is shown needs the details GraphQL adds.
    let mut shown: Vec<Pipeline> = recent
        .first()
        .cloned()
        .into_iter()
        .chain(run.iter().map(|&i| recent[i].clone()))
        .collect();
    // One round of GraphQL for everything the card shows.
    let shown_count = shown.len();
    shown.append(&mut others);
    enrich(state, &gl.path_with_namespace, &mut shown).await;
    let others = shown.split_off(shown_count);
    let mut shown = shown.into_iter();
    let latest = shown.next();
    for (&i, enriched) in run.iter().zip(shown) {
        recent[i] = enriched;
    }
    let broken_since = run.last().map(|&first| {
        let breaker = &recent[first];
        let mut authors: Vec<String> = Vec::new();
        for &i in run.iter().rev() {
            let p = &recent[i];
            let name = p
                .user
                .as_ref()
                .map(|u| u.name.clone())
                .or_else(|| p.commit.as_ref().map(|c| c.author_name.clone()));
            if let Some(name) = name.filter(|n| !authors.contains(n)) {
                authors.push(name);
            }
        }
        BrokenSince {
            pipeline_id: breaker.id,
            since: breaker.finished_at.or(breaker.created_at),
            commit: breaker.commit.clone(),
            user: breaker.user.clone(),
            authors,
            failed_pipelines: run.len() as u32,
            at_least: !green_seen && !reached_end,
        }
    });
    Ok((latest, broken_since, others, history))
}
