use std::time::Duration;

use chrono::Utc;
use leptos::prelude::*;
use leptos_router::hooks::{use_navigate, use_params_map, use_query_map};
use stageboard_protocol::{PipelinePage, Status};

use crate::api::{self, PipelineQuery};
use crate::components::{StageMarks, StatusIcon, loaded, page_status};
use crate::format;
use crate::poll::poll;

const SOURCES: [&str; 7] = [
    "push",
    "web",
    "schedule",
    "merge_request_event",
    "api",
    "trigger",
    "parent_pipeline",
];

/// `/projects/:project_id/pipelines?ref=&status=&source=&page=`: a project's pipelines.
#[component]
pub fn ProjectPipelines() -> impl IntoView {
    let params = use_params_map();
    let query = use_query_map();
    let project_id = move || params.read().get("project_id").and_then(|id| id.parse::<u64>().ok());
    let filters = Memo::new(move |_| {
        let q = query.read();
        PipelineQuery {
            git_ref: q.get("ref").unwrap_or_default(),
            status: q.get("status").unwrap_or_default(),
            source: q.get("source").unwrap_or_default(),
            page: q.get("page").and_then(|p| p.parse().ok()).unwrap_or(1),
        }
    });
    let fetch = move || {
        let project = project_id();
        let filters = filters.get();
        async move {
            match project {
                Some(id) => api::pipelines(id, &filters).await,
                None => Err(api::ApiError::new("The project id in the address is not a number.")),
            }
        }
    };
    let page = poll(
        fetch,
        move || format!("project:{}", project_id().unwrap_or_default()),
        Duration::from_secs(60),
        |_| true,
    );
    let navigate = use_navigate();
    let go = move |next: PipelineQuery| {
        if let Some(id) = project_id() {
            let qs = next.to_query_string();
            let url = if qs.is_empty() {
                format!("/projects/{id}/pipelines")
            } else {
                format!("/projects/{id}/pipelines?{qs}")
            };
            navigate(&url, Default::default());
        }
    };
    Effect::new(move |_| page_status::show("Pipelines", None));
    let go_ref = go.clone();
    let go_status = go.clone();
    let go_source = go.clone();
    let go_page = go;
    view! {
        <section class="page">
            <header class="page-header">
                <h1>"Pipelines"</h1>
                <form class="filters" on:submit=|e| e.prevent_default()>
                    <label>"Branch or tag "
                        <input type="search" name="ref" placeholder="any" prop:value=move || filters.get().git_ref
                            on:change=move |e| go_ref(PipelineQuery { git_ref: event_target_value(&e), page: 1, ..filters.get_untracked() }) />
                    </label>
                    <label>"Status "
                        <select name="status" on:change=move |e| go_status(PipelineQuery { status: event_target_value(&e), page: 1, ..filters.get_untracked() })>
                            <option value="" selected=move || filters.get().status.is_empty()>"any"</option>
                            {Status::KNOWN.iter().map(|s| {
                                let value = s.as_str().to_owned();
                                let v2 = value.clone();
                                view! { <option value=value selected=move || filters.get().status == v2>{s.label().to_owned()}</option> }
                            }).collect_view()}
                        </select>
                    </label>
                    <label>"Source "
                        <select name="source" on:change=move |e| go_source(PipelineQuery { source: event_target_value(&e), page: 1, ..filters.get_untracked() })>
                            <option value="" selected=move || filters.get().source.is_empty()>"any"</option>
                            {SOURCES.iter().map(|s| view! { <option value=*s selected=move || filters.get().source == *s>{s.replace('_', " ")}</option> }).collect_view()}
                        </select>
                    </label>
                </form>
            </header>
            {loaded(page, "Loading pipelines…", move |page| view! { <PipelineTable project=project_id().unwrap_or_default() page=page /> }.into_any())}
            {move || page.get().and_then(|p| p.ok()).map(|p| {
                let current = filters.get();
                let go_prev = go_page.clone();
                let go_next = go_page.clone();
                let prev = current.clone();
                let next = current.clone();
                view! {
                    <nav class="pager" aria-label="pages">
                        <button class="button" disabled=p.page <= 1 on:click=move |_| go_prev(PipelineQuery { page: prev.page.saturating_sub(1).max(1), ..prev.clone() })>"← Newer"</button>
                        <span>{format!("Page {}{}", p.page, p.total.map(|t| format!(" of {}", t.div_ceil(p.per_page as u64).max(1))).unwrap_or_default())}</span>
                        <button class="button" disabled=p.next_page.is_none() on:click=move |_| go_next(PipelineQuery { page: next.page + 1, ..next.clone() })>"Older →"</button>
                    </nav>
                }
            })}
        </section>
    }
    .into_any()
}

#[component]
fn PipelineTable(project: u64, page: PipelinePage) -> impl IntoView {
    let now = Utc::now();
    if page.pipelines.is_empty() {
        return view! { <p class="empty">"No pipelines match these filters."</p> }.into_any();
    }
    view! {
        <table class="pipelines">
            <thead>
                <tr><th>"Status"</th><th>"Pipeline"</th><th>"Ref"</th><th>"Commit"</th><th>"Stages"</th><th>"Created"</th><th>"Duration"</th></tr>
            </thead>
            <tbody>
                {page.pipelines.into_iter().map(|p| view! {
                    <tr>
                        <td><StatusIcon status=p.status.clone() /></td>
                        <td>
                            <a href=format!("/projects/{project}/pipelines/{}", p.id)>{format!("#{}", p.id)}</a>
                            {p.iid.map(|iid| view! { <span class="iid">{format!(" · iid {iid}")}</span> })}
                            <span class="source">{p.source.clone().unwrap_or_default().replace('_', " ")}</span>
                        </td>
                        <td class="ref">{p.git_ref.clone()}</td>
                        <td class="commit">
                            <span class="commit-title">{p.commit.as_ref().map(|c| c.title.clone()).unwrap_or_else(|| stageboard_protocol::short_sha(&p.sha))}</span>
                            <span class="who">{p.user.as_ref().map(|u| u.name.clone()).unwrap_or_default()}</span>
                        </td>
                        <td><StageMarks stages=p.stages.clone() /></td>
                        <td>{p.created_at.map(|t| format::ago(*t, now)).unwrap_or_default()}</td>
                        <td>{p.duration.map(|d| format::duration(d as f64)).unwrap_or_default()}</td>
                    </tr>
                }).collect_view()}
            </tbody>
        </table>
    }
    .into_any()
}
