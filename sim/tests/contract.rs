//! The simulated GitLab, over real HTTP, against GitLab's documented behaviour
//! (shared/gitlab-contract/CONTRACT.md): status codes, bodies, headers and entity shapes.

use std::net::SocketAddr;

use chrono::DateTime;
use reqwest::StatusCode;
use serde_json::{Value, json};
use stageboard_sim::{Clock, Faults, RunningSim, SimConfig};

const TOKEN: &str = "glpat-contract-test";

async fn start(rate_limit: u32) -> (RunningSim, Api) {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let start = DateTime::parse_from_rfc3339("2026-06-01T12:00:00Z").unwrap().to_utc();
    let config = SimConfig {
        token: TOKEN.into(),
        rate_limit_per_minute: rate_limit,
        seed: 7,
        history_days: 2,
        live: false,
        review_apps: 0,
        projects: 3,
    };
    let sim = RunningSim::start(config, Clock::manual(start), SocketAddr::from(([127, 0, 0, 1], 0)))
        .await
        .unwrap();
    let api = Api {
        base: sim.url(),
        http: reqwest::Client::new(),
    };
    (sim, api)
}

struct Api {
    base: String,
    http: reqwest::Client,
}

impl Api {
    async fn get(&self, path: &str) -> reqwest::Response {
        self.http
            .get(format!("{}/api/v4{path}", self.base))
            .header("PRIVATE-TOKEN", TOKEN)
            .send()
            .await
            .unwrap()
    }
    async fn json(&self, path: &str) -> Value {
        let response = self.get(path).await;
        assert_eq!(response.status(), StatusCode::OK, "GET {path}");
        response.json().await.unwrap()
    }
    async fn post(&self, path: &str, body: Option<Value>) -> reqwest::Response {
        let mut request = self
            .http
            .post(format!("{}/api/v4{path}", self.base))
            .header("PRIVATE-TOKEN", TOKEN);
        if let Some(body) = body {
            request = request.json(&body);
        }
        request.send().await.unwrap()
    }
}

fn fixture(path: &str) -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../fixtures/gitlab")
        .join(path)
}

/// The latest pipeline on main of gitlab-k8s-demo: the reference story's failure.
async fn failing_pipeline(api: &Api) -> Value {
    api.json("/projects/1/pipelines?ref=main&per_page=1").await[0].clone()
}

async fn job_named(api: &Api, pipeline: u64, name: &str) -> Value {
    let jobs = api.json(&format!("/projects/1/pipelines/{pipeline}/jobs")).await;
    jobs.as_array()
        .unwrap()
        .iter()
        .find(|j| j["name"] == name)
        .cloned()
        .unwrap_or_else(|| panic!("no job {name}"))
}

