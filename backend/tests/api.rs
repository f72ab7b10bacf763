//! The JSON API against the simulated GitLab, over real HTTP.

mod common;

use common::{TestApp, assert_error};
use serde_json::Value;

async fn latest_main(app: &TestApp, project: u64) -> Value {
    app.json(&format!("/api/v1/projects/{project}/pipelines?ref=main&per_page=1"))
        .await["pipelines"][0]
        .clone()
}

fn stage_names(detail: &Value) -> Vec<String> {
    detail["stages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["name"].as_str().unwrap().to_owned())
        .collect()
}

fn job<'a>(detail: &'a Value, name: &str) -> &'a Value {
    detail["stages"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|s| s["jobs"].as_array().unwrap())
        .rfind(|j| j["name"] == name && j["retried"] == false)
        .unwrap_or_else(|| panic!("no job {name}"))
}

#[tokio::test]
async fn lists_the_configured_projects_given_by_path_or_id() {
    let app = TestApp::start().await;
    let projects = app.json("/api/v1/projects").await;
    let paths: Vec<&str> = projects
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["path_with_namespace"].as_str().unwrap())
        .collect();
    assert_eq!(
        paths,
        ["demo/gitlab-k8s-demo", "platform/payments-api", "platform/web/monorepo"]
    );
    assert_eq!(projects[0]["default_branch"], "main");
}

#[tokio::test]
async fn a_project_that_is_not_watched_is_not_served() {
    let app = TestApp::builder().projects(&["demo/gitlab-k8s-demo"]).start().await;
    assert_error(&app.get("/api/v1/projects/2/pipelines").await, 404, "not_found");
    assert_eq!(app.get("/api/v1/projects/1/pipelines").await.status, 200);
}

#[tokio::test]
async fn an_unknown_configured_project_is_left_out_and_the_others_served() {
    let app = TestApp::builder()
        .projects(&["demo/gitlab-k8s-demo", "nobody/nothing"])
        .start()
        .await;
    // One deleted or mistyped project does not blank the dashboard: it is named in the log
    // (at each reading of the selection) and left out.
    let listed = app.json("/api/v1/projects").await;
    let paths: Vec<&str> = listed
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["path_with_namespace"].as_str().unwrap())
        .collect();
    assert_eq!(paths, ["demo/gitlab-k8s-demo"]);
}

#[tokio::test]
async fn pipelines_are_filtered_and_paginated() {
    let app = TestApp::start().await;
    let page = app.json("/api/v1/projects/1/pipelines?per_page=3&page=2").await;
    assert_eq!(page["pipelines"].as_array().unwrap().len(), 3);
    assert_eq!(page["page"], 2);
    assert_eq!(page["next_page"], 3);
    assert!(page["total"].as_u64().unwrap() > 6);

    let failed = app
        .json("/api/v1/projects/1/pipelines?status=failed&per_page=100")
        .await;
    assert!(
        failed["pipelines"]
            .as_array()
            .unwrap()
            .iter()
            .all(|p| p["status"] == "failed")
    );
    let main = app.json("/api/v1/projects/1/pipelines?ref=main&per_page=100").await;
    assert!(main["pipelines"].as_array().unwrap().iter().all(|p| p["ref"] == "main"));
    let children = app.json("/api/v1/projects/3/pipelines?source=parent_pipeline").await;
    assert!(
        children["pipelines"]
            .as_array()
            .unwrap()
            .iter()
            .all(|p| p["source"] == "parent_pipeline")
    );

    assert_error(
        &app.get("/api/v1/projects/1/pipelines?status=exploded").await,
        400,
        "bad_request",
    );
    assert_error(
        &app.get("/api/v1/projects/1/pipelines?source=carrier-pigeon").await,
        400,
        "bad_request",
    );
    assert_error(
        &app.get("/api/v1/projects/1/pipelines?page=first").await,
        400,
        "bad_request",
    );
}

