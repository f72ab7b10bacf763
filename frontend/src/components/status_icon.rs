use leptos::prelude::*;
use stageboard_protocol::Status;

/// The symbol of a status: a shape as well as a colour, so status never rests on colour alone.
pub fn symbol(status: &Status) -> &'static str {
    match status {
        Status::Success => "✓",
        Status::Failed => "✕",
        Status::Running => "▶",
        Status::Pending
        | Status::Created
        | Status::WaitingForResource
        | Status::Preparing
        | Status::WaitingForCallback => "◷",
        Status::Canceled | Status::Canceling => "⊘",
        Status::Skipped => "»",
        Status::Manual => "⚙",
        Status::Scheduled => "⏲",
        Status::Other(_) => "•",
    }
}

/// A status as a shape, a colour and (unless `compact`) a word; screen readers always get the word.
#[component]
pub fn StatusIcon(status: Status, #[prop(optional)] compact: bool) -> impl IntoView {
    let class = format!("status status-{}", status.as_str());
    let label = status.label().to_owned();
    let tooltip = label.clone();
    view! {
        <span class=class title=tooltip>
            <span class="status-symbol" aria-hidden="true">{symbol(&status)}</span>
            {if compact {
                view! { <span class="sr-only">{label}</span> }.into_any()
            } else {
                view! { <span class="status-label">{label}</span> }.into_any()
            }}
        </span>
    }
    .into_any()
}
