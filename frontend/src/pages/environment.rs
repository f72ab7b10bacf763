// Not routed yet (issue 4): the environments grid and page are written against the API, but
// wiring them in takes the front end from 241 KB to 282 KB brotli, past the 250 KB budget of
// issue 3. They go in once the wasm is slimmed (see the closing note of the first session).
use std::time::Duration;

use chrono::Utc;
use leptos::prelude::*;
use leptos_router::hooks::use_params_map;
use stageboard_protocol::{EnvironmentDetail, JobEnvironment};

use super::environments::{ClusterBadge, ClusterNote, health_word};
use crate::api::{self, Action};
use crate::components::{ActionButton, Notice, NoticeBar, StatusIcon, page_status};
use crate::format;
use crate::poll::poll;

/// `/projects/:project_id/environments/:environment_id`: deployments, live resources, stop and
/// the waiting manual deploy.
#[component]
pub fn EnvironmentPage() -> impl IntoView {
    let params = use_params_map();
    let ids = move || {
        let p = params.read();
        (
            p.get("project_id").and_then(|v| v.parse::<u64>().ok()),
            p.get("environment_id").and_then(|v| v.parse::<u64>().ok()),
        )
    };
    let fetch = move || {
        let (project, env) = ids();
        async move {
            match (project, env) {
                (Some(p), Some(e)) => api::environment(p, e).await,
                _ => Err(api::ApiError { message: "The project and environment ids in the address must be numbers.".into() }),
            }
        }
    };
    let detail = poll(fetch, Duration::from_secs(3), |_| true);
    provide_context(Notice(RwSignal::new(None)));
    Effect::new(move |_| {
        if let Some(Ok(d)) = detail.get() {
            page_status::show(&format!("{} · environment", d.environment.name), None);
        }
    });
    view! {
        <section class="page environment-page">
            <NoticeBar />
            {move || match detail.get() {
                None => view! { <p class="loading" role="status">"Loading the environment…"</p> }.into_any(),
                Some(Err(e)) => view! { <p class="error" role="alert">{e.message}</p> }.into_any(),
                Some(Ok(d)) => view! { <EnvironmentView project=ids().0.unwrap_or_default() detail=d /> }.into_any(),
            }}
        </section>
    }
    .into_any()
}

#[component]
fn EnvironmentView(project: u64, detail: EnvironmentDetail) -> impl IntoView {
    let now = Utc::now();
    let env = detail.environment.clone();
    let deployed = env.last_deployment.clone();
    let job_env = JobEnvironment { name: env.name.clone(), tier: env.tier.clone(), external_url: env.external_url.clone() };
    view! {
        <header class="page-header">
            <h1>{env.name.clone()} <span class=format!("env-state state-{}", env.state)>{env.state.clone()}</span></h1>
            <div class="actions">
                {env.external_url.clone().map(|u| view! { <a class="button view-deployment" href=u target="_blank" rel="noopener">"View deployment"</a> })}
                {(env.state == "available").then(|| view! {
                    <ActionButton project=project action=Action::StopEnvironment(env.id) subject=format!("environment {}", env.name) />
                })}
            </div>
        </header>
        <p class="meta">
            {env.tier.clone().map(|t| format!("tier {t}"))}
            {deployed.as_ref().map(|d| format!(" · runs {} ({})", d.git_ref, d.sha.chars().take(8).collect::<String>()))}
            {env.auto_stop_at.map(|t| format!(" · stops itself {}", t.format("%Y-%m-%d %H:%M UTC")))}
        </p>
        <ClusterNote link=detail.cluster.clone() />
        {env.drift.clone().map(|d| view! { <p class="drift" role="note">{format!("Drift: {d}")}</p> })}
        {env.waiting.clone().into_iter().map(|w| {
            let now_running = deployed.as_ref().map(|d| format!("{} ({})", d.git_ref, d.sha.chars().take(8).collect::<String>())).unwrap_or_else(|| "nothing".into());
            view! {
                <section class="waiting-deploy">
                    <h2>{format!("Waiting: {} for {}", w.job_name, w.git_ref)}</h2>
                    <p>{format!("Deployed now: {now_running} · would deploy: {} ({})", w.git_ref, w.sha.chars().take(8).collect::<String>())}</p>
                    <ol class="commits">
                        {w.commits.iter().map(|c| view! { <li><code>{c.short_sha.clone()}</code>" " {c.title.clone()} <span class="who">{format!(" · {}", c.author_name)}</span></li> }).collect_view()}
                    </ol>
                    <ActionButton project=project action=Action::PlayJob(w.job_id) subject=w.job_name.clone() environment=Some(job_env.clone()) />
                </section>
            }
        }).collect_view()}
        {env.cluster.clone().map(|c| view! {
            <section class="live-resources">
                <h2>"Live resources " <ClusterBadge cluster=c.clone() /></h2>
                {c.deployments.iter().map(|d| view! {
                    <p class="rollout">{format!("Deployment {}: {} ({}/{} ready, {} updated)", d.name, d.health.message, d.ready, d.desired, d.updated)}</p>
                }).collect_view()}
                <table class="pods">
                    <thead><tr><th>"Pod"</th><th>"Phase"</th><th>"Ready"</th><th>"Restarts"</th><th>"Age"</th><th>"Image"</th><th>"Health"</th></tr></thead>
                    <tbody>
                        {c.pods.iter().map(|p| view! {
                            <tr>
                                <td>{p.name.clone()}</td>
                                <td>{p.phase.clone()}</td>
                                <td>{if p.ready { "yes" } else { "no" }}</td>
                                <td>{p.restarts}</td>
                                <td>{p.created_at.map(|t| format::ago(t, now)).unwrap_or_default()}</td>
                                <td><code>{p.images.join(", ")}</code></td>
                                <td title=p.health.message.clone()>{health_word(p.health.status)}</td>
                            </tr>
                        }).collect_view()}
                    </tbody>
                </table>
                {c.services.iter().map(|s| view! { <p>{format!("Service {} ({}) ports {:?}", s.name, s.kind, s.ports)}</p> }).collect_view()}
                {c.ingresses.iter().map(|i| view! {
                    <p>"Ingress " {i.name.clone()} ": " {i.hosts.iter().map(|h| view! { <a href=format!("https://{h}") target="_blank" rel="noopener">{h.clone()}</a> " " }).collect_view()}</p>
                }).collect_view()}
            </section>
        })}
        <section class="history">
            <h2>"Deployments"</h2>
            <table class="deployments">
                <thead><tr><th>"Status"</th><th>"#"</th><th>"Ref"</th><th>"Commit"</th><th>"Job"</th><th>"By"</th><th>"When"</th></tr></thead>
                <tbody>
                    {detail.deployments.iter().map(|d| view! {
                        <tr>
                            <td><StatusIcon status=d.status.clone() /></td>
                            <td>{d.iid.map(|i| i.to_string()).unwrap_or_default()}</td>
                            <td class="ref">{d.git_ref.clone()}</td>
                            <td><code>{d.sha.chars().take(8).collect::<String>()}</code></td>
                            <td>{d.job_id.map(|j| view! { <a href=format!("/projects/{project}/jobs/{j}")>{d.job_name.clone().unwrap_or_default()}</a> })}</td>
                            <td>{d.user.as_ref().map(|u| u.name.clone()).unwrap_or_default()}</td>
                            <td>{d.created_at.map(|t| format::ago(t, now)).unwrap_or_default()}</td>
                        </tr>
                    }).collect_view()}
                </tbody>
            </table>
        </section>
    }
    .into_any()
}
