//! stageboard's single-page app. Every request goes through [`api`]; one page per file in
//! `pages/`, shared pieces in `components/`, browser-free view logic in [`format`].

pub mod api;
mod components;
mod events;
pub mod format;
mod log_view;
mod notify;
mod pages;
mod poll;
mod wall_view;

pub use wall_view::WallApp;

use leptos::ev;
use leptos::prelude::*;
use leptos_router::components::{Route, Router, Routes};
use leptos_router::path;

use components::TopBar;
use stageboard_protocol::Bundle;

use pages::{
    Audit, EnvironmentPage, Environments, JobPage, Kiosk, NotFound, Overview, PipelinePage, ProjectPipelines,
    RunnersPage,
};

const SHORTCUTS: [(&str, &str); 9] = [
    ("?", "show or hide this help"),
    ("g o", "go to the overview"),
    ("/", "search the log"),
    ("n / N", "next / previous match"),
    ("e", "jump to the first error"),
    ("G", "jump to the end of the log"),
    ("f", "follow a running log"),
    ("t", "show or hide timestamps"),
    ("Esc", "close dialogs and this help"),
];

/// The keyboard shortcuts (`?` shows them all), in the team app and the log viewer.
#[component]
fn Shortcuts() -> impl IntoView {
    let help = RwSignal::new(false);
    let pending_g = StoredValue::new(false);
    let keys = window_event_listener(ev::keydown, move |e| {
        use wasm_bindgen::JsCast;
        let in_field = e
            .target()
            .and_then(|t| t.dyn_into::<web_sys::Element>().ok())
            .is_some_and(|el| matches!(el.tag_name().as_str(), "INPUT" | "TEXTAREA" | "SELECT"));
        if in_field || e.ctrl_key() || e.meta_key() || e.alt_key() {
            return;
        }
        match e.key().as_str() {
            "?" => help.update(|h| *h = !*h),
            "Escape" => help.set(false),
            "g" => pending_g.set_value(true),
            "o" if pending_g.get_value() => {
                pending_g.set_value(false);
                if let Some(w) = web_sys::window() {
                    let _ = w.location().set_href("/");
                }
            }
            _ => pending_g.set_value(false),
        }
    });
    on_cleanup(move || keys.remove());
    view! {
        <Show when=move || help.get()>
            <div class="dialog help" role="dialog" aria-modal="true" aria-labelledby="help-title">
                <h2 id="help-title">"Keyboard shortcuts"</h2>
                <dl>
                    {SHORTCUTS.iter().map(|(k, what)| view! { <dt><kbd>{*k}</kbd></dt><dd>{*what}</dd> }).collect_view()}
                </dl>
                <button class="button" on:click=move |_| help.set(false)>"Close"</button>
            </div>
        </Show>
    }
    .into_any()
}

/// What every bundle's page stands in: the router, the skip link, the top bar and the page.
#[component]
fn Shell(children: Children) -> impl IntoView {
    api::provide_server_info();
    view! {
        <Router>
            <a class="skip" href="#main">"Skip to content"</a>
            <TopBar />
            <main id="main">{children()}</main>
        </Router>
    }
    .into_any()
}

/// The team app (`frontend/index.html`): overview, pipelines, environments.
#[component]
pub fn App() -> impl IntoView {
    events::provide_upstream();
    notify::provide();
    view! {
        <Shell>
            <Routes fallback=|| elsewhere(Bundle::Team)>
                <Route path=path!("/") view=Overview />
                <Route path=path!("/projects/:project_id/pipelines") view=ProjectPipelines />
                <Route path=path!("/projects/:project_id/pipelines/:pipeline_id") view=PipelinePage />
                <Route path=path!("/environments") view=Environments />
                <Route path=path!("/runners") view=RunnersPage />
                <Route path=path!("/projects/:project_id/environments/:environment_id") view=EnvironmentPage />
            </Routes>
        </Shell>
        <Shortcuts />
        <notify::Notifier />
    }
    .into_any()
}

/// The log viewer's app (`frontend/log.html`): a job and its whole log.
#[component]
pub fn LogApp() -> impl IntoView {
    events::provide_upstream();
    view! {
        <Shell>
            <Routes fallback=|| elsewhere(Bundle::Log)>
                <Route path=path!("/projects/:project_id/jobs/:job_id") view=JobPage />
            </Routes>
        </Shell>
        <Shortcuts />
    }
    .into_any()
}

/// The admin bundle's app (`frontend/admin.html`): the audit log and the kiosk screens.
#[component]
pub fn AdminApp() -> impl IntoView {
    view! {
        <Shell>
            <Routes fallback=|| elsewhere(Bundle::Admin)>
                <Route path=path!("/audit") view=Audit />
                <Route path=path!("/kiosk") view=Kiosk />
            </Routes>
        </Shell>
    }
    .into_any()
}

/// A route this bundle does not have: another bundle's page (a link from a pipeline to a job)
/// is loaded, so the server gives it that bundle; an address no bundle knows is not found
/// (loading it again would only come back here). Loaded once the router has put the address in
/// the history, replacing that entry, so Back returns to the page the link was on.
fn elsewhere(this: Bundle) -> AnyView {
    let target = leptos_router::hooks::use_location();
    let path = target.pathname.get_untracked();
    if Bundle::of(&path) == this {
        return NotFound().into_any();
    }
    // A path of this origin: `//host/…` would leave it.
    let mut url = format!("/{}", path.trim_start_matches('/'));
    let (search, hash) = (target.search.get_untracked(), target.hash.get_untracked());
    if !search.is_empty() {
        url = format!("{url}?{search}");
    }
    if !hash.is_empty() {
        url = format!("{url}#{}", hash.trim_start_matches('#'));
    }
    set_timeout(
        move || {
            if let Some(w) = web_sys::window() {
                let _ = w.location().replace(&url);
            }
        },
        std::time::Duration::ZERO,
    );
    view! { <p class="loading" role="status">"Loading…"</p> }.into_any()
}