#[tokio::test]
async fn requests_without_a_valid_token_get_401() {
    let (_sim, api) = start(1000).await;
    let anonymous = api
        .http
        .get(format!("{}/api/v4/projects", api.base))
        .send()
        .await
        .unwrap();
    assert_eq!(anonymous.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(
        anonymous.json::<Value>().await.unwrap(),
        json!({ "message": "401 Unauthorized" })
    );
    let wrong = api
        .http
        .get(format!("{}/api/v4/projects", api.base))
        .header("PRIVATE-TOKEN", "nope")
        .send()
        .await
        .unwrap();
    assert_eq!(wrong.status(), StatusCode::UNAUTHORIZED);
    let bearer = api
        .http
        .get(format!("{}/api/v4/projects", api.base))
        .bearer_auth(TOKEN)
        .send()
        .await
        .unwrap();
    assert_eq!(bearer.status(), StatusCode::OK);
}

#[tokio::test]
async fn projects_are_found_by_id_or_encoded_path_and_listed_by_group() {
    let (_sim, api) = start(1000).await;
    let by_path = api.json("/projects/platform%2Fweb%2Fmonorepo").await;
    assert_eq!(by_path["id"], 3);
    assert_eq!(
        api.json("/projects/3").await["path_with_namespace"],
        "platform/web/monorepo"
    );
    let missing = api.get("/projects/999").await;
    assert_eq!(missing.status(), StatusCode::NOT_FOUND);
    assert_eq!(
        missing.json::<Value>().await.unwrap(),
        json!({ "message": "404 Project Not Found" })
    );

    let direct = api.json("/groups/platform/projects").await;
    assert_eq!(direct.as_array().unwrap().len(), 1);
    let nested = api.json("/groups/20/projects?include_subgroups=true").await;
    assert_eq!(nested.as_array().unwrap().len(), 2);
    let all = api
        .json("/projects?membership=true&simple=true&archived=false&order_by=last_activity_at")
        .await;
    assert_eq!(all.as_array().unwrap().len(), 3);
}

#[tokio::test]
async fn lists_paginate_with_gitlab_headers_and_cap_per_page_at_100() {
    let (_sim, api) = start(1000).await;
    let response = api.get("/projects/1/pipelines?per_page=2&page=2").await;
    let h = response.headers().clone();
    assert_eq!(h["x-page"], "2");
    assert_eq!(h["x-per-page"], "2");
    assert_eq!(h["x-next-page"], "3");
    assert_eq!(h["x-prev-page"], "1");
    let total: usize = h["x-total"].to_str().unwrap().parse().unwrap();
    assert!(total > 4);
    let link = h["link"].to_str().unwrap();
    assert!(
        link.contains(&format!("<{}/api/v4/projects/1/pipelines?", api.base)),
        "{link}"
    );
    assert!(link.contains("page=3&per_page=2>; rel=\"next\""), "{link}");
    assert_eq!(response.json::<Value>().await.unwrap().as_array().unwrap().len(), 2);

    let capped = api.get("/projects/1/pipelines?per_page=500").await;
    assert_eq!(capped.headers()["x-per-page"], "100");

    // The project-wide jobs list is paginated without counts.
    let jobs = api.get("/projects/1/jobs?per_page=5").await;
    assert!(jobs.headers().get("x-total").is_none());
    assert!(jobs.headers().get("x-total-pages").is_none());
    assert_eq!(jobs.headers()["x-next-page"], "2");
    assert!(!jobs.headers()["link"].to_str().unwrap().contains("rel=\"last\""));
}

#[tokio::test]
async fn parameter_errors_use_the_error_key_and_unknown_routes_404() {
    let (_sim, api) = start(1000).await;
    let bad_scope = api.get("/projects/1/pipelines?scope=everything").await;
    assert_eq!(bad_scope.status(), StatusCode::BAD_REQUEST);
    assert_eq!(
        bad_scope.json::<Value>().await.unwrap(),
        json!({ "error": "scope does not have a valid value" })
    );
    let bad_page = api.get("/projects/1/pipelines?page=abc").await;
    assert_eq!(
        bad_page.json::<Value>().await.unwrap(),
        json!({ "error": "page is invalid" })
    );
    let bad_jobs_scope = api.get("/projects/1/jobs?scope[]=failed&scope[]=bogus").await;
    assert_eq!(bad_jobs_scope.status(), StatusCode::BAD_REQUEST);
    let route = api.get("/projects/1/nothing-here").await;
    assert_eq!(route.status(), StatusCode::NOT_FOUND);
    assert_eq!(
        route.json::<Value>().await.unwrap(),
        json!({ "error": "404 Not Found" })
    );
    let job = api.get("/projects/1/jobs/424242").await;
    assert_eq!(
        job.json::<Value>().await.unwrap(),
        json!({ "message": "404 Not found" })
    );
}

#[tokio::test]
async fn a_project_that_fails_validation_is_refused_attribute_by_attribute() {
    let (_sim, api) = start(1000).await;
    // GitLab's render_validation_error!: 400 with the model's errors by attribute.
    let taken = api
        .post(
            "/projects",
            Some(json!({ "name": "monorepo", "namespace_id": "platform/web" })),
        )
        .await;
    assert_eq!(taken.status(), StatusCode::BAD_REQUEST);
    assert_eq!(
        taken.json::<Value>().await.unwrap(),
        json!({ "message": { "name": ["has already been taken"], "path": ["has already been taken"] } })
    );
    let path_only = api
        .post(
            "/projects",
            Some(json!({ "name": "Monorepo two", "path": "MONOREPO", "namespace_id": "platform/web" })),
        )
        .await;
    assert_eq!(
        path_only.json::<Value>().await.unwrap(),
        json!({ "message": { "path": ["has already been taken"] } })
    );
    let bad_path = api
        .post(
            "/projects",
            Some(json!({ "name": "x", "path": "-x.git", "namespace_id": "platform/web" })),
        )
        .await;
    assert_eq!(bad_path.status(), StatusCode::BAD_REQUEST);
    let body = bad_path.json::<Value>().await.unwrap();
    assert!(
        body["message"]["path"][0]
            .as_str()
            .unwrap()
            .starts_with("can contain only letters"),
        "{body}"
    );
    let made = api
        .post(
            "/projects",
            Some(json!({ "name": "monorepo", "namespace_id": "platform" })),
        )
        .await;
    assert_eq!(made.status(), StatusCode::CREATED, "the same name in another group");
}

#[tokio::test]
async fn pipeline_filters_select_what_they_say() {
    let (_sim, api) = start(1000).await;
    let failed = api.json("/projects/1/pipelines?status=failed&per_page=100").await;
    assert!(failed.as_array().unwrap().iter().all(|p| p["status"] == "failed"));
    let tags = api.json("/projects/1/pipelines?scope=tags&per_page=100").await;
    let refs: Vec<&str> = tags
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["ref"].as_str().unwrap())
        .collect();
    assert!(refs.iter().all(|r| r.starts_with('v')));
    let unique: std::collections::HashSet<_> = refs.iter().collect();
    assert_eq!(unique.len(), refs.len(), "scope=tags gives the latest pipeline per tag");
    let asc = api.json("/projects/1/pipelines?sort=asc&per_page=3").await;
    assert!(asc[0]["id"].as_u64() < asc[1]["id"].as_u64());
    let updated = api
        .json("/projects/1/pipelines?updated_after=2026-06-01T11:40:00Z&per_page=100")
        .await;
    assert!(!updated.as_array().unwrap().is_empty());
    assert!(
        updated
            .as_array()
            .unwrap()
            .iter()
            .all(|p| p["updated_at"].as_str().unwrap() > "2026-06-01T11:40:00")
    );
    // Child pipelines only when asked for by source.
    let children = api.json("/projects/3/pipelines?source=parent_pipeline").await;
    assert!(!children.as_array().unwrap().is_empty());
    let parents = api.json("/projects/3/pipelines?per_page=100").await;
    assert!(
        parents
            .as_array()
            .unwrap()
            .iter()
            .all(|p| p["source"] != "parent_pipeline")
    );
}

