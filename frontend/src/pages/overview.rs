use std::time::Duration;

use chrono::Utc;
use leptos::prelude::*;
use stageboard_protocol::{Pipeline, ProjectOverview, Status};

use crate::api;
use crate::components::{StageMarks, StatusIcon, loaded, page_status, waiting_lines};
use crate::format::{self, Order};
use crate::notify::{self, Choice};
use crate::poll::poll;

const ORDER_KEY: &str = "stageboard.overview.order";

fn stored_order() -> Order {
    web_sys::window()
        .and_then(|w| w.local_storage().ok().flatten())
        .and_then(|s| s.get_item(ORDER_KEY).ok().flatten())
        .map(|k| Order::from_key(&k))
        .unwrap_or(Order::FailuresFirst)
}

fn store_order(order: Order) {
    if let Some(storage) = web_sys::window().and_then(|w| w.local_storage().ok().flatten()) {
        let _ = storage.set_item(ORDER_KEY, order.key());
    }
}

/// `/`: every watched project, its default branch at a glance, failures first.
#[component]
pub fn Overview() -> impl IntoView {
    let cards = poll(api::overview, || "projects".into(), Duration::from_secs(60), |_| true);
    // Jobs that wait because no online runner takes them: a notice above the projects.
    let runners = poll(api::runners, || "projects".into(), Duration::from_secs(60), |_| true);
    let order = RwSignal::new(stored_order());
    let notifying = use_context::<notify::Notify>().map_or_else(|| RwSignal::new(Choice::Off), |n| n.0);
    Effect::new(move |_| {
        let failing = cards.with(|c| match c {
            Some(Ok(cards)) => cards
                .iter()
                .filter(|c| c.latest.as_ref().is_some_and(|p| p.status == Status::Failed))
                .count(),
            _ => 0,
        });
        let status = if failing > 0 {
            Some(Status::Failed)
        } else {
            Some(Status::Success)
        };
        page_status::show(
            &if failing > 0 {
                format!("{failing} failing")
            } else {
                "Overview".into()
            },
            status.as_ref(),
        );
    });
    view! {
        <section class="page">
            <header class="page-header">
                <h1>"Projects"</h1>
                <label class="order">
                    "Order "
                    <select on:change=move |e| {
                        let chosen = Order::from_key(&event_target_value(&e));
                        store_order(chosen);
                        order.set(chosen);
                    }>
                        {Order::ALL
                            .into_iter()
                            .map(|o| view! { <option value=o.key() selected=move || order.get() == o>{o.label()}</option> })
                            .collect_view()}
                    </select>
                </label>
                <label class="order" hidden=!notify::supported()>
                    "Notify "
                    <select on:change=move |e| {
                        let key = event_target_value(&e);
                        if let Some(c) = Choice::ALL.into_iter().find(|c| c.key() == key) {
                            notify::choose(c);
                        }
                    }>
                        {Choice::ALL
                            .into_iter()
                            .map(|c| view! { <option value=c.key() selected=move || notifying.get() == c>{c.label()}</option> })
                            .collect_view()}
                    </select>
                </label>
                {move || (notifying.get() != Choice::Off && notify::blocked()).then(|| view! {
                    <p class="hint" role="note">"This browser blocks stageboard's notifications: allow them in the site's settings."</p>
                })}
            </header>
            // Always there, so that a screen reader announces what appears in it.
            <div class="runners-waiting" role="status" aria-label="jobs waiting for a runner">
                {move || runners.with(|r| match r {
                    Some(Ok(r)) => waiting_lines(&r.waiting),
                    _ => ().into_any(),
                })}
            </div>
            {loaded(cards, "Loading projects from GitLab…", move |mut list| {
                if list.is_empty() {
                    return view! {
                        <p class="empty">"No projects are watched: set STAGEBOARD_PROJECTS, STAGEBOARD_GROUPS or STAGEBOARD_TOPICS ([selection] in stageboard.toml)."</p>
                    }.into_any();
                }
                order.get().sort(&mut list);
                view! { <ul class="projects">{list.into_iter().map(|c| view! { <ProjectCard card=c /> }).collect_view()}</ul> }.into_any()
            })}
        </section>
    }
    .into_any()
}

