use std::time::Duration;

use chrono::Utc;
use leptos::prelude::*;
use stageboard_protocol::Runners;

use crate::api;
use crate::components::{Cell, data_table, loaded, page_status, waiting_lines};
use crate::format;
use crate::poll::poll;

/// `/runners`: the runners serving the projects with jobs pending or running, and the jobs that
/// wait because none of them takes them.
#[component]
pub fn RunnersPage() -> impl IntoView {
    let runners = poll(api::runners, || "projects".into(), Duration::from_secs(30), |_| true);
    Effect::new(move |_| page_status::show("Runners", None));
    view! {
        <section class="page">
            <header class="page-header">
                <h1>"Runners"</h1>
            </header>
            {loaded(runners, "Loading runners from GitLab…", move |r: Runners| show(r))}
        </section>
    }
    .into_any()
}

fn show(r: Runners) -> AnyView {
    let now = Utc::now();
    let waiting = waiting_lines(&r.waiting);
    let rows: Vec<Vec<Cell>> = r
        .runners
        .iter()
        .map(|runner| {
            vec![
                Cell::new(runner.description.clone()),
                Cell::new(runner.kind.clone()),
                Cell::new(runner.status.clone()).class(format!("runner-{}", runner.status)),
                Cell::new(if runner.busy { "running a job" } else { "idle" }),
                Cell::new(if runner.tags.is_empty() {
                    "(none)".to_owned()
                } else {
                    runner.tags.join(", ")
                }),
                Cell::new(if runner.run_untagged { "yes" } else { "no" }),
                Cell::new(
                    runner
                        .contacted_at
                        .map(|t| format::ago(*t, now))
                        .unwrap_or_else(|| "never".into()),
                ),
            ]
        })
        .collect();
    let empty = r.runners.is_empty();
    let unknown = (!r.unknown.is_empty()).then(|| {
        view! {
            <p class="hint" role="note">
                {format!(
                    "GitLab would not list the runners of {} (the read token needs the Maintainer role there), so their waiting jobs are not explained.",
                    r.unknown.join(", ")
                )}
            </p>
        }
    });
    view! {
        <div class="runners-waiting" role="status" aria-label="jobs waiting for a runner">{waiting}</div>
        {unknown}
        {if empty {
            view! {
                <p class="empty">
                    "No watched project has jobs pending or running: runners are read for those only, so an idle organisation costs GitLab nothing here."
                </p>
            }
            .into_any()
        } else {
            data_table(
                "runners",
                &["runner", "kind", "status", "now", "tags", "untagged jobs", "last contact"],
                rows,
            )
        }}
    }
    .into_any()
}
