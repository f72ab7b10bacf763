//! `/metrics` in Prometheus text format: what stageboard asks of GitLab, how the hub paces
//! itself, webhooks, and the server-sent events it hands out. Never a token or a URL with one.

use std::sync::Arc;
use std::sync::atomic::AtomicU64;

use prometheus_client::encoding::text::encode;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::registry::Registry;

type Labels = Vec<(&'static str, String)>;

/// Every metric stageboard exports. Cheap to clone; clones share the values.
#[derive(Clone)]
pub struct Metrics(Arc<Inner>);

struct Inner {
    registry: Registry,
    gitlab_requests: Family<Labels, Counter>,
    ratelimit_remaining: Gauge,
    poll_interval: Family<Labels, Gauge<f64, AtomicU64>>,
    webhooks: Family<Labels, Counter>,
    sse_clients: Gauge,
    events_sent: Counter,
    events_published: Counter,
    oldest_state_age: Gauge<f64, AtomicU64>,
    cache_reads: Family<Labels, Counter>,
    cache_evictions: Counter,
    cache_entries: Gauge,
    cache_bytes: Gauge,
    csp_violations: Counter,
    replica_leading: Gauge,
}

impl std::fmt::Debug for Metrics {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Metrics")
    }
}

impl Default for Metrics {
    fn default() -> Self {
        Self::new()
    }
}

impl Metrics {
    pub fn new() -> Self {
        let mut registry = Registry::with_prefix("stageboard");
        let gitlab_requests = Family::<Labels, Counter>::default();
        registry.register(
            "gitlab_requests",
            "Requests sent to GitLab, by endpoint (ids replaced by :id) and HTTP status (0: no answer)",
            gitlab_requests.clone(),
        );
        let ratelimit_remaining = Gauge::default();
        registry.register(
            "gitlab_ratelimit_remaining",
            "GitLab's RateLimit-Remaining on its latest answer (-1 before any)",
            ratelimit_remaining.clone(),
        );
        ratelimit_remaining.set(-1);
        let poll_interval = Family::<Labels, Gauge<f64, AtomicU64>>::default();
        registry.register(
            "poll_interval_seconds",
            "How often the hub asks GitLab what changed, by project",
            poll_interval.clone(),
        );
        let webhooks = Family::<Labels, Counter>::default();
        registry.register(
            "webhook_events",
            "Webhook deliveries by result: applied, duplicate, rejected (bad token or body), ignored (unwatched project)",
            webhooks.clone(),
        );
        let replica_leading = Gauge::default();
        registry.register(
            "replica_leading",
            "1 while this process polls GitLab (alone, or the leading replica), 0 while another replica leads",
            replica_leading.clone(),
        );
        // Alone until told otherwise.
        replica_leading.set(1);
        let sse_clients = Gauge::default();
        registry.register(
            "sse_clients",
            "Browsers connected to /api/v1/events",
            sse_clients.clone(),
        );
        let events_sent = Counter::default();
        registry.register(
            "events_sent",
            "Server-sent events written to clients",
            events_sent.clone(),
        );
        let csp_violations = Counter::default();
        registry.register(
            "csp_violations",
            "Content-Security-Policy violations browsers reported (the app itself causes none)",
            csp_violations.clone(),
        );
        let events_published = Counter::default();
        registry.register(
            "events_published",
            "Changes the hub published (each goes to every interested client)",
            events_published.clone(),
        );
        let oldest_state_age = Gauge::<f64, AtomicU64>::default();
        registry.register(
            "oldest_state_age_seconds",
            "Age of the oldest project state the hub serves (time since GitLab last confirmed it)",
            oldest_state_age.clone(),
        );
        let cache_reads = Family::<Labels, Counter>::default();
        registry.register(
            "cache_reads",
            "Reads answered by the hub: hit (cached), shared (joined a request in flight), miss (asked GitLab), stale (GitLab failed, last state served), failed (a failure of the last few seconds repeated)",
            cache_reads.clone(),
        );
        let cache_evictions = Counter::default();
        registry.register(
            "cache_evictions",
            "Answers the hub forgot to stay within its bounds (entries and bytes), least recently read first",
            cache_evictions.clone(),
        );
        let cache_entries = Gauge::default();
        registry.register("cache_entries", "Answers the hub holds", cache_entries.clone());
        let cache_bytes = Gauge::default();
        registry.register(
            "cache_bytes",
            "Estimated size of the answers the hub holds (logs by their bytes, the rest by their text)",
            cache_bytes.clone(),
        );
        Metrics(Arc::new(Inner {
            registry,
            gitlab_requests,
            ratelimit_remaining,
            poll_interval,
            webhooks,
            sse_clients,
            replica_leading,
            events_sent,
            events_published,
            oldest_state_age,
            cache_reads,
            cache_evictions,
            cache_entries,
            cache_bytes,
            csp_violations,
        }))
    }

