use leptos::prelude::*;
use leptos::task::spawn_local;
use stageboard_protocol::{ActionOutcome, JobEnvironment};

use crate::api::{self, Action};

/// Where a page shows the answers to actions, so they survive the page re-rendering what the
/// action changed. Without it, the answer shows beside the button.
#[derive(Debug, Clone, Copy)]
pub struct Notice(pub RwSignal<Option<Result<String, String>>>);

/// Shows the page's latest action answer.
#[component]
pub fn NoticeBar() -> impl IntoView {
    let notice = use_context::<Notice>();
    move || {
        {
            notice.and_then(|n| n.0.get()).map(|a| match a {
                Ok(message) => view! { <p class="notice answer ok" role="status">{message}</p> }.into_any(),
                Err(message) => view! { <p class="notice answer error" role="alert">{message}</p> }.into_any(),
            })
        }
        .into_any()
    }
}

/// Which confirmation is open on a page and what has been typed in it, kept by the page (like
/// [`Notice`]) so that re-rendering what changed (an event, the periodic refresh) neither
/// closes it nor loses a comment or the typed environment name, nor lets an action on its way
/// be sent twice. Without it, each button keeps its own.
#[derive(Debug, Clone, Copy)]
pub struct Dialog {
    open: RwSignal<Option<Action>>,
    input: RwSignal<String>,
    typed: RwSignal<String>,
    /// Actions on their way to GitLab: their buttons stay busy even when re-rendered.
    sending: RwSignal<Vec<Action>>,
    /// The buttons on the page now: a dialog whose button went away (the job started, the
    /// pipeline finished) closes rather than coming back unasked later.
    shown: StoredValue<Vec<Action>>,
}

impl Dialog {
    pub fn new() -> Self {
        Dialog {
            open: RwSignal::new(None),
            input: RwSignal::new(String::new()),
            typed: RwSignal::new(String::new()),
            sending: RwSignal::new(Vec::new()),
            shown: StoredValue::new(Vec::new()),
        }
    }

    /// A button for `action` is on the page until its owner goes.
    fn shows(self, action: Action) {
        self.shown.update_value(|s| s.push(action));
        on_cleanup(move || {
            let _ = self.shown.try_update_value(|s| {
                if let Some(at) = s.iter().position(|a| *a == action) {
                    s.remove(at);
                }
            });
            // Once a re-render (if that is what this is) has put its buttons back.
            set_timeout(
                move || {
                    if self.shown.try_with_value(|s| !s.contains(&action)) == Some(true) {
                        self.close(action);
                    }
                },
                std::time::Duration::ZERO,
            );
        });
    }

    fn close(self, action: Action) {
        let _ = self.open.try_update(|o| {
            if *o == Some(action) {
                *o = None;
            }
        });
    }
}

impl Default for Dialog {
    fn default() -> Self {
        Self::new()
    }
}

