use std::time::Duration;

use chrono::Utc;
use leptos::prelude::*;
use leptos_router::hooks::use_params_map;
use stageboard_protocol::{Job, PipelineDetail, StageOrderSource, Status};

use crate::api::{self, Action};
use crate::components::{ActionButton, Dialog, Notice, NoticeBar, StatusIcon, loaded, page_status};
use crate::format;
use crate::poll::poll;

#[derive(Debug, Clone, Copy)]
struct OpenGroups(RwSignal<Vec<String>>);

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum View {
    Stages,
    Needs,
    Timing,
}

fn still_moving(detail: &PipelineDetail) -> bool {
    let s = &detail.pipeline.status;
    s.is_unfinished() || detail.stages.iter().flat_map(|s| &s.jobs).any(|j| j.status.is_active())
}

/// `/projects/:project_id/pipelines/:pipeline_id`: the stage graph, the `needs` graph and the
/// timing of one pipeline, refreshed while it runs.
#[component]
pub fn PipelinePage() -> impl IntoView {
    let params = use_params_map();
    let ids = move || {
        let p = params.read();
        (
            p.get("project_id").and_then(|v| v.parse::<u64>().ok()),
            p.get("pipeline_id").and_then(|v| v.parse::<u64>().ok()),
        )
    };
    // An action changed the pipeline: read it again now rather than at the next tick, in order
    // with every other read (an older answer never replaces a newer one).
    let acted = Trigger::new();
    let fetch = move || {
        acted.track();
        let (project, pipeline) = ids();
        async move {
            match (project, pipeline) {
                (Some(p), Some(id)) => api::pipeline(p, id).await,
                _ => Err(api::ApiError::new(
                    "The project and pipeline ids in the address must be numbers.",
                )),
            }
        }
    };
    let detail = poll(
        fetch,
        move || format!("project:{}", ids().0.unwrap_or_default()),
        Duration::from_secs(30),
        still_moving,
    );
    provide_context(Notice(RwSignal::new(None)));
    provide_context(Dialog::new());
    // Which parallel groups are open: kept here so a refresh does not fold them again.
    provide_context(OpenGroups(RwSignal::new(Vec::new())));
    let view_mode = RwSignal::new(View::Stages);
    let refresh = Callback::new(move |_| acted.notify());
    Effect::new(move |_| {
        if let Some(Ok(d)) = detail.get() {
            page_status::show(
                &format!("Pipeline #{} · {}", d.pipeline.id, d.pipeline.git_ref),
                Some(&d.pipeline.status),
            );
        }
    });
    view! {
        <section class="page pipeline-page">
            <NoticeBar />
            {loaded(detail, "Loading the pipeline…", move |d| {
                    let project = ids().0.unwrap_or_default();
                    view! { <PipelineView project=project detail=d view_mode=view_mode refresh=refresh /> }.into_any()
            })}
        </section>
    }
    .into_any()
}

