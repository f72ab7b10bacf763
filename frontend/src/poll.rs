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

/// What is on screen, and what the next answer does to it. Answers are taken in the order
/// their requests were sent, so a slow older answer (the previous page's, or from before a
/// change) never replaces a newer one; an answer for inputs that have changed since (another
/// pipeline) is dropped; a re-read that fails for now keeps a good answer of the same inputs
/// on screen, noted as stale; any other answer replaces what is shown.
#[derive(Debug, Default)]
pub struct Screen {
    sent: u64,
    /// The request whose answer is on screen.
    shown: u64,
    /// Raised when the inputs change; each request carries the inputs it was sent for.
    inputs: u64,
    /// A good answer is on screen: for which inputs, and when it was read.
    good: Option<(u64, DateTime<Utc>)>,
}

/// A request as [`Screen`] knows it.
#[derive(Debug, Clone, Copy)]
pub struct Sent {
    number: u64,
    inputs: u64,
}

/// What to do with an answer.
#[derive(Debug, PartialEq, Eq)]
pub enum Verdict {
    Show,
    /// Keep the good answer on screen, read at this time, and say it could not be refreshed.
    Stale(DateTime<Utc>),
    Drop,
}

impl Screen {
    /// A request is sent; `new_inputs` when what the page shows changed (the route).
    pub fn send(&mut self, new_inputs: bool) -> Sent {
        self.sent += 1;
        if new_inputs {
            self.inputs += 1;
        }
        Sent {
            number: self.sent,
            inputs: self.inputs,
        }
    }

