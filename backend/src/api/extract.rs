//! Extractors whose rejections use the API's one error shape.

use axum::extract::FromRequestParts;
use axum::extract::rejection::{PathRejection, QueryRejection};

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
