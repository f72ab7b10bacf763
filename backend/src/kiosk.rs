//! Kiosk screens: a TV that cannot sign in shows one wall board with a kiosk token. The token
//! (made by a Maintainer in the UI or by `stageboard kiosk create`) is opened once in the
//! screen's address, `/wall/<board>?kiosk=<token>`; the server then keeps it as the session's
//! grant (a cookie) and sends the screen to the address without it. A kiosk session reads its
//! board and nothing else, and every action answers 403. Revoking the token ends every session
//! that holds it, at their next request.

use stageboard_protocol::ErrorCode;
use tower_sessions::Session;

use crate::app::AppState;
use crate::boards::Selection;
use crate::error::{AppError, AppResult};
use crate::store::kiosk::Kiosk;

/// Where a kiosk session keeps its token's id.
pub const SESSION_KEY: &str = "kiosk";

/// Where a kiosk session notes when it was last kept alive.
const TOUCHED_KEY: &str = "kiosk_touched";

/// Last use is written at most this often per token (a wall reads every few seconds).
const USE_NOTED_EVERY: i64 = 60;

/// A kiosk session is saved again this often, so it outlives the sessions' inactivity expiry
/// (which counts from the last save) for as long as its screen reads.
const TOUCH_EVERY: i64 = 3600;

/// What a kiosk session may read: its wall, its events (not job logs) and the cctray feed.
pub const READS: [&str; 3] = ["/api/v1/wall", "/api/v1/events", "/cc.xml"];

/// A new token: `sbk_` and 32 random bytes, URL-safe.
pub fn new_token() -> String {
    use base64::Engine;
    use rand::RngCore;
    let mut bytes = [0u8; 32];
    rand::rng().fill_bytes(&mut bytes);
    format!("sbk_{}", base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes))
}

fn revoked() -> AppError {
    AppError::new(
        axum::http::StatusCode::UNAUTHORIZED,
        ErrorCode::Unauthorized,
        "This screen's kiosk token has been revoked, or is not valid: ask a Maintainer for a new kiosk address.",
    )
}

/// A kiosk session may not act.
pub fn may_not_act() -> AppError {
    AppError::forbidden(
        "This is a kiosk screen: it shows its board and does nothing else. Sign in on your own device to act.",
    )
}

/// Whether the session is a kiosk's (its grant may since have been revoked).
pub async fn is_kiosk(session: &Session) -> bool {
    matches!(session.get::<i64>(SESSION_KEY).await, Ok(Some(_)))
}

/// The kiosk token the session holds, still valid; `None` for a session that is not a
/// kiosk's. A revoked token ends the grant (401).
pub async fn of_session(state: &AppState, session: &Session, from: Option<String>) -> AppResult<Option<Kiosk>> {
    let Ok(Some(id)) = session.get::<i64>(SESSION_KEY).await else {
        return Ok(None);
    };
    match state.store().kiosk_get(id).await.map_err(AppError::store)? {
        Some(kiosk) => {
            note_use(state, &kiosk, from).await;
            let now = chrono::Utc::now().timestamp();
            let touched = session.get::<i64>(TOUCHED_KEY).await.ok().flatten().unwrap_or(0);
            if now - touched >= TOUCH_EVERY {
                let _ = session.insert(TOUCHED_KEY, now).await;
            }
            Ok(Some(kiosk))
        }
        None => {
            let _ = session.remove::<i64>(SESSION_KEY).await;
            Err(revoked())
        }
    }
}

/// The token sent with a request for the cctray feed (HTTP Basic's password, or `?kiosk=`).
pub async fn of_token(state: &AppState, token: &str, from: Option<String>) -> AppResult<Kiosk> {
    let kiosk = state
        .store()
        .kiosk_find(token)
        .await
        .map_err(AppError::store)?
        .ok_or_else(revoked)?;
    note_use(state, &kiosk, from).await;
    Ok(kiosk)
}

async fn note_use(state: &AppState, kiosk: &Kiosk, from: Option<String>) {
    let recent = kiosk
        .token
        .last_used_at
        .is_some_and(|t| (chrono::Utc::now() - *t).num_seconds() < USE_NOTED_EVERY);
    if !recent && let Err(e) = state.store().kiosk_used(kiosk.token.id, from.as_deref()).await {
        tracing::warn!(error = %e, "cannot note a kiosk token's use");
    }
}

/// The projects a kiosk screen reads: those its board shows, of those its maker vouched for
/// (none once the board is gone from the configuration).
pub async fn projects(state: &AppState, kiosk: &Kiosk) -> AppResult<Vec<u64>> {
    let mut shown = board_projects(state, &kiosk.token.board).await?;
    if let Some(vouched) = &kiosk.projects {
        shown.retain(|p| vouched.contains(p));
    }
    Ok(shown)
}

/// The watched projects a board shows (none for a board not configured).
pub async fn board_projects(state: &AppState, board: &str) -> AppResult<Vec<u64>> {
    Ok(shown_by(state, board, &state.watched_projects().await?))
}

