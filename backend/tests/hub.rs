//! The hub against the simulated GitLab over real HTTP: GitLab traffic does not grow with
//! viewers, webhooks are checked, de-duplicated and applied, and changes reach browsers as
//! server-sent events (resumable with Last-Event-ID).

mod common;

use std::time::Duration;

use common::TestApp;
use serde_json::Value;

const SECRET: &str = "a-long-webhook-secret-for-tests";

/// What one viewer of the overview and a pipeline page asks for.
async fn look(app: &TestApp, pipeline: u64) {
    for path in [
        "/api/v1/overview".to_owned(),
        "/api/v1/projects".to_owned(),
        format!("/api/v1/projects/1/pipelines/{pipeline}"),
        "/api/v1/projects/1/environments".to_owned(),
    ] {
        let a = app.get(&path).await;
        assert_eq!(a.status, 200, "{path}: {}", a.text);
    }
}

async fn gitlab_requests_for(viewers: usize, faults: stageboard_sim::Faults) -> u64 {
    let app = TestApp::start().await;
    app.sim.sim.set_faults(faults);
    let pipeline = app.json("/api/v1/projects/1/pipelines?per_page=1").await["pipelines"][0]["id"]
        .as_u64()
        .unwrap();
    let before = app.sim.sim.requests_received();
    let lookers = (0..viewers).map(|_| look(&app, pipeline));
    futures::future::join_all(lookers).await;
    // A second look by everyone: answered from the hub.
    futures::future::join_all((0..viewers).map(|_| look(&app, pipeline))).await;
    app.sim.sim.requests_received() - before
}

#[tokio::test]
async fn a_hundred_viewers_cost_gitlab_what_one_does() {
    let one = gitlab_requests_for(1, Default::default()).await;
    let hundred = gitlab_requests_for(100, Default::default()).await;
    assert!(one > 0);
    assert!(
        hundred as f64 <= one as f64 * 1.05,
        "1 viewer: {one} GitLab requests, 100 viewers: {hundred}"
    );
}

/// An older or locked-down GitLab without GraphQL: pages do without it, and the hub learns
/// that once instead of asking on every page view.
#[tokio::test]
async fn without_graphql_a_hundred_viewers_still_cost_gitlab_what_one_does() {
    let no_graphql = || stageboard_sim::Faults {
        no_graphql: true,
        ..Default::default()
    };
    let one = gitlab_requests_for(1, no_graphql()).await;
    let hundred = gitlab_requests_for(100, no_graphql()).await;
    assert!(one > 0);
    assert!(
        hundred as f64 <= one as f64 * 1.05,
        "1 viewer: {one} GitLab requests, 100 viewers: {hundred}"
    );
}

/// An older GitLab without the pipeline bridges endpoint (its 404 for an unknown route): the
/// pipeline page shows no downstream pipelines, and the hub learns that once.
#[tokio::test]
async fn without_an_endpoint_pages_do_without_it_and_gitlab_is_asked_once() {
    let no_bridges = || stageboard_sim::Faults {
        no_bridges: true,
        ..Default::default()
    };
    let one = gitlab_requests_for(1, no_bridges()).await;
    let hundred = gitlab_requests_for(100, no_bridges()).await;
    assert!(one > 0);
    assert!(
        hundred as f64 <= one as f64 * 1.05,
        "1 viewer: {one} GitLab requests, 100 viewers: {hundred}"
    );
    let app = TestApp::start().await;
    app.sim.sim.set_faults(no_bridges());
    let pipelines = app.json("/api/v1/projects/1/pipelines?per_page=5").await;
    for pipeline in pipelines["pipelines"].as_array().unwrap() {
        let id = pipeline["id"].as_u64().unwrap();
        let detail = app.get(&format!("/api/v1/projects/1/pipelines/{id}")).await;
        assert_eq!(detail.status, 200, "{}", detail.text);
        assert!(!detail.body["stages"].as_array().unwrap().is_empty());
    }
    let metrics = app.get("/metrics").await.text;
    let asked: f64 = metrics
        .lines()
        .filter(|l| l.starts_with("stageboard_gitlab_requests_total{") && l.contains("/bridges\""))
        .filter_map(|l| l.rsplit(' ').next()?.parse::<f64>().ok())
        .sum();
    assert_eq!(
        asked, 1.0,
        "the missing endpoint was asked for once, not per pipeline:\n{metrics}"
    );
}

