use leptos::prelude::*;
use stageboard_protocol::StageMark;

use super::status_icon::symbol;

/// The mini stage graph: one mark per stage, coloured and shaped by the stage's worst status.
#[component]
pub fn StageMarks(stages: Vec<StageMark>) -> impl IntoView {
    view! {
        <span class="stage-marks" role="list" aria-label="stages">
            {stages
                .into_iter()
                .map(|s| {
                    let title = format!("{}: {}", s.name, s.status.label());
                    let tooltip = title.clone();
                    view! {
                        <span role="listitem" class=format!("stage-mark status-{}", s.status.as_str()) title=tooltip>
                            <span aria-hidden="true">{symbol(&s.status)}</span>
                            <span class="sr-only">{title}</span>
                        </span>
                    }
                })
                .collect_view()}
        </span>
    }
    .into_any()
}
