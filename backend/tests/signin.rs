//! Signing in with GitLab (the simulated one, as a real GitLab would be used): the browser's
//! round trip through GitLab's sign-in page with PKCE, the session cookie, who is signed in,
//! a sign-in that did not start here, and signing out (the token revoked at GitLab).

mod common;

use common::{TestApp, browser, location, sent, session_cookie as cookie, sign_in};
use reqwest::StatusCode;
use serde_json::Value;

async fn me(app: &TestApp, session: Option<&str>) -> (u16, Value) {
    let mut request = browser().get(format!("{}/api/v1/me", app.base));
    if let Some(session) = session {
        request = request.header("cookie", session);
    }
    let answer = request.send().await.unwrap();
    (answer.status().as_u16(), answer.json().await.unwrap())
}

#[tokio::test]
async fn a_person_signs_in_through_gitlab_and_stays_signed_in_across_a_restart() {
    let data = tempfile::tempdir().unwrap();
    let app = TestApp::builder().anonymous().data_dir(data.path()).start().await;
    let (status, nobody) = me(&app, None).await;
    assert_eq!((status, nobody["code"].as_str()), (401, Some("unauthorized")));

    let (session, landed) = sign_in(&app, 3, "/projects/1/pipelines").await;
    assert_eq!(landed, "/projects/1/pipelines", "back to the page they were on");
    let (status, person) = me(&app, Some(&session)).await;
    assert_eq!(status, 200);
    assert_eq!(
        (person["username"].as_str(), person["name"].as_str()),
        (Some("bwalker"), Some("Bruno Walker"))
    );
    let text = person.to_string();
    assert!(
        !text.contains("access") && !text.contains("refresh"),
        "no token in the answer: {text}"
    );
    drop(app);

    let again = TestApp::builder().anonymous().data_dir(data.path()).start().await;
    assert_eq!(
        me(&again, Some(&session)).await.0,
        200,
        "the session outlives a restart"
    );
}

#[tokio::test]
async fn only_a_path_of_this_server_is_returned_to() {
    let app = TestApp::builder().anonymous().start().await;
    for elsewhere in [
        "https://evil.example/",
        "//evil.example/x",
        "/\\evil.example",
        "/\t/evil.example",
    ] {
        let (_, landed) = sign_in(&app, 2, elsewhere).await;
        assert_eq!(landed, "/", "{elsewhere}");
    }
}

#[tokio::test]
async fn a_sign_in_that_did_not_start_here_is_refused() {
    let app = TestApp::builder().anonymous().start().await;
    let http = browser();
    // Someone else's code and state, sent to this browser (login CSRF).
    let forged = http
        .get(format!("{}/auth/callback?code=abc&state=xyz", app.base))
        .send()
        .await
        .unwrap();
    assert_eq!(forged.status(), StatusCode::BAD_REQUEST);
    let planted = cookie(&forged);
    let body: Value = forged.json().await.unwrap();
    assert!(body["message"].as_str().unwrap().contains("sign in again"), "{body}");
    if let Some(planted) = planted {
        assert_eq!(
            me(&app, Some(&sent(&planted))).await.0,
            401,
            "nobody is signed in by it"
        );
    }
}

#[tokio::test]
async fn signing_out_ends_the_session_and_revokes_the_token_at_gitlab() {
    let app = TestApp::builder().anonymous().start().await;
    let (session, _) = sign_in(&app, 2, "/").await;
    let out = browser()
        .post(format!("{}/auth/logout", app.base))
        .header("cookie", &session)
        .header("content-type", "application/json")
        .send()
        .await
        .unwrap();
    assert_eq!(out.status(), StatusCode::NO_CONTENT);
    assert_eq!(me(&app, Some(&session)).await.0, 401);
    assert_eq!(app.sim.sim.oauth_tokens_in_use(), 0, "GitLab no longer takes the token");
}

/// GET from the simulated GitLab with its configured token.
async fn gitlab_json(app: &TestApp, path: &str) -> Value {
    browser()
        .get(format!("{}/api/v4{path}", app.sim.url()))
        .header("PRIVATE-TOKEN", &app.sim.sim.config().token)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap()
}

