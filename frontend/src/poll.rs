//! Keeping a page's data fresh: fetch now, then again every few seconds while `again` says so.
//! The last answer stays on screen while the next one loads (no flicker, no blank page).

use std::future::Future;
use std::time::Duration;

use leptos::prelude::*;
use leptos::task::spawn_local;

use crate::api::ApiError;

pub type Fetched<T> = RwSignal<Option<Result<T, ApiError>>>;

/// Fetches with `fetch` whenever its reactive inputs change and every `every` while `again`
/// returns true for the latest answer. Stops when the page goes away.
pub fn poll<T, F, Fut>(fetch: F, every: Duration, again: fn(&T) -> bool) -> Fetched<T>
where
    T: Send + Sync + 'static,
    F: Fn() -> Fut + Clone + 'static,
    Fut: Future<Output = Result<T, ApiError>> + 'static,
{
    let data: Fetched<T> = RwSignal::new(None);
    let in_flight = StoredValue::new(false);
    let start = {
        let fetch = fetch.clone();
        move |future: Fut| {
            in_flight.set_value(true);
            spawn_local(async move {
                let result = future.await;
                in_flight.try_set_value(false);
                let _ = data.try_set(Some(result));
            });
            let _ = &fetch;
        }
    };
    // Runs again when the inputs `fetch` reads (route parameters) change.
    let first = start.clone();
    let fetch_now = fetch.clone();
    Effect::new(move |_| first(fetch_now()));
    let tick = move || {
        if in_flight.try_get_value().unwrap_or(true) {
            return;
        }
        let keep_going = data.try_with_untracked(|d| match d {
            Some(Ok(value)) => again(value),
            // Retry after errors: GitLab may be back.
            Some(Err(_)) => true,
            None => false,
        });
        if keep_going == Some(true) {
            start(untrack(&fetch));
        }
    };
    if let Ok(handle) = set_interval_with_handle(tick, every) {
        on_cleanup(move || handle.clear());
    }
    data
}
