use std::time::Duration;

use chrono::Utc;
use leptos::prelude::*;
use leptos_router::hooks::use_params_map;
use stageboard_protocol::{Approval, EnvironmentCluster, EnvironmentDetail, JobEnvironment, short_sha};

use super::environments::{cluster_note, facts, health_class, health_line, health_word};
use crate::api::{self, Action};
use crate::components::status_icon::symbol;
use crate::components::{
    ActionButton, Cell, Dialog, Notice, NoticeBar, data_table, external_link, loaded, page_status,
};
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
                _ => Err(api::ApiError::new(
                    "The project and environment ids in the address must be numbers.",
                )),
            }
        }
    };
    // GitLab's and the cluster's changes come as events; every 30 s as a safety net.
    let detail = poll(
        fetch,
        move || format!("project:{},cluster", ids().0.unwrap_or_default()),
        Duration::from_secs(30),
        |_| true,
    );
    provide_context(Notice(RwSignal::new(None)));
    provide_context(Dialog::new());
    Effect::new(move |_| {
        if let Some(Ok(d)) = detail.get() {
            page_status::show(&format!("{} · environment", d.environment.name), None);
        }
    });
    view! {
        <section class="page environment-page">
            <NoticeBar />
            {loaded(detail, "Loading the environment…", move |d| environment_view(ids().0.unwrap_or_default(), d))}
        </section>
    }
    .into_any()
}

fn environment_view(project: u64, detail: EnvironmentDetail) -> AnyView {
    let now = Utc::now();
    let env = detail.environment;
    let deployed = env
        .last_deployment
        .as_ref()
        .map(|d| format!("{} ({})", d.git_ref, short_sha(&d.sha)))
        .unwrap_or_else(|| "nothing".into());
    let job_env = JobEnvironment {
        refused: None,
        name: env.name.clone(),
        tier: env.tier.clone(),
        external_url: env.external_url.clone(),
    };
    let mut meta = Vec::new();
    if let Some(t) = &env.tier {
        meta.push(format!("tier {t}"));
    }
    if let Some(t) = env.auto_stop_at {
        meta.push(format!("stops itself {}", format::until(*t, now)));
    }
    let waiting = env.waiting.iter().map(|w| {
        let mut details = vec![
            format!("Deployed now: {deployed}"),
            format!("Will deploy: {} ({})", w.git_ref, short_sha(&w.sha)),
        ];
        details.extend(w.commits.iter().map(|c| format!("{} {} · {}", c.short_sha, c.title, c.author_name)));
        // Not before its approvals are in: GitLab would answer "Unplayable Job".
        let waits = w.approval.as_ref().filter(|a| a.pending > 0).map(|a| {
            let who: Vec<&str> = a.rules.iter().map(|r| r.who.as_str()).collect();
            format!("It waits for {} more approval{} ({}) before it may run.", a.pending, if a.pending == 1 { "" } else { "s" }, who.join(", "))
        });
        let deploy_env = JobEnvironment { refused: w.refused.clone().or(waits), ..job_env.clone() };
        view! {
            <section class="waiting-deploy">
                <h2>{format!("Waiting: {} for {} ({} commits)", w.job_name, w.git_ref, w.commits.len())}</h2>
                <ul class="deploy-changes">{details.iter().map(|l| view! { <li>{l.clone()}</li> }).collect_view()}</ul>
                {w.approval.clone().map(|a| approvals(project, w.deployment_id, &format!("{} for {}", w.job_name, w.git_ref), a, now))}
                <ActionButton project=project action=Action::PlayJob(w.job_id) subject=w.job_name.clone()
                    environment=Some(deploy_env) details=details />
            </section>
        }
    }).collect_view();
    let deployments = detail
        .deployments
        .iter()
        .map(|d| {
            vec![
                Cell::new(format!("{} {}", symbol(&d.status), d.status.label()))
                    .class(format!("status status-{}", d.status.as_str())),
                Cell::new(d.iid.map(|i| i.to_string()).unwrap_or_default()),
                Cell::new(d.git_ref.clone()).class("ref"),
                Cell::new(short_sha(&d.sha)).class("sha"),
                match d.job_id {
                    Some(j) => {
                        Cell::new(d.job_name.clone().unwrap_or_default()).link(format!("/projects/{project}/jobs/{j}"))
                    }
                    None => Cell::default(),
                },
                Cell::new(d.user.as_ref().map(|u| u.name.clone()).unwrap_or_default()),
                Cell::new(d.created_at.map(|t| format::ago(*t, now)).unwrap_or_default()),
            ]
        })
        .collect();
    view! {
        <header class="page-header">
            <h1>{env.name.clone()} " " <span class=format!("env-state state-{}", env.state)>{env.state.clone()}</span></h1>
            <div class="actions">
                {env.external_url.as_deref().map(|u| external_link(u, "View deployment".into(), "button view-deployment"))}
                {(env.state == "available").then(|| view! {
                    <ActionButton project=project action=Action::StopEnvironment(env.id) subject=format!("environment {}", env.name)
                        refused=detail.refused.clone() />
                })}
            </div>
        </header>
        <p class="meta">{meta.join(" · ")}</p>
        {cluster_note(detail.cluster)}
        <ul class="env-facts">{facts(&env).into_iter().map(|(class, text)| view! { <li class=class>{text}</li> }).collect_view()}</ul>
        {waiting}
        {env.cluster.map(live_resources)}
        <section class="history">
            <h2>"Deployments"</h2>
            {data_table("deployments", &["Status", "#", "Ref", "Commit", "Job", "By", "When"], deployments)}
        </section>
    }
    .into_any()
}

