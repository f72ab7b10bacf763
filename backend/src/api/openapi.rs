use axum::Json;
use utoipa::OpenApi;

#[derive(OpenApi)]
#[openapi(
    info(
        title = "stageboard API",
        description = "GitLab pipelines, jobs and logs for the stageboard dashboard. Errors always use the ErrorBody shape."
    ),
    paths(
        super::overview::overview,
        super::projects::list,
        super::pipelines::list,
        super::pipelines::show,
        super::pipelines::retry,
        super::pipelines::cancel,
        super::environments::list,
        super::environments::show,
        super::environments::stop,
        super::jobs::show,
        super::jobs::log,
        super::jobs::raw,
        super::jobs::retry,
        super::jobs::cancel,
        super::jobs::play,
        super::meta::info,
        super::meta::health,
        super::meta::advance,
        super::meta::faults,
        super::meta::metrics,
        super::events::events,
        super::hooks::receive,
    )
)]
pub struct ApiDoc;

pub async fn document() -> Json<utoipa::openapi::OpenApi> {
    Json(ApiDoc::openapi())
}
