//! Headers every answer carries (pages, API, errors, static files), so that a browser confines
//! the app to what it needs: its own scripts and wasm, its own server, no framing, no sniffing,
//! no referrer to the deployments it links to. API answers are never stored by caches.

use std::sync::OnceLock;

use axum::extract::{Request, State};
use axum::http::{HeaderValue, header};
use axum::middleware::Next;
use axum::response::Response;
use base64::Engine;

use crate::app::AppState;

/// Where browsers report what the policy blocked (counted in `stageboard_csp_violations_total`).
pub const CSP_REPORTS: &str = "/api/v1/csp-reports";

/// The Content-Security-Policy. Scripts: the app's own files, its wasm
/// (`'wasm-unsafe-eval'`) and the one inline module Trunk writes into `index.html` to start it,
/// allowed by its hash. Styles may be inline: Leptos sets `style` attributes (the timing bars).
pub fn content_security_policy() -> &'static HeaderValue {
    static POLICY: OnceLock<HeaderValue> = OnceLock::new();
    POLICY.get_or_init(|| {
        let inline: String = crate::spa::inline_scripts()
            .iter()
            .map(|script| {
                let digest = ring::digest::digest(&ring::digest::SHA256, script.as_bytes());
                format!(" 'sha256-{}'", base64::engine::general_purpose::STANDARD.encode(digest))
            })
            .collect();
        let policy = format!(
            "default-src 'self'; script-src 'self' 'wasm-unsafe-eval'{inline}; style-src 'self' 'unsafe-inline'; \
             img-src 'self' data:; connect-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; \
             frame-ancestors 'none'; report-uri {CSP_REPORTS}"
        );
        // Base64 hashes and ASCII directives: always a valid header value.
        HeaderValue::from_str(&policy).expect("an ASCII policy")
    })
}

/// Adds the headers to every answer.
pub async fn secure(State(state): State<AppState>, request: Request, next: Next) -> Response {
    let api = request.uri().path().starts_with("/api/");
    let mut response = next.run(request).await;
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_SECURITY_POLICY, content_security_policy().clone());
    headers.insert(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    headers.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    headers.insert(header::REFERRER_POLICY, HeaderValue::from_static("no-referrer"));
    if api {
        headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    }
    // A year; not includeSubDomains, which would bind sites stageboard does not know of.
    if state.https() {
        headers.insert(
            header::STRICT_TRANSPORT_SECURITY,
            HeaderValue::from_static("max-age=31536000"),
        );
    }
    response
}

/// A browser's report of something the Content-Security-Policy blocked: counted, and its
/// directive logged. The app causes none; a count that grows means an injection attempt or a
/// browser extension.
#[utoipa::path(post, path = "/api/v1/csp-reports", tag = "meta",
    request_body(content = String, content_type = "application/csp-report", description = "the browser's report"),
    responses((status = 204, description = "counted"), (status = 413, body = stageboard_protocol::ErrorBody)))]
pub async fn csp_report(State(state): State<AppState>, body: axum::body::Bytes) -> axum::http::StatusCode {
    state.hub().metrics().csp_violation();
    let directive = serde_json::from_slice::<serde_json::Value>(&body)
        .ok()
        .and_then(|report| {
            report["csp-report"]["violated-directive"]
                .as_str()
                .map(|d| d.chars().take(100).collect::<String>())
        });
    tracing::debug!(?directive, "a browser reported a Content-Security-Policy violation");
    axum::http::StatusCode::NO_CONTENT
}
