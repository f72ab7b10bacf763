//! The single-page app, embedded in the binary from Trunk's `dist/` so the server runs from any
//! working directory. Trunk's post-build hook leaves `.br` and `.gz` copies beside each asset;
//! they are served to browsers that accept them. Deep links get the `index.html` of the bundle
//! that shows them (`stageboard_protocol::Bundle`: the team app, the log viewer, the admin
//! pages), so that each page downloads only its own (scripts/build-frontend).

use axum::body::Body;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode, Uri, header};
use axum::response::{Html, IntoResponse, Redirect, Response};

use crate::app::AppState;

use crate::error::AppError;

#[derive(rust_embed::Embed)]
#[folder = "../dist"]
#[allow_missing = true]
struct Assets;

const NOT_BUILT: &str = "<!doctype html><title>stageboard</title><h1>The web UI is not built into this binary</h1>\
<p>Build it with <code>trunk build --release</code> at the repository root (<code>scripts/demo</code> does this), \
then rebuild stageboard. The API under <a href=\"/api/v1/openapi.json\">/api/v1</a> works without it.</p>";

/// Each bundle's page, as embedded.
const PAGES: [&str; 4] = ["index.html", "log/index.html", "admin/index.html", "wall/index.html"];

/// This build of the server and its app: the version and a digest of the embedded pages, which
/// name every asset by its content's hash. A wall screen that sees it change loads itself again.
pub fn build() -> &'static str {
    static BUILD: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    BUILD.get_or_init(|| {
        let mut pages = ring::digest::Context::new(&ring::digest::SHA256);
        for page in PAGES.into_iter().filter_map(Assets::get) {
            pages.update(&page.data);
        }
        let digest = pages.finish();
        let short: String = digest.as_ref()[..4].iter().map(|b| format!("{b:02x}")).collect();
        format!("{}+{short}", env!("CARGO_PKG_VERSION"))
    })
}

/// The inline scripts of the embedded pages (Trunk writes one in each, which starts its app), as
/// the Content-Security-Policy must hash them.
pub fn inline_scripts() -> Vec<String> {
    PAGES
        .into_iter()
        .filter_map(Assets::get)
        .flat_map(|page| scripts_of(&String::from_utf8_lossy(&page.data)))
        .collect()
}

fn scripts_of(html: &str) -> Vec<String> {
    let mut scripts = Vec::new();
    let mut rest = html;
    while let Some(start) = rest.find("<script") {
        rest = &rest[start..];
        let Some(open_end) = rest.find('>') else { break };
        let tag = &rest[..open_end];
        let body = &rest[open_end + 1..];
        let Some(close) = body.find("</script>") else { break };
        if !tag.contains("src=") {
            scripts.push(body[..close].to_owned());
        }
        rest = &body[close..];
    }
    scripts
}

pub async fn serve(
    State(state): State<AppState>,
    session: tower_sessions::Session,
    crate::client::ClientAddr(from): crate::client::ClientAddr,
    uri: Uri,
    headers: HeaderMap,
) -> Response {
    let path = uri.path().trim_start_matches('/');
    if path == "api" || path.starts_with("api/") {
        return AppError::not_found(format!(
            "There is no API route {}; see /api/v1/openapi.json.",
            uri.path()
        ))
        .into_response();
    }
    let path = if path.is_empty() { "index.html" } else { path };
    // A bundle's page comes by its routes, never by its file (`/log/index.html` would load the
    // log viewer at an address no bundle shows, and it would load itself again and again).
    if path.ends_with("index.html") && path != "index.html" {
        return (StatusCode::NOT_FOUND, "no such file\n").into_response();
    }
    // Where reads need a sign-in, a page sends the visitor to GitLab's first, and back here
    // after. The app's code (wasm, scripts, styles) is no secret and is served to anyone.
    let is_file = path.rsplit('/').next().is_some_and(|name| name.contains('.'));
    let page = !is_file || path.ends_with("index.html");
    let wall = page && stageboard_protocol::Bundle::of(uri.path()) == stageboard_protocol::Bundle::Wall;
    // A kiosk address: its token becomes this browser's kiosk session, and leaves the address.
    if let Some(token) = wall.then(|| kiosk_token(uri.query())).flatten() {
        let board = uri.path().trim_matches('/').strip_prefix("wall/").unwrap_or_default();
        return match crate::kiosk::exchange(&state, &session, board, &token, from.map(|a| a.to_string())).await {
            Ok(()) => Redirect::to(&without_kiosk(&uri)).into_response(),
            Err(e) => refused_page(&e),
        };
    }
    // A kiosk screen needs no sign-in for its wall; its reads say if its token was revoked.
    if page
        && state.access() == crate::access::Access::Login
        && !(wall && crate::kiosk::is_kiosk(&session).await)
        && crate::auth::signed_in(&state, &session).await.is_none()
    {
        let here = uri.path_and_query().map_or("/", |p| p.as_str());
        let back: String = url::form_urlencoded::byte_serialize(here.as_bytes()).collect();
        return Redirect::to(&format!("/auth/login?return_to={back}")).into_response();
    }
    if let Some(response) = asset(path, &headers) {
        return if page {
            with_first_reads(response, uri.path())
        } else {
            response
        };
    }
    if is_file {
        return (StatusCode::NOT_FOUND, "no such file\n").into_response();
    }
    // A route of an app (/projects/1/pipelines/5): the app itself reads the URL.
    let page = format!("{}index.html", stageboard_protocol::Bundle::of(uri.path()).dir());
    asset(&page, &headers).map_or_else(|| Html(NOT_BUILT).into_response(), |r| with_first_reads(r, uri.path()))
}

