//! Server-sent events: the server says when something a page shows has changed, so pages read
//! again only then (from the server's cache) rather than on a timer. The browser reconnects by
//! itself and sends Last-Event-ID, so no change is lost across a dropped connection.

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
/// the calling page goes away; `on` hears each `project`, `log` and `reset` event's kind and
/// JSON. `upstream` events go to the [`Upstream`] context.
pub fn listen(topics: String, on: impl Fn(&str, String) + 'static) {
    let Ok(source) = EventSource::new(&format!("/api/v1/events?topics={topics}")) else {
        return;
    };
    let upstream = use_context::<Upstream>();
    let handler = Closure::<dyn Fn(MessageEvent)>::new(move |e: MessageEvent| {
        let kind = e.type_();
        let data = e.data().as_string().unwrap_or_default();
        if kind == "upstream" {
            if let Some(u) = upstream {
                let down = field(&data, "reachable").as_bool() == Some(false);
                u.0.set(down.then(|| field(&data, "since").as_string().unwrap_or_default()));
            }
        } else {
            on(&kind, data);
        }
    });
    for kind in ["project", "log", "reset", "upstream"] {
        let _ = source.add_event_listener_with_callback(kind, handler.as_ref().unchecked_ref());
    }
    let kept = StoredValue::new_local(Some((source, handler)));
    on_cleanup(move || {
        if let Some((source, _handler)) = kept.try_update_value(Option::take).flatten() {
            source.close();
        }
    });
}
