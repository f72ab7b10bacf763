//! Server-sent events: the server says when something a page shows has changed, so pages read
//! again only then (from the server's cache) rather than on a timer. The browser reconnects by
//! itself and sends Last-Event-ID, so no change is lost across a dropped connection; the app
//! keeps one connection, for every view on screen.

use std::cell::RefCell;
use std::rc::Rc;
use std::time::Duration;

use leptos::prelude::*;
use wasm_bindgen::closure::Closure;
use wasm_bindgen::{JsCast, JsValue};
use web_sys::{EventSource, MessageEvent};

/// GitLab's reachability as the server last announced it: `Some(since)` while it fails.
#[derive(Debug, Clone, Copy)]
pub struct Upstream(pub RwSignal<Option<String>>);

pub fn provide_upstream() {
    provide_context(Upstream(RwSignal::new(None)));
}

/// A field of an event's JSON, read with the browser's parser (no serde code for these few).
pub fn field(data: &str, name: &str) -> JsValue {
    js_sys::JSON::parse(data)
        .and_then(|v| js_sys::Reflect::get(&v, &JsValue::from_str(name)))
        .unwrap_or(JsValue::UNDEFINED)
}

/// Listens to the server's changes for `topics` (`projects`, `project:1`, `log:1:5001`) until
/// the calling page or view goes away; `on` hears each `project`, `log` and `reset` event's
/// kind and JSON. `upstream` events go to the [`Upstream`] context.
///
/// Every listener shares the app's one connection ([`Stream`]): HTTP/1.1 gives a browser six
/// connections per host, which a connection per view would use up (a job page alone had two).
pub fn listen(topics: String, on: impl Fn(&str, String) + 'static) {
    let upstream = use_context::<Upstream>();
    let id = STREAM.with_borrow_mut(|s| {
        s.upstream = s.upstream.or(upstream);
        s.next_id += 1;
        s.listeners.push(Listener {
            id: s.next_id,
            topics: topics.split(',').map(str::to_owned).collect(),
            on: Rc::new(on),
        });
        s.next_id
    });
    reopen_soon();
    on_cleanup(move || {
        STREAM.with_borrow_mut(|s| s.listeners.retain(|l| l.id != id));
        reopen_soon();
    });
}

type Handler = Closure<dyn Fn(MessageEvent)>;

/// What a listener does with an event: its kind and JSON.
type Callback = Rc<dyn Fn(&str, String)>;

struct Listener {
    id: u64,
    topics: Vec<String>,
    on: Callback,
}

/// The app's one `EventSource`, opened for the union of its listeners' topics.
#[derive(Default)]
struct Stream {
    /// The connection and its handler, which must live as long as it does.
    source: Option<(EventSource, Handler)>,
    /// The topics the open connection asked for.
    topics: String,
    /// The last event seen: a reopened connection resumes after it, so nothing is missed.
    last_event_id: Option<String>,
    listeners: Vec<Listener>,
    next_id: u64,
    upstream: Option<Upstream>,
    reopen_pending: bool,
    /// Failed openings in a row (the server refused a topic, or is away): the next waits longer.
    failures: u32,
}

thread_local! {
    static STREAM: RefCell<Stream> = RefCell::new(Stream::default());
}

/// Reopens the connection once the listeners have settled: a navigation removes the old
/// page's listeners and adds the new page's, and that is one new connection, not two.
fn reopen_soon() {
    reopen_after(Duration::from_millis(30));
}

fn reopen_after(wait: Duration) {
    let pending = STREAM.with_borrow_mut(|s| std::mem::replace(&mut s.reopen_pending, true));
    if !pending {
        set_timeout(reopen, wait);
    }
}

/// The browser retries a dropped connection by itself, but not one the server refused (a
/// topic of a project it does not watch, GitLab away while it checked): that is retried here,
/// waiting 5 s longer each time, up to a minute.
fn closed() {
    // `reopen` opens a closed connection again, even for the same topics.
    let failures = STREAM.with_borrow_mut(|s| {
        s.failures += 1;
        s.failures
    });
    reopen_after(Duration::from_secs(5 * u64::from(failures.min(12))));
}

