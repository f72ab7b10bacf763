//! The HTTP client for GitLab's REST and GraphQL APIs. Pagination, rate limits and retries live
//! here and nowhere else.

use std::sync::Mutex;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use bytes::Bytes;
use reqwest::header::{HeaderMap, HeaderValue};
use reqwest::{Method, StatusCode};
use secrecy::{ExposeSecret, SecretString};
use serde::de::DeserializeOwned;
use serde_json::Value;
use url::Url;

use super::error::{GitlabError, error_message};
use super::types::GlProject;

/// More pages than this means something is wrong (a loop, or a list far bigger than a dashboard
/// should walk); stop rather than hammer GitLab.
const MAX_PAGES: u32 = 100;

/// The most bytes read from one GitLab answer (a job log is the large one). Below the
/// cache's share for one answer (a tenth of its default 256 MB), so a log read once is kept
/// and its pages are served from memory, not read again from GitLab.
pub const MAX_ANSWER: usize = 24 << 20;

/// The longest GitLab's rate-limit headers may make stageboard wait: a value past it (a bad
/// clock, a hostile proxy, an overflow) is taken as this.
const MAX_WAIT: Duration = Duration::from_secs(15 * 60);

#[derive(Debug, Clone)]
pub struct ClientOptions {
    /// Per-request timeout.
    pub timeout: Duration,
    /// Extra attempts for a read that met a 5xx or a network error.
    pub read_retries: u32,
    /// First backoff; doubled on each further attempt.
    pub backoff: Duration,
}

impl Default for ClientOptions {
    fn default() -> Self {
        ClientOptions {
            timeout: Duration::from_secs(15),
            read_retries: 2,
            backoff: Duration::from_millis(300),
        }
    }
}

/// One page of a list and where the next one is.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct Page<T> {
    pub items: Vec<T>,
    pub next_page: Option<u32>,
    pub total: Option<u64>,
}

tokio::task_local! {
    /// Where an action notes the status of what GitLab answered it ([`noting_status`]).
    static ANSWERED: std::sync::Arc<std::sync::atomic::AtomicU16>;
}

/// Runs `action`, noting the status of the last answer GitLab gave it (201 for a retry, 200
/// for a play): what the audit log records as GitLab's status. 0 when nothing was answered.
pub async fn noting_status<T>(action: impl std::future::Future<Output = T>) -> (T, u16) {
    let noted = std::sync::Arc::new(std::sync::atomic::AtomicU16::new(0));
    let output = ANSWERED.scope(noted.clone(), action).await;
    (output, noted.load(std::sync::atomic::Ordering::Relaxed))
}

pub struct GitlabClient {
    http: reqwest::Client,
    base: Url,
    token: SecretString,
    /// The token is a person's OAuth token (`Authorization: Bearer`), not the configured one
    /// (`PRIVATE-TOKEN`).
    bearer: bool,
    options: ClientOptions,
    /// No request goes out before this instant (GitLab said 429, or the budget is spent).
    paused_until: Mutex<Option<Instant>>,
    /// When the budget runs low, requests wait until here so that it lasts until GitLab's reset.
    paced_until: Mutex<Option<Instant>>,
    metrics: Option<crate::metrics::Metrics>,
}

impl std::fmt::Debug for GitlabClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GitlabClient")
            .field("base", &self.base.as_str())
            .finish_non_exhaustive()
    }
}

impl GitlabClient {
    /// Counts every request in `metrics` (by endpoint and status) and GitLab's remaining budget.
    pub fn with_metrics(mut self, metrics: crate::metrics::Metrics) -> Self {
        self.metrics = Some(metrics);
        self
    }

    /// The same GitLab, as a signed-in person: their OAuth access token, their own rate-limit
    /// budget, the same connections.
    pub fn for_person(&self, access: SecretString) -> GitlabClient {
        GitlabClient {
            http: self.http.clone(),
            base: self.base.clone(),
            token: access,
            bearer: true,
            options: self.options.clone(),
            paused_until: Mutex::new(None),
            paced_until: Mutex::new(None),
            metrics: self.metrics.clone(),
        }
    }

