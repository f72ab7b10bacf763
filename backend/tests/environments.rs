//! The environments API against the simulated GitLab and cluster.

mod common;

use common::{TestApp, assert_error};
use serde_json::Value;

fn find<'a>(list: &'a Value, name: &str) -> &'a Value {
    list["environments"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["name"] == name)
        .unwrap_or_else(|| panic!("no {name}"))
}

#[tokio::test]
async fn environments_show_deployments_cluster_health_and_waiting_deploys() {
    let app = TestApp::builder().cluster().start().await;
    let list = app.json("/api/v1/projects/1/environments").await;
    assert_eq!(list["cluster"]["configured"], true);
    assert_eq!(list["cluster"]["connected"], true);
    let dev = find(&list, "dev");
    assert_eq!(dev["state"], "available");
    assert!(dev["folder"].is_null());
    assert_eq!(dev["last_deployment"]["job_name"], "deploy_review");
    assert_eq!(dev["cluster"]["health"]["status"], "healthy", "{}", dev["cluster"]);
    assert_eq!(
        (dev["cluster"]["ready"].as_i64(), dev["cluster"]["desired"].as_i64()),
        (Some(2), Some(2))
    );
    assert!(
        dev["drift"].is_null(),
        "dev runs what GitLab deployed: {}",
        dev["drift"]
    );
    let live = find(&list, "live");
    assert_eq!(live["tier"], "production");
    let waiting = &live["waiting"][0];
    assert_eq!(waiting["job_name"], "deploy_live");
    assert!(waiting["ref"].as_str().unwrap().starts_with('v'));
    assert!(
        !waiting["commits"].as_array().unwrap().is_empty(),
        "the commits deploy_live would bring"
    );
    let review = list["environments"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["folder"] == "review")
        .expect("review apps are a folder");
    assert!(review["name"].as_str().unwrap().starts_with("review/"));

    let detail = app
        .json(&format!("/api/v1/projects/1/environments/{}", live["id"]))
        .await;
    assert!(detail["deployments"].as_array().unwrap().len() >= 2);
    assert_eq!(
        detail["environment"]["cluster"]["ingresses"][0]["hosts"][0],
        "gitlab-k8s-demo.example.com"
    );
}

#[tokio::test]
async fn stopping_dev_runs_stop_review_and_its_pods_disappear() {
    let app = TestApp::builder().cluster().start().await;
    let list = app.json("/api/v1/projects/1/environments").await;
    let dev = find(&list, "dev").clone();
    let stopped = app
        .post(&format!("/api/v1/projects/1/environments/{}/stop", dev["id"]), "")
        .await;
    assert_eq!(stopped.status, 200, "{}", stopped.text);
    assert!(stopped.body["message"].as_str().unwrap().contains("stopping"));
    app.advance(chrono::Duration::minutes(3)).await;
    let mut pods = usize::MAX;
    for _ in 0..50 {
        let detail = app
            .json(&format!("/api/v1/projects/1/environments/{}", dev["id"]))
            .await;
        pods = detail["environment"]["cluster"]["pods"].as_array().map_or(0, Vec::len);
        if pods == 0 && detail["environment"]["state"] == "stopped" {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert_eq!(pods, 0);
}

#[tokio::test]
async fn without_a_cluster_the_api_says_so_and_stop_is_refused_outside_demo() {
    let app = TestApp::builder().reads_only().start().await;
    let list = app.json("/api/v1/projects/1/environments").await;
    assert_eq!(list["cluster"]["configured"], false);
    assert!(
        list["cluster"]["message"]
            .as_str()
            .unwrap()
            .contains("STAGEBOARD_CLUSTER")
    );
    assert!(find(&list, "dev")["cluster"].is_null());
    let id = find(&list, "dev")["id"].clone();
    assert_error(
        &app.post(&format!("/api/v1/projects/1/environments/{id}/stop"), "")
            .await,
        403,
        "forbidden",
    );
    assert_error(
        &app.get("/api/v1/projects/1/environments/999999").await,
        404,
        "not_found",
    );
}

/// The grid in one request: every watched project, each with what its own endpoint says.
#[tokio::test]
async fn the_grid_has_every_watched_project_in_one_answer() {
    let app = TestApp::builder().cluster().start().await;
    let grid = app.json("/api/v1/environments").await;
    let projects = app.json("/api/v1/projects").await;
    let rows = grid["rows"].as_array().unwrap();
    let ids = |list: &[Value], field: &str| -> Vec<u64> {
        list.iter()
            .map(|v| if field.is_empty() { &v["id"] } else { &v[field]["id"] })
            .map(|id| id.as_u64().unwrap())
            .collect()
    };
    assert_eq!(ids(rows, "project"), ids(projects.as_array().unwrap(), ""));
    assert_eq!(grid["cluster"]["configured"], true);
    for row in rows {
        assert!(row["error"].is_null(), "{row}");
        let id = row["project"]["id"].as_u64().unwrap();
        let own = app.json(&format!("/api/v1/projects/{id}/environments")).await;
        assert_eq!(row["environments"], own["environments"], "project {id}");
    }
    assert!(
        rows.iter().any(|r| !r["environments"].as_array().unwrap().is_empty()),
        "the demo deploys somewhere"
    );
}