#[component]
fn PipelineView(
    project: u64,
    detail: PipelineDetail,
    view_mode: RwSignal<View>,
    refresh: Callback<()>,
) -> impl IntoView {
    let now = Utc::now();
    // A protected branch keeps the pipeline's actions from this person (each job says for itself).
    let refused = detail.refused.clone();
    let p = detail.pipeline.clone();
    let done = Callback::new(move |_| refresh.run(()));
    let can_retry = matches!(p.status, Status::Failed | Status::Canceled);
    let can_cancel = p.status.is_unfinished();
    let jobs: Vec<Job> = detail.stages.iter().flat_map(|s| s.jobs.clone()).collect();
    let tab = move |mode: View, label: &'static str| {
        view! {
            <button role="tab" class="tab" aria-selected=move || (view_mode.get() == mode).to_string()
                on:click=move |_| view_mode.set(mode)>{label}</button>
        }
    };
    view! {
        <header class="page-header pipeline-header">
            <h1>
                <StatusIcon status=p.status.clone() />
                {format!(" Pipeline #{}", p.id)}
                {p.iid.map(|iid| view! { <span class="iid">{format!(" · iid {iid}")}</span> })}
            </h1>
            <p class="meta">
                <span class="ref">{p.git_ref.clone()}</span>
                {p.commit.as_ref().map(|c| view! { " · " <span class="commit-title">{c.title.clone()}</span> " · " <code>{c.short_sha.clone()}</code> })}
                {p.user.as_ref().map(|u| format!(" · {}", u.name))}
                {p.created_at.map(|t| format!(" · {}", format::ago(*t, now)))}
                {p.duration.map(|d| format!(" · took {}", format::duration(d as f64)))}
            </p>
            <div class="actions">
                {can_retry.then(|| view! { <ActionButton project=project action=Action::RetryPipeline(p.id) subject=format!("pipeline #{}", p.id) on_done=done refused=refused.clone() /> })}
                {can_cancel.then(|| view! { <ActionButton project=project action=Action::CancelPipeline(p.id) subject=format!("pipeline #{}", p.id) on_done=done refused=refused.clone() /> })}
                <a class="button" href=format!("/projects/{project}/pipelines")>"All pipelines"</a>
            </div>
        </header>
        <div role="tablist" class="tabs" aria-label="pipeline views">
            {tab(View::Stages, "Stages")}
            {tab(View::Needs, "Needs")}
            {tab(View::Timing, "Timing")}
        </div>
        {(detail.stage_order == StageOrderSource::JobIds).then(|| view! {
            <p class="note">"GitLab's GraphQL API did not answer: stages are ordered by job ids and needs are unknown."</p>
        })}
        {
            let detail = detail.clone();
            let jobs = jobs.clone();
            move || match view_mode.get() {
                View::Stages => view! { <StageGraph project=project detail=detail.clone() done=done /> }.into_any(),
                View::Needs => view! { <NeedsGraph project=project jobs=jobs.clone() /> }.into_any(),
                View::Timing => view! { <Timing project=project jobs=jobs.clone() /> }.into_any(),
            }
        }
        {(!detail.downstream.is_empty()).then(|| view! {
            <section class="downstream" aria-label="downstream pipelines">
                <h2>"Downstream"</h2>
                <ul>
                    {detail.downstream.iter().map(|d| {
                        let link = d.pipeline.as_ref().map(|dp| format!("/projects/{}/pipelines/{}", dp.project_id, dp.id));
                        view! {
                            <li class="downstream-card">
                                <StatusIcon status=d.pipeline.as_ref().map(|dp| dp.status.clone()).unwrap_or(d.status.clone()) />
                                <span class="bridge">{d.bridge_name.clone()}</span>
                                {match (link, d.pipeline.as_ref()) {
                                    (Some(href), Some(dp)) => view! { <a href=href>{format!("child pipeline #{}", dp.id)}</a> }.into_any(),
                                    _ => view! { <span class="empty">"not started"</span> }.into_any(),
                                }}
                            </li>
                        }
                    }).collect_view()}
                </ul>
            </section>
        })}
    }
    .into_any()
}

#[component]
fn StageGraph(
    project: u64,
    detail: PipelineDetail,
    done: Callback<stageboard_protocol::ActionOutcome>,
) -> impl IntoView {
    let hovered: RwSignal<Option<String>> = RwSignal::new(None);
    let open_groups = use_context::<OpenGroups>()
        .map(|o| o.0)
        .unwrap_or_else(|| RwSignal::new(Vec::new()));
    let all: Vec<Job> = detail.stages.iter().flat_map(|s| s.jobs.clone()).collect();
    // Plain lists rather than maps: pipelines have tens of jobs, and no hashing keeps the wasm small.
    let related = StoredValue::new(all);
    let is_related = move |name: &str| {
        hovered.with(|h| match h {
            None => false,
            Some(h) => related.with_value(|jobs| {
                let needs =
                    |job: &str, other: &str| jobs.iter().any(|j| j.name == job && j.needs.iter().any(|n| n == other));
                needs(h, name) || needs(name, h)
            }),
        })
    };
    view! {
        <div class="stages" role="list" aria-label="stages">
            {detail.stages.into_iter().map(|stage| {
                let groups = format::job_groups(&stage.jobs);
                let retried: Vec<String> = stage.jobs.iter().filter(|j| j.retried).map(|j| j.name.clone()).collect();
                view! {
                    <div class="stage" role="listitem" aria-label=format!("stage {}", stage.name)>
                        <h2 class="stage-name"><StatusIcon status=stage.status.clone() compact=true />" " <span class="stage-title">{stage.name.clone()}</span></h2>
                        <ul class="jobs">
                            {groups.into_iter().map(|(group, members)| {
                                if members.len() == 1 {
                                    let job = members[0].clone();
                                    let attempts = retried.iter().filter(|n| **n == job.name).count();
                                    view! { <JobCard project=project job=job attempts=attempts hovered=hovered related=is_related done=done /> }.into_any()
                                } else {
                                    let status = format::worst(members.iter().map(|j| &j.status));
                                    let count = members.len();
                                    let key = format!("{}/{}", stage.name, group);
                                    view! {
                                        <li class="job-group">
                                            <details
                                                prop:open={
                                                    let key = key.clone();
                                                    move || open_groups.with(|g| g.contains(&key))
                                                }
                                                on:toggle={
                                                    let key = key.clone();
                                                    move |e| {
                                                        use wasm_bindgen::JsCast;
                                                        let open = e
                                                            .target()
                                                            .and_then(|t| t.dyn_into::<web_sys::HtmlDetailsElement>().ok())
                                                            .is_some_and(|d| d.open());
                                                        open_groups.update(|g| {
                                                            g.retain(|k| *k != key);
                                                            if open {
                                                                g.push(key.clone());
                                                            }
                                                        });
                                                    }
                                                }
                                            >
                                                <summary>
                                                    <StatusIcon status=status compact=true />
                                                    <span class="job-name">{group}</span>
                                                    <span class="group-size">{count}</span>
                                                </summary>
                                                <ul class="jobs">
                                                    {members.into_iter().map(|job| {
                                                        let attempts = retried.iter().filter(|n| **n == job.name).count();
                                                        view! { <JobCard project=project job=job attempts=attempts hovered=hovered related=is_related done=done /> }
                                                    }).collect_view()}
                                                </ul>
                                            </details>
                                        </li>
                                    }.into_any()
                                }
                            }).collect_view()}
                        </ul>
                    </div>
                }
            }).collect_view()}
        </div>
    }
    .into_any()
}

