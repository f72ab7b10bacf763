//! Selecting projects by group, topic and pattern, against the simulated GitLab: what is
//! watched at start, and how a project made, archived or deleted in GitLab (through GitLab's
//! own API) appears or disappears at the next reading, without a restart.

mod common;

use std::time::Duration;

use common::{TOKEN, TestApp};
use serde_json::{Value, json};
use stageboard::selection::Selection;

/// The watched projects' paths, as the overview lists them.
async fn watched(app: &TestApp) -> Vec<String> {
    let cards = app.json("/api/v1/overview").await;
    cards
        .as_array()
        .unwrap_or_else(|| panic!("{cards}"))
        .iter()
        .map(|card| card["project"]["path_with_namespace"].as_str().unwrap().to_owned())
        .collect()
}

/// A request to the simulated GitLab's REST API with the administrator's token.
async fn gitlab(app: &TestApp, method: reqwest::Method, path: &str, body: Option<Value>) -> (u16, Value) {
    let mut request = reqwest::Client::new()
        .request(method, format!("{}/api/v4{path}", app.sim.url()))
        .header("PRIVATE-TOKEN", TOKEN);
    if let Some(body) = body {
        request = request.json(&body);
    }
    let answer = request.send().await.unwrap();
    let status = answer.status().as_u16();
    (status, answer.json().await.unwrap_or(Value::Null))
}

// The simulated GitLab's eight projects: 1 demo/gitlab-k8s-demo (topics go, kubernetes),
// 2 platform/payments-api (payments, service), 3 platform/web/monorepo (web), then service-04
// to service-08 (topic service), the even ones in platform, the odd ones in platform/web.

