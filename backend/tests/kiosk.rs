//! Kiosk tokens: made by a Maintainer of the board's projects, opened once in a screen's
//! address (where it becomes a cookie), read-only and limited to the board, and stopped by
//! revoking. Where reads need a sign-in, as a screen in an office would meet them.

mod common;

use base64::Engine;
use common::{Answer, TestApp, answer_of, browser, location, sent, session_cookie, sign_in};
use serde_json::{Value, json};
use stageboard::access::Access;

async fn get(app: &TestApp, cookie: Option<&str>, path: &str) -> Answer {
    let mut request = browser().get(format!("{}{path}", app.base));
    if let Some(cookie) = cookie {
        request = request.header("cookie", cookie);
    }
    answer_of(request.send().await.unwrap()).await
}

async fn send(app: &TestApp, cookie: &str, method: reqwest::Method, path: &str, body: Value) -> Answer {
    let answer = browser()
        .request(method, format!("{}{path}", app.base))
        .header("cookie", cookie)
        .json(&body)
        .send()
        .await
        .unwrap();
    answer_of(answer).await
}

#[tokio::test]
async fn a_kiosk_screen_reads_its_board_only_and_acts_never() {
    let app = TestApp::builder()
        .access(Access::Login)
        .anonymous()
        .boards(&["lobby=projects=demo/*", "payments=projects=platform/payments-api"])
        .start()
        .await;
    let (developer, _) = sign_in(&app, common::DEVELOPER, "/").await;
    let (maintainer, _) = sign_in(&app, common::MAINTAINER, "/").await;
    let tokens = "/api/v1/kiosk-tokens";

    // A Developer maintains no board, so makes no token.
    let listed = get(&app, Some(&developer), tokens).await;
    assert_eq!(listed.status, 200, "{}", listed.text);
    assert_eq!(listed.body["boards"], json!([]));
    let refused = send(
        &app,
        &developer,
        reqwest::Method::POST,
        tokens,
        json!({"board": "lobby"}),
    )
    .await;
    assert_eq!(refused.status, 403, "{}", refused.text);
    assert!(refused.text.contains("Maintainer of every project"), "{}", refused.text);

    // The Maintainer makes one for the lobby.
    assert_eq!(
        get(&app, Some(&maintainer), tokens).await.body["boards"],
        json!(["lobby", "payments"])
    );
    let made = send(
        &app,
        &maintainer,
        reqwest::Method::POST,
        tokens,
        json!({"board": "lobby", "label": "lobby TV"}),
    )
    .await;
    assert_eq!(made.status, 201, "{}", made.text);
    let made = made.body;
    let token = made["token"].as_str().unwrap().to_owned();
    assert_eq!(made["path"], format!("/wall/lobby?kiosk={token}"));
    let unknown = send(
        &app,
        &maintainer,
        reqwest::Method::POST,
        tokens,
        json!({"board": "cafe"}),
    )
    .await;
    assert_eq!(unknown.status, 400);
    assert!(
        unknown.text.contains("the boards are lobby, payments"),
        "{}",
        unknown.text
    );

    // The screen opens the address once: the token becomes a cookie and leaves the address.
    let opened = browser()
        .get(format!("{}/wall/lobby?kiosk={token}&hide_green=1", app.base))
        .send()
        .await
        .unwrap();
    assert_eq!(opened.status(), 303);
    assert_eq!(location(&opened), "/wall/lobby?hide_green=1");
    let screen = sent(&session_cookie(&opened).expect("the kiosk's cookie"));
    assert!(!screen.contains(&token), "the cookie is not the token");
    let page = get(&app, Some(&screen), "/wall/lobby?hide_green=1").await;
    assert_eq!(page.status, 200, "no sign-in for the kiosk's wall");
    let wall = get(&app, Some(&screen), "/api/v1/wall?board=lobby").await;
    assert_eq!(wall.status, 200, "{}", wall.text);
    let wall = wall.body;
    assert!(!wall["tiles"].as_array().unwrap().is_empty());
    assert!(
        wall["tiles"]
            .as_array()
            .unwrap()
            .iter()
            .all(|t| t["project"] == "demo/gitlab-k8s-demo")
    );

    // Nothing else: other boards, a widened board, other projects, actions, the tokens.
    let pipelines: Value = get(&app, Some(&maintainer), "/api/v1/projects/1/pipelines?per_page=1")
        .await
        .body;
    let pipeline = pipelines["pipelines"][0]["id"]
        .as_u64()
        .expect("a pipeline of the board's project");
    let detail = get(
        &app,
        Some(&maintainer),
        &format!("/api/v1/projects/1/pipelines/{pipeline}"),
    )
    .await;
    let job = detail.body["stages"][0]["jobs"][0]["id"].as_u64().expect("a job of it");
    let cases = [
        ("/api/v1/wall?board=payments".to_owned(), 403),
        ("/api/v1/wall?board=lobby&projects=platform/*".to_owned(), 403),
        ("/api/v1/wall".to_owned(), 403),
        // Not even its own projects' pages, nor their jobs' logs (which hold what a lobby
        // should not show).
        ("/api/v1/projects/1/pipelines".to_owned(), 403),
        (format!("/api/v1/projects/1/jobs/{job}/log"), 403),
        (format!("/api/v1/projects/1/jobs/{job}/raw"), 403),
        (format!("/api/v1/events?topics=log:1:{job}"), 403),
        ("/api/v1/overview".to_owned(), 403),
        ("/api/v1/projects/2/pipelines".to_owned(), 403),
        (tokens.to_owned(), 403),
    ];
    for (path, status) in cases {
        let answer = get(&app, Some(&screen), &path).await;
        assert_eq!(answer.status, status, "{path}: {}", answer.text);
    }
    let act = send(
        &app,
        &screen,
        reqwest::Method::POST,
        &format!("/api/v1/projects/1/pipelines/{pipeline}/retry"),
        json!({}),
    )
    .await;
    assert_eq!(act.status, 403, "{}", act.text);
    assert!(act.text.contains("kiosk screen"), "{}", act.text);
    // Someone signed in on this browser is not signed out by a kiosk link.
    let signed_in = get(&app, Some(&developer), &format!("/wall/lobby?kiosk={token}")).await;
    assert_eq!(signed_in.status, 403);
    assert!(signed_in.text.contains("Sign out first"), "{}", signed_in.text);
    assert_eq!(get(&app, Some(&developer), tokens).await.status, 200, "still signed in");
    let wrong = get(&app, None, &format!("/wall/payments?kiosk={token}")).await;
    assert_eq!(wrong.status, 403);
    assert!(wrong.text.contains("shows the board `lobby`"), "{}", wrong.text);

    // A build monitor: the token as HTTP Basic's password, or in the address.
    let feed = get(&app, None, "/cc.xml").await;
    assert_eq!(feed.status, 401);
    assert!(
        feed.headers["www-authenticate"].to_str().unwrap().starts_with("Basic"),
        "{:?}",
        feed.headers
    );
    let basic = base64::engine::general_purpose::STANDARD.encode(format!("monitor:{token}"));
    let feed = browser()
        .get(format!("{}/cc.xml", app.base))
        .header("authorization", format!("Basic {basic}"))
        .send()
        .await
        .unwrap();
    let feed = answer_of(feed).await;
    assert_eq!(feed.status, 200, "{}", feed.text);
    assert!(
        feed.text.contains("demo/gitlab-k8s-demo (main)") && !feed.text.contains("payments-api"),
        "{}",
        feed.text
    );
    assert_eq!(get(&app, None, &format!("/cc.xml?kiosk={token}")).await.status, 200);

    // Listed with when and from where it was last used; revoked, it stops at once.
    let listed = get(&app, Some(&maintainer), tokens).await.body;
    let entry = &listed["tokens"][0];
    assert_eq!(
        (entry["board"].as_str(), entry["label"].as_str()),
        (Some("lobby"), Some("lobby TV"))
    );
    assert_eq!(entry["last_used_from"], "127.0.0.1");
    assert!(entry["last_used_at"].is_string(), "{entry}");
    assert!(!listed.to_string().contains(&token), "the token is never listed");
    let id = entry["id"].as_i64().unwrap();
    let by_developer = send(
        &app,
        &developer,
        reqwest::Method::DELETE,
        &format!("{tokens}/{id}"),
        json!({}),
    )
    .await;
    assert_eq!(by_developer.status, 403);
    let revoked = send(
        &app,
        &maintainer,
        reqwest::Method::DELETE,
        &format!("{tokens}/{id}"),
        json!({}),
    )
    .await;
    assert_eq!(revoked.status, 200, "{}", revoked.text);
    assert!(revoked.body["revoked_at"].is_string());
    let after = get(&app, Some(&screen), "/api/v1/wall?board=lobby").await;
    assert_eq!(after.status, 401, "{}", after.text);
    assert!(after.text.contains("revoked"), "{}", after.text);
    assert_eq!(get(&app, None, &format!("/cc.xml?kiosk={token}")).await.status, 401);
    assert_eq!(get(&app, None, &format!("/wall/lobby?kiosk={token}")).await.status, 401);
}