#[tokio::test]
async fn jobs_match_gitlabs_schema() {
    let (_sim, api) = start(1000).await;
    let schema: Value = serde_json::from_str(&std::fs::read_to_string(fixture("schemas/job.json")).unwrap()).unwrap();
    let allowed: Vec<&str> = schema["properties"]
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    let jobs = api.json("/projects/1/jobs?per_page=100").await;
    for job in jobs.as_array().unwrap() {
        for key in job.as_object().unwrap().keys() {
            assert!(
                allowed.contains(&key.as_str()) || key == "failure_reason",
                "unexpected job key {key}"
            );
        }
        for key in schema["required"].as_array().unwrap() {
            let key = key.as_str().unwrap();
            // artifacts_file only when there are artifacts (CONTRACT gotcha 3).
            if key != "artifacts_file" {
                assert!(job.get(key).is_some(), "job lacks {key}");
            }
        }
        assert_eq!(
            job.get("failure_reason").is_some(),
            job["status"] == "failed",
            "failure_reason only when failed"
        );
        assert!(
            job.get("needs").is_none() && job.get("when").is_none(),
            "REST jobs carry no needs/when"
        );
    }
}

#[tokio::test]
async fn retry_makes_a_new_job_and_hides_the_old_one() {
    let (sim, api) = start(1000).await;
    let pipeline = failing_pipeline(&api).await["id"].as_u64().unwrap();
    let failed = job_named(&api, pipeline, "image_build").await;
    assert_eq!(failed["status"], "failed");
    assert_eq!(failed["failure_reason"], "script_failure");

    let retried = api
        .post(&format!("/projects/1/jobs/{}/retry", failed["id"]), None)
        .await;
    assert_eq!(retried.status(), StatusCode::CREATED);
    let new_job: Value = retried.json().await.unwrap();
    assert_ne!(new_job["id"], failed["id"]);
    assert_eq!(new_job["name"], "image_build");

    let visible = api.json(&format!("/projects/1/pipelines/{pipeline}/jobs")).await;
    let ids: Vec<&Value> = visible
        .as_array()
        .unwrap()
        .iter()
        .filter(|j| j["name"] == "image_build")
        .map(|j| &j["id"])
        .collect();
    assert_eq!(ids, vec![&new_job["id"]]);
    let all = api
        .json(&format!("/projects/1/pipelines/{pipeline}/jobs?include_retried=true"))
        .await;
    assert_eq!(
        all.as_array()
            .unwrap()
            .iter()
            .filter(|j| j["name"] == "image_build")
            .count(),
        3
    );

    let again = api
        .post(&format!("/projects/1/jobs/{}/retry", failed["id"]), None)
        .await;
    assert_eq!(again.status(), StatusCode::FORBIDDEN);
    assert_eq!(
        again.json::<Value>().await.unwrap(),
        json!({ "message": "403 Forbidden - Job is not retryable" })
    );

    // The third attempt succeeds once it has had time to run.
    sim.sim.advance(chrono::Duration::minutes(10));
    let done = api.json(&format!("/projects/1/jobs/{}", new_job["id"])).await;
    assert_eq!(done["status"], "success");
    assert!(done.get("failure_reason").is_none());
}

