//! Every route of the server, declared once: each API handler is registered through its
//! `#[utoipa::path]`, so the router and `/api/v1/openapi.json` cannot disagree.

use axum::{Extension, Router};
use tower_http::trace::TraceLayer;
use utoipa::OpenApi;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::api::{
    audit, environments, events, hooks, jobs, kiosk, me, meta, openapi, overview, pipelines, projects, runners, wall,
};
use crate::app::AppState;
use crate::error::AppError;
use crate::spa;

/// The routes and the OpenAPI document they make. Unknown paths go to the SPA, which answers
/// unknown `/api/` paths with the API's 404.
pub fn routes() -> (Router<AppState>, utoipa::openapi::OpenApi) {
    let api = OpenApiRouter::with_openapi(openapi::ApiDoc::openapi())
        .routes(routes!(openapi::document))
        .routes(routes!(meta::info))
        .routes(routes!(events::events))
        .routes(routes!(overview::overview))
        .routes(routes!(runners::runners))
        .routes(routes!(wall::wall))
        .routes(routes!(projects::list))
        .routes(routes!(pipelines::list))
        .routes(routes!(pipelines::show))
        .routes(routes!(pipelines::retry))
        .routes(routes!(pipelines::cancel))
        .routes(routes!(environments::grid))
        .routes(routes!(environments::list))
        .routes(routes!(environments::show))
        .routes(routes!(environments::stop))
        .routes(routes!(environments::approve))
        .routes(routes!(jobs::show))
        .routes(routes!(jobs::log))
        .routes(routes!(jobs::raw))
        .routes(routes!(jobs::retry))
        .routes(routes!(jobs::cancel))
        .routes(routes!(jobs::play))
        .routes(routes!(audit::list))
        .routes(routes!(kiosk::list, kiosk::create))
        .routes(routes!(kiosk::revoke))
        .routes(routes!(me::me))
        .routes(routes!(meta::health))
        .routes(routes!(crate::api::cctray::feed))
        .routes(routes!(meta::metrics))
        .routes(routes!(crate::headers::csp_report))
        .routes(routes!(hooks::receive));
    #[cfg(feature = "demo")]
    let api = api
        .routes(routes!(crate::api::demo::advance))
        .routes(routes!(crate::api::demo::faults))
        .routes(routes!(crate::api::demo::runners));
    let (routes, mut document) = api.split_for_parts();
    openapi::add_guard_answers(&mut document);
    (routes, document)
}

pub fn router(state: AppState) -> Router {
    let (routes, document) = routes();
    let sign_in = Router::new()
        .route("/auth/login", axum::routing::get(crate::auth::login))
        .route("/auth/callback", axum::routing::get(crate::auth::callback))
        .route("/auth/logout", axum::routing::post(crate::auth::logout))
        // Replicas read through the leading one (docs/operations.md, "Replicas").
        .route("/internal/v1/read", axum::routing::post(crate::replicas::read));
    routes
        .merge(sign_in)
        .method_not_allowed_fallback(method_not_allowed)
        .fallback(spa::serve)
        .layer(crate::auth::layer(state.sessions().clone(), state.https()))
        .layer(Extension(std::sync::Arc::new(document)))
        .layer(axum::middleware::from_fn(crate::listen::answer_late_bodies))
        .layer(axum::middleware::from_fn_with_state(state.clone(), crate::guard::check))
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            crate::headers::secure,
        ))
        // The path only: a query can carry a kiosk token (`/cc.xml?kiosk=`), which no log holds.
        .layer(TraceLayer::new_for_http().make_span_with(|request: &axum::http::Request<axum::body::Body>| {
            tracing::debug_span!("request", method = %request.method(), path = %request.uri().path())
        }))
        // Every request has an id (the client's X-Request-Id, or a new one), answered back and
        // written to the audit log with any action it makes.
        .layer(tower_http::request_id::PropagateRequestIdLayer::x_request_id())
        .layer(tower_http::request_id::SetRequestIdLayer::x_request_id(
            tower_http::request_id::MakeRequestUuid,
        ))
        .with_state(state)
}

async fn method_not_allowed() -> AppError {
    AppError::new(
        axum::http::StatusCode::METHOD_NOT_ALLOWED,
        stageboard_protocol::ErrorCode::BadRequest,
        "This route does not take that method; see /api/v1/openapi.json.",
    )
}
