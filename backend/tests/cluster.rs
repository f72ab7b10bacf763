//! The real kube client, watchers and reflectors against the simulated API server (LIST, WATCH,
//! 410 relist, BOOKMARKs), and the exact requests they make (tower-test).

use std::net::SocketAddr;
use std::time::Duration;

use chrono::DateTime;
use serde_json::json;
use stageboard::cluster::ClusterState;
use stageboard_protocol::HealthStatus;
use stageboard_sim::{Clock, RunningSim, SimConfig};

const TOKEN: &str = "glpat-cluster-test";

async fn sim() -> RunningSim {
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
    RunningSim::start(config, Clock::manual(start), SocketAddr::from(([127, 0, 0, 1], 0)))
        .await
        .unwrap()
}

fn client(sim: &RunningSim) -> kube::Client {
    let mut config = kube::Config::new(sim.url().parse().unwrap());
    config.default_namespace = "gitlab".into();
    config.auth_info.token = Some(secrecy::SecretString::from(TOKEN));
    kube::Client::try_from(config).unwrap()
}

/// Polls `check` every 100 ms for at most 10 s.
async fn eventually(what: &str, mut check: impl FnMut() -> bool) {
    for _ in 0..100 {
        if check() {
            return;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("{what} did not happen within 10 s");
}

#[tokio::test]
async fn reflectors_show_each_environment_and_follow_a_rollout() {
    let sim = sim().await;
    let cluster = ClusterState::start(client(&sim), &["gitlab".to_owned()], "ref");
    assert_eq!(
        cluster.watch_connections(),
        5,
        "one watch per kind in the namespace, not per environment"
    );
    eventually("all watches answer", || cluster.link().connected).await;
    eventually("dev shows", || {
        cluster.environment("gitlab", "dev").is_some_and(|e| !e.pods.is_empty())
    })
    .await;
    let dev = cluster.environment("gitlab", "dev").unwrap();
    assert_eq!(dev.health.status, HealthStatus::Healthy, "{:?}", dev.health);
    assert_eq!((dev.ready, dev.desired), (2, 2));
    assert_eq!(dev.ingresses[0].hosts, ["dev-gitlab-k8s-demo.example.com"]);
    assert!(dev.images[0].starts_with("registry.example.com/demo/gitlab-k8s-demo:"));
    let live_before = cluster.environment("gitlab", "live").unwrap().images;
    assert_eq!(live_before.len(), 1, "live runs an earlier tag");

    // Play deploy_live through the GitLab API; the rollout reaches 2/2.
    let http = reqwest::Client::new();
    let api = |path: String| {
        http.get(format!("{}/api/v4{path}", sim.url()))
            .bearer_auth(TOKEN)
            .send()
    };
    let tag: serde_json::Value = api("/projects/1/pipelines?scope=tags&per_page=1".into())
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let jobs: serde_json::Value = api(format!("/projects/1/pipelines/{}/jobs", tag[0]["id"]))
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
    http.post(format!("{}/api/v4/projects/1/jobs/{}/play", sim.url(), deploy["id"]))
        .bearer_auth(TOKEN)
        .send()
        .await
        .unwrap();
    let mut seen_progressing = false;
    for _ in 0..30 {
        sim.sim.advance(chrono::Duration::seconds(3));
        tokio::time::sleep(Duration::from_millis(60)).await;
        if let Some(live) = cluster
            .environment("gitlab", "live")
            .filter(|l| !l.deployments.is_empty())
        {
            seen_progressing |= live.health.status == HealthStatus::Progressing;
        }
    }
    eventually("live runs the new tag", || {
        cluster
            .environment("gitlab", "live")
            .is_some_and(|l| l.ready == 2 && l.images != live_before && l.pods.len() == 2)
    })
    .await;
    assert!(seen_progressing, "the rollout was seen in progress");
}

#[tokio::test]
async fn a_compacted_history_makes_the_watchers_relist() {
    let sim = sim().await;
    let cluster = ClusterState::start(client(&sim), &["gitlab".to_owned()], "ref");
    eventually("dev shows", || {
        cluster.environment("gitlab", "dev").is_some_and(|e| e.pods.len() == 2)
    })
    .await;
    // etcd forgets; then dev is stopped. The open watches get 410 Gone, relist, and see it go.
    reqwest::Client::new()
        .post(format!("{}/-/sim/k8s/compact", sim.url()))
        .send()
        .await
        .unwrap();
    let http = reqwest::Client::new();
    let envs: serde_json::Value = http
        .get(format!("{}/api/v4/projects/1/environments?name=dev", sim.url()))
        .bearer_auth(TOKEN)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
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
    eventually("dev's pods are gone", || {
        cluster.environment("gitlab", "dev").is_some_and(|e| e.pods.is_empty())
    })
    .await;
    assert_eq!(
        cluster.environment("gitlab", "dev").unwrap().health.status,
        HealthStatus::Missing
    );
}

#[tokio::test]
async fn an_unreachable_cluster_is_reported_with_since_when() {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let mut config = kube::Config::new("http://127.0.0.1:9".parse().unwrap());
    config.default_namespace = "gitlab".into();
    let cluster = ClusterState::start(kube::Client::try_from(config).unwrap(), &["gitlab".to_owned()], "ref");
    eventually("the failure is noticed", || cluster.link().unreachable_since.is_some()).await;
    let link = cluster.link();
    assert!(!link.connected);
    assert!(link.message.is_some());
}

#[tokio::test]
async fn the_reflectors_ask_for_exactly_their_kinds_with_the_label_selector() {
    use http::{Request, Response};
    use kube::client::Body;
    let (service, mut handle) = tower_test::mock::pair::<Request<Body>, Response<Body>>();
    let client = kube::Client::new(service, "gitlab");
    let _cluster = ClusterState::start(client, &["gitlab".to_owned()], "ref");
    let mut paths = Vec::new();
    for _ in 0..5 {
        let (request, reply) = tokio::time::timeout(Duration::from_secs(5), handle.next_request())
            .await
            .unwrap()
            .unwrap();
        let uri = request.uri().clone();
        assert_eq!(request.method(), "GET");
        let query = uri.query().unwrap_or_default().to_owned();
        assert!(query.contains("labelSelector=ref"), "{uri}");
        paths.push(uri.path().to_owned());
        let list = json!({ "apiVersion": "v1", "kind": "List", "metadata": { "resourceVersion": "1" }, "items": [] });
        reply.send_response(
            Response::builder()
                .body(Body::from(serde_json::to_vec(&list).unwrap()))
                .unwrap(),
        );
    }
    paths.sort();
    assert_eq!(
        paths,
        [
            "/api/v1/namespaces/gitlab/pods",
            "/api/v1/namespaces/gitlab/services",
            "/apis/apps/v1/namespaces/gitlab/deployments",
            "/apis/apps/v1/namespaces/gitlab/replicasets",
            "/apis/networking.k8s.io/v1/namespaces/gitlab/ingresses",
        ]
    );
}