/// `stageboard kiosk …` on the server's data directory, as an operator runs it.
fn cli(data: &std::path::Path, args: &[&str]) -> (bool, String) {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_stageboard"))
        .arg("kiosk")
        .args(args)
        .env("STAGEBOARD_DATA_DIR", data)
        .env("STAGEBOARD_BOARDS", "lobby=projects=demo/*")
        .env("STAGEBOARD_LISTEN", "127.0.0.1:8080")
        .env_remove("STAGEBOARD_DATABASE_URL")
        .env_remove("STAGEBOARD_PUBLIC_URL")
        .output()
        .expect("stageboard runs");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.success(), text)
}

#[tokio::test]
async fn the_command_line_makes_lists_and_revokes_what_screens_use() {
    let data = tempfile::tempdir().unwrap();
    let (ok, made) = cli(data.path(), &["create", "--board", "lobby", "--label", "lobby TV"]);
    assert!(ok, "{made}");
    let token = made
        .split_whitespace()
        .find(|w| w.starts_with("sbk_"))
        .expect("the token is printed")
        .to_owned();
    assert!(
        made.contains(&format!("http://127.0.0.1:8080/wall/lobby?kiosk={token}")),
        "{made}"
    );
    let (ok, wrong) = cli(data.path(), &["create", "--board", "cafe"]);
    assert!(!ok && wrong.contains("the boards are lobby"), "{wrong}");

    let app = TestApp::builder()
        .access(Access::Login)
        .anonymous()
        .data_dir(data.path())
        .boards(&["lobby=projects=demo/*"])
        .start()
        .await;
    let opened = get(&app, None, &format!("/wall/lobby?kiosk={token}")).await;
    assert_eq!(opened.status, 303, "{}", opened.text);
    let (_, listed) = cli(data.path(), &["list"]);
    assert!(
        listed.contains("lobby\tlobby TV\tmade ") && listed.contains("by command line"),
        "{listed}"
    );
    assert!(
        listed.contains("from 127.0.0.1") && listed.contains("active"),
        "{listed}"
    );
    assert!(!listed.contains(&token), "the token is shown once only: {listed}");
    let id = listed.split('\t').next().unwrap().trim().to_owned();
    let (ok, revoked) = cli(data.path(), &["revoke", &id]);
    assert!(ok, "{revoked}");
    assert_eq!(get(&app, None, &format!("/wall/lobby?kiosk={token}")).await.status, 401);
    let (ok, again) = cli(data.path(), &["revoke", &id]);
    assert!(!ok && again.contains("revoked already"), "{again}");
}