fn reopen() {
    STREAM.with_borrow_mut(|s| {
        s.reopen_pending = false;
        let topics = union(s.listeners.iter().flat_map(|l| &l.topics));
        if topics == s.topics
            && s.source
                .as_ref()
                .is_some_and(|(e, _)| e.ready_state() != EventSource::CLOSED)
        {
            return;
        }
        if let Some((old, _)) = s.source.take() {
            old.close();
        }
        s.topics = topics.clone();
        if topics.is_empty() {
            return;
        }
        let mut url = format!("/api/v1/events?topics={topics}");
        if let Some(id) = &s.last_event_id {
            url.push_str(&format!("&last_event_id={id}"));
        }
        let Ok(source) = EventSource::new(&url) else {
            return;
        };
        let handler = Handler::new(move |e: MessageEvent| {
            if e.type_() != "error" {
                dispatch(e);
            } else if STREAM.with_borrow(|s| {
                s.source
                    .as_ref()
                    .is_some_and(|(e, _)| e.ready_state() == EventSource::CLOSED)
            }) {
                closed();
            }
        });
        for kind in ["project", "log", "reset", "upstream", "error"] {
            let _ = source.add_event_listener_with_callback(kind, handler.as_ref().unchecked_ref());
        }
        s.source = Some((source, handler));
    });
}

fn dispatch(e: MessageEvent) {
    let kind = e.type_();
    let data = e.data().as_string().unwrap_or_default();
    let id = e.last_event_id();
    let project = field(&data, "project").as_f64().map(|p| p as u64);
    let job = field(&data, "job").as_f64().map(|j| j as u64);
    // The callbacks are called after the borrow ends: they may listen or stop listening.
    let (upstream, callbacks) = STREAM.with_borrow_mut(|s| {
        s.failures = 0;
        if !id.is_empty() {
            s.last_event_id = Some(id);
        }
        let callbacks: Vec<Callback> = s
            .listeners
            .iter()
            .filter(|l| l.topics.iter().any(|t| wants(t, &kind, project, job)))
            .map(|l| l.on.clone())
            .collect();
        (s.upstream, callbacks)
    });
    if kind == "upstream" {
        if let Some(u) = upstream {
            let down = field(&data, "reachable").as_bool() == Some(false);
            u.0.set(down.then(|| field(&data, "since").as_string().unwrap_or_default()));
        }
        return;
    }
    for on in callbacks {
        on(&kind, data.clone());
    }
}

/// Every topic once, in the order the listeners came (the same listeners give the same
/// connection). A handful of topics: a linear search costs less wasm than a sort.
fn union<'a>(topics: impl Iterator<Item = &'a String>) -> String {
    let mut all: Vec<&str> = Vec::new();
    for topic in topics.filter(|t| !t.is_empty()) {
        if !all.contains(&topic.as_str()) {
            all.push(topic);
        }
    }
    all.join(",")
}

/// Whether a listener of `topic` wants an event of `kind` about `project` (and `job`), as the
/// server decides which events a connection gets (`hub/events.rs`).
fn wants(topic: &str, kind: &str, project: Option<u64>, job: Option<u64>) -> bool {
    let is = |s: &str, wanted: Option<u64>| s.parse::<u64>().ok().is_some_and(|n| Some(n) == wanted);
    match kind {
        "reset" => true,
        "project" => topic == "projects" || topic.strip_prefix("project:").is_some_and(|p| is(p, project)),
        "log" => topic
            .strip_prefix("log:")
            .and_then(|rest| rest.split_once(':'))
            .is_some_and(|(p, j)| is(p, project) && is(j, job)),
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_listener_hears_the_events_of_its_topics() {
        assert!(wants("projects", "project", Some(3), None));
        assert!(wants("project:3", "project", Some(3), None));
        assert!(!wants("project:4", "project", Some(3), None));
        assert!(!wants("project:3", "project", None, None));
        assert!(wants("log:1:5001", "log", Some(1), Some(5001)));
        assert!(!wants("log:1:5002", "log", Some(1), Some(5001)));
        assert!(!wants("projects", "log", Some(1), Some(5001)));
        assert!(
            wants("log:1:5001", "reset", None, None),
            "everyone reads again after a reset"
        );
    }

    #[test]
    fn the_connection_asks_for_every_topic_once() {
        let topics = ["project:2", "log:2:7", "project:2", "", "projects"].map(String::from);
        assert_eq!(union(topics.iter()), "project:2,log:2:7,projects");
    }
}
