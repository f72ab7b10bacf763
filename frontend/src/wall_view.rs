//! The wall (`/wall`, `/wall/:board`): a board's tiles on a screen across the room, for weeks
//! with nobody at it. No controls; everything fitted to the screen, worst first. It keeps the
//! last picture while the server or GitLab is away (saying since when), catches up when they
//! are back, loads itself again when the server is upgraded, and shifts by a few pixels now and
//! then so the TV does not burn in (the style sheet).

use std::time::Duration;

use chrono::{DateTime, Utc};
use leptos::ev;
use leptos::prelude::*;
use stageboard_protocol::{HealthStatus, Status, Tile, TileEnvironment, Wall};

use crate::components::{StageMarks, page_status, status_icon::symbol};
use crate::events::Upstream;
use crate::format;
use crate::poll::poll;

/// How often the wall's clock, elapsed times and rotation move on.
const TICK: Duration = Duration::from_secs(5);
/// The header's share of the screen's height; the tiles have the rest.
const HEAD: f64 = 0.1;

/// A board the wall shows: its name (none: the address's own selection) and the parameters
/// the address adds.
#[derive(Debug, Clone, PartialEq)]
struct Shown {
    board: Option<String>,
    extra: String,
}

impl Shown {
    fn query(&self) -> String {
        let board = self
            .board
            .as_deref()
            .map(|b| format!("board={}", js_sys::encode_uri_component(b)));
        board
            .into_iter()
            .chain(Some(self.extra.clone()).filter(|e| !e.is_empty()))
            .collect::<Vec<_>>()
            .join("&")
    }
}

/// The board the address names (`/wall/payments?hide_green=1`).
fn from_address() -> Shown {
    let location = web_sys::window().map(|w| w.location());
    let read = |f: fn(&web_sys::Location) -> Result<String, wasm_bindgen::JsValue>| {
        location.as_ref().and_then(|l| f(l).ok()).unwrap_or_default()
    };
    let path = read(web_sys::Location::pathname);
    let board = path
        .trim_matches('/')
        .strip_prefix("wall/")
        .filter(|b| !b.is_empty())
        .map(str::to_owned);
    Shown {
        board,
        extra: read(web_sys::Location::search).trim_start_matches('?').to_owned(),
    }
}

/// `14:02` in the screen's own time zone.
fn clock(at: DateTime<Utc>) -> String {
    let date = js_sys::Date::new(&wasm_bindgen::JsValue::from_f64(at.timestamp_millis() as f64));
    format!("{:02}:{:02}", date.get_hours(), date.get_minutes())
}

fn screen() -> (f64, f64) {
    web_sys::window()
        .map(|w| {
            let size = |v: Result<wasm_bindgen::JsValue, _>| v.ok().and_then(|v| v.as_f64()).unwrap_or(0.0);
            (size(w.inner_width()), size(w.inner_height()))
        })
        .unwrap_or((1280.0, 720.0))
}

