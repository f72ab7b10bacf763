//! Keeping a page's data fresh: fetch now, then again every few seconds while `again` says so.
//! The last answer stays on screen while the next one loads (no flicker, no blank page).

use std::future::Future;
use std::pin::Pin;
use std::rc::Rc;
use std::time::Duration;

use leptos::prelude::*;
use leptos::task::spawn_local;

use crate::api::ApiError;

pub type Fetched<T> = RwSignal<Option<Result<T, ApiError>>>;

/// Fetches with `fetch` whenever its reactive inputs change, whenever the server announces a
/// change for `topics` (server-sent events), and every `every` while `again` returns true for
/// the latest answer (a safety net, and for what has no events: the cluster). Stops when the
/// page goes away.
pub fn poll<T, F, Fut>(
    fetch: F,
    topics: impl Fn() -> String + 'static,
    every: Duration,
    again: fn(&T) -> bool,
) -> Fetched<T>
where
    T: Send + Sync + 'static,
    F: Fn() -> Fut + 'static,
    Fut: Future<Output = Result<T, ApiError>> + 'static,
{
    let data: Fetched<T> = RwSignal::new(None);
    // Only these two closures know `T`; the scheduling below is shared by every page.
    let load: Rc<dyn Fn() -> Pin<Box<dyn Future<Output = ()>>>> = Rc::new(move || {
        let future = fetch();
        Box::pin(async move {
            let result = future.await;
            let _ = data.try_set(Some(result));
        })
    });
    let wants_more: Rc<dyn Fn() -> bool> = Rc::new(move || {
        data.try_with_untracked(|d| match d {
            Some(Ok(value)) => again(value),
            // Retry after errors: GitLab may be back.
            Some(Err(_)) => true,
            None => false,
        }) == Some(true)
    });
    schedule(load, Rc::new(topics), wants_more, every);
    data
}

fn schedule(
    load: Rc<dyn Fn() -> Pin<Box<dyn Future<Output = ()>>>>,
    topics: Rc<dyn Fn() -> String>,
    wants_more: Rc<dyn Fn() -> bool>,
    every: Duration,
) {
    let in_flight = StoredValue::new(false);
    let start = move |future: Pin<Box<dyn Future<Output = ()>>>| {
        in_flight.set_value(true);
        spawn_local(async move {
            future.await;
            in_flight.try_set_value(false);
        });
    };
    // Runs again when the inputs `fetch` reads (route parameters) change.
    let first = load.clone();
    Effect::new(move |_| start(first()));
    // Reads again when the server says something shown here changed.
    let on_change = load.clone();
    Effect::new(move |_| {
        let on_change = on_change.clone();
        crate::events::listen(topics(), move |_, _| start(untrack(|| on_change())));
    });
    let tick = move || {
        if in_flight.try_get_value().unwrap_or(true) {
            return;
        }
        if wants_more() {
            start(untrack(|| load()));
        }
    };
    if let Ok(handle) = set_interval_with_handle(tick, every) {
        on_cleanup(move || handle.clear());
    }
}
