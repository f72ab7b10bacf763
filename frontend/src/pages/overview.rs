use leptos::prelude::*;

use crate::api;

/// `/`: the watched projects.
#[component]
pub fn Overview() -> impl IntoView {
    let projects = LocalResource::new(api::projects);
    view! {
        <section class="page">
            <h1>"Projects"</h1>
            <Suspense fallback=|| view! { <p class="loading">"Loading projects from GitLab…"</p> }>
                {move || Suspend::new(async move {
                    match projects.await {
                        Ok(list) if list.is_empty() => view! {
                            <p class="empty">"No projects are watched. Set STAGEBOARD_PROJECTS to the projects to show."</p>
                        }.into_any(),
                        Ok(list) => view! {
                            <ul class="projects">
                                {list.into_iter().map(|p| view! {
                                    <li class="project" data-project-id=p.id>
                                        <a class="project-name" href=format!("/projects/{}/pipelines", p.id)>{p.name.clone()}</a>
                                        <span class="project-path">{p.path_with_namespace.clone()}</span>
                                        <p class="project-description">{p.description.clone().unwrap_or_default()}</p>
                                    </li>
                                }).collect_view()}
                            </ul>
                        }.into_any(),
                        Err(e) => view! {
                            <p class="error" role="alert">{e.message}</p>
                        }.into_any(),
                    }
                })}
            </Suspense>
        </section>
    }
}
