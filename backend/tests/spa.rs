//! The embedded single-page app: deep links get index.html, assets go out precompressed with
//! cache headers. Needs the front end built first (`trunk build --release`; scripts/test does).

mod common;

use common::TestApp;

async fn raw(app: &TestApp, path: &str, headers: &[(&str, &str)]) -> reqwest::Response {
    // No transparent decompression: the test looks at what goes over the wire.
    let mut request = reqwest::Client::builder()
        .build()
        .unwrap()
        .get(format!("{}{path}", app.base));
    for (k, v) in headers {
        request = request.header(*k, *v);
    }
    request.send().await.unwrap()
}

#[tokio::test]
async fn deep_links_get_the_app_and_assets_go_out_precompressed() {
    let app = TestApp::start().await;
    let index = raw(&app, "/", &[]).await;
    assert_eq!(index.status(), 200);
    assert_eq!(index.headers()["cache-control"], "no-cache");
    assert!(
        index.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/html")
    );
    let html = index.text().await.unwrap();
    assert!(
        html.contains("_bg.wasm"),
        "the front end is not built into dist/: run `trunk build --release`\n{html}"
    );

    let deep = raw(&app, "/projects/1/pipelines/5", &[]).await;
    assert_eq!(deep.status(), 200);
    assert_eq!(deep.text().await.unwrap(), html);

    // Minified HTML quotes attributes only where needed: split on any delimiter.
    let wasm = html
        .split(['"', '\'', ' ', '='])
        .find(|s| s.ends_with("_bg.wasm"))
        .unwrap()
        .trim_start_matches('/')
        .to_owned();
    let plain = raw(&app, &format!("/{wasm}"), &[]).await;
    assert_eq!(plain.headers()["content-type"], "application/wasm");
    assert!(plain.headers().get("content-encoding").is_none());
    let plain_len = plain.bytes().await.unwrap().len();

    let br = raw(&app, &format!("/{wasm}"), &[("accept-encoding", "gzip, deflate, br")]).await;
    assert_eq!(br.headers()["content-encoding"], "br");
    assert_eq!(br.headers()["cache-control"], "public, max-age=31536000, immutable");
    assert_eq!(br.headers()["vary"], "accept-encoding");
    let etag = br.headers()["etag"].to_str().unwrap().to_owned();
    assert!(br.bytes().await.unwrap().len() < plain_len / 2);

    let gz = raw(&app, &format!("/{wasm}"), &[("accept-encoding", "gzip")]).await;
    assert_eq!(gz.headers()["content-encoding"], "gzip");

    let cached = raw(&app, &format!("/{wasm}"), &[("if-none-match", &etag)]).await;
    assert_eq!(cached.status(), 304);

    assert_eq!(raw(&app, "/missing-0123456789abcdef.js", &[]).await.status(), 404);
}

#[tokio::test]
async fn each_page_gets_the_bundle_that_shows_it() {
    let app = TestApp::start().await;
    let bundle_of = |html: &str| {
        ["/log/", "/admin/"]
            .into_iter()
            .find(|dir| html.contains(&format!("{dir}stageboard-")))
            .unwrap_or("/")
    };
    for (page, bundle) in [
        ("/", "/"),
        ("/projects/1/pipelines/5", "/"),
        ("/environments", "/"),
        ("/projects/1/jobs/5", "/log/"),
        ("/audit?outcome=refused", "/admin/"),
    ] {
        let answer = raw(&app, page, &[]).await;
        assert_eq!(answer.status(), 200, "{page}");
        assert_eq!(bundle_of(&answer.text().await.unwrap()), bundle, "{page}");
    }
    // A bundle's page comes only by its routes: its file would load it where it shows nothing.
    for file in ["/log/index.html", "/admin/index.html"] {
        assert_eq!(raw(&app, file, &[]).await.status(), 404, "{file}");
    }
}