/// Reads server-sent events until `wanted` has been seen or `wait` passes; returns all.
async fn events_until(response: reqwest::Response, wait: Duration, wanted: &str) -> Vec<(String, String, Value)> {
    let mut response = response;
    let mut buffer = String::new();
    let mut out = Vec::new();
    let deadline = tokio::time::Instant::now() + wait;
    loop {
        let Ok(Ok(Some(chunk))) = tokio::time::timeout_at(deadline, response.chunk()).await else {
            return out;
        };
        buffer.push_str(&String::from_utf8_lossy(&chunk));
        while let Some(end) = buffer.find("\n\n") {
            let block: String = buffer.drain(..end + 2).collect();
            let field = |name: &str| {
                block
                    .lines()
                    .find_map(|l| l.strip_prefix(&format!("{name}:")))
                    .map(|v| v.trim().to_owned())
                    .unwrap_or_default()
            };
            let (event, id, data) = (field("event"), field("id"), field("data"));
            if event.is_empty() {
                continue; // keep-alive comment
            }
            let json = serde_json::from_str(&data).unwrap_or(Value::Null);
            let done = event == wanted;
            out.push((event, id, json));
            if done {
                return out;
            }
        }
    }
}

async fn subscribe(app: &TestApp, topics: &str, last_event_id: Option<&str>) -> reqwest::Response {
    let mut request = app.http.get(format!("{}/api/v1/events?topics={topics}", app.base));
    if let Some(id) = last_event_id {
        request = request.header("last-event-id", id);
    }
    let response = request.send().await.unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(response.headers()["content-type"], "text/event-stream");
    response
}

async fn hook(app: &TestApp, token: &str, event: &str, body: &Value, key: &str) -> common::Answer {
    let response = app
        .http
        .post(format!("{}/hooks/gitlab", app.base))
        .header("x-gitlab-token", token)
        .header("x-gitlab-event", event)
        .header("idempotency-key", key)
        .json(body)
        .send()
        .await
        .unwrap();
    let status = response.status().as_u16();
    let text = response.text().await.unwrap();
    common::Answer {
        status,
        headers: Default::default(),
        body: serde_json::from_str(&text).unwrap_or(Value::Null),
        text,
    }
}

fn pipeline_hook(project: u64, pipeline: u64) -> Value {
    serde_json::json!({
        "object_kind": "pipeline",
        "object_attributes": { "id": pipeline, "status": "running", "created_at": "2026-06-01 12:00:00 UTC" },
        "project": { "id": project },
    })
}

#[tokio::test]
async fn webhooks_are_checked_deduplicated_and_reach_browsers() {
    let app = TestApp::builder().webhooks(SECRET).start().await;
    let stream = subscribe(&app, "project:1", None).await;

    let wrong = hook(&app, "not-the-secret", "Pipeline Hook", &pipeline_hook(1, 77), "k1").await;
    assert_eq!(wrong.status, 401, "{}", wrong.text);
    assert!(wrong.body["message"].as_str().unwrap().contains("X-Gitlab-Token"));

    let applied = hook(&app, SECRET, "Pipeline Hook", &pipeline_hook(1, 77), "k2").await;
    assert_eq!(applied.status, 202, "{}", applied.text);
    let replayed = hook(&app, SECRET, "Pipeline Hook", &pipeline_hook(1, 77), "k2").await;
    assert_eq!(replayed.status, 200);
    assert_eq!(replayed.body["applied"], false);
    let elsewhere = hook(&app, SECRET, "Pipeline Hook", &pipeline_hook(999, 5), "k3").await;
    assert_eq!(elsewhere.status, 200);
    assert_eq!(elsewhere.body["reason"], "project not watched");
    let junk = hook(&app, SECRET, "Pipeline Hook", &serde_json::json!({"nothing": 1}), "k4").await;
    assert_eq!(junk.status, 400);

    let events = events_until(stream, Duration::from_secs(3), "project").await;
    let projects: Vec<&Value> = events
        .iter()
        .filter(|(e, _, _)| e == "project")
        .map(|(_, _, d)| d)
        .collect();
    assert_eq!(projects.len(), 1, "one change, announced once: {events:?}");
    assert_eq!(projects[0]["project"], 1);
    assert_eq!(projects[0]["pipelines"][0], 77);

    let metrics = app.get("/metrics").await.text;
    for line in [
        r#"stageboard_webhook_events_total{result="rejected"} 2"#,
        r#"stageboard_webhook_events_total{result="applied"} 1"#,
        r#"stageboard_webhook_events_total{result="duplicate"} 1"#,
        r#"stageboard_webhook_events_total{result="ignored"} 1"#,
    ] {
        assert!(metrics.contains(line), "{line} in\n{metrics}");
    }
    assert!(
        metrics.contains("stageboard_gitlab_requests_total{endpoint=\"/api/v4/projects/:id/pipelines\""),
        "{metrics}"
    );
    assert!(!metrics.contains(common::TOKEN) && !metrics.contains(SECRET));
}