    pub fn gitlab_request(&self, path: &str, status: u16) {
        self.0
            .gitlab_requests
            .get_or_create(&vec![("endpoint", endpoint(path)), ("status", status.to_string())])
            .inc();
    }

    pub fn ratelimit_remaining(&self, remaining: i64) {
        self.0.ratelimit_remaining.set(remaining);
    }

    pub fn poll_interval(&self, project: u64, seconds: f64) {
        self.0
            .poll_interval
            .get_or_create(&vec![("project", project.to_string())])
            .set(seconds);
    }

    pub fn webhook(&self, result: &'static str) {
        self.0
            .webhooks
            .get_or_create(&vec![("result", result.to_owned())])
            .inc();
    }

    /// Whether this process polls GitLab (see [`crate::hub::Role`]).
    pub fn replica_leading(&self, leading: bool) {
        self.0.replica_leading.set(i64::from(leading));
    }

    pub fn sse_clients(&self) -> &Gauge {
        &self.0.sse_clients
    }

    pub fn event_sent(&self) {
        self.0.events_sent.inc();
    }

    pub fn csp_violation(&self) {
        self.0.csp_violations.inc();
    }

    pub fn event_published(&self) {
        self.0.events_published.inc();
    }

    pub fn oldest_state_age(&self, seconds: f64) {
        self.0.oldest_state_age.set(seconds);
    }

    /// The cache's size after a change, and how many answers it just forgot to stay bounded.
    pub fn cache_size(&self, entries: usize, bytes: usize, evicted: usize) {
        self.0.cache_entries.set(i64::try_from(entries).unwrap_or(i64::MAX));
        self.0.cache_bytes.set(i64::try_from(bytes).unwrap_or(i64::MAX));
        self.0.cache_evictions.inc_by(evicted as u64);
    }

    pub fn cache_read(&self, outcome: &'static str) {
        self.0
            .cache_reads
            .get_or_create(&vec![("outcome", outcome.to_owned())])
            .inc();
    }

    /// The Prometheus text exposition of every metric.
    pub fn encode(&self) -> String {
        let mut out = String::new();
        encode(&mut out, &self.0.registry).expect("writing to a String cannot fail");
        out
    }
}

/// A path with its ids replaced, so the label set stays small: `/projects/:id/jobs/:id/trace`.
pub fn endpoint(path: &str) -> String {
    let path = path.split('?').next().unwrap_or(path);
    let mut out = String::new();
    let mut segments = path.split('/').peekable();
    let mut previous = "";
    while let Some(segment) = segments.next() {
        if segment.is_empty() && segments.peek().is_some() && out.is_empty() {
            continue;
        }
        out.push('/');
        // A project's or group's id or path (a top-level group's path has no `%2F`).
        let named = matches!(previous, "projects" | "groups" | "runners");
        let is_id =
            !segment.is_empty() && (named || segment.bytes().all(|b| b.is_ascii_digit()) || segment.contains('%'));
        out.push_str(if is_id { ":id" } else { segment });
        previous = segment;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn endpoints_hide_ids_and_paths() {
        assert_eq!(endpoint("/projects/12/jobs/5001/trace"), "/projects/:id/jobs/:id/trace");
        assert_eq!(endpoint("/projects/demo%2Fapp"), "/projects/:id");
        assert_eq!(
            endpoint("/api/v4/groups/platform/projects"),
            "/api/v4/groups/:id/projects"
        );
        assert_eq!(endpoint("/api/v4/projects?topic=x"), "/api/v4/projects");
        assert_eq!(endpoint("/graphql"), "/graphql");
    }

    #[test]
    fn the_exposition_names_every_family() {
        let m = Metrics::new();
        m.gitlab_request("/projects/1/pipelines", 200);
        m.gitlab_request("/projects/2/pipelines", 200);
        m.webhook("duplicate");
        let text = m.encode();
        assert!(
            text.contains(r#"stageboard_gitlab_requests_total{endpoint="/projects/:id/pipelines",status="200"} 2"#),
            "{text}"
        );
        assert!(
            text.contains(r#"stageboard_webhook_events_total{result="duplicate"} 1"#),
            "{text}"
        );
        assert!(text.contains("stageboard_sse_clients 0"), "{text}");
    }
}
