use std::time::Duration;

use leptos::prelude::*;
use leptos_router::hooks::use_params_map;
use stageboard_protocol::{Job, Status};

use crate::api::{self, Action};
use crate::components::{ActionButton, Dialog, Notice, NoticeBar, StatusIcon, loaded_or, page_status};
use crate::format;
use crate::log_view::LogView;
use crate::poll::poll;

fn unfinished(job: &Job) -> bool {
    !job.status.is_completed()
}

/// The job's log as a file, in the header loading and loaded.
fn raw_log_link(project: u64, job: u64) -> impl IntoView {
    view! { <a class="button" href=api::raw_log_url(project, job) download=format!("job-{job}.log")>"Raw log"</a> }
}

/// `/projects/:project_id/jobs/:job_id`: a job and its whole log.
#[component]
pub fn JobPage() -> impl IntoView {
    let params = use_params_map();
    let ids = move || {
        let p = params.read();
        (
            p.get("project_id").and_then(|v| v.parse::<u64>().ok()),
            p.get("job_id").and_then(|v| v.parse::<u64>().ok()),
        )
    };
    let fetch = move || {
        let (project, job) = ids();
        async move {
            match (project, job) {
                (Some(p), Some(j)) => api::job(p, j).await,
                _ => Err(api::ApiError::new(
                    "The project and job ids in the address must be numbers.",
                )),
            }
        }
    };
    // Answers and an open confirmation outlive the page's re-renders.
    provide_context(Notice(RwSignal::new(None)));
    provide_context(Dialog::new());
    let job = poll(
        fetch,
        move || format!("project:{}", ids().0.unwrap_or_default()),
        Duration::from_secs(30),
        unfinished,
    );
    Effect::new(move |_| {
        if let Some(Ok(j)) = job.get() {
            page_status::show(&format!("{} #{}", j.name, j.id), Some(&j.status));
        }
    });
    let retried_to: RwSignal<Option<Job>> = RwSignal::new(None);
    let done = Callback::new(move |outcome: stageboard_protocol::ActionOutcome| {
        if let Some(new_job) = outcome.job {
            retried_to.set(Some(new_job));
        }
    });
    view! {
        <section class="page job-page">
            <NoticeBar />
            {loaded_or(job, move || {
                // The header's shape, so the log below stays where it is when the job comes.
                let (project, job_id) = ids();
                view! {
                    <header class="page-header job-header">
                        <h1 class="loading" role="status">"Loading the job…"</h1>
                        <p class="meta">"\u{a0}"</p>
                        <div class="actions">
                            {project.zip(job_id).map(|(p, j)| raw_log_link(p, j))}
                        </div>
                    </header>
                }.into_any()
            }, move |j| {
                    let project = ids().0.unwrap_or_default();
                    let action = match j.status {
                        // A rejected deployment's job never runs again (GitLab: not retryable).
        Status::Failed if j.failure_reason.as_deref() == Some("deployment_rejected") => None,
        Status::Failed | Status::Canceled | Status::Success => Some(Action::RetryJob(j.id)),
                        Status::Manual => Some(Action::PlayJob(j.id)),
                        ref s if s.is_unfinished() => Some(Action::CancelJob(j.id)),
                        _ => None,
                    };
                    view! {
                        <header class="page-header job-header">
                            <h1><StatusIcon status=j.status.clone() />" " {j.name.clone()} <span class="job-id">{format!(" #{}", j.id)}</span></h1>
                            <p class="meta">
                                "stage " {j.stage.clone()} " · "
                                <a href=format!("/projects/{project}/pipelines/{}", j.pipeline_id)>{format!("pipeline #{}", j.pipeline_id)}</a>
                                " · " <span class="ref">{j.git_ref.clone()}</span>
                                {j.duration.map(|d| format!(" · took {}", format::duration(d)))}
                                {j.queued_duration.map(|d| format!(" · queued {}", format::duration(d)))}
                                {j.failure_reason.clone().map(|r| view! { " · " <span class="failure-reason">{r.replace('_', " ")}</span> })}
                            </p>
                            <div class="actions">
                                {action.map(|a| view! { <ActionButton project=project action=a subject=j.name.clone() on_done=done environment=j.environment.clone() refused=j.refused.clone() /> })}
                                {raw_log_link(project, j.id)}
                            </div>
                            {move || retried_to.get().map(|n| view! {
                                <p class="answer ok" role="status">
                                    "New attempt: " <a class="new-job" href=format!("/projects/{project}/jobs/{}", n.id)>{format!("{} #{}", n.name, n.id)}</a>
                                </p>
                            })}
                        </header>
                    }.into_any()
            })}
            {move || {
                let (project, job_id) = ids();
                match (project, job_id) {
                    (Some(p), Some(j)) => view! { <LogView project=p job=j /> }.into_any(),
                    _ => ().into_any(),
                }
            }}
        </section>
    }
    .into_any()
}
