//! Signing in with GitLab (the simulated one, as a real GitLab would be used): the browser's
//! round trip through GitLab's sign-in page with PKCE, the session cookie, who is signed in,
//! a sign-in that did not start here, and signing out (the token revoked at GitLab).

mod common;

use std::collections::HashMap;

use common::TestApp;
use reqwest::StatusCode;
use serde_json::Value;

/// A browser without redirects followed, so each hop is seen.
fn browser() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
}

fn location(answer: &reqwest::Response) -> String {
    answer.headers()["location"].to_str().unwrap().to_owned()
}

fn cookie(answer: &reqwest::Response) -> Option<String> {
    answer
        .headers()
        .get_all("set-cookie")
        .iter()
        .map(|v| v.to_str().unwrap().to_owned())
        .find(|c| c.starts_with("stageboard="))
}

/// The cookie's `name=value`, as a browser sends it back.
fn sent(set_cookie: &str) -> String {
    set_cookie.split(';').next().unwrap().to_owned()
}

/// Signs `user` in from `/auth/login?return_to=…`; returns the session cookie and where the
/// browser lands.
async fn sign_in(app: &TestApp, user: u64, return_to: &str) -> (String, String) {
    let http = browser();
    let start = http
        .get(format!("{}/auth/login?return_to={}", app.base, urlencode(return_to)))
        .send()
        .await
        .unwrap();
    assert_eq!(start.status(), StatusCode::SEE_OTHER);
    let first = cookie(&start).expect("a session for the sign-in in progress");
    let to_gitlab = url::Url::parse(&location(&start)).unwrap();
    let asked: HashMap<String, String> = to_gitlab.query_pairs().into_owned().collect();
    assert_eq!(asked["code_challenge_method"], "S256");
    assert_eq!(asked["scope"], "api read_user");
    // The person picks who they are on GitLab's page, which sends them back with a code.
    let mut form: Vec<(String, String)> = asked.into_iter().collect();
    form.push(("user".into(), user.to_string()));
    let chosen = http
        .post(format!("{}/oauth/authorize", app.sim.url()))
        .form(&form)
        .send()
        .await
        .unwrap();
    assert_eq!(chosen.status(), StatusCode::FOUND);
    let back = location(&chosen);
    assert!(back.starts_with(&format!("{}/auth/callback?", app.base)), "{back}");
    let landed = http.get(&back).header("cookie", sent(&first)).send().await.unwrap();
    assert_eq!(landed.status(), StatusCode::SEE_OTHER, "{:?}", landed.text().await);
    let session = cookie(&landed).expect("the signed-in session");
    assert_ne!(sent(&session), sent(&first), "a new session id at sign-in");
    assert!(
        session.contains("HttpOnly") && session.contains("SameSite=Lax"),
        "{session}"
    );
    (sent(&session), location(&landed))
}

fn urlencode(s: &str) -> String {
    url::form_urlencoded::byte_serialize(s.as_bytes()).collect()
}

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
    let app = TestApp::builder().data_dir(data.path()).start().await;
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

    let again = TestApp::builder().data_dir(data.path()).start().await;
    assert_eq!(
        me(&again, Some(&session)).await.0,
        200,
        "the session outlives a restart"
    );
}

#[tokio::test]
async fn only_a_path_of_this_server_is_returned_to() {
    let app = TestApp::start().await;
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
    let app = TestApp::start().await;
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
    let app = TestApp::start().await;
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
    let app = TestApp::start().await;
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
    let app = TestApp::start().await;
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
    assert_eq!(
        app.json("/api/v1/info").await["actions_enabled"],
        true,
        "the pages offer actions, after signing in"
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