#[tokio::test]
async fn a_board_widened_later_does_not_widen_its_screens() {
    let data = tempfile::tempdir().unwrap();
    let token = {
        let app = TestApp::builder()
            .access(Access::Login)
            .anonymous()
            .data_dir(data.path())
            .boards(&["lobby=projects=demo/*"])
            .start()
            .await;
        let (maintainer, _) = sign_in(&app, common::MAINTAINER, "/").await;
        let made = send(
            &app,
            &maintainer,
            reqwest::Method::POST,
            "/api/v1/kiosk-tokens",
            json!({"board": "lobby"}),
        )
        .await;
        assert_eq!(made.status, 201, "{}", made.text);
        made.body["token"].as_str().unwrap().to_owned()
    };
    // The operator widens the board to every project; the token's maker vouched for one.
    let app = TestApp::builder()
        .access(Access::Login)
        .anonymous()
        .data_dir(data.path())
        .boards(&["lobby=hide_green=0"])
        .start()
        .await;
    let opened = browser()
        .get(format!("{}/wall/lobby?kiosk={token}", app.base))
        .send()
        .await
        .unwrap();
    let screen = sent(&session_cookie(&opened).expect("the kiosk's cookie"));
    let wall = get(&app, Some(&screen), "/api/v1/wall?board=lobby").await;
    assert_eq!(wall.status, 200, "{}", wall.text);
    let projects: Vec<&str> = wall.body["tiles"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["project"].as_str().unwrap())
        .collect();
    assert_eq!(
        projects,
        ["demo/gitlab-k8s-demo"],
        "what its maker vouched for, no more"
    );
}
