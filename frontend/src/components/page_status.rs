//! The tab shows what the page shows: its title and favicon follow the status on screen.

use stageboard_protocol::Status;

use super::status_icon::symbol;

fn colour(status: &Status) -> &'static str {
    match status {
        Status::Success => "#108548",
        Status::Failed => "#dd2b0e",
        Status::Running => "#1f75cb",
        Status::Canceled | Status::Skipped | Status::Canceling => "#737278",
        _ => "#ab6100",
    }
}

/// Sets `document.title` (with the status symbol first) and a favicon in the status's colour.
pub fn show(title: &str, status: Option<&Status>) {
    let Some(document) = web_sys::window().and_then(|w| w.document()) else {
        return;
    };
    let text = match status {
        Some(s) => format!("{} {title} · stageboard", symbol(s)),
        None => format!("{title} · stageboard"),
    };
    document.set_title(&text);
    let fill = status.map(colour).unwrap_or("#1f75cb");
    let svg = format!(
        "<svg xmlns='http://www.w3.org/2000/svg' viewBox='0 0 32 32'><circle cx='16' cy='16' r='15' fill='{fill}'/></svg>"
    );
    let href = format!("data:image/svg+xml,{}", js_sys::encode_uri_component(&svg));
    if let Ok(Some(link)) = document.query_selector("link[rel~='icon']") {
        let _ = link.set_attribute("href", &href);
    }
}
