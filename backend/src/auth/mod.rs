//! Signing in with GitLab: OAuth 2's authorization code flow with PKCE (the `oauth2` crate),
//! its HTTP client following no redirect. The person's tokens are kept sealed in their session
//! (in the store), so actions can be sent with their own GitLab rights.

mod sessions;

use std::sync::OnceLock;

use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use oauth2::basic::BasicClient;
use oauth2::{
    AuthUrl, AuthorizationCode, ClientId, ClientSecret, CsrfToken, EndpointNotSet, EndpointSet, PkceCodeChallenge,
    PkceCodeVerifier, RedirectUrl, Scope, TokenResponse, TokenUrl,
};
use secrecy::{ExposeSecret, SecretString};
use serde::{Deserialize, Serialize};
use stageboard_protocol::ErrorCode;
use tower_sessions::Session;
use url::Url;

pub use sessions::{SessionStore, layer};

use crate::app::AppState;
use crate::error::AppError;

/// What signing in needs: the application registered in GitLab.
#[derive(Debug, Clone)]
pub struct OAuthConfig {
    pub client_id: String,
    /// `None`: a non-confidential application (PKCE alone).
    pub client_secret: Option<SecretString>,
}

type Client = BasicClient<EndpointSet, EndpointNotSet, EndpointNotSet, EndpointNotSet, EndpointSet>;

/// Signing in, configured.
pub struct Auth {
    client: Client,
    /// Where GitLab sends people back: `<public url>/auth/callback`, or in demo mode the
    /// loopback address once it is known.
    redirect: OnceLock<RedirectUrl>,
    /// Kept for revoking (the client holds it too).
    client_secret: Option<SecretString>,
    http: reqwest::Client,
    oauth_http: OAuthHttp,
    gitlab: Url,
    /// One refresh at a time per session: GitLab rotates both tokens, so a second refresh
    /// with the same refresh token would fail and sign the person out.
    refreshing: std::sync::Mutex<std::collections::HashMap<String, std::sync::Arc<tokio::sync::Mutex<()>>>>,
}

impl std::fmt::Debug for Auth {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Auth")
            .field("gitlab", &self.gitlab.as_str())
            .finish_non_exhaustive()
    }
}

/// The signed-in person and their sealed GitLab tokens, kept in the session.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct SignedIn {
    pub id: u64,
    pub username: String,
    pub name: String,
    pub avatar_url: Option<String>,
    /// An instance administrator (GitLab lets them deploy wherever).
    #[serde(default)]
    pub is_admin: bool,
    /// Sealed (store::Sealer), base64.
    access: String,
    refresh: Option<String>,
    /// Unix seconds.
    expires_at: Option<i64>,
}

impl SignedIn {
    /// The person as the API shows them (no token).
    pub fn user(&self) -> stageboard_protocol::User {
        stageboard_protocol::User {
            id: self.id,
            username: self.username.clone(),
            name: self.name.clone(),
            avatar_url: self.avatar_url.clone(),
        }
    }

    /// The person with `token`'s access and refresh tokens sealed in, and when the access
    /// token expires.
    fn holding(self, state: &AppState, token: &oauth2::basic::BasicTokenResponse) -> SignedIn {
        SignedIn {
            access: state.seal_token(token.access_token().secret()),
            refresh: token.refresh_token().map(|r| state.seal_token(r.secret())),
            expires_at: token
                .expires_in()
                .map(|d| chrono::Utc::now().timestamp() + i64::try_from(d.as_secs()).unwrap_or(i64::MAX / 2)),
            ..self
        }
    }

    /// Its access token expires within [`RENEW_BEFORE`] of `now` (Unix seconds), or has.
    fn expires_soon(&self, now: i64) -> bool {
        self.expires_at.is_some_and(|at| at - now < RENEW_BEFORE)
    }
}

/// A person's access token is renewed this many seconds before it expires, so that GitLab
/// does not see it expired (a refusal then a retry) in the middle of an action.
const RENEW_BEFORE: i64 = 300;

/// `person`'s access token for a request to GitLab, renewed first when it is about to expire.
/// `None`: they are signed in no longer (GitLab refused the renewal, or the key changed). A
/// renewal that fails for now (GitLab away) leaves the token it has, still good for minutes.
pub async fn fresh_token(state: &AppState, session: &Session, person: &SignedIn) -> Option<String> {
    let token = state.open_token(&person.access)?;
    let Some(auth) = state
        .auth()
        .filter(|_| person.expires_soon(chrono::Utc::now().timestamp()))
    else {
        return Some(token);
    };
    match auth.renew(state, session, &token).await {
        Some(renewed) => Some(renewed),
        None => signed_in(state, session).await.map(|_| token),
    }
}