    pub fn new(base: Url, token: SecretString, options: ClientOptions) -> Result<Self, GitlabError> {
        // reqwest is built without a default TLS crypto provider; the process uses ring
        // throughout (kube's choice too). Installing it again is harmless.
        let _ = rustls::crypto::ring::default_provider().install_default();
        let http = reqwest::Client::builder()
            .user_agent(concat!("stageboard/", env!("CARGO_PKG_VERSION")))
            .timeout(options.timeout)
            .connect_timeout(options.timeout.min(Duration::from_secs(5)))
            // The token travels in a header reqwest would carry to any host a redirect names.
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .map_err(|e| GitlabError::Unreachable {
                url: base.to_string(),
                reason: e.to_string(),
            })?;
        let base =
            Url::parse(base.as_str().trim_end_matches('/')).expect("a URL without its trailing slash is still a URL");
        Ok(GitlabClient {
            http,
            base,
            token,
            bearer: false,
            options,
            paused_until: Mutex::new(None),
            paced_until: Mutex::new(None),
            metrics: None,
        })
    }

    pub fn base_url(&self) -> &Url {
        &self.base
    }

    fn url(&self, path: &str) -> String {
        format!("{}{}", self.base.as_str().trim_end_matches('/'), path)
    }

    /// A GET of one JSON document under `/api/v4`.
    pub async fn get<T: DeserializeOwned>(&self, path: &str, query: &[(&str, String)]) -> Result<T, GitlabError> {
        let (_, body) = self.read(&format!("/api/v4{path}"), query).await?;
        decode(path, &body)
    }

    /// One page of a list.
    pub async fn page<T: DeserializeOwned>(
        &self,
        path: &str,
        query: &[(&str, String)],
        page: u32,
        per_page: u32,
    ) -> Result<Page<T>, GitlabError> {
        let mut query = query.to_vec();
        query.push(("page", page.to_string()));
        query.push(("per_page", per_page.clamp(1, 100).to_string()));
        let (headers, body) = self.read(&format!("/api/v4{path}"), &query).await?;
        let items = decode(path, &body)?;
        Ok(Page {
            items,
            next_page: next_page(&headers),
            total: header_number(&headers, "x-total"),
        })
    }

    /// Every project of a list asked for by id (`order_by=id`), newest first, each once: a
    /// project created while the list is read shifts the pages, so one may be met twice.
    pub async fn projects_by_id(&self, path: &str, query: &[(&str, String)]) -> Result<Vec<GlProject>, GitlabError> {
        let mut projects: Vec<GlProject> = self.all(path, query).await?;
        projects.sort_by_key(|p| std::cmp::Reverse(p.id));
        projects.dedup_by_key(|p| p.id);
        Ok(projects)
    }

    /// Every item of a list, following `x-next-page` (or `Link: rel="next"`) to the end.
    pub async fn all<T: DeserializeOwned>(&self, path: &str, query: &[(&str, String)]) -> Result<Vec<T>, GitlabError> {
        let mut items = Vec::new();
        let mut page = 1;
        loop {
            let mut chunk = self.page(path, query, page, 100).await?;
            items.append(&mut chunk.items);
            match chunk.next_page {
                Some(next) if next > page && next <= MAX_PAGES => page = next,
                Some(_) => {
                    tracing::warn!(path, pages = page, "stopped following pagination at the page limit");
                    break;
                }
                None => break,
            }
        }
        Ok(items)
    }

    /// The raw bytes of a text endpoint (job traces).
    pub async fn get_bytes(&self, path: &str) -> Result<Bytes, GitlabError> {
        Ok(self.read(&format!("/api/v4{path}"), &[]).await?.1)
    }

