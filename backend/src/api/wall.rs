//! `/api/v1/wall`: a board's tiles for a wall screen, worst first. Read through the overview's
//! and the environments' cached reads, so a wall costs GitLab nothing more than the team's
//! pages do, however many screens show it.

use axum::Json;
use axum::extract::State;
use stageboard_protocol::{Broken, Environment, ErrorBody, Pipeline, Status, Tile, TileEnvironment, Wall};

use super::overview::{History, card_with_history};
use crate::app::AppState;
use crate::boards::{Board, BoardError, Selection};
use crate::error::{AppError, AppResult};
use crate::gitlab::types::GlProject;
use crate::pattern::matches;

/// The most tiles a screen shows: past it, the best are counted, not shown.
pub const MAX_TILES: usize = 60;
/// The other refs a project offers a board (its recent branches and tags).
const REFS_READ: usize = 15;
/// Environments on a tile when the board names none.
const DEFAULT_ENVIRONMENTS: usize = 4;

/// A board's tiles: failed first, then running, then the rest, successes folded into a count
/// when the board hides them.
#[utoipa::path(get, path = "/api/v1/wall", tag = "projects", params(Selection),
    responses((status = 200, body = Wall), (status = 400, body = ErrorBody, description = "a parameter that is not valid"),
        (status = 404, body = ErrorBody, description = "no board of that name"), (status = 502, body = ErrorBody)))]
pub async fn wall(
    State(state): State<AppState>,
    reader: crate::access::Reader,
    super::extract::Query(selection): super::extract::Query<Selection>,
) -> AppResult<Json<Wall>> {
    if let Some(own) = reader.kiosk_board() {
        kiosk_may_show(own, &selection)?;
    }
    let mut board = state.boards().resolve(&selection).map_err(|e| match e {
        BoardError::Unknown(m) => AppError::not_found(m),
        BoardError::Invalid(m) => AppError::bad_request(m),
    })?;
    if reader.kiosk_board().is_some() {
        // The boards a rotation goes on to are not the kiosk's to read.
        board.rotate.clear();
    }
    let projects: Vec<GlProject> = state
        .readable_projects(&reader)
        .await?
        .into_iter()
        .filter(|p| board.shows(p))
        .collect();
    let count = projects.len() as u32;
    let read = futures::future::join_all(projects.into_iter().map(|gl| tiles_of(&state, &board, gl))).await;
    let last_failure = read.iter().filter_map(|(_, history)| history.last_failure).max();
    let tiles: Vec<Tile> = read.into_iter().flat_map(|(tiles, _)| tiles).collect();
    let (tiles, green, more) = arrange(tiles, board.hide_green);
    Ok(Json(Wall {
        title: board.title,
        version: crate::spa::build().to_owned(),
        tiles,
        green,
        more,
        projects: count,
        last_failure,
        columns: board.columns,
        rotate: board.rotate,
        every: board.every,
        read_at: chrono::Utc::now().into(),
    }))
}

/// A kiosk screen shows its own board as configured: how it is laid out may change (columns,
/// `hide_green`), not what it shows.
fn kiosk_may_show(own: &str, asked: &Selection) -> AppResult<()> {
    if asked.board.as_deref() != Some(own) {
        return Err(AppError::forbidden(format!(
            "This kiosk screen shows the board `{own}` only (/wall/{own})."
        )));
    }
    let widened = [&asked.projects, &asked.refs, &asked.environments, &asked.rotate];
    if widened.iter().any(|p| p.is_some()) {
        return Err(AppError::forbidden(format!(
            "This kiosk screen shows the board `{own}` as configured: its projects, refs, environments and rotation cannot be changed from the screen."
        )));
    }
    Ok(())
}

/// A project's tiles: its default branch (unless the board's refs leave it out) and the other
/// refs the board names, or else the refs configured for every card.
async fn tiles_of(state: &AppState, board: &Board, gl: GlProject) -> (Vec<Tile>, History) {
    let project_id = gl.id;
    let (card, history) = card_with_history(state, gl, REFS_READ).await;
    let project = card.project.path_with_namespace.clone();
    let branch = card.project.default_branch.clone().unwrap_or_else(|| "main".into());
    let tile = |git_ref: String| Tile {
        project: project.clone(),
        git_ref,
        status: None,
        stages: Vec::new(),
        started_at: None,
        last_duration: history.last_duration,
        broken: None,
        environments: Vec::new(),
        error: None,
    };
    if let Some(error) = card.error {
        return (
            vec![Tile {
                error: Some(error),
                ..tile(branch)
            }],
            history,
        );
    }
    let wanted = |git_ref: &str| board.refs.is_empty() || board.refs.iter().any(|r| matches(r, git_ref));
    let mut tiles = Vec::new();
    if wanted(&branch) {
        let mut main = match card.latest {
            Some(p) => of_pipeline(tile(branch), p),
            None => tile(branch),
        };
        main.broken = card.broken_since.map(|b| Broken {
            since: b.since,
            by: b.authors,
        });
        main.environments = environments(state, board, project_id).await;
        tiles.push(main);
    }
    // The board's refs, or else those configured for every card (STAGEBOARD_REFS).
    if !board.refs.is_empty() || !state.refs().is_recent() {
        for p in card.other_refs.into_iter().filter(|p| wanted(&p.git_ref)) {
            let label = match &p.merge_request {
                Some(mr) => format!("!{} {}", mr.iid, mr.title),
                None => p.git_ref.clone(),
            };
            let mut other = of_pipeline(tile(label), p.clone());
            // Only its latest pipeline is read: it broke the ref, as far as the wall knows.
            if p.status == Status::Failed {
                let by = p.user.map(|u| u.name).or_else(|| p.commit.map(|c| c.author_name));
                other.broken = Some(Broken {
                    since: p.finished_at.or(p.updated_at),
                    by: by.into_iter().collect(),
                });
            }
            tiles.push(other);
        }
    }
    (tiles, history)
}