#[tokio::test]
async fn play_cancel_and_pipeline_actions_answer_with_gitlabs_codes() {
    let (_sim, api) = start(1000).await;
    let tag_pipeline = api.json("/projects/1/pipelines?scope=tags&per_page=1").await[0]["id"]
        .as_u64()
        .unwrap();
    let deploy = job_named(&api, tag_pipeline, "deploy_live").await;
    assert_eq!(deploy["status"], "manual");
    let played = api
        .post(
            &format!("/projects/1/jobs/{}/play", deploy["id"]),
            Some(json!({ "job_variables_attributes": [{ "key": "DRY_RUN", "value": "false" }] })),
        )
        .await;
    assert_eq!(played.status(), StatusCode::OK);
    assert_eq!(played.json::<Value>().await.unwrap()["status"], "pending");
    let unplayable = api.post(&format!("/projects/1/jobs/{}/play", deploy["id"]), None).await;
    assert_eq!(unplayable.status(), StatusCode::BAD_REQUEST);
    assert_eq!(
        unplayable.json::<Value>().await.unwrap(),
        json!({ "message": "400 Bad request - Unplayable Job" })
    );

    let canceled = api
        .post(&format!("/projects/1/jobs/{}/cancel", deploy["id"]), None)
        .await;
    assert_eq!(canceled.status(), StatusCode::CREATED);
    assert_eq!(canceled.json::<Value>().await.unwrap()["status"], "canceled");

    let failing = failing_pipeline(&api).await["id"].as_u64().unwrap();
    let retry = api.post(&format!("/projects/1/pipelines/{failing}/retry"), None).await;
    assert_eq!(retry.status(), StatusCode::CREATED);
    assert_eq!(retry.json::<Value>().await.unwrap()["status"], "running");
    let cancel = api.post(&format!("/projects/1/pipelines/{failing}/cancel"), None).await;
    assert_eq!(cancel.status(), StatusCode::OK);
    assert_eq!(cancel.json::<Value>().await.unwrap()["status"], "canceled");
}

