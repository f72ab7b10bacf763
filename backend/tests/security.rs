//! What stageboard does with its GitLab token when something tries to take it elsewhere.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use axum::Router;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::IntoResponse;
use secrecy::SecretString;
use stageboard::error::AppError;
use stageboard::gitlab::{ClientOptions, GitlabClient, GitlabError};
use url::Url;

mod common;

const CANARY: &str = "glpat-canary-7f3a9c1e5b";

async fn serve(app: Router) -> u16 {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    tokio::spawn(async move { axum::serve(listener, app).await });
    port
}

/// The real GitLab client, holding the canary token, for a GitLab on this port.
fn client_of(port: u16) -> GitlabClient {
    GitlabClient::new(
        Url::parse(&format!("http://127.0.0.1:{port}")).unwrap(),
        SecretString::from(CANARY),
        ClientOptions::default(),
    )
    .unwrap()
}

/// A GitLab whose every answer redirects to another port; that port counts the requests it
/// gets, and those that carry the token.
#[tokio::test]
async fn a_redirect_to_another_port_never_carries_the_token_there() {
    let (seen, with_token) = (Arc::new(AtomicUsize::new(0)), Arc::new(AtomicUsize::new(0)));
    let elsewhere = {
        let (seen, with_token) = (seen.clone(), with_token.clone());
        Router::new().fallback(move |headers: HeaderMap| {
            let (seen, with_token) = (seen.clone(), with_token.clone());
            async move {
                seen.fetch_add(1, Ordering::SeqCst);
                let carried = headers
                    .values()
                    .any(|v| v.as_bytes().windows(CANARY.len()).any(|w| w == CANARY.as_bytes()));
                if carried {
                    with_token.fetch_add(1, Ordering::SeqCst);
                }
                "[]"
            }
        })
    };
    let other = serve(elsewhere).await;
    for status in [
        StatusCode::FOUND,
        StatusCode::MOVED_PERMANENTLY,
        StatusCode::TEMPORARY_REDIRECT,
        StatusCode::PERMANENT_REDIRECT,
    ] {
        let gitlab = serve(Router::new().fallback(move || async move {
            (
                status,
                [(
                    header::LOCATION,
                    format!("http://127.0.0.1:{other}/api/v4/projects?secret=x"),
                )],
            )
                .into_response()
        }))
        .await;
        let client = client_of(gitlab);
        let answer = client.get::<serde_json::Value>("/projects/1", &[]).await;
        let Err(error @ GitlabError::Redirected { .. }) = answer else {
            panic!("{status}: a redirect is an error, not followed: {answer:?}");
        };
        let told = AppError::from(error).message().to_owned();
        assert!(
            told.contains(&format!("http://127.0.0.1:{other}")) && told.contains("GITLAB_URL"),
            "says where it points and what to set: {told}"
        );
        assert!(!told.contains("secret=x") && !told.contains(CANARY), "{told}");
    }
    assert_eq!(seen.load(Ordering::SeqCst), 0, "the other port was never asked");
    assert_eq!(with_token.load(Ordering::SeqCst), 0);
}

/// Everything the log says while a test runs, to look for the token in.
#[derive(Clone, Default)]
struct Captured(Arc<std::sync::Mutex<Vec<u8>>>);

