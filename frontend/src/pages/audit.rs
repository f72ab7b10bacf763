use std::time::Duration;

use chrono::Utc;
use leptos::prelude::*;
use leptos_router::hooks::use_query_map;
use stageboard_protocol::{AuditEntry, AuditPage};

use crate::api;
use crate::components::{Cell, data_table, loaded, page_status};
use crate::format;
use crate::poll::poll;

const ACTIONS: [&str; 8] = [
    "play_job",
    "retry_job",
    "cancel_job",
    "retry_pipeline",
    "cancel_pipeline",
    "stop_environment",
    "approve_deployment",
    "reject_deployment",
];
const OUTCOMES: [&str; 4] = ["done", "refused", "failed", "pending"];

/// `/audit?project=&person=&action=&outcome=&before=`: every action attempt, newest first.
/// The filters are a plain form, so a filtered view is a link to share.
#[component]
pub fn Audit() -> impl IntoView {
    let query = use_query_map();
    let filter = move |key: &str| query.read().get(key).unwrap_or_default();
    let fetch = move || {
        let q = query.read().to_query_string();
        async move { api::audit(q.trim_start_matches('?')).await }
    };
    let page = poll(fetch, || "projects".into(), Duration::from_secs(30), |_| true);
    // Rebuilt only when the projects change, not on every re-read (a choice not yet sent stays).
    let projects = Memo::new(move |_| {
        page.with(|p| match p {
            Some(Ok(p)) => p.projects.iter().map(|p| (p.id.to_string(), p.name.clone())).collect(),
            _ => Vec::<(String, String)>::new(),
        })
    });
    Effect::new(move |_| page_status::show("Audit log", None));
    let select = move |name: &'static str, any: &'static str, options: Vec<(String, String)>| {
        let current = filter(name);
        view! {
            <select name=name>
                <option value="">{any}</option>
                {options.into_iter().map(|(value, label)| {
                    let selected = value == current;
                    view! { <option value=value selected=selected>{label}</option> }
                }).collect_view()}
            </select>
        }
    };
    let words = |list: &[&str]| {
        list.iter()
            .map(|a| (a.to_string(), a.replace('_', " ")))
            .collect::<Vec<_>>()
    };
    view! {
        <section class="page">
            <header class="page-header">
                <h1>"Audit log"</h1>
                <form class="filters" method="get" action="/audit">
                    <label>"Project " {move || select("project", "any", projects.get())}</label>
                    <label>"Person " <input type="search" name="person" placeholder="GitLab username" value=filter("person") /></label>
                    <label>"Action " {select("action", "any", words(&ACTIONS))}</label>
                    <label>"Outcome " {select("outcome", "any", words(&OUTCOMES))}</label>
                    <button class="button" type="submit">"Show"</button>
                </form>
            </header>
            <p class="hint">"Every retry, cancel, run and stop tried here: who, where from, and GitLab's answer. Only projects you can read are listed."</p>
            {loaded(page, "Loading the audit log…", move |page| entries(page, &query.read().to_query_string()))}
        </section>
    }
    .into_any()
}

fn entries(page: AuditPage, query: &str) -> AnyView {
    if page.entries.is_empty() {
        return view! { <p class="empty">"No action was tried here yet, or none matches these filters."</p> }
            .into_any();
    }
    let now = Utc::now();
    let name = |id: u64| {
        page.projects
            .iter()
            .find(|p| p.id == id)
            .map_or_else(|| format!("project {id}"), |p| p.name.clone())
    };
    let rows = page
        .entries
        .into_iter()
        .map(|e: AuditEntry| {
            let (what, href) = target(&e);
            vec![
                Cell::new(format::ago(*e.at, now)),
                Cell::new(e.person.clone()).class("person"),
                Cell::new(e.action.replace('_', " ")).class("action-name"),
                Cell::new(format!("{} · {what}", name(e.project_id))).link(href),
                Cell::new(e.outcome.as_str()).class(format!("outcome {}", e.outcome.as_str())),
                Cell::new(match (e.status, e.message.is_empty()) {
                    (0, _) => e.message.clone(),
                    (status, true) => status.to_string(),
                    (status, false) => format!("{status}: {}", e.message),
                })
                .class("gitlab-said"),
                Cell::new(e.client_address.clone().unwrap_or_default())
                    .title(e.request_id.map(|id| format!("request {id}")).unwrap_or_default()),
            ]
        })
        .collect();
    // The next (older) page keeps the filters.
    let older = page.next_before.map(|before| {
        let kept: Vec<&str> = query
            .trim_start_matches('?')
            .split('&')
            .filter(|p| !p.is_empty() && !p.starts_with("before="))
            .collect();
        let mut parts = kept.join("&");
        if !parts.is_empty() {
            parts.push('&');
        }
        view! { <nav class="pager" aria-label="pages"><a class="button" href=format!("/audit?{parts}before={before}")>"Older →"</a></nav> }
    });
    view! {
        {data_table("audit", &["When", "Who", "Action", "On", "Outcome", "GitLab said", "From"], rows)}
        {older}
    }
    .into_any()
}

/// What an entry acted on, and the page that shows it.
fn target(e: &AuditEntry) -> (String, String) {
    let project = e.project_id;
    match (e.job_id, e.pipeline_id, &e.environment) {
        (Some(job), _, _) => (format!("job #{job}"), format!("/projects/{project}/jobs/{job}")),
        (None, Some(pipeline), _) => (
            format!("pipeline #{pipeline}"),
            format!("/projects/{project}/pipelines/{pipeline}"),
        ),
        (None, None, Some(environment)) => (format!("environment {environment}"), "/environments".into()),
        (None, None, None) => ("project".into(), format!("/projects/{project}/pipelines")),
    }
}