/// The wall's app (`frontend/wall.html`).
#[component]
pub fn WallApp() -> impl IntoView {
    crate::events::provide_upstream();
    let upstream = use_context::<Upstream>().expect("provided above");
    let first = from_address();
    // The address's board, then the boards it rotates through (from its first answer).
    let cycle = StoredValue::new(vec![first.clone()]);
    let at = RwSignal::new(0usize);
    let wall = poll(
        move || {
            let shown = cycle.with_value(|c| c[at.get() % c.len()].clone());
            crate::api::wall(shown.query())
        },
        || "projects,cluster".into(),
        Duration::from_secs(10),
        |_| true,
    );
    let now = RwSignal::new(Utc::now());
    // The server's clock less the screen's: a Raspberry Pi's is off until it reaches NTP.
    let skew = StoredValue::new(chrono::Duration::zero());
    // The last good board, kept through failures that may pass (the server restarting, a
    // proxy's 500, GitLab away); what went wrong since, if anything.
    let shown = RwSignal::new(None::<Wall>);
    let problem = RwSignal::new(None::<String>);
    let every = StoredValue::new(30i64);
    let switched = StoredValue::new(Utc::now());
    let version = StoredValue::new(None::<String>);
    let newer = StoredValue::new(0u8);
    Effect::new(move |_| {
        wall.with(|w| match w {
            Some(Ok(w)) => {
                skew.set_value(*w.read_at - Utc::now());
                // The first board says which boards follow it, and for how long each shows.
                if at.get_untracked().is_multiple_of(cycle.with_value(Vec::len)) {
                    every.set_value(i64::from(w.every));
                    cycle.update_value(|c| {
                        c.truncate(1);
                        c.extend(w.rotate.iter().map(|b| Shown {
                            board: Some(b.clone()),
                            extra: String::new(),
                        }));
                    });
                }
                // The server's build changed (an upgrade), said twice (not a replica behind):
                // load its wall.
                match version.get_value() {
                    None => version.set_value(Some(w.version.clone())),
                    Some(seen) if seen != w.version => {
                        newer.update_value(|n| *n += 1);
                        if newer.get_value() >= 2
                            && let Some(window) = web_sys::window()
                        {
                            let _ = window.location().reload();
                        }
                    }
                    Some(_) => newer.set_value(0),
                }
                let failing = w.tiles.iter().filter(|t| t.status == Some(Status::Failed)).count();
                let status = if failing > 0 { Status::Failed } else { Status::Success };
                let title = match failing {
                    0 => w.title.clone(),
                    n => format!("{n} failing · {}", w.title),
                };
                page_status::show(&title, Some(&status));
                shown.set(Some(w.clone()));
                problem.set(None);
            }
            Some(Err(e)) => {
                // A board that is not there, or not this screen's: say so. Anything else may
                // pass: the last picture stays.
                if matches!(e.status, 400 | 401 | 403 | 404) {
                    shown.set(None);
                }
                problem.set(Some(e.message.clone()));
            }
            None => {}
        })
    });
    // The clock moves; a rotation goes on unless the board on screen shows a failure.
    let tick = move || {
        let at_server = Utc::now() + skew.get_value();
        now.set(at_server);
        let failing = shown.with_untracked(|w| {
            w.as_ref()
                .is_some_and(|w| w.tiles.iter().any(|t| t.status == Some(Status::Failed)))
        });
        if cycle.with_value(Vec::len) > 1
            && !failing
            && (at_server - switched.get_value()).num_seconds() >= every.get_value()
        {
            switched.set_value(at_server);
            at.update(|i| *i += 1);
        }
    };
    if let Ok(handle) = set_interval_with_handle(tick, TICK) {
        on_cleanup(move || handle.clear());
    }
    let size = RwSignal::new(screen());
    let resize = window_event_listener(ev::resize, move |_| size.set(screen()));
    on_cleanup(move || resize.remove());

    let state = move || {
        let from = shown.with(|w| {
            w.as_ref()
                .map(|w| format!(" – data from {}", clock(*w.read_at)))
                .unwrap_or_default()
        });
        if shown.with(Option::is_some) && (wall.stale.with(Option::is_some) || problem.with(Option::is_some)) {
            format!("reconnecting{from}")
        } else if let Some(Some(since)) = upstream.0.get() {
            format!("GitLab unreachable since {}{from}", clock(since))
        } else {
            String::new()
        }
    };
    view! {
        <main class="wall">
            <header class="wall-head">
                <h1>{move || shown.with(|w| w.as_ref().map_or_else(|| "stageboard".to_owned(), |w| w.title.clone()))}</h1>
                <p class="wall-state" role="status">{state}</p>
                <p class="wall-clock">{move || clock(now.get())}</p>
            </header>
            {move || match (shown.get(), problem.get()) {
                (Some(w), _) => board(w, now, size).into_any(),
                (None, Some(message)) => view! { <p class="wall-message" role="alert">{message}</p> }.into_any(),
                (None, None) => view! { <p class="wall-message" role="status">"Loading the board…"</p> }.into_any(),
            }}
        </main>
    }
    .into_any()
}

/// The tiles, fitted to the screen; or one large "all green".
fn board(wall: Wall, now: RwSignal<DateTime<Utc>>, size: RwSignal<(f64, f64)>) -> impl IntoView {
    if wall.tiles.is_empty() && wall.more == 0 {
        let message = if wall.green > 0 {
            let since = wall
                .last_failure
                .map(|t| {
                    format!(
                        " · last failure {} ago",
                        format::short_span((now.get_untracked() - *t).num_seconds())
                    )
                })
                .unwrap_or_default();
            let projects = if wall.projects == 1 { "project" } else { "projects" };
            view! {
                <div class="all-green" role="status">
                    <p class="all-green-mark">"✓ All green"</p>
                    <p>{format!("{} {projects}{since}", wall.projects)}</p>
                </div>
            }
            .into_any()
        } else {
            view! { <p class="wall-message">"No watched project is on this board: check its projects parameter."</p> }
                .into_any()
        };
        return message;
    }
    let cells = wall.tiles.len() + usize::from(wall.green > 0) + usize::from(wall.more > 0);
    let (green, more) = (wall.green, wall.more);
    let columns = wall.columns.map(|c| c as usize);
    let layout = move || {
        let (w, h) = size.get();
        let (columns, rows) = match columns {
            Some(c) => (c, cells.div_ceil(c)),
            None => format::fit(cells, w, h * (1.0 - HEAD)),
        };
        format!("grid-template-columns:repeat({columns},1fr);grid-template-rows:repeat({rows},1fr)")
    };
    view! {
        <ul class="tiles" style=layout>
            {wall.tiles.into_iter().map(|t| tile(t, now)).collect_view()}
            {(green > 0).then(|| view! {
                <li class="tile tile-count status-success">
                    <div class="tile-in"><p class="tile-word">{format!("✓ {green} green")}</p></div>
                </li>
            })}
            {(more > 0).then(|| view! {
                <li class="tile tile-count">
                    <div class="tile-in"><p class="tile-word">{format!("+{more} more")}</p></div>
                </li>
            })}
        </ul>
    }
    .into_any()
}