#[tokio::test]
async fn the_failing_pipeline_shows_its_stages_in_order_with_the_retried_attempt() {
    let app = TestApp::start().await;
    let pipeline = latest_main(&app, 1).await;
    assert_eq!(pipeline["status"], "failed");
    let detail = app
        .json(&format!("/api/v1/projects/1/pipelines/{}", pipeline["id"]))
        .await;
    assert_eq!(detail["stage_order"], "graphql");
    assert_eq!(stage_names(&detail), ["test", "build", "release", "review"]);
    let release = &detail["stages"][2];
    assert_eq!(release["status"], "failed");
    let attempts: Vec<&Value> = release["jobs"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|j| j["name"] == "image_build")
        .collect();
    assert_eq!(attempts.len(), 2);
    assert_eq!(attempts[0]["retried"], true);
    assert_eq!(attempts[1]["retried"], false);
    assert_eq!(detail["stages"][3]["status"], "skipped");
    assert!(
        detail["pipeline"]["commit"]["title"]
            .as_str()
            .is_some_and(|t| !t.is_empty())
    );
}

#[tokio::test]
async fn needs_are_reported_and_stages_keep_gitlabs_order() {
    let app = TestApp::start().await;
    let pipeline = latest_main(&app, 2).await;
    let detail = app
        .json(&format!("/api/v1/projects/2/pipelines/{}", pipeline["id"]))
        .await;
    assert_eq!(stage_names(&detail)[..3], ["build", "test", "package"]);
    let needs: Vec<&str> = job(&detail, "package-api")["needs"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| n.as_str().unwrap())
        .collect();
    assert_eq!(needs, ["rspec 1/3", "rspec 2/3", "rspec 3/3"]);
    assert!(job(&detail, "build-api")["needs"].as_array().unwrap().is_empty());
}

#[tokio::test]
async fn a_trigger_job_links_its_child_pipeline() {
    let app = TestApp::start().await;
    let pipeline = latest_main(&app, 3).await;
    let detail = app
        .json(&format!("/api/v1/projects/3/pipelines/{}", pipeline["id"]))
        .await;
    let downstream = &detail["downstream"][0];
    assert_eq!(downstream["bridge_name"], "frontend");
    let child = &downstream["pipeline"];
    assert_eq!(child["source"], "parent_pipeline");
    let child_detail = app.json(&format!("/api/v1/projects/3/pipelines/{}", child["id"])).await;
    assert_eq!(stage_names(&child_detail), ["lint", "build", "test"]);
    // The bridge is a job of the triggers stage too.
    assert_eq!(job(&detail, "frontend")["stage"], "triggers");
}

#[tokio::test]
async fn without_graphql_stages_are_ordered_by_job_ids() {
    let app = TestApp::start().await;
    let pipeline = latest_main(&app, 1).await;
    app.sim.sim.set_faults(stageboard_sim::Faults {
        no_graphql: true,
        ..Default::default()
    });
    let detail = app
        .json(&format!("/api/v1/projects/1/pipelines/{}", pipeline["id"]))
        .await;
    assert_eq!(detail["stage_order"], "job_ids");
    assert_eq!(stage_names(&detail), ["test", "build", "release", "review"]);
    assert!(job(&detail, "compile")["needs"].as_array().unwrap().is_empty());
}

/// A 4 MB log comes in pages of at most 2 MB that add up to the whole log, the last one
/// saying it is complete: one answer never carries a whole huge log.
#[tokio::test]
async fn a_long_log_comes_in_pages() {
    let app = TestApp::start().await;
    let found = app.json("/api/v1/projects/2/pipelines?status=success&per_page=1").await;
    let pipeline = found["pipelines"][0]["id"].as_u64().unwrap();
    let detail = app.json(&format!("/api/v1/projects/2/pipelines/{pipeline}")).await;
    let integration = job(&detail, "integration")["id"].as_u64().unwrap();
    let mut pages = Vec::new();
    let mut offset = 0;
    loop {
        let page = app
            .json(&format!("/api/v1/projects/2/jobs/{integration}/log?offset={offset}"))
            .await;
        assert_eq!(page["offset"], offset);
        let content = page["content"].as_str().unwrap().to_owned();
        assert!(content.len() <= 2 << 20, "a page carries at most 2 MB");
        offset = page["next_offset"].as_u64().unwrap();
        let (more, complete) = (page["more"] == true, page["complete"] == true);
        assert!(!(more && complete), "an unfinished read is not complete");
        pages.push(content);
        if !more {
            assert!(complete, "the last page of a finished job's log is complete");
            break;
        }
    }
    assert!(pages.len() >= 2, "{} pages", pages.len());
    let whole: usize = pages.iter().map(String::len).sum();
    assert_eq!(whole as u64, offset, "the pages add up to the log");
    assert!(whole > 4_000_000, "{whole} bytes");
}

