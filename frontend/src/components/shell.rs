//! Every page's data states in one place: a "Loading…" line until the first answer, the
//! server's message when there is nothing to show, and, when a later read fails, the last
//! answer under a note saying how old it is (a blip never blanks a page; see `poll`).

use leptos::prelude::*;

use crate::api::ApiError;
use crate::poll::Polled;

/// The page body for `polled`: `show` renders an answer; `loading` says what is on its way.
pub fn loaded<T>(
    polled: Polled<T>,
    loading: &'static str,
    show: impl Fn(T) -> AnyView + Send + Sync + 'static,
) -> impl IntoView
where
    T: Clone + Send + Sync + 'static,
{
    loaded_or(polled, move || waiting(loading), show)
}

/// As `loaded`, with `placeholder` in the answer's place until it comes: a placeholder as tall
/// as what replaces it keeps the rest of the page from moving (a layout shift).
pub fn loaded_or<T>(
    polled: Polled<T>,
    placeholder: impl Fn() -> AnyView + Send + Sync + 'static,
    show: impl Fn(T) -> AnyView + Send + Sync + 'static,
) -> impl IntoView
where
    T: Clone + Send + Sync + 'static,
{
    move || match polled.data.get() {
        None => placeholder(),
        Some(Err(e)) => failed(e),
        Some(Ok(value)) => with_stale(polled.stale, show(value)),
    }
}

fn with_stale(note: RwSignal<Option<String>>, body: AnyView) -> AnyView {
    view! { {move || note.get().map(|note| view! { <p class="stale" role="status">{note}</p> })} {body} }.into_any()
}

// Not generic: one copy in the wasm for every page.
fn waiting(loading: &'static str) -> AnyView {
    view! { <p class="loading" role="status">{loading}</p> }.into_any()
}

fn failed(e: ApiError) -> AnyView {
    view! { <p class="error" role="alert">{e.message}</p> }.into_any()
}