fn tile(t: Tile, now: RwSignal<DateTime<Utc>>) -> impl IntoView {
    let (class, word, mark) = match (&t.error, &t.status) {
        (Some(_), _) => ("status-unreadable".to_owned(), "unreadable".to_owned(), "!"),
        (None, Some(s)) => (format!("status-{}", s.as_str()), s.label().to_owned(), symbol(s)),
        (None, None) => ("status-none".to_owned(), "no pipeline".to_owned(), "–"),
    };
    let running = t.status.as_ref().is_some_and(Status::is_active);
    let detail = if let Some(error) = t.error {
        view! { <p class="tile-line">{error}</p> }.into_any()
    } else if let Some(broken) = t.broken {
        let who = if broken.by.is_empty() {
            "broken".to_owned()
        } else {
            format!("broken by {}", broken.by.join(", "))
        };
        let since = broken.since.map(|s| *s);
        let when = move || {
            since
                .map(|s| format!(" · {}", format::short_span((now.get() - s).num_seconds())))
                .unwrap_or_default()
        };
        view! { <p class="tile-line tile-who">{who}{when}</p> }.into_any()
    } else if let (true, Some(started)) = (running, t.started_at.map(|s| *s)) {
        let last = t.last_duration.filter(|d| *d > 0);
        let elapsed = move || (now.get() - started).num_seconds().max(0);
        let share = move || match last {
            Some(last) if last > 0 => (elapsed() as f64 / last as f64).min(1.0) * 100.0,
            _ => 0.0,
        };
        let text = move || match last {
            Some(last) => format!(
                "{} of ~{}",
                format::duration(elapsed() as f64),
                format::duration(last as f64)
            ),
            None => format::duration(elapsed() as f64),
        };
        view! {
            <div class="tile-line tile-progress">
                <span class="bar" role="progressbar" aria-label="time against the last run"
                    aria-valuemin="0" aria-valuemax="100" aria-valuenow=move || format!("{:.0}", share())>
                    <span style=move || format!("width:{:.0}%", share())></span>
                </span>
                <span>{text}</span>
            </div>
        }
        .into_any()
    } else {
        ().into_any()
    };
    view! {
        <li class=format!("tile {class}")>
            <div class="tile-in">
            <h2 class="tile-name"><bdi dir="ltr">{t.project}</bdi></h2>
            <p class="tile-word">
                <span aria-hidden="true">{mark}</span>" "{word}<span class="tile-ref">" · "<bdi dir="ltr">{t.git_ref}</bdi></span>
            </p>
            {(!t.stages.is_empty()).then(|| view! { <StageMarks stages=t.stages /> })}
            {detail}
            {(!t.environments.is_empty()).then(|| view! {
                <ul class="tile-envs" aria-label="environments">
                    {t.environments.into_iter().map(environment).collect_view()}
                </ul>
            })}
            </div>
        </li>
    }
}

/// An environment on the strip: its name, what runs there and whether it is well, and a
/// waiting deploy.
fn environment(e: TileEnvironment) -> impl IntoView {
    let (class, mark, state) = match (e.health, &e.status) {
        (Some(h), _) => {
            let (mark, word) = match h {
                HealthStatus::Healthy => ("✓", "healthy"),
                HealthStatus::Progressing => ("◷", "progressing"),
                HealthStatus::Suspended => ("⏸", "suspended"),
                HealthStatus::Missing => ("?", "missing"),
                HealthStatus::Degraded => ("✕", "degraded"),
                HealthStatus::Unknown => ("•", "unknown"),
            };
            (format!("env health-{word}"), mark, word.to_owned())
        }
        (None, Some(s)) => (format!("env status-{}", s.as_str()), symbol(s), s.label().to_owned()),
        (None, None) => ("env".to_owned(), "–", "nothing deployed".to_owned()),
    };
    view! {
        <li class=class>
            <span class="env-name">{e.name}" "<span aria-hidden="true">{mark}</span><span class="sr-only">{state}</span></span>
            <span class="env-ref">{e.deployed}</span>
            {e.waiting.map(|job| view! { <span class="env-wait">"◷ "{job}" waits"</span> })}
        </li>
    }
}