/// What a sign-in in progress must find when GitLab sends the person back.
#[derive(Debug, Serialize, Deserialize)]
struct Pending {
    state: String,
    verifier: String,
    return_to: String,
}

/// The application demo mode registers in its simulated GitLab.
pub const DEMO_CLIENT: &str = "stageboard-demo";

const PERSON: &str = "person";
const PENDING: &str = "sign_in";

impl Auth {
    /// `gitlab`: GitLab's base address (its OAuth endpoints hang off it); `public`: where
    /// people reach stageboard, if known.
    pub fn new(config: &OAuthConfig, gitlab: &Url, public: Option<&Url>) -> Result<Auth, String> {
        let gitlab = &base_of(gitlab);
        let endpoint = |path: &str| gitlab.join(path).map(|u| u.to_string()).map_err(|e| e.to_string());
        let mut client = BasicClient::new(ClientId::new(config.client_id.clone()))
            .set_auth_uri(AuthUrl::new(endpoint("oauth/authorize")?).map_err(|e| e.to_string())?)
            .set_token_uri(TokenUrl::new(endpoint("oauth/token")?).map_err(|e| e.to_string())?);
        if let Some(secret) = &config.client_secret {
            client = client.set_client_secret(ClientSecret::new(secret.expose_secret().to_owned()));
        }
        let http = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .timeout(std::time::Duration::from_secs(15))
            .build()
            .map_err(|e| e.to_string())?;
        let auth = Auth {
            client,
            redirect: OnceLock::new(),
            client_secret: config.client_secret.clone(),
            refreshing: std::sync::Mutex::new(std::collections::HashMap::new()),
            oauth_http: OAuthHttp(http.clone()),
            http,
            gitlab: gitlab.clone(),
        };
        if let Some(public) = public {
            auth.set_public_url(public);
        }
        Ok(auth)
    }

    /// Where GitLab sends people back, once known.
    pub fn set_public_url(&self, public: &Url) {
        if let Ok(redirect) = public.join("auth/callback").map(RedirectUrl::from_url) {
            let _ = self.redirect.set(redirect);
        }
    }

    /// RFC 7009 at GitLab's `/oauth/revoke` (by hand: the oauth2 crate revokes only over
    /// https, and a GitLab on this machine may be plain http).
    async fn revoke(&self, token: &str, hint: &str) -> Result<(), String> {
        let mut form = vec![
            ("token", token.to_owned()),
            ("token_type_hint", hint.to_owned()),
            ("client_id", self.client_id().to_owned()),
        ];
        if let Some(secret) = &self.client_secret {
            form.push(("client_secret", secret.expose_secret().to_owned()));
        }
        let url = self.gitlab.join("oauth/revoke").map_err(|e| e.to_string())?;
        let answer = self
            .http
            .post(url)
            .form(&form)
            .send()
            .await
            .map_err(|e| e.without_url().to_string())?;
        if answer.status().is_success() {
            Ok(())
        } else {
            Err(format!("GitLab answered {}", answer.status()))
        }
    }

    /// A fresh access token for the session's person after GitLab refused `spent`: from a
    /// refresh done meanwhile by another request of the session, or by refreshing now (GitLab
    /// rotates both tokens; the new ones are saved at once). `None` when GitLab refuses the
    /// refresh: the person is signed out.
    pub async fn renew(&self, state: &AppState, session: &Session, spent: &str) -> Option<String> {
        let id = session.id()?;
        let lock = self
            .refreshing
            .lock()
            .expect("refreshing lock")
            .entry(id.to_string())
            .or_default()
            .clone();
        let renewed = {
            let _one_at_a_time = lock.lock().await;
            self.renew_now(state, session, spent).await
        };
        let mut refreshing = self.refreshing.lock().expect("refreshing lock");
        if std::sync::Arc::strong_count(&lock) <= 2 {
            refreshing.remove(&id.to_string());
        }
        renewed
    }