    /// Its answer came: `failure` is `Some(transient)` when it failed.
    pub fn answer(&mut self, sent: Sent, failure: Option<bool>, now: DateTime<Utc>) -> Verdict {
        if sent.number <= self.shown || sent.inputs != self.inputs {
            return Verdict::Drop;
        }
        match (failure, self.good) {
            (Some(true), Some((inputs, read_at))) if inputs == sent.inputs => Verdict::Stale(read_at),
            _ => {
                self.shown = sent.number;
                self.good = failure.is_none().then_some((sent.inputs, now));
                Verdict::Show
            }
        }
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
    let screen = StoredValue::new(Screen::default());
    // Only these two closures know `T`; the scheduling below is shared by every page.
    // `again` is a re-read of what is on screen; otherwise the inputs changed (the route).
    let load: Load = Rc::new(move |again: bool| {
        let sent = screen.try_update_value(|s| s.send(!again));
        let future = fetch();
        Box::pin(async move {
            let result = future.await;
            let Some(sent) = sent else { return };
            if admit(screen, stale, sent, result.as_ref().err()) {
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

/// Whether an answer goes on screen ([`Screen::answer`]); notes a stale one. Not generic.
fn admit(screen: StoredValue<Screen>, stale: RwSignal<Option<String>>, sent: Sent, failure: Option<&ApiError>) -> bool {
    let now = Utc::now();
    let verdict = screen.try_update_value(|s| s.answer(sent, failure.map(|e| e.transient), now));
    match (verdict, failure) {
        (Some(Verdict::Show), _) => {
            let _ = stale.try_set(None);
            true
        }
        (Some(Verdict::Stale(read_at)), Some(e)) => {
            let _ = stale.try_set(Some(format!(
                "Showing what was read {}: it could not be refreshed. {}",
                format::ago(read_at, now),
                e.message
            )));
            false
        }
        _ => false,
    }
}

/// Starts a read; `true` when it reads again what is on screen.
type Load = Rc<dyn Fn(bool) -> Pin<Box<dyn Future<Output = ()>>>>;

fn schedule(load: Load, topics: Rc<dyn Fn() -> String>, wants_more: Rc<dyn Fn() -> bool>, every: Duration) {
    let reads = Reads {
        load,
        in_flight: StoredValue::new(false),
        pending: StoredValue::new(false),
    };
    // Runs again when the inputs `fetch` reads (route parameters, an action's trigger) change:
    // those reads go at once.
    let first = reads.clone();
    Effect::new(move |_| first.start((first.load)(false)));
    // Reads again when the server says something shown here changed; a burst of events while
    // a read is out makes one more read when it ends, not one each.
    let on_change = reads.clone();
    Effect::new(move |_| {
        let on_change = on_change.clone();
        crate::events::listen(topics(), move |_| on_change.again());
    });
    let tick = move || {
        if reads.in_flight.try_get_value() == Some(false) && wants_more() {
            reads.again();
        }
    };
    if let Ok(handle) = set_interval_with_handle(tick, every) {
        on_cleanup(move || handle.clear());
    }
}

/// A page's reads: one re-read at a time, and at most one waiting.
#[derive(Clone)]
struct Reads {
    load: Load,
    in_flight: StoredValue<bool>,
    pending: StoredValue<bool>,
}

impl Reads {
    fn start(&self, read: Pin<Box<dyn Future<Output = ()>>>) {
        self.in_flight.set_value(true);
        let this = self.clone();
        spawn_local(async move {
            read.await;
            this.in_flight.try_set_value(false);
            if this.pending.try_update_value(std::mem::take) == Some(true) {
                this.again();
            }
        });
    }

    /// Reads again what is on screen, now or when the read out ends.
    fn again(&self) {
        if self.in_flight.try_get_value() != Some(false) {
            self.pending.try_set_value(true);
            return;
        }
        self.start(untrack(|| (self.load)(true)));
    }
}

#[cfg(test)]
mod tests {
    use chrono::{TimeZone, Utc};

    use super::{Screen, Verdict};

    const TRANSIENT: Option<bool> = Some(true);
    const FOR_GOOD: Option<bool> = Some(false);

    #[test]
    fn a_slow_older_answer_never_replaces_a_newer_one() {
        let now = Utc.timestamp_opt(1_800_000_000, 0).unwrap();
        let mut screen = Screen::default();
        let first = screen.send(true);
        let (second, third) = (screen.send(false), screen.send(false));
        assert_eq!(
            screen.answer(second, None, now),
            Verdict::Show,
            "the newer answer came first"
        );
        assert_eq!(screen.answer(first, None, now), Verdict::Drop, "the older one, slower");
        assert_eq!(screen.answer(third, None, now), Verdict::Show);
        assert_eq!(
            screen.answer(third, None, now),
            Verdict::Drop,
            "an answer is shown once"
        );
    }

    #[test]
    fn a_failed_re_read_keeps_the_good_answer_only_while_it_may_pass() {
        let (read, later) = (
            Utc.timestamp_opt(1_800_000_000, 0).unwrap(),
            Utc.timestamp_opt(1_800_000_060, 0).unwrap(),
        );
        let mut screen = Screen::default();
        let first = screen.send(true);
        assert_eq!(screen.answer(first, None, read), Verdict::Show);
        let blip = screen.send(false);
        assert_eq!(screen.answer(blip, TRANSIENT, later), Verdict::Stale(read));
        let gone = screen.send(false);
        assert_eq!(
            screen.answer(gone, FOR_GOOD, later),
            Verdict::Show,
            "a 404 replaces the page: the pipeline is gone"
        );
    }

    #[test]
    fn another_page_s_failure_is_not_hidden_behind_the_last_page() {
        let now = Utc.timestamp_opt(1_800_000_000, 0).unwrap();
        let mut screen = Screen::default();
        let a = screen.send(true);
        assert_eq!(screen.answer(a, None, now), Verdict::Show);
        let a_again = screen.send(false);
        // To pipeline B; an event for B comes before B's first answer, and fails for now.
        let b = screen.send(true);
        let b_again = screen.send(false);
        assert_eq!(
            screen.answer(b_again, TRANSIENT, now),
            Verdict::Show,
            "B's error, not A's data"
        );
        assert_eq!(
            screen.answer(b, None, now),
            Verdict::Drop,
            "sent before the error shown"
        );
        assert_eq!(
            screen.answer(a_again, None, now),
            Verdict::Drop,
            "A's answer never shows on B's page"
        );
    }
}
