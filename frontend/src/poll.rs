//! Keeping a page's data fresh: fetch now, then again every few seconds while `again` says so.
//! The last answer stays on screen while the next one loads (no flicker, no blank page), and
//! when a later read fails (see [`Polled::stale`]).

use std::future::Future;
use std::pin::Pin;
use std::rc::Rc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use leptos::prelude::*;
use leptos::task::spawn_local;

use crate::api::ApiError;
use crate::format;

pub type Fetched<T> = RwSignal<Option<Result<T, ApiError>>>;

/// A page's data as [`poll`] keeps it.
pub struct Polled<T: 'static> {
    /// `None` until the first answer; then the latest answer, except that a failed read after
    /// a good one keeps the good one (see `stale`).
    pub data: Fetched<T>,
    /// Says how old the data on screen is and why it could not be refreshed.
    pub stale: RwSignal<Option<String>>,
}

impl<T> Clone for Polled<T> {
    fn clone(&self) -> Self {
        *self
    }
}

impl<T> Copy for Polled<T> {}

impl<T: Clone + Send + Sync + 'static> Polled<T> {
    pub fn get(&self) -> Option<Result<T, ApiError>> {
        self.data.get()
    }

    pub fn with<R>(&self, f: impl FnOnce(&Option<Result<T, ApiError>>) -> R) -> R {
        self.data.with(f)
    }
}

/// Orders answers by when their requests were sent: an answer is shown only if no request
/// sent after it has been answered already, so a slow older answer (the previous page's, or
/// from before a change) never replaces a newer one.
#[derive(Debug, Default, Clone, Copy)]
pub struct Tickets {
    issued: u64,
    shown: u64,
}

impl Tickets {
    pub fn issue(&mut self) -> u64 {
        self.issued += 1;
        self.issued
    }

    /// Whether the answer to request `ticket` may be shown (and is, from now on).
    pub fn accept(&mut self, ticket: u64) -> bool {
        let newer = ticket > self.shown;
        if newer {
            self.shown = ticket;
        }
        newer
    }
}

/// Fetches with `fetch` whenever its reactive inputs change (route parameters, a trigger an
/// action notifies), whenever the server announces a change for `topics` (server-sent events),
/// and every `every` while `again` returns true for the latest answer (a safety net, and for
/// what has no events: the cluster). Stops when the page goes away.
pub fn poll<T, F, Fut>(
    fetch: F,
    topics: impl Fn() -> String + 'static,
    every: Duration,
    again: fn(&T) -> bool,
) -> Polled<T>
where
    T: Send + Sync + 'static,
    F: Fn() -> Fut + 'static,
    Fut: Future<Output = Result<T, ApiError>> + 'static,
{
    let polled = Polled {
        data: RwSignal::new(None),
        stale: RwSignal::new(None),
    };
    let Polled { data, stale } = polled;
    let state = StoredValue::new(Shown::default());
    // Only these two closures know `T`; the scheduling below is shared by every page.
    // `again` is a re-read of what is on screen; otherwise the inputs changed (another
    // pipeline), and a failure replaces what was shown.
    let load: Load = Rc::new(move |again: bool| {
        let ticket = issue(state);
        let future = fetch();
        Box::pin(async move {
            let result = future.await;
            if admit(state, stale, ticket, again, result.as_ref().err()) {
                let _ = data.try_set(Some(result));
            }
        })
    });
    let wants_more: Rc<dyn Fn() -> bool> = Rc::new(move || {
        data.try_with_untracked(|d| match d {
            Some(Ok(value)) => again(value),
            // Retry after errors: GitLab may be back.
            Some(Err(_)) => true,
            None => false,
        }) == Some(true)
            || stale.try_with_untracked(Option::is_some) == Some(true)
    });
    schedule(load, Rc::new(topics), wants_more, every);
    polled
}

/// What is on screen, for deciding what the next answer does.
#[derive(Default)]
struct Shown {
    tickets: Tickets,
    /// A good answer is on screen, read at this time.
    good: Option<DateTime<Utc>>,
}

fn issue(state: StoredValue<Shown>) -> u64 {
    state.try_update_value(|s| s.tickets.issue()).unwrap_or_default()
}

/// Whether the answer to request `ticket` goes on screen: not when a newer one is there already,
/// nor when it is a failed re-read of a good answer, which stays (noted as stale).
fn admit(
    state: StoredValue<Shown>,
    stale: RwSignal<Option<String>>,
    ticket: u64,
    again: bool,
    failure: Option<&ApiError>,
) -> bool {
    let decision = state.try_update_value(|shown| {
        if !shown.tickets.accept(ticket) {
            return None;
        }
        match (failure, shown.good) {
            (Some(e), Some(read_at)) if again => Some(Some(format!(
                "Showing what was read {}: it could not be refreshed. {}",
                format::ago(read_at, Utc::now()),
                e.message
            ))),
            (failure, _) => {
                shown.good = failure.is_none().then(Utc::now);
                Some(None)
            }
        }
    });
    // `None`: a newer answer is on screen already, or the page has gone.
    let Some(note) = decision.flatten() else {
        return false;
    };
    let shows = note.is_none();
    let _ = stale.try_set(note);
    shows
}

/// Starts a read; `true` when it reads again what is on screen.
type Load = Rc<dyn Fn(bool) -> Pin<Box<dyn Future<Output = ()>>>>;

fn schedule(load: Load, topics: Rc<dyn Fn() -> String>, wants_more: Rc<dyn Fn() -> bool>, every: Duration) {
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
    Effect::new(move |_| start(first(false)));
    // Reads again when the server says something shown here changed.
    let on_change = load.clone();
    Effect::new(move |_| {
        let on_change = on_change.clone();
        crate::events::listen(topics(), move |_| start(untrack(|| on_change(true))));
    });
    let tick = move || {
        if in_flight.try_get_value().unwrap_or(true) {
            return;
        }
        if wants_more() {
            start(untrack(|| load(true)));
        }
    };
    if let Ok(handle) = set_interval_with_handle(tick, every) {
        on_cleanup(move || handle.clear());
    }
}

#[cfg(test)]
mod tests {
    use super::Tickets;

    #[test]
    fn a_slow_older_answer_never_replaces_a_newer_one() {
        let mut tickets = Tickets::default();
        let (first, second, third) = (tickets.issue(), tickets.issue(), tickets.issue());
        assert!(tickets.accept(second), "the newer answer came first: shown");
        assert!(!tickets.accept(first), "the older one, slower: dropped");
        assert!(tickets.accept(third));
        assert!(!tickets.accept(third), "an answer is shown once");
    }
}
