//! `/api/v1/kiosk-tokens`: kiosk tokens made, listed and revoked by signed-in Maintainers (of
//! every project the token's board shows: a token lets a screen read what they may read).
//! `stageboard kiosk create|list|revoke` does the same from the server's command line.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use stageboard_protocol::{ErrorBody, ErrorCode, KioskToken, KioskTokenRequest, KioskTokens, NewKioskToken};

use super::extract::Path;
use crate::app::AppState;
use crate::audit::Actor;
use crate::error::{AppError, AppResult};

/// GitLab's Maintainer access level.
const MAINTAINER: u32 = 40;
/// The longest label.
const MAX_LABEL: usize = 100;

/// The boards `actor` may make kiosk tokens for: every configured board all of whose projects
/// they maintain. Refused outright when nobody is signed in, or for a kiosk screen.
async fn maintained_boards(state: &AppState, actor: &Actor) -> AppResult<Vec<String>> {
    if actor.kiosk {
        return Err(crate::kiosk::may_not_act());
    }
    let signed_in = match &actor.session {
        Some(session) => crate::auth::signed_in(state, session).await.map(|p| (session, p)),
        None => None,
    };
    let Some((session, person)) = signed_in else {
        return Err(AppError::new(
            StatusCode::UNAUTHORIZED,
            ErrorCode::Unauthorized,
            "Sign in with GitLab to manage kiosk screens: Maintainers of a board's projects make its tokens.",
        ));
    };
    // The watched projects once, and each project's role once, however many boards show it.
    let watched = state.watched_projects().await?;
    let shown: Vec<(&str, Vec<u64>)> = state
        .boards()
        .names()
        .map(|name| (name, crate::kiosk::shown_by(state, name, &watched)))
        .collect();
    let mut projects: Vec<u64> = shown.iter().flat_map(|(_, p)| p.iter().copied()).collect();
    projects.sort_unstable();
    projects.dedup();
    let levels = futures::future::join_all(
        projects
            .iter()
            .map(|&p| super::refusals::access_level(state, session, &person, p)),
    )
    .await;
    let maintains = |p: &u64| {
        projects
            .binary_search(p)
            .is_ok_and(|i| levels[i].is_some_and(|l| l >= MAINTAINER))
    };
    let boards = shown
        .into_iter()
        .filter(|(_, p)| !p.is_empty() && p.iter().all(maintains))
        .map(|(name, _)| name.to_owned())
        .collect();
    Ok(boards)
}

fn not_yours(board: &str) -> AppError {
    AppError::forbidden(format!(
        "Only a Maintainer of every project the board `{board}` shows may make or revoke its kiosk tokens."
    ))
}

/// The person who is signed in (list and revoke: they may always see and revoke the tokens they
/// made, whatever their boards have become).
fn maker(actor: &Actor) -> &str {
    &actor.person
}

/// The kiosk tokens of the boards the person maintains and those they made, and the boards.
#[utoipa::path(get, path = "/api/v1/kiosk-tokens", tag = "kiosk",
    responses((status = 200, body = KioskTokens), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)))]
pub async fn list(State(state): State<AppState>, actor: Actor) -> AppResult<Json<KioskTokens>> {
    let boards = maintained_boards(&state, &actor).await?;
    let tokens = state
        .store()
        .kiosk_list()
        .await
        .map_err(AppError::store)?
        .into_iter()
        .filter(|t| boards.contains(&t.board) || t.created_by == maker(&actor))
        .collect();
    Ok(Json(KioskTokens { tokens, boards }))
}

/// Makes a kiosk token for a board; the token is in this answer only.
#[utoipa::path(post, path = "/api/v1/kiosk-tokens", tag = "kiosk", request_body = KioskTokenRequest,
    responses((status = 201, body = NewKioskToken), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)))]
pub async fn create(
    State(state): State<AppState>,
    actor: Actor,
    super::extract::Json(request): super::extract::Json<KioskTokenRequest>,
) -> AppResult<(StatusCode, Json<NewKioskToken>)> {
    let label = request.label.trim();
    if label.chars().count() > MAX_LABEL {
        return Err(AppError::bad_request(format!(
            "The label is {} characters long; at most {MAX_LABEL} (say which screen it is, e.g. lobby TV).",
            label.chars().count()
        )));
    }
    if !state.boards().names().any(|b| b == request.board) {
        let known: Vec<&str> = state.boards().names().collect();
        return Err(AppError::bad_request(if known.is_empty() {
            "No board is configured (STAGEBOARD_BOARDS): a kiosk token shows one board.".to_owned()
        } else {
            format!(
                "There is no board `{}`; the boards are {}.",
                crate::error::Shortened(&request.board),
                known.join(", ")
            )
        }));
    }
    if !maintained_boards(&state, &actor).await?.contains(&request.board) {
        return Err(not_yours(&request.board));
    }
    let token = crate::kiosk::new_token();
    // The screen reads no more than its maker could vouch for today, whatever the board
    // shows later.
    let vouched = crate::kiosk::board_projects(&state, &request.board).await?;
    let kiosk = state
        .store()
        .kiosk_create(&token, &request.board, Some(&vouched), label, &actor.person)
        .await
        .map_err(AppError::store)?;
    tracing::info!(board = %kiosk.board, id = kiosk.id, by = %actor.person, "kiosk token made");
    let path = format!("/wall/{}?kiosk={token}", kiosk.board);
    Ok((StatusCode::CREATED, Json(NewKioskToken { kiosk, token, path })))
}

/// Revokes a kiosk token: screens holding it stop at their next read.
#[utoipa::path(delete, path = "/api/v1/kiosk-tokens/{id}", tag = "kiosk", params(("id" = i64, Path)),
    responses((status = 200, body = KioskToken), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn revoke(State(state): State<AppState>, actor: Actor, Path(id): Path<i64>) -> AppResult<Json<KioskToken>> {
    let boards = maintained_boards(&state, &actor).await?;
    let gone = || {
        AppError::not_found(format!(
            "There is no kiosk token {id} to revoke (or it is revoked already)."
        ))
    };
    let kiosk = state
        .store()
        .kiosk_get(id)
        .await
        .map_err(AppError::store)?
        .ok_or_else(gone)?
        .token;
    if !boards.contains(&kiosk.board) && kiosk.created_by != maker(&actor) {
        return Err(not_yours(&kiosk.board));
    }
    if !state.store().kiosk_revoke(id).await.map_err(AppError::store)? {
        return Err(gone());
    }
    tracing::info!(board = %kiosk.board, id, by = %actor.person, "kiosk token revoked");
    let revoked = state
        .store()
        .kiosk_any(id)
        .await
        .map_err(AppError::store)?
        .ok_or_else(gone)?;
    Ok(Json(revoked.token))
}
