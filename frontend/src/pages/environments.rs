// Not routed yet (issue 4): the environments grid and page are written against the API, but
// wiring them in takes the front end from 241 KB to 282 KB brotli, past the 250 KB budget of
// issue 3. They go in once the wasm is slimmed (see the closing note of the first session).
use std::time::Duration;

use chrono::Utc;
use leptos::prelude::*;
use leptos::task::spawn_local;
use stageboard_protocol::{ClusterLink, Environment, EnvironmentCluster, HealthStatus, Project, ProjectEnvironments};

use crate::api;
use crate::components::page_status;
use crate::format;

/// What the grid shows: each project with its environments.
type Grid = Vec<(Project, Result<ProjectEnvironments, api::ApiError>)>;

async fn load() -> Result<Grid, api::ApiError> {
    let projects = api::projects().await?;
    let mut rows = Vec::new();
    for project in projects {
        let envs = api::environments(project.id).await;
        rows.push((project, envs));
    }
    Ok(rows)
}

pub fn health_class(status: HealthStatus) -> &'static str {
    match status {
        HealthStatus::Healthy => "health-healthy",
        HealthStatus::Suspended => "health-suspended",
        HealthStatus::Progressing => "health-progressing",
        HealthStatus::Missing => "health-missing",
        HealthStatus::Degraded => "health-degraded",
        HealthStatus::Unknown => "health-unknown",
    }
}

pub fn health_word(status: HealthStatus) -> &'static str {
    match status {
        HealthStatus::Healthy => "✓ healthy",
        HealthStatus::Suspended => "⏸ suspended",
        HealthStatus::Progressing => "◷ progressing",
        HealthStatus::Missing => "∅ missing",
        HealthStatus::Degraded => "✕ degraded",
        HealthStatus::Unknown => "? unknown",
    }
}

/// `/environments`: projects × environments, with what runs where and how it is doing.
#[component]
pub fn Environments() -> impl IntoView {
    let grid: RwSignal<Option<Result<Grid, api::ApiError>>> = RwSignal::new(None);
    let refresh = move || {
        spawn_local(async move {
            let answer = load().await;
            let _ = grid.try_set(Some(answer));
        })
    };
    refresh();
    if let Ok(handle) = set_interval_with_handle(refresh, Duration::from_secs(5)) {
        on_cleanup(move || handle.clear());
    }
    Effect::new(move |_| page_status::show("Environments", None));
    view! {
        <section class="page">
            <h1>"Environments"</h1>
            {move || match grid.get() {
                None => view! { <p class="loading" role="status">"Loading environments…"</p> }.into_any(),
                Some(Err(e)) => view! { <p class="error" role="alert">{e.message}</p> }.into_any(),
                Some(Ok(rows)) => {
                    let link = rows.iter().find_map(|(_, r)| r.as_ref().ok().map(|e| e.cluster.clone()));
                    view! {
                        {link.map(|l| view! { <ClusterNote link=l /> })}
                        <div class="env-grid">
                            {rows.into_iter().map(|(project, envs)| view! { <ProjectRow project=project envs=envs /> }).collect_view()}
                        </div>
                    }.into_any()
                }
            }}
        </section>
    }
    .into_any()
}

#[component]
pub fn ClusterNote(link: ClusterLink) -> impl IntoView {
    let now = Utc::now();
    match (link.configured, link.unreachable_since) {
        (false, _) => view! { <p class="note">{link.message.unwrap_or_default()}</p> }.into_any(),
        (true, Some(since)) => view! {
            <p class="error" role="alert">
                {format!("The cluster is unreachable since {}; showing the last known state. ", format::ago(since, now))}
                {link.message.unwrap_or_default()}
            </p>
        }
        .into_any(),
        _ => ().into_any(),
    }
}

#[component]
fn ProjectRow(project: Project, envs: Result<ProjectEnvironments, api::ApiError>) -> impl IntoView {
    let id = project.id;
    view! {
        <div class="env-row" data-project-id=id>
            <h2 class="env-project">{project.name.clone()}</h2>
            {match envs {
                Err(e) => view! { <p class="error">{e.message}</p> }.into_any(),
                Ok(list) if list.environments.is_empty() => view! { <p class="empty">"No environments."</p> }.into_any(),
                Ok(list) => {
                    let (plain, folded): (Vec<Environment>, Vec<Environment>) = list.environments.into_iter().partition(|e| e.folder.is_none());
                    let mut folders: Vec<(String, Vec<Environment>)> = Vec::new();
                    for env in folded {
                        let folder = env.folder.clone().unwrap_or_default();
                        match folders.iter_mut().find(|(f, _)| *f == folder) {
                            Some((_, v)) => v.push(env),
                            None => folders.push((folder, vec![env])),
                        }
                    }
                    view! {
                        <ul class="env-cells">
                            {plain.into_iter().map(|e| view! { <li><EnvCell project=id env=e /></li> }).collect_view()}
                            {folders.into_iter().map(|(folder, envs)| {
                                let count = envs.len();
                                view! {
                                    <li class="env-folder">
                                        <details>
                                            <summary>{format!("{folder}/* ({count})")}</summary>
                                            <ul class="env-cells">
                                                {envs.into_iter().map(|e| view! { <li><EnvCell project=id env=e /></li> }).collect_view()}
                                            </ul>
                                        </details>
                                    </li>
                                }
                            }).collect_view()}
                        </ul>
                    }.into_any()
                }
            }}
        </div>
    }
    .into_any()
}

#[component]
fn EnvCell(project: u64, env: Environment) -> impl IntoView {
    let now = Utc::now();
    let last = env.last_deployment.clone();
    view! {
        <a class=format!("env-cell state-{}", env.state) href=format!("/projects/{project}/environments/{}", env.id) data-env=env.name.clone()>
            <span class="env-name">{env.name.clone()}</span>
            <span class="env-state">{env.state.clone()}</span>
            {last.map(|d| view! {
                <span class="env-deployed">
                    <span class="ref">{d.git_ref.clone()}</span>
                    " " <code>{d.sha.chars().take(8).collect::<String>()}</code>
                    <span class="who">{d.user.map(|u| u.name).unwrap_or_default()} {d.created_at.map(|t| format!(" · {}", format::ago(t, now)))}</span>
                </span>
            })}
            {env.cluster.clone().map(|c| view! { <ClusterBadge cluster=c /> })}
            {env.drift.clone().map(|d| view! { <span class="drift" role="note">{format!("drift: {d}")}</span> })}
            {env.waiting.first().map(|w| view! {
                <span class="waiting">{format!("waiting: {} for {} ({} commit{})", w.job_name, w.git_ref, w.commits.len(), if w.commits.len() == 1 { "" } else { "s" })}</span>
            })}
        </a>
    }
    .into_any()
}

#[component]
pub fn ClusterBadge(cluster: EnvironmentCluster) -> impl IntoView {
    view! {
        <span class=format!("cluster-health {}", health_class(cluster.health.status)) title=cluster.health.message.clone()>
            {health_word(cluster.health.status)}
            {(cluster.desired > 0).then(|| format!(" {}/{}", cluster.ready, cluster.desired))}
        </span>
        {(!cluster.pod_warnings.is_empty()).then(|| view! {
            <span class="pod-warning" role="note">{format!("⚠ {}", cluster.pod_warnings[0].message)}</span>
        })}
    }
    .into_any()
}
