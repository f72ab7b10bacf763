//! The OpenAPI document's frame; its paths come from the router (`crate::router::routes`),
//! which registers every handler through its `#[utoipa::path]`.

use std::sync::Arc;

use axum::{Extension, Json};
use utoipa::OpenApi;

#[derive(OpenApi)]
#[openapi(info(
    title = "stageboard API",
    description = "GitLab pipelines, jobs and logs for the stageboard dashboard. Errors always use the ErrorBody shape."
))]
pub struct ApiDoc;

/// This document: every route the server answers, with its parameters and answers.
#[utoipa::path(get, path = "/api/v1/openapi.json", tag = "meta", responses((status = 200, description = "OpenAPI 3.1")))]
pub async fn document(Extension(document): Extension<Arc<utoipa::openapi::OpenApi>>) -> Json<utoipa::openapi::OpenApi> {
    Json(document.as_ref().clone())
}

/// Adds the answers the layers around every handler can give ([`crate::guard::check`], axum's
/// extractors), so that the document lists every status a client can meet, not only those its
/// handler chooses: 421 for another host name; 400 for a malformed parameter; and, on requests
/// that change something, 403 from another site, 413 for a body too large and 415 without JSON;
/// 401 from the API's sign-in checks (every action, and reads where STAGEBOARD_ACCESS=login).
pub fn add_guard_answers(document: &mut utoipa::openapi::OpenApi) {
    use utoipa::openapi::{ContentBuilder, Ref, RefOr, ResponseBuilder};
    let error = |description: &str| {
        RefOr::T(
            ResponseBuilder::new()
                .description(description)
                .content(
                    "application/json",
                    ContentBuilder::new()
                        .schema(Some(Ref::from_schema_name("ErrorBody")))
                        .build(),
                )
                .build(),
        )
    };
    for (path, item) in document.paths.paths.iter_mut() {
        let by_address = path == "/health" || path == "/metrics";
        let posted_by_others = path == "/hooks/gitlab" || path == crate::headers::CSP_REPORTS;
        let open = ["/api/v1/info", "/api/v1/openapi.json", crate::headers::CSP_REPORTS].contains(&path.as_str())
            || path.starts_with("/api/v1/demo/");
        let signed_in = path.starts_with("/api/v1/") && !open;
        for (changes, operation) in [
            (false, item.get.as_mut()),
            (true, item.post.as_mut()),
            (true, item.delete.as_mut()),
        ] {
            let Some(operation) = operation else { continue };
            let answers = &mut operation.responses.responses;
            let mut add = |status: &str, description: &str| {
                answers.entry(status.to_owned()).or_insert_with(|| error(description));
            };
            add(
                "408",
                "The request was not read and answered in time (a body sent too slowly)",
            );
            if !by_address {
                add("421", "The request names a host this server does not answer to");
            }
            if operation.parameters.as_ref().is_some_and(|p| !p.is_empty()) || changes {
                add("400", "A parameter or the body is not what this route takes");
            }
            if signed_in {
                add(
                    "401",
                    "Nobody is signed in: every action needs a sign-in, and so do reads where STAGEBOARD_ACCESS=login",
                );
            }
            if changes {
                add("408", "The body did not arrive in time (sent too slowly)");
                add("413", "The body is larger than this route takes");
            }
            if changes && !posted_by_others {
                add("403", "Sent from another site");
                add("415", "The body is not declared as JSON");
            }
        }
    }
}
