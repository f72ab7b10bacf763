//! What a request must be to be served at all. Every request names one of this server's own
//! host names (so a page on another site cannot reach it through DNS rebinding); a request
//! that changes something says it carries JSON and comes from this server's own pages (so
//! another site cannot make a signed-in browser act).

use std::net::IpAddr;

use axum::extract::{Request, State};
use axum::http::{Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use stageboard_protocol::ErrorCode;

use crate::app::AppState;
use crate::error::AppError;

/// The host names a request may be addressed to: this machine's loopback names always, the
/// address stageboard listens on when it is one address, and the configured ones.
#[derive(Debug, Clone, Default)]
pub struct AllowedHosts {
    names: Vec<String>,
}

impl AllowedHosts {
    /// `configured`: host names (with or without a port) from `STAGEBOARD_ALLOWED_HOSTS`.
    pub fn new(listen: IpAddr, configured: &[String]) -> Self {
        let mut names: Vec<String> = configured
            .iter()
            .map(|h| host_name(h.trim()).to_ascii_lowercase())
            .collect();
        if !listen.is_unspecified() {
            names.push(listen.to_string());
        }
        names.retain(|n| !n.is_empty());
        AllowedHosts { names }
    }

    pub fn allows(&self, host: &str) -> bool {
        let name = host_name(host).to_ascii_lowercase();
        let loopback = name == "localhost"
            || name.ends_with(".localhost")
            || name.parse::<IpAddr>().is_ok_and(|ip| ip.is_loopback());
        loopback || self.names.contains(&name)
    }
}

/// `gitlab.example.com:8080` → `gitlab.example.com`; `[::1]:8080` → `::1`.
fn host_name(host: &str) -> &str {
    if let Some(rest) = host.strip_prefix('[') {
        return rest.split(']').next().unwrap_or_default();
    }
    match host.rsplit_once(':') {
        Some((name, port)) if port.bytes().all(|b| b.is_ascii_digit()) => name,
        _ => host,
    }
}

/// Paths other servers post to: GitLab's webhooks (checked by their secret) and browsers'
/// policy-violation reports (not JSON).
fn posted_by_others(path: &str) -> bool {
    path == "/hooks/gitlab" || path == crate::headers::CSP_REPORTS
}

fn refuse(status: StatusCode, code: ErrorCode, message: String) -> Response {
    AppError::new(status, code, message).into_response()
}

/// Paths a probe or scraper reaches by the pod's address (Kubernetes probes send its IP as
/// `Host`): liveness and metrics, which act on nothing.
fn reached_by_address(path: &str) -> bool {
    path == "/health" || path == "/metrics"
}

pub async fn check(State(state): State<AppState>, request: Request, next: Next) -> Response {
    let headers = request.headers();
    let host = headers
        .get(header::HOST)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    if !state.allowed_hosts().allows(host) && !reached_by_address(request.uri().path()) {
        return refuse(
            StatusCode::MISDIRECTED_REQUEST,
            ErrorCode::BadRequest,
            format!(
                "This server does not answer to the host name `{}`. If that is its address, add it to STAGEBOARD_ALLOWED_HOSTS.",
                host_name(host).chars().take(100).collect::<String>()
            ),
        );
    }
    let changes = !matches!(*request.method(), Method::GET | Method::HEAD | Method::OPTIONS);
    if changes && !posted_by_others(request.uri().path()) {
        let header = |name: &str| headers.get(name).and_then(|v| v.to_str().ok());
        let cross_site = match header("sec-fetch-site") {
            Some(site) => !matches!(site, "same-origin" | "none"),
            // Browsers without Fetch Metadata send Origin on a cross-site POST.
            None => header("origin").is_some_and(|origin| {
                let origin_host = origin.split_once("://").map_or(origin, |(_, rest)| rest);
                !origin_host.eq_ignore_ascii_case(host)
            }),
        };
        if cross_site {
            return refuse(
                StatusCode::FORBIDDEN,
                ErrorCode::Forbidden,
                "Actions are taken from stageboard's own pages, not from another site.".into(),
            );
        }
        let json = header("content-type").is_some_and(|t| {
            t.split(';')
                .next()
                .is_some_and(|m| m.trim().eq_ignore_ascii_case("application/json"))
        });
        if !json {
            return refuse(
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                ErrorCode::BadRequest,
                "Send this with `Content-Type: application/json` (an empty body is `{}` or nothing).".into(),
            );
        }
    }
    next.run(request).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn loopback_names_the_listen_address_and_the_configured_hosts_are_allowed() {
        let hosts = AllowedHosts::new("0.0.0.0".parse().unwrap(), &["Dash.Example.com".into()]);
        for host in [
            "localhost:8080",
            "127.0.0.1:8080",
            "[::1]:8080",
            "dash.example.com",
            "dash.example.com:443",
        ] {
            assert!(hosts.allows(host), "{host}");
        }
        for host in ["evil.example.com", "attacker.test:8080", "", "10.0.0.5:8080"] {
            assert!(!hosts.allows(host), "{host}");
        }
        let on_one_address = AllowedHosts::new("10.0.0.5".parse().unwrap(), &[]);
        assert!(on_one_address.allows("10.0.0.5:8080"));
    }
}