#[tokio::test]
async fn traces_are_whole_plain_text_and_grow_while_running() {
    let (sim, api) = start(1000).await;
    let pipeline = failing_pipeline(&api).await["id"].as_u64().unwrap();
    let failed = job_named(&api, pipeline, "image_build").await;
    let trace = api.get(&format!("/projects/1/jobs/{}/trace", failed["id"])).await;
    assert_eq!(trace.headers()["content-type"], "text/plain");
    assert_eq!(
        trace.headers()["content-disposition"],
        format!("infile; filename=\"{}.log\"", failed["id"]).as_str()
    );
    let text = trace.text().await.unwrap();
    assert!(text.contains("x509: certificate signed by unknown authority"));
    assert!(text.contains("section_start:") && text.contains("\r\x1b[0K"));
    assert!(text.contains("\x1b[31;1mERROR: Job failed: exit code 1"));

    // Range is ignored: the whole log, 200.
    let ranged = api
        .http
        .get(format!("{}/api/v4/projects/1/jobs/{}/trace", api.base, failed["id"]))
        .header("PRIVATE-TOKEN", TOKEN)
        .header("Range", "bytes=0-9")
        .send()
        .await
        .unwrap();
    assert_eq!(ranged.status(), StatusCode::OK);
    assert_eq!(ranged.text().await.unwrap().len(), text.len());

    let new_job: Value = api
        .post(&format!("/projects/1/jobs/{}/retry", failed["id"]), None)
        .await
        .json()
        .await
        .unwrap();
    let path = format!("/projects/1/jobs/{}/trace", new_job["id"]);
    assert_eq!(
        api.get(&path).await.text().await.unwrap(),
        "",
        "no log before the job starts"
    );
    sim.sim.advance(chrono::Duration::seconds(20));
    let early = api.get(&path).await.text().await.unwrap();
    sim.sim.advance(chrono::Duration::minutes(10));
    let late = api.get(&path).await.text().await.unwrap();
    assert!(!early.is_empty() && late.len() > early.len() && late.starts_with(&early));
    assert!(late.contains("[collapsed=true]") && late.contains("Pushed") && late.contains("Job succeeded"));
}

#[tokio::test]
async fn past_the_rate_limit_gitlab_answers_429_in_plain_text() {
    let (_sim, api) = start(3).await;
    // The window is a calendar minute, so a burst may straddle two windows: allow for one reset.
    let mut limited = None;
    for _ in 0..7 {
        let response = api.get("/version").await;
        for header in [
            "ratelimit-limit",
            "ratelimit-remaining",
            "ratelimit-reset",
            "ratelimit-observed",
            "ratelimit-name",
        ] {
            assert!(response.headers().contains_key(header), "{header}");
        }
        if response.status() == StatusCode::TOO_MANY_REQUESTS {
            limited = Some(response);
            break;
        }
        assert_eq!(response.status(), StatusCode::OK);
    }
    let limited = limited.expect("a 429 within two windows' worth of requests");
    assert!(
        limited.headers()["retry-after"]
            .to_str()
            .unwrap()
            .parse::<u64>()
            .unwrap()
            >= 1
    );
    assert!(limited.headers().contains_key("ratelimit-resettime"));
    assert_eq!(limited.headers()["ratelimit-remaining"], "0");
    assert_eq!(limited.text().await.unwrap(), "Retry later\n");
}

