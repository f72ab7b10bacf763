//! Runners against the simulated GitLab: when the `docker` runners go offline, a job that needs
//! one waits, and `/api/v1/runners` says so ("1 job pending, no online runner with tag
//! `docker`"); when one comes back, the job runs on it and nothing waits.

mod common;

use common::{TOKEN, TestApp};
use serde_json::Value;

/// The simulated GitLab's newest failed `image_build` of gitlab-k8s-demo, asked of GitLab itself.
async fn failed_image_build(app: &TestApp) -> u64 {
    let jobs: Value = reqwest::Client::new()
        .get(format!("{}/api/v4/projects/1/jobs?scope[]=failed", app.sim.url()))
        .header("PRIVATE-TOKEN", TOKEN)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    jobs.as_array()
        .unwrap()
        .iter()
        .find(|j| j["name"] == "image_build")
        .and_then(|j| j["id"].as_u64())
        .expect("the story's failed image_build")
}

fn runner<'a>(runners: &'a Value, name: &str) -> &'a Value {
    runners["runners"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["description"] == name)
        .unwrap_or_else(|| panic!("{name} in {runners}"))
}

#[tokio::test]
async fn a_job_waiting_for_an_offline_runner_is_named_and_runs_when_one_returns() {
    let app = TestApp::start().await;
    let nothing = app.json("/api/v1/runners").await;
    assert_eq!(nothing["waiting"], Value::Array(vec![]), "{nothing}");

    // Both runners with the `docker` tag go offline; the failed image build is retried.
    app.sim.sim.write(|world, now| {
        world.force_runner(12, false, now);
        world.force_runner(13, false, now);
    });
    let failed = failed_image_build(&app).await;
    let retried = app.post(&format!("/api/v1/projects/1/jobs/{failed}/retry"), "").await;
    assert_eq!(retried.status, 200, "{}", retried.text);
    let job = retried.body["job"]["id"].as_u64().unwrap();
    app.advance(chrono::Duration::seconds(60)).await;
    assert_eq!(
        app.json(&format!("/api/v1/projects/1/jobs/{job}")).await["status"],
        "pending"
    );

    let runners = app.json("/api/v1/runners").await;
    let waiting = runners["waiting"].as_array().unwrap();
    assert_eq!(waiting.len(), 1, "{runners}");
    assert_eq!(waiting[0]["tags"], serde_json::json!(["docker"]));
    assert_eq!(waiting[0]["jobs"], 1);
    assert_eq!(waiting[0]["projects"], serde_json::json!(["demo/gitlab-k8s-demo"]));
    assert_eq!(
        waiting[0]["message"],
        "1 job pending, no online runner with tag `docker` (shared-docker-1, shared-docker-2 offline)"
    );
    assert_eq!(runner(&runners, "shared-docker-1")["status"], "offline");
    assert_eq!(runner(&runners, "shared-small-1")["status"], "online");
    // Where anyone may read, a group's runner goes by its kind: GitLab shows its name to the
    // project's Maintainers.
    assert_eq!(runner(&runners, "group runner 14")["kind"], "group");
    assert_eq!(
        runner(&runners, "group runner 14")["tags"],
        serde_json::json!(["kubernetes"])
    );
    assert!(runners["unknown"].as_array().unwrap().is_empty());

    // One comes back: the job runs on it, and nothing waits.
    app.sim.sim.write(|world, now| world.force_runner(12, true, now));
    app.advance(chrono::Duration::seconds(30)).await;
    assert_eq!(
        app.json(&format!("/api/v1/projects/1/jobs/{job}")).await["status"],
        "running"
    );
    let runners = app.json("/api/v1/runners").await;
    assert_eq!(runners["waiting"], Value::Array(vec![]), "{runners}");
    assert_eq!(runner(&runners, "shared-docker-1")["status"], "online");
    assert_eq!(runner(&runners, "shared-docker-1")["busy"], true);
}

#[tokio::test]
async fn where_people_sign_in_to_read_a_group_runner_is_named() {
    let app = TestApp::builder()
        .access(stageboard::access::Access::Login)
        .start()
        .await;
    app.sim.sim.write(|world, now| world.force_runner(12, false, now));
    app.sim.sim.write(|world, now| world.force_runner(13, false, now));
    let failed = failed_image_build(&app).await;
    let retried = app.post(&format!("/api/v1/projects/1/jobs/{failed}/retry"), "").await;
    assert_eq!(retried.status, 200, "{}", retried.text);
    app.advance(chrono::Duration::seconds(60)).await;
    let runners = app.json("/api/v1/runners").await;
    assert_eq!(runner(&runners, "demo-k8s")["kind"], "group");
}
