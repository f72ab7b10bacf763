//! Desktop notifications, opt-in per browser: when a watched default branch turns red, or back
//! to green, a notification (and, if chosen, a short tone) says so, on any page of the team
//! app. The choice is kept in the browser; the tab's title and icon say it already.

use std::time::Duration;

use leptos::prelude::*;

use crate::format::{self, Turn};
use crate::poll::poll;

const KEY: &str = "stageboard.notify";
/// Each watched default branch as this browser last saw it (`1:r,2:g`), so a turn while the
/// person was on another page (the log viewer is another app) is still news when they are back.
const SEEN_KEY: &str = "stageboard.notify.seen";

thread_local! {
    /// One audio context for the tones, made when the person chose a sound (a click, which
    /// browsers want before a page may play anything).
    static AUDIO: std::cell::RefCell<Option<web_sys::AudioContext>> = const { std::cell::RefCell::new(None) };
}

/// Whether this browser has notifications at all (Safari on iOS outside a home-screen app has
/// none, and asking would throw).
pub fn supported() -> bool {
    web_sys::window().is_some_and(|w| js_sys::Reflect::has(&w, &"Notification".into()).unwrap_or(false))
}

/// What this browser asked for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Choice {
    Off,
    On,
    WithSound,
}

impl Choice {
    pub const ALL: [Choice; 3] = [Choice::Off, Choice::On, Choice::WithSound];

    pub fn key(self) -> &'static str {
        match self {
            Choice::Off => "off",
            Choice::On => "on",
            Choice::WithSound => "sound",
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            Choice::Off => "off",
            Choice::On => "when main turns red or green",
            Choice::WithSound => "with a sound",
        }
    }

    fn from_key(key: &str) -> Choice {
        Choice::ALL.into_iter().find(|c| c.key() == key).unwrap_or(Choice::Off)
    }
}

/// This browser's choice, shared by the overview's control and the watcher.
#[derive(Debug, Clone, Copy)]
pub struct Notify(pub RwSignal<Choice>);

fn storage() -> Option<web_sys::Storage> {
    web_sys::window().and_then(|w| w.local_storage().ok().flatten())
}

/// Reads the browser's choice, for every page of the app.
pub fn provide() {
    let stored = storage()
        .and_then(|s| s.get_item(KEY).ok().flatten())
        .map_or(Choice::Off, |k| Choice::from_key(&k));
    let stored = if supported() { stored } else { Choice::Off };
    provide_context(Notify(RwSignal::new(stored)));
}

/// Watches the projects while the browser's choice is on ([`provide`] first).
#[component]
pub fn Notifier() -> impl IntoView {
    let Some(Notify(choice)) = use_context::<Notify>() else {
        return ().into_any();
    };
    view! { <Show when=move || choice.get() != Choice::Off><Watcher choice /></Show> }.into_any()
}

/// Sets the browser's choice; turning it on asks the browser's permission.
pub fn choose(choice: Choice) {
    if let Some(notify) = use_context::<Notify>() {
        notify.0.set(choice);
    }
    if let Some(s) = storage() {
        let _ = s.set_item(KEY, choice.key());
    }
    if choice != Choice::Off
        && supported()
        && web_sys::Notification::permission() == web_sys::NotificationPermission::Default
    {
        let _ = web_sys::Notification::request_permission();
    }
    if choice == Choice::WithSound {
        AUDIO.with_borrow_mut(|audio| {
            if audio.is_none() {
                *audio = web_sys::AudioContext::new().ok();
            }
            if let Some(audio) = audio {
                let _ = audio.resume();
            }
        });
    }
}

/// Whether the browser refuses this site's notifications (the person blocked them).
pub fn blocked() -> bool {
    supported() && web_sys::Notification::permission() == web_sys::NotificationPermission::Denied
}

fn seen() -> Vec<(u64, bool)> {
    storage()
        .and_then(|s| s.get_item(SEEN_KEY).ok().flatten())
        .unwrap_or_default()
        .split(',')
        .filter_map(|e| e.split_once(':'))
        .filter_map(|(id, state)| Some((id.parse().ok()?, state == "r")))
        .collect()
}

fn keep_seen(known: &[(u64, bool)]) {
    let text: Vec<String> = known
        .iter()
        .map(|(id, red)| format!("{id}:{}", if *red { "r" } else { "g" }))
        .collect();
    if let Some(s) = storage() {
        let _ = s.set_item(SEEN_KEY, &text.join(","));
    }
}

#[component]
fn Watcher(choice: RwSignal<Choice>) -> impl IntoView {
    let cards = poll(
        crate::api::overview,
        || "projects".into(),
        Duration::from_secs(60),
        |_| true,
    );
    Effect::new(move |_| {
        let turned = cards.with(|c| match c {
            Some(Ok(cards)) => {
                let mut known = seen();
                let turned = format::turns(&mut known, cards);
                keep_seen(&known);
                turned
            }
            _ => Vec::new(),
        });
        let sound = choice.get_untracked() == Choice::WithSound;
        for turn in &turned {
            tell(turn);
        }
        if sound && let Some(turn) = turned.first() {
            tone(turn.red);
        }
    });
    ().into_any()
}

fn tell(turn: &Turn) {
    if !supported() || web_sys::Notification::permission() != web_sys::NotificationPermission::Granted {
        return;
    }
    let (title, body) = if turn.red {
        (
            format!("✕ {}: {} is red", turn.project, turn.branch),
            turn.by
                .as_ref()
                .map_or_else(String::new, |by| format!("broken by {by}")),
        )
    } else {
        (
            format!("✓ {}: {} is green again", turn.project, turn.branch),
            String::new(),
        )
    };
    let options = web_sys::NotificationOptions::new();
    options.set_body(&body);
    // One notification per project: a newer turn replaces an older one.
    options.set_tag(&format!("stageboard-{}", turn.project));
    let _ = web_sys::Notification::new_with_options(&title, &options);
}

/// A short tone: low for red, high for green (on the one audio context, made when the sound
/// was chosen; in a tab opened since, the first click on the page lets it play).
fn tone(red: bool) {
    let audio = AUDIO.with_borrow_mut(|audio| {
        if audio.is_none() {
            *audio = web_sys::AudioContext::new().ok();
        }
        audio.clone()
    });
    let Some(audio) = audio else { return };
    let _ = audio.resume();
    let (Ok(oscillator), Ok(gain)) = (audio.create_oscillator(), audio.create_gain()) else {
        return;
    };
    let now = audio.current_time();
    oscillator.frequency().set_value(if red { 330.0 } else { 660.0 });
    gain.gain().set_value(0.2);
    let _ = gain.gain().linear_ramp_to_value_at_time(0.0, now + 0.6);
    let _ = oscillator.connect_with_audio_node(&gain);
    let _ = gain.connect_with_audio_node(&audio.destination());
    let _ = oscillator.start();
    let _ = oscillator.stop_with_when(now + 0.6);
}