#[component]
fn ProjectCard(card: ProjectOverview) -> impl IntoView {
    let now = Utc::now();
    let project = card.project.clone();
    let id = project.id;
    let status_class = card
        .latest
        .as_ref()
        .map(|p| format!("project card-{}", p.status.as_str()))
        .unwrap_or("project".into());
    view! {
        <li class=status_class data-project-id=id>
            <div class="project-head">
                <a class="project-name" href=format!("/projects/{id}/pipelines")>{project.name.clone()}</a>
                <span class="project-path">{project.path_with_namespace.clone()}</span>
            </div>
            {card.error.clone().map(|e| view! { <p class="error" role="alert">{e}</p> })}
            {card.latest.clone().map(|p| view! { <LatestPipeline project=id pipeline=p /> })}
            {(card.latest.is_none() && card.error.is_none()).then(|| view! { <p class="empty">"No pipelines on the default branch yet."</p> })}
            {card.broken_since.clone().map(|b| {
                let since = b.since.map(|t| format::ago(*t, now)).unwrap_or_default();
                let who = b.user.as_ref().map(|u| u.name.clone()).or(b.commit.as_ref().map(|c| c.author_name.clone())).unwrap_or_default();
                let what = b.commit.as_ref().map(|c| c.title.clone()).unwrap_or_default();
                let prefix = if b.at_least { "Broken for more than " } else { "Broken since " };
                view! {
                    <div class="broken-since" role="note">
                        <strong>{prefix} {since}</strong>
                        " by " {who} " in "
                        <a href=format!("/projects/{id}/pipelines/{}", b.pipeline_id)>{format!("“{what}”")}</a>
                        {format!(" · {} failed pipeline{} · since then: {}", b.failed_pipelines, if b.failed_pipelines == 1 { "" } else { "s" }, b.authors.join(", "))}
                    </div>
                }
            })}
            {(!card.other_refs.is_empty()).then(|| view! {
                <ul class="other-refs" aria-label="other branches and tags">
                    {card.other_refs.clone().into_iter().map(|p| {
                        let when = p.updated_at.map(|t| format::ago(*t, now)).unwrap_or_default();
                        view! {
                            <li>
                                <a href=format!("/projects/{id}/pipelines/{}", p.id)>
                                    <StatusIcon status=p.status.clone() compact=true />
                                    <span class=if p.merge_request.is_some() { "ref merge-request" } else { "ref" }>{ref_label(&p)}</span>
                                </a>
                                {p.merge_request.as_ref().filter(|mr| mr.web_url.starts_with("https://") || mr.web_url.starts_with("http://")).map(|mr| view! {
                                    <a class="mr-link" href=mr.web_url.clone() rel="noopener noreferrer" aria-label=format!("merge request !{} in GitLab", mr.iid)>"MR"</a>
                                })}
                                <span class="when">{when}</span>
                            </li>
                        }
                    }).collect_view()}
                </ul>
            })}
        </li>
    }
    .into_any()
}

fn ref_label(p: &Pipeline) -> String {
    if let Some(mr) = &p.merge_request {
        return format!("!{} {}", mr.iid, mr.title);
    }
    if p.tag == Some(true) || p.git_ref.starts_with('v') && p.git_ref[1..].starts_with(|c: char| c.is_ascii_digit()) {
        format!("tag {}", p.git_ref)
    } else {
        p.git_ref.clone()
    }
}

#[component]
fn LatestPipeline(project: u64, pipeline: Pipeline) -> impl IntoView {
    let now = Utc::now();
    let p = pipeline;
    let when = p.created_at.map(|t| format::ago(*t, now)).unwrap_or_default();
    let took = p.duration.map(|d| format::duration(d as f64));
    view! {
        <div class="latest">
            <a class="latest-link" href=format!("/projects/{project}/pipelines/{}", p.id)>
                <StatusIcon status=p.status.clone() />
                <span class="pipeline-id">{format!("#{}", p.id)}</span>
            </a>
            <span class="ref">{p.git_ref.clone()}</span>
            <StageMarks stages=p.stages.clone() />
            <p class="commit">
                <span class="commit-title">{p.commit.as_ref().map(|c| c.title.clone()).unwrap_or_default()}</span>
            </p>
            <p class="meta">
                {p.user.as_ref().map(|u| u.name.clone()).or(p.commit.as_ref().map(|c| c.author_name.clone())).unwrap_or_default()}
                " · " {when}
                {took.map(|t| format!(" · took {t}"))}
            </p>
        </div>
    }
    .into_any()
}