#[tokio::test]
async fn graphql_gives_stage_order_groups_and_needs() {
    let (_sim, api) = start(1000).await;
    let pipeline = api.json("/projects/2/pipelines?ref=main&per_page=1").await[0].clone();
    let query = r#"query($fullPath: ID!, $iid: ID!) { project(fullPath: $fullPath) { pipeline(iid: $iid) {
        status stages { nodes { name groups { nodes { name size jobs { nodes { id name schedulingType needs { nodes { name } } } } } } } } } } }"#;
    let answer: Value = api
        .http
        .post(format!("{}/api/graphql", api.base))
        .bearer_auth(TOKEN)
        .json(&json!({ "query": query, "variables": { "fullPath": "platform/payments-api", "iid": pipeline["iid"].to_string() } }))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let stages = answer["data"]["project"]["pipeline"]["stages"]["nodes"]
        .as_array()
        .unwrap();
    let names: Vec<&str> = stages.iter().map(|s| s["name"].as_str().unwrap()).collect();
    assert_eq!(names[..3], ["build", "test", "package"]);
    let test_groups = stages[1]["groups"]["nodes"].as_array().unwrap();
    let rspec = test_groups.iter().find(|g| g["name"] == "rspec").unwrap();
    assert_eq!(rspec["size"], 3);
    let package = &stages[2]["groups"]["nodes"][0]["jobs"]["nodes"][0];
    assert_eq!(package["schedulingType"], "dag");
    let needs: Vec<&str> = package["needs"]["nodes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| n["name"].as_str().unwrap())
        .collect();
    assert_eq!(needs, ["rspec 1/3", "rspec 2/3", "rspec 3/3"]);
    assert!(package["id"].as_str().unwrap().starts_with("gid://gitlab/Ci::Build/"));
}

#[tokio::test]
async fn faults_make_the_api_slow_failing_or_truncated() {
    let (sim, api) = start(1000).await;
    sim.sim.set_faults(Faults {
        truncate: true,
        ..Faults::default()
    });
    let body = api.get("/projects/1").await.text().await.unwrap();
    assert!(
        serde_json::from_str::<Value>(&body).is_err(),
        "truncated JSON does not parse"
    );
    sim.sim.set_faults(Faults {
        status: Some(502),
        ..Faults::default()
    });
    assert_eq!(api.get("/projects/1").await.status(), StatusCode::BAD_GATEWAY);
    sim.sim.set_faults(Faults::default());
    assert_eq!(api.get("/projects/1").await.status(), StatusCode::OK);
}

#[tokio::test]
async fn environments_list_follows_gitlabs_rules() {
    let (_sim, api) = start(1000).await;
    let all = api.json("/projects/1/environments?per_page=100").await;
    let names: Vec<&str> = all
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["name"].as_str().unwrap())
        .collect();
    assert!(names.contains(&"dev") && names.contains(&"live"), "{names:?}");
    assert!(
        names.iter().any(|n| n.starts_with("review/")),
        "review apps form a folder: {names:?}"
    );
    assert!(
        all.as_array()
            .unwrap()
            .iter()
            .all(|e| e.get("last_deployment").is_none()),
        "the list has no last_deployment"
    );
    let live = all.as_array().unwrap().iter().find(|e| e["name"] == "live").unwrap();
    assert_eq!(live["tier"], "production");
    let review = all
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["name"].as_str().unwrap().starts_with("review/"))
        .unwrap();
    assert_eq!(review["slug"].as_str().unwrap().len(), 24, "{review}");
    assert!(
        review["auto_stop_at"].is_string() || review["state"] != "available",
        "{review}"
    );
    let short = api.get("/projects/1/environments?search=li").await;
    assert_eq!(short.status(), StatusCode::BAD_REQUEST);
    assert_eq!(
        short.json::<Value>().await.unwrap(),
        json!({ "message": "400 Bad request - Search query is less than 3 characters" })
    );
    let both = api.get("/projects/1/environments?search=liv&name=live").await;
    assert_eq!(both.status(), StatusCode::BAD_REQUEST);
    assert_eq!(
        api.json("/projects/1/environments?search=liv")
            .await
            .as_array()
            .unwrap()
            .len(),
        1
    );
}

