use leptos::prelude::*;

use crate::api::use_server_info;
use crate::events::Upstream;

#[component]
pub fn TopBar() -> impl IntoView {
    let info = use_server_info();
    let demo = move || info.with(|i| i.as_ref().is_some_and(|i| i.demo));
    let upstream = use_context::<Upstream>();
    // While GitLab fails, every page shows its last known state: say so, and how old it is.
    let outage = move || {
        let since = upstream.and_then(|u| u.0.get())?;
        let ago = since.map_or_else(|| "a while ago".into(), |t| crate::format::ago(t, chrono::Utc::now()));
        Some(view! {
            <p class="upstream-down" role="alert">
                {format!("GitLab stopped answering {ago}: this is its last known state, and it updates by itself when GitLab is back.")}
            </p>
        })
    };
    view! {
        <header class="topbar">
            <a href="/" class="brand">"stageboard"</a>
            <nav class="nav" aria-label="sections">
                <a href="/">"Pipelines"</a>
                <a href="/environments">"Environments"</a>
            </nav>
            <Show when=demo>
                <span class="badge demo" title="Simulated GitLab and cluster: nothing real is touched">
                    "demo"
                </span>
            </Show>
        </header>
        {outage}
    }
    .into_any()
}
