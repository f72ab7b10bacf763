//! Extractors whose rejections use the API's one error shape.

use axum::body::{Body, Bytes};
use axum::extract::rejection::{JsonRejection, PathRejection, QueryRejection};
use axum::extract::{FromRequest, FromRequestParts, Request};
use serde::de::DeserializeOwned;

use crate::error::AppError;

/// Path parameters; a non-numeric or negative id is a 400 with a readable reason.
#[derive(FromRequestParts)]
#[from_request(via(axum::extract::Path), rejection(AppError))]
pub struct Path<T>(pub T);

impl From<PathRejection> for AppError {
    fn from(rejection: PathRejection) -> Self {
        AppError::bad_request(format!(
            "Ids in the URL are positive whole numbers ({}).",
            rejection.body_text().trim_start_matches("Invalid URL: ")
        ))
    }
}

#[derive(FromRequestParts)]
#[from_request(via(axum::extract::Query), rejection(AppError))]
pub struct Query<T>(pub T);

impl From<QueryRejection> for AppError {
    fn from(rejection: QueryRejection) -> Self {
        AppError::bad_request(format!(
            "The query string is not valid: {}.",
            rejection
                .body_text()
                .trim_start_matches("Failed to deserialize query string: ")
        ))
    }
}

/// A JSON object body (with `Content-Type: application/json`); anything else is a 400 that
/// says what is wrong with it. Every body of this API is an object, so a list is refused even
/// where serde would read it as the struct's fields in order.
pub struct Json<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequest<S> for Json<T> {
    type Rejection = AppError;

    async fn from_request(request: Request, state: &S) -> Result<Self, AppError> {
        let axum::Json(value) = axum::Json::<serde_json::Value>::from_request(request, state).await?;
        if !value.is_object() {
            return Err(AppError::bad_request(
                "The body must be a JSON object; see /api/v1/openapi.json.",
            ));
        }
        serde_json::from_value(value).map(Json).map_err(|e| {
            AppError::bad_request(format!(
                "The body is not what this route takes ({e}); see /api/v1/openapi.json."
            ))
        })
    }
}

impl From<JsonRejection> for AppError {
    fn from(rejection: JsonRejection) -> Self {
        AppError::bad_request(format!(
            "The body is not JSON this route can read ({}); see /api/v1/openapi.json.",
            rejection.body_text()
        ))
    }
}

/// A JSON body that may be left out: an empty body is `T::default()`.
pub struct OptionalJson<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned + Default> FromRequest<S> for OptionalJson<T> {
    type Rejection = AppError;

    async fn from_request(request: Request, state: &S) -> Result<Self, AppError> {
        let (parts, body) = request.into_parts();
        let bytes = Bytes::from_request(Request::from_parts(parts.clone(), body), state)
            .await
            .map_err(|e| AppError::bad_request(format!("The body could not be read ({}).", e.body_text())))?;
        if bytes.iter().all(u8::is_ascii_whitespace) {
            return Ok(OptionalJson(T::default()));
        }
        let Json(value) = Json::from_request(Request::from_parts(parts, Body::from(bytes)), state).await?;
        Ok(OptionalJson(value))
    }
}
