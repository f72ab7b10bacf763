use leptos::prelude::*;

use crate::api::use_server_info;
use crate::events::Upstream;

/// The bar atop every page.
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
    let signing_out = RwSignal::new(None::<String>);
    // Who is signed in; a way in where people sign in; a plain warning where nobody can.
    let person = move || {
        let (sign_in, person) = info.with(|i| i.as_ref().map(|i| (i.sign_in, i.person.clone())))?;
        Some(match person {
            Some(p) => view! {
                <span class="person" title=format!("Signed in with GitLab as @{}", p.username)>{p.name}</span>
                <button class="button sign-out" on:click=move |_| {
                    leptos::task::spawn_local(async move {
                        if let Err(e) = crate::api::sign_out().await {
                            let _ = signing_out.try_set(Some(e.message));
                        }
                    });
                }>"Sign out"</button>
                {move || signing_out.get().map(|m| view! { <span class="answer error" role="alert">{m}</span> })}
            }
            .into_any(),
            None if sign_in => view! {
                <a class="button sign-in" href="/auth/login" rel="external" on:click=|e| {
                    e.prevent_default();
                    if let Some(w) = web_sys::window() {
                        let _ = w.location().set_href(&crate::api::sign_in_href());
                    }
                }>"Sign in with GitLab"</a>
            }
            .into_any(),
            None => view! {
                <span class="badge read-only" title="Signing in is not set up here (GITLAB_OAUTH_CLIENT_ID): nobody can retry, run or stop from stageboard.">
                    "read-only"
                </span>
            }
            .into_any(),
        })
    };
    view! {
        <header class="topbar">
            <a href="/" class="brand">"stageboard"</a>
            <nav class="nav" aria-label="sections">
                <a href="/">"Pipelines"</a>
                <a href="/environments">"Environments"</a>
                <a href="/runners">"Runners"</a>
                <a href="/audit">"Audit"</a>
                <a href="/wall">"Wall"</a>
                <a href="/kiosk">"Kiosks"</a>
            </nav>
            <Show when=demo>
                <span class="badge demo" title="Simulated GitLab and cluster: nothing real is touched">
                    "demo"
                </span>
            </Show>
            <span class="who">{person}</span>
        </header>
        {outage}
    }
    .into_any()
}