#[tokio::test]
async fn a_log_is_read_from_an_offset_and_follows_a_running_job() {
    let app = TestApp::start().await;
    let pipeline = latest_main(&app, 1).await;
    let detail = app
        .json(&format!("/api/v1/projects/1/pipelines/{}", pipeline["id"]))
        .await;
    let failed = job(&detail, "image_build")["id"].as_u64().unwrap();

    let whole = app.json(&format!("/api/v1/projects/1/jobs/{failed}/log")).await;
    assert_eq!(whole["complete"], true);
    assert_eq!(whole["offset"], 0);
    let content = whole["content"].as_str().unwrap();
    assert!(content.contains("x509: certificate signed by unknown authority"));
    let size = whole["next_offset"].as_u64().unwrap();
    assert_eq!(size as usize, content.len());
    let tail = app
        .json(&format!("/api/v1/projects/1/jobs/{failed}/log?offset={}", size - 10))
        .await;
    assert_eq!(tail["content"].as_str().unwrap(), &content[content.len() - 10..]);
    let nothing_new = app
        .json(&format!("/api/v1/projects/1/jobs/{failed}/log?offset={size}"))
        .await;
    assert_eq!(nothing_new["content"], "");

    let retried = app.post(&format!("/api/v1/projects/1/jobs/{failed}/retry"), "").await;
    assert_eq!(retried.status, 200, "{}", retried.text);
    let new_id = retried.body["job"]["id"].as_u64().unwrap();
    assert_ne!(new_id, failed);
    app.advance(chrono::Duration::seconds(25)).await;
    let first = app.json(&format!("/api/v1/projects/1/jobs/{new_id}/log")).await;
    assert_eq!(first["complete"], false);
    assert_eq!(first["status"], "running");
    app.advance(chrono::Duration::minutes(10)).await;
    let rest = app
        .json(&format!(
            "/api/v1/projects/1/jobs/{new_id}/log?offset={}",
            first["next_offset"]
        ))
        .await;
    assert_eq!(rest["complete"], true);
    assert!(rest["content"].as_str().unwrap().contains("Job succeeded"));
    assert!(
        !rest["content"].as_str().unwrap().contains("Running with gitlab-runner"),
        "only the appended bytes"
    );
    assert_eq!(
        app.json(&format!("/api/v1/projects/1/jobs/{new_id}")).await["status"],
        "success"
    );
}