/// A button for an action. Running a manual job asks first (with optional variables); GitLab's
/// answer is shown plainly beside the button, and `on_done` hears of success.
#[component]
pub fn ActionButton(
    project: u64,
    action: Action,
    /// What the action is about, for the confirmation ("deploy_live").
    #[prop(into)]
    subject: String,
    #[prop(optional)] on_done: Option<Callback<ActionOutcome>>,
    /// Where the job deploys: named in the confirmation; production asks to type its name.
    #[prop(optional_no_strip)]
    environment: Option<JobEnvironment>,
    /// Lines the confirmation shows before asking (what is deployed now, what comes, commits).
    #[prop(optional)]
    details: Vec<String>,
    /// Why GitLab would refuse this person, said on click instead of sending it.
    #[prop(optional_no_strip)]
    refused: Option<String>,
) -> impl IntoView {
    let dialog = use_context::<Dialog>().unwrap_or_default();
    let (typed, variables, open) = (dialog.typed, dialog.input, dialog.open);
    let production = environment
        .as_ref()
        .is_some_and(|e| e.tier.as_deref() == Some("production"));
    let env_name = environment.as_ref().map(|e| e.name.clone()).unwrap_or_default();
    let expected = StoredValue::new(env_name.clone());
    let confirmed = move || !production || typed.with(|t| expected.with_value(|e| t == e));
    let confirming = move || open.get() == Some(action);
    let ask = move || {
        // Pressed again while asking: keep what was typed.
        if open.get_untracked() != Some(action) {
            typed.set(String::new());
            variables.set(String::new());
            open.set(Some(action));
        }
    };
    dialog.shows(action);
    let sending = dialog.sending;
    let busy = move || sending.with(|s| s.contains(&action));
    let answer = use_context::<Notice>()
        .map(|n| n.0)
        .unwrap_or_else(|| RwSignal::new(None));
    let local = use_context::<Notice>().is_none();
    // Why this visitor cannot act (not signed in, nobody can sign in here, or the environment's
    // protection keeps their role out), said on click rather than sending what GitLab refuses.
    let info = crate::api::use_server_info();
    let refused = StoredValue::new(refused.or_else(|| environment.as_ref().and_then(|e| e.refused.clone())));
    let blocked = move || {
        info.with(|i| {
            i.as_ref().filter(|i| !i.actions_enabled).map(|i| {
                if i.sign_in {
                    "Sign in with GitLab (top right) to act: actions are sent with your own GitLab rights."
                } else {
                    "This stageboard only reads: signing in is not set up here (GITLAB_OAUTH_CLIENT_ID)."
                }
                .to_owned()
            })
        })
        .or_else(|| refused.get_value())
    };
    let needs_confirmation = matches!(
        action,
        Action::PlayJob(_)
            | Action::CancelPipeline(_)
            | Action::StopEnvironment(_)
            | Action::ApproveDeployment(_)
            | Action::RejectDeployment(_)
    );
    let commented = matches!(action, Action::ApproveDeployment(_) | Action::RejectDeployment(_));

    let run = move || {
        sending.update(|s| s.push(action));
        let input = variables.get_untracked();
        spawn_local(async move {
            let result = api::act(project, action, input).await;
            let _ = sending.try_update(|s| s.retain(|a| *a != action));
            dialog.close(action);
            match result {
                Ok(outcome) => {
                    let _ = answer.try_set(Some(Ok(outcome.message.clone())));
                    if let Some(done) = on_done {
                        // The page may have re-rendered meanwhile (and dropped this callback).
                        let _ = done.try_run(outcome);
                    }
                }
                Err(e) => {
                    let _ = answer.try_set(Some(Err(e.message)));
                }
            }
        });
    };
    let subject_for_dialog = subject.clone();
    view! {
        <span class="action">
            <button
                class=format!("button action-{}", action.label().to_ascii_lowercase().replace(' ', "-"))
                disabled=busy
                aria-disabled=move || blocked().is_some().then_some("true")
                title=blocked
                aria-label=format!("{} {subject}", action.label())
                on:click=move |_| match blocked() {
                    Some(why) => answer.set(Some(Err(why))),
                    None if needs_confirmation => ask(),
                    None => run(),
                }
            >
                {action.label()}
            </button>
            <Show when=confirming>
                <div class="dialog" role="dialog" aria-modal="true" aria-labelledby="confirm-title"
                    aria-describedby=matches!(action, Action::RejectDeployment(_)).then_some("confirm-warning")>
                    <h2 id="confirm-title">{format!("{} {}?", action.label(), subject_for_dialog)}</h2>
                    {environment.clone().map(|env| view! {
                        <p class="deploy-target">
                            "This deploys to " <strong class="environment-name">{env.name.clone()}</strong>
                            {env.tier.clone().map(|t| format!(" ({t})"))}
                            {env.external_url.clone().map(|u| view! { " · " {crate::components::external_link(&u, u.clone(), "external")} })}
                        </p>
                    })}
                    {(!details.is_empty()).then(|| view! {
                        <ul class="deploy-changes">{details.iter().map(|l| view! { <li>{l.clone()}</li> }).collect_view()}</ul>
                    })}
                    {production.then(|| view! {
                        <label class="type-to-confirm">
                            <span>"This is production. Type " <code>{env_name.clone()}</code> " to confirm"</span>
                            <input class="type-to-confirm-input" type="text" autocomplete="off" spellcheck="false"
                                prop:value=move || typed.get() on:input=move |e| typed.set(event_target_value(&e)) />
                        </label>
                    })}
                    {matches!(action, Action::PlayJob(_)).then(|| view! {
                        <label class="variables">
                            "Variables for this run, one KEY=value per line (optional)"
                            <textarea rows="3" prop:value=move || variables.get() on:input=move |e| variables.set(event_target_value(&e))></textarea>
                        </label>
                    })}
                    {matches!(action, Action::RejectDeployment(_)).then(|| view! {
                        <p class="warning" id="confirm-warning">"A rejected deployment's job fails for good: it cannot be run or retried."</p>
                    })}
                    {commented.then(|| view! {
                        <label class="variables">
                            "Comment, shown in GitLab (optional, at most 255 characters)"
                            <textarea rows="2" maxlength="255" prop:value=move || variables.get() on:input=move |e| variables.set(event_target_value(&e))></textarea>
                        </label>
                    })}
                    <div class="dialog-buttons">
                        <button class="button confirm" on:click=move |_| run() disabled=move || busy() || !confirmed()>
                            {format!("Yes, {}", action.label().to_ascii_lowercase())}
                        </button>
                        <button class="button" on:click=move |_| dialog.close(action)>"Keep as is"</button>
                    </div>
                </div>
            </Show>
            {move || answer.get().filter(|_| local).map(|a| match a {
                Ok(message) => view! { <span class="answer ok" role="status">{message}</span> }.into_any(),
                Err(message) => view! { <span class="answer error" role="alert">{message}</span> }.into_any(),
            })}
        </span>
    }
    .into_any()
}