    /// A POST under `/api/v4` (an action): sent once, never retried by stageboard.
    pub async fn post<T: DeserializeOwned>(&self, path: &str, body: Option<&Value>) -> Result<T, GitlabError> {
        let (_, bytes) = self
            .send(Method::POST, &format!("/api/v4{path}"), &[], body)
            .await
            .map_err(|e| match e {
                GitlabError::Forbidden { message } => GitlabError::Refused { status: 403, message },
                GitlabError::Rejected { status, message } if (400..500).contains(&status) => {
                    GitlabError::Refused { status, message }
                }
                other => other,
            })?;
        decode(path, &bytes)
    }

    /// A GraphQL query; `errors` in the answer become an error.
    pub async fn graphql<T: DeserializeOwned>(&self, query: &str, variables: Value) -> Result<T, GitlabError> {
        let request = serde_json::json!({ "query": query, "variables": variables });
        // GraphQL reads are POSTs but safe to repeat.
        let mut attempt = 0;
        let (_, bytes) = loop {
            match self.send(Method::POST, "/api/graphql", &[], Some(&request)).await {
                Err(e) if e.is_transient() && attempt < self.options.read_retries => {
                    attempt += 1;
                    tokio::time::sleep(self.options.backoff * 2u32.pow(attempt - 1)).await;
                }
                // GraphQL answers a missing project with 200 and `null`: a 404 means the
                // endpoint itself is off (CONTRACT.md §3).
                Err(GitlabError::NotFound { .. } | GitlabError::Unsupported { .. }) => {
                    return Err(GitlabError::Unsupported {
                        feature: "the GraphQL API".into(),
                    });
                }
                other => break other?,
            }
        };
        let answer: Value = decode("graphql", &bytes)?;
        if let Some(errors) = answer.get("errors").and_then(Value::as_array).filter(|e| !e.is_empty()) {
            let message = errors
                .iter()
                .filter_map(|e| e.get("message").and_then(Value::as_str))
                .collect::<Vec<_>>()
                .join("; ");
            return Err(GitlabError::Rejected { status: 200, message });
        }
        let data = answer.get("data").cloned().unwrap_or(Value::Null);
        serde_json::from_value(data).map_err(|e| GitlabError::InvalidResponse {
            what: "graphql".into(),
            reason: e.to_string(),
        })
    }

    /// A GET, retried with backoff on 5xx and network errors.
    async fn read(&self, path: &str, query: &[(&str, String)]) -> Result<(HeaderMap, Bytes), GitlabError> {
        let mut attempt = 0;
        loop {
            match self.send(Method::GET, path, query, None).await {
                Err(e) if e.is_transient() && attempt < self.options.read_retries => {
                    attempt += 1;
                    tracing::debug!(path, attempt, error = %e, "retrying a GitLab read");
                    tokio::time::sleep(self.options.backoff * 2u32.pow(attempt - 1)).await;
                }
                other => return other,
            }
        }
    }

    async fn send(
        &self,
        method: Method,
        path: &str,
        query: &[(&str, String)],
        body: Option<&Value>,
    ) -> Result<(HeaderMap, Bytes), GitlabError> {
        if let Some(wait) = self.pause_left() {
            return Err(GitlabError::RateLimited { retry_after: wait });
        }
        self.wait_for_pace().await;
        let (name, value) = if self.bearer {
            ("authorization", format!("Bearer {}", self.token.expose_secret()))
        } else {
            ("private-token", self.token.expose_secret().to_owned())
        };
        let mut token = HeaderValue::from_str(&value).map_err(|_| GitlabError::Unauthorized {
            message: "the token contains characters a header cannot carry".into(),
        })?;
        token.set_sensitive(true);
        let mut request = self
            .http
            .request(method, self.url(path))
            .header(name, token)
            .query(query);
        if let Some(body) = body {
            request = request.json(body);
        }
        let response = match request.send().await {
            Ok(r) => r,
            Err(e) => {
                self.count(path, 0);
                return Err(self.unreachable(e));
            }
        };
        let status = response.status();
        self.count(path, status.as_u16());
        let _ = ANSWERED.try_with(|noted| noted.store(status.as_u16(), std::sync::atomic::Ordering::Relaxed));
        let headers = response.headers().clone();
        self.observe_budget(&headers);
        let bytes = self.read_body(path, response).await?;
        if status.is_success() {
            return Ok((headers, bytes));
        }
        Err(self.refusal(path, status, &headers, &bytes))
    }