#[tokio::test]
async fn actions_report_gitlabs_answer_plainly() {
    let app = TestApp::start().await;
    let pipeline = latest_main(&app, 1).await;
    let detail = app
        .json(&format!("/api/v1/projects/1/pipelines/{}", pipeline["id"]))
        .await;
    let retried_attempt = detail["stages"][2]["jobs"][0]["id"].as_u64().unwrap();
    let refused = app
        .post(&format!("/api/v1/projects/1/jobs/{retried_attempt}/retry"), "")
        .await;
    assert_error(&refused, 403, "gitlab_refused");
    assert!(
        refused.body["message"]
            .as_str()
            .unwrap()
            .contains("Job is not retryable")
    );

    let compile = job(&detail, "compile")["id"].as_u64().unwrap();
    let unplayable = app.post(&format!("/api/v1/projects/1/jobs/{compile}/play"), "").await;
    assert_error(&unplayable, 400, "gitlab_refused");
    assert!(unplayable.body["message"].as_str().unwrap().contains("Unplayable Job"));

    let tags = app.json("/api/v1/projects/1/pipelines?per_page=100").await;
    let tag = tags["pipelines"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["ref"].as_str().unwrap().starts_with('v'))
        .unwrap();
    let tag_detail = app.json(&format!("/api/v1/projects/1/pipelines/{}", tag["id"])).await;
    let deploy = job(&tag_detail, "deploy_live");
    assert_eq!(deploy["status"], "manual");
    let played = app
        .post(
            &format!("/api/v1/projects/1/jobs/{}/play", deploy["id"]),
            r#"{"variables":[{"key":"DRY_RUN","value":"false"}]}"#,
        )
        .await;
    assert_eq!(played.status, 200, "{}", played.text);
    assert_eq!(played.body["job"]["status"], "pending");
    let canceled = app
        .post(&format!("/api/v1/projects/1/jobs/{}/cancel", deploy["id"]), "")
        .await;
    assert_eq!(canceled.body["job"]["status"], "canceled");

    let retry_pipeline = app
        .post(&format!("/api/v1/projects/1/pipelines/{}/retry", pipeline["id"]), "")
        .await;
    assert_eq!(retry_pipeline.body["pipeline"]["status"], "running");
    let cancel_pipeline = app
        .post(&format!("/api/v1/projects/1/pipelines/{}/cancel", pipeline["id"]), "")
        .await;
    assert_eq!(cancel_pipeline.body["pipeline"]["status"], "canceled");
}

#[tokio::test]
async fn without_sign_in_set_up_actions_are_refused_outside_demo_mode() {
    let app = TestApp::builder().reads_only().start().await;
    for path in [
        "/api/v1/projects/1/jobs/5000/retry",
        "/api/v1/projects/1/jobs/5000/play",
        "/api/v1/projects/1/pipelines/1000/cancel",
    ] {
        let a = app.post(path, "").await;
        assert_error(&a, 403, "forbidden");
        assert!(a.body["message"].as_str().unwrap().contains("GITLAB_OAUTH_CLIENT_ID"));
    }
    assert_eq!(app.json("/api/v1/info").await["actions_enabled"], false);
}

#[tokio::test]
async fn garbage_input_gets_clear_errors_not_panics() {
    let app = TestApp::start().await;
    let pipeline = latest_main(&app, 1).await;
    let detail = app
        .json(&format!("/api/v1/projects/1/pipelines/{}", pipeline["id"]))
        .await;
    let job_id = job(&detail, "compile")["id"].as_u64().unwrap();
    for path in [
        "/api/v1/projects/abc/pipelines",
        "/api/v1/projects/-1/pipelines",
        "/api/v1/projects/1/pipelines/1.5",
        "/api/v1/projects/1/jobs/%00/log",
        "/api/v1/projects/99999999999999999999999/pipelines",
        "/api/v1/projects/1/jobs/5000/log?offset=-3",
        "/api/v1/projects/1/jobs/5000/log?offset=lots",
        "/api/v1/projects/1/pipelines?per_page=%F0%9F%92%A5",
    ] {
        assert_error(&app.get(path).await, 400, "bad_request");
    }
    let huge = app
        .get(&format!(
            "/api/v1/projects/1/jobs/{job_id}/log?offset=18446744073709551615"
        ))
        .await;
    assert_error(&huge, 416, "offset_out_of_range");
    assert_error(&app.get("/api/v1/projects/1/jobs/999999").await, 404, "not_found");
    assert_error(&app.get("/api/v1/projects/1/pipelines/999999").await, 404, "not_found");
    assert_error(&app.get("/api/v1/projects/77/pipelines").await, 404, "not_found");
    assert_error(&app.get("/api/v1/no/such/route").await, 404, "not_found");
    assert_error(&app.get("/api/nothing").await, 404, "not_found");
    assert_error(&app.post("/api/v1/projects", "").await, 405, "bad_request");
    for body in [
        "{",
        "[]",
        r#"{"variables": "DRY_RUN"}"#,
        r#"{"variables":[{"key":"","value":"x"}]}"#,
        "\u{0}\u{1}",
    ] {
        assert_error(
            &app.post(&format!("/api/v1/projects/1/jobs/{job_id}/play"), body).await,
            400,
            "bad_request",
        );
    }
    assert_error(
        &app.post("/api/v1/demo/advance", "{\"seconds\": -5}").await,
        400,
        "bad_request",
    );
    assert_eq!(app.get("/health").await.status, 200);
}