#[component]
fn JobCard(
    project: u64,
    job: Job,
    attempts: usize,
    hovered: RwSignal<Option<String>>,
    related: impl Fn(&str) -> bool + Copy + Send + Sync + 'static,
    done: Callback<stageboard_protocol::ActionOutcome>,
) -> impl IntoView {
    let name = job.name.clone();
    let name_for_class = name.clone();
    let enter = name.clone();
    let action = match job.status {
        // A rejected deployment's job never runs again (GitLab: not retryable).
        Status::Failed if job.failure_reason.as_deref() == Some("deployment_rejected") => None,
        Status::Failed | Status::Canceled | Status::Success => Some(Action::RetryJob(job.id)),
        Status::Manual => Some(Action::PlayJob(job.id)),
        ref s if s.is_unfinished() => Some(Action::CancelJob(job.id)),
        _ => None,
    };
    view! {
        <li class=move || if related(&name_for_class) { "job-card related" } else { "job-card" }
            on:mouseenter=move |_| hovered.set(Some(enter.clone()))
            on:mouseleave=move |_| hovered.set(None)
            data-job-id=job.id>
            <a class="job-link" href=format!("/projects/{project}/jobs/{}", job.id)>
                <StatusIcon status=job.status.clone() compact=true />
                <span class="job-name">{job.name.clone()}</span>
            </a>
            <span class="job-meta">
                {job.duration.map(format::duration)}
                {job.allow_failure.then(|| view! { <span class="tag" title="allowed to fail">"may fail"</span> })}
                {(attempts > 0).then(|| view! { <span class="tag" title="earlier attempts were retried">{format!("↻ {}", attempts + 1)}</span> })}
            </span>
            {(!job.needs.is_empty()).then(|| view! { <span class="needs">{format!("needs {}", job.needs.join(", "))}</span> })}
            {action.map(|a| view! { <ActionButton project=project action=a subject=job.name.clone() on_done=done environment=job.environment.clone() refused=job.refused.clone() /> })}
        </li>
    }
    .into_any()
}

// Whole pixels: the layout is a grid, so links need no DOM measurement.
const COLUMN: i64 = 230;
const ROW: i64 = 48;
const CARD_W: i64 = 190;
const CARD_H: i64 = 36;

