//! When GitLab is down, slow, failing, rate-limiting or refusing the token, stageboard answers
//! with a clear error, retries only what is safe, and never shows the token.

mod common;

use std::time::Duration;

use common::{TestApp, assert_error};
use stageboard_sim::Faults;

fn message(a: &common::Answer) -> &str {
    a.body["message"].as_str().unwrap()
}

#[tokio::test]
async fn an_unreachable_gitlab_is_named() {
    let app = TestApp::builder().gitlab_url("http://127.0.0.1:9").start().await;
    let a = app.get("/api/v1/projects").await;
    assert_error(&a, 502, "gitlab_unavailable");
    assert!(message(&a).contains("127.0.0.1:9"), "{}", a.text);
}

#[tokio::test]
async fn a_slow_gitlab_times_out_with_a_clear_message() {
    let app = TestApp::builder()
        .projects(&["1"])
        .timeout(Duration::from_millis(300))
        .start()
        .await;
    app.sim.sim.set_faults(Faults {
        delay_ms: 2_000,
        ..Faults::default()
    });
    let a = app.get("/api/v1/projects/1/pipelines").await;
    assert_error(&a, 502, "gitlab_unavailable");
    assert!(message(&a).contains("no answer within"), "{}", a.text);
}

#[tokio::test]
async fn truncated_json_is_reported_not_panicked_on() {
    let app = TestApp::builder().projects(&["1"]).start().await;
    let pipeline = app.json("/api/v1/projects/1/pipelines?per_page=1").await["pipelines"][0]["id"].clone();
    let detail = app.json(&format!("/api/v1/projects/1/pipelines/{pipeline}")).await;
    let job = detail["stages"][0]["jobs"][0]["id"].clone();
    app.sim.sim.set_faults(Faults {
        truncate: true,
        ..Faults::default()
    });
    for path in [
        "/api/v1/projects".to_owned(),
        "/api/v1/projects/1/pipelines".to_owned(),
        format!("/api/v1/projects/1/pipelines/{pipeline}"),
        format!("/api/v1/projects/1/jobs/{job}"),
        format!("/api/v1/projects/1/jobs/{job}/log"),
    ] {
        let a = app.get(&path).await;
        if path.ends_with("/log") {
            // The job read fails first; a truncated log alone would just be shorter.
            assert_error(&a, 502, "gitlab_unavailable");
            continue;
        }
        assert_error(&a, 502, "gitlab_unavailable");
        assert!(message(&a).contains("could not read"), "{}", a.text);
    }
    app.sim.sim.set_faults(Faults::default());
    assert_eq!(
        app.get("/api/v1/projects/1/pipelines").await.status,
        200,
        "recovers at once"
    );
}

#[tokio::test]
async fn reads_are_retried_on_5xx_but_actions_never() {
    let app = TestApp::builder().projects(&["1"]).start().await;
    let before = app.sim.sim.requests_received();
    app.sim.sim.set_faults(Faults {
        status: Some(500),
        ..Faults::default()
    });
    let a = app.get("/api/v1/projects/1/jobs/5001").await;
    assert_error(&a, 502, "gitlab_unavailable");
    assert_eq!(app.sim.sim.requests_received() - before, 3, "one read, two retries");

    let before = app.sim.sim.requests_received();
    let a = app.post("/api/v1/projects/1/jobs/5001/retry", "").await;
    assert_error(&a, 502, "gitlab_unavailable");
    assert_eq!(app.sim.sim.requests_received() - before, 1, "an action is sent once");

    app.sim.sim.set_faults(Faults {
        status: Some(503),
        ..Faults::default()
    });
    let a = app.get("/api/v1/projects/1/pipelines").await;
    assert!(message(&a).contains("503"), "{}", a.text);
}

#[tokio::test]
async fn a_rate_limited_gitlab_becomes_503_with_retry_after_and_is_left_alone() {
    let app = TestApp::builder().projects(&["1"]).rate_limit(3).start().await;
    let mut limited = None;
    for _ in 0..8 {
        let a = app.get("/api/v1/projects/1/pipelines").await;
        if a.status == 503 {
            limited = Some(a);
            break;
        }
        assert_eq!(a.status, 200, "{}", a.text);
    }
    let a = limited.expect("GitLab's limit shows as 503");
    assert_error(&a, 503, "gitlab_rate_limited");
    let retry_after: u64 = a.headers["retry-after"].to_str().unwrap().parse().unwrap();
    assert!((1..=60).contains(&retry_after));
    assert_eq!(a.body["retry_after"], retry_after);

    // Until the budget resets, stageboard does not ask again.
    let before = app.sim.sim.requests_received();
    let again = app.get("/api/v1/projects/1/pipelines").await;
    assert_error(&again, 503, "gitlab_rate_limited");
    assert_eq!(app.sim.sim.requests_received(), before, "no request before Retry-After");
}

#[tokio::test]
async fn a_refused_token_is_explained_without_showing_it() {
    let app = TestApp::builder().token("glpat-expired-token-value").start().await;
    let a = app.get("/api/v1/projects").await;
    assert_error(&a, 502, "gitlab_access");
    assert!(message(&a).contains("GITLAB_TOKEN"), "{}", a.text);
    assert!(!a.text.contains("glpat-expired-token-value"));
}