    /// The body, at most [`MAX_ANSWER`] bytes of it: a job log (GitLab keeps up to 100 MB by
    /// default) or anything in front of GitLab cannot make stageboard hold more in memory.
    async fn read_body(&self, path: &str, mut response: reqwest::Response) -> Result<Bytes, GitlabError> {
        let too_large = || GitlabError::TooLarge {
            what: path.to_owned(),
            limit: MAX_ANSWER,
        };
        if response.content_length().is_some_and(|n| n > MAX_ANSWER as u64) {
            return Err(too_large());
        }
        let mut body = bytes::BytesMut::new();
        while let Some(chunk) = response.chunk().await.map_err(|e| self.unreachable(e))? {
            if body.len() + chunk.len() > MAX_ANSWER {
                return Err(too_large());
            }
            body.extend_from_slice(&chunk);
        }
        Ok(body.freeze())
    }

    fn unreachable(&self, e: reqwest::Error) -> GitlabError {
        let reason = if e.is_timeout() {
            format!("no answer within {} s", self.options.timeout.as_secs())
        } else if e.is_connect() {
            "connection refused or failed".to_owned()
        } else {
            // reqwest's message names the URL (never the token, which travels in a header).
            e.without_url().to_string()
        };
        GitlabError::Unreachable {
            url: self.base.to_string(),
            reason,
        }
    }

    fn refusal(&self, path: &str, status: StatusCode, headers: &HeaderMap, body: &[u8]) -> GitlabError {
        if status.is_redirection() {
            // Where it points, without its path and query (which may carry anything).
            let to = headers
                .get(reqwest::header::LOCATION)
                .and_then(|v| v.to_str().ok())
                .and_then(|v| self.base.join(v).ok())
                .map_or_else(
                    || "an address it did not give".to_owned(),
                    |u| u.origin().ascii_serialization(),
                );
            return GitlabError::Redirected {
                url: self.base.to_string(),
                status: status.as_u16(),
                to,
            };
        }
        let message = error_message(body);
        if status == StatusCode::NOT_FOUND && is_unknown_route(body) {
            return GitlabError::Unsupported {
                feature: format!("the endpoint {}", crate::metrics::endpoint(path)),
            };
        }
        match status {
            StatusCode::TOO_MANY_REQUESTS => {
                let retry_after = retry_after(headers).unwrap_or(Duration::from_secs(60));
                self.pause_for(retry_after);
                GitlabError::RateLimited { retry_after }
            }
            StatusCode::UNAUTHORIZED => GitlabError::Unauthorized { message },
            StatusCode::FORBIDDEN => GitlabError::Forbidden { message },
            StatusCode::NOT_FOUND => GitlabError::NotFound { message },
            s if s.is_server_error() => GitlabError::Server {
                status: s.as_u16(),
                message,
            },
            s => GitlabError::Rejected {
                status: s.as_u16(),
                message,
            },
        }
    }

    fn pause_left(&self) -> Option<Duration> {
        let paused = self.paused_until.lock().expect("pause lock");
        paused
            .and_then(|until| until.checked_duration_since(Instant::now()))
            .filter(|d| !d.is_zero())
    }

    fn pause_for(&self, wait: Duration) {
        let until = Instant::now() + wait;
        let mut paused = self.paused_until.lock().expect("pause lock");
        *paused = Some(paused.map_or(until, |p| p.max(until)));
    }

    fn count(&self, path: &str, status: u16) {
        if let Some(m) = &self.metrics {
            m.gitlab_request(path, status);
        }
    }

    async fn wait_for_pace(&self) {
        let until = *self.paced_until.lock().expect("pace lock");
        if let Some(wait) = until.and_then(|u| u.checked_duration_since(Instant::now())) {
            tokio::time::sleep(wait).await;
        }
    }