/// A deployment's approvals (GitLab Premium): each rule with who answered, and while any are
/// pending, Approve and Reject with a comment.
fn approvals(project: u64, deployment: u64, job: &str, a: Approval, now: chrono::DateTime<Utc>) -> AnyView {
    let rules = a
        .rules
        .iter()
        .map(|r| {
            let approved = r.given.iter().filter(|g| g.approved).count();
            let given = r.given.iter().map(|g| {
                let (class, word) = if g.approved {
                    ("approved", "✓ approved")
                } else {
                    ("rejected", "✗ rejected")
                };
                let when = g.at.map(|t| format!(" {}", format::ago(*t, now))).unwrap_or_default();
                let comment = g.comment.as_ref().map(|c| format!(": “{c}”")).unwrap_or_default();
                view! { <li class=class>{format!("{} {word}{when}{comment}", g.user.name)}</li> }
            });
            view! {
                <li>
                    {format!("{approved} of {} from {}", r.required, r.who)}
                    <ul>{given.collect_view()}</ul>
                </li>
            }
        })
        .collect_view();
    let open = a.pending > 0;
    view! {
        <div class="approvals">
            <h3>{if open { "Waiting for approval" } else { "Approved" }}</h3>
            <ul>{rules}</ul>
            {open.then(|| view! {
                <div class="actions">
                    <ActionButton project=project action=Action::ApproveDeployment(deployment)
                        subject=format!("the deployment of {job}") refused=a.refused.clone().or(a.approve_refused.clone()) />
                    <ActionButton project=project action=Action::RejectDeployment(deployment)
                        subject=format!("the deployment of {job}") refused=a.refused.clone() />
                </div>
            })}
        </div>
    }
    .into_any()
}

/// What runs in the cluster: rollout in kubectl's words, pods, services, ingress hosts.
fn live_resources(c: EnvironmentCluster) -> AnyView {
    let now = Utc::now();
    let mut lines: Vec<String> = c
        .deployments
        .iter()
        .map(|d| {
            format!(
                "Deployment {}: {} ({}/{} ready, {} updated)",
                d.name, d.health.message, d.ready, d.desired, d.updated
            )
        })
        .collect();
    lines.extend(c.services.iter().map(|s| {
        let ports: Vec<String> = s.ports.iter().map(i32::to_string).collect();
        format!(
            "Service {} ({}), ports {}: {}",
            s.name,
            s.kind,
            ports.join(", "),
            s.health.message
        )
    }));
    let pods = c
        .pods
        .iter()
        .map(|p| {
            vec![
                Cell::new(p.name.clone()),
                Cell::new(p.phase.clone()),
                Cell::new(if p.ready { "yes" } else { "no" }),
                Cell::new(p.restarts.to_string()),
                Cell::new(p.created_at.map(|t| format::ago(*t, now)).unwrap_or_default()),
                Cell::new(p.images.join(", ")).class("image"),
                Cell::new(health_word(p.health.status))
                    .class(health_class(p.health.status))
                    .title(p.health.message.clone()),
            ]
        })
        .collect();
    let hosts = c
        .ingresses
        .iter()
        .flat_map(|i| i.hosts.iter().map(move |h| (i.name.clone(), h.clone())))
        .collect::<Vec<_>>();
    view! {
        <section class="live-resources">
            <h2>"Live resources " <span class=health_class(c.health.status) title=c.health.message.clone()>{health_line(&c)}</span></h2>
            {lines.into_iter().map(|l| view! { <p class="rollout">{l}</p> }).collect_view()}
            {data_table("pods", &["Pod", "Phase", "Ready", "Restarts", "Age", "Image", "Health"], pods)}
            {hosts.into_iter().map(|(name, h)| view! {
                <p>{format!("Ingress {name}: ")} <a href=format!("https://{h}") target="_blank" rel="noopener">{h.clone()}</a></p>
            }).collect_view()}
        </section>
    }
    .into_any()
}
