//! GitLab as an OAuth 2 provider (Doorkeeper), the parts a sign-in uses: the authorization
//! code grant with PKCE, refresh tokens that rotate, revocation, token info and userinfo, with
//! Doorkeeper's error codes and words (CONTRACT.md §6). The sign-in page offers the demo's
//! people (see `users`) instead of a password form. Access tokens live two hours of the
//! simulated clock, so a test moves the clock to see one expire.

use std::collections::HashMap;

use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use base64::Engine;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use serde_json::json;

use crate::Sim;
use crate::rest::error::GitlabError;
use crate::users::{self, Caller};
use crate::world::Time;

/// How long an access token lasts (GitLab's default), in seconds.
pub const TOKEN_LIFETIME: i64 = 7200;
/// How long an authorization code may wait to be exchanged (Doorkeeper's default).
const CODE_LIFETIME: i64 = 600;

const INVALID_CLIENT: &str = "Client authentication failed due to unknown client, no client authentication included, or unsupported authentication method.";
const INVALID_GRANT: &str = "The provided authorization grant is invalid, expired, revoked, does not match the redirection URI used in the authorization request, or was issued to another client.";
pub const EXPIRED: &str = "Token is expired. You can either do re-authorization or token refresh.";
pub const REVOKED: &str = "Token was revoked. You have to re-authorize from the user.";

/// An application registered in GitLab (Admin › Applications).
#[derive(Debug, Clone)]
pub struct OAuthApp {
    pub client_id: String,
    /// `None`: a public (non-confidential) application, which must use PKCE.
    pub client_secret: Option<String>,
    pub redirect_uri: String,
    /// The scopes the application may ask for.
    pub scopes: Vec<String>,
}

#[derive(Debug, Default)]
pub(crate) struct Store {
    apps: Vec<OAuthApp>,
    codes: HashMap<String, Grant>,
    /// Access tokens, valid or not (a revoked or expired one is told apart from an unknown one).
    tokens: HashMap<String, Issued>,
    /// Refresh token → its access token, while unused.
    refresh: HashMap<String, String>,
    /// How long the tokens given from now on last; GitLab's two hours unless set.
    lifetime: Option<i64>,
    /// Refresh tokens exchanged so far.
    refreshes: u64,
}

#[derive(Debug)]
struct Grant {
    user: u64,
    client_id: String,
    redirect_uri: String,
    scopes: Vec<String>,
    /// `(method, challenge)`.
    challenge: Option<(String, String)>,
    issued: Time,
}

#[derive(Debug)]
struct Issued {
    user: u64,
    client_id: String,
    scopes: Vec<String>,
    created: Time,
    /// Seconds it lasts.
    lifetime: i64,
    revoked: bool,
}

/// Who an OAuth access token speaks for, or why it does not.
pub(crate) fn caller(sim: &Sim, token: &str) -> Option<Result<Caller, GitlabError>> {
    let store = sim.0.oauth.lock().expect("oauth lock");
    let issued = store.tokens.get(token)?;
    Some(if issued.revoked {
        Err(GitlabError::InvalidToken(REVOKED))
    } else if expired(issued, sim.clock().now()) {
        Err(GitlabError::InvalidToken(EXPIRED))
    } else {
        Ok(Caller::Person {
            id: issued.user,
            scopes: issued.scopes.clone(),
        })
    })
}

fn expired(issued: &Issued, now: Time) -> bool {
    (now - issued.created).num_seconds() >= issued.lifetime
}

impl Sim {
    /// Registers an OAuth application, as an administrator would in GitLab.
    pub fn register_oauth_app(&self, app: OAuthApp) {
        let mut store = self.0.oauth.lock().expect("oauth lock");
        store.apps.retain(|a| a.client_id != app.client_id);
        store.apps.push(app);
    }

    /// Access tokens given from now on last `seconds` (an instance's own setting; GitLab's
    /// default is two hours).
    pub fn set_oauth_token_lifetime(&self, seconds: i64) {
        self.0.oauth.lock().expect("oauth lock").lifetime = Some(seconds);
    }

    /// How many refresh tokens have been exchanged for new tokens.
    pub fn oauth_refreshes(&self) -> u64 {
        self.0.oauth.lock().expect("oauth lock").refreshes
    }