    /// When GitLab says the budget is spent, wait for its reset rather than earn a 429; when it
    /// runs low (under a tenth), spread what is left until the reset.
    fn observe_budget(&self, headers: &HeaderMap) {
        let remaining = header_number(headers, "ratelimit-remaining");
        if let (Some(m), Some(r)) = (&self.metrics, remaining) {
            m.ratelimit_remaining(i64::try_from(r).unwrap_or(i64::MAX));
        }
        let (Some(remaining), Some(reset)) = (remaining, header_number(headers, "ratelimit-reset")) else {
            return;
        };
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap_or_default()
            .as_secs();
        let until_reset = Duration::from_secs(reset.saturating_sub(now).max(1)).min(MAX_WAIT);
        if remaining == 0 {
            self.pause_for(until_reset);
        } else if let Some(limit) = header_number(headers, "ratelimit-limit")
            && remaining * 10 < limit
        {
            let gap = (until_reset / u32::try_from(remaining).unwrap_or(u32::MAX)).min(Duration::from_secs(5));
            *self.paced_until.lock().expect("pace lock") = Some(Instant::now() + gap);
        }
    }
}

fn decode<T: DeserializeOwned>(what: &str, body: &[u8]) -> Result<T, GitlabError> {
    serde_json::from_slice(body).map_err(|e| GitlabError::InvalidResponse {
        what: what.to_owned(),
        reason: e.to_string(),
    })
}

fn header_number(headers: &HeaderMap, name: &str) -> Option<u64> {
    headers.get(name)?.to_str().ok()?.trim().parse().ok()
}

/// `x-next-page`, else the page number in `Link: <...page=N...>; rel="next"`.
fn next_page(headers: &HeaderMap) -> Option<u32> {
    if let Some(n) = headers
        .get("x-next-page")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse().ok())
    {
        return Some(n);
    }
    let link = headers.get("link")?.to_str().ok()?;
    link.split(',')
        .find(|part| part.contains("rel=\"next\""))
        .and_then(|part| {
            let url = part.trim().strip_prefix('<')?.split('>').next()?;
            let url = Url::parse(url).ok()?;
            url.query_pairs()
                .find(|(k, _)| k == "page")
                .and_then(|(_, v)| v.parse().ok())
        })
}

/// `Retry-After` (seconds or an HTTP date), else `RateLimit-Reset` (a Unix time).
/// Between 1 s and [`MAX_WAIT`], whatever the headers say.
fn retry_after(headers: &HeaderMap) -> Option<Duration> {
    let now = SystemTime::now();
    let clamp = |wait: Duration| wait.clamp(Duration::from_secs(1), MAX_WAIT);
    if let Some(value) = headers.get("retry-after").and_then(|v| v.to_str().ok()) {
        if let Ok(secs) = value.trim().parse::<u64>() {
            return Some(clamp(Duration::from_secs(secs)));
        }
        if let Ok(at) = httpdate::parse_http_date(value) {
            return Some(clamp(at.duration_since(now).unwrap_or_default()));
        }
    }
    let reset = header_number(headers, "ratelimit-reset")?;
    let now = now.duration_since(UNIX_EPOCH).unwrap_or_default().as_secs();
    Some(clamp(Duration::from_secs(reset.saturating_sub(now))))
}

