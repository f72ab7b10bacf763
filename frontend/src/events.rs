//! Server-sent events: the server says when something a page shows has changed, so pages read
//! again only then (from the server's cache) rather than on a timer. The browser reconnects by
//! itself and sends Last-Event-ID, so no change is lost across a dropped connection; the app
//! keeps one connection, for every view on screen.

use std::cell::RefCell;
use std::rc::Rc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use leptos::prelude::*;
use stageboard_protocol::ServerEvent;
use wasm_bindgen::JsCast;
use wasm_bindgen::closure::Closure;
use web_sys::{EventSource, MessageEvent};

/// GitLab's reachability as the server last announced it: `Some(since)` while it fails.
#[derive(Debug, Clone, Copy)]
pub struct Upstream(pub RwSignal<Option<Option<DateTime<Utc>>>>);

pub fn provide_upstream() {
    provide_context(Upstream(RwSignal::new(None)));
}

/// Listens to the server's changes for `topics` (`projects`, `project:1`, `log:1:5001`,
/// `cluster`) until the calling page or view goes away; `on` hears each event of those topics,
/// and every `reset`. `upstream` events go to the [`Upstream`] context.
///
/// Every listener shares the app's one connection ([`Stream`]): HTTP/1.1 gives a browser six
/// connections per host, which a connection per view would use up (a job page alone had two).
pub fn listen(topics: String, on: impl Fn(&ServerEvent) + 'static) {
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

/// What a listener does with an event.
type Callback = Rc<dyn Fn(&ServerEvent)>;

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
        for kind in ServerEvent::NAMES.into_iter().chain(["error"]) {
            let _ = source.add_event_listener_with_callback(kind, handler.as_ref().unchecked_ref());
        }
        s.source = Some((source, handler));
    });
}

fn dispatch(e: MessageEvent) {
    let id = e.last_event_id();
    let Ok(event) = crate::api::parse::<ServerEvent>(&e.data().as_string().unwrap_or_default()) else {
        return;
    };
    // The callbacks are called after the borrow ends: they may listen or stop listening.
    let (upstream, callbacks) = STREAM.with_borrow_mut(|s| {
        s.failures = 0;
        if !id.is_empty() {
            s.last_event_id = Some(id);
        }
        let callbacks: Vec<Callback> = s
            .listeners
            .iter()
            .filter(|l| l.topics.iter().any(|t| wants(t, &event)))
            .map(|l| l.on.clone())
            .collect();
        (s.upstream, callbacks)
    });
    if let ServerEvent::Upstream { reachable, since, .. } = &event {
        if let Some(u) = upstream {
            u.0.set((!reachable).then_some(since.map(|t| *t)));
        }
        return;
    }
    for on in callbacks {
        on(&event);
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

/// Whether a listener of `topic` wants `event`, as the server decides which events a
/// connection gets (`hub/events.rs`).
fn wants(topic: &str, event: &ServerEvent) -> bool {
    let is = |s: &str, wanted: u64| s.parse::<u64>().ok() == Some(wanted);
    match event {
        ServerEvent::Reset { .. } => true,
        ServerEvent::Project { project, .. } => {
            topic == "projects" || topic.strip_prefix("project:").is_some_and(|p| is(p, *project))
        }
        ServerEvent::Log { project, job, .. } => topic
            .strip_prefix("log:")
            .and_then(|rest| rest.split_once(':'))
            .is_some_and(|(p, j)| is(p, *project) && is(j, *job)),
        ServerEvent::Cluster => topic == "cluster",
        ServerEvent::Upstream { .. } => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_listener_hears_the_events_of_its_topics() {
        let project = |project| ServerEvent::Project {
            project,
            pipelines: vec![],
        };
        let log = ServerEvent::Log {
            project: 1,
            job: 5001,
            offset: 0,
            content: String::new(),
            complete: false,
        };
        assert!(wants("projects", &project(3)));
        assert!(wants("project:3", &project(3)));
        assert!(!wants("project:4", &project(3)));
        assert!(wants("log:1:5001", &log));
        assert!(!wants("log:1:5002", &log));
        assert!(!wants("projects", &log));
        assert!(wants("cluster", &ServerEvent::Cluster));
        assert!(!wants("projects", &ServerEvent::Cluster));
        assert!(
            wants("log:1:5001", &ServerEvent::Reset { reason: String::new() }),
            "everyone reads again after a reset"
        );
    }

    #[test]
    fn the_connection_asks_for_every_topic_once() {
        let topics = ["project:2", "log:2:7", "project:2", "", "projects"].map(String::from);
        assert_eq!(union(topics.iter()), "project:2,log:2:7,projects");
    }
}
