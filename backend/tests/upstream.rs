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
async fn truncated_json_is_reported_not_panicked_on_and_the_last_state_is_kept() {
    let app = TestApp::builder().projects(&["1"]).start().await;
    let list = app.get("/api/v1/projects/1/pipelines?per_page=5").await;
    assert_eq!(list.status, 200);
    let ids: Vec<u64> = list.body["pipelines"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["id"].as_u64().unwrap())
        .collect();
    let seen = app.get(&format!("/api/v1/projects/1/pipelines/{}", ids[0])).await;
    app.sim.sim.set_faults(Faults {
        truncate: true,
        ..Faults::default()
    });
    // The hub's poll meets the broken answer: nothing changes for the readers.
    app.hub.refresh_now().await;
    let again = app.get(&format!("/api/v1/projects/1/pipelines/{}", ids[0])).await;
    assert_eq!(again.status, 200, "the last state is served: {}", again.text);
    assert_eq!(again.body, seen.body);
    assert!(app.hub.upstream_failing().is_some(), "the failure is known");
    // What was never read cannot be served: said plainly.
    let unseen = app.get(&format!("/api/v1/projects/1/pipelines/{}", ids[1])).await;
    assert_error(&unseen, 502, "gitlab_unavailable");
    assert!(message(&unseen).contains("could not read"), "{}", unseen.text);

    app.sim.sim.set_faults(Faults::default());
    app.hub.refresh_now().await;
    assert_eq!(app.hub.upstream_failing(), None, "recovers at the next poll");
    let back = app.get(&format!("/api/v1/projects/1/pipelines/{}", ids[1])).await;
    assert_eq!(back.status, 200, "{}", back.text);
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
    let app = TestApp::builder().projects(&["1"]).rate_limit(4).start().await;
    // Reads of one resource are answered from the hub: GitLab's budget is not spent on them.
    let first = app.get("/api/v1/projects/1/pipelines?page=1").await;
    for _ in 0..10 {
        assert_eq!(app.get("/api/v1/projects/1/pipelines?page=1").await.status, 200);
    }
    assert_eq!(first.status, 200);
    let mut limited = None;
    for page in 2..12 {
        let a = app.get(&format!("/api/v1/projects/1/pipelines?page={page}")).await;
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

    // Until the budget resets, stageboard does not ask again; what it has, it still shows.
    let before = app.sim.sim.requests_received();
    let again = app.get("/api/v1/projects/1/pipelines?page=20").await;
    assert_error(&again, 503, "gitlab_rate_limited");
    assert_eq!(app.get("/api/v1/projects/1/pipelines?page=1").await.status, 200);
    app.hub.refresh_now().await;
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
