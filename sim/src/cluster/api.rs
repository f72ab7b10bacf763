//! The Kubernetes API routes: LIST and WATCH of the five kinds in a namespace.

use std::time::Duration;

use axum::Router;
use axum::body::Body;
use axum::extract::{OriginalUri, Path, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use serde_json::{Value, json};

use super::objects::NAMESPACE;
use crate::Sim;
use crate::rest::params::Params;

/// A parsed `labelSelector`: `key`, `!key`, `key=value`, `key==value`, `key!=value`,
/// `key in (a,b)`, `key notin (a,b)`, comma-separated.
#[derive(Debug, Clone, Default)]
pub struct Selector(Vec<Term>);

#[derive(Debug, Clone)]
enum Term {
    Exists(String),
    Absent(String),
    In(String, Vec<String>),
    NotIn(String, Vec<String>),
}

impl Selector {
    pub fn parse(raw: &str) -> Result<Self, String> {
        let mut terms = Vec::new();
        let mut rest = raw.trim();
        while !rest.is_empty() {
            // Split on commas outside parentheses.
            let mut depth = 0;
            let end = rest
                .char_indices()
                .find(|(_, c)| {
                    match c {
                        '(' => depth += 1,
                        ')' => depth -= 1,
                        _ => {}
                    }
                    *c == ',' && depth == 0
                })
                .map(|(i, _)| i)
                .unwrap_or(rest.len());
            let term = rest[..end].trim();
            rest = rest.get(end + 1..).unwrap_or("").trim();
            if term.is_empty() {
                continue;
            }
            let set = |v: &str| -> Result<Vec<String>, String> {
                let inner = v
                    .trim()
                    .strip_prefix('(')
                    .and_then(|v| v.strip_suffix(')'))
                    .ok_or(format!("unable to parse requirement: {term}"))?;
                Ok(inner.split(',').map(|s| s.trim().to_owned()).collect())
            };
            let parsed = if let Some(key) = term.strip_prefix('!') {
                Term::Absent(key.trim().to_owned())
            } else if let Some((k, v)) = term.split_once(" notin ") {
                Term::NotIn(k.trim().to_owned(), set(v)?)
            } else if let Some((k, v)) = term.split_once(" in ") {
                Term::In(k.trim().to_owned(), set(v)?)
            } else if let Some((k, v)) = term.split_once("!=") {
                Term::NotIn(k.trim().to_owned(), vec![v.trim().to_owned()])
            } else if let Some((k, v)) = term.split_once("==").or_else(|| term.split_once('=')) {
                Term::In(k.trim().to_owned(), vec![v.trim().to_owned()])
            } else if term.chars().all(|c| c.is_ascii_alphanumeric() || "-_./".contains(c)) {
                Term::Exists(term.to_owned())
            } else {
                return Err(format!("unable to parse requirement: {term}"));
            };
            terms.push(parsed);
        }
        Ok(Selector(terms))
    }

    pub fn matches(&self, object: &Value) -> bool {
        let label = |k: &str| {
            object
                .pointer("/metadata/labels")
                .and_then(|l| l.get(k))
                .and_then(Value::as_str)
        };
        self.0.iter().all(|t| match t {
            Term::Exists(k) => label(k).is_some(),
            Term::Absent(k) => label(k).is_none(),
            Term::In(k, vs) => label(k).is_some_and(|v| vs.iter().any(|x| x == v)),
            Term::NotIn(k, vs) => label(k).is_none_or(|v| !vs.iter().any(|x| x == v)),
        })
    }
}

/// How often an idle watch gets a BOOKMARK (the API server's is about a minute; shorter here so
/// tests and the demo see them).
const BOOKMARK_EVERY: Duration = Duration::from_secs(2);

/// (path, kind, apiVersion) of every kind served.
const KINDS: [(&str, &str, &str); 5] = [
    ("/api/v1/namespaces/{namespace}/pods", "Pod", "v1"),
    ("/api/v1/namespaces/{namespace}/services", "Service", "v1"),
    (
        "/apis/apps/v1/namespaces/{namespace}/deployments",
        "Deployment",
        "apps/v1",
    ),
    (
        "/apis/apps/v1/namespaces/{namespace}/replicasets",
        "ReplicaSet",
        "apps/v1",
    ),
    (
        "/apis/networking.k8s.io/v1/namespaces/{namespace}/ingresses",
        "Ingress",
        "networking.k8s.io/v1",
    ),
];

pub fn routes() -> Router<Sim> {
    let mut router = Router::new();
    for (path, kind, api_version) in KINDS {
        router = router.route(
            path,
            get(
                move |State(sim): State<Sim>, Path(namespace): Path<String>, OriginalUri(uri): OriginalUri| async move {
                    list_or_watch(sim, kind, api_version, namespace, Params::parse(uri.query())).await
                },
            ),
        );
    }
    router.route(
        "/version",
        get(|| async {
            axum::Json(json!({ "major": "1", "minor": "33", "gitVersion": "v1.33.4-sim", "platform": "linux/amd64" }))
        }),
    )
}

/// A Kubernetes `Status` answer.
pub(crate) fn status(code: StatusCode, reason: &str, message: &str) -> Response {
    let body = json!({ "kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure", "message": message, "reason": reason, "code": code.as_u16() });
    (code, axum::Json(body)).into_response()
}

fn line(type_: &str, object: &Value) -> String {
    let mut s = serde_json::to_string(&json!({ "type": type_, "object": object })).expect("json");
    s.push('\n');
    s
}

async fn list_or_watch(
    sim: Sim,
    kind: &'static str,
    api_version: &'static str,
    namespace: String,
    params: Params,
) -> Response {
    let selector = match Selector::parse(params.get("labelSelector").unwrap_or("")) {
        Ok(s) => s,
        Err(e) => return status(StatusCode::BAD_REQUEST, "BadRequest", &e),
    };
    sim.sync_cluster();
    let in_namespace = namespace == NAMESPACE;
    if !matches!(params.get("watch"), Some("true" | "1")) {
        let (items, rv) = sim.cluster(|c| c.list(kind, &selector));
        let items = if in_namespace { items } else { Vec::new() };
        return axum::Json(json!({
            "kind": format!("{kind}List"),
            "apiVersion": api_version,
            "metadata": { "resourceVersion": rv.to_string() },
            "items": items,
        }))
        .into_response();
    }
    let since: u64 = match params.get("resourceVersion").filter(|v| !v.is_empty()) {
        None => 0,
        Some(v) => match v.parse() {
            Ok(n) => n,
            Err(_) => {
                return status(
                    StatusCode::BAD_REQUEST,
                    "BadRequest",
                    &format!("invalid resource version: {v}"),
                );
            }
        },
    };
    let bookmarks = matches!(params.get("allowWatchBookmarks"), Some("true" | "1"));
    let timeout = params
        .int("timeoutSeconds")
        .ok()
        .flatten()
        .unwrap_or(290)
        .clamp(1, 3600) as u64;
    let deadline = tokio::time::Instant::now() + Duration::from_secs(timeout);
    // resourceVersion 0 (or none): start with the current objects, as the API server does.
    let (mut text, mut last) = if since == 0 {
        let (items, rv) = sim.cluster(|c| c.list(kind, &selector));
        let text: String = items
            .iter()
            .filter(|_| in_namespace)
            .map(|o| line("ADDED", o))
            .collect();
        (text, rv)
    } else {
        (String::new(), since)
    };
    let mut changes = sim.cluster_changes();
    let stream = async_stream(move |tx| async move {
        let mut next_bookmark = tokio::time::Instant::now() + BOOKMARK_EVERY;
        loop {
            let found = sim.cluster(|c| c.events_after(kind, last, &selector));
            match found {
                None => {
                    let oldest = sim.cluster(|c| c.resource_version());
                    let error = json!({ "kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
                        "message": format!("too old resource version: {last} ({oldest})"), "reason": "Expired", "code": 410 });
                    text.push_str(&line("ERROR", &error));
                    let _ = tx.send(std::mem::take(&mut text)).await;
                    return;
                }
                Some(events) => {
                    for e in events.iter().filter(|_| in_namespace) {
                        text.push_str(&line(e.type_, &e.object));
                    }
                    if let Some(e) = events.last() {
                        last = e.resource_version;
                    }
                }
            }
            if !text.is_empty() && tx.send(std::mem::take(&mut text)).await.is_err() {
                return;
            }
            tokio::select! {
                _ = changes.changed() => {}
                _ = tokio::time::sleep_until(next_bookmark) => {
                    next_bookmark = tokio::time::Instant::now() + BOOKMARK_EVERY;
                    if bookmarks {
                        let rv = sim.cluster(|c| c.resource_version()).max(last);
                        let mark = json!({ "kind": kind, "apiVersion": api_version, "metadata": { "resourceVersion": rv.to_string() } });
                        if tx.send(line("BOOKMARK", &mark)).await.is_err() {
                            return;
                        }
                    }
                }
                _ = tokio::time::sleep_until(deadline) => return,
            }
        }
    });
    ([(header::CONTENT_TYPE, "application/json")], Body::from_stream(stream)).into_response()
}

/// A body stream fed by a task, ending when the task ends or the client goes away.
fn async_stream<F, Fut>(produce: F) -> impl futures::Stream<Item = Result<String, std::convert::Infallible>>
where
    F: FnOnce(tokio::sync::mpsc::Sender<String>) -> Fut,
    Fut: std::future::Future<Output = ()> + Send + 'static,
{
    let (tx, rx) = tokio::sync::mpsc::channel(16);
    tokio::spawn(produce(tx));
    futures::stream::unfold(rx, |mut rx| async move { rx.recv().await.map(|chunk| (Ok(chunk), rx)) })
}