#[tokio::test]
async fn a_browser_that_reconnects_gets_what_it_missed() {
    let app = TestApp::builder().webhooks(SECRET).start().await;
    let stream = subscribe(&app, "projects", None).await;
    hook(&app, SECRET, "Pipeline Hook", &pipeline_hook(1, 101), "a").await;
    let seen = events_until(stream, Duration::from_secs(3), "project").await;
    let first_id = seen.last().expect("an event").1.clone();
    // Gone for a while: two changes happen meanwhile.
    hook(&app, SECRET, "Pipeline Hook", &pipeline_hook(1, 102), "b").await;
    hook(
        &app,
        SECRET,
        "Job Hook",
        &serde_json::json!({"object_kind": "build", "project_id": 2, "pipeline_id": 103}),
        "c",
    )
    .await;
    tokio::time::sleep(Duration::from_millis(200)).await;
    let again = subscribe(&app, "projects", Some(&first_id)).await;
    let missed = events_until(again, Duration::from_secs(2), "never").await;
    let pipelines: Vec<u64> = missed
        .iter()
        .filter(|(e, _, _)| e == "project")
        .map(|(_, _, d)| d["pipelines"][0].as_u64().unwrap())
        .collect();
    assert_eq!(pipelines, [102, 103], "{missed:?}");
    let too_old = subscribe(&app, "projects", Some("1-1")).await;
    let reset = events_until(too_old, Duration::from_secs(2), "reset").await;
    assert_eq!(reset.last().map(|(e, _, _)| e.as_str()), Some("reset"), "{reset:?}");
}

