//! `/cc.xml` read as a build monitor (CCMenu, Nevergreen, BuildNotify) reads it: cctray's
//! `<Projects>` of `<Project>` with its six attributes, one per project and ref, against the
//! demo's story (gitlab-k8s-demo's main is red).

mod common;

use std::collections::HashMap;

use common::TestApp;
use quick_xml::events::Event;

/// Each `<Project>`'s attributes, in document order; fails on anything but cctray's shape.
fn projects(xml: &str) -> Vec<HashMap<String, String>> {
    let mut reader = quick_xml::Reader::from_str(xml);
    let mut found = Vec::new();
    let mut root = false;
    loop {
        match reader.read_event().expect("well-formed XML") {
            Event::Start(e) if e.name().as_ref() == b"Projects" => root = true,
            Event::Empty(e) if e.name().as_ref() == b"Project" => {
                assert!(root, "a Project outside Projects");
                let attributes = e
                    .attributes()
                    .map(|a| {
                        let a = a.expect("an attribute");
                        (
                            String::from_utf8(a.key.as_ref().to_vec()).unwrap(),
                            a.unescape_value().expect("escaped as XML").into_owned(),
                        )
                    })
                    .collect();
                found.push(attributes);
            }
            Event::Eof => break,
            _ => {}
        }
    }
    found
}

#[tokio::test]
async fn the_feed_lists_every_project_and_ref_as_a_build_monitor_reads_it() {
    let app = TestApp::start().await;
    let answer = app.get("/cc.xml").await;
    assert_eq!(answer.status, 200, "{}", answer.text);
    assert!(
        answer.headers["content-type"]
            .to_str()
            .unwrap()
            .starts_with("application/xml"),
        "{:?}",
        answer.headers
    );
    let projects = projects(&answer.text);
    assert!(projects.len() > 3, "default branches and other refs: {projects:?}");
    let mut names: Vec<&str> = projects.iter().map(|p| p["name"].as_str()).collect();
    names.sort_unstable();
    names.dedup();
    assert_eq!(names.len(), projects.len(), "one entry per project and ref");
    for p in &projects {
        assert!(["Sleeping", "Building"].contains(&p["activity"].as_str()), "{p:?}");
        assert!(
            ["Success", "Failure", "Exception", "Unknown"].contains(&p["lastBuildStatus"].as_str()),
            "{p:?}"
        );
        assert!(p["webUrl"].starts_with("http"), "{p:?}");
        assert!(!p["lastBuildLabel"].is_empty(), "{p:?}");
        chrono::DateTime::parse_from_rfc3339(&p["lastBuildTime"]).expect("an ISO 8601 time");
    }
    let main = projects
        .iter()
        .find(|p| p["name"] == "demo/gitlab-k8s-demo (main)")
        .expect("gitlab-k8s-demo's default branch");
    assert_eq!(main["lastBuildStatus"], "Failure", "the story's main is red: {main:?}");
    assert!(
        projects
            .iter()
            .any(|p| p["name"].starts_with("demo/gitlab-k8s-demo (v")),
        "its release tags too"
    );
}

#[tokio::test]
async fn with_jobs_each_pipeline_lists_its_jobs_latest_attempt_only() {
    let app = TestApp::start().await;
    let answer = app.get("/cc.xml?jobs=true").await;
    assert_eq!(answer.status, 200, "{}", answer.text);
    let with_jobs = projects(&answer.text);
    let image_build: Vec<_> = with_jobs
        .iter()
        .filter(|p| p["name"] == "demo/gitlab-k8s-demo (main) image_build")
        .collect();
    assert_eq!(
        image_build.len(),
        1,
        "the retried job once, as its latest attempt: {image_build:?}"
    );
    assert_eq!(
        image_build[0]["lastBuildStatus"], "Failure",
        "the story's retry failed too"
    );
    assert!(image_build[0]["webUrl"].contains("/-/jobs/"), "{:?}", image_build[0]);
    let plain = projects(&app.get("/cc.xml").await.text);
    assert!(with_jobs.len() > plain.len() * 3, "jobs come on top of the refs");
    let bad = app.get("/cc.xml?jobs=maybe").await;
    assert_eq!(bad.status, 400, "{}", bad.text);
}