    async fn renew_now(&self, state: &AppState, session: &Session, spent: &str) -> Option<String> {
        use tower_sessions::SessionStore as _;
        let id = session.id()?;
        // What the store holds now, which another request may have renewed.
        let stored = state.sessions().load(&id).await.ok().flatten()?;
        let person: SignedIn = serde_json::from_value(stored.data.get(PERSON)?.clone()).ok()?;
        let current = state.open_token(&person.access)?;
        if current != spent {
            let _ = session.insert(PERSON, &person).await;
            return Some(current);
        }
        let refresh = person.refresh.as_deref().and_then(|r| state.open_token(r));
        let token = match refresh {
            Some(refresh) => self
                .client
                .exchange_refresh_token(&oauth2::RefreshToken::new(refresh))
                .request_async(&self.oauth_http)
                .await
                .map_err(|e| {
                    // Only GitLab saying the grant is no good ends the sign-in; a timeout or
                    // an error page leaves it for the next try.
                    let refused = matches!(
                        &e,
                        oauth2::RequestTokenError::ServerResponse(r)
                            if *r.error() == oauth2::basic::BasicErrorResponseType::InvalidGrant
                    );
                    (refused, oauth_error(&e))
                }),
            None => Err((true, "no refresh token".to_owned())),
        };
        let token = match token {
            Ok(token) => token,
            Err((false, e)) => {
                tracing::warn!(error = %e, "a sign-in could not be renewed just now");
                return None;
            }
            Err((true, e)) => {
                tracing::info!(person = %person.username, error = %e, "GitLab refused to renew a sign-in; the person is signed out");
                let _ = session.remove_value(PERSON).await;
                let _ = session.save().await;
                return None;
            }
        };
        let access = token.access_token().secret().clone();
        let renewed = person.holding(state, &token);
        if session.insert(PERSON, &renewed).await.is_err() || session.save().await.is_err() {
            tracing::warn!("a renewed sign-in could not be saved");
        }
        Some(access)
    }

    pub fn client_id(&self) -> &str {
        self.client.client_id().as_str()
    }

    pub fn callback_url(&self) -> Option<String> {
        self.redirect.get().map(|r| r.to_string())
    }
}

/// GitLab's base address ending in `/`, so that its paths join under it: for a GitLab at
/// `https://example.com/gitlab`, `oauth/token` is `https://example.com/gitlab/oauth/token`,
/// never the host's own `/oauth/token` (where the code, the secret and tokens must not go).
fn base_of(gitlab: &Url) -> Url {
    let mut base = gitlab.clone();
    if !base.path().ends_with('/') {
        let path = format!("{}/", base.path());
        base.set_path(&path);
    }
    base
}

/// oauth2's HTTP client: reqwest, following no redirect.
struct OAuthHttp(reqwest::Client);

impl<'c> oauth2::AsyncHttpClient<'c> for OAuthHttp {
    type Error = reqwest::Error;
    type Future =
        std::pin::Pin<Box<dyn std::future::Future<Output = Result<oauth2::HttpResponse, reqwest::Error>> + Send + 'c>>;

    fn call(&'c self, request: oauth2::HttpRequest) -> Self::Future {
        Box::pin(send(&self.0, request))
    }
}

/// oauth2's requests, over reqwest without following redirects.
async fn send(http: &reqwest::Client, request: oauth2::HttpRequest) -> Result<oauth2::HttpResponse, reqwest::Error> {
    let (parts, body) = request.into_parts();
    let answer = http
        .request(parts.method, parts.uri.to_string())
        .headers(parts.headers)
        .body(body)
        .send()
        .await?;
    let mut response = axum::http::Response::builder().status(answer.status());
    for (name, value) in answer.headers() {
        response = response.header(name, value);
    }
    let body = answer.bytes().await?.to_vec();
    Ok(response.body(body).expect("a status and headers from a response"))
}

fn refused(status: StatusCode, code: ErrorCode, message: impl Into<String>) -> Response {
    AppError::new(status, code, message).into_response()
}

/// A page of this server to return to: a path, never another site (`//host`, `/\host`).
fn same_origin(return_to: Option<&str>) -> String {
    match return_to {
        // Browsers drop tabs and newlines from addresses (`/\t/host` is `//host`), and read
        // `\` as `/`: a path with either could lead elsewhere.
        Some(path)
            if path.starts_with('/')
                && !path.starts_with("//")
                && !path.contains('\\')
                && !path.chars().any(char::is_control) =>
        {
            path.chars().take(2000).collect()
        }
        _ => "/".into(),
    }
}

