//! The simulated Kubernetes API over HTTP: LIST with label selectors, WATCH from a resource
//! version, 410 Gone after compaction, BOOKMARKs; objects that read as k8s-openapi types and
//! follow the simulated deploy jobs.

use std::net::SocketAddr;
use std::time::Duration;

use chrono::DateTime;
use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::core::v1::Pod;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::WatchEvent;
use serde_json::Value;
use stageboard_sim::{Clock, RunningSim, SimConfig};

const TOKEN: &str = "glpat-kube-test";

async fn start() -> (RunningSim, reqwest::Client) {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let start = DateTime::parse_from_rfc3339("2026-06-01T12:00:00Z").unwrap().to_utc();
    let config = SimConfig {
        token: TOKEN.into(),
        rate_limit_per_minute: 10_000,
        seed: 7,
        history_days: 2,
        live: false,
        review_apps: 0,
        projects: 3,
    };
    let sim = RunningSim::start(config, Clock::manual(start), SocketAddr::from(([127, 0, 0, 1], 0)))
        .await
        .unwrap();
    (sim, reqwest::Client::new())
}

async fn get(sim: &RunningSim, http: &reqwest::Client, path: &str) -> reqwest::Response {
    http.get(format!("{}{path}", sim.url()))
        .bearer_auth(TOKEN)
        .send()
        .await
        .unwrap()
}

/// Reads watch lines until `done` says enough, or `wait` passes.
async fn watch_until(response: reqwest::Response, wait: Duration, done: impl Fn(&[Value]) -> bool) -> Vec<Value> {
    let mut response = response;
    let mut events = Vec::new();
    let mut buffer = String::new();
    let deadline = tokio::time::Instant::now() + wait;
    while !done(&events) {
        let Ok(Ok(Some(chunk))) = tokio::time::timeout_at(deadline, response.chunk()).await else {
            break;
        };
        buffer.push_str(std::str::from_utf8(&chunk).unwrap());
        while let Some(end) = buffer.find('\n') {
            let line: String = buffer.drain(..=end).collect();
            events.push(serde_json::from_str(line.trim()).expect("each line is one JSON event"));
        }
    }
    events
}

#[tokio::test]
async fn list_filters_by_label_and_reads_as_typed_objects() {
    let (sim, http) = start().await;
    let all: Value = get(
        &sim,
        &http,
        "/apis/apps/v1/namespaces/gitlab/deployments?labelSelector=app%3Dgitlab-k8s-demo",
    )
    .await
    .json()
    .await
    .unwrap();
    assert_eq!(all["kind"], "DeploymentList");
    let items = all["items"].as_array().unwrap();
    assert!(items.len() >= 2, "dev and review apps are deployed: {}", items.len());
    for item in items {
        let typed: Deployment = serde_json::from_value(item.clone()).unwrap();
        let back = serde_json::to_value(&typed).unwrap();
        assert_eq!(back["spec"], item["spec"], "nothing lost in a k8s-openapi round trip");
        assert_eq!(back["status"], item["status"]);
    }
    let dev: Value = get(
        &sim,
        &http,
        "/apis/apps/v1/namespaces/gitlab/deployments?labelSelector=ref%3Ddev,track%3Dstable",
    )
    .await
    .json()
    .await
    .unwrap();
    let dev: Vec<Deployment> = serde_json::from_value(dev["items"].clone()).unwrap();
    assert_eq!(dev.len(), 1);
    let status = dev[0].status.clone().unwrap();
    assert_eq!((status.updated_replicas, status.available_replicas), (Some(2), Some(2)));
    let pods: Value = get(&sim, &http, "/api/v1/namespaces/gitlab/pods?labelSelector=ref%3Ddev")
        .await
        .json()
        .await
        .unwrap();
    let pods: Vec<Pod> = serde_json::from_value(pods["items"].clone()).unwrap();
    assert_eq!(pods.len(), 2);
    let elsewhere: Value = get(&sim, &http, "/api/v1/namespaces/default/pods")
        .await
        .json()
        .await
        .unwrap();
    assert!(elsewhere["items"].as_array().unwrap().is_empty());
    let bad = get(
        &sim,
        &http,
        "/api/v1/namespaces/gitlab/pods?labelSelector=app%20in%20oops",
    )
    .await;
    assert_eq!(bad.status(), 400);
    let anonymous = http
        .get(format!("{}/api/v1/namespaces/gitlab/pods", sim.url()))
        .send()
        .await
        .unwrap();
    assert_eq!(anonymous.status(), 401);
}

