mod action_button;
pub mod page_status;
mod shell;
mod stage_marks;
pub mod status_icon;
mod table;
mod top_bar;

pub use action_button::{ActionButton, Dialog, Notice, NoticeBar};
pub use shell::{loaded, loaded_or};
pub use stage_marks::StageMarks;
pub use status_icon::StatusIcon;
pub use table::{Cell, data_table};
pub use top_bar::TopBar;

/// What waits because no runner takes it, one line per tag set: the notice on the overview and
/// on `/runners`, inside their `role=status` region.
pub fn waiting_lines(waiting: &[stageboard_protocol::Waiting]) -> leptos::prelude::AnyView {
    use leptos::prelude::*;
    waiting
        .iter()
        .map(|w| {
            view! {
                <p>
                    <strong>{w.message.clone()}</strong>
                    {format!(" · {}", w.projects.join(", "))}
                </p>
            }
        })
        .collect_view()
        .into_any()
}

/// A link to a web address from GitLab's data, opened in a new tab; anything that is not
/// http(s) is shown as plain text ([`crate::format::web_link`]).
pub fn external_link(url: &str, text: String, class: &'static str) -> leptos::prelude::AnyView {
    use leptos::prelude::*;
    match crate::format::web_link(url) {
        Some(href) => {
            view! { <a class=class href=href.to_owned() target="_blank" rel="noopener">{text}</a> }.into_any()
        }
        // The address itself, so a person sees what GitLab holds.
        None => view! { <span class="external-url" title="Not a web address, so not a link">{url.to_owned()}</span> }
            .into_any(),
    }
}
