use leptos::prelude::*;
use stageboard_protocol::Status;

/// A status as a shape, a colour and a word, so it never depends on colour alone.
#[component]
pub fn StatusBadge(status: Status) -> impl IntoView {
    let class = format!("status status-{}", status.as_str());
    let icon = match status {
        Status::Success => "✓",
        Status::Failed => "✕",
        Status::Running => "▶",
        Status::Pending | Status::Created | Status::WaitingForResource | Status::Preparing => "◷",
        Status::Canceled | Status::Canceling => "⊘",
        Status::Skipped => "»",
        Status::Manual => "⚙",
        _ => "•",
    };
    view! {
        <span class=class>
            <span aria-hidden="true">{icon}</span>
            " "
            {status.label().to_owned()}
        </span>
    }
}