#[derive(Debug, Deserialize)]
pub struct LoginQuery {
    return_to: Option<String>,
}

/// `GET /auth/login`: to GitLab's sign-in, remembering where to come back to.
pub async fn login(State(state): State<AppState>, session: Session, Query(query): Query<LoginQuery>) -> Response {
    let Some(auth) = state.auth() else {
        return not_configured();
    };
    let Some(redirect) = auth.redirect.get() else {
        return refused(
            StatusCode::SERVICE_UNAVAILABLE,
            ErrorCode::Busy,
            "Sign-in is starting; try again in a moment.",
        );
    };
    let (challenge, verifier) = PkceCodeChallenge::new_random_sha256();
    let (url, csrf) = auth
        .client
        .authorize_url(CsrfToken::new_random)
        .set_redirect_uri(std::borrow::Cow::Borrowed(redirect))
        .add_scope(Scope::new("api".into()))
        .add_scope(Scope::new("read_user".into()))
        .set_pkce_challenge(challenge)
        .url();
    let pending = Pending {
        state: csrf.secret().clone(),
        verifier: verifier.secret().clone(),
        return_to: same_origin(query.return_to.as_deref()),
    };
    if session.insert(PENDING, pending).await.is_err() {
        return store_failed();
    }
    Redirect::to(url.as_str()).into_response()
}

fn not_configured() -> Response {
    refused(
        StatusCode::NOT_FOUND,
        ErrorCode::NotFound,
        "Signing in is not set up here: set GITLAB_OAUTH_CLIENT_ID and STAGEBOARD_PUBLIC_URL (docs/operations.md).",
    )
}

fn store_failed() -> Response {
    refused(
        StatusCode::SERVICE_UNAVAILABLE,
        ErrorCode::Busy,
        "Sessions cannot be stored just now; try again shortly.",
    )
}

#[derive(Debug, Deserialize)]
pub struct CallbackQuery {
    code: Option<String>,
    state: Option<String>,
    error: Option<String>,
    error_description: Option<String>,
}

/// GitLab's user, as `/api/v4/user` tells it.
#[derive(Debug, Deserialize)]
struct GitlabUser {
    id: u64,
    username: String,
    name: String,
    avatar_url: Option<String>,
    #[serde(default)]
    is_admin: bool,
}

/// `GET /auth/callback`: GitLab sends the person back with a code, exchanged here (with the
/// PKCE verifier) for their tokens.
pub async fn callback(State(state): State<AppState>, session: Session, Query(query): Query<CallbackQuery>) -> Response {
    let Some(auth) = state.auth() else {
        return not_configured();
    };
    let pending: Option<Pending> = session.remove(PENDING).await.ok().flatten();
    let Some(pending) = pending.filter(|p| query.state.as_deref() == Some(p.state.as_str())) else {
        return refused(
            StatusCode::BAD_REQUEST,
            ErrorCode::BadRequest,
            "This sign-in did not start here (or started in another tab, or long ago): sign in again.",
        );
    };
    if let Some(error) = &query.error {
        let said = query.error_description.as_deref().unwrap_or(error);
        return refused(
            StatusCode::FORBIDDEN,
            ErrorCode::Forbidden,
            format!("GitLab did not sign you in: {}", crate::error::Shortened(said)),
        );
    }
    let (Some(code), Some(redirect)) = (query.code, auth.redirect.get()) else {
        return refused(
            StatusCode::BAD_REQUEST,
            ErrorCode::BadRequest,
            "GitLab sent no code back: sign in again.",
        );
    };
    let token = match auth
        .client
        .exchange_code(AuthorizationCode::new(code))
        .set_redirect_uri(std::borrow::Cow::Borrowed(redirect))
        .set_pkce_verifier(PkceCodeVerifier::new(pending.verifier))
        .request_async(&auth.oauth_http)
        .await
    {
        Ok(token) => token,
        Err(e) => {
            tracing::warn!(error = %oauth_error(&e), "a sign-in's code was refused by GitLab");
            return refused(
                StatusCode::BAD_GATEWAY,
                ErrorCode::GitlabRefused,
                format!("GitLab refused the sign-in ({}); sign in again.", oauth_error(&e)),
            );
        }
    };
    let access = token.access_token().secret().clone();
    let user = match auth
        .http
        .get(auth.gitlab.join("api/v4/user").expect("a relative path"))
        .bearer_auth(&access)
        .send()
        .await
        .and_then(reqwest::Response::error_for_status)
    {
        Ok(answer) => answer.json::<GitlabUser>().await,
        Err(e) => Err(e),
    };
    let user = match user {
        Ok(user) => user,
        Err(e) => {
            return refused(
                StatusCode::BAD_GATEWAY,
                ErrorCode::GitlabUnavailable,
                format!("GitLab did not say who signed in ({}); sign in again.", e.without_url()),
            );
        }
    };
    let person = SignedIn {
        id: user.id,
        username: user.username,
        name: user.name,
        avatar_url: user
            .avatar_url
            .filter(|u| u.starts_with("https://") || u.starts_with("http://")),
        is_admin: user.is_admin,
        access: String::new(),
        refresh: None,
        expires_at: None,
    }
    .holding(&state, &token);
    // A new session id for the signed-in session: one planted before sign-in is worth nothing.
    // What the session knew of whoever was signed in before (the projects they may read) goes.
    let _ = session.remove_value(crate::access::READABLE).await;
    // A kiosk screen someone signs in on is theirs now, not the kiosk's.
    let _ = session.remove_value(crate::kiosk::SESSION_KEY).await;
    state.roles().forget(person.id);
    if session.cycle_id().await.is_err() || session.insert(PERSON, person).await.is_err() {
        return store_failed();
    }
    Redirect::to(&pending.return_to).into_response()
}