impl std::io::Write for Captured {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(bytes);
        Ok(bytes.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

fn capture_logs() -> Captured {
    let captured = Captured::default();
    let writer = captured.clone();
    tracing_subscriber::fmt()
        .with_max_level(tracing::Level::DEBUG)
        .with_ansi(false)
        .with_writer(move || writer.clone())
        .init();
    captured
}

/// Every answer of `app` to `paths`, headers and body, as text.
async fn answers(app: &common::TestApp, paths: &[String]) -> String {
    let mut all = String::new();
    for path in paths {
        let answer = app.get(path).await;
        all.push_str(&format!(
            "{path} {} {:?} {}\n",
            answer.status, answer.headers, answer.text
        ));
    }
    all
}

/// A distinctive token is never in an answer (body or header), a log line, a metric or an
/// error: over the API, with GitLab answering, failing in every way the simulator can, and
/// refusing the token.
#[tokio::test(flavor = "multi_thread")]
async fn a_canary_token_never_shows_in_answers_logs_or_metrics() {
    let logs = capture_logs();
    let app = common::TestApp::builder()
        .reads_only()
        .token(CANARY)
        .sim_accepts(CANARY)
        .start()
        .await;
    let list = app.json("/api/v1/projects/1/pipelines?per_page=5").await;
    let pipeline = list["pipelines"][0]["id"].as_u64().unwrap();
    let detail = app.json(&format!("/api/v1/projects/1/pipelines/{pipeline}")).await;
    let job = detail["stages"][0]["jobs"][0]["id"].as_u64().unwrap();
    let envs = app.json("/api/v1/projects/1/environments").await;
    let env = envs["environments"][0]["id"].as_u64().unwrap();
    let mut paths: Vec<String> = [
        "/api/v1/info",
        "/api/v1/overview",
        "/api/v1/projects",
        "/api/v1/environments",
        "/api/v1/openapi.json",
        "/api/v1/projects/1/pipelines?ref=main&status=failed",
        "/api/v1/projects/1/environments",
        "/api/v1/events?topics=nonsense",
        "/api/v1/projects/999/pipelines",
        "/api/v1/projects/x/pipelines",
        "/api/v1/projects/1/pipelines/999999999",
        "/api/v1/projects/1/jobs/999999999/log",
        "/health",
        "/nowhere",
    ]
    .map(String::from)
    .to_vec();
    paths.extend([
        format!("/api/v1/projects/1/pipelines/{pipeline}"),
        format!("/api/v1/projects/1/jobs/{job}"),
        format!("/api/v1/projects/1/jobs/{job}/log?offset=0"),
        format!("/api/v1/projects/1/jobs/{job}/raw"),
        format!("/api/v1/projects/1/environments/{env}"),
    ]);
    let mut seen = answers(&app, &paths).await;
    for action in [
        format!("/api/v1/projects/1/jobs/{job}/retry"),
        format!("/api/v1/projects/1/jobs/{job}/play"),
        format!("/api/v1/projects/1/pipelines/{pipeline}/cancel"),
        format!("/api/v1/projects/1/environments/{env}/stop"),
    ] {
        let answer = app.post(&action, "{}").await;
        seen.push_str(&format!(
            "{action} {} {:?} {}\n",
            answer.status, answer.headers, answer.text
        ));
    }
    for faults in [
        r#"{"status": 500}"#,
        r#"{"status": 502}"#,
        r#"{"truncate": true}"#,
        r#"{"no_graphql": true, "no_bridges": true}"#,
    ] {
        app.sim.sim.set_faults(serde_json::from_str(faults).unwrap());
        // New answers, not the cache's: the project changed.
        app.hub.changed(1, None);
        seen.push_str(&answers(&app, &paths).await);
    }
    app.sim.sim.set_faults(Default::default());
    seen.push_str(&app.get("/metrics").await.text);

    // A GitLab that refuses the token: every read is a 401.
    let refused = common::TestApp::builder().reads_only().token(CANARY).start().await;
    let refusals = answers(&refused, &paths).await;
    assert!(
        refusals.contains("GITLAB_TOKEN"),
        "the refusal is explained: {refusals}"
    );
    seen.push_str(&refusals);
    seen.push_str(&refused.get("/metrics").await.text);

    assert!(seen.len() > 10_000, "the answers were read");
    assert!(!seen.contains(CANARY), "the token is in an answer");
    let logs = String::from_utf8_lossy(&logs.0.lock().unwrap()).into_owned();
    assert!(logs.contains("GitLab"), "the log was captured: {} bytes", logs.len());
    assert!(!logs.contains(CANARY), "the token is in the log");
}

/// Every answer, whatever it is, carries the headers that confine the app in a browser.
#[tokio::test]
async fn every_answer_carries_the_security_headers() {
    let app = common::TestApp::start().await;
    for path in [
        "/",
        "/projects/1/pipelines",
        "/favicon.ico",
        "/api/v1/info",
        "/api/v1/projects/1/pipelines",
        "/api/v1/nowhere",
        "/api/v1/projects/x/pipelines",
        "/health",
        "/metrics",
    ] {
        let answer = app.get(path).await;
        let header = |name: &str| {
            answer
                .headers
                .get(name)
                .and_then(|v| v.to_str().ok())
                .unwrap_or_default()
                .to_owned()
        };
        let policy = header("content-security-policy");
        let scripts = policy
            .split(';')
            .find(|d| d.trim().starts_with("script-src"))
            .unwrap_or_default();
        assert!(
            policy.contains("default-src 'self'") && policy.contains("frame-ancestors 'none'"),
            "{path}: {policy}"
        );
        assert!(
            scripts.contains("'wasm-unsafe-eval'") && !scripts.contains("unsafe-inline"),
            "{path}: {scripts}"
        );
        assert_eq!(header("x-content-type-options"), "nosniff", "{path}");
        assert_eq!(header("x-frame-options"), "DENY", "{path}");
        assert_eq!(header("referrer-policy"), "no-referrer", "{path}");
        if path.starts_with("/api/") {
            assert_eq!(header("cache-control"), "no-store", "{path}");
        }
    }
}

/// DNS rebinding: a page on another site that points its own name at this server reaches it
/// with its name in `Host`, and is refused.
#[tokio::test]
async fn a_request_for_another_host_name_is_refused() {
    let app = common::TestApp::start().await;
    let port = app.base.rsplit(':').next().unwrap().to_owned();
    let with_host = |host: String| {
        let request = app.http.get(format!("{}/api/v1/info", app.base)).header("host", host);
        async move { request.send().await.unwrap() }
    };
    let rebound = with_host(format!("evil.example.com:{port}")).await;
    assert_eq!(rebound.status(), 421);
    let told = rebound.text().await.unwrap();
    assert!(told.contains("STAGEBOARD_ALLOWED_HOSTS"), "{told}");
    for host in [format!("localhost:{port}"), format!("127.0.0.1:{port}")] {
        assert_eq!(with_host(host.clone()).await.status(), 200, "{host}");
    }
    // Probes and scrapers come by the pod's address, whatever it is.
    for path in ["/health", "/metrics"] {
        let probe = app
            .http
            .get(format!("{}{path}", app.base))
            .header("host", format!("10.1.2.3:{port}"));
        assert_eq!(probe.send().await.unwrap().status(), 200, "{path}");
    }
}

/// Another site cannot make a browser act here, and an action says what it carries.
#[tokio::test]
async fn actions_need_json_from_this_server_s_own_pages() {
    let app = common::TestApp::start().await;
    let list = app.json("/api/v1/projects/1/pipelines?per_page=1").await;
    let pipeline = list["pipelines"][0]["id"].as_u64().unwrap();
    let url = format!("{}/api/v1/projects/1/pipelines/{pipeline}/retry", app.base);
    let post = |headers: &[(&str, &str)]| {
        let mut request = app.http.post(&url).body("{}");
        for (name, value) in headers {
            request = request.header(*name, *value);
        }
        async move {
            let response = request.send().await.unwrap();
            (response.status().as_u16(), response.text().await.unwrap())
        }
    };
    let (status, told) = post(&[("content-type", "text/plain")]).await;
    assert_eq!(status, 415, "{told}");
    assert!(told.contains("application/json"), "{told}");
    let json = ("content-type", "application/json");
    let (status, told) = post(&[json, ("sec-fetch-site", "cross-site")]).await;
    assert_eq!(status, 403, "{told}");
    assert!(told.contains("another site"), "{told}");
    assert_eq!(post(&[json, ("sec-fetch-site", "same-site")]).await.0, 403);
    assert_eq!(post(&[json, ("origin", "https://evil.example.com")]).await.0, 403);
    let own = app.base.clone();
    for headers in [
        vec![json, ("sec-fetch-site", "same-origin")],
        vec![json, ("origin", own.as_str())],
        vec![json],
    ] {
        let (status, told) = post(&headers).await;
        assert!(status != 403 && status != 415, "{headers:?}: {status} {told}");
    }
}

/// Webhooks: the secret is checked before a body is read, a body has a limit, and a delivery
/// repeated under any of its ids (Standard Webhooks' `webhook-id` too) is applied once.
#[tokio::test]
async fn webhooks_are_checked_before_their_body_and_repeats_are_known_by_any_id() {
    const SECRET: &str = "a-long-webhook-secret-for-tests";
    let app = common::TestApp::builder().webhooks(SECRET).start().await;
    let deliver = |token: &str, id: &str, body: Vec<u8>| {
        let request = app
            .http
            .post(format!("{}/hooks/gitlab", app.base))
            .header("x-gitlab-token", token)
            .header("x-gitlab-event", "Pipeline Hook")
            .header("webhook-id", id)
            .header("content-type", "application/json")
            .body(body);
        async move {
            let response = request.send().await.unwrap();
            (response.status().as_u16(), response.text().await.unwrap_or_default())
        }
    };
    let huge = vec![b' '; 3 << 20];
    assert_eq!(
        deliver("wrong", "a", huge.clone()).await.0,
        401,
        "no secret: refused unread"
    );
    assert_eq!(deliver(SECRET, "a", huge).await.0, 413);
    let hook = serde_json::to_vec(&serde_json::json!({
        "object_kind": "pipeline",
        "object_attributes": { "id": 7, "status": "running" },
        "project": { "id": 1 },
    }))
    .unwrap();
    let (first, _) = deliver(SECRET, "msg_2KWPBgLlAfxdpx2AI54pPJ85f4W", hook.clone()).await;
    let (again, told) = deliver(SECRET, "msg_2KWPBgLlAfxdpx2AI54pPJ85f4W", hook).await;
    assert_eq!(first, 202);
    assert_eq!(again, 200, "{told}");
    assert!(told.contains("already received"), "{told}");
}

/// With STAGEBOARD_METRICS_TOKEN set, the metrics are for whoever holds it.
#[tokio::test]
async fn metrics_can_be_kept_for_the_holder_of_a_token() {
    let app = common::TestApp::builder().metrics_token("scrape-me-4d2f").start().await;
    let read = |authorization: Option<&str>| {
        let mut request = app.http.get(format!("{}/metrics", app.base));
        if let Some(value) = authorization {
            request = request.header("authorization", value);
        }
        async move { request.send().await.unwrap().status().as_u16() }
    };
    assert_eq!(read(None).await, 401);
    assert_eq!(read(Some("Bearer wrong")).await, 401);
    assert_eq!(read(Some("scrape-me-4d2f")).await, 401, "a bearer token, said so");
    assert_eq!(read(Some("Bearer scrape-me-4d2f")).await, 200);
    let open = common::TestApp::start().await;
    assert_eq!(open.get("/metrics").await.status, 200, "open when no token is set");
}

/// A connection follows at most a few logs, only of jobs of their projects, and the server
/// holds a bounded number of event streams.
#[tokio::test]
async fn event_streams_and_the_logs_they_follow_are_bounded() {
    let app = common::TestApp::builder().max_streams(2).start().await;
    let list = app.json("/api/v1/projects/1/pipelines?per_page=1").await;
    let pipeline = list["pipelines"][0]["id"].as_u64().unwrap();
    let detail = app.json(&format!("/api/v1/projects/1/pipelines/{pipeline}")).await;
    let job = detail["stages"][0]["jobs"][0]["id"].as_u64().unwrap();
    let open = |topics: String| {
        let request = app.http.get(format!("{}/api/v1/events?topics={topics}", app.base));
        async move { request.send().await.unwrap() }
    };
    let made_up = open("log:1:999999999".into()).await;
    assert_eq!(made_up.status(), 404);
    assert!(made_up.text().await.unwrap().contains("has no job 999999999"));
    let many: Vec<String> = (0..11).map(|j| format!("log:1:{j}")).collect();
    assert_eq!(open(many.join(",")).await.status(), 400);

    let first = open(format!("log:1:{job}")).await;
    let second = open("projects".into()).await;
    assert_eq!((first.status().as_u16(), second.status().as_u16()), (200, 200));
    let third = open("projects".into()).await;
    assert_eq!(third.status(), 503);
    assert!(third.text().await.unwrap().contains("STAGEBOARD_MAX_STREAMS"));
    drop(first);
    let mut again = 0;
    for _ in 0..50 {
        again = open("projects".into()).await.status().as_u16();
        if again == 200 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert_eq!(again, 200, "a closed stream frees its place");
}

/// With no project list configured, stageboard serves the projects its token's user is a member
/// of, and nothing else: a made-up id answers 404 from what is already known, so guessing ids
/// costs GitLab nothing (before, every guess was passed on to GitLab with the shared token).
#[tokio::test]
async fn without_a_project_list_only_the_tokens_projects_are_served_and_guesses_cost_gitlab_nothing() {
    let app = common::TestApp::builder().reads_only().projects(&[]).start().await;
    let listed = app.json("/api/v1/projects").await;
    let ids: Vec<u64> = listed
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["id"].as_u64().unwrap())
        .collect();
    assert_eq!(
        ids.len(),
        3,
        "the simulated token's user is a member of its three projects: {listed}"
    );
    assert_eq!(
        app.get(&format!("/api/v1/projects/{}/pipelines", ids[0])).await.status,
        200
    );

    let before = app.sim.sim.requests_received();
    let guesses: Vec<u64> = (1..=60).map(|n| n * 7919).filter(|id| !ids.contains(id)).collect();
    for id in &guesses {
        for path in [
            format!("/api/v1/projects/{id}/pipelines"),
            format!("/api/v1/projects/{id}/pipelines/1"),
            format!("/api/v1/projects/{id}/jobs/1/log"),
            format!("/api/v1/projects/{id}/environments"),
        ] {
            common::assert_error(&app.get(&path).await, 404, "not_found");
        }
    }
    let spent = app.sim.sim.requests_received() - before;
    // The hub's pollers may ask about the three watched projects meanwhile; the guesses ask nothing.
    assert!(
        spent <= 6,
        "{} guessed ids cost GitLab {spent} requests",
        guesses.len() * 4
    );
}

/// A job log (or anything GitLab, or whatever stands in front of it, sends) larger than
/// stageboard reads is refused with a clear message once the limit is passed, whether the size
/// is announced or streamed, instead of being gathered whole into memory.
#[tokio::test]
async fn an_answer_larger_than_stageboard_reads_is_refused_not_held() {
    use stageboard::gitlab::{Gitlab, MAX_ANSWER};
    let gitlab = serve(
        Router::new()
            .route(
                "/api/v4/projects/1/jobs/1/trace",
                // 1 MB chunks without a Content-Length, without end: the read returns only
                // because the client stops.
                axum::routing::get(|| async {
                    let chunks = futures::stream::repeat_with(|| {
                        Ok::<_, std::io::Error>(bytes::Bytes::from(vec![b'x'; 1 << 20]))
                    });
                    axum::body::Body::from_stream(chunks)
                }),
            )
            .route(
                "/api/v4/projects/1/jobs/2/trace",
                axum::routing::get(|| async { vec![b'y'; MAX_ANSWER + 1] }),
            )
            .route(
                "/api/v4/projects/1/jobs/3/trace",
                axum::routing::get(|| async { vec![b'z'; MAX_ANSWER] }),
            ),
    )
    .await;
    let client = client_of(gitlab);
    for job in [1, 2] {
        let refused = client.trace(1, job).await.expect_err("too large");
        let told = AppError::from(refused).message().to_owned();
        assert!(told.contains("larger than 24 MB"), "job {job}: {told}");
    }
    assert_eq!(
        client.trace(1, 3).await.unwrap().len(),
        MAX_ANSWER,
        "up to the limit is read"
    );
}

/// Served at an https address, every answer tells browsers to use nothing else (HSTS), and the
/// public host name is one the server answers to; served over http, no HSTS (browsers would
/// ignore it, and it would wrongly bind a later https site on the same name).
#[tokio::test]
async fn at_an_https_public_address_answers_carry_hsts_and_its_host_is_allowed() {
    let app = common::TestApp::builder()
        .public_url("https://dash.example.com")
        .anonymous()
        .start()
        .await;
    // The session cookie is only ever sent over https, to this host alone.
    let login = common::browser()
        .get(format!("{}/auth/login", app.base))
        .header("host", "dash.example.com")
        .send()
        .await
        .unwrap();
    assert_eq!(login.status(), 303);
    let cookie = login.headers()["set-cookie"].to_str().unwrap();
    assert!(cookie.starts_with("__Host-stageboard="), "{cookie}");
    for part in ["Secure", "HttpOnly", "SameSite=Lax", "Path=/"] {
        assert!(cookie.split("; ").any(|p| p == part), "{part} in {cookie}");
    }
    assert!(!cookie.contains("Domain"), "{cookie}");
    assert!(
        common::location(&login).contains("redirect_uri=https%3A%2F%2Fdash.example.com%2Fauth%2Fcallback"),
        "{}",
        common::location(&login)
    );
    for path in ["/", "/api/v1/projects", "/api/v1/nothing-here", "/health"] {
        let answer = app
            .http
            .get(format!("{}{path}", app.base))
            .header("host", "dash.example.com")
            .send()
            .await
            .unwrap();
        assert_ne!(answer.status(), 421, "{path}: the public host is allowed");
        assert_eq!(
            answer
                .headers()
                .get("strict-transport-security")
                .map(|v| v.to_str().unwrap()),
            Some("max-age=31536000"),
            "{path}"
        );
    }
    let plain = common::TestApp::start().await;
    let answer = plain.get("/api/v1/projects").await;
    assert!(answer.headers.get("strict-transport-security").is_none());
}