/// The router and the OpenAPI document are made together: every documented path answers its
/// method (not with the API's "no such route" 404, a 405, or the SPA's page).
#[tokio::test]
async fn every_documented_route_is_served() {
    let app = TestApp::start().await;
    let doc = app.json("/api/v1/openapi.json").await;
    let mut checked = 0;
    for (path, item) in doc["paths"].as_object().unwrap() {
        let concrete: Vec<&str> = path
            .split('/')
            .map(|segment| if segment.starts_with('{') { "1" } else { segment })
            .collect();
        let url = format!("{}{}", app.base, concrete.join("/"));
        for method in item.as_object().unwrap().keys() {
            let method = reqwest::Method::from_bytes(method.to_uppercase().as_bytes()).unwrap();
            let response = app
                .http
                .request(method.clone(), &url)
                .header("content-type", "application/json")
                .body("{}")
                .timeout(std::time::Duration::from_secs(10))
                .send()
                .await
                .unwrap();
            let status = response.status().as_u16();
            let html = response
                .headers()
                .get("content-type")
                .is_some_and(|t| t.to_str().unwrap().starts_with("text/html"));
            // Event streams never end: only a 404's body is read.
            let text = if status == 404 {
                response.text().await.unwrap()
            } else {
                String::new()
            };
            assert!(
                status != 405 && !html && !text.contains("There is no API route"),
                "{method} {path} is documented but not served: {status} {text}"
            );
            checked += 1;
        }
    }
    assert!(checked >= 20, "only {checked} routes documented");
}

#[tokio::test]
async fn the_openapi_document_describes_every_route() {
    let app = TestApp::start().await;
    let doc = app.json("/api/v1/openapi.json").await;
    assert!(doc["openapi"].as_str().unwrap().starts_with("3."));
    let paths = doc["paths"].as_object().unwrap();
    for path in [
        "/api/v1/projects",
        "/api/v1/projects/{project_id}/pipelines",
        "/api/v1/projects/{project_id}/pipelines/{pipeline_id}",
        "/api/v1/projects/{project_id}/pipelines/{pipeline_id}/retry",
        "/api/v1/projects/{project_id}/pipelines/{pipeline_id}/cancel",
        "/api/v1/projects/{project_id}/jobs/{job_id}",
        "/api/v1/projects/{project_id}/jobs/{job_id}/log",
        "/api/v1/projects/{project_id}/jobs/{job_id}/retry",
        "/api/v1/projects/{project_id}/jobs/{job_id}/cancel",
        "/api/v1/projects/{project_id}/jobs/{job_id}/play",
        "/health",
    ] {
        assert!(paths.contains_key(path), "{path} missing from the OpenAPI document");
    }
    assert!(doc["components"]["schemas"].get("ErrorBody").is_some());
}