#[tokio::test]
async fn a_watch_sees_a_manual_deploy_roll_out() {
    let (sim, http) = start().await;
    let list: Value = get(
        &sim,
        &http,
        "/apis/apps/v1/namespaces/gitlab/deployments?labelSelector=ref",
    )
    .await
    .json()
    .await
    .unwrap();
    let rv = list["metadata"]["resourceVersion"].as_str().unwrap().to_owned();
    let watch = get(
        &sim,
        &http,
        &format!(
            "/apis/apps/v1/namespaces/gitlab/deployments?watch=true&resourceVersion={rv}&labelSelector=ref%3Dlive"
        ),
    )
    .await;

    // Play deploy_live on the newest tag pipeline, through the GitLab API.
    let pipelines: Value = http
        .get(format!(
            "{}/api/v4/projects/1/pipelines?scope=tags&per_page=1",
            sim.url()
        ))
        .bearer_auth(TOKEN)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let jobs: Value = http
        .get(format!(
            "{}/api/v4/projects/1/pipelines/{}/jobs",
            sim.url(),
            pipelines[0]["id"]
        ))
        .bearer_auth(TOKEN)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let deploy = jobs
        .as_array()
        .unwrap()
        .iter()
        .find(|j| j["name"] == "deploy_live")
        .unwrap();
    let played = http
        .post(format!("{}/api/v4/projects/1/jobs/{}/play", sim.url(), deploy["id"]))
        .bearer_auth(TOKEN)
        .send()
        .await
        .unwrap();
    assert_eq!(played.status(), 200);
    // The simulated runner picks the job up, applies, and the rollout moves in steps.
    for _ in 0..18 {
        sim.sim.advance(chrono::Duration::seconds(5));
    }

    // live ran an older tag: the new one rolls out over it.
    let done = |e: &Value| {
        let st = &e["object"]["status"];
        e["type"] == "MODIFIED" && st["updatedReplicas"] == 2 && st["availableReplicas"] == 2 && st["replicas"] == 2
    };
    let events = watch_until(watch, Duration::from_secs(10), |events| events.iter().any(done)).await;
    assert!(!events.is_empty());
    assert!(
        events
            .iter()
            .any(|e| e["object"]["status"]["updatedReplicas"].as_i64().unwrap_or(0) < 2),
        "the rollout was seen in progress: {events:?}"
    );
    for e in &events {
        let typed: WatchEvent<Deployment> = serde_json::from_value(e.clone()).expect("a k8s watch event");
        if let WatchEvent::Added(d) | WatchEvent::Modified(d) = typed {
            assert_eq!(d.metadata.name.as_deref(), Some("gitlab-k8s-demo-live"));
            assert_eq!(d.metadata.labels.unwrap()["ref"], "live");
        }
    }
    let versions: Vec<u64> = events
        .iter()
        .map(|e| {
            e["object"]["metadata"]["resourceVersion"]
                .as_str()
                .unwrap()
                .parse()
                .unwrap()
        })
        .collect();
    assert!(
        versions.windows(2).all(|w| w[0] < w[1]),
        "resource versions grow: {versions:?}"
    );
    assert!(
        events.iter().any(done),
        "the rollout reaches 2/2 with no old replicas left"
    );
}

