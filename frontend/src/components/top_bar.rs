use leptos::prelude::*;

use crate::api::use_server_info;

#[component]
pub fn TopBar() -> impl IntoView {
    let info = use_server_info();
    let demo = move || info.with(|i| i.as_ref().is_some_and(|i| i.demo));
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
    }
    .into_any()
}
