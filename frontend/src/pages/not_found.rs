use leptos::prelude::*;

#[component]
pub fn NotFound() -> impl IntoView {
    view! {
        <section class="page">
            <h1>"Nothing here"</h1>
            <p>"This page does not exist. " <a href="/">"Back to the overview"</a></p>
        </section>
    }
    .into_any()
}