    /// How many OAuth access tokens GitLab would take now (neither revoked nor expired).
    pub fn oauth_tokens_in_use(&self) -> usize {
        let now = self.clock().now();
        let store = self.0.oauth.lock().expect("oauth lock");
        store.tokens.values().filter(|t| !t.revoked && !expired(t, now)).count()
    }
}

pub(crate) fn routes() -> Router<Sim> {
    Router::new()
        .route("/oauth/authorize", get(sign_in_page).post(authorize))
        .route("/oauth/token", post(token))
        .route("/oauth/revoke", post(revoke))
        .route("/oauth/token/info", get(token_info))
        .route("/oauth/userinfo", get(userinfo))
}

type Params = HashMap<String, String>;

fn secret_token() -> String {
    let bytes: [u8; 32] = ring::rand::generate(&ring::rand::SystemRandom::new())
        .expect("the system's random source works")
        .expose();
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// What is wrong with an authorization request: shown on GitLab's page when the client or its
/// redirect URI cannot be trusted, else sent back to the application.
enum Refused {
    Page(StatusCode, &'static str),
    Back {
        redirect_uri: String,
        state: Option<String>,
        error: &'static str,
        description: &'static str,
    },
}

impl IntoResponse for Refused {
    fn into_response(self) -> Response {
        match self {
            Refused::Page(status, message) => (
                status,
                Html(format!(
                    "<!doctype html><title>An error has occurred</title><h1>An error has occurred</h1><p>{message}</p>"
                )),
            )
                .into_response(),
            Refused::Back {
                redirect_uri,
                state,
                error,
                description,
            } => {
                let mut url = url::Url::parse(&redirect_uri).expect("registered redirect URIs are URLs");
                url.query_pairs_mut()
                    .append_pair("error", error)
                    .append_pair("error_description", description);
                if let Some(state) = state {
                    url.query_pairs_mut().append_pair("state", &state);
                }
                found(&url)
            }
        }
    }
}

/// A checked authorization request.
struct Asked {
    app: OAuthApp,
    scopes: Vec<String>,
    challenge: Option<(String, String)>,
    state: Option<String>,
}

fn check_request(sim: &Sim, params: &Params) -> Result<Asked, Refused> {
    let app = {
        let store = sim.0.oauth.lock().expect("oauth lock");
        let client = params.get("client_id").map(String::as_str).unwrap_or_default();
        store
            .apps
            .iter()
            .find(|a| a.client_id == client)
            .cloned()
            .ok_or(Refused::Page(StatusCode::UNAUTHORIZED, INVALID_CLIENT))?
    };
    if params.get("redirect_uri") != Some(&app.redirect_uri) {
        return Err(Refused::Page(
            StatusCode::BAD_REQUEST,
            "The redirect URI included is not valid.",
        ));
    }
    let state = params.get("state").cloned();
    let back = |error, description| Refused::Back {
        redirect_uri: app.redirect_uri.clone(),
        state: state.clone(),
        error,
        description,
    };
    if params.get("response_type").map(String::as_str) != Some("code") {
        return Err(back(
            "unsupported_response_type",
            "The authorization server does not support this response type.",
        ));
    }
    let scopes: Vec<String> = params
        .get("scope")
        .map(|s| {
            s.split([' ', '+'])
                .filter(|s| !s.is_empty())
                .map(str::to_owned)
                .collect()
        })
        .unwrap_or_default();
    if scopes.is_empty() || scopes.iter().any(|s| !app.scopes.contains(s)) {
        return Err(back(
            "invalid_scope",
            "The requested scope is invalid, unknown, or malformed.",
        ));
    }
    let challenge = match (params.get("code_challenge"), params.get("code_challenge_method")) {
        (Some(challenge), method) => {
            let method = method.map_or("plain", String::as_str);
            if method != "S256" && method != "plain" {
                return Err(back(
                    "invalid_request",
                    "The code challenge method must be plain or S256.",
                ));
            }
            Some((method.to_owned(), challenge.clone()))
        }
        (None, _) if app.client_secret.is_none() => {
            return Err(back("invalid_request", "Code challenge is required."));
        }
        (None, _) => None,
    };
    Ok(Asked {
        app,
        scopes,
        challenge,
        state,
    })
}

fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
        .replace('\'', "&#39;")
}

/// GitLab's sign-in and "Authorize this application?" in one page: pick who you are.
async fn sign_in_page(State(sim): State<Sim>, Query(params): Query<Params>) -> Response {
    let asked = match check_request(&sim, &params) {
        Ok(asked) => asked,
        Err(refused) => return refused.into_response(),
    };
    let hidden: String = [
        "client_id",
        "redirect_uri",
        "response_type",
        "state",
        "scope",
        "code_challenge",
        "code_challenge_method",
    ]
    .iter()
    .filter_map(|name| {
        params
            .get(*name)
            .map(|value| format!(r#"<input type="hidden" name="{name}" value="{}">"#, escape(value)))
    })
    .collect();
    let people: String = users::SIGN_IN
        .iter()
        .filter_map(|id| users::person(*id))
        .map(|person| {
            let roles = sim
                .projects()
                .iter()
                .map(|p| match users::role(person.id, p) {
                    Some(role) => format!("{} in {}", role.name(), p.name),
                    None => format!("not a member of {}", p.name),
                })
                .collect::<Vec<_>>()
                .join(", ");
            format!(
                r#"<li><button type="submit" name="user" value="{}">Sign in as {} (@{})</button><br><small>{}</small></li>"#,
                person.id,
                escape(person.name),
                person.username,
                escape(&roles)
            )
        })
        .collect();
    let scopes = escape(&asked.scopes.join(", "));
    Html(format!(
        r#"<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Sign in · Simulated GitLab</title>
<style>body{{font-family:sans-serif;max-width:40em;margin:3em auto;line-height:1.5}}ul{{list-style:none;padding:0}}li{{margin:1em 0}}button{{font-size:1.1em;padding:.4em 1em}}</style></head>
<body><h1>Simulated GitLab</h1>
<p>Authorize <strong>{client}</strong> to use your account? It asks for: {scopes}.</p>
<form method="post" action="/oauth/authorize">{hidden}<ul>{people}</ul></form>
</body></html>"#,
        client = escape(&asked.app.client_id),
    ))
    .into_response()
}

/// The person chose who they are: back to the application with a code.
async fn authorize(State(sim): State<Sim>, axum::Form(params): axum::Form<Params>) -> Response {
    let asked = match check_request(&sim, &params) {
        Ok(asked) => asked,
        Err(refused) => return refused.into_response(),
    };
    let Some(user) = params
        .get("user")
        .and_then(|u| u.parse::<u64>().ok())
        .filter(|u| users::SIGN_IN.contains(u))
    else {
        return Refused::Back {
            redirect_uri: asked.app.redirect_uri,
            state: asked.state,
            error: "access_denied",
            description: "The resource owner or authorization server denied the request.",
        }
        .into_response();
    };
    let code = secret_token();
    let now = sim.clock().now();
    let mut store = sim.0.oauth.lock().expect("oauth lock");
    // Codes nobody exchanged go once they can no longer be.
    store
        .codes
        .retain(|_, g| (now - g.issued).num_seconds() < CODE_LIFETIME);
    store.codes.insert(
        code.clone(),
        Grant {
            user,
            client_id: asked.app.client_id.clone(),
            redirect_uri: asked.app.redirect_uri.clone(),
            scopes: asked.scopes,
            challenge: asked.challenge,
            issued: now,
        },
    );
    drop(store);
    let mut url = url::Url::parse(&asked.app.redirect_uri).expect("registered redirect URIs are URLs");
    url.query_pairs_mut().append_pair("code", &code);
    if let Some(state) = &asked.state {
        url.query_pairs_mut().append_pair("state", state);
    }
    found(&url)
}

/// Doorkeeper's redirects are 302 Found.
fn found(url: &url::Url) -> Response {
    (StatusCode::FOUND, [(header::LOCATION, url.as_str().to_owned())]).into_response()
}

fn oauth_error(status: StatusCode, error: &str, description: &str) -> Response {
    (
        status,
        Json(json!({ "error": error, "error_description": description })),
    )
        .into_response()
}

/// Form or JSON parameters, as Doorkeeper takes both.
fn body_params(headers: &HeaderMap, body: &[u8]) -> Params {
    let json = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/json"));
    if json {
        serde_json::from_slice::<HashMap<String, serde_json::Value>>(body)
            .unwrap_or_default()
            .into_iter()
            .filter_map(|(k, v)| v.as_str().map(|v| (k, v.to_owned())))
            .collect()
    } else {
        url::form_urlencoded::parse(body).into_owned().collect()
    }
}

/// The client's credentials, from HTTP Basic or the body; `None` when they do not match a
/// registered application (a confidential one must send its secret).
fn authenticate_client(store: &Store, headers: &HeaderMap, params: &Params) -> Option<OAuthApp> {
    let basic = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Basic "))
        .and_then(|v| STANDARD.decode(v).ok())
        .and_then(|v| String::from_utf8(v).ok())
        .and_then(|v| v.split_once(':').map(|(id, secret)| (id.to_owned(), secret.to_owned())));
    let (id, secret) = match basic {
        Some((id, secret)) => (Some(id), Some(secret)),
        None => (params.get("client_id").cloned(), params.get("client_secret").cloned()),
    };
    let app = store.apps.iter().find(|a| Some(&a.client_id) == id.as_ref())?;
    match (&app.client_secret, secret) {
        (Some(expected), Some(given)) if same(expected, &given) => Some(app.clone()),
        (Some(_), _) => None,
        (None, _) => Some(app.clone()),
    }
}

/// Compares secrets in time that does not depend on where they differ.
fn same(a: &str, b: &str) -> bool {
    use subtle::ConstantTimeEq;
    a.as_bytes().ct_eq(b.as_bytes()).into()
}

fn pkce_holds(challenge: &Option<(String, String)>, verifier: Option<&String>) -> bool {
    match (challenge, verifier) {
        // Doorkeeper refuses a verifier for a code asked without a challenge.
        (None, Some(_)) => false,
        (None, None) => true,
        (Some(_), None) => false,
        (Some((method, challenge)), Some(verifier)) => {
            let derived = if method == "S256" {
                URL_SAFE_NO_PAD.encode(ring::digest::digest(&ring::digest::SHA256, verifier.as_bytes()))
            } else {
                verifier.clone()
            };
            same(&derived, challenge)
        }
    }
}

async fn token(State(sim): State<Sim>, headers: HeaderMap, body: axum::body::Bytes) -> Response {
    let params = body_params(&headers, &body);
    let now = sim.clock().now();
    let mut store = sim.0.oauth.lock().expect("oauth lock");
    let Some(app) = authenticate_client(&store, &headers, &params) else {
        return oauth_error(StatusCode::UNAUTHORIZED, "invalid_client", INVALID_CLIENT);
    };
    let invalid_grant = || oauth_error(StatusCode::BAD_REQUEST, "invalid_grant", INVALID_GRANT);
    let (user, scopes) = match params.get("grant_type").map(String::as_str) {
        Some("authorization_code") => {
            let Some(code) = params.get("code") else {
                return oauth_error(
                    StatusCode::BAD_REQUEST,
                    "invalid_request",
                    "Missing required parameter: code.",
                );
            };
            let Some(grant) = store.codes.get(code) else {
                return invalid_grant();
            };
            if grant.client_id != app.client_id
                || params.get("redirect_uri") != Some(&grant.redirect_uri)
                || (now - grant.issued).num_seconds() >= CODE_LIFETIME
                || !pkce_holds(&grant.challenge, params.get("code_verifier"))
            {
                return invalid_grant();
            }
            // A code is exchanged once.
            let grant = store.codes.remove(code).expect("found above");
            (grant.user, grant.scopes)
        }
        Some("refresh_token") => {
            let Some(refresh) = params.get("refresh_token") else {
                return invalid_grant();
            };
            // Another client's refresh token is refused without spending it.
            let theirs = store
                .refresh
                .get(refresh)
                .and_then(|access| store.tokens.get(access))
                .is_some_and(|t| t.client_id == app.client_id);
            if !theirs {
                return invalid_grant();
            }
            // Rotation: the old pair is spent.
            let old = store.refresh.remove(refresh).expect("checked above");
            let Some(issued) = store.tokens.get_mut(&old) else {
                return invalid_grant();
            };
            issued.revoked = true;
            let renewed = (issued.user, issued.scopes.clone());
            store.refreshes += 1;
            renewed
        }
        Some(_) => {
            return oauth_error(
                StatusCode::BAD_REQUEST,
                "unsupported_grant_type",
                "The authorization grant type is not supported by the authorization server.",
            );
        }
        None => {
            return oauth_error(
                StatusCode::BAD_REQUEST,
                "invalid_request",
                "Missing required parameter: grant_type.",
            );
        }
    };
    let access = secret_token();
    let refresh = secret_token();
    // Revoked tokens are remembered a day (to say "revoked" rather than "unknown"); a token
    // not revoked stays, as its refresh token works until it is used.
    store
        .tokens
        .retain(|_, t| !t.revoked || (now - t.created).num_seconds() < 24 * 3600);
    let lifetime = store.lifetime.unwrap_or(TOKEN_LIFETIME);
    store.tokens.insert(
        access.clone(),
        Issued {
            user,
            client_id: app.client_id,
            scopes: scopes.clone(),
            created: now,
            lifetime,
            revoked: false,
        },
    );
    store.refresh.insert(refresh.clone(), access.clone());
    Json(json!({
        "access_token": access,
        "token_type": "Bearer",
        "expires_in": lifetime,
        "refresh_token": refresh,
        "scope": scopes.join(" "),
        "created_at": now.timestamp(),
    }))
    .into_response()
}

/// RFC 7009: the token (access or refresh) and its pair stop working; always 200.
async fn revoke(State(sim): State<Sim>, headers: HeaderMap, body: axum::body::Bytes) -> Response {
    let params = body_params(&headers, &body);
    let mut store = sim.0.oauth.lock().expect("oauth lock");
    let Some(app) = authenticate_client(&store, &headers, &params) else {
        return oauth_error(StatusCode::UNAUTHORIZED, "invalid_client", INVALID_CLIENT);
    };
    if let Some(token) = params.get("token") {
        let access = store.refresh.get(token).cloned().unwrap_or_else(|| token.clone());
        if let Some(issued) = store.tokens.get_mut(&access).filter(|t| t.client_id == app.client_id) {
            issued.revoked = true;
            store.refresh.retain(|_, a| *a != access);
        }
    }
    Json(json!({})).into_response()
}

fn bearer(headers: &HeaderMap) -> Option<&str> {
    headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
}

async fn token_info(State(sim): State<Sim>, headers: HeaderMap, Query(params): Query<Params>) -> Response {
    let token = bearer(&headers).or(params.get("access_token").map(String::as_str));
    let store = sim.0.oauth.lock().expect("oauth lock");
    let now = sim.clock().now();
    match token.and_then(|t| store.tokens.get(t)) {
        Some(issued) if !issued.revoked && !expired(issued, now) => Json(json!({
            "resource_owner_id": issued.user,
            "scope": issued.scopes,
            "expires_in": issued.lifetime - (now - issued.created).num_seconds(),
            "application": { "uid": issued.client_id },
            "created_at": issued.created.timestamp(),
        }))
        .into_response(),
        _ => oauth_error(StatusCode::UNAUTHORIZED, "invalid_token", "The access token is invalid"),
    }
}

/// OpenID Connect's userinfo: needs the `openid` scope.
async fn userinfo(State(sim): State<Sim>, headers: HeaderMap) -> Response {
    let caller = match bearer(&headers).and_then(|t| caller(&sim, t)) {
        Some(Ok(caller)) => caller,
        Some(Err(e)) => return e.into_response(),
        None => return GitlabError::Unauthorized.into_response(),
    };
    let Caller::Person { id, scopes } = &caller else {
        return GitlabError::Unauthorized.into_response();
    };
    if !scopes.iter().any(|s| s == "openid") {
        return GitlabError::InsufficientScope("openid").into_response();
    }
    let person = caller.person();
    let base = sim.base_url();
    Json(json!({
        "sub": id.to_string(),
        "name": person.name,
        "nickname": person.username,
        "preferred_username": person.username,
        "email": format!("{}@example.com", person.username),
        "email_verified": true,
        "profile": format!("{base}/{}", person.username),
        "picture": null,
        "groups": ["demo"],
    }))
    .into_response()
}
