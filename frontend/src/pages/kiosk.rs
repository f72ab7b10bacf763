use std::time::Duration;

use chrono::Utc;
use leptos::prelude::*;
use leptos::task::spawn_local;
use stageboard_protocol::{KioskToken, KioskTokens, NewKioskToken};

use crate::api;
use crate::components::{loaded, page_status};
use crate::format;
use crate::poll::poll;

/// `/kiosk`: the kiosk tokens of wall screens (a TV that cannot sign in shows one board with
/// one), made, listed and revoked by Maintainers of the board's projects.
#[component]
pub fn Kiosk() -> impl IntoView {
    let changed = RwSignal::new(0u32);
    let fetch = move || {
        changed.track();
        api::kiosk_tokens()
    };
    let tokens = poll(fetch, String::new, Duration::from_secs(60), |_| true);
    let made = RwSignal::new(None::<Result<NewKioskToken, String>>);
    // The form outlives the list's re-reads (a half-typed label stays).
    let boards = Memo::new(move |_| {
        tokens.with(|t| match t {
            Some(Ok(t)) => Some(t.boards.clone()),
            _ => None,
        })
    });
    Effect::new(move |_| page_status::show("Kiosk screens", None));
    view! {
        <section class="page">
            <header class="page-header">
                <h1>"Kiosk screens"</h1>
            </header>
            <p class="hint">
                "A kiosk token lets a screen that cannot sign in (a TV in the hall) show one wall board, and nothing else: it reads, never acts. Open its address once on the screen; the token then becomes the screen's cookie. Build monitors read /cc.xml with it as the password."
            </p>
            {move || boards.get().map(|boards| view! { <MakeToken boards made changed /> })}
            {move || made.get().map(|m| match m {
                    Ok(new) => {
                        let origin = web_sys::window().and_then(|w| w.location().origin().ok()).unwrap_or_default();
                        view! {
                            <div class="answer done kiosk-made" role="status">
                                <p>{format!("Kiosk token {} for the board {} is made. Open this address once on the screen; it is shown only now:", new.kiosk.id, new.kiosk.board)}</p>
                                <p><code class="kiosk-address">{format!("{origin}{}", new.path)}</code></p>
                            </div>
                        }.into_any()
                    }
                    Err(e) => view! { <p class="answer error" role="alert">{e}</p> }.into_any(),
            })}
            {loaded(tokens, "Loading the kiosk tokens…", move |list| table(list, changed))}
        </section>
    }
    .into_any()
}

#[component]
fn MakeToken(
    boards: Vec<String>,
    made: RwSignal<Option<Result<NewKioskToken, String>>>,
    changed: RwSignal<u32>,
) -> impl IntoView {
    if boards.is_empty() {
        return view! {
            <p class="empty">"You maintain no board's projects, or no board is configured (STAGEBOARD_BOARDS): a kiosk token is made by a Maintainer of every project its board shows."</p>
        }
        .into_any();
    }
    let board = RwSignal::new(boards[0].clone());
    let label = RwSignal::new(String::new());
    let sending = RwSignal::new(false);
    let submit = move |e: leptos::ev::SubmitEvent| {
        e.prevent_default();
        if sending.get_untracked() {
            return;
        }
        sending.set(true);
        spawn_local(async move {
            let answer = api::make_kiosk_token(board.get_untracked(), label.get_untracked()).await;
            if answer.is_ok() {
                let _ = label.try_set(String::new());
                changed.try_update(|n| *n += 1);
            }
            let _ = made.try_set(Some(answer.map_err(|e| e.message)));
            let _ = sending.try_set(false);
        });
    };
    view! {
        <form class="filters kiosk-form" on:submit=submit>
            <label>"Board "
                <select on:change=move |e| board.set(event_target_value(&e))>
                    {boards.into_iter().map(|b| view! { <option value=b.clone()>{b.clone()}</option> }).collect_view()}
                </select>
            </label>
            <label>"Screen "
                <input type="text" maxlength="100" placeholder="lobby TV" prop:value=move || label.get()
                    on:input=move |e| label.set(event_target_value(&e)) />
            </label>
            <button class="button" type="submit" disabled=move || sending.get()>"Make a kiosk token"</button>
        </form>
    }
    .into_any()
}

fn table(list: KioskTokens, changed: RwSignal<u32>) -> AnyView {
    if list.tokens.is_empty() {
        return view! { <p class="empty">"No kiosk tokens yet."</p> }.into_any();
    }
    let now = Utc::now();
    let rows = list.tokens.into_iter().map(|t| row(t, now, changed)).collect_view();
    view! {
        <table class="kiosk-tokens">
            <thead><tr>
                <th scope="col">"Board"</th><th scope="col">"Screen"</th><th scope="col">"Made"</th>
                <th scope="col">"Last used"</th><th scope="col">"State"</th>
            </tr></thead>
            <tbody>{rows}</tbody>
        </table>
    }
    .into_any()
}

fn row(t: KioskToken, now: chrono::DateTime<Utc>, changed: RwSignal<u32>) -> impl IntoView {
    let used = match (&t.last_used_at, &t.last_used_from) {
        (Some(at), Some(from)) => format!("{} from {from}", format::ago(**at, now)),
        (Some(at), None) => format::ago(**at, now),
        _ => "never".to_owned(),
    };
    let failed = RwSignal::new(None::<String>);
    let revoking = RwSignal::new(false);
    let id = t.id;
    let revoke = move |_| {
        if revoking.get_untracked() {
            return;
        }
        let sure = web_sys::window()
            .and_then(|w| {
                w.confirm_with_message("Revoke this kiosk token? Screens using it go blank at their next read.")
                    .ok()
            })
            .unwrap_or(false);
        if !sure {
            return;
        }
        revoking.set(true);
        spawn_local(async move {
            match api::revoke_kiosk_token(id).await {
                Ok(()) => changed.try_update(|n| *n += 1).unwrap_or_default(),
                Err(e) => {
                    let _ = failed.try_set(Some(e.message));
                }
            }
            let _ = revoking.try_set(false);
        });
    };
    let state = match &t.revoked_at {
        Some(at) => view! { <span class="revoked">{format!("revoked {}", format::ago(**at, now))}</span> }.into_any(),
        None => view! {
            <button class="button revoke" on:click=revoke disabled=move || revoking.get()>{format!("Revoke token {id}")}</button>
            {move || failed.get().map(|m| view! { <span class="answer error" role="alert">{m}</span> })}
        }
        .into_any(),
    };
    view! {
        <tr>
            <td>{t.board}</td>
            <td>{if t.label.is_empty() { "–".to_owned() } else { t.label }}</td>
            <td>{format!("{} by {}", format::ago(*t.created_at, now), t.created_by)}</td>
            <td>{used}</td>
            <td>{state}</td>
        </tr>
    }
}
