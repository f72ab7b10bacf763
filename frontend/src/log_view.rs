//! The job log viewer: the whole log, parsed by `stageboard-joblog`, with only the rows on screen
//! in the DOM, so a 4 MB log opens and scrolls smoothly. Log text is always text nodes.

use std::time::Duration;

use leptos::ev;
use leptos::html::{Div, Input};
use leptos::prelude::*;
use leptos::task::spawn_local;
use stageboard_joblog::{Color, Line, Parser, Style};
use stageboard_protocol::ServerEvent;

use crate::api;

/// Every row has one height (px), which makes virtual scrolling arithmetic: 20 px, or 24 px
/// where the pointer is a finger, so each line number is a link a finger can hit (WCAG 2.5.8).
fn row_height() -> usize {
    let coarse = web_sys::window()
        .and_then(|w| w.match_media("(pointer: coarse)").ok().flatten())
        .is_some_and(|m| m.matches());
    if coarse { 24 } else { 20 }
}
/// Rows rendered beyond the visible ones, above and below.
const OVERSCAN: usize = 30;

fn css_colour(c: Color) -> Option<String> {
    match c {
        Color::Ansi(_) => None,
        Color::Indexed(n) if n < 16 => None,
        Color::Indexed(n) if n < 232 => {
            let n = n - 16;
            let level = |v: u8| if v == 0 { 0 } else { 55 + v as u16 * 40 };
            Some(format!("rgb({},{},{})", level(n / 36), level(n / 6 % 6), level(n % 6)))
        }
        Color::Indexed(n) => {
            let v = 8 + (n as u16 - 232) * 10;
            Some(format!("rgb({v},{v},{v})"))
        }
        Color::Rgb(r, g, b) => Some(format!("rgb({r},{g},{b})")),
    }
}

fn span_class(style: &Style) -> String {
    let mut class = String::new();
    let palette = |c: Option<Color>| match c {
        Some(Color::Ansi(n)) => Some(n),
        Some(Color::Indexed(n)) if n < 16 => Some(n),
        _ => None,
    };
    if let Some(n) = palette(style.fg) {
        class.push_str(&format!("fg-{n} "));
    }
    if let Some(n) = palette(style.bg) {
        class.push_str(&format!("bg-{n} "));
    }
    if style.bold {
        class.push_str("bold ");
    }
    if style.italic {
        class.push_str("italic ");
    }
    if style.underline {
        class.push_str("underline");
    }
    class
}

fn span_style(style: &Style) -> String {
    let mut css = String::new();
    if let Some(c) = style.fg.and_then(css_colour) {
        css.push_str(&format!("color:{c};"));
    }
    if let Some(c) = style.bg.and_then(css_colour) {
        css.push_str(&format!("background:{c};"));
    }
    css
}

fn hash_line() -> Option<usize> {
    let hash = web_sys::window()?.location().hash().ok()?;
    hash.strip_prefix("#L")?.parse().ok()
}

fn typing_in_a_field(e: &web_sys::KeyboardEvent) -> bool {
    use wasm_bindgen::JsCast;
    e.target()
        .and_then(|t| t.dyn_into::<web_sys::Element>().ok())
        .is_some_and(|el| matches!(el.tag_name().as_str(), "INPUT" | "TEXTAREA" | "SELECT"))
}

