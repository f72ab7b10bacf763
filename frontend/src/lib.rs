//! stageboard's single-page app. Every request goes through [`api`]; one page per file in
//! `pages/`, shared pieces in `components/`.

pub mod api;
mod components;
mod pages;

use leptos::prelude::*;
use leptos_router::components::{Route, Router, Routes};
use leptos_router::path;

use components::TopBar;
use pages::{NotFound, Overview, ProjectPipelines};

#[component]
pub fn App() -> impl IntoView {
    api::provide_server_info();
    view! {
        <Router>
            <TopBar />
            <main id="main">
                <Routes fallback=NotFound>
                    <Route path=path!("/") view=Overview />
                    <Route path=path!("/projects/:project_id/pipelines") view=ProjectPipelines />
                </Routes>
            </main>
        </Router>
    }
}
