use std::time::Duration;

use chrono::Utc;
use leptos::prelude::*;
use stageboard_protocol::{
    ClusterLink, Environment, EnvironmentCluster, EnvironmentGrid, EnvironmentRow, HealthStatus, short_sha,
};

use crate::api;
use crate::components::{loaded, page_status};
use crate::format;
use crate::poll::poll;

pub fn health_class(status: HealthStatus) -> &'static str {
    match status {
        HealthStatus::Healthy => "cluster-health health-healthy",
        HealthStatus::Suspended => "cluster-health health-suspended",
        HealthStatus::Progressing => "cluster-health health-progressing",
        HealthStatus::Missing => "cluster-health health-missing",
        HealthStatus::Degraded => "cluster-health health-degraded",
        HealthStatus::Unknown => "cluster-health health-unknown",
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

/// The cluster's verdict as one line: "✓ healthy 2/2".
pub fn health_line(cluster: &EnvironmentCluster) -> String {
    let mut line = health_word(cluster.health.status).to_owned();
    if cluster.desired > 0 {
        line.push_str(&format!(" {}/{} ready", cluster.ready, cluster.desired));
    }
    line
}

/// Short lines describing an environment, each with its CSS class. Both the grid and the
/// environment page render these with one loop, which keeps the wasm small.
pub fn facts(env: &Environment) -> Vec<(&'static str, String)> {
    let now = Utc::now();
    let mut lines = vec![("env-state", env.state.clone())];
    if let Some(d) = &env.last_deployment {
        let mut who = d.user.as_ref().map(|u| u.name.clone()).unwrap_or_default();
        if let Some(t) = d.created_at {
            who.push_str(&format!(" · {}", format::ago(*t, now)));
        }
        lines.push(("env-deployed", format!("{} {}", d.git_ref, short_sha(&d.sha))));
        lines.push(("who", who));
    }
    if let Some(c) = &env.cluster {
        lines.push((health_class(c.health.status), health_line(c)));
        if let Some(w) = c.pod_warnings.first() {
            lines.push(("pod-warning", format!("⚠ {}", w.message)));
        }
    }
    if let Some(d) = &env.drift {
        lines.push(("drift", format!("drift: {d}")));
    }
    for w in &env.waiting {
        let n = w.commits.len();
        lines.push((
            "waiting",
            format!(
                "waiting: {} for {} ({n} commit{})",
                w.job_name,
                w.git_ref,
                if n == 1 { "" } else { "s" }
            ),
        ));
    }
    lines
}

/// `/environments`: rows are projects, columns are environments (folders such as `review/*`
/// collapsed with a count); each cell says what runs there and how it is doing.
#[component]
pub fn Environments() -> impl IntoView {
    // GitLab's and the cluster's changes come as events; every minute as a safety net.
    let grid = poll(
        api::environment_grid,
        || "projects,cluster".into(),
        Duration::from_secs(60),
        |_| true,
    );
    Effect::new(move |_| page_status::show("Environments", None));
    view! {
        <section class="page">
            <h1>"Environments"</h1>
            {loaded(grid, "Loading environments…", grid_table)}
        </section>
    }
    .into_any()
}

/// The columns: plain environments in tier order (development first, production last), then
/// folders, each named once across all projects.
fn columns(rows: &[EnvironmentRow]) -> Vec<String> {
    let rank = |tier: Option<&str>| match tier {
        Some("development") => 0,
        Some("testing") => 1,
        Some("staging") => 2,
        Some("production") => 4,
        _ => 3,
    };
    // Kept in order as they are found (no sort: each sort instance costs the wasm ~2 KB).
    fn insert<T: PartialOrd>(list: &mut Vec<T>, item: T) {
        if !list.contains(&item) {
            let at = list.iter().position(|x| *x > item).unwrap_or(list.len());
            list.insert(at, item);
        }
    }
    let mut plain: Vec<(i32, String)> = Vec::new();
    let mut folders: Vec<String> = Vec::new();
    for env in rows.iter().flat_map(|r| &r.environments) {
        match &env.folder {
            Some(f) => insert(&mut folders, f.clone()),
            None if plain.iter().any(|(_, n)| *n == env.name) => {}
            None => insert(&mut plain, (rank(env.tier.as_deref()), env.name.clone())),
        }
    }
    plain
        .into_iter()
        .map(|(_, n)| n)
        .chain(folders.into_iter().map(|f| format!("{f}/*")))
        .collect()
}

fn grid_table(grid: EnvironmentGrid) -> AnyView {
    let columns = columns(&grid.rows);
    let header = columns.clone();
    let body = grid
        .rows
        .into_iter()
        .map(|row| {
            let project = row.project;
            let cells = match row.error {
                Some(e) => vec![view! { <td class="error" colspan=columns.len()>{e}</td> }.into_any()],
                None => columns
                    .iter()
                    .map(|c| grid_cell(project.id, c, &row.environments))
                    .collect(),
            };
            view! { <tr data-project-id=project.id><th scope="row">{project.name}</th>{cells}</tr> }
        })
        .collect_view();
    view! {
        {cluster_note(grid.cluster)}
        <div class="env-grid-wrap">
            <table class="env-grid">
                <thead><tr><th>"Project"</th>{header.into_iter().map(|c| view! { <th scope="col">{c}</th> }).collect_view()}</tr></thead>
                <tbody>{body}</tbody>
            </table>
        </div>
    }
    .into_any()
}

fn grid_cell(project: u64, column: &str, envs: &[Environment]) -> AnyView {
    let inside: Vec<&Environment> = match column.strip_suffix("/*") {
        Some(folder) => envs.iter().filter(|e| e.folder.as_deref() == Some(folder)).collect(),
        None => envs.iter().filter(|e| e.folder.is_none() && e.name == column).collect(),
    };
    match (column.ends_with("/*"), inside.as_slice()) {
        (_, []) => view! { <td class="env-none">"—"</td> }.into_any(),
        (false, [env, ..]) => view! { <td>{env_cell(project, env)}</td> }.into_any(),
        (true, list) => {
            let available = list.iter().filter(|e| e.state == "available").count();
            view! {
                <td class="env-folder">
                    <details>
                        <summary>{format!("{column} · {} ({available} available)", list.len())}</summary>
                        {list.iter().map(|e| env_cell(project, e)).collect_view()}
                    </details>
                </td>
            }
            .into_any()
        }
    }
}

/// One environment as a link to its page, with its facts.
pub fn env_cell(project: u64, env: &Environment) -> AnyView {
    view! {
        <a class=format!("env-cell state-{}", env.state) href=format!("/projects/{project}/environments/{}", env.id) data-env=env.name.clone()>
            <span class="env-name">{env.name.clone()}</span>
            {facts(env).into_iter().map(|(class, text)| view! { <span class=class>{text}</span> }).collect_view()}
        </a>
    }
    .into_any()
}

/// What the page says about the cluster link: not configured, or unreachable since when.
pub fn cluster_note(link: ClusterLink) -> AnyView {
    let now = Utc::now();
    let text = match (link.configured, link.unreachable_since) {
        (false, _) => link.message.unwrap_or_else(|| "No cluster is configured.".into()),
        (true, Some(since)) => format!(
            "The cluster is unreachable since {}; showing the last known state. {}",
            format::ago(*since, now),
            link.message.unwrap_or_default()
        ),
        _ => return ().into_any(),
    };
    view! { <p class="note cluster-note" role="status">{text}</p> }.into_any()
}