#[tokio::test]
async fn an_old_resource_version_gets_410_gone_and_idle_watches_get_bookmarks() {
    let (sim, http) = start().await;
    let list: Value = get(&sim, &http, "/api/v1/namespaces/gitlab/pods")
        .await
        .json()
        .await
        .unwrap();
    let rv = list["metadata"]["resourceVersion"].as_str().unwrap().to_owned();
    let idle = get(
        &sim,
        &http,
        &format!("/api/v1/namespaces/gitlab/pods?watch=true&allowWatchBookmarks=true&resourceVersion={rv}"),
    )
    .await;
    let events = watch_until(idle, Duration::from_secs(6), |events| !events.is_empty()).await;
    assert_eq!(events[0]["type"], "BOOKMARK");
    assert!(
        events[0]["object"]["metadata"]["resourceVersion"]
            .as_str()
            .unwrap()
            .parse::<u64>()
            .unwrap()
            >= rv.parse().unwrap()
    );
    let _: WatchEvent<Pod> = serde_json::from_value(events[0].clone()).expect("a bookmark reads as one");

    http.post(format!("{}/-/sim/k8s/compact", sim.url()))
        .send()
        .await
        .unwrap();
    let gone = get(
        &sim,
        &http,
        "/api/v1/namespaces/gitlab/pods?watch=true&resourceVersion=1",
    )
    .await;
    let events = watch_until(gone, Duration::from_secs(5), |events| !events.is_empty()).await;
    assert_eq!(events[0]["type"], "ERROR");
    assert_eq!(events[0]["object"]["code"], 410);
    assert_eq!(events[0]["object"]["reason"], "Expired");
    let typed: WatchEvent<Pod> = serde_json::from_value(events[0].clone()).unwrap();
    assert!(matches!(typed, WatchEvent::ErrorStatus(s) if s.code == Some(410)));
}

#[tokio::test]
async fn stopping_dev_deletes_its_objects() {
    let (sim, http) = start().await;
    let envs: Value = http
        .get(format!("{}/api/v4/projects/1/environments?name=dev", sim.url()))
        .bearer_auth(TOKEN)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let list: Value = get(&sim, &http, "/api/v1/namespaces/gitlab/pods?labelSelector=ref%3Ddev")
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(list["items"].as_array().unwrap().len(), 2);
    let rv = list["metadata"]["resourceVersion"].as_str().unwrap().to_owned();
    let watch = get(
        &sim,
        &http,
        &format!("/api/v1/namespaces/gitlab/pods?watch=true&resourceVersion={rv}&labelSelector=ref%3Ddev"),
    )
    .await;
    http.post(format!(
        "{}/api/v4/projects/1/environments/{}/stop",
        sim.url(),
        envs[0]["id"]
    ))
    .bearer_auth(TOKEN)
    .send()
    .await
    .unwrap();
    sim.sim.advance(chrono::Duration::minutes(3));
    let events = watch_until(watch, Duration::from_secs(10), |events| {
        events.iter().filter(|e| e["type"] == "DELETED").count() == 2
    })
    .await;
    assert_eq!(
        events.iter().filter(|e| e["type"] == "DELETED").count(),
        2,
        "{events:?}"
    );
    let after: Value = get(&sim, &http, "/api/v1/namespaces/gitlab/pods?labelSelector=ref%3Ddev")
        .await
        .json()
        .await
        .unwrap();
    assert!(after["items"].as_array().unwrap().is_empty());
}

#[tokio::test]
async fn without_the_token_the_api_server_answers_a_status_401() {
    let (sim, http) = start().await;
    let response = http
        .get(format!("{}/apis/apps/v1/namespaces/gitlab/deployments", sim.url()))
        .bearer_auth("glpat-wrong")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 401);
    let body: k8s_openapi::apimachinery::pkg::apis::meta::v1::Status = response.json().await.unwrap();
    assert_eq!(body.reason.as_deref(), Some("Unauthorized"));
    assert_eq!(body.code, Some(401));
    assert_eq!(body.status.as_deref(), Some("Failure"));
}