fn oauth_error<E: std::error::Error>(error: &E) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(inner) = source {
        text = format!("{text}: {inner}");
        source = inner.source();
    }
    text.chars().take(300).collect()
}

/// `POST /auth/logout`: the token is revoked at GitLab and the session ends.
pub async fn logout(State(state): State<AppState>, session: Session) -> Response {
    let person: Option<SignedIn> = session.get(PERSON).await.ok().flatten();
    if let (Some(auth), Some(person)) = (state.auth(), person) {
        // Both tokens: the refresh token outlives the access token.
        let tokens = [
            (Some(person.access.as_str()), "access_token"),
            (person.refresh.as_deref(), "refresh_token"),
        ];
        for (sealed, hint) in tokens {
            if let Some(token) = sealed.and_then(|t| state.open_token(t))
                && let Err(e) = auth.revoke(&token, hint).await
            {
                tracing::warn!(error = %e, "GitLab did not take back a signed-out person's token");
            }
        }
    }
    if session.flush().await.is_err() {
        return store_failed();
    }
    StatusCode::NO_CONTENT.into_response()
}

/// The signed-in person, if any. A sign-in whose token no longer opens (the key changed) is
/// no sign-in: every page, the API and actions agree on who is signed in.
pub async fn signed_in(state: &AppState, session: &Session) -> Option<SignedIn> {
    let person: SignedIn = session.get(PERSON).await.ok().flatten()?;
    state.open_token(&person.access).is_some().then_some(person)
}

impl AppState {
    /// A token sealed for keeping in a session.
    fn seal_token(&self, token: &str) -> String {
        STANDARD.encode(self.store().sealer().seal(token.as_bytes()))
    }

    /// A sealed token opened, or `None` when the key no longer opens it.
    pub(crate) fn open_token(&self, sealed: &str) -> Option<String> {
        let bytes = STANDARD.decode(sealed).ok()?;
        let opened = self.store().sealer().open(&bytes).ok()?;
        String::from_utf8(opened).ok()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_gitlab_under_a_path_keeps_its_oauth_endpoints_under_it() {
        for (gitlab, token) in [
            ("https://example.com/gitlab", "https://example.com/gitlab/oauth/token"),
            ("https://example.com/gitlab/", "https://example.com/gitlab/oauth/token"),
            ("https://gitlab.example.com", "https://gitlab.example.com/oauth/token"),
        ] {
            let base = base_of(&Url::parse(gitlab).unwrap());
            assert_eq!(base.join("oauth/token").unwrap().as_str(), token, "{gitlab}");
        }
    }

    #[test]
    fn only_a_path_of_this_server_is_returned_to() {
        assert_eq!(same_origin(Some("/projects/1?x=y")), "/projects/1?x=y");
        for elsewhere in [
            "https://evil.example/",
            "//evil.example",
            "/\\evil.example",
            "/\t/evil.example",
            "x",
        ] {
            assert_eq!(same_origin(Some(elsewhere)), "/", "{elsewhere}");
        }
        assert_eq!(same_origin(None), "/");
    }
}
