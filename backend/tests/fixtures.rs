//! Contract tests: every REST example in fixtures/gitlab (GitLab's docs and the
//! gitlab4j client's test data) reads into the client's types, and every date in the webhook
//! examples parses.

use std::path::{Path, PathBuf};

use serde::de::DeserializeOwned;
use serde_json::Value;
use stageboard::gitlab::GitlabTime;
use stageboard::gitlab::types::{GlDeployment, GlEnvironment, GlJob, GlPipeline, GlProject};

fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../fixtures/gitlab")
}

fn read<T: DeserializeOwned>(path: &Path) -> Result<(), String> {
    let text = std::fs::read_to_string(path).map_err(|e| e.to_string())?;
    serde_json::from_str::<T>(&text).map(drop).map_err(|e| e.to_string())
}

/// What each REST example is an instance of.
fn check(dir: &str, name: &str, path: &Path) -> Option<Result<(), String>> {
    Some(match (dir, name) {
        ("docs", "pipelines_list.json") => read::<Vec<GlPipeline>>(path),
        ("docs", "pipeline.json" | "pipeline_cancel_response.json") | ("gitlab4j", "pipeline.json") => {
            read::<GlPipeline>(path)
        }
        ("docs", "pipeline_jobs_list.json" | "pipeline_bridges_list.json") => read::<Vec<GlJob>>(path),
        ("docs", "job.json") | ("gitlab4j", "job.json" | "bridge.json") => read::<GlJob>(path),
        ("docs", "environments_list.json") => read::<Vec<GlEnvironment>>(path),
        ("docs", "environment.json" | "environment_stop_response.json") | ("gitlab4j", "environment.json") => {
            read::<GlEnvironment>(path)
        }
        ("docs", "deployments_list.json") => read::<Vec<GlDeployment>>(path),
        ("docs", "deployment.json") | ("gitlab4j", "deployment.json") => read::<GlDeployment>(path),
        ("gitlab4j", "project.json") => read::<GlProject>(path),
        _ => return None,
    })
}

#[test]
fn every_rest_example_reads_into_the_clients_types() {
    let mut checked = 0;
    let mut unmapped = Vec::new();
    for dir in ["docs", "gitlab4j"] {
        for entry in std::fs::read_dir(fixtures().join(dir)).expect("fixtures/gitlab is in the repository") {
            let path = entry.unwrap().path();
            let name = path.file_name().unwrap().to_str().unwrap().to_owned();
            if !name.ends_with(".json")
                || name.contains("webhook")
                || name.contains("event")
                || name == "job_play_request_body.json"
            {
                continue;
            }
            match check(dir, &name, &path) {
                Some(Ok(())) => checked += 1,
                Some(Err(e)) => panic!("{dir}/{name} does not read: {e}"),
                None => unmapped.push(format!("{dir}/{name}")),
            }
        }
    }
    assert!(unmapped.is_empty(), "fixtures without a type: {unmapped:?}");
    assert!(checked >= 17, "only {checked} fixtures checked");
}

#[test]
fn the_play_body_stageboard_sends_is_gitlabs_documented_one() {
    let text = std::fs::read_to_string(fixtures().join("docs/job_play_request_body.json")).unwrap();
    let documented: Value = serde_json::from_str(&text).unwrap();
    let item = &documented["job_variables_attributes"][0];
    assert!(item.get("key").is_some() && item.get("value").is_some());
}

fn dates_in(value: &Value, found: &mut Vec<String>) {
    match value {
        Value::Object(map) => {
            for (key, v) in map {
                if let Value::String(s) = v {
                    let is_date_key = key.ends_with("_at")
                        || key.ends_with("_date")
                        || key == "timestamp"
                        || key.ends_with("_at_iso");
                    if is_date_key && !s.is_empty() {
                        found.push(s.clone());
                    }
                } else {
                    dates_in(v, found);
                }
            }
        }
        Value::Array(items) => items.iter().for_each(|v| dates_in(v, found)),
        _ => {}
    }
}

#[test]
fn every_date_in_the_webhook_examples_parses() {
    let mut dates = Vec::new();
    for dir in ["docs", "gitlab4j", "go-gitlab"] {
        for entry in std::fs::read_dir(fixtures().join(dir)).unwrap() {
            let path = entry.unwrap().path();
            let name = path.file_name().unwrap().to_str().unwrap();
            if name.ends_with(".json") && (name.contains("webhook") || name.contains("event")) {
                let value: Value = serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
                dates_in(&value, &mut dates);
            }
        }
    }
    assert!(
        dates.iter().any(|d| d.ends_with(" UTC")),
        "the non-ISO webhook format is among them"
    );
    for date in &dates {
        assert!(
            GitlabTime::parse(date).is_some(),
            "webhook date `{date}` does not parse"
        );
    }
}