/// Of the `watched` projects, those a board shows (none for a board not configured).
pub fn shown_by(state: &AppState, board: &str, watched: &[crate::gitlab::types::GlProject]) -> Vec<u64> {
    let asked = Selection {
        board: Some(board.to_owned()),
        ..Selection::default()
    };
    let Ok(board) = state.boards().resolve(&asked) else {
        return Vec::new();
    };
    watched.iter().filter(|p| board.shows(p)).map(|p| p.id).collect()
}

/// `/wall/<board>?kiosk=<token>`: the session becomes the kiosk's (whoever was signed in on
/// this browser is signed out).
pub async fn exchange(
    state: &AppState,
    session: &Session,
    board: &str,
    token: &str,
    from: Option<String>,
) -> AppResult<()> {
    let kiosk = of_token(state, token, from).await?.token;
    if kiosk.board != board {
        return Err(AppError::forbidden(format!(
            "This kiosk token shows the board `{}`: open /wall/{}?kiosk=… with it.",
            kiosk.board, kiosk.board
        )));
    }
    // A link from elsewhere must not sign a person out (nor leave their sign-in ungone).
    if let Some(person) = crate::auth::signed_in(state, session).await {
        return Err(AppError::forbidden(format!(
            "You are signed in on this browser as @{}: a kiosk address is for a screen nobody signs in on. Sign out first, then open it again.",
            person.username
        )));
    }
    let kept = async {
        session.clear().await;
        session.cycle_id().await?;
        session.insert(SESSION_KEY, kiosk.id).await?;
        session.insert(TOUCHED_KEY, chrono::Utc::now().timestamp()).await
    };
    kept.await.map_err(|e| {
        tracing::error!(error = %e, "a kiosk session cannot be kept");
        AppError::new(
            axum::http::StatusCode::SERVICE_UNAVAILABLE,
            ErrorCode::Busy,
            "The kiosk session could not be kept just now; try again shortly.",
        )
    })
}

/// `stageboard kiosk create|list|revoke`: the same as the UI, from the server's command line,
/// on the server's store.
pub async fn command(command: crate::config::KioskCommand, args: &crate::config::ServeArgs) -> Result<(), String> {
    use crate::config::KioskCommand;
    let store = crate::store::Store::open(&crate::store::StoreConfig {
        data_dir: args.data_dir.clone(),
        database_url: args.database_url.clone(),
        secret_key: args.secret_key.clone(),
    })
    .await?;
    let failed = |e: crate::store::StoreError| format!("the kiosk tokens cannot be read or written: {e}");
    let time = |t: Option<&stageboard_protocol::Timestamp>| {
        t.map_or_else(|| "never".to_owned(), |t| t.format("%Y-%m-%d %H:%M UTC").to_string())
    };
    match command {
        KioskCommand::Create { board, label } => {
            let boards = crate::boards::Boards::parse(&args.boards)?;
            if !boards.names().any(|b| b == board) {
                let known: Vec<&str> = boards.names().collect();
                return Err(if known.is_empty() {
                    "no board is configured (STAGEBOARD_BOARDS): a kiosk token shows one board.".into()
                } else {
                    format!("there is no board `{board}`; the boards are {}.", known.join(", "))
                });
            }
            let token = new_token();
            let kiosk = store
                .kiosk_create(&token, &board, None, label.trim(), "command line")
                .await
                .map_err(failed)?;
            let base = match &args.public_url {
                Some(url) => url.as_str().trim_end_matches('/').to_owned(),
                None => format!("http://{}", args.listen),
            };
            println!("Kiosk token {} for the board `{board}`: {token}", kiosk.id);
            println!("Open this once on the screen (the token then becomes its cookie):");
            println!("  {base}/wall/{board}?kiosk={token}");
            println!("Build monitors read {base}/cc.xml with the token as the password (HTTP Basic).");
        }
        KioskCommand::List => {
            let tokens = store.kiosk_list().await.map_err(failed)?;
            if tokens.is_empty() {
                println!("No kiosk tokens.");
            }
            for t in tokens {
                let state = match &t.revoked_at {
                    Some(at) => format!("revoked {}", time(Some(at))),
                    None => "active".to_owned(),
                };
                println!(
                    "{}\t{}\t{}\tmade {} by {}\tlast used {}{}\t{state}",
                    t.id,
                    t.board,
                    if t.label.is_empty() { "-" } else { &t.label },
                    time(Some(&t.created_at)),
                    t.created_by,
                    time(t.last_used_at.as_ref()),
                    t.last_used_from.map(|f| format!(" from {f}")).unwrap_or_default(),
                );
            }
        }
        KioskCommand::Revoke { id } => {
            if !store.kiosk_revoke(id).await.map_err(failed)? {
                return Err(format!(
                    "there is no kiosk token {id} to revoke (or it is revoked already)."
                ));
            }
            println!("Kiosk token {id} is revoked: screens holding it stop at their next read.");
        }
    }
    store.close().await;
    Ok(())
}

#[cfg(test)]
mod tests {
    #[test]
    fn tokens_are_long_random_and_url_safe() {
        let (a, b) = (super::new_token(), super::new_token());
        assert_ne!(a, b);
        assert!(a.starts_with("sbk_") && a.len() == 4 + 43, "{a}");
        assert!(
            a[4..]
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
        );
    }
}
