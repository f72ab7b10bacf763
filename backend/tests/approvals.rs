//! Deployment approvals (GitLab Premium), against the simulated GitLab where payments-api's
//! `production` waits for one Maintainer's approval: the environment page says what a waiting
//! deploy waits for and who may answer, a Maintainer approves with a comment in her own name
//! (audited), a Developer is told beforehand and by GitLab that he may not, and once approved
//! the Developer deploys.

mod common;

use common::{TestApp, answer_of, browser, sign_in};
use serde_json::{Value, json};

/// payments-api's `production` environment page, as `session` sees it.
async fn production(app: &TestApp, session: &str) -> Value {
    let list: Value = app.json("/api/v1/projects/2/environments").await;
    let id = list["environments"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["name"] == "production")
        .expect("payments-api deploys to production")["id"]
        .as_u64()
        .unwrap();
    let answer = browser()
        .get(format!("{}/api/v1/projects/2/environments/{id}", app.base))
        .header("cookie", session)
        .send()
        .await
        .unwrap();
    assert_eq!(answer.status(), 200);
    answer.json().await.unwrap()
}

async fn post(app: &TestApp, session: &str, path: &str, body: Value) -> common::Answer {
    let answer = browser()
        .post(format!("{}{path}", app.base))
        .header("cookie", session)
        .json(&body)
        .send()
        .await
        .unwrap();
    answer_of(answer).await
}

#[tokio::test]
async fn a_maintainer_approves_a_production_deploy_and_then_a_developer_runs_it() {
    let app = TestApp::builder().anonymous().start().await;
    let (developer, _) = sign_in(&app, common::DEVELOPER, "/").await;
    let (maintainer, _) = sign_in(&app, common::MAINTAINER, "/").await;

    let page = production(&app, &developer).await;
    let waiting = &page["environment"]["waiting"][0];
    let (deployment, job) = (
        waiting["deployment_id"].as_u64().unwrap(),
        waiting["job_id"].as_u64().unwrap(),
    );
    assert_eq!(waiting["job_name"], "deploy-production", "{waiting}");
    let approval = &waiting["approval"];
    assert_eq!(approval["pending"], 1, "{approval}");
    assert_eq!(approval["rules"][0]["who"], "Maintainers");
    assert_eq!(approval["rules"][0]["required"], 1);
    assert_eq!(
        approval["refused"],
        "Only Maintainers may approve deployments to production, and you are a Developer on this project.",
        "said before the Developer presses"
    );
    assert_eq!(
        waiting["refused"],
        Value::Null,
        "Developers may deploy to production once approved"
    );

    let path = format!("/api/v1/projects/2/deployments/{deployment}/approval");
    let refused = post(&app, &developer, &path, json!({ "approve": true })).await;
    assert_eq!(refused.status, 400, "{}", refused.text);
    assert!(
        refused
            .text
            .contains("You don't have permission to approve this deployment"),
        "GitLab's own words: {}",
        refused.text
    );
    let play = format!("/api/v1/projects/2/jobs/{job}/play");
    let early = post(&app, &developer, &play, json!({})).await;
    assert_eq!(early.status, 400, "not before it is approved: {}", early.text);
    assert!(early.text.contains("waits for approval"), "{}", early.text);

    let long = post(
        &app,
        &maintainer,
        &path,
        json!({ "approve": true, "comment": "x".repeat(256) }),
    )
    .await;
    assert_eq!(long.status, 400);
    assert!(long.text.contains("at most 255"), "{}", long.text);
    let page = production(&app, &maintainer).await;
    assert_eq!(page["environment"]["waiting"][0]["approval"]["refused"], Value::Null);

    let approved = post(
        &app,
        &maintainer,
        &path,
        json!({ "approve": true, "comment": "Change window open" }),
    )
    .await;
    assert_eq!(approved.status, 200, "{}", approved.text);
    assert_eq!(
        approved.body["message"],
        "Alice Chen approved the deployment to production."
    );

    let page = production(&app, &developer).await;
    let approval = &page["environment"]["waiting"][0]["approval"];
    assert_eq!(approval["pending"], 0, "{approval}");
    let given = &approval["rules"][0]["given"][0];
    assert_eq!(
        (
            given["user"]["username"].as_str(),
            given["approved"].as_bool(),
            given["comment"].as_str()
        ),
        (Some("achen"), Some(true), Some("Change window open"))
    );

    let ran = post(&app, &developer, &play, json!({})).await;
    assert_eq!(ran.status, 200, "approved, the Developer deploys: {}", ran.text);

    let audit = browser()
        .get(format!("{}/api/v1/audit?action=approve_deployment", app.base))
        .header("cookie", &maintainer)
        .send()
        .await
        .unwrap();
    let audit: Value = audit.json().await.unwrap();
    let entries = audit["entries"].as_array().unwrap();
    assert_eq!(entries.len(), 2, "the Developer's refusal and the approval: {audit}");
    assert_eq!(
        (
            entries[0]["person"].as_str(),
            entries[0]["outcome"].as_str(),
            entries[0]["status"].as_u64(),
            entries[0]["job_id"].as_u64()
        ),
        (Some("achen"), Some("done"), Some(201), Some(job)),
        "GitLab answers an approval 201 Created"
    );
    assert_eq!(entries[0]["environment"], "production");
    assert_eq!(
        (entries[1]["person"].as_str(), entries[1]["outcome"].as_str()),
        (Some("bwalker"), Some("refused"))
    );
}