#[tokio::test]
async fn the_overview_says_since_when_main_is_red_and_by_whom() {
    let app = TestApp::start().await;
    let cards = app.json("/api/v1/overview").await;
    let cards = cards.as_array().unwrap();
    assert_eq!(cards.len(), 3);
    let demo = &cards[0];
    assert_eq!(demo["project"]["name"], "gitlab-k8s-demo");
    assert!(demo["error"].is_null());
    let latest = &demo["latest"];
    assert_eq!(latest["ref"], "main");
    assert_eq!(latest["status"], "failed");
    let marks: Vec<(&str, &str)> = latest["stages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| (s["name"].as_str().unwrap(), s["status"].as_str().unwrap()))
        .collect();
    assert_eq!(
        marks,
        [
            ("test", "success"),
            ("build", "success"),
            ("release", "failed"),
            ("review", "skipped")
        ]
    );
    assert!(latest["commit"]["title"].as_str().is_some_and(|t| !t.is_empty()));
    assert!(latest["user"]["name"].as_str().is_some());
    assert!(latest["duration"].as_u64().is_some());

    let broken = &demo["broken_since"];
    assert!(broken["failed_pipelines"].as_u64().unwrap() >= 1);
    assert!(!broken["authors"].as_array().unwrap().is_empty());
    assert!(broken["since"].as_str().is_some());
    // The breaker is the oldest failed pipeline after the last green one.
    let history = app.json("/api/v1/projects/1/pipelines?ref=main&per_page=50").await;
    let ids: Vec<u64> = history["pipelines"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|p| p["status"] == "failed" || p["status"] == "success")
        .take_while(|p| p["status"] == "failed")
        .map(|p| p["id"].as_u64().unwrap())
        .collect();
    assert_eq!(broken["pipeline_id"].as_u64(), ids.last().copied());

    let others = demo["other_refs"].as_array().unwrap();
    assert!(!others.is_empty());
    assert!(others.iter().all(|p| p["ref"] != "main"));
    assert!(
        others.iter().any(|p| p["ref"].as_str().unwrap().starts_with('v')),
        "tags are among them"
    );
}

#[tokio::test]
async fn the_overview_keeps_other_projects_when_one_fails() {
    let app = TestApp::start().await;
    app.sim.sim.set_faults(stageboard_sim::Faults {
        no_graphql: true,
        ..Default::default()
    });
    let cards = app.json("/api/v1/overview").await;
    // Without GraphQL the cards still come, without stage marks.
    assert_eq!(cards[0]["latest"]["status"], "failed");
    assert!(cards[0]["latest"]["stages"].as_array().unwrap().is_empty());
}

#[tokio::test]
async fn listed_pipelines_carry_commit_user_duration_and_stage_marks() {
    let app = TestApp::start().await;
    let page = app.json("/api/v1/projects/2/pipelines?per_page=12").await;
    for p in page["pipelines"].as_array().unwrap() {
        assert!(p["commit"]["title"].as_str().is_some(), "{p}");
        assert!(p["user"]["username"].as_str().is_some(), "{p}");
        assert!(!p["stages"].as_array().unwrap().is_empty(), "{p}");
        if p["status"] == "success" || p["status"] == "failed" {
            assert!(p["duration"].as_u64().is_some(), "{p}");
        }
    }
}

#[tokio::test]
async fn a_manual_deploy_names_its_environment_and_tier() {
    let app = TestApp::start().await;
    let all = app.json("/api/v1/projects/1/pipelines?per_page=100").await;
    let tag = all["pipelines"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["ref"].as_str().unwrap().starts_with('v'))
        .unwrap()
        .clone();
    let detail = app.json(&format!("/api/v1/projects/1/pipelines/{}", tag["id"])).await;
    let deploy = job(&detail, "deploy_live");
    assert_eq!(deploy["status"], "manual");
    assert_eq!(deploy["environment"]["name"], "live");
    assert_eq!(deploy["environment"]["tier"], "production");
    assert_eq!(
        deploy["environment"]["external_url"],
        "https://gitlab-k8s-demo.example.com"
    );
    let single = app.json(&format!("/api/v1/projects/1/jobs/{}", deploy["id"])).await;
    assert_eq!(single["environment"]["name"], "live");
    // Without GraphQL's answer the job is still shown, without an environment. (A new
    // stageboard: this one has GraphQL's earlier answer and keeps it while nothing changes.)
    let fresh = TestApp::start().await;
    fresh.sim.sim.set_faults(stageboard_sim::Faults {
        no_graphql: true,
        ..Default::default()
    });
    let single = fresh.json(&format!("/api/v1/projects/1/jobs/{}", deploy["id"])).await;
    assert_eq!(single["name"], "deploy_live");
    assert!(single["environment"].is_null());
}