#[tokio::test]
async fn an_environment_shows_its_last_deployment_and_stops_through_its_stop_job() {
    let (sim, api) = start(1000).await;
    let dev = api.json("/projects/1/environments?name=dev").await[0].clone();
    let detail = api.json(&format!("/projects/1/environments/{}", dev["id"])).await;
    let last = &detail["last_deployment"];
    assert_eq!(last["status"], "success");
    assert_eq!(last["deployable"]["name"], "deploy_review");
    assert_eq!(last["environment"]["name"], "dev");

    let stopped = api
        .post(&format!("/projects/1/environments/{}/stop", dev["id"]), None)
        .await;
    assert_eq!(stopped.status(), StatusCode::OK);
    assert_eq!(
        stopped.json::<Value>().await.unwrap()["state"],
        "stopping",
        "stop_review runs"
    );
    sim.sim.advance(chrono::Duration::minutes(5));
    assert_eq!(
        api.json(&format!("/projects/1/environments/{}", dev["id"])).await["state"],
        "stopped"
    );

    let live = api.json("/projects/1/environments?name=live").await[0].clone();
    let forced = api
        .post(
            &format!("/projects/1/environments/{}/stop?force=true", live["id"]),
            None,
        )
        .await;
    assert_eq!(forced.json::<Value>().await.unwrap()["state"], "stopped");
    let stopped_list = api.json("/projects/1/environments?states=stopped").await;
    assert_eq!(stopped_list.as_array().unwrap().len(), 2);
}

#[tokio::test]
async fn deployments_list_sorts_ascending_and_validates_filters() {
    let (_sim, api) = start(1000).await;
    let all = api.json("/projects/1/deployments?environment=dev&per_page=100").await;
    let ids: Vec<u64> = all
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["id"].as_u64().unwrap())
        .collect();
    let mut sorted = ids.clone();
    sorted.sort();
    assert_eq!(ids, sorted, "ascending by default");
    assert!(
        all.as_array()
            .unwrap()
            .iter()
            .all(|d| d["environment"]["name"] == "dev")
    );
    let blocked = api
        .json("/projects/1/deployments?environment=live&status=blocked")
        .await;
    let blocked = blocked.as_array().unwrap();
    assert!(
        !blocked.is_empty() && blocked.iter().all(|d| d["deployable"]["status"] == "manual"),
        "a waiting manual deploy's deployment is blocked (GitLab 15 and later): {blocked:?}"
    );
    let bad = api
        .get("/projects/1/deployments?updated_after=2026-01-01T00:00:00Z")
        .await;
    assert_eq!(bad.status(), StatusCode::BAD_REQUEST);
    let one = api.json(&format!("/projects/1/deployments/{}", ids[0])).await;
    assert_eq!(one["id"].as_u64(), Some(ids[0]));
    assert_eq!(
        api.get("/projects/1/deployments/999999").await.status(),
        StatusCode::NOT_FOUND
    );
}

#[tokio::test]
async fn compare_lists_the_commits_a_deploy_would_bring() {
    let (_sim, api) = start(1000).await;
    let pipelines = api.json("/projects/1/pipelines?per_page=100&sort=asc").await;
    let list = pipelines.as_array().unwrap();
    let (old, new) = (&list[2]["sha"], &list[6]["sha"]);
    let answer = api
        .json(&format!(
            "/projects/1/repository/compare?from={}&to={}",
            old.as_str().unwrap(),
            new.as_str().unwrap()
        ))
        .await;
    let commits = answer["commits"].as_array().unwrap();
    assert!(!commits.is_empty() && commits.len() <= 4, "{}", commits.len());
    assert_eq!(commits.last().unwrap()["id"], *new);
    assert!(
        commits
            .iter()
            .all(|c| c["title"].is_string() && c["author_name"].is_string())
    );
    assert_eq!(
        api.get("/projects/1/repository/compare?from=nope&to=main")
            .await
            .status(),
        StatusCode::NOT_FOUND
    );
}

#[tokio::test]
async fn payments_api_logs_carry_runner_timestamps() {
    let (_sim, api) = start(1000).await;
    let jobs = api.json("/projects/2/jobs?scope[]=success&per_page=1").await;
    let text = api
        .get(&format!("/projects/2/jobs/{}/trace", jobs[0]["id"]))
        .await
        .text()
        .await
        .unwrap();
    for line in text.lines().take(20) {
        let header = &line.as_bytes()[..32];
        assert!(
            header[26] == b'Z' && header[27] == b' ' && header[30] == b'O' || header[30] == b'E',
            "{line:?}"
        );
        assert!(
            chrono::DateTime::parse_from_rfc3339(std::str::from_utf8(&header[..27]).unwrap()).is_ok(),
            "{line:?}"
        );
    }
}