/// A page's answer, with the API reads its app makes first named for preloading, so the browser
/// fetches them while it downloads the app. `crossorigin` makes them the same-origin, CORS-mode
/// requests the app's `fetch` makes, which then take the preloaded answers.
fn with_first_reads(mut response: Response, path: &str) -> Response {
    let links: Vec<String> = stageboard_protocol::reads::first_reads(path)
        .iter()
        .map(|read| format!("<{read}>; rel=preload; as=fetch; crossorigin"))
        .collect();
    if let Ok(value) = HeaderValue::from_str(&links.join(", "))
        && !links.is_empty()
    {
        response.headers_mut().insert(header::LINK, value);
    }
    response
}

/// The `kiosk` parameter of a wall's address.
fn kiosk_token(query: Option<&str>) -> Option<String> {
    url::form_urlencoded::parse(query?.as_bytes())
        .find(|(name, _)| name == "kiosk")
        .map(|(_, token)| token.into_owned())
}

/// The address without its `kiosk` parameter (the others stay: they lay the wall out).
fn without_kiosk(uri: &Uri) -> String {
    let rest: Vec<(String, String)> = url::form_urlencoded::parse(uri.query().unwrap_or_default().as_bytes())
        .filter(|(name, _)| name != "kiosk")
        .map(|(n, v)| (n.into_owned(), v.into_owned()))
        .collect();
    // A path of this origin: `//host/…` would leave it.
    let path = format!("/{}", uri.path().trim_start_matches('/'));
    if rest.is_empty() {
        return path;
    }
    let query: String = url::form_urlencoded::Serializer::new(String::new())
        .extend_pairs(rest)
        .finish();
    format!("{path}?{query}")
}

/// A page saying why a kiosk address was refused, for the person setting up the screen.
fn refused_page(e: &AppError) -> Response {
    let message: String = e
        .message()
        .chars()
        .map(|c| match c {
            '<' => "&lt;".to_owned(),
            '>' => "&gt;".to_owned(),
            '&' => "&amp;".to_owned(),
            '"' => "&quot;".to_owned(),
            c => c.to_string(),
        })
        .collect();
    let page = format!(
        "<!doctype html><html lang=\"en\"><meta charset=\"utf-8\"><title>stageboard</title><h1>This kiosk address does not open</h1><p>{message}</p></html>"
    );
    (e.status(), Html(page)).into_response()
}

