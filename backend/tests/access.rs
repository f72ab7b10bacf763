//! Who reads what (STAGEBOARD_ACCESS): with `login`, pages send a visitor to GitLab's sign-in
//! and the API answers 401; a signed-in person sees only the watched projects GitLab lets them
//! read (asked with their own token). With `public`, reads are open and actions still need a
//! sign-in.

mod common;

use common::{REPORTER, TestApp};
use stageboard::access::Access;

fn ids(projects: &serde_json::Value) -> Vec<u64> {
    projects
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["id"].as_u64().or(p["project"]["id"].as_u64()).unwrap())
        .collect()
}

#[tokio::test]
async fn with_login_pages_send_visitors_to_sign_in_and_the_api_answers_401() {
    let app = TestApp::builder().access(Access::Login).anonymous().start().await;
    for (page, back) in [
        ("/", "%2F"),
        (
            "/projects/1/pipelines?ref=main",
            "%2Fprojects%2F1%2Fpipelines%3Fref%3Dmain",
        ),
        ("/audit", "%2Faudit"),
    ] {
        let answer = common::browser()
            .get(format!("{}{page}", app.base))
            .send()
            .await
            .unwrap();
        assert_eq!(answer.status(), 303, "{page}");
        assert_eq!(
            common::location(&answer),
            format!("/auth/login?return_to={back}"),
            "{page}"
        );
    }
    for path in [
        "/api/v1/overview",
        "/api/v1/projects",
        "/api/v1/projects/1/pipelines",
        "/api/v1/projects/1/jobs/1",
        "/api/v1/environments",
        "/api/v1/events?topics=projects",
    ] {
        common::assert_error(&app.get(path).await, 401, "unauthorized");
    }
    // What a visitor needs before signing in still answers.
    assert_eq!(app.get("/health").await.status, 200);
    assert_eq!(app.get("/api/v1/info").await.status, 200);
}

#[tokio::test]
async fn a_person_sees_only_the_watched_projects_gitlab_lets_them_read() {
    let maintainer = TestApp::builder().access(Access::Login).start().await;
    assert_eq!(ids(&maintainer.json("/api/v1/projects").await), [1, 2, 3]);

    // Chioma is a Reporter, and no member of the third project.
    let reporter = TestApp::builder()
        .access(Access::Login)
        .signed_in_as(REPORTER)
        .start()
        .await;
    assert_eq!(ids(&reporter.json("/api/v1/projects").await), [1, 2]);
    assert_eq!(ids(&reporter.json("/api/v1/overview").await), [1, 2]);
    let grid = reporter.json("/api/v1/environments").await;
    assert_eq!(ids(&grid["rows"]), [1, 2], "the grid leaves the third project out");
    for path in [
        "/api/v1/projects/3/pipelines",
        "/api/v1/projects/3/environments",
        "/api/v1/events?topics=project:3",
    ] {
        common::assert_error(&reporter.get(path).await, 404, "not_found");
    }
    assert_eq!(reporter.get("/api/v1/projects/1/pipelines").await.status, 200);
}

#[tokio::test]
async fn with_public_reads_are_open_and_actions_still_need_a_sign_in() {
    let app = TestApp::builder().access(Access::Public).anonymous().start().await;
    assert_eq!(ids(&app.json("/api/v1/projects").await), [1, 2, 3]);
    let page = app.http.get(format!("{}/", app.base)).send().await.unwrap();
    assert_eq!(page.status(), 200);
    let retry = app.post("/api/v1/projects/1/jobs/1/retry", "").await;
    common::assert_error(&retry, 401, "unauthorized");
}

#[tokio::test]
async fn what_one_person_may_read_is_not_kept_for_the_next_to_sign_in_in_that_browser() {
    let app = TestApp::builder().access(Access::Login).anonymous().start().await;
    let (maintainer, _) = common::sign_in(&app, common::MAINTAINER, "/").await;
    let read = |session: String| {
        let app = &app;
        async move {
            let answer = common::browser()
                .get(format!("{}/api/v1/projects", app.base))
                .header("cookie", session)
                .send()
                .await
                .unwrap();
            ids(&answer.json().await.unwrap())
        }
    };
    assert_eq!(read(maintainer.clone()).await, [1, 2, 3]);
    // Someone else signs in from the same browser without signing out first.
    let (reporter, _) = common::sign_in_from(&app, Some(&maintainer), REPORTER, "/").await;
    assert_eq!(read(reporter).await, [1, 2], "not the Maintainer's projects");
}