/// Jobs in columns by how many `needs` stand before them, with the links drawn.
#[component]
fn NeedsGraph(project: u64, jobs: Vec<Job>) -> impl IntoView {
    let current: Vec<Job> = jobs.into_iter().filter(|j| !j.retried).collect();
    /// How many `needs` stand before job `i`; `memo` holds the answers found so far.
    fn level(i: usize, jobs: &[Job], memo: &mut [Option<usize>], depth: usize) -> usize {
        if let Some(l) = memo[i] {
            return l;
        }
        let l = if depth > 64 {
            0
        } else {
            jobs[i]
                .needs
                .iter()
                .filter_map(|n| jobs.iter().position(|j| j.name == *n))
                .map(|n| level(n, jobs, memo, depth + 1) + 1)
                .max()
                .unwrap_or(0)
        };
        memo[i] = Some(l);
        l
    }
    let mut memo = vec![None; current.len()];
    let mut columns: Vec<Vec<&Job>> = Vec::new();
    for (i, job) in current.iter().enumerate() {
        let l = level(i, &current, &mut memo, 0);
        if columns.len() <= l {
            columns.resize(l + 1, Vec::new());
        }
        columns[l].push(job);
    }
    let mut places: Vec<(&str, (i64, i64))> = Vec::new();
    for (c, column) in columns.iter().enumerate() {
        for (r, job) in column.iter().enumerate() {
            places.push((job.name.as_str(), (c as i64 * COLUMN, r as i64 * ROW)));
        }
    }
    let place = |name: &str| places.iter().find(|(n, _)| *n == name).map(|(_, p)| *p);
    let width = columns.len() as i64 * COLUMN;
    let height = columns.iter().map(Vec::len).max().unwrap_or(1) as i64 * ROW;
    let links: Vec<String> = current
        .iter()
        .flat_map(|j| j.needs.iter().filter_map(|n| Some((place(n)?, place(&j.name)?))))
        .map(|((x1, y1), (x2, y2))| {
            let (sx, sy, ex, ey) = (x1 + CARD_W, y1 + CARD_H / 2, x2, y2 + CARD_H / 2);
            let mid = (sx + ex) / 2;
            format!("M{sx},{sy} C{mid},{sy} {mid},{ey} {ex},{ey}")
        })
        .collect();
    let any_needs = current.iter().any(|j| !j.needs.is_empty());
    view! {
        {(!any_needs).then(|| view! { <p class="note">"No job in this pipeline uses needs: it runs stage by stage."</p> })}
        <div class="dag" style=format!("width:{width}px;height:{height}px")>
            <svg class="dag-links" width=width height=height aria-hidden="true">
                {links.into_iter().map(|d| view! { <path d=d /> }).collect_view()}
            </svg>
            {current.iter().map(|job| {
                let (x, y) = place(&job.name).unwrap_or_default();
                view! {
                    <a class="dag-card" style=format!("left:{x}px;top:{y}px;width:{CARD_W}px;height:{CARD_H}px")
                        href=format!("/projects/{project}/jobs/{}", job.id)
                        title=if job.needs.is_empty() { "needs nothing".to_owned() } else { format!("needs {}", job.needs.join(", ")) }>
                        <StatusIcon status=job.status.clone() compact=true />
                        <span class="job-name">{job.name.clone()}</span>
                    </a>
                }
            }).collect_view()}
        </div>
    }
    .into_any()
}

/// When each job queued and ran, on one time axis: the slow part stands out.
#[component]
fn Timing(project: u64, jobs: Vec<Job>) -> impl IntoView {
    let current: Vec<Job> = jobs.into_iter().filter(|j| !j.retried).collect();
    let bars = format::waterfall(&current, Utc::now());
    if bars.is_empty() {
        return view! { <p class="empty">"No job has started yet."</p> }.into_any();
    }
    view! {
        <ol class="waterfall" aria-label="job timing">
            {bars.into_iter().map(|(job, queued, started, finished)| {
                // Hundredths of a percent, written with integers (float formatting costs wasm size).
                let pct = |f: f64| {
                    let v = (f * 10_000.0).round() as u32;
                    format!("{}.{:02}%", v / 100, v % 100)
                };
                let took = job.duration.map(format::duration).unwrap_or_default();
                let waited = job.queued_duration.map(format::duration).unwrap_or_default();
                view! {
                    <li class="waterfall-row">
                        <a class="waterfall-name" href=format!("/projects/{project}/jobs/{}", job.id)>{job.name.clone()}</a>
                        <span class="waterfall-track">
                            <span class="bar queued" style=format!("left:{};width:{}", pct(queued), pct(started - queued)) title=format!("queued {waited}")></span>
                            <span class=format!("bar ran status-{}", job.status.as_str()) style=format!("left:{};width:{}", pct(started), pct((finished - started).max(0.002))) title=format!("ran {took}")></span>
                        </span>
                        <span class="waterfall-time">{took}</span>
                    </li>
                }
            }).collect_view()}
        </ol>
    }
    .into_any()
}