/// A manual `deploy_live` waiting in project 1, as GitLab lists it.
async fn waiting_deploy(app: &TestApp) -> u64 {
    let jobs = gitlab_json(app, "/projects/1/jobs?scope=manual&per_page=100").await;
    jobs.as_array()
        .unwrap()
        .iter()
        .find(|j| j["name"] == "deploy_live")
        .expect("a deploy_live waits")["id"]
        .as_u64()
        .unwrap()
}

async fn post_as(app: &TestApp, session: &str, path: &str) -> common::Answer {
    let answer = browser()
        .post(format!("{}{path}", app.base))
        .header("cookie", session)
        .header("content-type", "application/json")
        .send()
        .await
        .unwrap();
    common::answer_of(answer).await
}

#[tokio::test]
async fn actions_are_sent_as_the_signed_in_person_and_gitlab_decides() {
    let app = TestApp::builder().anonymous().start().await;
    let deploy = waiting_deploy(&app).await;
    let play = format!("/api/v1/projects/1/jobs/{deploy}/play");

    let (developer, _) = sign_in(&app, 3, "/").await;
    let refused = post_as(&app, &developer, &play).await;
    common::assert_error(&refused, 403, "gitlab_refused");
    assert!(
        refused.text.contains("403 Forbidden"),
        "GitLab's own words: {}",
        refused.text
    );

    let (maintainer, _) = sign_in(&app, 2, "/").await;
    let played = post_as(&app, &maintainer, &play).await;
    assert_eq!(played.status, 200, "{}", played.text);
    let job = gitlab_json(&app, &format!("/projects/1/jobs/{deploy}")).await;
    assert_eq!(
        job["user"]["username"], "achen",
        "GitLab ran it in the Maintainer's name"
    );

    let audit = app.json("/api/v1/audit").await;
    let who: Vec<(String, String, u64)> = audit["entries"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            (
                e["person"].as_str().unwrap().to_owned(),
                e["outcome"].as_str().unwrap().to_owned(),
                e["status"].as_u64().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        who,
        [
            ("achen".into(), "done".into(), 200),
            ("bwalker".into(), "refused".into(), 403)
        ]
    );
}

#[tokio::test]
async fn a_sign_in_gitlab_let_expire_is_renewed_and_the_action_goes_through() {
    let app = TestApp::builder().anonymous().start().await;
    let deploy = waiting_deploy(&app).await;
    let (maintainer, _) = sign_in(&app, 2, "/").await;
    // GitLab's access tokens last two hours.
    app.advance(chrono::Duration::seconds(7201)).await;
    let played = post_as(&app, &maintainer, &format!("/api/v1/projects/1/jobs/{deploy}/play")).await;
    assert_eq!(played.status, 200, "renewed with the refresh token: {}", played.text);
    assert_eq!(
        app.sim.sim.oauth_tokens_in_use(),
        1,
        "the renewed token, the expired one spent"
    );
    // The renewed token is kept: the next action needs no renewal.
    let again = post_as(&app, &maintainer, "/api/v1/projects/1/jobs/1/cancel").await;
    assert_ne!(again.status, 401, "{}", again.text);
    assert_eq!(app.sim.sim.oauth_tokens_in_use(), 1);
}

#[tokio::test]
async fn where_people_sign_in_nobody_acts_or_reads_the_audit_log_without_signing_in() {
    let app = TestApp::builder().reads_only().oauth("stageboard-test").start().await;
    let retry = app.post("/api/v1/projects/1/jobs/5000/retry", "").await;
    common::assert_error(&retry, 401, "unauthorized");
    assert!(retry.text.contains("Sign in with GitLab"), "{}", retry.text);
    let audit = app.get("/api/v1/audit").await;
    common::assert_error(&audit, 401, "unauthorized");
    let info = app.json("/api/v1/info").await;
    assert_eq!(
        (&info["sign_in"], &info["person"], &info["actions_enabled"]),
        (&Value::Bool(true), &Value::Null, &Value::Bool(false)),
        "the pages offer signing in, and actions after it: {info}"
    );
    // The way in: GitLab's own sign-in page, for this application.
    let login = browser().get(format!("{}/auth/login", app.base)).send().await.unwrap();
    assert_eq!(login.status(), StatusCode::SEE_OTHER);
    let to = location(&login);
    assert!(
        to.starts_with(&format!("{}/oauth/authorize?", app.sim.url())) && to.contains("client_id=stageboard-test"),
        "{to}"
    );
}

#[tokio::test]
async fn in_demo_mode_too_actions_need_a_sign_in_and_the_pages_know_who_is_signed_in() {
    let app = TestApp::builder().anonymous().start().await;
    let deploy = waiting_deploy(&app).await;
    let play = format!("/api/v1/projects/1/jobs/{deploy}/play");
    let anonymous = app.post(&play, "").await;
    common::assert_error(&anonymous, 401, "unauthorized");
    assert!(anonymous.text.contains("Sign in with GitLab"), "{}", anonymous.text);
    let job = gitlab_json(&app, &format!("/projects/1/jobs/{deploy}")).await;
    assert_eq!(job["status"], "manual", "nothing was sent to GitLab");

    let (session, _) = sign_in(&app, common::DEVELOPER, "/").await;
    let info = browser()
        .get(format!("{}/api/v1/info", app.base))
        .header("cookie", &session)
        .send()
        .await
        .unwrap();
    assert_eq!(info.headers()["cache-control"], "no-store", "it is this visitor's");
    let info: Value = info.json().await.unwrap();
    assert_eq!(
        (&info["person"]["username"], &info["actions_enabled"], &info["sign_in"]),
        (&Value::from("bwalker"), &Value::Bool(true), &Value::Bool(true)),
        "{info}"
    );
}

#[tokio::test]
async fn the_hub_holding_the_shared_token_never_acts_with_it() {
    use stageboard::gitlab::Gitlab as _;
    let app = TestApp::builder().anonymous().start().await;
    let deploy = waiting_deploy(&app).await;
    let refused = app.hub.play_job(1, deploy, &[]).await;
    assert!(
        matches!(
            &refused,
            Err(stageboard::gitlab::GitlabError::Refused { status: 403, .. })
        ),
        "{refused:?}"
    );
    let job = gitlab_json(&app, &format!("/projects/1/jobs/{deploy}")).await;
    assert_eq!(job["status"], "manual", "nothing was played");
}

#[tokio::test]
async fn a_token_about_to_expire_is_renewed_before_the_action_is_sent() {
    let app = TestApp::builder().anonymous().start().await;
    // This GitLab's tokens last 4 minutes: less than the 5 before expiry that stageboard renews.
    app.sim.sim.set_oauth_token_lifetime(240);
    let deploy = waiting_deploy(&app).await;
    let (maintainer, _) = sign_in(&app, common::MAINTAINER, "/").await;
    assert_eq!(app.sim.sim.oauth_refreshes(), 0);
    let played = post_as(&app, &maintainer, &format!("/api/v1/projects/1/jobs/{deploy}/play")).await;
    assert_eq!(played.status, 200, "{}", played.text);
    // GitLab's clock did not move, so it would still have taken the old token: the renewal
    // came first, not after a refusal.
    assert_eq!(app.sim.sim.oauth_refreshes(), 1);
    assert_eq!(
        app.sim.sim.oauth_tokens_in_use(),
        1,
        "the old token spent, the new one kept"
    );
    let job = gitlab_json(&app, &format!("/projects/1/jobs/{deploy}")).await;
    assert_eq!(job["user"]["username"], "achen");
}

#[tokio::test]
async fn a_deploy_the_person_may_not_run_says_why_before_they_press_it() {
    let app = TestApp::builder().anonymous().start().await;
    let deploy = waiting_deploy(&app).await;
    let job = format!("/api/v1/projects/1/jobs/{deploy}");
    let refused_for = |session: Option<String>| {
        let app = &app;
        let job = job.clone();
        async move {
            let mut request = browser().get(format!("{}{job}", app.base));
            if let Some(session) = session {
                request = request.header("cookie", session);
            }
            let answer: Value = request.send().await.unwrap().json().await.unwrap();
            assert_eq!(answer["environment"]["name"], "live", "{answer}");
            answer["environment"]["refused"].clone()
        }
    };
    assert_eq!(
        refused_for(None).await,
        Value::Null,
        "nobody signed in: nothing to say yet"
    );
    let (developer, _) = sign_in(&app, common::DEVELOPER, "/").await;
    let why = refused_for(Some(developer)).await;
    assert_eq!(
        why,
        "live is a protected environment: only Maintainers may deploy to it, and you are a Developer on this project."
    );
    let (maintainer, _) = sign_in(&app, common::MAINTAINER, "/").await;
    assert_eq!(refused_for(Some(maintainer)).await, Value::Null);
}

#[tokio::test]
async fn an_action_on_a_protected_branch_says_why_before_they_press_it() {
    let app = TestApp::builder().anonymous().start().await;
    let (developer, _) = sign_in(&app, common::DEVELOPER, "/").await;
    let (maintainer, _) = sign_in(&app, common::MAINTAINER, "/").await;
    let read = |path: String, session: String| {
        let app = &app;
        async move {
            let answer = browser()
                .get(format!("{}{path}", app.base))
                .header("cookie", session)
                .send()
                .await
                .unwrap();
            assert_eq!(answer.status(), 200, "{path}");
            answer.json::<Value>().await.unwrap()
        }
    };
    let main_of = |project: u64| {
        let read = &read;
        let developer = developer.clone();
        async move {
            let page = read(
                format!("/api/v1/projects/{project}/pipelines?ref=main&per_page=1"),
                developer,
            )
            .await;
            page["pipelines"][0]["id"].as_u64().unwrap()
        }
    };
    // payments-api's main takes merges from Maintainers only; gitlab-k8s-demo's from Developers.
    let payments = main_of(2).await;
    let detail = read(format!("/api/v1/projects/2/pipelines/{payments}"), developer.clone()).await;
    assert_eq!(
        detail["refused"],
        "main is a protected branch: only Maintainers may push to it or merge into it, and so run, retry or cancel its jobs; you are a Developer on this project."
    );
    let job = detail["stages"][0]["jobs"][0]["id"].as_u64().unwrap();
    let one = read(format!("/api/v1/projects/2/jobs/{job}"), developer.clone()).await;
    assert_eq!(one["refused"], detail["refused"], "the job page says it too");
    let theirs = read(format!("/api/v1/projects/2/pipelines/{payments}"), maintainer.clone()).await;
    assert_eq!(theirs["refused"], Value::Null);
    let demo = main_of(1).await;
    let open = read(format!("/api/v1/projects/1/pipelines/{demo}"), developer.clone()).await;
    assert_eq!(
        open["refused"],
        Value::Null,
        "Developers merge into gitlab-k8s-demo's main"
    );

    // A Reporter may act on no branch at all.
    let (reporter, _) = sign_in(&app, common::REPORTER, "/").await;
    let reads_only = read(format!("/api/v1/projects/1/pipelines/{demo}"), reporter.clone()).await;
    assert_eq!(
        reads_only["refused"],
        "Running, retrying and canceling jobs needs the Developer role or more, and you are a Reporter on this project."
    );
    let environments = read("/api/v1/projects/1/environments".into(), reporter.clone()).await;
    let dev = environments["environments"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["name"] == "dev")
        .unwrap()["id"]
        .as_u64()
        .unwrap();
    let dev = read(format!("/api/v1/projects/1/environments/{dev}"), reporter).await;
    assert_eq!(
        dev["refused"],
        "Deploying and stopping environments needs the Developer role or more, and you are a Reporter on this project.",
        "the Stop button says so"
    );

    // Pressed anyway (an old page): GitLab's own refusal.
    let answer = browser()
        .post(format!("{}/api/v1/projects/2/jobs/{job}/retry", app.base))
        .header("cookie", developer)
        .json(&serde_json::json!({}))
        .send()
        .await
        .unwrap();
    assert_eq!(answer.status(), 403);
}