fn asset(path: &str, headers: &HeaderMap) -> Option<Response> {
    let file = Assets::get(path)?;
    let etag = format!(
        "\"{}\"",
        file.metadata
            .sha256_hash()
            .iter()
            .take(12)
            .map(|b| format!("{b:02x}"))
            .collect::<String>()
    );
    let cache = if path.ends_with("index.html") {
        "no-cache"
    } else if is_fingerprinted(path) {
        "public, max-age=31536000, immutable"
    } else {
        "public, max-age=3600"
    };
    let mut response = if headers.get(header::IF_NONE_MATCH).and_then(|v| v.to_str().ok()) == Some(etag.as_str()) {
        StatusCode::NOT_MODIFIED.into_response()
    } else {
        let (body, encoding) = ["br", "gzip"]
            .into_iter()
            .find(|enc| accepts(headers, enc))
            .and_then(|enc| {
                let suffix = if enc == "br" { "br" } else { "gz" };
                Assets::get(&format!("{path}.{suffix}")).map(|f| (f.data, Some(enc)))
            })
            .unwrap_or((file.data, None));
        let mut response = Response::new(Body::from(body.into_owned()));
        if let Some(enc) = encoding {
            response
                .headers_mut()
                .insert(header::CONTENT_ENCODING, HeaderValue::from_static(enc));
        }
        let mime = HeaderValue::from_str(file.metadata.mimetype())
            .unwrap_or(HeaderValue::from_static("application/octet-stream"));
        response.headers_mut().insert(header::CONTENT_TYPE, mime);
        response
    };
    let h = response.headers_mut();
    h.insert(header::ETAG, HeaderValue::from_str(&etag).expect("hex etag"));
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static(cache));
    h.insert(header::VARY, HeaderValue::from_static("accept-encoding"));
    Some(response)
}

/// Trunk names assets `name-<hash>.ext`, the hash a u64 in hex without leading zeros (so
/// usually 16 digits, sometimes fewer); such a file never changes.
fn is_fingerprinted(path: &str) -> bool {
    let name = path.rsplit('/').next().unwrap_or(path);
    let stem = name.split('.').next().unwrap_or(name);
    let stem = stem.strip_suffix("_bg").unwrap_or(stem);
    stem.rsplit_once('-')
        .is_some_and(|(_, hash)| (12..=16).contains(&hash.len()) && hash.chars().all(|c| c.is_ascii_hexdigit()))
}

fn accepts(headers: &HeaderMap, encoding: &str) -> bool {
    headers
        .get_all(header::ACCEPT_ENCODING)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .any(|item| {
            let mut parts = item.split(';');
            let name = parts.next().unwrap_or("").trim();
            let q_zero = parts.any(|p| matches!(p.trim(), "q=0" | "q=0.0" | "q=0.00" | "q=0.000"));
            name.eq_ignore_ascii_case(encoding) && !q_zero
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_kiosk_token_leaves_the_address_and_the_rest_stays() {
        let uri: Uri = "/wall/lobby?kiosk=sbk_abc&hide_green=1".parse().unwrap();
        assert_eq!(kiosk_token(uri.query()).as_deref(), Some("sbk_abc"));
        assert_eq!(without_kiosk(&uri), "/wall/lobby?hide_green=1");
        let only: Uri = "/wall/lobby?kiosk=sbk_abc".parse().unwrap();
        assert_eq!(without_kiosk(&only), "/wall/lobby");
        let sneaky: Uri = "//evil.example/wall/x?kiosk=1"
            .parse()
            .unwrap_or_else(|_| "/x".parse().unwrap());
        assert!(without_kiosk(&sneaky).starts_with('/') && !without_kiosk(&sneaky).starts_with("//"));
        assert_eq!(kiosk_token(None), None);
    }

    #[test]
    fn fingerprinted_names_are_recognised() {
        assert!(is_fingerprinted("stageboard-frontend-1a2b3c4d5e6f7a8b.js"));
        assert!(is_fingerprinted("stageboard-frontend-1a2b3c4d5e6f7a8b_bg.wasm"));
        assert!(is_fingerprinted("style-0011223344556677.css"));
        // Trunk drops leading zeros: a hash can be shorter than 16 digits.
        assert!(is_fingerprinted("stageboard-frontend-ac79cb293424df3.js"));
        assert!(is_fingerprinted("admin/stageboard-admin-1a2b3c4d5e6f7a8b_bg.wasm"));
        assert!(!is_fingerprinted("index.html"));
        assert!(!is_fingerprinted("favicon.svg"));
    }

    #[test]
    fn accept_encoding_honours_q_zero() {
        let mut h = HeaderMap::new();
        h.insert(
            header::ACCEPT_ENCODING,
            HeaderValue::from_static("gzip, deflate, br;q=0"),
        );
        assert!(accepts(&h, "gzip"));
        assert!(!accepts(&h, "br"));
    }
}
