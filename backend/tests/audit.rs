//! The audit log over HTTP: every action sent to GitLab is recorded with who, where from, the
//! request id and GitLab's answer, read back filtered, and kept across a restart.

mod common;

use common::TestApp;
use serde_json::Value;

/// The id of `name`'s last attempt in the latest pipeline of project 1's main branch.
async fn job_of_latest_main(app: &TestApp, name: &str) -> u64 {
    let pipeline = app.json("/api/v1/projects/1/pipelines?ref=main&per_page=1").await["pipelines"][0].clone();
    let detail = app
        .json(&format!("/api/v1/projects/1/pipelines/{}", pipeline["id"]))
        .await;
    detail["stages"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|s| s["jobs"].as_array().unwrap())
        .rfind(|j| j["name"] == name && j["retried"] == false)
        .unwrap_or_else(|| panic!("no job {name}"))["id"]
        .as_u64()
        .unwrap()
}

async fn act(app: &TestApp, path: &str, request_id: &str) -> u16 {
    app.http
        .post(format!("{}{path}", app.base))
        .header("content-type", "application/json")
        .header("x-request-id", request_id)
        .send()
        .await
        .unwrap()
        .status()
        .as_u16()
}

#[tokio::test]
async fn every_action_sent_to_gitlab_is_in_the_audit_log_across_a_restart() {
    let data = tempfile::tempdir().unwrap();
    let app = TestApp::builder().data_dir(data.path()).start().await;
    let failed = job_of_latest_main(&app, "image_build").await;
    let compile = job_of_latest_main(&app, "compile").await;
    assert_eq!(
        act(&app, &format!("/api/v1/projects/1/jobs/{failed}/retry"), "req-retry").await,
        200
    );
    assert_eq!(
        act(&app, &format!("/api/v1/projects/1/jobs/{compile}/play"), "req-play").await,
        400
    );

    let page = app.json("/api/v1/audit").await;
    let entries = page["entries"].as_array().unwrap();
    assert_eq!(entries.len(), 2, "{page}");
    let (play, retry) = (&entries[0], &entries[1]);
    assert_eq!(play["action"], "play_job", "newest first");
    assert_eq!(play["job_id"], compile);
    assert_eq!(play["outcome"], "refused");
    assert_eq!(play["status"], 400);
    assert!(play["message"].as_str().unwrap().contains("Unplayable Job"), "{play}");
    assert_eq!(play["request_id"], "req-play");
    assert_eq!(play["client_address"], "127.0.0.1");
    assert_eq!(retry["action"], "retry_job");
    assert_eq!(
        (retry["outcome"].as_str(), retry["status"].as_u64()),
        (Some("done"), Some(201)),
        "GitLab's own status: a retry is 201 Created"
    );
    assert_eq!(retry["project_id"], 1);

    let refused = app.json("/api/v1/audit?outcome=refused").await;
    assert_eq!(refused["entries"].as_array().unwrap().len(), 1);
    let first = app.json("/api/v1/audit?limit=1").await;
    assert_eq!(first["entries"][0]["id"], play["id"]);
    let next = app
        .json(&format!("/api/v1/audit?limit=1&before={}", first["next_before"]))
        .await;
    assert_eq!(next["entries"][0]["id"], retry["id"]);
    assert_eq!(next["next_before"], Value::Null, "the last page");
    common::assert_error(&app.get("/api/v1/audit?outcome=maybe").await, 400, "bad_request");
    common::assert_error(&app.get("/api/v1/audit?project=one").await, 400, "bad_request");
    // The audit page's form sends every filter, "any" as empty: no filter.
    let any = app.json("/api/v1/audit?project=&person=&action=&outcome=").await;
    assert_eq!(any["entries"], page["entries"], "empty filters filter nothing");
    let mine = app
        .json("/api/v1/audit?project=1&person=achen&action=retry_job&outcome=")
        .await;
    assert_eq!(mine["entries"].as_array().unwrap().len(), 1, "{mine}");

    // Every answer names its request, the client's id or a new one.
    let answer = app.get("/api/v1/info").await;
    assert!(answer.headers.get("x-request-id").is_some());
    drop(app);

    let again = TestApp::builder().data_dir(data.path()).start().await;
    let kept = again.json("/api/v1/audit").await;
    assert_eq!(kept["entries"], page["entries"], "kept across the restart");
}

#[tokio::test]
async fn a_read_only_stageboard_sends_nothing_and_so_records_nothing() {
    let app = TestApp::builder().reads_only().start().await;
    let failed = job_of_latest_main(&app, "image_build").await;
    assert_eq!(
        act(&app, &format!("/api/v1/projects/1/jobs/{failed}/retry"), "r").await,
        403
    );
    assert_eq!(app.json("/api/v1/audit").await["entries"], serde_json::json!([]));
}
