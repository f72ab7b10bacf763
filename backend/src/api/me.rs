//! Who is signed in.

use axum::Json;
use stageboard_protocol::{ErrorBody, ErrorCode, User};
use tower_sessions::Session;

use crate::error::{AppError, AppResult};

/// The signed-in person, or 401 when nobody is.
#[utoipa::path(get, path = "/api/v1/me", tag = "auth",
    responses((status = 200, body = User), (status = 401, body = ErrorBody)))]
pub async fn me(
    axum::extract::State(state): axum::extract::State<crate::app::AppState>,
    session: Session,
) -> AppResult<Json<User>> {
    match crate::auth::signed_in(&state, &session).await {
        Some(person) => Ok(Json(person.user())),
        None => Err(AppError::new(
            axum::http::StatusCode::UNAUTHORIZED,
            ErrorCode::Unauthorized,
            "Nobody is signed in: sign in with GitLab at /auth/login.",
        )),
    }
}