#[component]
pub fn LogView(project: u64, job: u64) -> impl IntoView {
    let row_px = row_height();
    let row_size = row_px as f64;
    let parser = StoredValue::new(Parser::new());
    let offset = StoredValue::new(0u64);
    let version = RwSignal::new(0u32);
    let complete = RwSignal::new(false);
    let loaded = RwSignal::new(false);
    let settled = StoredValue::new(false);
    let error: RwSignal<Option<String>> = RwSignal::new(None);
    let collapsed: RwSignal<Vec<bool>> = RwSignal::new(Vec::new());
    let follow = RwSignal::new(true);
    let show_timestamps = RwSignal::new(false);
    let highlighted: RwSignal<Option<usize>> = RwSignal::new(None);
    let scroll_top = RwSignal::new(0.0f64);
    let viewport = RwSignal::new(600.0f64);
    let query = RwSignal::new(String::new());
    let current_match = RwSignal::new(0usize);
    let container = NodeRef::<Div>::new();
    let search_box = NodeRef::<Input>::new();
    let busy = StoredValue::new(false);

    let visible = Memo::new(move |_| {
        version.track();
        collapsed.with(|c| parser.with_value(|p| p.log().visible_lines(c)))
    });
    let matches = Memo::new(move |_| {
        version.track();
        let q = query.get().to_ascii_lowercase();
        if q.is_empty() {
            return Vec::new();
        }
        parser.with_value(|p| {
            p.log()
                .lines
                .iter()
                .enumerate()
                .filter(|(_, l)| l.text().to_ascii_lowercase().contains(&q))
                .map(|(i, _)| i)
                .collect::<Vec<_>>()
        })
    });
    let has_timestamps = Memo::new(move |_| {
        version.track();
        parser.with_value(|p| p.log().timestamps)
    });

    let scroll_to_row = move |row: usize, centre: bool| {
        if let Some(el) = container.get_untracked() {
            let height = el.client_height() as f64;
            let top = row as f64 * row_size - if centre { height / 3.0 } else { 0.0 };
            el.set_scroll_top(top.max(0.0) as i32);
            scroll_top.set(el.scroll_top() as f64);
        }
    };
    let scroll_to_bottom = move || {
        if let Some(el) = container.get_untracked() {
            el.set_scroll_top(el.scroll_height());
            scroll_top.set(el.scroll_top() as f64);
        }
    };
    // Opens the sections around a line, then brings it into view and marks it.
    let reveal = move |index: usize| {
        let enclosing = parser.with_value(|p| {
            if index < p.log().lines.len() {
                p.log().enclosing_sections(index)
            } else {
                vec![]
            }
        });
        collapsed.update(|c| {
            for s in enclosing {
                if let Some(flag) = c.get_mut(s) {
                    *flag = false;
                }
            }
        });
        highlighted.set(Some(index));
        follow.set(false);
        let row = visible.with_untracked(|v| v.binary_search(&index).unwrap_or_else(|i| i));
        request_animation_frame(move || scroll_to_row(row, true));
    };

    // Takes in the log's bytes from `next_offset - content.len()` on, however they came;
    // `more`: further pages of it are on their way (a long log read from the start).
    let apply = move |content: &str, next_offset: u64, done: bool, more: bool| {
        parser.try_update_value(|p| {
            p.feed(content.as_bytes());
            if done {
                p.flush();
            }
        });
        offset.try_set_value(next_offset);
        let sections = parser
            .try_with_value(|p| p.log().default_collapsed())
            .unwrap_or_default();
        let _ = collapsed.try_update(|c| {
            let known = c.len();
            c.extend_from_slice(sections.get(known..).unwrap_or(&[]));
        });
        // The first read is over with its last page: then the view jumps to a linked line, or
        // follows a running job's end.
        let first_load = !settled.get_value();
        if !more {
            settled.set_value(true);
        }
        let _ = complete.try_set(done);
        let _ = loaded.try_set(true);
        let _ = version.try_update(|v| *v += 1);
        if !more {
            if first_load && let Some(n) = hash_line() {
                request_animation_frame(move || reveal(n.saturating_sub(1)));
            } else if (follow.get_untracked() || first_load) && !done {
                // A running job: follow its end.
                request_animation_frame(scroll_to_bottom);
            }
        }
    };
    let fetch_more = move || {
        if busy.get_value() || complete.get_untracked() {
            return;
        }
        busy.set_value(true);
        let from = offset.get_value();
        spawn_local(async move {
            // A long log comes in pages: each is shown as it comes.
            let mut from = from;
            loop {
                match api::job_log(project, job, from).await {
                    Ok(log) => {
                        let _ = error.try_set(None);
                        apply(&log.content, log.next_offset, log.complete, log.more);
                        if !log.more {
                            break;
                        }
                        from = log.next_offset;
                    }
                    Err(e) => {
                        let _ = error.try_set(Some(e.message));
                        break;
                    }
                }
            }
            busy.try_set_value(false);
        });
    };
    fetch_more();
    // A running log's new bytes arrive as events; anything out of step is read through the API.
    crate::events::listen(format!("log:{project}:{job}"), move |event| match event {
        ServerEvent::Log {
            offset: at,
            content,
            complete,
            ..
        } => {
            let end = at + content.len() as u64;
            if *at == offset.get_value() && !busy.get_value() {
                apply(content, end, *complete, false);
            } else if end > offset.get_value() {
                fetch_more();
            }
        }
        // A reset: whatever was missed is read through the API.
        _ => fetch_more(),
    });
    if let Ok(handle) = set_interval_with_handle(fetch_more, Duration::from_secs(15)) {
        on_cleanup(move || handle.clear());
    }

    let go_to_match = move |step: isize| {
        let found = matches.get_untracked();
        if found.is_empty() {
            return;
        }
        let n = found.len() as isize;
        let next = (current_match.get_untracked() as isize + step).rem_euclid(n) as usize;
        current_match.set(next);
        reveal(found[next]);
    };
    let first_error = move || {
        if let Some(i) = parser.with_value(|p| p.log().first_error()) {
            reveal(i);
        }
    };
    let keys = window_event_listener(ev::keydown, move |e| {
        if typing_in_a_field(&e) || e.ctrl_key() || e.meta_key() || e.alt_key() {
            return;
        }
        match e.key().as_str() {
            "/" => {
                e.prevent_default();
                if let Some(input) = search_box.get_untracked() {
                    let _ = input.focus();
                }
            }
            "n" => go_to_match(1),
            "N" => go_to_match(-1),
            "e" => first_error(),
            "f" => {
                follow.set(true);
                scroll_to_bottom();
            }
            "t" => show_timestamps.update(|t| *t = !*t),
            "G" | "End" => {
                e.prevent_default();
                scroll_to_bottom();
            }
            _ => {}
        }
    });
    on_cleanup(move || keys.remove());

    let on_scroll = move |_| {
        if let Some(el) = container.get_untracked() {
            let top = el.scroll_top() as f64;
            let height = el.client_height() as f64;
            let at_bottom = top + height >= el.scroll_height() as f64 - 2.0 * row_size;
            if top < scroll_top.get_untracked() && !at_bottom {
                follow.set(false);
            } else if at_bottom && !complete.get_untracked() {
                follow.set(true);
            }
            viewport.set(height);
            scroll_top.set(top);
        }
    };

    let rows = move || {
        version.track();
        let visible = visible.get();
        let first = ((scroll_top.get() / row_size) as usize).saturating_sub(OVERSCAN);
        let count = (viewport.get() / row_size) as usize + 2 * OVERSCAN;
        let last = (first + count).min(visible.len());
        let show_ts = show_timestamps.get();
        let marked = highlighted.get();
        let hits = matches.get();
        let current_hit = hits.get(current_match.get()).copied();
        let collapsed_now = collapsed.get();
        parser.with_value(|p| {
            let log = p.log();
            visible[first.min(last)..last]
                .iter()
                .enumerate()
                .map(|(k, &index)| {
                    let line: &Line = &log.lines[index];
                    let row = first + k;
                    let section = line.header_of.map(|s| (s, collapsed_now.get(s).copied().unwrap_or(false), log.sections[s].duration()));
                    let mut class = String::from("log-line");
                    if marked == Some(index) {
                        class.push_str(" highlight");
                    }
                    if current_hit == Some(index) {
                        class.push_str(" current-match");
                    } else if hits.binary_search(&index).is_ok() {
                        class.push_str(" match");
                    }
                    if line.is_error() {
                        class.push_str(" error-line");
                    }
                    if section.is_some() {
                        class.push_str(" section-header");
                    }
                    let depth = line.section.map(|s| log.sections[s].depth + usize::from(line.header_of.is_none())).unwrap_or(0);
                    let number = line.number;
                    let spans = line.spans.iter().map(|s| {
                        let class = span_class(&s.style);
                        let style = span_style(&s.style);
                        view! { <span class=class style=style>{s.text.clone()}</span> }
                    }).collect_view();
                    let timestamp = (show_ts).then(|| line.timestamp.clone()).flatten();
                    view! {
                        <div class=class style=format!("top:{}px", row * row_px) id=format!("L{number}")>
                            <a class="ln" href=format!("#L{number}") on:click=move |e| {
                                e.prevent_default();
                                if let Some(w) = web_sys::window() {
                                    let _ = w.history().and_then(|h| h.replace_state_with_url(&wasm_bindgen::JsValue::NULL, "", Some(&format!("#L{number}"))));
                                }
                                highlighted.set(Some(number - 1));
                            }>{number}</a>
                            {section.clone().map(|(s, closed, _)| view! {
                                <button class="toggle" aria-expanded=(!closed).to_string()
                                    aria-label=if closed { "expand section" } else { "collapse section" }
                                    on:click=move |_| collapsed.update(|c| if let Some(f) = c.get_mut(s) { *f = !*f })>
                                    {if closed { "▸" } else { "▾" }}
                                </button>
                            })}
                            {timestamp.map(|t| view! { <span class="ts">{t}</span> })}
                            <span class="text" style=format!("padding-left:{}ch", depth * 2)>{spans}</span>
                            {section.and_then(|(_, _, d)| d).map(|d| view! { <span class="section-duration">{d}</span> })}
                        </div>
                    }
                })
                .collect_view()
        })
    };

    view! {
        <div class="log-toolbar" role="toolbar" aria-label="log tools">
            <label class="search">
                <span class="sr-only">"Search the log"</span>
                <input type="search" node_ref=search_box placeholder="Search the log  ( / )"
                    prop:value=move || query.get()
                    on:input=move |e| { query.set(event_target_value(&e)); current_match.set(0); }
                    on:keydown=move |e: web_sys::KeyboardEvent| if e.key() == "Enter" { go_to_match(if e.shift_key() { -1 } else { 1 }) } />
            </label>
            <span class="match-count" role="status">{move || {
                let n = matches.get().len();
                if query.get().is_empty() { String::new() } else if n == 0 { "no matches".into() } else { format!("{} of {n}", current_match.get().min(n - 1) + 1) }
            }}</span>
            <button class="button" on:click=move |_| go_to_match(-1) title="previous match (N)">"↑"</button>
            <button class="button" on:click=move |_| go_to_match(1) title="next match (n)">"↓"</button>
            <button class="button jump-error" on:click=move |_| first_error() title="first error (e)">"First error"</button>
            <button class="button jump-end" on:click=move |_| scroll_to_bottom() title="end of the log (G)">"End"</button>
            <Show when=move || has_timestamps.get()>
                <label class="check"><input type="checkbox" prop:checked=move || show_timestamps.get() on:change=move |_| show_timestamps.update(|t| *t = !*t) />" Timestamps"</label>
            </Show>
            <Show when=move || !complete.get() && loaded.get()>
                <button class="button" aria-pressed=move || follow.get().to_string() on:click=move |_| { follow.set(true); scroll_to_bottom(); } title="follow the log (f)">
                    {move || if follow.get() { "Following" } else { "Follow" }}
                </button>
            </Show>
            <button class="button" on:click=move |_| collapsed.update(|c| c.iter_mut().for_each(|f| *f = false))>"Expand all"</button>
        </div>
        {move || error.get().map(|e| view! { <p class="error" role="alert">{e}</p> })}
        <div class="log" node_ref=container on:scroll=on_scroll tabindex="0" aria-label="job log" style=format!("--row:{row_px}px")>
            // Inside the log's box, over its first line: the log does not move when they go.
            <Show when=move || loaded.get() fallback=|| view! { <p class="log-note" role="status">"Loading the log…"</p> }>
                {move || (visible.get().is_empty()).then(|| view! { <p class="log-note">"The log is empty: the job has not written anything yet."</p> })}
            </Show>
            <div class="log-inner" style=move || format!("height:{}px", visible.get().len() * row_px)>
                {rows}
            </div>
        </div>
    }
    .into_any()
}