#[tokio::test]
async fn the_simulated_gitlab_sends_its_webhooks_and_changes_arrive_as_events() {
    let app = TestApp::builder().webhooks(SECRET).sim_sends_hooks().start().await;
    let stream = subscribe(&app, "project:1", None).await;
    // A retry makes jobs move: the simulated GitLab announces them by webhook.
    let list = app.json("/api/v1/projects/1/pipelines?status=failed&per_page=1").await;
    let pipeline = list["pipelines"][0]["id"].as_u64().unwrap();
    let retried = app
        .post(&format!("/api/v1/projects/1/pipelines/{pipeline}/retry"), "")
        .await;
    assert_eq!(retried.status, 200, "{}", retried.text);
    app.sim.sim.advance(chrono::Duration::seconds(30));
    let events = events_until(stream, Duration::from_secs(5), "project").await;
    assert!(events.iter().any(|(e, _, _)| e == "project"), "{events:?}");
    let mut applied = false;
    for _ in 0..40 {
        let metrics = app.get("/metrics").await.text;
        if metrics.contains(r#"stageboard_webhook_events_total{result="applied"}"#) {
            applied = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(applied, "the simulated GitLab's webhooks were applied");
}

/// Environment pages hear when what runs in the cluster changes, instead of asking on a timer.
#[tokio::test]
async fn a_change_in_the_cluster_reaches_browsers_as_an_event() {
    let app = TestApp::builder().cluster().start().await;
    let list = app.json("/api/v1/projects/1/environments").await;
    assert_eq!(list["cluster"]["connected"], true, "{}", list["cluster"]);
    // The first listing's events are told within a second; what comes after is this test's.
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let events = subscribe(&app, "cluster", None).await;
    let dev = list["environments"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["name"] == "dev")
        .unwrap();
    let stopped = app
        .post(&format!("/api/v1/projects/1/environments/{}/stop", dev["id"]), "")
        .await;
    assert_eq!(stopped.status, 200, "{}", stopped.text);
    app.advance(chrono::Duration::minutes(3)).await;
    let seen = events_until(events, Duration::from_secs(10), "cluster").await;
    let cluster: Vec<_> = seen.iter().filter(|(event, _, _)| event == "cluster").collect();
    assert_eq!(cluster.len(), 1, "{seen:?}");
    assert_eq!(cluster[0].2["kind"], "cluster");
    assert!(
        seen.iter().all(|(event, _, _)| event == "cluster"),
        "only the topic asked for: {seen:?}"
    );
}

#[tokio::test]
async fn unknown_topics_are_refused_plainly() {
    let app = TestApp::start().await;
    let a = app.get("/api/v1/events?topics=everything").await;
    assert_eq!(a.status, 400);
    assert!(a.body["message"].as_str().unwrap().contains("not a topic"));
    let a = app.get("/api/v1/events?topics=project:424242").await;
    assert_eq!(a.status, 404, "{}", a.text);
}

#[tokio::test]
async fn polling_slows_while_webhooks_keep_their_word_and_resumes_when_they_do_not() {
    let app = TestApp::builder().webhooks(SECRET).start().await;
    assert_eq!(
        app.hub.interval(1),
        Duration::from_secs(300),
        "webhooks configured: polling is the safety net"
    );
    // Pipelines change and no webhook says so (the simulated GitLab is not sending here).
    let failed = app.json("/api/v1/projects/1/pipelines?status=failed&per_page=1").await["pipelines"][0]["id"]
        .as_u64()
        .unwrap();
    // Someone retries it in GitLab itself: stageboard did not do it, and no webhook says so.
    let retried = app
        .http
        .post(format!("{}/api/v4/projects/1/pipelines/{failed}/retry", app.sim.url()))
        .header("private-token", common::TOKEN)
        .send()
        .await
        .unwrap();
    assert_eq!(retried.status(), 201);
    app.advance(chrono::Duration::seconds(30)).await;
    assert!(
        app.hub.interval(1) < Duration::from_secs(300),
        "a change no webhook announced: back to normal polling ({:?})",
        app.hub.interval(1)
    );
    assert_eq!(
        app.hub.interval(2),
        Duration::from_secs(300),
        "other projects keep trusting their hooks"
    );
}

#[tokio::test]
async fn while_gitlab_is_down_pages_keep_their_state_and_browsers_hear_when_it_is_back() {
    let app = TestApp::start().await;
    let overview = app.json("/api/v1/overview").await;
    let stream = subscribe(&app, "projects", None).await;
    app.sim.sim.set_faults(stageboard_sim::Faults {
        status: Some(503),
        ..Default::default()
    });
    app.hub.refresh_now().await;
    let still = app.get("/api/v1/overview").await;
    assert_eq!(still.status, 200, "the last known state: {}", still.text);
    assert_eq!(still.body, overview);
    app.sim.sim.set_faults(stageboard_sim::Faults::default());
    app.hub.refresh_now().await;
    let events = events_until(stream, Duration::from_secs(3), "never").await;
    let upstream: Vec<&Value> = events
        .iter()
        .filter(|(e, _, _)| e == "upstream")
        .map(|(_, _, d)| d)
        .collect();
    assert_eq!(upstream.len(), 2, "down once, back once: {events:?}");
    assert_eq!(upstream[0]["reachable"], false);
    assert!(upstream[0]["since"].as_str().is_some() && upstream[0]["message"].as_str().unwrap().contains("503"));
    assert_eq!(upstream[1]["reachable"], true);
}

#[tokio::test]
async fn with_a_signing_token_only_signed_deliveries_are_applied() {
    use base64::Engine;
    let token = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
    let app = TestApp::builder().webhooks(SECRET).webhook_signing(token).start().await;
    let body = serde_json::to_vec(&pipeline_hook(1, 88)).unwrap();
    let engine = base64::engine::general_purpose::STANDARD;
    let key = ring::hmac::Key::new(
        ring::hmac::HMAC_SHA256,
        &engine.decode(token.trim_start_matches("whsec_")).unwrap(),
    );
    let now = chrono::Utc::now().timestamp().to_string();
    let sign = |body: &[u8]| {
        let mut message = format!("msg_88.{now}.").into_bytes();
        message.extend_from_slice(body);
        format!("v1,{}", engine.encode(ring::hmac::sign(&key, &message).as_ref()))
    };
    let send = |body: Vec<u8>, signature: String, key: &'static str| {
        app.http
            .post(format!("{}/hooks/gitlab", app.base))
            .header("x-gitlab-token", SECRET)
            .header("x-gitlab-event", "Pipeline Hook")
            .header("idempotency-key", key)
            .header("webhook-id", "msg_88")
            .header("webhook-timestamp", &now)
            .header("webhook-signature", signature)
            .header("content-type", "application/json")
            .body(body)
            .send()
    };
    let tampered = send(serde_json::to_vec(&pipeline_hook(1, 89)).unwrap(), sign(&body), "t1")
        .await
        .unwrap();
    assert_eq!(tampered.status(), 401);
    assert!(tampered.text().await.unwrap().contains("does not match"));
    let signed = send(body.clone(), sign(&body), "t2").await.unwrap();
    assert_eq!(signed.status(), 202);
}