fn of_pipeline(tile: Tile, p: Pipeline) -> Tile {
    Tile {
        status: Some(p.status),
        stages: p.stages,
        started_at: p.started_at.or(p.created_at),
        ..tile
    }
}

/// The environments strip: those the board names, or a few top-level ones (not review apps),
/// lowest tier first. Left empty when they cannot be read: the pipeline still shows.
async fn environments(state: &AppState, board: &Board, project: u64) -> Vec<TileEnvironment> {
    let Ok(all) = super::environments::of_project(state, project).await else {
        return Vec::new();
    };
    let mut shown: Vec<Environment> = all
        .into_iter()
        .filter(|e| e.state != "stopped")
        .filter(|e| match board.environments.as_slice() {
            [] => e.folder.is_none(),
            names => names.iter().any(|n| matches(n, &e.name)),
        })
        .collect();
    shown.sort_by_key(|e| (tier_rank(e.tier.as_deref()), e.name.clone()));
    if board.environments.is_empty() {
        shown.truncate(DEFAULT_ENVIRONMENTS);
    }
    shown
        .into_iter()
        .map(|e| TileEnvironment {
            deployed: e.last_deployment.as_ref().map(|d| d.git_ref.clone()),
            status: e.last_deployment.map(|d| d.status),
            health: e.cluster.map(|c| c.health.status),
            waiting: e.waiting.into_iter().next().map(|w| w.job_name),
            name: e.name,
        })
        .collect()
}

/// Development first, production last, as a pipeline carries a change.
fn tier_rank(tier: Option<&str>) -> u8 {
    match tier {
        Some("development") => 0,
        Some("testing") => 1,
        Some("staging") => 2,
        Some("production") => 3,
        _ => 4,
    }
}

/// Failed, unreadable, running, then the rest; alike in the order of their names, so tiles do
/// not move about. Successes fold into a count when `hide_green`, unless an environment of
/// theirs is degraded; past [`MAX_TILES`], the best are counted instead of shown.
fn arrange(mut tiles: Vec<Tile>, hide_green: bool) -> (Vec<Tile>, u32, u32) {
    let rank = |t: &Tile| match (&t.error, &t.status) {
        (_, Some(Status::Failed)) => 0,
        (Some(_), _) => 1,
        (_, Some(s)) if s.is_active() => 2,
        _ => 3,
    };
    tiles.sort_by(|a, b| (rank(a), &a.project, &a.git_ref).cmp(&(rank(b), &b.project, &b.git_ref)));
    let mut green = 0;
    if hide_green {
        tiles.retain(|t| {
            let degraded = t
                .environments
                .iter()
                .any(|e| e.health == Some(stageboard_protocol::HealthStatus::Degraded));
            let fold = t.status == Some(Status::Success) && t.error.is_none() && !degraded;
            green += u32::from(fold);
            !fold
        });
    }
    let more = tiles.len().saturating_sub(MAX_TILES) as u32;
    tiles.truncate(MAX_TILES);
    (tiles, green, more)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tile(project: &str, status: Option<Status>) -> Tile {
        Tile {
            project: project.into(),
            git_ref: "main".into(),
            status,
            stages: Vec::new(),
            started_at: None,
            last_duration: None,
            broken: None,
            environments: Vec::new(),
            error: None,
        }
    }

    #[test]
    fn failures_come_first_then_running_then_the_rest() {
        let unreadable = Tile {
            error: Some("GitLab answered 500".into()),
            ..tile("c/unreadable", None)
        };
        let tiles = vec![
            tile("a/green", Some(Status::Success)),
            tile("b/running", Some(Status::Running)),
            unreadable,
            tile("z/red", Some(Status::Failed)),
            tile("a/red", Some(Status::Failed)),
            tile("d/pending", Some(Status::Pending)),
        ];
        let (shown, green, more) = arrange(tiles, false);
        let order: Vec<&str> = shown.iter().map(|t| t.project.as_str()).collect();
        assert_eq!(
            order,
            ["a/red", "z/red", "c/unreadable", "b/running", "d/pending", "a/green"]
        );
        assert_eq!((green, more), (0, 0));
    }

    #[test]
    fn hidden_successes_are_counted_unless_their_environment_is_degraded() {
        let degraded = Tile {
            environments: vec![TileEnvironment {
                name: "production".into(),
                deployed: Some("main".into()),
                status: Some(Status::Success),
                health: Some(stageboard_protocol::HealthStatus::Degraded),
                waiting: None,
            }],
            ..tile("b/green-but-down", Some(Status::Success))
        };
        let tiles = vec![
            tile("a/green", Some(Status::Success)),
            degraded,
            tile("c/red", Some(Status::Failed)),
            tile("d/green", Some(Status::Success)),
        ];
        let (shown, green, _) = arrange(tiles, true);
        let order: Vec<&str> = shown.iter().map(|t| t.project.as_str()).collect();
        assert_eq!(order, ["c/red", "b/green-but-down"]);
        assert_eq!(green, 2);
    }

    #[test]
    fn past_sixty_tiles_the_best_are_counted() {
        let mut tiles: Vec<Tile> = (0..70)
            .map(|i| tile(&format!("p/{i:02}"), Some(Status::Success)))
            .collect();
        tiles.push(tile("z/red", Some(Status::Failed)));
        let (shown, _, more) = arrange(tiles, false);
        assert_eq!((shown.len(), more), (MAX_TILES, 11));
        assert_eq!(shown[0].project, "z/red", "a failure is never left out");
    }
}