#[tokio::test]
async fn groups_topics_and_patterns_select_and_gitlabs_changes_follow() {
    let app = TestApp::builder()
        .sim_projects(8)
        .selection(Selection {
            projects: vec!["platform/service-06".into(), "nowhere/gone".into()],
            groups: vec!["platform/web".into(), "no-such-group".into()],
            topics: vec!["kubernetes".into()],
            exclude: vec!["*/service-07".into()],
            refresh: Duration::from_secs(1),
            ..Selection::default()
        })
        .start()
        .await;
    assert_eq!(
        watched(&app).await,
        [
            // Listed first; then what the group and topic found, newest first. The missing
            // project and group are left out without stopping the rest.
            "platform/service-06",
            "platform/web/service-05",
            "platform/web/monorepo",
            "demo/gitlab-k8s-demo",
        ]
    );
    // Excluded and unselected projects are not served.
    assert_eq!(app.get("/api/v1/projects/7/pipelines").await.status, 404);
    assert_eq!(app.get("/api/v1/projects/2/pipelines").await.status, 404);
    assert_eq!(app.get("/api/v1/projects/5/pipelines").await.status, 200);
    // The selected group's runners are listed though nothing runs: the instance's and those of
    // platform/web's ancestor platform.
    let runners = app.json("/api/v1/runners").await;
    let names: Vec<&str> = runners["runners"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["description"].as_str().unwrap())
        .collect();
    assert!(
        names.contains(&"shared-docker-1") && names.contains(&"group runner 15"),
        "{runners}"
    );
    assert!(
        !names.contains(&"group runner 14"),
        "demo's runner serves no selected group: {runners}"
    );

    // In GitLab: a new project in the subgroup, one archived, one deleted.
    let (status, made) = gitlab(
        &app,
        reqwest::Method::POST,
        "/projects",
        Some(json!({ "name": "checkout", "namespace_id": "platform/web", "topics": ["service"] })),
    )
    .await;
    assert_eq!(status, 201, "{made}");
    assert_eq!(made["path_with_namespace"], "platform/web/checkout");
    let (status, archived) = gitlab(&app, reqwest::Method::POST, "/projects/5/archive", None).await;
    assert_eq!((status, &archived["archived"]), (201, &json!(true)));
    let (status, _) = gitlab(&app, reqwest::Method::DELETE, "/projects/3", None).await;
    assert_eq!(status, 202);
    let (status, _) = gitlab(&app, reqwest::Method::POST, "/projects/6/archive", None).await;
    assert_eq!(status, 201, "a listed project, archived");

    let expected = ["platform/web/checkout", "demo/gitlab-k8s-demo"];
    let mut now = Vec::new();
    for _ in 0..100 {
        now = watched(&app).await;
        if now == expected {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(now, expected, "the selection is read again within its refresh");
    assert_eq!(app.get("/api/v1/projects/5/pipelines").await.status, 404, "archived");
    assert_eq!(app.get("/api/v1/projects/3/pipelines").await.status, 404, "deleted");
    assert_eq!(
        app.get("/api/v1/projects/6/pipelines").await.status,
        404,
        "listed, then archived"
    );
    assert_eq!(app.get("/api/v1/projects/9/pipelines").await.status, 200, "new");
}

#[tokio::test]
async fn include_patterns_narrow_a_topic() {
    let app = TestApp::builder()
        .sim_projects(8)
        .selection(Selection {
            topics: vec!["service".into()],
            include: vec!["platform/service-*".into()],
            ..Selection::default()
        })
        .start()
        .await;
    assert_eq!(
        watched(&app).await,
        ["platform/service-08", "platform/service-06", "platform/service-04"]
    );
}

#[tokio::test]
async fn a_card_shows_the_configured_refs_besides_the_default_branch() {
    let refs = |app_refs: Vec<&str>| stageboard::selection::RefSelection {
        patterns: app_refs.into_iter().map(str::to_owned).collect(),
        protected: false,
        merge_requests: false,
    };
    let other_refs = |cards: &Value, project: &str| -> Vec<String> {
        cards
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["project"]["path_with_namespace"] == project)
            .unwrap()["other_refs"]
            .as_array()
            .unwrap()
            .iter()
            .map(|p| p["ref"].as_str().unwrap().to_owned())
            .collect()
    };
    let app = TestApp::builder().refs(refs(vec!["feature/*"])).start().await;
    let cards = app.json("/api/v1/overview").await;
    let shown = other_refs(&cards, "demo/gitlab-k8s-demo");
    assert_eq!(shown, ["feature/login-page"], "{cards}");
    // The wall shows them too, each a tile of its own.
    let wall = app.json("/api/v1/wall").await;
    let tiles: Vec<(String, String)> = wall["tiles"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|t| t["project"] == "demo/gitlab-k8s-demo")
        .map(|t| {
            (
                t["project"].as_str().unwrap().to_owned(),
                t["git_ref"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    assert!(
        tiles.iter().any(|(_, r)| r == "feature/login-page") && tiles.iter().any(|(_, r)| r == "main"),
        "{wall}"
    );
    drop(app);

    let app = TestApp::builder().refs(refs(vec!["v*"])).start().await;
    let cards = app.json("/api/v1/overview").await;
    let shown = other_refs(&cards, "demo/gitlab-k8s-demo");
    assert!(
        !shown.is_empty() && shown.iter().all(|r| r.starts_with('v')),
        "{shown:?}"
    );
}

#[tokio::test]
async fn a_merge_requests_pipeline_shows_with_its_title_and_link() {
    /// A pipeline for the project's first merge request, made through GitLab's API.
    async fn merge_request_pipeline(app: &TestApp) {
        let made = reqwest::Client::new()
            .post(format!(
                "{}/api/v4/projects/1/merge_requests/1/pipelines",
                app.sim.url()
            ))
            .header("PRIVATE-TOKEN", TOKEN)
            .send()
            .await
            .unwrap();
        assert_eq!(made.status(), 201);
        app.advance(chrono::Duration::minutes(10)).await;
    }
    let app = TestApp::start().await;
    merge_request_pipeline(&app).await;
    let cards = app.json("/api/v1/overview").await;
    let demo = cards
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["project"]["path_with_namespace"] == "demo/gitlab-k8s-demo")
        .unwrap();
    let mr = demo["other_refs"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| !p["merge_request"].is_null())
        .unwrap_or_else(|| panic!("no merge request pipeline in {demo}"));
    assert_eq!(mr["ref"], "refs/merge-requests/1/head");
    assert_eq!(mr["source"], "merge_request_event");
    assert_eq!(mr["merge_request"]["iid"], 1);
    assert_eq!(mr["merge_request"]["title"], "Login page");
    let link = mr["merge_request"]["web_url"].as_str().unwrap();
    assert!(
        link.starts_with("http") && link.ends_with("/demo/gitlab-k8s-demo/-/merge_requests/1"),
        "{link}"
    );
    // The branch pipelines are still branches: a merge request's ref is not among them.
    let refs: Vec<&str> = demo["other_refs"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["ref"].as_str().unwrap())
        .collect();
    assert_eq!(
        refs.iter().filter(|r| r.starts_with("refs/merge-requests/")).count(),
        1,
        "{refs:?}"
    );
    drop(app);

    // The wall shows it as a tile of its own where refs are configured.
    let app = TestApp::builder()
        .refs(stageboard::selection::RefSelection {
            patterns: vec!["feature/*".into()],
            protected: false,
            merge_requests: true,
        })
        .start()
        .await;
    merge_request_pipeline(&app).await;
    let wall = app.json("/api/v1/wall").await;
    assert!(
        wall["tiles"]
            .as_array()
            .unwrap()
            .iter()
            .any(|t| t["git_ref"] == "!1 Login page"),
        "{wall}"
    );
}
