use leptos::prelude::*;
use leptos_router::hooks::use_params_map;

use crate::api;
use crate::components::StatusBadge;

/// `/projects/:project_id/pipelines`: the project's latest pipelines.
#[component]
pub fn ProjectPipelines() -> impl IntoView {
    let params = use_params_map();
    let project_id = move || params.read().get("project_id").and_then(|id| id.parse::<u64>().ok());
    let page = LocalResource::new(move || async move {
        match project_id() {
            Some(id) => api::pipelines(id).await,
            None => Err(api::ApiError {
                message: "The project id in the address is not a number.".into(),
            }),
        }
    });
    view! {
        <section class="page">
            <h1>"Pipelines"</h1>
            <Suspense fallback=|| view! { <p class="loading">"Loading pipelines…"</p> }>
                {move || Suspend::new(async move {
                    match page.await {
                        Ok(page) => view! {
                            <table class="pipelines">
                                <thead><tr><th>"Status"</th><th>"Pipeline"</th><th>"Ref"</th><th>"Created"</th></tr></thead>
                                <tbody>
                                    {page.pipelines.into_iter().map(|p| view! {
                                        <tr>
                                            <td><StatusBadge status=p.status.clone() /></td>
                                            <td>{format!("#{}", p.id)}</td>
                                            <td>{p.git_ref.clone()}</td>
                                            <td>{p.created_at.map(|t| t.format("%Y-%m-%d %H:%M UTC").to_string()).unwrap_or_default()}</td>
                                        </tr>
                                    }).collect_view()}
                                </tbody>
                            </table>
                        }.into_any(),
                        Err(e) => view! { <p class="error" role="alert">{e.message}</p> }.into_any(),
                    }
                })}
            </Suspense>
        </section>
    }
}