/// GitLab's answer for a route it does not have (`{"error":"404 Not Found"}`, CONTRACT.md §3),
/// as opposed to a missing resource (`{"message":"404 Project Not Found"}`).
fn is_unknown_route(body: &[u8]) -> bool {
    serde_json::from_slice::<Value>(body)
        .is_ok_and(|json| json.get("error").and_then(Value::as_str) == Some("404 Not Found"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(pairs: &[(&'static str, &str)]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for (k, v) in pairs {
            map.insert(*k, HeaderValue::from_str(v).unwrap());
        }
        map
    }

    #[test]
    fn the_token_never_shows_in_debug_output() {
        let client = GitlabClient::new(
            Url::parse("https://gitlab.example.com").unwrap(),
            SecretString::from("glpat-do-not-print"),
            ClientOptions::default(),
        )
        .unwrap();
        let shown = format!("{client:?}");
        assert!(
            shown.contains("gitlab.example.com") && !shown.contains("glpat-do-not-print"),
            "{shown}"
        );
    }

    #[test]
    fn absurd_rate_limit_headers_make_a_sane_wait() {
        let max = Some(MAX_WAIT);
        for huge in ["18446744073709551615", "Fri, 31 Dec 9999 23:59:59 GMT"] {
            assert_eq!(retry_after(&headers(&[("retry-after", huge)])), max, "{huge}");
        }
        assert_eq!(
            retry_after(&headers(&[("ratelimit-reset", "18446744073709551615")])),
            max
        );
        let one = Some(Duration::from_secs(1));
        assert_eq!(retry_after(&headers(&[("retry-after", "0")])), one);
        assert_eq!(
            retry_after(&headers(&[("retry-after", "Thu, 01 Jan 1970 00:00:00 GMT")])),
            one,
            "a date past"
        );
        assert_eq!(retry_after(&headers(&[("ratelimit-reset", "1")])), one, "a reset past");
        for junk in ["-5", "soon", "1e9", ""] {
            assert_eq!(retry_after(&headers(&[("retry-after", junk)])), None, "{junk}");
        }
        // A budget spent until the end of time pauses for the longest wait, not forever.
        let client = GitlabClient::new(
            Url::parse("https://gitlab.example.com").unwrap(),
            SecretString::from("t"),
            ClientOptions::default(),
        )
        .unwrap();
        client.observe_budget(&headers(&[
            ("ratelimit-remaining", "0"),
            ("ratelimit-reset", "18446744073709551615"),
        ]));
        let paused = client.pause_left().unwrap();
        assert!(
            paused <= MAX_WAIT && paused > MAX_WAIT - Duration::from_secs(5),
            "{paused:?}"
        );
    }

    #[test]
    fn absurd_pagination_headers_do_not_run_away() {
        assert_eq!(next_page(&headers(&[("x-next-page", "-1")])), None);
        assert_eq!(next_page(&headers(&[("x-next-page", "many")])), None);
        assert_eq!(next_page(&headers(&[("x-next-page", "99999999999")])), None, "past u32");
        // A huge next page is refused by `all` (MAX_PAGES), a link with junk is no next page.
        assert_eq!(next_page(&headers(&[("link", r#"<::junk::>; rel="next""#)])), None);
    }

    #[test]
    fn a_missing_route_is_told_from_a_missing_resource() {
        assert!(is_unknown_route(br#"{"error":"404 Not Found"}"#));
        assert!(!is_unknown_route(br#"{"message":"404 Project Not Found"}"#));
        assert!(!is_unknown_route(br#"{"message":"404 Not found"}"#));
    }

    #[test]
    fn next_page_comes_from_either_header() {
        assert_eq!(next_page(&headers(&[("x-next-page", "3")])), Some(3));
        assert_eq!(next_page(&headers(&[("x-next-page", "")])), None);
        let link = r#"<https://gitlab.example.com/api/v4/projects/1/jobs?page=1&per_page=100>; rel="first", <https://gitlab.example.com/api/v4/projects/1/jobs?page=4&per_page=100>; rel="next""#;
        assert_eq!(next_page(&headers(&[("link", link)])), Some(4));
    }

    #[test]
    fn retry_after_prefers_the_header_then_the_reset_time() {
        assert_eq!(
            retry_after(&headers(&[("retry-after", "42")])),
            Some(Duration::from_secs(42))
        );
        let in_ten = SystemTime::now().duration_since(UNIX_EPOCH).unwrap().as_secs() + 10;
        let wait = retry_after(&headers(&[("ratelimit-reset", &in_ten.to_string())])).unwrap();
        assert!(wait <= Duration::from_secs(10) && wait >= Duration::from_secs(8));
        assert_eq!(retry_after(&headers(&[])), None);
    }
}
